package lab

import (
	"slices"
	"testing"
	"time"
)

func ms(n ...int) Latencies {
	l := make(Latencies, len(n))
	for i, v := range n {
		l[i] = time.Duration(v) * time.Millisecond
	}
	return l
}

// oneTo returns 1ms..n ms, shuffled so that Percentile has to sort.
func oneTo(n int) Latencies {
	l := make(Latencies, n)
	for i := range l {
		l[i] = time.Duration((i*7)%n+1) * time.Millisecond
	}
	return l
}

func TestPercentileNearestRank(t *testing.T) {
	// The nearest-rank percentile is the value at rank ⌈p/100 × n⌉ of the
	// sorted sample (1-based), always one of the sample's own values.
	for _, tc := range []struct {
		l    Latencies
		p    float64
		want time.Duration
	}{
		{ms(15, 20, 35, 40, 50), 5, 15 * time.Millisecond}, // the textbook example
		{ms(15, 20, 35, 40, 50), 30, 20 * time.Millisecond},
		{ms(15, 20, 35, 40, 50), 40, 20 * time.Millisecond},
		{ms(15, 20, 35, 40, 50), 50, 35 * time.Millisecond},
		{ms(15, 20, 35, 40, 50), 100, 50 * time.Millisecond},
		{ms(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), 25, 7 * time.Millisecond},
		{ms(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), 50, 8 * time.Millisecond},
		{ms(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), 75, 15 * time.Millisecond},
		{ms(30, 10, 20), 40, 20 * time.Millisecond}, // rank ⌈1.2⌉ = 2
		{ms(30, 10, 20), 0, 10 * time.Millisecond},
		{oneTo(100), 50, 50 * time.Millisecond},
		{oneTo(100), 99, 99 * time.Millisecond},
		{oneTo(16), 90, 15 * time.Millisecond},   // rank ⌈14.4⌉ = 15
		{oneTo(60), 99, 60 * time.Millisecond},   // rank ⌈59.4⌉ = 60: with < 100 samples p99 is the max
		{oneTo(10), 70, 7 * time.Millisecond},    // rank exactly 7
		{oneTo(200), 99, 198 * time.Millisecond}, // rank exactly 198
		{ms(42), 99, 42 * time.Millisecond},
		{nil, 99, 0},
	} {
		if got := tc.l.Percentile(tc.p); got != tc.want {
			t.Errorf("p%v of %d samples = %v, want %v", tc.p, len(tc.l), got, tc.want)
		}
	}
}

func TestPercentileLeavesSampleAlone(t *testing.T) {
	l := ms(30, 10, 20)
	l.Percentile(50)
	if !slices.Equal(l, ms(30, 10, 20)) {
		t.Errorf("Percentile reordered its sample: %v", l)
	}
}

func TestMaxAndSummary(t *testing.T) {
	if Latencies(nil).Max() != 0 || Latencies(nil).Summary() != "n=0" {
		t.Errorf("empty: Max %v, Summary %q", Latencies(nil).Max(), Latencies(nil).Summary())
	}
	if got, want := oneTo(100).Summary(), "n=100 p50=50ms p90=90ms p99=99ms max=100ms"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	// Rounding: 10µs below 10ms, 1ms below 10s, 100ms above.
	l := Latencies{1234567 * time.Nanosecond, 23456789 * time.Nanosecond, 12345678901 * time.Nanosecond}
	if got, want := l.Summary(), "n=3 p50=23ms p90=12.3s p99=12.3s max=12.3s"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if got, want := (Latencies{1234567 * time.Nanosecond}).Summary(), "n=1 p50=1.23ms p90=1.23ms p99=1.23ms max=1.23ms"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if got := ms(5, 50, 7).Max(); got != 50*time.Millisecond {
		t.Errorf("Max = %v", got)
	}
}
