package holquic

import (
	"fmt"
	"strings"
	"time"
)

// holChart draws the end-to-end measurement as a Mermaid gantt for report.md:
// one section per protocol, one bar per stream from its first chunk's arrival
// to its last, and under it, in red, the stream's longest wait for a chunk
// when that wait reached the stall threshold. The picture says what the text
// timelines say: over HTTP/2 every stream's red bar sits at the same moment,
// over HTTP/1.1 and HTTP/3 only the stream(s) the lost packet held back have
// one.
//
// A chunk's arrival is placed at its due time (i intervals after the stream
// began) plus the delay the client reported, so the axis is the streams'
// shared schedule, in seconds and milliseconds; a wait is the gap between two
// arrivals beyond the interval, as longest_stall_ms is.
func holChart(rows []holRow) string {
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("gantt\n")
	fmt.Fprintf(&b, "    title One lost packet, %d streams: each stream's chunks (bar) and its longest wait, if %v or more (red)\n", e2eStreams, e2eStall)
	b.WriteString("    dateFormat x\n    axisFormat %-S.%L s\n    todayMarker off\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "    section %s\n", protoNames[r.proto])
		for _, s := range r.streams {
			arrivals := arrivalsMS(s.delaysMS, interval)
			if len(arrivals) == 0 {
				continue
			}
			fmt.Fprintf(&b, "    stream %d : %d, %d\n", s.id, msInt(arrivals[0]), msInt(max(arrivals[len(arrivals)-1], arrivals[0]+1)))
			if from, to, chunk := longestWait(arrivals, interval); to-from >= millis(e2eStall) {
				fmt.Fprintf(&b, "    stream %d waited %.0f ms for chunk %d : crit, %d, %d\n", s.id, to-from, chunk, msInt(from), msInt(to))
			}
		}
	}
	return b.String()
}

// arrivalsMS places each chunk at its due time plus its delay, in
// milliseconds since the stream began.
func arrivalsMS(delaysMS []float64, every time.Duration) []float64 {
	out := make([]float64, len(delaysMS))
	for i, d := range delaysMS {
		out[i] = float64(i)*millis(every) + d
	}
	return out
}

// longestWait finds the chunk that came latest after its predecessor, beyond
// the interval: the wait runs from when it was expected (the previous
// arrival plus the interval) to its arrival.
func longestWait(arrivals []float64, every time.Duration) (from, to float64, chunk int) {
	best := 0.0
	for i := 1; i < len(arrivals); i++ {
		expected := arrivals[i-1] + millis(every)
		if wait := arrivals[i] - expected; wait > best {
			best, from, to, chunk = wait, expected, arrivals[i], i
		}
	}
	return from, to, chunk
}

// millis is d in milliseconds.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// msInt rounds milliseconds to a whole number for the chart's dateFormat x
// (Unix milliseconds: the chart's axis starts at the epoch).
func msInt(v float64) int64 { return int64(v + 0.5) }
