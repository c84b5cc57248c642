package report

import (
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		points, max int
		want        float64
		text        string
	}{
		{0, 0, 0, "0%"},
		{30, 135, 100 * 30.0 / 135, "22.2%"},
		{135, 135, 100, "100%"},
	} {
		r := &Report{Points: tc.points, MaxPoints: tc.max}
		if got := r.Percent(); got != tc.want {
			t.Errorf("%d/%d: Percent() = %v, want %v", tc.points, tc.max, got, tc.want)
		}
		if got := percentText(r.Percent()); got != tc.text {
			t.Errorf("%d/%d: percentText = %q, want %q", tc.points, tc.max, got, tc.text)
		}
	}
}

func TestRecompute(t *testing.T) {
	r := sampleReport()
	r.Points, r.MaxPoints = -1, -1
	r.Cases[0].Criteria[0].Points = 0 // criteria are not re-summed: cases carry their sums
	r.Recompute()
	if r.Points != 30 || r.MaxPoints != 135 {
		t.Errorf("Recompute: %d/%d, want 30/135", r.Points, r.MaxPoints)
	}
	empty := &Report{Points: 3, MaxPoints: 4}
	empty.Recompute()
	if empty.Points != 0 || empty.MaxPoints != 0 || empty.Percent() != 0 {
		t.Errorf("Recompute of no cases: %d/%d", empty.Points, empty.MaxPoints)
	}
}

func TestSecondsString(t *testing.T) {
	for in, want := range map[Seconds]string{
		0:                                  "0ms",
		0.012:                              "12ms",
		0.8:                                "0.8s",
		48.7:                               "48.7s",
		125.4:                              "2m05s",
		SecondsOf(1500 * time.Millisecond): "1.5s",
	} {
		if got := in.String(); got != want {
			t.Errorf("Seconds(%v).String() = %q, want %q", float64(in), got, want)
		}
	}
	if d := Seconds(1.5).Duration(); d != 1500*time.Millisecond {
		t.Errorf("Seconds(1.5).Duration() = %v", d)
	}
}
