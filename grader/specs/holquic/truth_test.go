package holquic

import (
	"strings"
	"testing"
	"time"
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

// TestTCPArrivals: behind the hole are the chunks of the lost one's
// connection sent from it until the retransmission.
func TestTCPArrivals(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	sent := map[chunkKey]time.Time{}
	for s := range 2 {
		for i := range 5 {
			sent[chunkKey{s, i}] = at(20*i + 5*s)
		}
	}
	l := &oneLoss{chunk: chunkKey{0, 2}, lostSent: at(40), dropped: at(40), resent: at(95),
		behind: func(chunkKey) bool { return true }} // one HTTP/2 connection
	arrive := tcpArrivals(sent, l)
	for c, want := range map[chunkKey]int{
		{0, 1}: 40,  // before the hole
		{0, 2}: 115, // the lost chunk: resent + one way
		{1, 2}: 115, // sent at 45, behind the hole
		{0, 4}: 115, // sent at 80, before the retransmission
		{1, 1}: 45,  // sent at 25, before the hole
		{1, 4}: 115, // sent at 85, before the retransmission
	} {
		if got := arrive(c); !got.Equal(at(want)) {
			t.Errorf("arrival of %v = %v, want %d ms", c, got.Sub(t0), want)
		}
	}
	stalls := expectedStalls(arrive, 2, 5, 20*time.Millisecond)
	if stalls[0] != 55*time.Millisecond {
		t.Errorf("stream 0's stall %v, want 55ms (from 40 to 115, less the interval)", stalls[0])
	}
}

func TestVarintLen(t *testing.T) {
	for n, want := range map[uint64]int{63: 1, 64: 2, 1024: 2, 16383: 2, 16384: 4} {
		if got := varintLen(n); got != want {
			t.Errorf("varintLen(%d) = %d, want %d", n, got, want)
		}
	}
}
