package timewait

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// timeWaitGroup is one TIME_WAIT finding the contract asks for.
type timeWaitGroup struct {
	side  string
	port  int
	count int
}

func (g timeWaitGroup) String() string {
	return fmt.Sprintf("%d TIME_WAIT on the %s side of port %d", g.count, g.side, g.port)
}

var _ = Describe("03-time-wait: sockstat diagnoses what it sees", Label(CaseLabel), func() {
	// A client-active close leaves TIME_WAIT on the client's ephemeral port, a
	// server-active close on the server's own port. Killing the server does
	// not remove its TIME_WAIT, and the diagnosis must not change: the side is
	// then told by the ephemeral port range.
	It("calls TIME_WAIT normal and names the side that closed first", Label("timewait.sockstat-diagnosis"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		sc := newScene("wl-diagnosis")
		// The client-active port lies below the ephemeral range, the
		// server-active one above it: the side is never told by which port
		// number is lower.
		clientClosesOn, serverClosesOn := seededPort("diagnosis/client-port"), highServerPort("diagnosis/server-port")
		ports := []uint16{clientClosesOn, serverClosesOn}
		r := suite.Rand("diagnosis/sizes")
		clientCloses, serverCloses := 2+r.IntN(5), 2+r.IntN(5)
		peer := sc.startHelper(ctx, peerName, ports,
			"-listen", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(clientClosesOn)))+"="+closeOnEOFMode,
			"-listen", net.JoinHostPort("::1", strconv.Itoa(int(serverClosesOn)))+"="+closeAtOnceMode)
		for _, c := range sc.dialN(net.JoinHostPort("127.0.0.1", strconv.Itoa(int(clientClosesOn))), clientCloses) {
			c.Close()
		}
		for _, c := range sc.dialN(net.JoinHostPort("::1", strconv.Itoa(int(serverClosesOn))), serverCloses) {
			closeAfterEOF(c)
		}
		sc.awaitCounts(ctx, map[lab.TCPState]int{lab.Listen: 2, lab.TimeWait: clientCloses + serverCloses})
		want := []timeWaitGroup{{"client", int(clientClosesOn), clientCloses}, {"server", int(serverClosesOn), serverCloses}}
		suite.Evidence("scene", "%d connections to 127.0.0.1:%d closed by the client first, %d to [::1]:%d closed by the server (%s, pid %d) first",
			clientCloses, clientClosesOn, serverCloses, serverClosesOn, peerName, peer.Pid())

		var problems []string
		check := func(when string) {
			run := runSockstat(ctx, sc)
			doc := requireDocument(run)
			suite.Evidence("findings "+when, "%s", formatFindings(doc.Findings))
			for _, p := range judgeTimeWait(doc.Findings, want) {
				problems = append(problems, when+": "+p)
			}
		}
		check("with the server running")

		// The lesson of the case study: kill the process, the TIME_WAIT stays.
		peer.Signal(syscall.SIGKILL)
		peer.AwaitExit(ctx, lab.Scaled(2*time.Second))
		sc.awaitCounts(ctx, map[lab.TCPState]int{lab.TimeWait: clientCloses + serverCloses})
		suite.Evidence("after killing the server", "the table still holds %s: TIME_WAIT belongs to the kernel", lab.CountStates(sc.sockets()))
		check("after the server was killed (no LISTEN socket left)")

		if len(problems) > 0 {
			suite.Failf("%s. TIME_WAIT sits on the side that closed first and expires by itself: each group of the same side and port is one finding with verdict \"normal\" (Task 4). The side is \"server\" when the socket's local port is a listening port, or outside the ephemeral port range (/proc/sys/net/ipv4/ip_local_port_range); \"client\" otherwise; port is the server's port.",
				strings.Join(problems, "; "))
		}
	})
})

// judgeTimeWait holds the TIME_WAIT findings to the groups wanted: one
// finding per group, verdict normal, the right side, port and count.
func judgeTimeWait(findings []sockstatFinding, want []timeWaitGroup) []string {
	var problems []string
	var got []sockstatFinding
	for _, f := range findings {
		if f.State == "TIME_WAIT" {
			got = append(got, f)
		}
	}
	for _, w := range want {
		i := slices.IndexFunc(got, func(f sockstatFinding) bool { return f.Side == w.side && f.Port == w.port })
		if i < 0 {
			hint := ""
			if j := slices.IndexFunc(got, func(f sockstatFinding) bool { return f.Port == w.port || f.Count == w.count }); j >= 0 {
				hint = fmt.Sprintf(" (there is %q)", got[j])
			}
			problems = append(problems, fmt.Sprintf("no finding for the %s%s", w, hint))
			continue
		}
		f := got[i]
		got = slices.Delete(got, i, i+1)
		if f.Verdict != "normal" {
			problems = append(problems, fmt.Sprintf("the %s has verdict %q, not \"normal\"", w, f.Verdict))
		}
		if f.Count != w.count {
			problems = append(problems, fmt.Sprintf("the finding for TIME_WAIT on the %s side of port %d counts %d, the kernel has %d", w.side, w.port, f.Count, w.count))
		}
		if strings.TrimSpace(f.Explanation) == "" {
			problems = append(problems, fmt.Sprintf("the finding for the %s has no explanation", w))
		}
	}
	for _, f := range got {
		problems = append(problems, fmt.Sprintf("a TIME_WAIT finding the table does not support: %s", f))
	}
	return problems
}

func formatFindings(fs []sockstatFinding) string {
	if len(fs) == 0 {
		return "no findings"
	}
	lines := make([]string, len(fs))
	for i, f := range fs {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}
