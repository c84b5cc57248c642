package report

import "strconv"

// Percent is the share of points earned, from 0 to 100; 0 when there are no points to earn.
func (r *Report) Percent() float64 {
	if r.MaxPoints == 0 {
		return 0
	}
	return 100 * float64(r.Points) / float64(r.MaxPoints)
}

// Recompute sets the report's Points and MaxPoints to the sums over its cases.
// Each case already carries its own sums (criteria plus artifact); they are not recomputed.
func (r *Report) Recompute() {
	r.Points, r.MaxPoints = 0, 0
	for _, c := range r.Cases {
		r.Points += c.Points
		r.MaxPoints += c.MaxPoints
	}
}

// percentText writes a percentage with one decimal, dropping a trailing ".0": "22.2%", "100%".
func percentText(p float64) string {
	s := strconv.FormatFloat(p, 'f', 1, 64)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + "%"
}
