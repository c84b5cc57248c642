package lab

import (
	"context"
	"net"
	"testing"
)

// TestWireBarrierWaitsForQueuedPackets: a rule installed after a Barrier
// never sees the datagrams sent before it, in either direction, and the
// markers themselves are counted nowhere.
func TestWireBarrierWaitsForQueuedPackets(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	for _, dir := range []Direction{ToServer, ToClient} {
		from, to := ClientAddr, ServerAddr
		do := func(f func() error) error { return f() }
		if dir == ToClient {
			from, to, do = ServerAddr, ClientAddr, w.Server.Do
		}
		const sent = 200
		err := do(func() error {
			// Unconnected: nothing listens on port 7000, and the kernel's
			// port-unreachable answer to one datagram would fail a later
			// write of a connected socket (ECONNREFUSED, seen once in five runs).
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: from.AsSlice()})
			if err != nil {
				return err
			}
			defer c.Close()
			dst := &net.UDPAddr{IP: to.AsSlice(), Port: 7000}
			for range sent {
				if _, err := c.WriteToUDP(make([]byte, 64), dst); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Barrier(context.Background(), dir); err != nil {
			t.Fatal(err)
		}
		if got := w.Counters(dir).Packets; got < sent {
			t.Errorf("%s: after the barrier the wire had taken %d of the %d datagrams sent before it", dir, got, sent)
		}
		before := w.Counters(dir).Packets
		if err := w.Barrier(context.Background(), dir); err != nil {
			t.Fatal(err)
		}
		if got := w.Counters(dir).Packets; got != before {
			t.Errorf("%s: a barrier's marker was counted (%d packets, then %d)", dir, before, got)
		}
	}
}
