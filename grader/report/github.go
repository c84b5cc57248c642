package report

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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
		annotateProblem(&b, cs)
		for j := range cs.Criteria {
			c := &cs.Criteria[j]
			level := map[Status]string{Failed: "error", Error: "error", Skipped: "notice"}[c.Status]
			if level == "" || notRunFor(cs, c) {
				continue
			}
			msg := fmt.Sprintf("%s (%d/%d points): %s", c.Status, c.Points, c.MaxPoints, briefEvidence(cs, c, annotationLines))
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

// annotationLines bounds the evidence an annotation quotes; the job summary has it all.
const annotationLines = 12

// compilerMessage is one line of the Go compiler's output: file:line:col: message.
var compilerMessage = regexp.MustCompile(`^(\S+\.go):(\d+):(?:(\d+):)? (.+)$`)

// annotateProblem writes one annotation for a case whose criteria could not run (a
// compile error, no sandbox), saying how many points that cost, and one on the file and
// line of every compiler message that names a file of the submission.
func annotateProblem(b *strings.Builder, cs *Case) {
	if cs.Problem == "" {
		return
	}
	notRun, points := 0, 0
	for j := range cs.Criteria {
		if notRunFor(cs, &cs.Criteria[j]) {
			notRun++
			points += cs.Criteria[j].MaxPoints
		}
	}
	annotate(b, "error", "", 0, cs.Slug+": not graded",
		fmt.Sprintf("%s\n%d criteria (%d points) could not be checked because of this.", strings.TrimSpace(cs.Problem), notRun, points))
	for line := range strings.Lines(cs.Problem) {
		m := compilerMessage.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil || filepath.IsAbs(m[1]) {
			continue
		}
		props := fmt.Sprintf("file=%s,line=%s", escapeProperty(filepath.ToSlash(filepath.Clean(m[1]))), m[2])
		if m[3] != "" {
			props += ",col=" + m[3]
		}
		fmt.Fprintf(b, "::error %s,title=%s::%s\n", props, escapeProperty(cs.Slug+": does not compile"), escapeData(m[4]))
	}
}

// notRunFor reports whether c did not pass only because its case's problem kept it from
// running: its evidence is the problem itself, or it has none.
func notRunFor(cs *Case, c *Criterion) bool {
	if cs.Problem == "" || c.Status == Passed {
		return false
	}
	return len(c.Evidence) == 0 || strings.TrimSpace(c.Evidence[0].Text) == strings.TrimSpace(cs.Problem)
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

// SuspendWorkflowCommands stops GitHub Actions from reading workflow commands
// in what is written to w from now on, until resume is called: it writes
// `::stop-commands::TOKEN` with a fresh random token, and resume writes
// `::TOKEN::`. Evidence quotes what the student's programs printed, and a line
// of it such as `::error::` or `::add-mask::` must stay a line of text; the
// token cannot be guessed by a program that printed before it was drawn.
// resume may be called more than once; only the first call writes.
func SuspendWorkflowCommands(w io.Writer) (resume func(), err error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("report: draw a stop-commands token: %w", err)
	}
	token := "wirelab-" + hex.EncodeToString(raw[:])
	if _, err := fmt.Fprintf(w, "::stop-commands::%s\n", token); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { fmt.Fprintf(w, "::%s::\n", token) }) }, nil
}
