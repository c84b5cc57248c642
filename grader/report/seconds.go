package report

import (
	"fmt"
	"math"
	"time"
)

// Duration converts back to a time.Duration.
func (s Seconds) Duration() time.Duration {
	return time.Duration(math.Round(float64(s) * float64(time.Second)))
}

// String writes the duration for people: "12ms", "0.8s", "48.7s", "2m05s".
func (s Seconds) String() string {
	v := float64(s)
	switch {
	case v < 0.1:
		return fmt.Sprintf("%dms", int64(math.Round(v*1000)))
	case v < 60:
		return fmt.Sprintf("%.1fs", v)
	default:
		total := int64(math.Round(v))
		return fmt.Sprintf("%dm%02ds", total/60, total%60)
	}
}
