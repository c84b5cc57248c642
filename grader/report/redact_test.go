package report

import (
	"bytes"
	"strings"
	"testing"
)

// A redacted criterion's evidence and hint never leave the grader, even when the caller
// forgot to clear them, in any format.
func TestRedactedCriteriaLeakNothing(t *testing.T) {
	r := sampleReport()
	hidden := &r.Cases[0].Criteria[4]
	hidden.Evidence = []Evidence{{Name: "accounting", Text: "SECRET-EVIDENCE server said 219, clients saw 256"}}
	hidden.Hint = "SECRET-HINT count BUSY replies too"

	outputs := map[string]func(*bytes.Buffer) error{
		"json":     func(b *bytes.Buffer) error { return WriteJSON(b, r) },
		"junit":    func(b *bytes.Buffer) error { return WriteJUnit(b, r) },
		"markdown": func(b *bytes.Buffer) error { return WriteMarkdown(b, r) },
		"summary":  func(b *bytes.Buffer) error { return WriteSummary(b, r, SummaryOptions{Width: 300}) },
	}
	for name, write := range outputs {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"SECRET-EVIDENCE", "SECRET-HINT"} {
			if strings.Contains(b.String(), secret) {
				t.Errorf("%s output contains %s", name, secret)
			}
		}
		if !strings.Contains(b.String(), "backlog.accounting") {
			t.Errorf("%s output does not list the hidden criterion at all", name)
		}
	}
	if len(hidden.Evidence) != 1 || hidden.Hint == "" {
		t.Error("writing modified the caller's report")
	}
}
