package lab

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Latencies is a sample of durations with percentile summaries for evidence.
type Latencies []time.Duration

// Percentile returns the p-th percentile (0..100), nearest-rank; 0 when empty.
func (l Latencies) Percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	// Nearest rank: the ⌈p/100 × n⌉-th smallest value (1-based). Multiplying
	// before dividing keeps whole-number ranks exact (99×200/100 = 198).
	rank := int(math.Ceil(p*float64(len(s))/100)) - 1
	rank = max(0, min(rank, len(s)-1))
	return s[rank]
}

// Max is the largest duration; 0 when empty.
func (l Latencies) Max() time.Duration {
	if len(l) == 0 {
		return 0
	}
	return slices.Max(l)
}

// Summary renders "n=120 p50=21ms p90=24ms p99=31ms max=33ms".
func (l Latencies) Summary() string {
	if len(l) == 0 {
		return "n=0"
	}
	return fmt.Sprintf("n=%d p50=%v p90=%v p99=%v max=%v", len(l),
		Round(l.Percentile(50)), Round(l.Percentile(90)), Round(l.Percentile(99)), Round(l.Max()))
}

// Round rounds a duration for evidence: three significant figures or so, so
// that a report reads 1.004s or 212µs rather than 1.004231877s.
func Round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	default:
		return d.Round(10 * time.Microsecond)
	}
}
