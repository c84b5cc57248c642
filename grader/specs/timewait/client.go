package timewait

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

// The client is graded through a narrow ephemeral port range with
// tcp_tw_reuse 0: a client that closes one connection per request leaves one
// TIME_WAIT per request on its own ports and runs out after narrowPorts
// requests (LAB-NOTES.md: exactly then, "cannot assign requested address").
const (
	narrowRange = "41000 41299"
	narrowPorts = 300
)

// echoServer is the grader's own server for the client: the protocol of the
// contract, done right, counting what it answered.
type echoServer struct {
	lie      bool // answer ECHO <i> with <i+1>: every reply is wrong
	ln       net.Listener
	addr     string
	mu       sync.Mutex
	answered map[int]int // ECHO <i> → replies
	quits    int         // connections that ended with QUIT
	hangups  int         // connections the client closed without QUIT
	resets   int         // connections that ended with an error (a reset)
	accepted int
}

func startEchoServer(sc *scene, port uint16, lie bool) *echoServer {
	s := &echoServer{lie: lie, answered: map[int]int{}, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))}
	must(sc.ns.Do(func() (err error) {
		s.ln, err = net.Listen("tcp", s.addr)
		return err
	}))
	var wg sync.WaitGroup
	var conns []net.Conn
	DeferCleanup(func() {
		s.ln.Close()
		s.mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.accepted++
			conns = append(conns, c)
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(c)
			}()
		}
	}()
	return s
}

func (s *echoServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			s.mu.Lock()
			if line == "" && errors.Is(err, io.EOF) {
				s.hangups++
			} else {
				s.resets++
			}
			s.mu.Unlock()
			return
		}
		line = strings.TrimSuffix(line, "\n")
		var reply string
		switch {
		case line == "PING":
			reply = "PONG"
		case line == "QUIT":
			s.mu.Lock()
			s.quits++
			s.mu.Unlock()
			c.Write([]byte("BYE\n"))
			return
		case strings.HasPrefix(line, "ECHO "):
			reply = strings.TrimPrefix(line, "ECHO ")
			if i, err := strconv.Atoi(reply); err == nil {
				s.mu.Lock()
				s.answered[i]++
				s.mu.Unlock()
				if s.lie {
					reply = strconv.Itoa(i + 1)
				}
			}
		default:
			reply = "ERR unknown request"
		}
		if _, err := c.Write([]byte(reply + "\n")); err != nil {
			return
		}
	}
}

// clientRun is one run of the student's client and what the kernel and the
// grader's server saw of it.
type clientRun struct {
	n, c     int
	exit     int // -1: it did not finish
	line     clientLine
	lineErr  string
	counters lab.Counters // deltas over the run
	server   *echoServer
	timeWait int // TIME_WAIT sockets in the namespace once it is over
	elapsed  time.Duration
}

type clientLine struct {
	Requests    *int `json:"requests"`
	Succeeded   *int `json:"succeeded"`
	Failed      *int `json:"failed"`
	Connections *int `json:"connections"`
}

// runClient runs the student's client against the grader's server through the
// narrow port range, once per spec (seeded N and C).
func runClient(ctx SpecContext, stream string) clientRun {
	sc := newScene("wl-" + stream)
	must(sc.ns.Sysctl("net.ipv4.ip_local_port_range", narrowRange))
	srv := startEchoServer(sc, seededPort(stream+"/port"), false)
	r := suite.Rand(stream + "/load")
	run := clientRun{n: 2*narrowPorts + 100 + r.IntN(300), c: 3 + r.IntN(6), server: srv, exit: -1}
	before, err := sc.ns.Counters()
	must(err)
	start := time.Now()
	p, err := sc.ns.Start(suite.Program("client"), "-addr", srv.addr, "-n", strconv.Itoa(run.n), "-c", strconv.Itoa(run.c))
	must(err)
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			suite.Evidence("client log", "%s", p.LogEvidence(12))
		}
	})
	deadline := lab.Scaled(2 * programDeadline)
	if p.AwaitExit(ctx, deadline) {
		run.exit = p.ExitCode()
	}
	run.elapsed = time.Since(start)
	p.Stop(lab.Scaled(time.Second))
	// The connections' last segments (the server's FIN after QUIT, the ACKs)
	// are in flight when the client exits: wait until only TIME_WAIT is left.
	var socks []lab.Socket
	lab.Await(ctx, lab.Scaled(2*time.Second), func() (bool, error) {
		socks = sc.sockets()
		c := counts(socks)
		return c[lab.Established]+c[lab.CloseWait]+c[lab.FinWait1]+c[lab.FinWait2]+c[lab.LastAck]+c[lab.Closing] == 0, nil
	})
	run.timeWait = counts(socks)[lab.TimeWait]
	after, err := sc.ns.Counters()
	must(err)
	run.counters = after.Since(before)

	out := strings.TrimSpace(p.Stdout())
	lines := strings.Split(out, "\n")
	dec := json.NewDecoder(strings.NewReader(lines[len(lines)-1]))
	switch {
	case out == "":
		run.lineErr = "it printed nothing on stdout"
	case dec.Decode(&run.line) != nil || run.line.Requests == nil || run.line.Succeeded == nil || run.line.Failed == nil || run.line.Connections == nil:
		run.lineErr = fmt.Sprintf("its last line on stdout, %q, is not {\"requests\":N,\"succeeded\":N,\"failed\":N,\"connections\":N}", report.Clip(lines[len(lines)-1], 120))
	}
	srv.mu.Lock()
	suite.Evidence("client run", "client -n %d -c %d, ip_local_port_range %s (%d ports), tcp_tw_reuse 0: %s after %v; stdout %q",
		run.n, run.c, narrowRange, narrowPorts, exitOf(run.exit), lab.Round(run.elapsed), report.Clip(out, 200))
	suite.Evidence("grader's server", "%d connections accepted; %d distinct requests of %d answered; %d ended with QUIT, %d closed without QUIT, %d ended in an error (a reset)",
		srv.accepted, len(srv.answered), run.n, srv.quits, srv.hangups, srv.resets)
	srv.mu.Unlock()
	suite.Evidence("kernel", "%s; TIME_WAIT left: %d", run.counters.Format("Tcp.ActiveOpens", "Tcp.OutRsts", "TcpExt.TCPAbortOnClose", "TcpExt.TCPAbortOnData"), run.timeWait)
	return run
}

// clientRefusals runs the client where it must not succeed: against a port
// nobody listens on (every request fails: exit 1, and the line says so), and
// with bad flags (exit 2, nothing on stdout).
func clientRefusals(ctx SpecContext) []string {
	sc := newScene("wl-client-refusals")
	var problems []string
	ports := distinctPorts("client-refusals/ports", 2)
	nobody := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0])))
	liar := startEchoServer(sc, ports[1], true)
	runs := []struct {
		args []string
		exit int
		want string
	}{
		{[]string{"-addr", nobody, "-n", "5", "-c", "2"}, 1, "every request fails against a port nobody listens on"},
		{[]string{"-addr", liar.addr, "-n", "5", "-c", "2"}, 1, "every request fails against a server that answers ECHO <i> with <i+1>"},
		{[]string{"-addr", nobody, "-n", "0", "-c", "2"}, 2, "-n 0 is a usage error"},
		{[]string{"-addr", nobody, "-n", "5", "-c", "0"}, 2, "-c 0 is a usage error"},
		{[]string{"-addr", nobody, "-n", "5", "-c", "two"}, 2, "-c two is a usage error"},
	}
	for _, r := range runs {
		before, err := sc.ns.Counters()
		must(err)
		p, err := sc.ns.Start(suite.Program("client"), r.args...)
		must(err)
		finished := p.AwaitExit(ctx, lab.Scaled(programDeadline))
		p.Stop(lab.Scaled(time.Second))
		after, err := sc.ns.Counters()
		must(err)
		opens := int(after.Since(before)["Tcp.ActiveOpens"])
		out := strings.TrimSpace(p.Stdout())
		suite.Evidence("client "+strings.Join(r.args, " "), "%s; stdout %q", p.ExitDescription(), report.Clip(out, 120))
		switch {
		case !finished:
			problems = append(problems, fmt.Sprintf("client %s did not finish (%s)", strings.Join(r.args, " "), r.want))
		case p.ExitCode() != r.exit:
			problems = append(problems, fmt.Sprintf("client %s %s, not with status %d (%s)", strings.Join(r.args, " "), p.ExitDescription(), r.exit, r.want))
		case r.exit == 2 && out != "":
			problems = append(problems, fmt.Sprintf("client %s wrote %q on stdout; a usage error goes to stderr", strings.Join(r.args, " "), report.Clip(out, 60)))
		case r.exit == 1:
			var line clientLine
			switch {
			case json.Unmarshal([]byte(out), &line) != nil || line.Failed == nil || line.Succeeded == nil || line.Connections == nil || *line.Failed != 5 || *line.Succeeded != 0:
				problems = append(problems, fmt.Sprintf("client %s printed %q; with every request failed the line says \"succeeded\":0,\"failed\":5", strings.Join(r.args, " "), report.Clip(out, 120)))
			case r.args[1] == liar.addr && *line.Connections != opens:
				// Every connect to the liar succeeds: connections is their number.
				problems = append(problems, fmt.Sprintf("client %s reports %d connections; the kernel counted %d connect()s", strings.Join(r.args, " "), *line.Connections, opens))
			}
		}
	}
	return problems
}

func exitOf(code int) string {
	if code == -1 {
		return "no exit (it did not finish)"
	}
	return fmt.Sprintf("exit status %d", code)
}

var _ = Describe("03-time-wait: the load client", Label(CaseLabel), func() {
	It("completes every request through a narrow port range by reusing at most -c connections", Label("timewait.client-reuse"), SpecTimeout(lab.Scaled(90*time.Second)), func(ctx SpecContext) {
		run := runClient(ctx, "client-reuse")
		var problems []string
		opens := int(run.counters["Tcp.ActiveOpens"])
		if run.exit != 0 {
			problems = append(problems, fmt.Sprintf("the client ended with %s, not exit status 0", exitOf(run.exit)))
		}
		if run.lineErr != "" {
			problems = append(problems, run.lineErr)
		} else if *run.line.Requests != run.n || *run.line.Succeeded != run.n || *run.line.Failed != 0 {
			problems = append(problems, fmt.Sprintf("it reports %d requests, %d succeeded, %d failed; all %d must succeed", *run.line.Requests, *run.line.Succeeded, *run.line.Failed, run.n))
		}
		run.server.mu.Lock()
		var unanswered []string
		for i := 1; i <= run.n; i++ {
			if run.server.answered[i] == 0 {
				unanswered = append(unanswered, strconv.Itoa(i))
			}
		}
		run.server.mu.Unlock()
		if len(unanswered) > 0 {
			problems = append(problems, fmt.Sprintf("the server never received ECHO %s", sample(unanswered, 5)))
		}
		if opens > run.c {
			problems = append(problems, fmt.Sprintf("it opened %d connections (Tcp.ActiveOpens) for %d requests, with -c %d", opens, run.n, run.c))
		}
		if run.lineErr == "" && *run.line.Connections != opens {
			problems = append(problems, fmt.Sprintf("it reports %d connections; the kernel counted %d connect()s", *run.line.Connections, opens))
		}
		problems = append(problems, clientRefusals(ctx)...)
		if len(problems) > 0 {
			suite.Failf("%s. Each connection a client closes first leaves a TIME_WAIT on one of its own ports for 60 s: with %d ephemeral ports, a connection per request runs out after %d requests (\"cannot assign requested address\"). Keep at most -c connections open and send many requests over each (Task 8); exit 0 only when every request succeeded, 1 otherwise, and 2 for a bad flag.",
				strings.Join(problems, "; "), narrowPorts, narrowPorts)
		}
	})

	It("closes its connections gracefully: no reset, and no more TIME_WAIT than connections", Label("timewait.client-graceful"), SpecTimeout(lab.Scaled(90*time.Second)), func(ctx SpecContext) {
		run := runClient(ctx, "client-graceful")
		var problems []string
		run.server.mu.Lock()
		resets := run.server.resets
		run.server.mu.Unlock()
		// A client's reset shows in an abort counter (a close by SO_LINGER 0,
		// a close with unread data, data arriving after a close) or at the
		// server. Tcp.OutRsts alone also counts a reset answering a stray
		// segment, which is nobody's close: a correct client once showed
		// Tcp.OutRsts +1 with no abort and no reset at the server (selftest,
		// two gradings at a time); every client that resets showed an abort
		// per connection (quit-no-wait: OutRsts +5..+9, aborts +5..+8).
		if run.counters["TcpExt.TCPAbortOnClose"]+run.counters["TcpExt.TCPAbortOnData"] > 0 || resets > 0 {
			for _, name := range []string{"Tcp.OutRsts", "TcpExt.TCPAbortOnClose", "TcpExt.TCPAbortOnData"} {
				if n := run.counters[name]; n != 0 {
					problems = append(problems, fmt.Sprintf("%s rose by %d", name, n))
				}
			}
		}
		if resets > 0 {
			problems = append(problems, fmt.Sprintf("%d connections ended in an error on the server's side", resets))
		}
		if run.timeWait > run.c {
			problems = append(problems, fmt.Sprintf("%d sockets are left in TIME_WAIT for %d requests with -c %d", run.timeWait, run.n, run.c))
		}
		if run.exit == -1 {
			problems = append(problems, "the client did not finish")
		}
		if len(problems) > 0 {
			suite.Failf("%s. Skipping TIME_WAIT with SO_LINGER 0 closes by reset: the server sees an error and data in flight can be lost, which is why the kernel counts it (Tcp.OutRsts, TcpExt.TCPAbortOnData). End each connection with QUIT (or a plain close) once all requests are done; with at most -c connections there is at most one TIME_WAIT each (Task 8).",
				strings.Join(problems, "; "))
		}
	})
})
