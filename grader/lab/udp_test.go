package lab

import (
	"net"
	"testing"
)

// TestUDPSocketsCountReceiveBufferDrops: 2,000 datagrams into a socket with a
// 4 KiB receive buffer that nobody reads: the socket's row shows the bytes
// waiting and the drops, and the drops are exactly the namespace's
// Udp.RcvbufErrors delta. In the sandbox's namespace and in an extra one.
func TestUDPSocketsCountReceiveBufferDrops(t *testing.T) {
	needNetns(t)
	ns, err := NewNetns("udp-drops")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	places := []struct {
		name     string
		do       func(func() error) error
		sockets  func() ([]UDPSocket, error)
		counters func() (Counters, error)
	}{
		{"the sandbox's namespace", func(f func() error) error { return f() }, UDPSockets, ReadCounters},
		{"an extra namespace (Netns)", ns.Do, ns.UDPSockets, ns.Counters},
	}
	for _, p := range places {
		t.Run(p.name, func(t *testing.T) {
			before, err := p.counters()
			if err != nil {
				t.Fatal(err)
			}
			var port uint16
			const sent = 2000
			err = p.do(func() error {
				rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					return err
				}
				t.Cleanup(func() { rc.Close() })
				if err := rc.SetReadBuffer(4096); err != nil {
					return err
				}
				port = uint16(rc.LocalAddr().(*net.UDPAddr).Port)
				sc, err := net.DialUDP("udp", nil, rc.LocalAddr().(*net.UDPAddr))
				if err != nil {
					return err
				}
				defer sc.Close()
				msg := make([]byte, 100)
				for range sent {
					if _, err := sc.Write(msg); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			socks, err := p.sockets()
			if err != nil {
				t.Fatal(err)
			}
			var sock UDPSocket
			for _, s := range socks {
				if s.Local.Port() == port {
					sock = s
				}
			}
			after, _ := p.counters()
			rcvbuf := after.Since(before)["Udp.RcvbufErrors"]
			t.Logf("%v; Udp.RcvbufErrors %+d", sock, rcvbuf)
			if sock.Local.Port() != port {
				t.Fatalf("no UDP socket on port %d among %v", port, socks)
			}
			if sock.Drops < sent/2 || int64(sock.Drops) != rcvbuf || sock.RecvQ == 0 {
				t.Errorf("%v with Udp.RcvbufErrors %+d: want most of the %d datagrams dropped, the drops equal to the counter, bytes waiting", sock, rcvbuf, sent)
			}
		})
	}
}
