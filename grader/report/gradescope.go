package report

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// gradescopeResults is Gradescope's autograder results file (results.json).
type gradescopeResults struct {
	Score            int              `json:"score"`
	ExecutionTime    int              `json:"execution_time"` // seconds
	Output           string           `json:"output"`
	OutputFormat     string           `json:"output_format"`
	StdoutVisibility string           `json:"stdout_visibility"`
	Tests            []gradescopeTest `json:"tests"`
}

type gradescopeTest struct {
	Name         string `json:"name"`
	Number       string `json:"number"`
	Score        int    `json:"score"`
	MaxScore     int    `json:"max_score"`
	Status       string `json:"status"` // passed or failed
	Visibility   string `json:"visibility"`
	Output       string `json:"output,omitempty"`
	OutputFormat string `json:"output_format"`
}

// WriteGradescope writes r as Gradescope's results.json: the total, the run's Markdown
// report as the overall output, and one test per criterion and per artifact, numbered
// case.item, with its points, its full evidence and hint as output, and the rubric's
// visibility (visible, hidden or after_due_date), which Gradescope enforces itself: run
// the grader with --instructor there, so that hidden criteria carry their evidence for
// the staff. The grader's standard output stays hidden from students.
func WriteGradescope(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("report: write Gradescope results: nil report")
	}
	r = withheld(r)
	var md strings.Builder
	if err := WriteMarkdown(&md, r); err != nil {
		return err
	}
	res := gradescopeResults{Score: r.Points, ExecutionTime: int(math.Ceil(float64(r.Duration))),
		Output: md.String(), OutputFormat: "md", StdoutVisibility: "hidden", Tests: []gradescopeTest{}}
	for i := range r.Cases {
		cs := &r.Cases[i]
		for j := range cs.Criteria {
			c := &cs.Criteria[j]
			out := evidenceText(c.Evidence)
			if c.Redacted {
				out = hiddenNote(c.Visibility) + "\n"
			} else if out == "" && c.Status != Passed {
				out = headline(cs, c) + "\n"
			}
			if c.Status != Passed && c.Hint != "" {
				out += "\nHint: " + c.Hint + "\n"
			}
			res.Tests = append(res.Tests, gradescopeTest{
				Name: cs.Slug + " · " + c.Title, Number: fmt.Sprintf("%d.%d", i+1, j+1),
				Score: c.Points, MaxScore: c.MaxPoints, Status: gradescopeStatus(c.Status),
				Visibility: gradescopeVisibility(c.Visibility), Output: out, OutputFormat: "text"})
		}
		if a := cs.Artifact; a != nil {
			res.Tests = append(res.Tests, gradescopeTest{
				Name: cs.Slug + " · artifact " + a.File, Number: fmt.Sprintf("%d.%d", i+1, len(cs.Criteria)+1),
				Score: a.Points, MaxScore: a.MaxPoints, Status: gradescopeStatus(a.Status),
				Visibility: "visible", Output: findingsText(a), OutputFormat: "text"})
		}
	}
	return writeIndentedJSON(w, "Gradescope results", res)
}

func gradescopeStatus(s Status) string {
	if s == Passed {
		return "passed"
	}
	return "failed"
}

// gradescopeVisibility maps a rubric visibility to Gradescope's: the same words, and
// visible for anything else.
func gradescopeVisibility(v string) string {
	switch v {
	case "hidden", "after_due_date":
		return v
	}
	return "visible"
}
