package holquic

import (
	"fmt"
	"slices"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// oneLoss is what the wire and the grader's server know about the one packet
// a spec dropped: whose chunk it carried, when it was dropped, and when its
// bytes crossed the wire again. Every chunk ordered behind it (on its TCP
// connection, or on its QUIC stream) could not be read before then.
type oneLoss struct {
	chunk   chunkKey
	dropped time.Time // the drop, at the wire
	resent  time.Time // the retransmission, entering the wire
	behind  func(chunkKey) bool
	// lostSent is when the grader's server sent the lost chunk.
	lostSent time.Time
}

// tcpLoss finds, in the wire's events after the first since, the dropped
// segment and the marked segment after it with the same sequence number: its
// retransmission.
func tcpLoss(w *lab.Wire, since int, chunk chunkKey, behind func(chunkKey) bool) (*oneLoss, error) {
	var drop *lab.WireEvent
	for _, e := range w.PacketEvents()[since:] {
		switch {
		case e.Action == lab.Drop && drop == nil:
			drop = &e
		case e.Action == lab.Mark && drop != nil && e.Seq == drop.Seq && e.At > drop.At:
			return &oneLoss{chunk: chunk, dropped: w.Started().Add(drop.At), resent: w.Started().Add(e.At), behind: behind}, nil
		}
	}
	if drop == nil {
		return nil, fmt.Errorf("the wire dropped no segment")
	}
	return nil, fmt.Errorf("the wire saw no retransmission of the segment it dropped (seq %d)", drop.Seq)
}

// quicLoss finds, in the grader's server's QUIC traces, the lost packet that
// carried one stream's chunk, and when its bytes were sent again.
func quicLoss(g *graderServer, w *lab.Wire, since int, chunk chunkKey) (*oneLoss, error) {
	var drop *lab.WireEvent
	for _, e := range w.PacketEvents()[since:] {
		if e.Action == lab.Drop {
			drop = &e
			break
		}
	}
	if drop == nil {
		return nil, fmt.Errorf("the wire dropped no datagram")
	}
	dropped := w.Started().Add(drop.At)
	g.mu.Lock()
	traces := slices.Clone(g.traces)
	g.mu.Unlock()
	var best *resend
	for _, t := range traces {
		for _, r := range t.lostStreamData() {
			// The lost packet was sent a moment before the wire dropped it.
			if d := dropped.Sub(r.sent); d >= 0 && d < 5*time.Millisecond && r.frame.Length >= chunkSize/2 {
				if best == nil || r.sent.After(best.sent) {
					best = &r
				}
			}
		}
	}
	switch {
	case best == nil:
		return nil, fmt.Errorf("quic-go declared no packet lost that carried the chunk the wire dropped")
	case best.again.IsZero():
		return nil, fmt.Errorf("the lost chunk's bytes were never sent again")
	}
	return &oneLoss{chunk: chunk, dropped: dropped, resent: best.again,
		behind: func(c chunkKey) bool { return c.stream == chunk.stream }}, nil
}

// expectedArrival is when chunk c, sent at sent, could first be read by the
// client: one way later, or, when it was ordered behind the lost packet and
// sent from the lost chunk on until its bytes went again, one way after they
// went again.
func (l *oneLoss) expectedArrival(c chunkKey, sent time.Time) time.Time {
	if l != nil && l.behind(c) && !sent.Before(l.lostSent) && sent.Before(l.resent) {
		return l.resent.Add(oneWay)
	}
	return sent.Add(oneWay)
}

// arrivals says when each chunk could first be read by the client.
type arrivals func(chunkKey) time.Time

// tcpArrivals: one way after the chunk was sent, or after the lost bytes it
// waited behind were sent again (loss nil: a clean wire). Linux sends a
// paced chunk the moment it is written, so its stamp is when it left.
func tcpArrivals(sent map[chunkKey]time.Time, l *oneLoss) arrivals {
	return func(c chunkKey) time.Time { return l.expectedArrival(c, sent[c]) }
}

// truthFor is when the chunks of the grader's server could first be read,
// for one client run over proto (loss nil: a clean wire).
func truthFor(g *graderServer, proto string, plan fetchPlan, sent map[chunkKey]time.Time, l *oneLoss) arrivals {
	if proto != h3 {
		return tcpArrivals(sent, l)
	}
	at, err := quicArrivals(g, plan, sent)
	if err != nil {
		suite.GraderFailf("working out when each chunk reached the client over HTTP/3: %v", err)
	}
	return func(c chunkKey) time.Time { return at[c] }
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
	since  int // the wire's packet events before this run
}

// armLoss resets the grader's server and arms the drop of target's packet.
func armLoss(sc *scene, g *graderServer, proto string, target chunkKey) *armedLoss {
	a := &armedLoss{sc: sc, g: g, proto: proto, target: target, since: len(sc.w.PacketEvents())}
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
func (a *armedLoss) find(reqs []request, sent map[chunkKey]time.Time) *oneLoss {
	conn := map[int]int64{}
	for _, q := range reqs {
		conn[q.id] = q.conn
	}
	behind := func(c chunkKey) bool { return conn[c.stream] == conn[a.target.stream] } // TCP: its connection
	var l *oneLoss
	var err error
	if a.proto == h3 {
		l, err = quicLoss(a.g, a.sc.w, a.since, a.target)
	} else {
		l, err = tcpLoss(a.sc.w, a.since, a.target, behind)
	}
	if err != nil {
		suite.GraderFailf("the lost packet of stream %d's chunk %d over %s: %v", a.target.stream, a.target.index, protoNames[a.proto], err)
	}
	l.lostSent = sent[a.target]
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
