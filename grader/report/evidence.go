package report

import (
	"fmt"
	"strings"
	"unicode"
)

// headline is the one line that stands for a criterion in a table or a failure message:
// the first line of its evidence as measured, the hidden note when redacted, or why there
// is nothing to show.
func headline(cs *Case, c *Criterion) string {
	if c.Redacted {
		return hiddenNote(c.Visibility)
	}
	for _, e := range c.Evidence {
		if l := firstLine(e.Text); l != "" {
			return l
		}
	}
	if cs.Problem != "" && c.Status != Passed {
		return "not run: " + firstLine(cs.Problem)
	}
	switch c.Status {
	case Failed:
		return "failed; the grader recorded no evidence"
	case Skipped:
		return "skipped; the grader recorded no reason"
	case Error:
		return "could not be graded; the grader recorded no details"
	}
	return ""
}

// briefEvidence is what stands for a criterion where a few lines fit (an annotation, a
// Classroom message): its first piece of evidence, at most maxLines lines of it, or the
// headline when there is none or the criterion is redacted.
func briefEvidence(cs *Case, c *Criterion, maxLines int) string {
	if c.Redacted {
		return headline(cs, c)
	}
	for _, e := range c.Evidence {
		text := strings.TrimSpace(e.Text)
		if text == "" {
			continue
		}
		lines := strings.Split(text, "\n")
		if len(lines) > maxLines {
			lines = append(lines[:maxLines], fmt.Sprintf("… (%d more lines in the full report)", len(lines)-maxLines))
		}
		return strings.Join(lines, "\n")
	}
	return headline(cs, c)
}

// firstLine is the first line of s that is not blank, made safe for one line of output.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if l := oneLine(line); l != "" {
			return l
		}
	}
	return ""
}

// oneLine trims s and replaces tabs, line breaks and other control characters (a student
// program's terminal escapes, say) so it prints as one plain line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// evidenceText is all of a criterion's evidence as plain text: each piece under its name,
// the text exactly as measured.
func evidenceText(evs []Evidence) string {
	var b strings.Builder
	for i, e := range evs {
		if i > 0 {
			b.WriteString("\n")
		}
		if e.Name != "" {
			b.WriteString(e.Name + ":\n")
		}
		b.WriteString(strings.TrimRight(e.Text, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}
