package holquic

import (
	"fmt"
	"slices"
	"time"

	"github.com/quic-go/quic-go/qlog"
)

// quicArrivals works out, from the grader's server's QUIC traces, when each
// chunk could first be read by the client: one way after the packets that
// carried its bytes, and every byte before them on its stream, were sent
// (the first time that was not lost). This is exact where a model of "sent at
// its stamp" is not: quic-go paces its packets and, after a loss, sends
// later (its congestion window shrinks), which delays chunks no loss touched.
//
// Each of the grader's chunks is one HTTP/3 DATA frame (a 1-byte type, the
// length as a QUIC varint, the chunk), after the response's HEADERS frame.
// A request's QUIC stream is the one its handler read it from; should the
// client have opened more than one connection, the stream of that number
// whose first bytes left closest to the request's chunk 0 is the one. A
// packet's bytes count from a later flight only if the wire dropped it
// (drops: when it dropped one), not whenever quic-go declared it lost
// (droppedByWire).
func quicArrivals(g *graderServer, plan fetchPlan, sent map[chunkKey]time.Time, drops []time.Time) (map[chunkKey]time.Time, error) {
	g.mu.Lock()
	traces := slices.Clone(g.traces)
	requests := slices.Clone(g.requests)
	g.mu.Unlock()
	dropped := droppedByWire(traces, drops)
	type streamData struct {
		frames []sentFrame
		first  time.Time // when its offset 0 went out
	}
	var byTrace []map[qlog.StreamID]*streamData
	for _, t := range traces {
		byID := map[qlog.StreamID]*streamData{}
		byTrace = append(byTrace, byID)
		t.mu.Lock()
		for _, p := range t.sent {
			lost := dropped[packetRef{t, p.number}]
			for _, f := range p.frames {
				sd := byID[f.StreamID]
				if sd == nil {
					sd = &streamData{}
					byID[f.StreamID] = sd
				}
				if f.Offset == 0 && sd.first.IsZero() {
					sd.first = p.at
				}
				if !lost {
					sd.frames = append(sd.frames, sentFrame{at: p.at, from: f.Offset, to: f.Offset + f.Length})
				}
			}
		}
		t.mu.Unlock()
	}
	quicStream := map[int]int64{}
	for _, r := range requests {
		quicStream[r.id] = r.quicStream
	}
	frameLen := int64(1 + varintLen(uint64(plan.size)) + plan.size)
	out := map[chunkKey]time.Time{}
	for id := range plan.streams {
		start, ok := sent[chunkKey{id, 0}]
		if !ok {
			return nil, fmt.Errorf("stream %d's chunk 0 was never sent", id)
		}
		qid, ok := quicStream[id]
		if !ok || qid < 0 {
			return nil, fmt.Errorf("stream %d's request came over no QUIC stream", id)
		}
		var best *streamData
		for _, byID := range byTrace {
			sd := byID[qlog.StreamID(qid)]
			if sd != nil && !sd.first.IsZero() && (best == nil || sd.first.Sub(start).Abs() < best.first.Sub(start).Abs()) {
				best = sd
			}
		}
		if best == nil {
			return nil, fmt.Errorf("stream %d's QUIC stream %d never carried a byte", id, qid)
		}
		var end int64
		for _, f := range best.frames {
			end = max(end, f.to)
		}
		ready := prefixTimes(best.frames)
		for i := range plan.chunks {
			last := end - int64(plan.chunks-1-i)*frameLen // the chunk's end, exclusive
			at, ok := ready(last)
			if !ok {
				return nil, fmt.Errorf("stream %d's chunk %d never went out whole", id, i)
			}
			out[chunkKey{id, i}] = at.Add(oneWay)
		}
	}
	return out, nil
}

// sentFrame is stream bytes [from, to) that went out at at.
type sentFrame struct {
	at       time.Time
	from, to int64
}

// prefixTimes returns, for an offset, when every byte of the stream below it
// had gone out (in frames that were not lost).
func prefixTimes(frames []sentFrame) func(int64) (time.Time, bool) {
	byTime := slices.Clone(frames)
	slices.SortStableFunc(byTime, func(a, b sentFrame) int { return a.at.Compare(b.at) })
	type step struct {
		at     time.Time
		prefix int64
	}
	var steps []step
	var have []sentFrame // what went out so far, merged lazily
	var prefix int64
	for _, f := range byTime {
		have = append(have, f)
		for grew := true; grew; {
			grew = false
			for _, h := range have {
				if h.from <= prefix && h.to > prefix {
					prefix, grew = h.to, true
				}
			}
		}
		if len(steps) == 0 || prefix > steps[len(steps)-1].prefix {
			steps = append(steps, step{f.at, prefix})
		}
	}
	return func(off int64) (time.Time, bool) {
		for _, s := range steps {
			if s.prefix >= off {
				return s.at, true
			}
		}
		return time.Time{}, false
	}
}

// varintLen is the length of n as a QUIC variable-length integer (RFC 9000 §16).
func varintLen(n uint64) int {
	switch {
	case n < 1<<6:
		return 1
	case n < 1<<14:
		return 2
	case n < 1<<30:
		return 4
	}
	return 8
}
