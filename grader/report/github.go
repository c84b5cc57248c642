package report

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// WriteAnnotations writes r as GitHub Actions workflow commands, which a pull request
// shows as annotations: one on the file and line of every artifact finding (an error when
// the artifact failed, a warning otherwise), one per criterion that did not pass (an
// error when it failed or could not be graded, a notice when it was skipped), titled with
// the case and criterion and saying what was measured and the hint, and a last notice
// with the total. Redacted criteria say only that their details are hidden.
func WriteAnnotations(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("report: write annotations: nil report")
	}
	r = withheld(r)
	var b strings.Builder
	for i := range r.Cases {
		cs := &r.Cases[i]
		for j := range cs.Criteria {
			c := &cs.Criteria[j]
			level := map[Status]string{Failed: "error", Error: "error", Skipped: "notice"}[c.Status]
			if level == "" {
				continue
			}
			msg := fmt.Sprintf("%s (%d/%d points): %s", c.Status, c.Points, c.MaxPoints, headline(cs, c))
			if c.Hint != "" {
				msg += "\nHint: " + c.Hint
			}
			annotate(&b, level, "", 0, cs.Slug+" · "+c.ID+": "+c.Title, msg)
		}
		if a := cs.Artifact; a != nil {
			level := "warning"
			if a.Status == Failed {
				level = "error"
			}
			for _, f := range a.Findings {
				annotate(&b, level, a.File, f.Line, cs.Slug+" artifact", f.Message)
			}
		}
	}
	annotate(&b, "notice", "", 0, "wirelab grade",
		fmt.Sprintf("%d/%d points (%s); seed %d", r.Points, r.MaxPoints, percentText(r.Percent()), r.Seed))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report: write annotations: %w", err)
	}
	return nil
}

// annotate writes one workflow command (::level file=F,line=N,title=T::message), escaped
// as the runner expects: %, CR and LF in the message; also : and , in the properties.
func annotate(b *strings.Builder, level, file string, line int, title, msg string) {
	var props []string
	if file != "" {
		props = append(props, "file="+escapeProperty(file))
		if line > 0 {
			props = append(props, fmt.Sprintf("line=%d", line))
		}
	}
	props = append(props, "title="+escapeProperty(title))
	fmt.Fprintf(b, "::%s %s::%s\n", level, strings.Join(props, ","), escapeData(msg))
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func escapeData(s string) string     { return dataEscaper.Replace(strings.TrimRight(s, "\n")) }
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
