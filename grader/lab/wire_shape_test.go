package lab

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWireJitterKeepsOrder: a delay with jitter is a delay line, not a
// reordering: datagrams arrive in the order they were sent.
func TestWireJitterKeepsOrder(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	w.SetDelay(ToServer, 2*time.Millisecond, 5*time.Millisecond, 7)
	seq := udpExchange(t, w, 300, func(uint16) {}, func(n int) int { return n })
	for i, n := range seq {
		if n != uint32(i) {
			t.Fatalf("datagram %d arrived at position %d: jitter reordered the stream", n, i)
		}
	}
	if c := w.Counters(ToServer); c.Delayed != 300 {
		t.Errorf("counters %+v, want all 300 delayed", c)
	}
}

// TestWireRandomDropsReplayWithTheSeed: the same seed drops the same packets.
func TestWireRandomDropsReplayWithTheSeed(t *testing.T) {
	dropped := func() []int {
		w := newTestWire(t, WireOptions{})
		udpExchange(t, w, 500, func(port uint16) {
			w.Add(ToServer, DropRandom(Match{Proto: ProtoUDP, DstPort: port}, 0.05, 42))
		}, func(n int) int { return 0 }) // how many arrive is what we measure
		var idx []int
		for _, e := range w.PacketEvents() {
			idx = append(idx, e.MatchIndex)
		}
		w.Close()
		return idx
	}
	first, second := dropped(), dropped()
	if len(first) == 0 || len(first) > 60 {
		t.Fatalf("5%% of 500 dropped %d datagrams", len(first))
	}
	if !slices.Equal(first, second) {
		t.Errorf("seed 42 dropped %v, then %v", first, second)
	}
}

// TestWireRateLimits: a rate limit makes a transfer take at least size/rate,
// and TCP adapts to it: every byte arrives, through the bounded queue.
func TestWireRateLimits(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	const rate = 2 << 20 // 2 MiB/s
	w.SetRate(ToClient, rate, 256<<10)
	ln, _ := listenServer(t, w, "tcp")
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write(make([]byte, 1<<20))
		c.Close()
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(20 * time.Second))
	n, err := io.Copy(io.Discard, c)
	elapsed := time.Since(start)
	if err != nil || n != 1<<20 {
		t.Fatalf("received %d bytes (%v)", n, err)
	}
	// A lower bound only: the limit can never be beaten; how much slower a
	// busy machine is does not matter here.
	if floor := time.Duration(float64(n) / rate * float64(time.Second) * 0.9); elapsed < floor {
		t.Errorf("1 MiB at 2 MiB/s took %v, less than %v", elapsed, floor)
	}
	t.Logf("1 MiB at 2 MiB/s took %v; counters %+v", elapsed, w.Counters(ToClient))
}

// TestWireCaptureStaysBounded: the pcap never grows past its limit; what did
// not fit is counted.
func TestWireCaptureStaysBounded(t *testing.T) {
	w := newTestWire(t, WireOptions{CaptureLimit: 4096})
	udpExchange(t, w, 200, func(uint16) {}, func(n int) int { return n })
	path := t.TempDir() + "/bounded.pcap"
	skipped, err := w.WritePcap(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 4096 || skipped == 0 {
		t.Errorf("pcap of %d bytes with a 4096-byte limit, %d packets skipped", st.Size(), skipped)
	}
}

// TestWireFullQueueDropsAreEvidence: a burst into a small rate-limit queue
// loses packets, and every one of them is an event naming the packet and
// why, after the event that set the limit.
func TestWireFullQueueDropsAreEvidence(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	_, pc := listenServer(t, w, "udp")
	w.SetRate(ToServer, 10_000, 1000) // room for 16 of the 60-byte datagrams below
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const sent = 100
	for range sent {
		if _, err := c.Write(make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	if err := Await(context.Background(), 5*time.Second, func() (bool, error) {
		return w.Counters(ToServer).Packets >= sent, nil
	}); err != nil {
		t.Fatalf("the wire read %d of %d datagrams", w.Counters(ToServer).Packets, sent)
	}
	events, counters := w.Events(), w.Counters(ToServer)
	if len(events) == 0 || events[0].Kind != SettingChanged || !strings.Contains(events[0].String(), "rate limited to 10000 bytes/s") {
		t.Fatalf("the first event should be the rate setting; events: %v", events)
	}
	port := fmt.Sprint(pc.LocalAddr().(*net.UDPAddr).Port)
	full := 0
	for _, e := range events[1:] {
		if e.Kind != QueueFull || !strings.Contains(e.Packet, "UDP") || !strings.Contains(e.Packet, ":"+port) || !strings.Contains(e.Rule, "queue") {
			t.Errorf("unexpected event %v", e)
			continue
		}
		full++
	}
	t.Logf("%d of %d datagrams dropped by the full queue; e.g. %v", full, sent, events[len(events)-1])
	if full < sent/2 || int64(full) != counters.RateDrops {
		t.Errorf("%d queue-full events, %d rate drops counted; want the same number, at least %d of %d", full, counters.RateDrops, sent/2, sent)
	}
}

// TestWireInitialCongestionWindow: 30 small writes at once leave in one round
// trip with InitCwnd 100; with the kernel's 10 the last ones wait for the
// first ACKs, a round trip (40 ms) later.
func TestWireInitialCongestionWindow(t *testing.T) {
	spread := func(t *testing.T, initCwnd int) time.Duration {
		w := newTestWire(t, WireOptions{InitCwnd: initCwnd})
		w.SetDelay(ToServer, 20*time.Millisecond, 0, 1)
		w.SetDelay(ToClient, 20*time.Millisecond, 0, 1)
		ln, _ := listenServer(t, w, "tcp")
		const writes, size = 30, 100
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			for range writes { // TCP_NODELAY (Go's default): a segment each
				c.Write(make([]byte, size))
			}
		}()
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 1)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		first := time.Now()
		if _, err := io.ReadFull(c, make([]byte, writes*size-1)); err != nil {
			t.Fatal(err)
		}
		d := time.Since(first)
		t.Logf("InitCwnd %d: 30 segments over %v", initCwnd, d)
		return d
	}
	// Subtests: each wire is gone (its devices removed) before the next is made.
	t.Run("100", func(t *testing.T) {
		if d := spread(t, 100); d > 15*time.Millisecond {
			t.Errorf("with InitCwnd 100, 30 small segments arrived over %v, want within one trip (< 15 ms)", d)
		}
	})
	t.Run("default", func(t *testing.T) {
		if d := spread(t, 0); d < 30*time.Millisecond {
			t.Errorf("with the kernel's initial window, 30 small segments arrived over %v: slow start should hold the last for a round trip (≥ 30 ms); the test no longer shows what InitCwnd changes", d)
		}
	})
}

// TestWireDropsTheFirstOfABurst: with AfterQuiet, a rule counts bursts, not
// packets: the nth match is the first packet of the nth burst. The bursts are
// told apart from the times the wire took the packets (a mark records every
// one), so the test holds whatever the scheduler did to the sender's pacing.
func TestWireDropsTheFirstOfABurst(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	_, pc := listenServer(t, w, "udp")
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	const bursts, size, quiet = 6, 4, 15 * time.Millisecond
	n := 2 + rand.N(bursts-2)
	m := Match{Proto: ProtoUDP, DstPort: port}
	w.Add(ToServer, MarkAll(m))
	m.AfterQuiet = quiet
	w.Add(ToServer, DropNth(m, n))
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for b := range bursts {
		for i := range size {
			c.Write([]byte{byte(b), byte(i)})
		}
		// The traffic's own shape (paced bursts), not a wait for readiness.
		time.Sleep(40 * time.Millisecond)
	}
	var drops []WireEvent
	firsts := []int{} // packet indexes that open a burst
	var prev time.Duration = -time.Hour
	for _, e := range w.PacketEvents() { // marks and the drop, in the wire's order
		if e.At-prev >= quiet {
			firsts = append(firsts, e.Index)
		}
		prev = e.At
		if e.Action == Drop {
			drops = append(drops, e)
		}
	}
	if len(firsts) < n {
		t.Fatalf("the wire saw %d bursts, want at least %d", len(firsts), n)
	}
	if len(drops) != 1 || drops[0].Index != firsts[n-1] {
		t.Fatalf("drops %v, want one: packet #%d, the first of burst %d (bursts open at %v)", drops, firsts[n-1], n, firsts)
	}
}

// TestWireCapturedReadsBack: the capture, read back, holds what entered the
// wire with its payload and the time the wire took it.
func TestWireCapturedReadsBack(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	_, pc := listenServer(t, w, "udp")
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	w.Add(ToServer, DropNth(Match{Proto: ProtoUDP, DstPort: port}, 2))
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, m := range []string{"first", "second", "third"} {
		c.Write([]byte(m))
	}
	if err := Await(context.Background(), 5*time.Second, func() (bool, error) {
		return w.Counters(ToServer).Packets >= 3, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := w.Captured()
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	for _, p := range got {
		if p.Dst.Port() == port {
			payloads = append(payloads, string(p.TransportPayload()))
			if p.At.Before(w.Started()) {
				t.Errorf("captured at %v, before the wire was made (%v)", p.At, w.Started())
			}
		}
	}
	// The dropped datagram entered the wire too: the capture has it.
	if strings.Join(payloads, ",") != "first,second,third" {
		t.Errorf("captured payloads %q, want first, second, third", payloads)
	}
	// The drop event and the capture tell the same time: a spec matches them.
	drop := w.PacketEvents()[0]
	var second CapturedPacket
	for _, p := range got {
		if string(p.TransportPayload()) == "second" {
			second = p
		}
	}
	if d := w.Started().Add(drop.At).Sub(second.At); d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("the drop event's time and the dropped packet's capture differ by %v", d)
	}
}
