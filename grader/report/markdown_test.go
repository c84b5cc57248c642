package report

import (
	"bytes"
	"strings"
	"testing"
)

func writeMarkdown(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// cellBreaks counts the pipes of a table row that are not escaped.
func cellBreaks(row string) int {
	n := 0
	for i := range len(row) {
		if row[i] == '|' && (i == 0 || row[i-1] != '\\') {
			n++
		}
	}
	return n
}

func TestMarkdownTableEscaping(t *testing.T) {
	r := sampleReport()
	cr := &r.Cases[0].Criteria[0]
	cr.Title = "Listens | with the\nbacklog"
	cr.Evidence = []Evidence{{Name: "latency", Text: "p50 | p99 = 12ms | 3.1s\nsecond line"}}
	md := writeMarkdown(t, r)

	var row string
	for line := range strings.Lines(md) {
		if strings.HasPrefix(line, "| `backlog.listen-backlog`") {
			row = strings.TrimSuffix(line, "\n")
		}
	}
	if row == "" {
		t.Fatalf("no table row for backlog.listen-backlog:\n%s", md)
	}
	if got := cellBreaks(row); got != 5 {
		t.Errorf("row has %d unescaped pipes, want 5 (4 cells): %s", got, row)
	}
	for _, want := range []string{`Listens \| with the<br>backlog`, `p50 \| p99 = 12ms \| 3.1s |`} {
		if !strings.Contains(row, want) {
			t.Errorf("row lacks %q: %s", want, row)
		}
	}
	if strings.Contains(row, "second line") {
		t.Errorf("table shows more than the first line of evidence: %s", row)
	}
}

func TestMarkdownCellEscaper(t *testing.T) {
	for in, want := range map[string]string{
		"a|b\nc":          `a\|b<br>c`,
		"REQ <id>":        "REQ &lt;id&gt;",
		"x\r\ny":          "x<br>y",
		"*bold* [l](u) _": `\*bold\* \[l\](u) \_`,
	} {
		if got := mdCell(in); got != want {
			t.Errorf("mdCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdownProseKeepsCodeSpans(t *testing.T) {
	got := mdProse("Answer `BUSY <id>` when full, not <nothing>; see ``a ` b``")
	want := "Answer `BUSY <id>` when full, not &lt;nothing&gt;; see ``a ` b``"
	if got != want {
		t.Errorf("mdProse = %q, want %q", got, want)
	}
}

func TestMarkdownEvidenceBlockFence(t *testing.T) {
	var b strings.Builder
	mdBlock(&b, "log:\n```\ninside\n```")
	if !strings.HasPrefix(b.String(), "````text\n") || !strings.HasSuffix(b.String(), "\n````\n") {
		t.Errorf("fence does not outgrow the backticks in the evidence:\n%s", b.String())
	}
}

func TestMarkdownContent(t *testing.T) {
	md := writeMarkdown(t, sampleReport())
	for _, want := range []string{
		"## wirelab grade: 30/135 points (22.2%)",
		"### ❌ Completion standard: not met yet",
		"still missing: two more artifacts",
		"`handshake.md:14`",
		"| `backlog.accounting` Server and client counts reconcile | 0/15 | ❌ failed | details hidden until the due date |",
		"TcpExtListenOverflows   0 -> 37",
		"**Hint:** Answer BUSY &lt;id&gt;",
		`make grade ARGS="--seed 1234567"`,
		"grade --seed 1234567",
		"skeletons/05-server-arch/server/main.go:12:2: undefined: foo",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if strings.Count(md, "<details>") != 7 {
		t.Errorf("%d <details> blocks, want one per non-redacted criterion that did not pass (6) or passed with evidence (1)", strings.Count(md, "<details>"))
	}
	if strings.Contains(md, "<code>backlog.accounting</code>") {
		t.Error("a redacted criterion got a <details> block")
	}
}

func TestMarkdownHiddenForThisCriterion(t *testing.T) {
	r := sampleReport()
	r.Cases[0].Criteria[4].Visibility = "hidden"
	if md := writeMarkdown(t, r); !strings.Contains(md, "| details hidden for this criterion |") {
		t.Error("a hidden (not after_due_date) criterion does not say its details are hidden for this criterion")
	}
}

// TestMarkdownChart: a piece of evidence with a chart gets its text block and,
// under it, a mermaid block GitHub draws; the terminal shows the text only.
func TestMarkdownChart(t *testing.T) {
	r := sampleReport()
	cr := &r.Cases[0].Criteria[0]
	cr.Status = Failed
	cr.Evidence = []Evidence{{Name: "measured", Text: "stream 1  ..#+.", Chart: "gantt\n    dateFormat x\n    section HTTP/2\n    stream 1 : 21, 105\n"}}
	md := writeMarkdown(t, r)
	want := "```text\nstream 1  ..#+.\n```\n\n```mermaid\ngantt\n    dateFormat x\n    section HTTP/2\n    stream 1 : 21, 105\n```\n"
	if !strings.Contains(md, want) {
		t.Errorf("Markdown lacks the text and then the chart:\n%s", md)
	}
	var term bytes.Buffer
	if err := WriteSummary(&term, r, SummaryOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(term.String(), "..#+.") || strings.Contains(term.String(), "gantt") {
		t.Errorf("the terminal should show the text and not the chart's source:\n%s", term.String())
	}
}
