package udpmetrics

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// side is where a program runs: the server side of a wire (ns), or the
// sandbox's own namespace (ns nil).
type side struct{ ns *lab.Netns }

func (s side) start(fed bool, path string, args ...string) (*lab.Process, error) {
	switch {
	case s.ns != nil && fed:
		return s.ns.StartFed(path, args...)
	case s.ns != nil:
		return s.ns.Start(path, args...)
	case fed:
		return lab.StartFed(path, args...)
	}
	return lab.Start(path, args...)
}

func (s side) udpSockets() ([]lab.UDPSocket, error) {
	if s.ns != nil {
		return s.ns.UDPSockets()
	}
	return lab.UDPSockets()
}

func (s side) counters() (lab.Counters, error) {
	if s.ns != nil {
		return s.ns.Counters()
	}
	return lab.ReadCounters()
}

// udpSocket is the side's UDP socket bound to port.
func (s side) udpSocket(port uint16) (lab.UDPSocket, bool) {
	socks, err := s.udpSockets()
	must(err)
	for _, so := range socks {
		if so.Local.Port() == port {
			return so, true
		}
	}
	return lab.UDPSocket{}, false
}

// studentCollector is the student's collector.
type studentCollector struct {
	*lab.Process
	where       side
	metricsPort uint16
	auditPort   uint16
	args        []string
}

// startCollector starts the student's collector on a side, listening on addr
// at the two ports, and waits until both are bound.
func startCollector(ctx SpecContext, where side, addr netip.Addr, metricsPort, auditPort uint16, auditLog string, extra ...string) *studentCollector {
	c := &studentCollector{where: where, metricsPort: metricsPort, auditPort: auditPort,
		args: append([]string{"-metrics", hostPort(addr, metricsPort), "-audit", hostPort(addr, auditPort), "-audit-log", auditLog}, extra...)}
	c.restart(ctx)
	return c
}

// restart starts the collector (again) with the same flags.
func (c *studentCollector) restart(ctx SpecContext) {
	p, err := c.where.start(false, suite.Program("collector"), c.args...)
	must(err)
	c.Process = p
	suite.StopAtEnd(p, "collector")
	if err := p.AwaitBound(ctx, c.metricsPort, lab.Scaled(readyTimeout)); err != nil {
		suite.Failf("The collector (%s) never became ready: %v", strings.Join(c.args, " "), err)
	}
	if err := p.AwaitServing(ctx, c.auditPort, lab.Scaled(readyTimeout)); err != nil {
		suite.Failf("The collector bound its metrics port but its audit channel never listened: %v", err)
	}
}

// awaitDrained waits until nothing is in flight on the wire toward the
// collector (when there is a wire) and nothing waits in its metrics socket.
func (c *studentCollector) awaitDrained(ctx SpecContext, w *lab.Wire) {
	err := lab.Await(ctx, lab.Scaled(settleTime), func() (bool, error) {
		if w != nil {
			if inFlight(w) > 0 {
				return false, nil
			}
		}
		so, ok := c.where.udpSocket(c.metricsPort)
		return ok && so.RecvQ == 0, nil
	})
	if err != nil {
		so, _ := c.where.udpSocket(c.metricsPort)
		suite.Failf("The collector did not read the datagrams sent to it within %v (%v; it %s): a collector must keep reading its socket.",
			lab.Scaled(settleTime), so, c.ExitDescription())
	}
}

// awaitHandled waits until the collector has read everything sent to it and
// is idle: what reached it has been handled, and its report will cover it.
func (c *studentCollector) awaitHandled(ctx SpecContext, w *lab.Wire) {
	c.awaitDrained(ctx, w)
	if err := c.AwaitQuiet(ctx, lab.Scaled(settleTime)); err != nil {
		suite.Failf("The collector kept working for %v after its last datagram: %v", lab.Scaled(settleTime), err)
	}
}

// collectorReport is the collector's JSON document.
type collectorReport struct {
	Streams       []streamReport `json:"streams"`
	Datagrams     *uint64        `json:"datagrams"`
	Malformed     *uint64        `json:"malformed"`
	LocalDrops    *uint64        `json:"local_drops"`
	AuditRecorded *uint64        `json:"audit_recorded"`
	raw           string
}

// streamReport is one stream of the collector's report.
type streamReport struct {
	Agent      *uint32    `json:"agent"`
	Epoch      *uint32    `json:"epoch"`
	Highest    *uint64    `json:"highest"`
	Received   *uint64    `json:"received"`
	Missing    [][]uint64 `json:"missing"`
	Reordered  *uint64    `json:"reordered"`
	Duplicates *uint64    `json:"duplicates"`
}

// report asks the collector for its report (SIGTERM) and reads it; a
// collector that does not give one fails the spec with what it did instead.
func (c *studentCollector) report(ctx SpecContext) collectorReport {
	must(c.Signal(syscall.SIGTERM))
	if !c.AwaitExit(ctx, lab.Scaled(5*time.Second)) {
		suite.Failf("The collector did not exit within %v of SIGTERM: on SIGTERM it prints its report and exits 0.", lab.Scaled(5*time.Second))
	}
	out := c.Stdout()
	var r collectorReport
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&r); err != nil {
		suite.Failf("On SIGTERM the collector %s and printed %s: the report must be one JSON document (%v).",
			c.ExitDescription(), suite.QuoteOutput(out), err)
	}
	r.raw = out
	suite.Evidence("collector report", "%s", strings.TrimSpace(out))
	if c.ExitCode() != 0 {
		suite.Failf("On SIGTERM the collector printed its report but %s: it must exit 0.", c.ExitDescription())
	}
	var absent []string
	for name, missing := range map[string]bool{"datagrams": r.Datagrams == nil, "malformed": r.Malformed == nil,
		"local_drops": r.LocalDrops == nil, "audit_recorded": r.AuditRecorded == nil, "streams": r.Streams == nil} {
		if missing {
			absent = append(absent, name)
		}
	}
	for i, s := range r.Streams {
		for name, missing := range map[string]bool{"agent": s.Agent == nil, "epoch": s.Epoch == nil, "highest": s.Highest == nil,
			"received": s.Received == nil, "missing": s.Missing == nil, "reordered": s.Reordered == nil, "duplicates": s.Duplicates == nil} {
			if missing {
				absent = append(absent, fmt.Sprintf("streams[%d].%s", i, name))
			}
		}
		for _, rg := range s.Missing {
			if len(rg) != 2 || rg[0] > rg[1] {
				suite.Failf("Stream %d of the report has a missing range %v: each range is [first, last], first ≤ last.", i, rg)
			}
		}
	}
	if len(absent) > 0 {
		slices.Sort(absent)
		suite.Failf("The collector's report lacks %s: every field of the brief's report must be there (0, or [] for no missing ranges).",
			strings.Join(absent, ", "))
	}
	return r
}

// stream finds the report's stream of one agent and epoch.
func (r collectorReport) stream(agent, epoch uint32) (streamReport, bool) {
	for _, s := range r.Streams {
		if *s.Agent == agent && *s.Epoch == epoch {
			return s, true
		}
	}
	return streamReport{}, false
}

// ranges returns the stream's missing ranges.
func (s streamReport) ranges() []seqRange {
	out := make([]seqRange, len(s.Missing))
	for i, rg := range s.Missing {
		out[i] = seqRange{rg[0], rg[1]}
	}
	return out
}

// studentAgent is the student's agent, fed through its stdin.
type studentAgent struct {
	*lab.Process
	in   *bufio.Writer
	args []string
}

// startAgent starts the student's agent in the sandbox's namespace (the
// wire's client side), sending to the collector's ports at addr.
func startAgent(addr netip.Addr, metricsPort, auditPort uint16, id uint32, extra ...string) *studentAgent {
	args := append([]string{"-collector", hostPort(addr, metricsPort), "-audit", hostPort(addr, auditPort), "-id", fmt.Sprint(id)}, extra...)
	p, err := lab.StartFed(suite.Program("agent"), args...)
	must(err)
	suite.StopAtEnd(p, "agent")
	return &studentAgent{Process: p, in: bufio.NewWriterSize(p.Input(), 64<<10), args: args}
}

// feed writes lines to the agent's stdin and flushes them. It fails the spec
// when the agent exited, or stopped reading for longer than timeout.
func (a *studentAgent) feed(lines []string, timeout time.Duration) {
	done := make(chan error, 1)
	go func() {
		for _, l := range lines {
			if _, err := io.WriteString(a.in, l+"\n"); err != nil {
				done <- err
				return
			}
		}
		done <- a.in.Flush()
	}()
	select {
	case err := <-done:
		if err != nil {
			suite.Failf("The agent stopped reading its input (%v): it %s.", err, a.ExitDescription())
		}
	case <-time.After(timeout):
		suite.Failf("The agent did not read %d input lines within %v (it %s): it must keep reading its input whatever the collector does (only a full queue of unacknowledged audit events may hold it).",
			len(lines), timeout, a.ExitDescription())
	}
}

// agentLine is the agent's JSON line at the end.
type agentLine struct {
	Epoch          *uint32 `json:"epoch"`
	MetricsRead    *uint64 `json:"metrics_read"`
	MetricsSent    *uint64 `json:"metrics_sent"`
	MetricsDropped *uint64 `json:"metrics_dropped"`
	Datagrams      *uint64 `json:"datagrams"`
	AuditRead      *uint64 `json:"audit_read"`
	AuditAcked     *uint64 `json:"audit_acked"`
	BadLines       *uint64 `json:"bad_lines"`
}

// finish closes the agent's input and waits until it exits on its own; it
// returns the agent's JSON line.
func (a *studentAgent) finish(ctx SpecContext) agentLine {
	return a.finishWithin(ctx, lab.Scaled(agentEnd), "")
}

// finishWithin is finish with a deadline of its own; why says what the
// agent had to deal with, for the message when it does not exit in time.
func (a *studentAgent) finishWithin(ctx SpecContext, timeout time.Duration, why string) agentLine {
	a.Input().Close()
	if !a.AwaitExit(ctx, timeout) {
		if why != "" {
			why = " Here " + why + "."
		}
		suite.Failf("At the end of its input the agent did not exit within %v: it sends its last batch, waits until every audit event is acknowledged, prints its JSON line and exits 0.%s",
			timeout, why)
	}
	out := strings.TrimSpace(a.Stdout())
	if a.ExitCode() != 0 {
		suite.Failf("At the end of its input the agent %s: it must exit 0 (its output: %s).", a.ExitDescription(), suite.QuoteOutput(out))
	}
	lines := strings.Split(out, "\n")
	var l agentLine
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &l); err != nil {
		suite.Failf("At the end of its input the agent printed %s: its last line must be the brief's JSON line (%v).", suite.QuoteOutput(out), err)
	}
	suite.Evidence("agent line", "%s", lines[len(lines)-1])
	var absent []string
	for name, missing := range map[string]bool{"epoch": l.Epoch == nil, "metrics_read": l.MetricsRead == nil, "metrics_sent": l.MetricsSent == nil,
		"metrics_dropped": l.MetricsDropped == nil, "datagrams": l.Datagrams == nil, "audit_read": l.AuditRead == nil,
		"audit_acked": l.AuditAcked == nil, "bad_lines": l.BadLines == nil} {
		if missing {
			absent = append(absent, name)
		}
	}
	if len(absent) > 0 {
		slices.Sort(absent)
		suite.Failf("The agent's JSON line lacks %s.", strings.Join(absent, ", "))
	}
	return l
}

// auditRecord is one line of the collector's audit log.
type auditRecord struct {
	Agent *uint32 `json:"agent"`
	ID    string  `json:"id"`
	Text  string  `json:"text"`
}

// readAuditLog reads the audit log; a line that is not a record fails the spec.
func readAuditLog(path string) []auditRecord {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	must(err)
	// A line still being written (no newline yet) is not a record yet.
	text := string(b)
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i+1]
	} else {
		text = ""
	}
	var out []auditRecord
	for i, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var r auditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Agent == nil || r.ID == "" {
			suite.Failf("Line %d of the audit log is not a record {\"agent\":N,\"id\":\"...\",\"text\":\"...\"}: %q.", i+1, line)
		}
		out = append(out, r)
	}
	return out
}

// inFlight counts the packets the wire has taken toward the server side and
// not yet delivered or dropped (held back, delayed).
func inFlight(w *lab.Wire) int64 {
	wc := w.Counters(lab.ToServer)
	return wc.Packets + wc.Duplicated - wc.Dropped - wc.RateDrops - wc.Delivered
}
