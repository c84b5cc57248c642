// Package backlog holds the hidden specs of case 01-backlog (TCP handshake
// backlog saturation). Each spec starts the student's server in the sandbox's
// network namespace, drives it with real clients over loopback, and judges it
// by what the kernel and the clients observed: accept-queue depth against the
// backlog limit, ListenOverflows deltas, connect and reply latencies, and how
// every client's conversation ended.
package backlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

// CaseLabel is the case's label: the sandbox child runs the specs carrying it.
const CaseLabel = "01-backlog"

// Sysctls are set in the case's namespace before any spec runs. somaxconn caps
// every listen backlog, so it is raised above anything the specs ask for.
//
// Servers listen on seeded ports in [20000, 32000), below the ephemeral range
// the grader's clients get their ports from (set here explicitly): a listener
// can never collide with a client socket of an earlier check (a stability run
// once saw "bind: address already in use" when they shared a range).
var Sysctls = map[string]string{
	"net.core.somaxconn":           "16384",
	"net.ipv4.tcp_max_syn_backlog": "16384",
	"net.ipv4.ip_local_port_range": "32768 60999",
}

// config is the server's command line.
type config struct {
	backlog, workers, queue int
	work                    time.Duration
}

func (c config) String() string {
	return fmt.Sprintf("-backlog %d -workers %d -queue %d -work %v", c.backlog, c.workers, c.queue, c.work)
}

// server is a running student server.
type server struct {
	*lab.Process
	addr string
	port uint16
	cfg  config
}

// readiness remembers a server that never listened: once it has run out the
// full readiness timeout, later specs give it a short one, so a submission that
// listens on the wrong address still gets its whole report quickly.
var readiness readinessTimeout

type readinessTimeout struct{ timedOut bool }

func (r *readinessTimeout) timeout() time.Duration {
	if r.timedOut {
		return lab.Scaled(time.Second)
	}
	return lab.Scaled(5 * time.Second)
}

func (r *readinessTimeout) missed(err error) {
	var nl *lab.NotListeningError
	if errors.As(err, &nl) && nl.StillRunning {
		r.timedOut = true
	}
}

// startServer starts the student's server with cfg on a seeded port and waits
// until its LISTEN socket is in the kernel's table. On a failing spec its last
// log lines become evidence; it is always stopped when the spec ends.
func startServer(ctx SpecContext, stream string, cfg config) *server {
	port := uint16(20000 + suite.Rand(stream+"/port").IntN(12000))
	s := &server{addr: "127.0.0.1:" + strconv.Itoa(int(port)), port: port, cfg: cfg}
	var err error
	s.Process, err = lab.Start(suite.Program("server"), "-addr", s.addr,
		"-backlog", strconv.Itoa(cfg.backlog), "-workers", strconv.Itoa(cfg.workers),
		"-queue", strconv.Itoa(cfg.queue), "-work", cfg.work.String())
	if err != nil {
		Fail(err.Error())
	}
	DeferCleanup(func(ctx SpecContext) {
		failed := CurrentSpecReport().Failed()
		if failed {
			// A server that is crashing has closed its connections but may not
			// have printed its panic yet: let it finish dying before we stop it.
			s.AwaitExit(ctx, lab.Scaled(250*time.Millisecond))
		}
		crashed := s.ExitedUnasked()
		status := s.ExitDescription()
		if st, err := s.Stats(); err == nil {
			suite.Evidence("server process", "at the end of the check: %s", st)
		}
		s.Stop(lab.Scaled(2 * time.Second))
		suite.Evidence("server", "server %s", cfg)
		if crashed {
			suite.Evidence("server exit", "the server %s on its own during this check (the grader had not asked it to stop)", status)
		}
		if failed {
			suite.Evidence("server log", "%s", s.LogEvidence(12))
		}
	})
	if err := s.AwaitListening(ctx, port, readiness.timeout()); err != nil {
		readiness.missed(err)
		suite.Failf("%v", err)
	}
	// A server that sets its backlog with a second listen(2) shows somaxconn for
	// a few microseconds first. Give it that moment: ready means "the LISTEN
	// socket has the backlog it was asked for", or a short while has passed
	// (a server that ignores -backlog is still graded on everything else).
	s.awaitBacklog(ctx, lab.Scaled(300*time.Millisecond))
	return s
}

// awaitBacklog waits up to timeout until the LISTEN socket's backlog limit is
// the one asked for, and returns the limit last seen.
func (s *server) awaitBacklog(ctx SpecContext, timeout time.Duration) uint32 {
	var limit uint32
	lab.Await(ctx, timeout, func() (bool, error) {
		limit = s.listener().SendQ
		return int(limit) == s.cfg.backlog, nil
	})
	return limit
}

// listener reads the server's LISTEN socket from the kernel.
func (s *server) listener() lab.Socket {
	l, found, err := lab.Listener(s.port)
	if err != nil {
		Fail(err.Error())
	}
	if !found {
		suite.Failf("the server's LISTEN socket on port %d is gone; the server %s", s.port, s.ExitDescription())
	}
	return l
}

// stop sends SIGSTOP to the server and waits until the kernel reports it stopped.
func (s *server) pause(ctx SpecContext) {
	if err := s.Signal(syscall.SIGSTOP); err != nil {
		Fail(err.Error())
	}
	if err := s.AwaitStopped(ctx, lab.Scaled(5*time.Second)); err != nil {
		Fail("server did not stop on SIGSTOP: " + err.Error())
	}
}

func (s *server) resume() { s.Signal(syscall.SIGCONT) }

// stats is the JSON line the server prints on SIGTERM.
type stats struct {
	Accepted *int64 `json:"accepted"`
	Served   *int64 `json:"served"`
	Shed     *int64 `json:"shed"`
}

func (st stats) String() string {
	return fmt.Sprintf(`{"accepted":%d,"served":%d,"shed":%d}`, *st.Accepted, *st.Served, *st.Shed)
}

// statsLine finds the stats line in what the server printed on stdout. The
// error says, for the student, what was wrong with it.
func (s *server) statsLine() (stats, error) {
	out := strings.TrimSpace(s.Stdout())
	if out == "" {
		return stats{}, fmt.Errorf("the server printed nothing on stdout (it %s); on SIGTERM it should print one line like {\"accepted\":N,\"served\":N,\"shed\":N}", s.ExitDescription())
	}
	lines := strings.Split(out, "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	var st stats
	dec := json.NewDecoder(strings.NewReader(last))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return stats{}, fmt.Errorf("the last line on stdout is %q, which is not the stats JSON object {\"accepted\":N,\"served\":N,\"shed\":N}: %v", report.Clip(last, 120), err)
	}
	if st.Accepted == nil || st.Served == nil || st.Shed == nil {
		return stats{}, fmt.Errorf("the stats line %q lacks a field: it needs accepted, served and shed", report.Clip(last, 120))
	}
	return st, nil
}

// ids makes n distinct seeded request ids, e.g. "k3f9-17".
func ids(r *rand.Rand, n int) []string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	prefix := make([]byte, 4)
	for i := range prefix {
		prefix[i] = alphabet[r.IntN(len(alphabet))]
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}
