package lab

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The main goroutine stays on the main thread, so that no goroutine that
// switches namespaces (Netns) ever lands on it (see LAB-NOTES.md).
func init() { runtime.LockOSThread() }

// newTestWire builds a wire for a test and tears it down after it.
func newTestWire(t *testing.T, opt WireOptions) *Wire {
	t.Helper()
	needNetns(t)
	w, err := NewWire(opt)
	if errors.Is(err, ErrNoTUN) {
		t.Skipf("SKIP: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// listenServer opens a listener on the server side of the wire.
func listenServer(t *testing.T, w *Wire, network string) (ln net.Listener, pc net.PacketConn) {
	t.Helper()
	addr := netip.AddrPortFrom(ServerAddr, 0).String()
	err := w.Server.Do(func() (err error) {
		if network == "udp" {
			pc, err = net.ListenPacket("udp", addr)
			return err
		}
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ln != nil {
		t.Cleanup(func() { ln.Close() })
	}
	if pc != nil {
		t.Cleanup(func() { pc.Close() })
	}
	return ln, pc
}

// TestWireDropsExactlyOneDataSegment: a 1 MiB transfer from the server side
// with one seeded data segment dropped arrives intact, and the server side's
// kernel retransmitted exactly one segment.
func TestWireDropsExactlyOneDataSegment(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	ln, _ := listenServer(t, w, "tcp")
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	payload := make([]byte, 1<<20)
	crand.Read(payload)
	n := 5 + rand.N(40)
	w.Add(ToClient, DropNth(Match{Proto: ProtoTCP, SrcPort: port, MinPayload: 1}, n))

	before, err := w.Server.Counters()
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			sent <- err
			return
		}
		_, err = c.Write(payload)
		c.Close()
		sent <- err
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(payload) {
		t.Fatalf("received %d bytes that differ from the %d sent", len(got), len(payload))
	}
	after, _ := w.Server.Counters()
	if d := after.Since(before)["Tcp.RetransSegs"]; d != 1 {
		t.Errorf("server side RetransSegs %+d, want +1 (dropped data segment #%d); events: %v", d, n, w.Events())
	}
	if ev := w.PacketEvents(); len(ev) != 1 || ev[0].Action != Drop || ev[0].MatchIndex != n {
		t.Errorf("events %v, want one drop of match #%d", ev, n)
	}
	if c := w.Counters(ToClient); c.Dropped != 1 || c.Delivered != c.Packets-1 {
		t.Errorf("counters %+v, want 1 dropped and the rest delivered", c)
	}
}

// TestWireDelaySetsTheRTT: 20 ms one way, each way, is 40 ms of smoothed RTT
// as the kernel measures it (TCP_INFO).
func TestWireDelaySetsTheRTT(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	w.SetDelay(ToServer, 20*time.Millisecond, 0, 1)
	w.SetDelay(ToClient, 20*time.Millisecond, 0, 1)
	ln, _ := listenServer(t, w, "tcp")
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	for i := 0; i < 20; i++ { // round trips for the smoothed RTT to settle
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	raw.Control(func(fd uintptr) { info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
	if err != nil {
		t.Fatal(err)
	}
	srtt := time.Duration(info.Rtt) * time.Microsecond
	if srtt < 37*time.Millisecond || srtt > 43*time.Millisecond {
		t.Errorf("smoothed RTT %v, want 40ms ± 3ms", srtt)
	}
	t.Logf("smoothed RTT %v (rttvar %v)", srtt, time.Duration(info.Rttvar)*time.Microsecond)
}

// udpExchange sends count numbered datagrams from the client side to a
// receiver on the server side, in windows so that the receiver's socket
// buffer never overflows, and returns the numbers received, in order.
// arrive(n) says how many datagrams must have arrived once the first n are sent.
func udpExchange(t *testing.T, w *Wire, count int, setup func(port uint16), arrive func(n int) int) []uint32 {
	t.Helper()
	_, pc := listenServer(t, w, "udp")
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	setup(port)
	got := make(chan uint32, count*2)
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				close(got)
				return
			}
			if n >= 4 {
				got <- binary.BigEndian.Uint32(buf)
			}
		}
	}()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var seq []uint32
	msg := make([]byte, 32)
	const window = 100
	for start := 0; start < count; start += window {
		end := min(start+window, count)
		for i := start; i < end; i++ {
			binary.BigEndian.PutUint32(msg, uint32(i))
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
		}
		// Observed, not slept for: the wire has read the whole window (each
		// packet is passed, dropped or held as soon as it is read).
		sentSoFar := int64(end)
		if err := Await(context.Background(), 5*time.Second, func() (bool, error) {
			return w.Counters(ToServer).Packets >= sentSoFar, nil
		}); err != nil {
			t.Fatalf("the wire did not read datagrams %d..%d: %+v", start, end-1, w.Counters(ToServer))
		}
		for len(seq) < arrive(end) {
			select {
			case n := <-got:
				seq = append(seq, n)
			case <-time.After(5 * time.Second):
				sc, _ := w.Server.Counters()
				t.Fatalf("received %d datagrams, want %d after sending %d (wire %+v); server side: %s",
					len(seq), arrive(end), end, w.Counters(ToServer), sc.Format("Udp.InDatagrams", "Udp.RcvbufErrors", "Ip.InDelivers"))
			}
		}
	}
	return seq
}

// TestWireDropsExactlyTheSeededIndexes: 10,000 numbered datagrams with a seeded
// list of indexes dropped: the receiver misses exactly those.
func TestWireDropsExactlyTheSeededIndexes(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	r := rand.New(rand.NewPCG(2026, 11))
	drop := map[int]bool{}
	for len(drop) < 25 {
		drop[1+r.IntN(10000)] = true
	}
	indexes := slices.Sorted(maps.Keys(drop))
	before, err := w.Server.Counters()
	if err != nil {
		t.Fatal(err)
	}
	seq := udpExchange(t, w, 10000, func(port uint16) {
		w.Add(ToServer, DropIndexes(Match{Proto: ProtoUDP, DstPort: port}, indexes...))
	}, func(n int) int {
		kept := 0
		for i := 1; i <= n; i++ {
			if !drop[i] {
				kept++
			}
		}
		return kept
	})
	var want []uint32
	for i := 0; i < 10000; i++ {
		if !drop[i+1] {
			want = append(want, uint32(i))
		}
	}
	if !slices.Equal(seq, want) {
		t.Errorf("received %d datagrams, want %d: the receiver must miss exactly datagrams %v", len(seq), len(want), indexes)
	}
	after, _ := w.Server.Counters()
	if d := after.Since(before)["Udp.RcvbufErrors"]; d != 0 {
		t.Errorf("the receiver's buffer overflowed (RcvbufErrors %+d): the test itself lost datagrams", d)
	}
}

// TestWireReordersAndDuplicatesExactly: rules produce exactly the sequence they describe.
func TestWireReordersAndDuplicatesExactly(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	seq := udpExchange(t, w, 20, func(port uint16) {
		m := Match{Proto: ProtoUDP, DstPort: port}
		w.Add(ToServer, ReorderNth(m, 5, 2)) // datagram 4 (the 5th) after the next two
		w.Add(ToServer, DuplicateNth(m, 12)) // datagram 11 twice
	}, func(n int) int { return n + 1 })
	want := []uint32{0, 1, 2, 3, 5, 6, 4, 7, 8, 9, 10, 11, 11, 12, 13, 14, 15, 16, 17, 18, 19}
	if !slices.Equal(seq, want) {
		t.Errorf("received %v\nwant     %v", seq, want)
	}
}

// TestWireCaptureIsReadByTcpdump: the pcap holds both directions, including a
// dropped packet, and tcpdump reads it. The rule drops the client's first
// packet after the handshake (not the SYN, not the ACK completing it): the
// request's one data segment.
func TestWireCaptureIsReadByTcpdump(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	ln, _ := listenServer(t, w, "tcp")
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	w.Add(ToServer, DropNth(Match{Proto: ProtoTCP, DstPort: port, AfterHandshake: true}, 1))
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(io.Discard, c)
		c.Close()
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello across the wire\n"))
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c) // until the server closes: the retransmission got through
	c.Close()
	text := tcpdumpCapture(t, w, "-nn")
	t.Logf("tcpdump -nn (the first data segment was dropped; it appears twice):\n%s", text)
	payloadLines := strings.Count(text, "length 22")
	if payloadLines != 2 {
		t.Errorf("want the 22-byte segment twice in the capture (dropped, then retransmitted), tcpdump shows it %d times:\n%s", payloadLines, text)
	}
	if ev := w.PacketEvents(); len(ev) != 1 || !strings.Contains(ev[0].Packet, "len 22") {
		t.Errorf("events %v, want one drop: the 22-byte request", ev)
	}
	if !strings.Contains(text, fmt.Sprintf("198.19.0.1.%d > 198.18.0.1", port)) {
		t.Errorf("the capture lacks the server→client direction:\n%s", text)
	}
}

// TestWireLeavesNothingBehind: after Close (also after a panic), the TUN
// devices, the forwarder's goroutines and the server side's thread are gone.
func TestWireLeavesNothingBehind(t *testing.T) {
	needNetns(t)
	base := runtime.NumGoroutine()
	func() {
		defer func() { recover() }()
		w, err := NewWire(WireOptions{})
		if errors.Is(err, ErrNoTUN) {
			t.Skipf("SKIP: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		w.SetDelay(ToServer, time.Millisecond, time.Millisecond, 3)
		panic("a spec panicked while the wire was up")
	}()
	if _, err := netlink.LinkByName("wlc0"); err == nil {
		t.Error("the client-side TUN device wlc0 is still there")
	}
	// The server side's namespace lived on one thread of this process; once
	// that thread is gone, no thread is in any namespace but ours.
	if err := Await(context.Background(), 2*time.Second, func() (bool, error) { return len(threadNamespaces(t)) == 1, nil }); err != nil {
		t.Errorf("threads of this process are in %d network namespaces after Close: %v", len(threadNamespaces(t)), threadNamespaces(t))
	}
	if err := Await(context.Background(), 2*time.Second, func() (bool, error) { return runtime.NumGoroutine() <= base, nil }); err != nil {
		t.Errorf("%d goroutines before the wire, %d after Close", base, runtime.NumGoroutine())
	}
}

// threadNamespaces returns the network namespaces the process's threads are in.
func threadNamespaces(t *testing.T) map[string]bool {
	tasks, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, task := range tasks {
		if ns, err := os.Readlink(task); err == nil {
			seen[ns] = true
		}
	}
	return seen
}

// TestWireForwardsSuperPacketsWhole: without impairments the kernels hand TCP
// super-packets across whole (far fewer reads than packets), the data arrives
// intact, and the capture still shows single segments of at most one MSS with
// correct checksums, as tcpdump verifies them.
func TestWireForwardsSuperPacketsWhole(t *testing.T) {
	w := newTestWire(t, WireOptions{CaptureLimit: 1 << 20})
	ln, _ := listenServer(t, w, "tcp")
	payload := make([]byte, 8<<20)
	crand.Read(payload)
	received := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- nil
			return
		}
		got, _ := io.ReadAll(c)
		c.Close()
		received <- got
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := <-received; sha256.Sum256(got) != sha256.Sum256(payload) {
		t.Fatalf("received %d bytes that differ from the %d sent", len(got), len(payload))
	}
	cs := w.Counters(ToServer)
	t.Logf("client→server: %d reads carried %d packets", cs.Reads, cs.Packets)
	if cs.Packets < int64(len(payload)/1448) || cs.Reads*4 > cs.Packets {
		t.Errorf("client→server counters %+v: want at least %d packets, carried by a quarter as many reads or fewer", cs, len(payload)/1448)
	}
	if cs.Delivered != cs.Packets {
		t.Errorf("client→server counters %+v: every packet should be delivered", cs)
	}

	text := tcpdumpCapture(t, w, "-nn", "-vv")
	if n := strings.Count(text, "incorrect"); n > 0 {
		t.Errorf("tcpdump finds %d incorrect checksums in the capture", n)
	}
	correct, longest := strings.Count(text, "(correct)"), 0
	for _, line := range strings.Split(text, "\n") {
		var n int
		if i := strings.LastIndex(line, ", length "); i >= 0 && strings.Contains(line, "Flags [") {
			fmt.Sscan(line[i+len(", length "):], &n)
		}
		longest = max(longest, n)
	}
	if correct < 500 || longest > 1448 || longest == 0 {
		t.Errorf("capture: %d checksums verified, longest TCP payload %d; want hundreds of segments of at most 1448 bytes", correct, longest)
	}
}

// tcpdumpCapture writes the wire's capture to a file and returns what
// tcpdump -r prints of it with these flags. It skips the test when tcpdump
// is not installed.
func tcpdumpCapture(t *testing.T, w *Wire, flags ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wire.pcap")
	if _, err := w.WritePcap(path); err != nil {
		t.Fatal(err)
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump is not installed; the pcap was written to", path)
	}
	out, err := exec.Command(tcpdump, append(flags, "-r", path)...).CombinedOutput()
	if err != nil && strings.Contains(string(out), "Couldn't change to") {
		// Running as uid 0 of an unprivileged user namespace, tcpdump tries to
		// drop to its own user, which is not mapped there, and gives up.
		t.Skipf("tcpdump cannot drop privileges inside this user namespace; the pcap was written to %s: %s", path, out)
	}
	if err != nil {
		t.Fatalf("tcpdump -r %s: %v\n%s", path, err, out)
	}
	return string(out)
}

// TestProgramsOnTheServerSideAreObservedThere: a program started on the
// wire's server side is awaited in that namespace (its LISTEN or bound UDP
// socket is not in the sandbox's table), is reachable across the wire, and a
// program that listens elsewhere is told so.
func TestProgramsOnTheServerSideAreObservedThere(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	port := freePort(t)
	startThere := func(args ...string) *Process {
		p, err := w.Server.Start(prog(t, "listener"), args...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Stop(Scaled(2 * time.Second)) })
		return p
	}
	addr := netip.AddrPortFrom(ServerAddr, port).String()
	ctx := context.Background()

	tcp := startThere(addr)
	if err := tcp.AwaitListening(ctx, port, Scaled(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := Listener(port); ok {
		t.Errorf("port %d listens in the sandbox's own namespace too; the program was started on the server side", port)
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("the server side's listener is not reachable across the wire: %v", err)
	}
	c.Close()

	udp := startThere(addr, "udp")
	if err := udp.AwaitBound(ctx, port, Scaled(10*time.Second)); err != nil {
		t.Fatal(err)
	}

	var nl *NotListeningError
	err = tcp.AwaitListening(ctx, port+1, 300*time.Millisecond)
	if !errors.As(err, &nl) || !nl.StillRunning || !strings.Contains(nl.Reason, "something listens on "+addr+" instead") {
		t.Errorf("waiting on the wrong port: %v", err)
	}
}

// TestWireMarksTheRetransmission: a mark rule records the segments that pass,
// so the retransmission of a dropped segment is found by its sequence number,
// after the drop; the mark, installed first, does not keep the drop from acting.
func TestWireMarksTheRetransmission(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	ln, _ := listenServer(t, w, "tcp")
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	data := Match{Proto: ProtoTCP, SrcPort: port, MinPayload: 1}
	w.Add(ToClient, MarkAll(data))
	n := 3 + rand.N(10)
	w.Add(ToClient, DropNth(data, n))
	const chunks, size = 20, 1000
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for range chunks { // paced: one segment per write
			c.Write(make([]byte, size))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if got, err := io.ReadAll(c); err != nil || len(got) != chunks*size {
		t.Fatalf("read %d bytes (%v), want %d", len(got), err, chunks*size)
	}
	var drops, retransmissions []WireEvent
	marked := 0
	for _, e := range w.PacketEvents() {
		switch e.Action {
		case Drop:
			drops = append(drops, e)
		case Mark:
			marked++
			if len(drops) == 1 && e.Seq == drops[0].Seq {
				retransmissions = append(retransmissions, e)
			}
		}
	}
	if len(drops) != 1 || drops[0].MatchIndex != n {
		t.Fatalf("drops %v, want one drop of match #%d", drops, n)
	}
	if len(retransmissions) != 1 || retransmissions[0].At <= drops[0].At {
		t.Errorf("segments marked with the dropped sequence number %d after the drop: %v, want exactly one (its retransmission)", drops[0].Seq, retransmissions)
	}
	if sent := int(w.Counters(ToClient).Packets); marked == 0 || marked >= sent {
		t.Errorf("%d of %d packets marked: want every data segment but the dropped one, and no bare ACK", marked, sent)
	}
}
