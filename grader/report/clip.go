package report

// Clip shortens s to at most n bytes for a message or a piece of evidence,
// marking the cut with an ellipsis.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
