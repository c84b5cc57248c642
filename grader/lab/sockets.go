package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TCPState is a TCP state as the kernel numbers it (include/net/tcp_states.h).
type TCPState uint8

// The TCP states of RFC 9293 as Linux reports them.
const (
	Established TCPState = 1
	SynSent     TCPState = 2
	SynRecv     TCPState = 3
	FinWait1    TCPState = 4
	FinWait2    TCPState = 5
	TimeWait    TCPState = 6
	Close       TCPState = 7
	CloseWait   TCPState = 8
	LastAck     TCPState = 9
	Listen      TCPState = 10
	Closing     TCPState = 11
)

var stateNames = [...]string{"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"}

func (s TCPState) String() string {
	if int(s) < len(stateNames) && s != 0 {
		return stateNames[s]
	}
	return fmt.Sprintf("STATE(%d)", s)
}

// Socket is one row of the kernel's TCP socket table, read through inet_diag.
// For a LISTEN socket, RecvQ is the current accept-queue length and SendQ the
// backlog limit (what `ss -lnt` shows as Recv-Q and Send-Q).
type Socket struct {
	State  TCPState
	Local  netip.AddrPort
	Remote netip.AddrPort
	RecvQ  uint32
	SendQ  uint32
	Inode  uint32
	// V6: the socket is in the IPv6 table (/proc/net/tcp6), IPv4-mapped
	// addresses included; Local and Remote hold them unmapped.
	V6 bool
}

// TCPSockets dumps every TCP socket (IPv4 and IPv6) of the current network namespace.
func TCPSockets() ([]Socket, error) {
	var out []Socket
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		rows, err := netlink.SocketDiagTCP(family)
		if err != nil {
			return nil, fmt.Errorf("lab: inet_diag dump: %w", err)
		}
		for _, r := range rows {
			out = append(out, Socket{
				State:  TCPState(r.State),
				Local:  addrPort(r.ID.Source, r.ID.SourcePort),
				Remote: addrPort(r.ID.Destination, r.ID.DestinationPort),
				RecvQ:  r.RQueue,
				SendQ:  r.WQueue,
				Inode:  r.INode,
				V6:     family == unix.AF_INET6,
			})
		}
	}
	return out, nil
}

func addrPort(ip []byte, port uint16) netip.AddrPort {
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), port)
}

// Listener returns the LISTEN socket bound to port, if there is one.
func Listener(port uint16) (Socket, bool, error) {
	socks, err := TCPSockets()
	if err != nil {
		return Socket{}, false, err
	}
	for _, s := range socks {
		if s.State == Listen && s.Local.Port() == port {
			return s, true, nil
		}
	}
	return Socket{}, false, nil
}

// Connections returns the sockets on the local port (excluding LISTEN),
// i.e. the server side of its connections.
func Connections(port uint16) ([]Socket, error) {
	socks, err := TCPSockets()
	if err != nil {
		return nil, err
	}
	var out []Socket
	for _, s := range socks {
		if s.State != Listen && s.Local.Port() == port {
			out = append(out, s)
		}
	}
	return out, nil
}

// CountStates tallies sockets by state, e.g. "ESTABLISHED 12, TIME_WAIT 3".
func CountStates(socks []Socket) string {
	counts := map[TCPState]int{}
	for _, s := range socks {
		counts[s.State]++
	}
	var parts []string
	for st := Established; st <= Closing; st++ {
		if n := counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", st, n))
		}
	}
	if len(parts) == 0 {
		return "no sockets"
	}
	return strings.Join(parts, ", ")
}

// pollInterval is how often the lab looks at the kernel while waiting for a
// state to appear. Waiting is always for an observed state, never a guess.
const pollInterval = 2 * time.Millisecond

// Await polls cond until it returns true, returns an error, ctx ends, or the
// timeout passes. It is the one waiting loop of the lab.
func Await(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return context.DeadlineExceeded
		case <-tick.C:
		}
	}
}

// NotListeningError explains why a program never became ready.
type NotListeningError struct {
	Program string
	Port    uint16
	Reason  string // what happened instead
	Log     string // the program's last stderr lines
	// StillRunning: the program did not exit, it just never listened on Port.
	StillRunning bool
}

func (e *NotListeningError) Error() string {
	return fmt.Sprintf("%s did not start listening on port %d: %s\n%s", e.Program, e.Port, e.Reason, e.Log)
}

// AwaitListening waits until a TCP LISTEN socket on port appears in the
// kernel's socket table (of the namespace the program runs in) while the
// program is still running. If the program exits first, the error says so
// with its exit status and last log lines.
func (p *Process) AwaitListening(ctx context.Context, port uint16, timeout time.Duration) error {
	return p.awaitSocket(ctx, port, timeout, listeningSockets)
}

// AwaitBound is AwaitListening for a UDP program: it waits until a UDP socket
// bound to port appears in the kernel's table.
func (p *Process) AwaitBound(ctx context.Context, port uint16, timeout time.Duration) error {
	return p.awaitSocket(ctx, port, timeout, boundUDPSockets)
}

// AwaitServing is AwaitListening for a channel whose transport the student
// chose: it waits until a TCP LISTEN socket or a bound UDP socket (QUIC, or
// datagrams of their own) on port appears.
func (p *Process) AwaitServing(ctx context.Context, port uint16, timeout time.Duration) error {
	return p.awaitSocket(ctx, port, timeout, servingSockets)
}

// socketKind is what a program becomes ready with: a name for messages, how
// to list the local addresses of such sockets in the current namespace, and
// what to say when the program's port is not among them.
type socketKind struct {
	name   string
	local  func() ([]netip.AddrPort, error)
	none   string // nothing of this kind in the namespace
	others string // the kind exists on other addresses (%s)
}

var (
	listeningSockets = socketKind{"LISTEN socket", listeningAddrs,
		" nothing in this network namespace listens at all", " something listens on %s instead"}
	boundUDPSockets = socketKind{"UDP socket", udpAddrs,
		" no UDP socket in this network namespace is bound at all", " UDP sockets are bound on %s instead"}
	servingSockets = socketKind{"LISTEN socket or bound UDP socket", func() ([]netip.AddrPort, error) {
		tcp, err := listeningAddrs()
		if err != nil {
			return nil, err
		}
		udp, err := udpAddrs()
		return append(tcp, udp...), err
	}, " nothing in this network namespace listens or is bound at all", " sockets listen or are bound on %s instead"}
)

// awaitSocket waits until a socket of kind on port appears, reading the
// kernel's tables in the program's namespace. When none appears, the error
// says what the program has instead (the usual cause of a server that
// "never listens" is a hard-coded address), from the last table read.
func (p *Process) awaitSocket(ctx context.Context, port uint16, timeout time.Duration, kind socketKind) error {
	var last []netip.AddrPort
	err := Await(ctx, timeout, func() (bool, error) {
		if p.HasExited() {
			return false, errExited
		}
		err := p.inNamespace(func() (err error) {
			last, err = kind.local()
			return err
		})
		return slices.ContainsFunc(last, func(a netip.AddrPort) bool { return a.Port() == port }), err
	})
	switch {
	case err == nil:
		return nil
	case err == errExited:
		return &NotListeningError{Program: p.Name, Port: port, Reason: fmt.Sprintf("it %s before it listened", p.ExitDescription()), Log: p.LogEvidence(15)}
	case err == context.DeadlineExceeded:
		instead := kind.none
		if len(last) > 0 {
			seen := make([]string, len(last))
			for i, a := range last {
				seen[i] = a.String()
			}
			instead = fmt.Sprintf(kind.others, strings.Join(seen, ", "))
		}
		reason := fmt.Sprintf("no %s on port %d appeared within %v (it is still running; is it listening on the -addr it was given?%s)", kind.name, port, timeout, instead)
		if limit := p.LimitReached(); limit != "" {
			reason += "; meanwhile " + limit
		}
		return &NotListeningError{Program: p.Name, Port: port, StillRunning: true, Log: p.LogEvidence(15), Reason: reason}
	default:
		return err
	}
}

// listeningAddrs lists the local addresses of the namespace's LISTEN sockets.
func listeningAddrs() ([]netip.AddrPort, error) {
	socks, err := TCPSockets()
	var out []netip.AddrPort
	for _, s := range socks {
		if s.State == Listen {
			out = append(out, s.Local)
		}
	}
	return out, err
}

// udpAddrs lists the local addresses of the namespace's UDP sockets.
func udpAddrs() ([]netip.AddrPort, error) {
	socks, err := UDPSockets()
	out := make([]netip.AddrPort, len(socks))
	for i, s := range socks {
		out[i] = s.Local
	}
	return out, err
}

var errExited = fmt.Errorf("program exited")

// DestroyTCP ends every IPv4 TCP connection of the current network namespace
// whose local port is port (the listener stays), as `ss -K` does (inet_diag's
// SOCK_DESTROY): the kernel forgets them at once, including the ones a
// killed program left behind, the way a host that restarted would have. It
// returns how many it ended.
func DestroyTCP(port uint16) (int, error) {
	socks, err := TCPSockets()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range socks {
		if s.Local.Port() != port || s.State == Listen || s.State == TimeWait || s.V6 {
			continue
		}
		local := net.TCPAddrFromAddrPort(s.Local)
		remote := net.TCPAddrFromAddrPort(s.Remote)
		if err := netlink.SocketDestroy(local, remote); err != nil && !errors.Is(err, unix.ENOENT) {
			return n, fmt.Errorf("lab: destroy %v → %v: %w", s.Local, s.Remote, err)
		}
		n++
	}
	return n, nil
}
