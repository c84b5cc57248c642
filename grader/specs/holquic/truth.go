package holquic

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// oneLoss is what the wire and the grader's server know about the one packet
// a spec dropped: whose chunk it carried, when it was dropped, and when its
// bytes crossed the wire again (the evidence tells the story with it).
type oneLoss struct {
	chunk   chunkKey
	dropped time.Time // the drop, at the wire
	resent  time.Time // the retransmission, entering the wire
}

// tcpLoss finds, in the wire's events from since on, the dropped
// segment and the marked segment after it with the same sequence number: its
// retransmission.
func tcpLoss(w *lab.Wire, since time.Time, chunk chunkKey) (*oneLoss, error) {
	var drop *lab.WireEvent
	for _, e := range w.PacketEvents() {
		if w.Started().Add(e.At).Before(since) {
			continue
		}
		switch {
		case e.Action == lab.Drop && drop == nil:
			drop = &e
		case e.Action == lab.Mark && drop != nil && e.Seq == drop.Seq && e.At > drop.At:
			return &oneLoss{chunk: chunk, dropped: w.Started().Add(drop.At), resent: w.Started().Add(e.At)}, nil
		}
	}
	if drop == nil {
		return nil, fmt.Errorf("the wire dropped no segment")
	}
	return nil, fmt.Errorf("the wire saw no retransmission of the segment it dropped (seq %d)", drop.Seq)
}

// quicLoss finds the packet the wire dropped among those quic-go declared
// lost (drops: when the wire dropped a packet during the run), which chunk's
// bytes it carried, and when they were sent again.
func quicLoss(g *graderServer, drops []time.Time, chunk chunkKey) (*oneLoss, error) {
	if len(drops) == 0 {
		return nil, fmt.Errorf("the wire dropped no datagram")
	}
	g.mu.Lock()
	traces := slices.Clone(g.traces)
	g.mu.Unlock()
	dropped := droppedByWire(traces, drops[:1])
	var best *resend
	for _, t := range traces {
		for _, r := range t.lostStreamData(dropped) {
			if r.frame.Length >= chunkSize/2 && (best == nil || r.frame.Length > best.frame.Length) {
				best = &r
			}
		}
	}
	switch {
	case best == nil:
		return nil, fmt.Errorf("quic-go declared no packet lost that carried the chunk the wire dropped")
	case best.again.IsZero():
		return nil, fmt.Errorf("the lost chunk's bytes were never sent again")
	}
	return &oneLoss{chunk: chunk, dropped: drops[0], resent: best.again}, nil
}

// dropTimes is when the wire dropped a packet, since since.
func dropTimes(w *lab.Wire, since time.Time) []time.Time {
	var out []time.Time
	for _, e := range w.PacketEvents() {
		if at := w.Started().Add(e.At); e.Action == lab.Drop && !at.Before(since) {
			out = append(out, at)
		}
	}
	return out
}

// arrivals says when each chunk could first be read by the client.
type arrivals func(chunkKey) time.Time

// truthFor is when the chunks of the grader's server could first be read,
// for one client run over proto that started at since: from the wire's
// capture over TCP, from the server's QUIC traces over HTTP/3.
func truthFor(sc *scene, g *graderServer, plan fetchPlan, sent map[chunkKey]time.Time, since time.Time) arrivals {
	var at map[chunkKey]time.Time
	var err error
	if plan.proto == h3 {
		at, err = quicArrivals(g, plan, sent, dropTimes(sc.w, since))
	} else {
		at, err = tcpArrivals(sc.w, sc.port, since, plan.size)
	}
	if err != nil {
		suite.GraderFailf("working out when each chunk reached the client over %s: %v", protoNames[plan.proto], err)
	}
	for c := range sent {
		if _, ok := at[c]; !ok && c.index < plan.chunks && c.stream < plan.streams {
			suite.GraderFailf("working out when each chunk reached the client over %s: stream %d's chunk %d was sent but never seen crossing", protoNames[plan.proto], c.stream, c.index)
		}
	}
	return func(c chunkKey) time.Time { return at[c] }
}

// tcpArrivals works out when each chunk could first be read by the client
// over TCP, from what the wire took: the server's data segments of every
// connection opened since since, reassembled in sequence order, a dropped
// segment's bytes counting only when they crossed again. A chunk is readable
// one way after every byte of its connection up to its last one had crossed.
// This is exact where "it left at its stamp" is not: after a loss, TCP's
// recovery (proportional rate reduction) holds new segments back for a while.
// The chunks are found by their stamps: HTTP/1.1 and HTTP/2 run in cleartext.
func tcpArrivals(w *lab.Wire, port uint16, since time.Time, size int) (map[chunkKey]time.Time, error) {
	packets, err := w.Captured()
	if err != nil {
		return nil, err
	}
	dropped := map[uint32][]time.Time{}
	for _, e := range w.PacketEvents() {
		if e.Action == lab.Drop {
			dropped[e.Seq] = append(dropped[e.Seq], w.Started().Add(e.At))
		}
	}
	isDropped := func(p lab.CapturedPacket) bool {
		for _, at := range dropped[p.Seq] {
			if d := p.At.Sub(at); d > -time.Microsecond && d < time.Microsecond {
				return true
			}
		}
		return false
	}
	type conn struct {
		base   uint32 // the sequence number of its first byte
		synced bool
		segs   []lab.CapturedPacket
	}
	conns := map[netip.AddrPort]*conn{}
	var order []netip.AddrPort
	for _, p := range packets {
		if p.Proto != lab.ProtoTCP || p.Src.Port() != port || p.At.Before(since) {
			continue
		}
		c := conns[p.Dst]
		if c == nil {
			c = &conn{}
			conns[p.Dst] = c
			order = append(order, p.Dst)
		}
		if p.Flags&lab.SYN != 0 {
			c.base, c.synced = p.Seq+1, true
			continue
		}
		if p.Payload > 0 {
			c.segs = append(c.segs, p)
		}
	}
	out := map[chunkKey]time.Time{}
	for _, addr := range order {
		c := conns[addr]
		if len(c.segs) == 0 {
			continue
		}
		if !c.synced { // its SYN-ACK came before since: count from its first segment
			c.base = c.segs[0].Seq
		}
		var frames []sentFrame
		stream := []byte{}
		for _, p := range c.segs {
			from := int64(p.Seq - c.base)
			to := from + int64(p.Payload)
			if to > int64(len(stream)) {
				stream = append(stream, make([]byte, to-int64(len(stream)))...)
			}
			copy(stream[from:to], p.TransportPayload())
			if !isDropped(p) {
				frames = append(frames, sentFrame{at: p.At, from: from, to: to})
			}
		}
		ready := prefixTimes(frames)
		for _, ch := range chunksIn(stream, size) {
			if at, ok := ready(ch.end); ok {
				out[ch.key] = at.Add(oneWay)
			}
		}
	}
	return out, nil
}

// chunkAt is a chunk found in a reassembled stream: which, and where it ends.
type chunkAt struct {
	key chunkKey
	end int64 // exclusive
}

// chunksIn finds the chunks of size bytes in a cleartext HTTP/1.1 or HTTP/2
// byte stream by their stamps (the framing around them is left alone).
func chunksIn(stream []byte, size int) []chunkAt {
	var out []chunkAt
	for off := 0; ; {
		i := bytes.Index(stream[off:], []byte("stream="))
		if i < 0 {
			return out
		}
		start := off + i
		off = start + 1
		if start+size > len(stream) {
			continue
		}
		s, err := parseChunk(stream[start : start+size])
		if err != nil {
			continue
		}
		out = append(out, chunkAt{key: chunkKey{s.stream, s.index}, end: int64(start + size)})
		off = start + size
	}
}

// expectedStalls works out each stream's longest stall from when its chunks
// could be read.
func expectedStalls(at arrivals, streams, chunks int, interval time.Duration) []time.Duration {
	out := make([]time.Duration, streams)
	for s := range streams {
		var prev time.Time
		for i := range chunks {
			at := at(chunkKey{s, i})
			if i > 0 {
				out[s] = max(out[s], at.Sub(prev)-interval)
			}
			prev = at
		}
	}
	return out
}

// armedLoss is the grader's server with a drop armed: the packet that carries
// one chosen chunk will be lost, and (over TCP) every data segment after it is
// marked, so that its retransmission can be found.
type armedLoss struct {
	sc     *scene
	g      *graderServer
	proto  string
	target chunkKey
	armed  time.Time // when the drop was armed: the run's wire events come after
}

// armLoss resets the grader's server and arms the drop of target's packet.
func armLoss(sc *scene, g *graderServer, proto string, target chunkKey) *armedLoss {
	a := &armedLoss{sc: sc, g: g, proto: proto, target: target, armed: time.Now()}
	m := sc.dataTo(proto)
	if proto != h3 {
		sc.w.Add(lab.ToClient, lab.MarkAll(m))
	}
	g.reset(func(id, index int) {
		if (chunkKey{id, index}) == target {
			sc.w.Add(lab.ToClient, lab.DropNth(m, 1))
		}
	})
	return a
}

// find works out the loss from what the wire and the server saw.
func (a *armedLoss) find() *oneLoss {
	var l *oneLoss
	var err error
	if a.proto == h3 {
		l, err = quicLoss(a.g, dropTimes(a.sc.w, a.armed), a.target)
	} else {
		l, err = tcpLoss(a.sc.w, a.armed, a.target)
	}
	if err != nil {
		suite.GraderFailf("the lost packet of stream %d's chunk %d over %s: %v", a.target.stream, a.target.index, protoNames[a.proto], err)
	}
	return l
}

// clear takes the drop and the marks off the wire, and the hook off the server.
func (a *armedLoss) clear() {
	a.sc.w.ClearRules(lab.ToClient)
	a.g.reset(nil)
}

// describe tells the loss for the evidence.
func (l *oneLoss) describe(sent map[chunkKey]time.Time) string {
	return fmt.Sprintf("the wire dropped the packet carrying stream %d's chunk %d (sent at its stamp %d); its bytes crossed the wire again %s later, and reached the client %s after that",
		l.chunk.stream, l.chunk.index, sent[l.chunk].UnixMicro(), ms(l.resent.Sub(l.dropped)), ms(oneWay))
}
