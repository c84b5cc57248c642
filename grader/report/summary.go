package report

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// WriteSummary writes the terminal summary a student sees after `make grade`: per case a
// table (criterion, points, status, one line of evidence cut to the width), the total, the
// completion standard, the seed and the duration, then "What to work on next": for each
// failed criterion (redacted ones excluded) the first lines of its evidence and its hint, the
// findings of failed artifacts, and how to read the full evidence of every missed check.
// Statuses are words (PASS, FAIL, SKIP, ERR) with or without color.
func WriteSummary(w io.Writer, r *Report, opt SummaryOptions) error {
	if r == nil {
		return errors.New("report: write summary: nil report")
	}
	s := summary{r: r, p: painter(opt.Color), width: opt.width()}
	s.layout()
	s.header()
	for i := range r.Cases {
		s.caseTable(&r.Cases[i])
	}
	s.totals()
	s.nextSteps()
	if _, err := io.WriteString(w, s.b.String()); err != nil {
		return fmt.Errorf("report: write summary: %w", err)
	}
	return nil
}

// summary builds the text of WriteSummary.
type summary struct {
	r     *Report
	p     painter
	width int
	b     strings.Builder
	idW   int // width of the criterion column
	ptW   int // width of the points column
}

const (
	tableIndent = "  "
	statusW     = 6 // "STATUS"; the words are "PASS", "FAIL", "SKIP", "ERR"
	maxIDWidth  = 34
)

func (s *summary) println(line string) {
	s.b.WriteString(line)
	s.b.WriteString("\n")
}

// text prints t wrapped to the width, keeping its line breaks (compiler output has one
// error per line). The first line starts with first, the others with rest.
func (s *summary) text(t, first, rest string) {
	prefix, printed := first, false
	for line := range strings.Lines(t) {
		if oneLine(line) == "" {
			continue
		}
		for _, l := range wrap(line, s.width, prefix, rest) {
			s.println(l)
		}
		prefix, printed = rest, true
	}
	if !printed {
		s.println(strings.TrimRight(first, " "))
	}
}

// layout sizes the columns over all cases, so the tables line up.
func (s *summary) layout() {
	s.idW, s.ptW = len("CRITERION"), len("POINTS")
	for _, c := range s.r.Cases {
		for _, cr := range c.Criteria {
			s.idW = max(s.idW, runeLen(cr.ID))
			s.ptW = max(s.ptW, runeLen(pointsText(cr.Points, cr.MaxPoints)))
		}
		if c.Artifact != nil {
			s.idW = max(s.idW, runeLen(artifactName(c.Artifact)))
			s.ptW = max(s.ptW, runeLen(pointsText(c.Artifact.Points, c.Artifact.MaxPoints)))
		}
	}
	s.idW = min(s.idW, maxIDWidth)
	// Leave at least 20 columns of evidence on narrow terminals.
	fixed := len(tableIndent) + 2 + s.ptW + 2 + statusW + 2
	if room := s.width - fixed - 20; s.idW > room {
		s.idW = max(room, 10)
	}
}

func (s *summary) header() {
	s.println(s.p.line(s.width, seg{fmt.Sprintf("wirelab grade: %d/%d points (%s)", s.r.Points, s.r.MaxPoints, percentText(s.r.Percent())), ansiBold}))
	s.println("")
}

func (s *summary) caseTable(c *Case) {
	s.println(s.p.line(s.width,
		seg{c.Slug, ansiBold},
		seg{fmt.Sprintf("  %s  (%s points, %s)", c.Title, pointsText(c.Points, c.MaxPoints), c.Duration), ""}))
	if c.Problem != "" {
		s.text(c.Problem, tableIndent+"Problem: ", tableIndent+"         ")
	}
	if len(c.Criteria) == 0 && c.Artifact == nil {
		s.println(tableIndent + "(no criteria)")
		s.println("")
		return
	}
	s.println(s.p.line(s.width, seg{tableIndent + padRight("CRITERION", s.idW) + "  " + padLeft("POINTS", s.ptW) + "  " + padRight("STATUS", statusW) + "  EVIDENCE", ansiDim}))
	for i := range c.Criteria {
		cr := &c.Criteria[i]
		s.row(cr.ID, pointsText(cr.Points, cr.MaxPoints), cr.Status, headline(c, cr))
	}
	if a := c.Artifact; a != nil {
		s.row(artifactName(a), pointsText(a.Points, a.MaxPoints), a.Status, artifactHeadline(a))
	}
	s.println("")
}

func (s *summary) row(name, points string, st Status, evidence string) {
	word := st.word()
	s.println(s.p.line(s.width,
		seg{tableIndent + padRight(truncate(name, s.idW), s.idW) + "  " + padLeft(points, s.ptW) + "  ", ""},
		seg{word, st.ansi()},
		seg{strings.Repeat(" ", statusW-runeLen(word)+2), ""},
		seg{evidence, ""}))
}

func (s *summary) totals() {
	r := s.r
	s.println(s.p.line(s.width, seg{fmt.Sprintf("Total: %d/%d points (%s)", r.Points, r.MaxPoints, percentText(r.Percent())), ansiBold}))
	if s.countNotGraded() > 0 {
		s.text("Some criteria were not graded on this machine (SKIP or ERR); the evidence column says why.", "", "")
	}

	verdict, color := "not met yet", ansiRed
	if r.Completion.Met {
		verdict, color = "met", ansiGreen
	}
	s.println(s.p.line(s.width, seg{"Completion standard: ", ""}, seg{verdict, color}))
	for _, q := range r.Completion.Requirements {
		mark, color := "[ ]", ansiRed
		if q.Met {
			mark, color = "[x]", ansiGreen
		}
		t := fmt.Sprintf("%s (%d of %d)", q.Text, q.Have, q.Need)
		if !q.Met && q.Missing != "" {
			t += " Missing: " + q.Missing
		}
		lines := wrap(t, s.width, tableIndent+"    ", tableIndent+"    ")
		// The mark is colored; the wrapped text is not.
		s.println(tableIndent + s.p.paint(color, mark) + " " + strings.TrimPrefix(lines[0], tableIndent+"    "))
		for _, l := range lines[1:] {
			s.println(l)
		}
	}
	completed := "none yet"
	if len(r.Completion.Completed) > 0 {
		completed = strings.Join(r.Completion.Completed, ", ")
	}
	s.text(completed, tableIndent+"Completed artifacts: ", tableIndent+"    ")

	s.text(fmt.Sprintf("%d (replay this exact run: %s)", r.Seed, replayMake(r)), "Seed: ", "      ")
	s.println(s.p.line(s.width, seg{"Duration: " + r.Duration.String(), ""}))
	s.println("")
}

func (s *summary) countNotGraded() int {
	n := 0
	for _, c := range s.r.Cases {
		for _, cr := range c.Criteria {
			if cr.Status == Skipped || cr.Status == Error {
				n++
			}
		}
	}
	return n
}

// nextSteps lists what a student can act on, in rubric order: a case's problem first (its
// criteria cannot pass until it is fixed), then failed criteria with their hints, then the
// findings of failed artifacts. Redacted criteria are left out.
func (s *summary) nextSteps() {
	s.println(s.p.line(s.width, seg{"What to work on next", ansiBold}))
	n := 0
	item := func(title string) {
		n++
		num := fmt.Sprintf("%s%d. ", tableIndent, n)
		s.text(title, num, strings.Repeat(" ", runeLen(num)))
	}
	const body = tableIndent + "   "
	hiddenFailures := false
	for _, c := range s.r.Cases {
		if c.Problem != "" {
			item(fmt.Sprintf("Fix this problem in %s first; none of its criteria can pass until it is solved:", c.Slug))
			s.text(c.Problem, body, body)
		}
		for _, cr := range c.Criteria {
			if cr.Status != Failed {
				continue
			}
			if cr.Redacted {
				hiddenFailures = true
				continue
			}
			if c.Problem != "" {
				continue
			}
			item(fmt.Sprintf("%s (%s, %s points)", cr.Title, cr.ID, pointsText(cr.Points, cr.MaxPoints)))
			s.text(briefEvidence(&c, &cr, nextStepEvidenceLines), body+"Seen: ", body+"      ")
			hint := cr.Hint
			if hint == "" {
				hint = "no hint for this one; the evidence in the table shows what was measured."
			}
			s.text(hint, body+"Hint: ", body+"      ")
		}
		if a := c.Artifact; a != nil && a.Status == Failed {
			item(fmt.Sprintf("Fix the findings in %s (%s, %s points)", a.File, c.Slug, pointsText(a.Points, a.MaxPoints)))
			for _, f := range a.Findings {
				s.text(f.Location(a.File)+": "+f.Message, body, body+"  ")
			}
		}
	}
	if n > 0 {
		s.println("")
		s.text(`The full evidence of every missed check: make grade ARGS="--out reports", then read reports/report.md.`, tableIndent, tableIndent)
	}
	if n == 0 {
		msg := "Nothing: every criterion that could be graded passed. Well done."
		if !s.r.Completion.Met && len(s.r.Completion.Requirements) > 0 {
			msg = "Nothing in what was graded: every criterion passed. Well done. The completion standard " +
				"counts artifacts across cases: the lines above say which it still needs."
		}
		if hiddenFailures {
			msg = "Nothing visible: the remaining failures are hidden criteria; their details appear after the due date."
		}
		s.text(msg, tableIndent, tableIndent)
	}
}

// nextStepEvidenceLines bounds the evidence quoted under "What to work on next".
const nextStepEvidenceLines = 6

// pointsText is "earned/max".
func pointsText(points, maxPoints int) string {
	return fmt.Sprintf("%d/%d", points, maxPoints)
}

// artifactName names an artifact in a criterion column.
func artifactName(a *Artifact) string {
	return "artifact " + a.File
}
