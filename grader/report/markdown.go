package report

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes r as one Markdown comment for a pull request: a heading with the
// points and the percentage, the completion standard (what is met, what is missing), per
// case a table (criterion | points | status | evidence) followed by the artifact's findings
// and a <details> block per criterion that did not pass, with its full evidence and hint,
// and per passed criterion that has evidence (what was measured, for the student to read
// and to use in an artifact); then the seed and how to replay the run. Redacted criteria
// show a note, never evidence.
func WriteMarkdown(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("report: write Markdown: nil report")
	}
	var b strings.Builder
	mdHeading(&b, r)
	mdCompletion(&b, &r.Completion)
	for i := range r.Cases {
		mdCase(&b, &r.Cases[i], true)
	}
	mdFooter(&b, r)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report: write Markdown: %w", err)
	}
	return nil
}

func mdHeading(b *strings.Builder, r *Report) {
	fmt.Fprintf(b, "## wirelab grade: %d/%d points (%s)\n\n", r.Points, r.MaxPoints, percentText(r.Percent()))
	meta := []string{
		"Submission " + mdCode(r.Submission),
		"seed " + mdCode(fmt.Sprint(r.Seed)),
		"graded in " + r.Duration.String(),
	}
	if r.Instructor {
		meta = append(meta, "instructor view: hidden criteria shown")
	}
	b.WriteString(strings.Join(meta, " · ") + "\n\n")
}

func mdCompletion(b *strings.Builder, c *Completion) {
	if c.Met {
		b.WriteString("### ✅ Completion standard: met\n\n")
	} else {
		b.WriteString("### ❌ Completion standard: not met yet\n\n")
	}
	for _, q := range c.Requirements {
		mark := "❌"
		if q.Met {
			mark = "✅"
		}
		fmt.Fprintf(b, "- %s %s %d of %d", mark, mdProse(q.Text), q.Have, q.Need)
		if !q.Met && q.Missing != "" {
			fmt.Fprintf(b, "; still missing: %s", mdProse(q.Missing))
		}
		b.WriteString("\n")
	}
	if len(c.Requirements) > 0 {
		b.WriteString("\n")
	}
	if len(c.Completed) == 0 {
		b.WriteString("Completed artifacts: none yet.\n\n")
		return
	}
	files := make([]string, len(c.Completed))
	for i, f := range c.Completed {
		files[i] = mdCode(f)
	}
	fmt.Fprintf(b, "Completed artifacts: %s.\n\n", strings.Join(files, ", "))
}

// mdCase writes a case's heading, problem, table and findings, and with details
// a collapsed block per criterion that did not pass.
func mdCase(b *strings.Builder, c *Case, details bool) {
	fmt.Fprintf(b, "### %s: %s (%d/%d points)\n\n", mdCell(c.Slug), mdCell(c.Title), c.Points, c.MaxPoints)
	if c.Problem != "" {
		b.WriteString("**Problem:** the criteria of this case could not run, so they count as failed until this is fixed:\n\n")
		mdBlock(b, c.Problem)
		b.WriteString("\n")
	}
	if len(c.Criteria) > 0 || c.Artifact != nil {
		b.WriteString("| Criterion | Points | Status | Evidence |\n")
		b.WriteString("|:--|--:|:--|:--|\n")
		for i := range c.Criteria {
			cr := &c.Criteria[i]
			fmt.Fprintf(b, "| %s %s | %d/%d | %s | %s |\n",
				mdCellCode(cr.ID), mdCell(cr.Title), cr.Points, cr.MaxPoints, cr.Status.label(), mdCell(headline(c, cr)))
		}
		if a := c.Artifact; a != nil {
			fmt.Fprintf(b, "| Artifact %s | %d/%d | %s | %s |\n",
				mdCellCode(a.File), a.Points, a.MaxPoints, a.Status.label(), mdCell(artifactHeadline(a)))
		}
		b.WriteString("\n")
	}
	if a := c.Artifact; a != nil && len(a.Findings) > 0 {
		fmt.Fprintf(b, "Findings in %s:\n\n", mdCode(a.File))
		for _, f := range a.Findings {
			fmt.Fprintf(b, "- %s %s\n", mdCode(f.Location(a.File)), mdProse(f.Message))
		}
		b.WriteString("\n")
	}
	for i := range c.Criteria {
		if cr := &c.Criteria[i]; details && (cr.Status != Passed || len(cr.Evidence) > 0) && !cr.Redacted {
			mdDetails(b, c, cr)
		}
	}
}

// mdDetails writes the collapsed block of a criterion: its evidence, and for one
// that failed its concept and hint.
func mdDetails(b *strings.Builder, c *Case, cr *Criterion) {
	fmt.Fprintf(b, "<details>\n<summary>%s: <code>%s</code> %s (%d/%d)</summary>\n\n",
		cr.Status.label(), htmlText(cr.ID), htmlText(cr.Title), cr.Points, cr.MaxPoints)
	if len(cr.Evidence) == 0 {
		if c.Problem != "" {
			b.WriteString("Not run because of the problem above.\n\n")
		} else {
			fmt.Fprintf(b, "%s\n\n", mdCell(headline(c, cr)))
		}
	}
	for _, e := range cr.Evidence {
		if e.Name != "" {
			fmt.Fprintf(b, "**%s**\n\n", mdCell(e.Name))
		}
		mdBlock(b, e.Text)
		b.WriteString("\n")
		if e.Chart != "" {
			mdChart(b, e.Chart)
			b.WriteString("\n")
		}
	}
	if cr.Status == Failed {
		if cr.Concept != "" {
			fmt.Fprintf(b, "**Concept:** %s\n\n", mdProse(cr.Concept))
		}
		if cr.Hint != "" {
			fmt.Fprintf(b, "**Hint:** %s\n\n", mdProse(cr.Hint))
		}
	}
	b.WriteString("</details>\n\n")
}

func mdFooter(b *strings.Builder, r *Report) {
	b.WriteString("---\n\n")
	fmt.Fprintf(b, "Seed %s. To replay this exact run: %s (or %s).\n",
		mdCode(fmt.Sprint(r.Seed)), mdCode(replayMake(r)), mdCode(replayGrade(r)))
	if len(r.Environment) > 0 {
		env := make([]string, len(r.Environment))
		for i, e := range r.Environment {
			env[i] = mdCell(e)
		}
		fmt.Fprintf(b, "Sandbox: %s.\n", strings.Join(env, "; "))
	}
}
