package report

import (
	"errors"
	"fmt"
	"io"
)

// classroomResult is the result of one GitHub Classroom autograding runner (version 1):
// what classroom-resources/autograding-grading-reporter decodes from a step's `result`
// output (base64 of this JSON) and adds up, test by test, into the points Classroom shows.
type classroomResult struct {
	Version  int             `json:"version"`
	Status   string          `json:"status"` // pass, fail or error
	MaxScore int             `json:"max_score"`
	Tests    []classroomTest `json:"tests"`
}

type classroomTest struct {
	Name          string `json:"name"`
	Status        string `json:"status"` // pass, fail or error
	Score         int    `json:"score"`
	Message       string `json:"message,omitempty"`
	LineNo        int    `json:"line_no,omitempty"`
	ExecutionTime string `json:"execution_time,omitempty"`
}

// WriteClassroom writes r as a GitHub Classroom runner result: one test per criterion and
// per artifact, with its points and, when it did not pass, what was measured and the
// hint. Skipped criteria are errors (not graded here), not failures. The runner's status
// is fail when a test failed, else error when one could not be graded, else pass.
func WriteClassroom(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("report: write Classroom result: nil report")
	}
	r = withheld(r)
	res := classroomResult{Version: 1, Status: "pass", MaxScore: r.MaxPoints, Tests: []classroomTest{}}
	add := func(t classroomTest) {
		res.Tests = append(res.Tests, t)
		switch {
		case t.Status == "fail":
			res.Status = "fail"
		case t.Status == "error" && res.Status == "pass":
			res.Status = "error"
		}
	}
	for i := range r.Cases {
		cs := &r.Cases[i]
		for j := range cs.Criteria {
			c := &cs.Criteria[j]
			t := classroomTest{Name: cs.Slug + " · " + c.ID + ": " + c.Title, Status: classroomStatus(c.Status),
				Score: c.Points, ExecutionTime: fmt.Sprintf("%.2fs", float64(c.Duration))}
			if c.Status != Passed {
				t.Message = briefEvidence(cs, c, annotationLines)
				if c.Hint != "" {
					t.Message += "\nHint: " + c.Hint
				}
			}
			add(t)
		}
		if a := cs.Artifact; a != nil {
			t := classroomTest{Name: cs.Slug + " · artifact " + a.File, Status: classroomStatus(a.Status), Score: a.Points}
			if len(a.Findings) > 0 {
				t.Message = findingsText(a)
				t.LineNo = a.Findings[0].Line
			}
			add(t)
		}
	}
	return writeIndentedJSON(w, "Classroom result", res)
}

func classroomStatus(s Status) string {
	switch s {
	case Passed:
		return "pass"
	case Failed:
		return "fail"
	}
	return "error"
}
