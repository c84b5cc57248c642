package timewait

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

// sockstatDoc is the JSON document sockstat prints (the brief's contract).
type sockstatDoc struct {
	Sockets   []listedSocket    `json:"sockets"`
	States    map[string]int    `json:"states"`
	Processes []listedProcess   `json:"processes"`
	Unowned   map[string]int    `json:"unowned"`
	Findings  []sockstatFinding `json:"findings"`
}

type listedSocket struct {
	State   string `json:"state"`
	Local   string `json:"local"`
	Remote  string `json:"remote"`
	Inode   uint32 `json:"inode"`
	Pid     int    `json:"pid"`
	Command string `json:"command"`
}

type listedProcess struct {
	Pid     int            `json:"pid"`
	Command string         `json:"command"`
	States  map[string]int `json:"states"`
}

type sockstatFinding struct {
	Verdict     string `json:"verdict"`
	State       string `json:"state"`
	Side        string `json:"side"`
	Port        int    `json:"port"`
	Pid         int    `json:"pid"`
	Command     string `json:"command"`
	Count       int    `json:"count"`
	Counts      []int  `json:"counts"`
	Explanation string `json:"explanation"`
}

func (f sockstatFinding) String() string {
	switch f.State {
	case "TIME_WAIT":
		return fmt.Sprintf("%s %s: side %q, port %d, count %d", f.Verdict, f.State, f.Side, f.Port, f.Count)
	case "CLOSE_WAIT":
		return fmt.Sprintf("%s %s: pid %d (%s), count %d, counts %v", f.Verdict, f.State, f.Pid, f.Command, f.Count, f.Counts)
	}
	return fmt.Sprintf("%s %s", f.Verdict, f.State)
}

// sockstatRun is one run of the student's sockstat and what came of it.
type sockstatRun struct {
	args    []string
	exit    int // -1: it did not finish
	stdout  string
	stderr  string // the last lines, from the panic on if there was one
	panic   string // the panic's first line, if it panicked
	doc     *sockstatDoc
	problem string // why there is no document, for the student; "" when there is one
	elapsed time.Duration
}

func (r sockstatRun) command() string {
	return strings.TrimSpace("sockstat " + strings.Join(r.args, " "))
}

// sockstatHung remembers a sockstat that did not finish once: later runs give
// it 2 s instead of 10 (a correct one needs milliseconds), so that a tool that
// never exits still gets its whole report in reasonable time.
var sockstatHung bool

// runSockstat runs the student's sockstat with args inside the scene's
// namespace (nil: the sandbox's own) and reads its document.
func runSockstat(ctx SpecContext, s *scene, args ...string) sockstatRun {
	path := suite.Program("sockstat")
	var p *lab.Process
	var err error
	start := time.Now()
	if s != nil {
		p, err = s.ns.Start(path, args...)
	} else {
		p, err = lab.Start(path, args...)
	}
	if err != nil {
		Fail(err.Error(), 1)
	}
	deadline := lab.Scaled(programDeadline)
	if sockstatHung {
		deadline = lab.Scaled(2 * time.Second)
	}
	finished := p.AwaitExit(ctx, deadline)
	sockstatHung = sockstatHung || !finished
	p.Stop(lab.Scaled(time.Second))
	r := sockstatRun{args: args, exit: -1, stdout: p.Stdout(), stderr: strings.Join(p.StderrTail(8), "\n"), elapsed: time.Since(start)}
	if s != nil {
		s.helpersAlive(ctx, r.command(), r.stderr)
	}
	if line, ok := p.Panic(); ok {
		r.panic = line
		r.stderr = p.LogEvidence(8)
	}
	if !finished {
		r.problem = fmt.Sprintf("%s did not finish within %v (it is stopped); it should read the table, print one JSON document and exit", r.command(), deadline)
		return r
	}
	r.exit = p.ExitCode()
	if r.panic != "" {
		r.problem = fmt.Sprintf("%s panicked: %s", r.command(), r.panic)
		return r
	}
	if r.exit != 0 {
		r.problem = fmt.Sprintf("%s %s; stderr: %q", r.command(), p.ExitDescription(), report.Clip(r.stderr, 300))
		return r
	}
	doc, err := decodeDocument(r.stdout)
	if err != nil {
		r.problem = fmt.Sprintf("%s printed no valid document: %v", r.command(), err)
		return r
	}
	r.doc = doc
	return r
}

// decodeDocument reads exactly one JSON document from stdout.
func decodeDocument(stdout string) (*sockstatDoc, error) {
	if strings.TrimSpace(stdout) == "" {
		return nil, fmt.Errorf("stdout was empty; the contract asks for one JSON document")
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var doc sockstatDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("stdout does not start with the JSON document the contract describes (%v); it starts %q", err, report.Clip(stdout, 120))
	}
	rest := bytes.TrimSpace([]byte(stdout[dec.InputOffset():]))
	if len(rest) > 0 {
		return nil, fmt.Errorf("stdout holds more than one JSON document (after the first comes %q); print exactly one, logs go to stderr", report.Clip(string(rest), 80))
	}
	return &doc, nil
}

// requireDocument fails the spec when the run gave no document.
func requireDocument(r sockstatRun) *sockstatDoc {
	if r.doc == nil {
		suite.Failf("%s", r.problem)
	}
	return r.doc
}

// parsedSocket is a listed socket with its addresses read.
type parsedSocket struct {
	listedSocket
	key socketKey
}

// parseListed reads the addresses of every listed socket; a socket whose
// addresses do not parse is a problem named for the student.
func parseListed(doc *sockstatDoc) ([]parsedSocket, []string) {
	var out []parsedSocket
	var problems []string
	for _, ls := range doc.Sockets {
		local, err1 := netip.ParseAddrPort(ls.Local)
		remote, err2 := netip.ParseAddrPort(ls.Remote)
		if err1 != nil || err2 != nil {
			problems = append(problems, fmt.Sprintf("a socket's addresses %q and %q are not address:port as Go's netip.AddrPort prints them", ls.Local, ls.Remote))
			continue
		}
		out = append(out, parsedSocket{ls, socketKey{ls.State, unmap(local), unmap(remote)}})
	}
	return out, problems
}

// stateCounts renders per-state counts from the kernel and from sockstat side
// by side, the evidence of every table comparison.
func stateCounts(kernel []lab.Socket, listed map[string]int) string {
	k := counts(kernel)
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %7s %9s\n", "state", "kernel", "sockstat")
	seen := map[string]bool{}
	for st := lab.Established; st <= lab.Closing; st++ {
		name := st.String()
		seen[name] = true
		if k[st] == 0 && listed[name] == 0 {
			continue
		}
		mark := ""
		if k[st] != listed[name] {
			mark = "  <- differs"
		}
		fmt.Fprintf(&b, "%-12s %7d %9d%s\n", name, k[st], listed[name], mark)
	}
	for name, n := range listed {
		if !seen[name] && n != 0 {
			fmt.Fprintf(&b, "%-12s %7d %9d  <- not a state name of the contract\n", name, 0, n)
		}
	}
	return b.String()
}
