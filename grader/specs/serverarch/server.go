package serverarch

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// server is a running student server.
type server struct {
	*lab.Process
	model   string
	workers int
	addr    string
	port    uint16
}

func (s *server) String() string {
	return fmt.Sprintf("server -model %s -addr %s -workers %d", s.model, s.addr, s.workers)
}

// readiness remembers a server that never listened: once it has run out the
// full readiness timeout, later specs give it a short one, so a submission
// that never listens still gets its whole report quickly.
var readiness struct{ timedOut bool }

func readyTimeout() time.Duration {
	if readiness.timedOut {
		return lab.Scaled(time.Second)
	}
	return lab.Scaled(5 * time.Second)
}

// startServer starts the student's server with a model and a worker count on
// a seeded port in [20000, 32000) and waits until it listens. It is stopped
// when the spec ends; on a failing spec its last log lines and what /proc
// showed of it become evidence.
func startServer(ctx SpecContext, stream, model string, workers int) *server {
	port := uint16(20000 + suite.Rand(stream+"/port").IntN(12000))
	s := &server{model: model, workers: workers, addr: "127.0.0.1:" + strconv.Itoa(int(port)), port: port}
	p, err := lab.Start(suite.Program("server"), "-model", model, "-addr", s.addr, "-workers", strconv.Itoa(workers))
	must(err)
	s.Process = p
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			if st, err := s.TreeStats(); err == nil {
				suite.Evidence("server process", "at the end of the check: %s", st)
			}
		}
	})
	suite.StopAtEnd(p, "server")
	if err := p.AwaitListening(ctx, port, readyTimeout()); err != nil {
		var nl *lab.NotListeningError
		if errors.As(err, &nl) && nl.StillRunning {
			readiness.timedOut = true
		}
		suite.Failf("`%s` never listened: %v", s, err)
	}
	return s
}

// alive fails the spec when the server has ended on its own.
func (s *server) alive(doing string) {
	if s.HasExited() {
		suite.Failf("The server (%s) %s while %s.", s, s.ExitDescription(), doing)
	}
}
