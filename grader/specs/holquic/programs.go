package holquic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

// Deadlines (scaled by lab.Scaled where they are used).
const (
	readyTimeout = 5 * time.Second  // the server listens and binds
	clientSlack  = 10 * time.Second // beyond the streams' own duration
)

// studentServer is the student's server on the wire's server side.
type studentServer struct {
	*lab.Process
	port uint16
}

// startServer starts the student's server on the wire's server side and waits
// until its TCP port listens. Its UDP port (HTTP/3) is awaited where a check
// first needs it, so that a server without HTTP/3 yet is still graded on
// HTTP/1.1 and HTTP/2 first.
func startServer(ctx context.Context, w *lab.Wire, port uint16, cert *certificate) *studentServer {
	args := []string{"-addr", netip.AddrPortFrom(lab.ServerAddr, port).String(), "-cert", cert.certFile, "-key", cert.keyFile}
	p, err := w.Server.Start(suite.Program("server"), args...)
	must(err)
	suite.StopAtEnd(p, "server")
	if err := p.AwaitListening(ctx, port, lab.Scaled(readyTimeout)); err != nil {
		suite.Failf("The server (%s) never listened on its TCP port: %v", strings.Join(args, " "), err)
	}
	return &studentServer{Process: p, port: port}
}

// awaitProtocol waits, before the first HTTP/3 request, until the server's
// UDP port is bound.
func (s *studentServer) awaitProtocol(ctx context.Context, proto string) {
	if proto != h3 {
		return
	}
	if err := s.AwaitBound(ctx, s.port, lab.Scaled(readyTimeout)); err != nil {
		suite.Failf("The server listens on TCP port %d but never bound UDP port %d for HTTP/3: %v. %s", s.port, s.port, err, protocolHints[h3])
	}
}

// clientRun is one run of the student's client: what it was asked, what it
// printed, how it ended.
type clientRun struct {
	args       []string
	report     clientReport
	stalledRaw json.RawMessage // the report's stalled, as printed (null is not [])
	ownServer  bool            // it ran against the student's own server
	parseErr   error
	exit       int // -1: it did not exit in time
	log        string
	started    time.Time
}

// clientReport is the client's JSON report, as the brief gives it.
type clientReport struct {
	Proto            string         `json:"proto"`
	IntervalMS       *float64       `json:"interval_ms"`
	StallThresholdMS *float64       `json:"stall_threshold_ms"`
	Streams          []streamReport `json:"streams"`
	Stalled          []int          `json:"stalled"`
}

type streamReport struct {
	ID             *int      `json:"id"`
	Chunks         *int      `json:"chunks"`
	DelaysMS       []float64 `json:"delays_ms"`
	LongestStallMS *float64  `json:"longest_stall_ms"`
	Error          string    `json:"error"`
}

// stream returns the report's entry for stream id.
func (r clientReport) stream(id int) (streamReport, bool) {
	for _, s := range r.Streams {
		if s.ID != nil && *s.ID == id {
			return s, true
		}
	}
	return streamReport{}, false
}

// runClient runs the student's client on the client side until it exits and
// reads its report. plan says what it fetches; extra flags follow.
func runClient(ctx context.Context, plan fetchPlan, ca string, extra ...string) clientRun {
	run := clientRun{exit: -1, args: append([]string{"-addr", plan.server.String(), "-proto", plan.proto,
		"-streams", fmt.Sprint(plan.streams), "-chunks", fmt.Sprint(plan.chunks), "-size", fmt.Sprint(plan.size),
		"-interval", plan.interval.String(), "-ca", ca}, extra...)}
	run.started = time.Now()
	p, err := lab.Start(suite.Program("client"), run.args...)
	must(err)
	suite.StopAtEnd(p, "client")
	own := time.Duration(plan.chunks)*plan.interval + time.Duration(plan.streams)*plan.stagger
	if p.AwaitExit(ctx, own+lab.Scaled(clientSlack)) {
		run.exit = p.ExitCode()
	}
	run.log = p.LogEvidence(8)
	out := strings.TrimSpace(p.Stdout())
	if out == "" {
		run.parseErr = fmt.Errorf("it printed nothing on stdout")
	} else if err := json.Unmarshal([]byte(out), &run.report); err != nil {
		run.parseErr = fmt.Errorf("its stdout is not one JSON object (%v): %s", err, report.Clip(out, 300))
	} else {
		var fields map[string]json.RawMessage
		json.Unmarshal([]byte(out), &fields)
		run.stalledRaw = fields["stalled"]
	}
	return run
}

// describe names the run for the evidence.
func (r clientRun) describe() string { return "client " + strings.Join(r.args, " ") }
