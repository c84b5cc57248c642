package serverarch

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// The thread and process models, each with idle connections that have all
// been answered once.
const (
	threadClients  = 200
	processClients = 50
	reapTimeout    = 5 * time.Second
)

var _ = Describe("The thread model", Label(CaseLabel), func() {
	It("runs one OS thread per connection", Label("arch.thread-model"), func(ctx SpecContext) {
		s := startServer(ctx, "thread", thread, 2)
		connectAndPing(s, threadClients, "The thread model serves each connection on a thread of its own (Task 4).")
		st, err := s.TreeStats()
		must(err)
		suite.Evidence("server", "with %d connections, each answered once: %s", threadClients, st)
		if st.Threads < threadClients {
			suite.Failf("With -model thread and %d connections the server has %d threads: goroutines share a few OS threads, so a goroutine per connection is not a thread per connection. Lock each connection's goroutine to its thread (runtime.LockOSThread) and read with blocking reads on it: the kernel then holds one sleeping thread per connection (Task 4).", threadClients, st.Threads)
		}
		if st.Processes > 1 {
			suite.Failf("With -model thread the server runs as %d processes: it is one process with a thread per connection.", st.Processes)
		}
	})
})

var _ = Describe("The process model", Label(CaseLabel), func() {
	It("runs one process per connection and reaps each one", Label("arch.process-model"), func(ctx SpecContext) {
		s := startServer(ctx, "process", process, 2)
		base, err := lab.CountFDs(s.Pid())
		must(err)
		f, failed, err := openFleet(s.addr, processClients)
		if failed > 0 {
			s.alive("clients connected")
			suite.Failf("%d of %d clients could not connect to -model process (first: %v).", failed, processClients, err)
		}
		// Each connection asks its own WORK: a child that mixed up its
		// socket with another's would answer someone else's.
		for i, c := range f.conns {
			w := work{rounds: 1 + i, seed: seedToken(fmt.Sprintf("process/seed%d", i), 8)}
			answer, _, err := c.ask(w.request(), lab.Scaled(pingTimeout))
			if err != nil || answer != w.answer() {
				s.alive("its clients sent WORK")
				suite.Failf("With -model process and %d connections, client %d asked %q and got %s, want %q.", processClients, i, w.request(), describeAnswer(answer, err), w.answer())
			}
		}
		st, err := s.TreeStats()
		must(err)
		suite.Evidence("server", "with %d connections, each answered: %s", processClients, st)
		if st.Processes < processClients+1 {
			suite.Failf("With -model process and %d connections the server has %d processes (itself included): a process per connection means %d children. Start a child for each accepted connection and hand it the socket (Task 5).", processClients, st.Processes, processClients)
		}
		f.close()
		var left treeCount
		err = lab.Await(ctx, lab.Scaled(reapTimeout), func() (bool, error) {
			var err error
			left, err = countBelow(s.Pid())
			return left.live == 0 && left.zombies == 0, err
		})
		suite.Evidence("after the clients closed", "%d child processes still running, %d zombies", left.live, left.zombies)
		s.alive("its clients closed")
		switch {
		case err == nil:
			checkParentFDs(ctx, s, base)
		case left.zombies > 0:
			suite.Failf("%v after its %d clients closed, the server still has %d zombie children: a child that ended stays in the process table until its parent waits for it. Wait for every child (cmd.Wait, or wait4 on SIGCHLD) (Task 5).", lab.Scaled(reapTimeout), processClients, left.zombies)
		default:
			suite.Failf("%v after its %d clients closed, %d of the server's children still run: a child serves one connection and exits when its client closes (Task 5).", lab.Scaled(reapTimeout), processClients, left.live)
		}
	})
})

// treeCount is how many processes are below a process, alive or not reaped.
type treeCount struct{ live, zombies int }

// countBelow counts a process's descendants.
func countBelow(pid int) (treeCount, error) {
	below, err := lab.Descendants(pid)
	var c treeCount
	for _, st := range below {
		if st.State == "Z" || st.State == "X" {
			c.zombies++
		} else {
			c.live++
		}
	}
	return c, err
}

// checkParentFDs requires the process model's parent to be back to the
// sockets it had before its clients came: it closed its copy of every socket
// it handed to a child. Other descriptors may grow by the Go runtime's own
// poller (runtimePoller), which exec.Cmd makes the first time it opens
// /dev/null for a child (a student's correct server, seen in a trial: +2,
// an eventpoll and an eventfd).
func checkParentFDs(ctx SpecContext, s *server, before lab.FDCount) {
	var now lab.FDCount
	err := lab.Await(ctx, lab.Scaled(reapTimeout), func() (bool, error) {
		var err error
		now, err = lab.CountFDs(s.Pid())
		return backToBaseline(now, before), err
	})
	suite.Evidence("parent's descriptors", "before the clients: %d sockets and %d other descriptors open; after they closed and every child ended: %d sockets and %d others", before.Sockets, before.Other, now.Sockets, now.Other)
	switch {
	case err != nil && now.Sockets > before.Sockets:
		suite.Failf("After its %d clients closed and every child ended, the parent holds %d more open sockets than before they came (%d, then %d): it kept its copy of the sockets it handed to the children. Close the parent's copy right after the child has started (with TCPConn.File(), both the file and the connection) (Task 5).", processClients, now.Sockets-before.Sockets, before.Sockets, now.Sockets)
	case err != nil:
		suite.Failf("After its %d clients closed and every child ended, the parent holds %d more descriptors that are not sockets than before they came (%d, then %d; the Go runtime may open %d of its own): whatever the parent opens for a child (a pipe, a file), close it once the child has started or ended (Task 5).", processClients, now.Other-before.Other, before.Other, now.Other, runtimePoller)
	}
}
