package lab

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// dialN opens n connections to port and closes them when the test ends.
func dialN(t *testing.T, port uint16, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port).String(), Scaled(5*time.Second))
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns
}

// awaitListener waits until the LISTEN socket on port satisfies cond and returns it.
func awaitListener(t *testing.T, port uint16, what string, cond func(Socket) bool) Socket {
	t.Helper()
	var last Socket
	err := Await(context.Background(), Scaled(5*time.Second), func() (bool, error) {
		s, ok, err := Listener(port)
		if err != nil || !ok {
			return false, err
		}
		last = s
		return cond(s), nil
	})
	if err != nil {
		t.Fatalf("waiting for the listener on port %d to show %s: %v (last seen %+v)", port, what, err, last)
	}
	return last
}

func TestListenerShowsBacklogLimitAndAcceptQueue(t *testing.T) {
	needNetns(t)
	ln, port := listenBacklog(t, 37)

	s, ok, err := Listener(port)
	if err != nil || !ok {
		t.Fatalf("Listener(%d) = %+v, %v, %v; want the LISTEN socket", port, s, ok, err)
	}
	if s.State != Listen || s.SendQ != 37 || s.RecvQ != 0 {
		t.Errorf("fresh listener: state %v, RecvQ %d, SendQ %d; want LISTEN, 0, 37", s.State, s.RecvQ, s.SendQ)
	}
	if want := netip.MustParseAddrPort(ln.Addr().String()); s.Local != want {
		t.Errorf("Local = %v, want %v", s.Local, want)
	}
	if s.Inode == 0 {
		t.Error("a LISTEN socket has an inode, got 0")
	}

	// Three handshakes complete in the kernel; nobody accepts them.
	clients := dialN(t, port, 3)
	s = awaitListener(t, port, "3 connections queued", func(s Socket) bool { return s.RecvQ == 3 })
	if s.SendQ != 37 {
		t.Errorf("SendQ = %d with a queue, want the limit 37", s.SendQ)
	}

	conns, err := Connections(port)
	if err != nil {
		t.Fatal(err)
	}
	if got := CountStates(conns); got != "ESTABLISHED 3" {
		t.Errorf("CountStates(Connections) = %q, want %q", got, "ESTABLISHED 3")
	}
	var remotes, want []string
	for _, c := range conns {
		if c.Local != s.Local {
			t.Errorf("server side %+v: local %v, want the listener's %v", c, c.Local, s.Local)
		}
		remotes = append(remotes, c.Remote.String())
	}
	for _, c := range clients {
		want = append(want, c.LocalAddr().String())
	}
	slices.Sort(remotes)
	slices.Sort(want)
	if !slices.Equal(remotes, want) {
		t.Errorf("the server side's remote ends are %v, want the clients %v", remotes, want)
	}

	// Accepting one takes it off the queue.
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	awaitListener(t, port, "2 connections queued after one accept", func(s Socket) bool { return s.RecvQ == 2 })

	// A client that closes leaves the server side in CLOSE_WAIT and itself in FIN_WAIT2.
	clientAddr := netip.MustParseAddrPort(clients[0].LocalAddr().String())
	clients[0].Close()
	var states string
	var client Socket
	err = Await(context.Background(), Scaled(5*time.Second), func() (bool, error) {
		all, err := TCPSockets()
		var server []Socket
		for _, s := range all {
			switch {
			case s.Local == clientAddr:
				client = s
			case s.Local.Port() == port && s.State != Listen:
				server = append(server, s)
			}
		}
		states = CountStates(server)
		return states == "ESTABLISHED 2, CLOSE_WAIT 1" && client.State == FinWait2, err
	})
	if err != nil {
		t.Fatalf("after one client closed: server side %q, client %v (%v); want %q and FIN_WAIT2",
			states, client.State, err, "ESTABLISHED 2, CLOSE_WAIT 1")
	}
}

func TestListenerNotFound(t *testing.T) {
	needNetns(t)
	port := freePort(t)
	s, ok, err := Listener(port)
	if err != nil || ok {
		t.Errorf("Listener(%d) with nothing listening = %+v, %v, %v; want not found", port, s, ok, err)
	}
	conns, err := Connections(port)
	if err != nil || len(conns) != 0 {
		t.Errorf("Connections(%d) = %v, %v; want none", port, conns, err)
	}
}

func TestTCPSocketsSeesIPv6(t *testing.T) {
	needNetns(t)
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback in this namespace: %v", err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	s, ok, err := Listener(port)
	if err != nil || !ok {
		t.Fatalf("Listener(%d) = %+v, %v, %v; want the [::1] listener", port, s, ok, err)
	}
	if s.Local != netip.MustParseAddrPort(ln.Addr().String()) {
		t.Errorf("Local = %v, want %v", s.Local, ln.Addr())
	}
}

func TestCountStates(t *testing.T) {
	if got := CountStates(nil); got != "no sockets" {
		t.Errorf("CountStates(nil) = %q", got)
	}
	socks := []Socket{{State: TimeWait}, {State: Established}, {State: TimeWait}, {State: Listen}, {State: CloseWait}}
	// Ordered by the kernel's state numbers, not by first appearance.
	if got, want := CountStates(socks), "ESTABLISHED 1, TIME_WAIT 2, CLOSE_WAIT 1, LISTEN 1"; got != want {
		t.Errorf("CountStates = %q, want %q", got, want)
	}
}

func TestTCPStateString(t *testing.T) {
	for st, want := range map[TCPState]string{
		Established: "ESTABLISHED", SynRecv: "SYN_RECV", TimeWait: "TIME_WAIT",
		Listen: "LISTEN", Closing: "CLOSING", 0: "STATE(0)", 12: "STATE(12)",
	} {
		if got := st.String(); got != want {
			t.Errorf("TCPState(%d).String() = %q, want %q", uint8(st), got, want)
		}
	}
}

func TestAwait(t *testing.T) {
	ctx := context.Background()

	calls := 0
	if err := Await(ctx, time.Minute, func() (bool, error) { calls++; return calls == 3, nil }); err != nil || calls != 3 {
		t.Errorf("Await until the 3rd look = %v after %d looks, want nil after 3", err, calls)
	}

	boom := errors.New("boom")
	if err := Await(ctx, time.Minute, func() (bool, error) { return false, boom }); err != boom {
		t.Errorf("Await with a failing condition = %v, want its error", err)
	}

	start := time.Now()
	err := Await(ctx, 50*time.Millisecond, func() (bool, error) { return false, nil })
	if err != context.DeadlineExceeded {
		t.Errorf("Await past its timeout = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Errorf("Await gave up after %v, before its 50ms timeout", elapsed)
	}

	cctx, cancel := context.WithCancel(ctx)
	looks := 0
	err = Await(cctx, time.Minute, func() (bool, error) {
		looks++
		if looks == 2 {
			cancel()
		}
		return false, nil
	})
	if err != context.Canceled {
		t.Errorf("Await with a cancelled context = %v, want context.Canceled", err)
	}
}
