package holquic

import (
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go/qlog"
)

func TestChunkRoundTrip(t *testing.T) {
	sent := time.UnixMicro(1796300812345678)
	b := makeChunk(stamp{stream: 2, index: 17, sent: sent}, 100)
	if len(b) != 100 || b[99] != '\n' || !strings.HasPrefix(string(b), "stream=2 chunk=17 sent=1796300812345678..") {
		t.Fatalf("chunk %q", b)
	}
	s, err := parseChunk(b)
	if err != nil || s.stream != 2 || s.index != 17 || !s.sent.Equal(sent) {
		t.Fatalf("parsed %+v, %v", s, err)
	}
	for bad, want := range map[string]string{
		"stream=2 chunk=17 sent=1796300812345678......":   "newline",
		"stream=2 chunk=17 sent=17963008123456.x.....\n":  "only dots",
		"stream=2 index=17 sent=1796300812345678.....\n":  "must open with",
		"stream=2 chunk=17 sent=soon..................\n": "microseconds",
		"stream=two chunk=17 sent=1796300812345678....\n": "stream id",
		"stream=2 chunk=seven sent=1796300812345678...\n": "chunk index",
	} {
		if _, err := parseChunk([]byte(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseChunk(%q) = %v, want an error saying %q", bad, err, want)
		}
	}
}

// TestPrefixTimes: a chunk is readable once every byte before its end went
// out; a frame sent again later fills the hole.
func TestPrefixTimes(t *testing.T) {
	t0 := time.Unix(0, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	ready := prefixTimes([]sentFrame{
		{at: ms(0), from: 0, to: 100},
		// [100, 200) was lost at 5 ms and is sent again at 50 ms
		{at: ms(10), from: 200, to: 300},
		{at: ms(50), from: 100, to: 200},
		{at: ms(60), from: 300, to: 400},
	})
	for off, want := range map[int64]int{50: 0, 100: 0, 150: 50, 300: 50, 400: 60} {
		if at, ok := ready(off); !ok || !at.Equal(ms(want)) {
			t.Errorf("ready(%d) = %v, %v; want %d ms", off, at.Sub(t0), ok, want)
		}
	}
	if _, ok := ready(401); ok {
		t.Error("ready(401): bytes never sent are never ready")
	}
}

// TestChunksIn: chunks are found by their stamps in a cleartext stream,
// whatever framing surrounds them (HTTP/1.1's chunked encoding here), and
// a stamp-like text that is no chunk is passed over.
func TestChunksIn(t *testing.T) {
	var stream []byte
	var ends []int64
	stream = append(stream, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nstream=junk\r\n"...)
	for i := range 3 {
		c := makeChunk(stamp{stream: 1, index: i, sent: time.UnixMicro(int64(1e15 + i))}, 80)
		stream = append(stream, "50\r\n"...)
		stream = append(stream, c...)
		ends = append(ends, int64(len(stream)))
		stream = append(stream, "\r\n"...)
	}
	got := chunksIn(stream, 80)
	if len(got) != 3 {
		t.Fatalf("found %v, want 3 chunks", got)
	}
	for i, c := range got {
		if c.key != (chunkKey{1, i}) || c.end != ends[i] {
			t.Errorf("chunk %d: %+v, want stream 1 chunk %d ending at %d", i, c, i, ends[i])
		}
	}
}

// TestExpectedStalls: a stream's longest stall is its longest gap between
// arrivals, less the interval.
func TestExpectedStalls(t *testing.T) {
	t0 := time.Unix(0, 0)
	arrive := func(c chunkKey) time.Time {
		ms := 20*c.index + 5*c.stream
		if c.stream == 0 && c.index >= 2 && c.index < 4 {
			ms = 95 // chunks 2 and 3 waited for a retransmission
		}
		return t0.Add(time.Duration(ms) * time.Millisecond)
	}
	stalls := expectedStalls(arrive, 2, 5, 20*time.Millisecond)
	if stalls[0] != 55*time.Millisecond || stalls[1] != 0 {
		t.Errorf("stalls %v, want [55ms 0s] (stream 0: from 20 to 95, less the interval)", stalls)
	}
}

func TestVarintLen(t *testing.T) {
	for n, want := range map[uint64]int{63: 1, 64: 2, 1024: 2, 16383: 2, 16384: 4} {
		if got := varintLen(n); got != want {
			t.Errorf("varintLen(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestTimelineMarksEachChunkByHowLateItArrived(t *testing.T) {
	got := timeline([]float64{20.4, 21.0, 64.9, 40.5, 29.9, 20.1})
	if want := "..#+.."; got != want {
		t.Errorf("timeline = %q, want %q (quickest 20.1 ms: +44.8 stalled, +20.4 late, +9.8 on time)", got, want)
	}
	if got := timeline(nil); got != "(no chunks)" {
		t.Errorf("timeline(nil) = %q", got)
	}
}

// TestDroppedByWire: of the packets quic-go declared lost, only the one sent
// last before the wire's drop counts as dropped; one declared lost only
// because its acknowledgement came late reached the client.
func TestDroppedByWire(t *testing.T) {
	t0 := time.Unix(0, 0)
	ms := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Millisecond))) }
	tr := &quicTrace{
		sent: []quicPacket{{at: ms(0), number: 1}, {at: ms(10), number: 2}, {at: ms(10.2), number: 3}, {at: ms(30), number: 4}},
		lost: map[qlog.PacketNumber]time.Time{1: ms(40), 2: ms(70), 4: ms(80)},
	}
	other := &quicTrace{sent: []quicPacket{{at: ms(10.1), number: 9}}}
	got := droppedByWire([]*quicTrace{other, tr}, []time.Time{ms(10.3)})
	if len(got) != 1 || !got[packetRef{tr, 2}] {
		t.Errorf("droppedByWire = %v, want packet 2 only (3 was sent later but reached the client; 1 and 4 were declared lost spuriously)", got)
	}
	if got := droppedByWire([]*quicTrace{tr}, nil); len(got) != 0 {
		t.Errorf("with no drop, droppedByWire = %v, want none", got)
	}
}
