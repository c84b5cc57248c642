package holquic

import (
	"strings"
	"testing"
)

// TestHolChart draws two protocols: over HTTP/2 both streams waited for the
// same chunk, over HTTP/3 only stream 2 did; a wait shorter than the stall
// threshold gets no red bar.
func TestHolChart(t *testing.T) {
	steady := []float64{21, 22, 21, 23, 22}  // arrivals 21, 42, 61, 83, 102
	stalled := []float64{21, 22, 63, 44, 25} // arrivals 21, 42, 103, 104, 105: chunk 2 held back 41 ms, the next ones queued behind it
	rows := []holRow{
		{proto: h2, streams: []streamLine{{1, stalled, 41}, {2, stalled, 41}}},
		{proto: h3, streams: []streamLine{{1, steady, 2}, {2, stalled, 41}}},
	}
	got := holChart(rows)
	for _, want := range []string{
		"gantt\n",
		"dateFormat x\n",
		"section HTTP/2\n    stream 1 : 21, 105\n    stream 1 waited 41 ms for chunk 2 : crit, 62, 103\n    stream 2 : 21, 105\n    stream 2 waited 41 ms for chunk 2 : crit, 62, 103\n",
		"section HTTP/3\n    stream 1 : 21, 102\n    stream 2 : 21, 105\n    stream 2 waited 41 ms for chunk 2 : crit, 62, 103\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("chart lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "crit"); n != 3 {
		t.Errorf("%d red bars, want 3 (stream 1 over HTTP/3 waited 2 ms at most):\n%s", n, got)
	}
	if holChart(nil) != "" {
		t.Error("a measurement that never started draws a chart")
	}
}
