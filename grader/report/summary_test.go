package report

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func writeSummary(t *testing.T, r *Report, opt SummaryOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteSummary(&b, r, opt); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestSummaryWidth(t *testing.T) {
	for _, width := range []int{50, 72, 100, 140} {
		out := writeSummary(t, sampleReport(), SummaryOptions{Width: width})
		for line := range strings.Lines(out) {
			line = strings.TrimSuffix(line, "\n")
			if n := utf8.RuneCountInString(line); n > width {
				t.Errorf("width %d: line of %d runes: %q", width, n, line)
			}
		}
	}
	narrow := writeSummary(t, sampleReport(), SummaryOptions{Width: 72})
	if !strings.Contains(narrow, "FAIL    37 of 256 clients got no...") {
		t.Errorf("long evidence is not cut with \"...\" at width 72:\n%s", narrow)
	}
	wide := writeSummary(t, sampleReport(), SummaryOptions{Width: 200})
	if !strings.Contains(wide, "(sent REQ <id>, wanted OK <id> or BUSY <id>).\n") {
		t.Errorf("evidence is cut although it fits in 200 columns:\n%s", wide)
	}
}

func TestSummaryPlainHasNoANSI(t *testing.T) {
	out := writeSummary(t, sampleReport(), SummaryOptions{Color: false, Width: 100})
	if strings.Contains(out, "\x1b") {
		t.Errorf("ANSI escape in plain output:\n%q", out)
	}
	for _, w := range []string{"PASS", "FAIL", "SKIP", "ERR"} {
		if !strings.Contains(out, "  "+w+"  ") {
			t.Errorf("plain output lacks the status word %s", w)
		}
	}
}

func TestSummaryColorKeepsWords(t *testing.T) {
	out := writeSummary(t, sampleReport(), SummaryOptions{Color: true, Width: 100})
	if !strings.Contains(out, "\x1b[32mPASS\x1b[0m") || !strings.Contains(out, "\x1b[31mFAIL\x1b[0m") {
		t.Errorf("colored output does not color the status words:\n%q", out)
	}
	// Color decorates; stripping it gives the plain summary.
	plain := writeSummary(t, sampleReport(), SummaryOptions{Width: 100})
	if got := stripANSI(out); got != plain {
		t.Errorf("colored output without its colors differs from the plain output\n--- colored, stripped ---\n%s\n--- plain ---\n%s", got, plain)
	}
}

func TestSummaryStripsANSIFromEvidence(t *testing.T) {
	r := sampleReport()
	r.Cases[0].Criteria[1].Evidence = []Evidence{{Name: "server stderr", Text: "\x1b[31mpanic: boom\x1b[0m"}}
	out := writeSummary(t, r, SummaryOptions{})
	if strings.Contains(out, "\x1b") {
		t.Errorf("the student program's escape codes reach the terminal:\n%q", out)
	}
}

func TestSummaryNextSteps(t *testing.T) {
	out := writeSummary(t, sampleReport(), SummaryOptions{Width: 100})
	_, next, ok := strings.Cut(out, "What to work on next\n")
	if !ok {
		t.Fatalf("no \"What to work on next\":\n%s", out)
	}
	for _, want := range []string{
		"Hint: Answer BUSY <id> at once",
		"handshake.md:14: no note marks",
		"skeletons/05-server-arch/server/main.go:12:2: undefined: foo",
	} {
		if !strings.Contains(next, want) {
			t.Errorf("next steps lack %q:\n%s", want, next)
		}
	}
	for _, absent := range []string{
		"backlog.accounting",        // redacted
		"backlog.syn-retransmit",    // skipped: nothing for the student to do
		"backlog.graceful-shutdown", // grading error
		"epoll_wait",                // 05's hints wait until it compiles
	} {
		if strings.Contains(next, absent) {
			t.Errorf("next steps mention %q:\n%s", absent, next)
		}
	}
}

func TestSummaryAllPassed(t *testing.T) {
	r := &Report{Points: 10, MaxPoints: 10, Cases: []Case{{
		Slug: "01-backlog", Points: 10, MaxPoints: 10,
		Criteria: []Criterion{{ID: "backlog.listen-backlog", Status: Passed, Points: 10, MaxPoints: 10}},
	}}}
	if out := writeSummary(t, r, SummaryOptions{}); !strings.Contains(out, "every criterion that could be graded passed") {
		t.Errorf("no word of encouragement when everything passed:\n%s", out)
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
