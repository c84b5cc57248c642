package lab

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// LinkCounters count one direction of the wire. Packets are what a link of
// the devices' MTU carries: a TCP super-packet handed over whole counts as
// the segments it holds.
type LinkCounters struct {
	Reads      int64 // reads from the TUN device; one read can hold many packets
	Packets    int64 // entered the wire
	Bytes      int64
	Dropped    int64 // by a rule
	RateDrops  int64 // by the rate limit's full queue
	Delayed    int64 // held for a delay or the rate limit
	Duplicated int64
	Reordered  int64
	Delivered  int64 // written to the far side
	WriteErrs  int64 // the far side's TUN refused the packet
	Malformed  int64 // offloaded packets the forwarder could not cut into segments
}

// holdTimeout releases a packet held for reordering when no later packets come.
const holdTimeout = 200 * time.Millisecond

// queueCap bounds the packets in flight inside one direction (delay line).
const queueCap = 1 << 16

// item is a packet on its way through one direction, as a frame (virtio-net
// header, then the packet) ready for the far side's TUN.
type item struct {
	data []byte
	due  time.Time
}

// held is a packet waiting for `remaining` later packets before it goes on.
type held struct {
	data      []byte
	index     int // its index in the direction
	remaining int
	timer     *time.Timer
}

// link forwards one direction: read from in, apply rules, delay and rate, write to out.
type link struct {
	wire    *Wire
	dir     Direction
	in, out *os.File
	mtu     int
	queue   chan item
	pending atomic.Int64 // items queued or being delivered: the fast path needs 0

	mu       sync.Mutex
	closed   bool
	rules    []*ruleState
	index    int
	delay    time.Duration
	jitter   time.Duration
	rng      *rand.Rand
	lastDue  time.Time
	rate     int // bytes per second; 0: unlimited
	queueMax int // bytes allowed to wait for the rate limit
	queued   int // bytes waiting for the rate limit
	holding  []*held
	shakes   handshakes
	c        LinkCounters
	marks    map[string]chan struct{} // barriers waiting for their marker
}

func newLink(w *Wire, dir Direction, in, out *os.File, mtu int) *link {
	return &link{wire: w, dir: dir, in: in, out: out, mtu: mtu, queue: make(chan item, queueCap)}
}

func (l *link) addRule(r Rule) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rules = append(l.rules, newRuleState(r))
}

func (l *link) clearRules() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rules = nil
}

func (l *link) setDelay(delay, jitter time.Duration, seed uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.delay, l.jitter = delay, jitter
	l.rng = rand.New(rand.NewPCG(seed, uint64(l.dir)))
}

func (l *link) setRate(bytesPerSecond, queueBytes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate, l.queueMax = bytesPerSecond, queueBytes
}

func (l *link) snapshot() LinkCounters {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c
}

// read is the direction's reader: every packet that enters the wire passes here.
func (l *link) read() {
	buf := make([]byte, maxFrame)
	for {
		n, err := l.in.Read(buf)
		if err != nil {
			l.mu.Lock()
			l.closed = true
			for _, h := range l.holding {
				h.timer.Stop()
			}
			l.holding = nil
			l.mu.Unlock()
			close(l.queue)
			return
		}
		if n < vnetHdrLen {
			continue
		}
		now := time.Now()
		h, pkt := decodeVnetHdr(buf), buf[vnetHdrLen:n]
		if l.barrierMark(pkt) {
			continue
		}
		if l.forwardWhole(now, buf[:n], h, pkt) {
			continue
		}
		frames, err := segments(h, pkt)
		if err != nil { // not something a kernel sends; count it and go on
			l.mu.Lock()
			l.c.Packets++
			l.c.Malformed++
			l.mu.Unlock()
			continue
		}
		for _, f := range frames {
			l.wire.cap.record(now, f[vnetHdrLen:])
			l.handle(now, f)
		}
	}
}

// forwardWhole counts a read frame and writes it to the far side as it came,
// super-packet and all, when nothing on this direction needs to see single
// packets: no rule, no delay or rate, nothing held or queued. It reports
// whether it did.
func (l *link) forwardWhole(now time.Time, frame []byte, h vnetHdr, pkt []byte) bool {
	l.mu.Lock()
	l.c.Reads++
	if l.closed || len(l.rules) > 0 || len(l.holding) > 0 || l.delay != 0 || l.jitter != 0 || l.rate != 0 || l.pending.Load() != 0 {
		l.mu.Unlock()
		return false
	}
	packets, bytes := segmentCount(h, pkt)
	if packets == 1 { // a SYN or a handshake's ACK is never a super-packet
		p := parsePacket(pkt)
		l.shakes.mark(&p)
	}
	l.index += packets
	l.c.Packets += int64(packets)
	l.c.Bytes += int64(bytes)
	l.write(frame, int64(packets))
	l.mu.Unlock()
	if l.wire.cap.full() {
		l.wire.cap.skip(packets)
		return true
	}
	frames, err := segments(h, pkt)
	if err != nil {
		l.wire.cap.skip(packets)
		return true
	}
	for _, f := range frames {
		l.wire.cap.record(now, f[vnetHdrLen:])
	}
	return true
}

// handle applies the rules to one packet (a frame: virtio-net header, then
// the packet) and sends it (or not) down the line.
func (l *link) handle(now time.Time, data []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.index++
	l.c.Packets++
	l.c.Bytes += int64(len(data) - vnetHdrLen)
	pkt := parsePacket(data[vnetHdrLen:])
	l.shakes.mark(&pkt)
	var acting *ruleState
	var actingIndex int
	var marks []WireEvent
	for _, r := range l.rules { // every rule counts its matches
		chosen, matchIndex := r.choose(pkt, now)
		switch {
		case chosen && r.Action == Mark:
			marks = append(marks, WireEvent{At: now.Sub(l.wire.start), Dir: l.dir, Kind: RuleActed, Index: l.index,
				MatchIndex: matchIndex, Action: Mark, Rule: r.Rule.String(), Packet: pkt.String(), Seq: pkt.Seq})
		case chosen && acting == nil:
			acting, actingIndex = r, matchIndex
		}
	}
	if acting == nil || acting.Action != Drop { // a mark records a packet that goes on
		for _, e := range marks {
			l.wire.record(e)
		}
	}
	if r := acting; r != nil {
		l.wire.record(WireEvent{At: now.Sub(l.wire.start), Dir: l.dir, Kind: RuleActed, Index: l.index,
			MatchIndex: actingIndex, Action: r.Action, Rule: r.Rule.String(), Packet: pkt.String(), Seq: pkt.Seq})
		switch r.Action {
		case Drop:
			l.c.Dropped++
			l.releaseHeld(now)
			return
		case Duplicate:
			l.c.Duplicated++
			l.send(now, data, l.index)
			l.send(now, data, l.index)
			l.releaseHeld(now)
			return
		case Reorder:
			l.c.Reordered++
			h := &held{data: data, index: l.index, remaining: max(1, r.HoldBack)}
			h.timer = time.AfterFunc(holdTimeout, func() { l.expire(h) })
			l.releaseHeld(now) // packets held earlier count this one
			l.holding = append(l.holding, h)
			return
		}
	}
	l.send(now, data, l.index)
	l.releaseHeld(now)
}

// releaseHeld counts one more packet past every held packet and sends those
// whose turn has come. Called with l.mu held.
func (l *link) releaseHeld(now time.Time) {
	kept := l.holding[:0]
	for _, h := range l.holding {
		h.remaining--
		if h.remaining > 0 {
			kept = append(kept, h)
			continue
		}
		h.timer.Stop()
		l.send(now, h.data, h.index)
	}
	l.holding = kept
}

// expire sends a held packet that waited too long for later packets.
func (l *link) expire(h *held) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.holding {
		if x == h {
			l.holding = append(l.holding[:i], l.holding[i+1:]...)
			l.send(time.Now(), h.data, h.index)
			return
		}
	}
}

// send queues a packet (the index-th of the direction) for delivery after the
// delay, keeping order, or writes it at once when nothing is delayed or
// queued. Called with l.mu held.
func (l *link) send(now time.Time, data []byte, index int) {
	if l.closed {
		return
	}
	if l.delay == 0 && l.jitter == 0 && l.rate == 0 && l.pending.Load() == 0 {
		l.write(data, 1) // no goroutine hop
		return
	}
	size := len(data) - vnetHdrLen
	if l.rate > 0 && l.queueMax > 0 && l.queued+size > l.queueMax {
		l.queueFull(now, data, index, fmt.Sprintf("the rate limit's queue (%d of %d bytes waiting) was full", l.queued, l.queueMax))
		return
	}
	due := now.Add(l.delay)
	if l.jitter > 0 {
		due = due.Add(time.Duration(l.rng.Int64N(int64(l.jitter))))
	}
	if due.Before(l.lastDue) {
		due = l.lastDue // a queue keeps order: jitter never overtakes
	}
	l.lastDue = due
	l.pending.Add(1)
	select {
	case l.queue <- item{data: data, due: due}:
		if l.rate > 0 {
			l.queued += size
		}
		l.c.Delayed++
	default: // the delay line is full: the packet is lost, as on a real link
		l.pending.Add(-1)
		l.queueFull(now, data, index, fmt.Sprintf("the delay line (%d packets) was full", queueCap))
	}
}

// queueFull drops a packet that found no room and records why. Called with l.mu held.
func (l *link) queueFull(now time.Time, data []byte, index int, why string) {
	l.c.RateDrops++
	l.wire.record(WireEvent{At: now.Sub(l.wire.start), Dir: l.dir, Kind: QueueFull, Index: index,
		Rule: why, Packet: parsePacket(data[vnetHdrLen:]).String()})
}

// deliver writes queued packets when they are due, at the rate limit if any.
func (l *link) deliver() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var budgetAt time.Time // when the rate limit lets the next byte through
	for it := range l.queue {
		l.mu.Lock()
		rate := l.rate
		l.mu.Unlock()
		at := it.due
		if rate > 0 {
			if budgetAt.After(at) {
				at = budgetAt
			}
			start := at
			if now := time.Now(); now.After(start) {
				start = now
			}
			budgetAt = start.Add(time.Duration(float64(len(it.data)-vnetHdrLen) / float64(rate) * float64(time.Second)))
		}
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			<-timer.C
		}
		l.mu.Lock()
		l.write(it.data, 1)
		if rate > 0 {
			l.queued -= len(it.data) - vnetHdrLen
		}
		l.mu.Unlock()
		l.pending.Add(-1)
	}
}

// write hands a frame carrying packets packets to the far side's kernel.
// Called with l.mu held.
func (l *link) write(frame []byte, packets int64) {
	if _, err := l.out.Write(frame); err != nil {
		l.c.WriteErrs += packets
		return
	}
	l.c.Delivered += packets
}

// close stops the reader, which ends the delivery loop.
func (l *link) close() { l.in.Close() }
