package timewait

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

// scene is a network namespace of a spec's own with the connections the spec
// made in it: its socket table holds the scene and nothing else. Everything
// in it ends with the spec.
type scene struct {
	ns      *lab.Netns
	conns   []net.Conn     // the grader's ends, kept referenced until the spec ends
	helpers []*lab.Process // the lab's processes in the scene
}

// newScene makes a fresh namespace with the scene's ephemeral port range and
// tcp_tw_reuse 0 (so that the kernel never reuses a TIME_WAIT behind a
// program's back).
func newScene(name string) *scene {
	ns, err := lab.NewNetns(name)
	suite.SkipIfDenied(err)
	must(err)
	s := &scene{ns: ns}
	DeferCleanup(func() {
		for _, c := range s.conns {
			c.Close()
		}
		ns.Close()
	})
	must(ns.Sysctl("net.ipv4.ip_local_port_range", ephemeralRange))
	must(ns.Sysctl("net.ipv4.tcp_tw_reuse", "0"))
	// RFC 1337: without it, a reset that answers a TIME_WAIT's ACK (the peer
	// acknowledged our FIN late, after its own close) deletes the TIME_WAIT,
	// and a scene loses 0-3 of them per hundred at random (LAB-NOTES.md).
	must(ns.Sysctl("net.ipv4.tcp_rfc1337", "1"))
	return s
}

// startHelper starts a lab helper in the scene and waits until each of ports
// listens. It is stopped when the spec ends.
func (s *scene) startHelper(ctx SpecContext, name string, ports []uint16, args ...string) *lab.Process {
	p, err := s.ns.StartHelper(name, args...)
	must(err)
	s.helpers = append(s.helpers, p)
	DeferCleanup(func() { p.Stop(lab.Scaled(time.Second)) })
	for _, port := range ports {
		if err := p.AwaitListening(ctx, port, lab.Scaled(5*time.Second)); err != nil {
			suite.GraderFailf("the scene's helper did not start: %v", err)
		}
	}
	return p
}

// dial opens a connection from inside the scene; the grader owns its end.
func (s *scene) dial(addr string) net.Conn {
	var c net.Conn
	must(s.ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", addr, lab.Scaled(2*time.Second))
		return err
	}))
	s.conns = append(s.conns, c)
	return c
}

// dialN opens n connections to addr.
func (s *scene) dialN(addr string, n int) []net.Conn {
	out := make([]net.Conn, n)
	for i := range out {
		out[i] = s.dial(addr)
	}
	return out
}

// closeAfterEOF waits until the peer has closed c (a read returns EOF), then
// closes the grader's end: the peer was the active closer.
func closeAfterEOF(c net.Conn) {
	_, err := awaitServerClose(c, lab.Scaled(2*time.Second), time.Now())
	c.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		suite.GraderFailf("waiting for the scene's peer to close: %v", err)
	}
}

// sockets reads the scene's socket table through inet_diag.
func (s *scene) sockets() []lab.Socket {
	socks, err := s.ns.TCPSockets()
	must(err)
	return socks
}

// counts tallies sockets by state.
func counts(socks []lab.Socket) map[lab.TCPState]int {
	out := map[lab.TCPState]int{}
	for _, so := range socks {
		out[so.State]++
	}
	return out
}

// awaitCounts waits until the scene's table holds exactly want (per state),
// with no connection left waiting in an accept queue (until it is accepted, a
// connection has no owner), and returns it: the scene is built once the
// kernel says so.
func (s *scene) awaitCounts(ctx SpecContext, want map[lab.TCPState]int) []lab.Socket {
	var socks []lab.Socket
	err := lab.Await(ctx, lab.Scaled(5*time.Second), func() (bool, error) {
		socks = s.sockets()
		for _, so := range socks {
			if so.State == lab.Listen && so.RecvQ > 0 {
				return false, nil
			}
		}
		return sameCounts(counts(socks), want), nil
	})
	if err != nil {
		suite.GraderFailf("the scene did not settle: the table has %s, the scene wants %s", lab.CountStates(socks), formatCounts(want))
	}
	return socks
}

func sameCounts(a, b map[lab.TCPState]int) bool {
	for st := lab.Established; st <= lab.Closing; st++ {
		if a[st] != b[st] {
			return false
		}
	}
	return true
}

// formatCounts writes per-state counts in state order, "LISTEN 2, TIME_WAIT 3".
func formatCounts(c map[lab.TCPState]int) string {
	named := map[string]int{}
	for st, n := range c {
		named[st.String()] = n
	}
	return formatNamed(named)
}

// socketKey names a socket by state and addresses, IPv4-mapped addresses
// unmapped, as the contract lets sockstat print them either way.
type socketKey struct {
	state         string
	local, remote netip.AddrPort
}

func (k socketKey) String() string {
	return fmt.Sprintf("%s %s -> %s", k.state, k.local, k.remote)
}

func keyOf(so lab.Socket) socketKey {
	return socketKey{so.State.String(), unmap(so.Local), unmap(so.Remote)}
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// truth is the kernel's side of a comparison: the table, and who owns what.
type truth struct {
	sockets []lab.Socket
	owners  map[uint32]lab.Owner
}

// readTruth reads the scene's table and the owners of its sockets.
func (s *scene) readTruth() truth {
	owners, err := lab.SocketOwners()
	must(err)
	return truth{sockets: s.sockets(), owners: owners}
}

// owner is the process that holds a socket (zero: none).
func (t truth) owner(so lab.Socket) lab.Owner {
	if so.Inode == 0 {
		return lab.Owner{}
	}
	return t.owners[so.Inode]
}

// helpersAlive fails the spec when one of the scene's helpers ended while
// the student's program ran: they run as the student's user (so that the
// tool can see their sockets), so the program could signal them, and a tool
// that reads the table has no business doing so.
func (s *scene) helpersAlive(ctx SpecContext, command, stderr string) {
	for _, h := range s.helpers {
		if !h.Dead() {
			continue
		}
		h.AwaitExit(ctx, lab.Scaled(time.Second)) // dead, maybe not yet reaped
		if h.ExitedUnasked() {
			suite.Failf("while %s ran, the lab's peer %s (pid %d) %s: a tool that reads the socket table must not signal other processes (they run as your user so that your tool can see their sockets); its stderr: %q",
				command, h.Name, h.Pid(), h.ExitDescription(), report.Clip(stderr, 300))
		}
	}
}

// stableAround checks that the table did not change while a program read it
// (it never should: a scene is static). A change is the grader's problem.
func stableAround(before, after []lab.Socket) {
	b, a := counts(before), counts(after)
	if !sameCounts(a, b) {
		suite.Evidence("scene", "the table changed while sockstat ran: %s before, %s after", lab.CountStates(before), lab.CountStates(after))
		suite.GraderFailf("the scene's socket table changed while sockstat read it")
	}
}
