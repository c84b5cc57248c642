package timewait

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

// studentServer is the student's server running in a scene.
type studentServer struct {
	*lab.Process
	sc       *scene
	addr     string
	port     uint16
	idle     time.Duration
	baseline int // open descriptors once it has served a first client
}

// startServer starts the student's server in the scene on a seeded port and
// waits until it listens; then it serves one client (PING, QUIT) and waits
// until that connection is gone, and takes the open-descriptor count as the
// baseline every leak check returns to.
func startServer(ctx SpecContext, sc *scene, stream string, idle time.Duration) *studentServer {
	s := &studentServer{sc: sc, port: seededPort(stream + "/port"), idle: idle}
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(s.port)))
	var err error
	s.Process, err = sc.ns.Start(suite.Program("server"), "-addr", s.addr, "-idle", idle.String())
	must(err)
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			suite.Evidence("server log", "%s", s.LogEvidence(12))
		}
		if s.ExitedUnasked() {
			suite.Evidence("server exit", "the server %s on its own during this check", s.ExitDescription())
		}
		s.Stop(lab.Scaled(2 * time.Second))
	})
	if err := s.AwaitListening(ctx, s.port, lab.Scaled(5*time.Second)); err != nil {
		suite.Failf("%v", err)
	}
	c := sc.dial(s.addr)
	c.SetDeadline(time.Now().Add(lab.Scaled(2 * time.Second)))
	fmt.Fprint(c, "PING\nQUIT\n")
	io.Copy(io.Discard, c)
	c.Close()
	s.awaitQuiet(ctx, lab.Scaled(2*time.Second))
	st, err := s.Stats()
	must(err)
	s.baseline = st.OpenFDs
	return s
}

// connectionsLeft are the server's sockets on its port other than LISTEN and
// TIME_WAIT: connections it has not finished closing.
func (s *studentServer) connectionsLeft() []lab.Socket {
	var out []lab.Socket
	for _, so := range s.sc.sockets() {
		if so.Local.Port() == s.port && so.State != lab.Listen && so.State != lab.TimeWait {
			out = append(out, so)
		}
	}
	return out
}

// awaitQuiet waits until the server holds no connection any more (on its
// port, nothing but LISTEN and TIME_WAIT) and its descriptors are back at the
// baseline (when there is one). It returns what was left when time ran out.
func (s *studentServer) awaitQuiet(ctx SpecContext, timeout time.Duration) (left []lab.Socket, fds int) {
	lab.Await(ctx, timeout, func() (bool, error) {
		left = s.connectionsLeft()
		st, err := s.Stats()
		if err != nil {
			return false, nil
		}
		fds = st.OpenFDs
		return len(left) == 0 && (s.baseline == 0 || fds == s.baseline), nil
	})
	return left, fds
}

// exchange sends request lines and reads one reply line per request.
func exchange(c net.Conn, r *bufio.Reader, send string, replies int) ([]string, error) {
	c.SetDeadline(time.Now().Add(lab.Scaled(2 * time.Second)))
	if _, err := io.WriteString(c, send); err != nil {
		return nil, err
	}
	var got []string
	for range replies {
		line, err := r.ReadString('\n')
		if err != nil {
			if line != "" {
				got = append(got, line)
			}
			return got, err
		}
		got = append(got, line)
	}
	return got, nil
}

var _ = Describe("03-time-wait: the server", Label(CaseLabel), func() {
	It("answers PING, ECHO, QUIT and unknown requests on a persistent connection, and refuses a bad -idle", Label("timewait.server-answers"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		sc := newScene("wl-answers")
		s := startServer(ctx, sc, "answers", 5*time.Second)
		r := suite.Rand("answers/text")
		text := fmt.Sprintf("  hello %d  two spaces, a tab\tand a space at the end ", r.IntN(100000))
		steps := []struct{ send, want string }{
			{"PING\n", "PONG\n"},
			{"ECHO " + text + "\n", text + "\n"},
			{"HELLO\n", "ERR unknown request\n"},
			{"PING\nECHO a b\nping\n", "PONG\na b\nERR unknown request\n"},
			{"QUIT\n", "BYE\n"},
		}
		c := sc.dial(s.addr)
		br := bufio.NewReader(c)
		var problems []string
		for _, st := range steps {
			n := strings.Count(st.send, "\n")
			got, err := exchange(c, br, st.send, n)
			suite.Evidence("sent "+strconv.Quote(st.send), "got %q", strings.Join(got, ""))
			if strings.Join(got, "") != st.want {
				p := fmt.Sprintf("sent %q, got %q, wanted %q", st.send, strings.Join(got, ""), st.want)
				if err != nil {
					p += " (" + describeReadError(err) + ")"
				}
				problems = append(problems, p)
				break
			}
		}
		if len(problems) == 0 {
			c.SetReadDeadline(time.Now().Add(lab.Scaled(time.Second)))
			if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
				problems = append(problems, fmt.Sprintf("after BYE the connection must be closed by the server; got %q and %s", rest, describeReadError(err)))
			}
		}
		for _, idle := range []string{"0s", "-1s", "soon"} {
			p, err := sc.ns.Start(suite.Program("server"), "-addr", s.addr, "-idle", idle)
			must(err)
			exited := p.AwaitExit(ctx, lab.Scaled(3*time.Second))
			p.Stop(lab.Scaled(time.Second))
			suite.Evidence("-idle "+idle, "%s; stdout %q; stderr %q", p.ExitDescription(), report.Clip(p.Stdout(), 80), report.Clip(strings.Join(p.StderrTail(3), " | "), 160))
			switch {
			case !exited:
				problems = append(problems, fmt.Sprintf("with -idle %s the server started anyway", idle))
			case p.ExitCode() != 2:
				problems = append(problems, fmt.Sprintf("with -idle %s the server %s, not with status 2", idle, p.ExitDescription()))
			case len(p.StderrTail(1)) == 0:
				problems = append(problems, fmt.Sprintf("with -idle %s the server said nothing on stderr", idle))
			}
		}
		if len(problems) > 0 {
			suite.Failf("%s. One connection carries many requests, one line each, answered in order: PING gets PONG, ECHO <text> gets <text> exactly, QUIT gets BYE and then the server closes, anything else gets \"ERR unknown request\" and the connection stays open; -idle must be a positive duration, or exit 2 (see the server's contract).",
				strings.Join(problems, "; "))
		}
	})

	// Every way a connection can end, one group of clients each; after each
	// group the server must hold no connection and be back to its baseline
	// descriptors. A path that returns without close() leaves CLOSE_WAIT
	// (the client hung up) or a descriptor to a dead socket (a reset).
	It("closes its socket however a connection ends: no CLOSE_WAIT, descriptors back to the baseline", Label("timewait.server-no-leak"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		sc := newScene("wl-noleak")
		s := startServer(ctx, sc, "no-leak", 30*time.Second)
		k := 3 + suite.Rand("no-leak/clients").IntN(3)
		var problems []string
		heldBefore, fdsBefore := 0, s.baseline
		for _, end := range connectionEnds {
			for range k {
				c := sc.dial(s.addr)
				end.do(ctx, s, c)
			}
			left, fds := s.awaitQuiet(ctx, lab.Scaled(1500*time.Millisecond))
			suite.Evidence(end.name, "%d clients; then the server held %s and %d open fds (baseline %d)", k, lab.CountStates(left), fds, s.baseline)
			// Each group is judged by what it added: a leak of an earlier group
			// stays, and is that group's finding.
			if held, more := len(left)-heldBefore, fds-fdsBefore; held > 0 || more > 0 {
				problems = append(problems, fmt.Sprintf("%d clients %s: %d more connections left open on the server's side (%s in all now) and %d more open descriptors",
					k, end.name, max(held, 0), lab.CountStates(left), more))
			}
			heldBefore, fdsBefore = len(left), fds
		}
		if len(problems) > 0 {
			suite.Failf("%s. A socket in CLOSE_WAIT is a connection the client has hung up on and the server has not closed: a code path that returns without conn.Close() (a descriptor held for a reset connection does not even show in the table). Find it with your sockstat, and close the connection on every way out of the handler (Task 7; a defer right after accept does it).",
				strings.Join(problems, "; "))
		}
	})

	It("closes a connection that stays idle for -idle (a server-active close: the TIME_WAIT is the server's)", Label("timewait.server-idle"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		sc := newScene("wl-idle")
		idle := time.Duration(400+suite.Rand("idle/idle").IntN(300)) * time.Millisecond
		s := startServer(ctx, sc, "idle", idle)
		early, late := 50*time.Millisecond, lab.Scaled(500*time.Millisecond)
		var problems []string
		judge := func(what string, closedAfter time.Duration, err error) {
			suite.Evidence(what, "closed by the server %v after %s (idle %v)", lab.Round(closedAfter), "its last reply or its connect", idle)
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("%s: %s", what, describeReadError(err)))
			case closedAfter < idle-early:
				problems = append(problems, fmt.Sprintf("%s: closed after %v, before -idle %v had passed", what, lab.Round(closedAfter), idle))
			case closedAfter > idle+late:
				problems = append(problems, fmt.Sprintf("%s: still open %v after its last request, -idle is %v", what, lab.Round(closedAfter), idle))
			}
		}

		// A client that never sends anything.
		silent := sc.dial(s.addr)
		start := time.Now()
		closedAfter, err := awaitServerClose(silent, idle+late+time.Second, start)
		judge("a client that sends nothing", closedAfter, err)
		silent.Close()
		clientPort := uint16(silent.LocalAddr().(*net.TCPAddr).Port)
		var tw bool
		lab.Await(ctx, lab.Scaled(time.Second), func() (bool, error) {
			for _, so := range sc.sockets() {
				if so.State == lab.TimeWait && so.Local.Port() == s.port && so.Remote.Port() == clientPort {
					tw = true
				}
			}
			return tw, nil
		})
		if !tw && len(problems) == 0 {
			problems = append(problems, "the idle connection did not leave a TIME_WAIT on the server's port: the server was not the one that closed first")
		}

		// A client that keeps talking: each request starts the idle time again.
		chatty := sc.dial(s.addr)
		br := bufio.NewReader(chatty)
		var last time.Time
		for i := range 6 {
			got, err := exchange(chatty, br, "PING\n", 1)
			if err != nil || len(got) != 1 || got[0] != "PONG\n" {
				problems = append(problems, fmt.Sprintf("a client that sends PING every %v: request %d got %q (%s); -idle counts from the last reply, so an active client is never cut off", idle/2, i+1, got, describeReadError(err)))
				break
			}
			last = time.Now()
			if i < 5 {
				pace(ctx, idle/2) // the client's own pace, not a wait for the server
			}
		}
		if !last.IsZero() && len(problems) == 0 {
			closedAfter, err := awaitServerClose(chatty, idle+late+time.Second, last)
			judge("a client that sent PING every -idle/2, then stopped", closedAfter, err)
			chatty.Close()
		}

		// A client that trickles one request line without ever finishing it,
		// for three times -idle: a deadline set again on every read would keep
		// it open all that time. Its bytes after the server's close draw a reset
		// from the server's kernel, which also tells the client it was closed.
		trickle := sc.dial(s.addr)
		start = time.Now()
		go func() {
			for range 12 {
				if _, err := io.WriteString(trickle, "E"); err != nil {
					return
				}
				pace(ctx, idle/4)
			}
		}()
		closedAfter, err = awaitServerClose(trickle, idle+late+time.Second, start)
		if errors.Is(err, syscall.ECONNRESET) {
			err = nil
		}
		judge("a client that sends a byte every -idle/4 and never a newline", closedAfter, err)
		trickle.Close()

		left, fds := s.awaitQuiet(ctx, lab.Scaled(time.Second))
		if len(left) > 0 || fds != s.baseline {
			problems = append(problems, fmt.Sprintf("after the idle clients the server holds %s and %d open descriptors (baseline %d)", lab.CountStates(left), fds, s.baseline))
		}
		if len(problems) > 0 {
			suite.Failf("%s. When no complete request line arrives within -idle of the last reply (or of the connect), the server closes the connection without a reply. It is the active closer then, so the TIME_WAIT is on its side, which is normal (see the server's contract).",
				strings.Join(problems, "; "))
		}
	})
})

// pace is a client's own rhythm between two things it sends (never a wait
// for the program under test: that is always observed).
func pace(ctx SpecContext, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// awaitServerClose reads from c until the server closes it (EOF) and returns
// how long after since that came; err when it did not come within max.
func awaitServerClose(c net.Conn, max time.Duration, since time.Time) (time.Duration, error) {
	c.SetReadDeadline(since.Add(max))
	_, err := io.Copy(io.Discard, c)
	return time.Since(since), err
}

// describeReadError says in words how a read ended.
func describeReadError(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "the connection was closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer and no close within the time allowed"
	case errors.Is(err, io.EOF):
		return "the server closed the connection"
	default:
		return err.Error()
	}
}

// connectionEnds are the ways a client can end a connection.
var connectionEnds = []struct {
	name string
	do   func(ctx SpecContext, s *studentServer, c net.Conn)
}{
	{"hung up in the middle of a request line", func(_ SpecContext, _ *studentServer, c net.Conn) {
		io.WriteString(c, "ECHO half a li")
		c.Close()
	}},
	{"hung up between two requests", func(_ SpecContext, _ *studentServer, c net.Conn) {
		exchange(c, bufio.NewReader(c), "PING\n", 1)
		c.Close()
	}},
	{"half-closed (shut down their sending side) in the middle of a request line", func(_ SpecContext, _ *studentServer, c net.Conn) {
		io.WriteString(c, "ECHO never fin")
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(lab.Scaled(time.Second)))
		io.Copy(io.Discard, c)
		c.Close()
	}},
	{"reset the connection (RST) after a request", func(_ SpecContext, _ *studentServer, c net.Conn) {
		exchange(c, bufio.NewReader(c), "PING\n", 1)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}},
	{"sent a request and hung up without reading the reply", func(_ SpecContext, _ *studentServer, c net.Conn) {
		io.WriteString(c, "ECHO nobody reads this\n")
		c.Close()
	}},
	{"stopped reading while the server was still writing replies, then hung up (the server's write fails)", stallThenHangUp},
}

// stallThenHangUp sends many long ECHO requests and reads none of the
// replies, until the server is stuck writing (its replies wait in its send
// queue and the requests in its receive queue: it no longer reads), then
// closes with replies unread, which resets the connection: the server's
// blocked write fails.
func stallThenHangUp(ctx SpecContext, s *studentServer, c net.Conn) {
	line := "ECHO " + strings.Repeat("w", 900) + "\n"
	go func() {
		c.SetWriteDeadline(time.Now().Add(lab.Scaled(3 * time.Second)))
		for range 2000 {
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
	}()
	local := c.LocalAddr().(*net.TCPAddr).Port
	lab.Await(ctx, lab.Scaled(3*time.Second), func() (bool, error) {
		for _, so := range s.sc.sockets() {
			if so.Local.Port() == s.port && int(so.Remote.Port()) == local {
				return so.SendQ > 0 && so.RecvQ > 0, nil
			}
		}
		return false, nil
	})
	c.Close()
}
