package report

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func writeComment(t *testing.T, r *Report, limit int) string {
	t.Helper()
	var b strings.Builder
	if err := WritePRComment(&b, r, "the run at https://example.test/run/1", limit); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestPRCommentIsTheReportWhenItFits(t *testing.T) {
	r := sampleReport()
	got := writeComment(t, r, 0)
	if !strings.HasPrefix(got, CommentMarker+"\n") {
		t.Fatalf("comment does not open with the marker the workflow looks for:\n%.200s", got)
	}
	if want := writeMarkdown(t, r); strings.TrimPrefix(got, CommentMarker+"\n") != want {
		t.Errorf("a comment that fits should be the whole Markdown report")
	}
}

func TestPRCommentStaysUnderTheLimit(t *testing.T) {
	r := sampleReport()
	// Evidence long enough that the full report is far over GitHub's limit.
	for i := range r.Cases {
		for j := range r.Cases[i].Criteria {
			c := &r.Cases[i].Criteria[j]
			if c.Status != Passed {
				c.Evidence = append(c.Evidence, Evidence{Name: "log", Text: strings.Repeat("a line of what the program printed ✓\n", 3000)})
			}
		}
	}
	full := writeMarkdown(t, r)
	if utf8.RuneCountInString(full) <= CommentLimit {
		t.Fatalf("the test report is only %d characters; it should not fit", utf8.RuneCountInString(full))
	}
	got := writeComment(t, r, 0)
	if n := utf8.RuneCountInString(got); n > CommentLimit {
		t.Fatalf("comment is %d characters, over GitHub's %d", n, CommentLimit)
	}
	for _, want := range []string{CommentMarker, "the run at https://example.test/run/1", "| Criterion | Points | Status | Evidence |", "To replay this exact run"} {
		if !strings.Contains(got, want) {
			t.Errorf("shortened comment lacks %q", want)
		}
	}
	if strings.Contains(got, "<details>") {
		t.Error("shortened comment still holds the per-criterion details")
	}
	// Even the tables do not fit in a tiny limit: cut at a line, the pointer kept.
	tiny := writeComment(t, r, 600)
	if n := utf8.RuneCountInString(tiny); n > 600 || !strings.Contains(tiny, "https://example.test/run/1") || !strings.HasSuffix(tiny, "full report)\n") {
		t.Errorf("comment cut to 600 characters (%d): %q", n, tiny)
	}
}
