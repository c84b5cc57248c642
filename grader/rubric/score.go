package rubric

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wirelab/wirelab/grader/report"
)

// SpecResult is one hidden spec's outcome, as the sandbox child reported it.
type SpecResult struct {
	Criterion string        // the spec's criterion label, e.g. "backlog.serves"
	Text      string        // spec text
	Status    report.Status // passed / failed / skipped / error
	Message   string        // failure or skip reason (student-facing)
	Evidence  []report.Evidence
	Duration  time.Duration
}

// ScoreOptions says how a case is scored and for whom.
type ScoreOptions struct {
	Instructor bool      // show evidence and hints of hidden criteria
	Now        time.Time // decides after_due_date; the zero time is before any due time
	// Problem, if non-empty, says why the whole case could not be graded (compile
	// error, no sandbox). Every criterion without a spec result gets it as evidence.
	Problem string
	// ProblemStatus is the status of those criteria: report.Failed for a compile
	// error (the student's fault), report.Error or report.Skipped otherwise.
	// Empty means report.Error.
	ProblemStatus report.Status
}

// WhatHappened names the evidence entry that says why a criterion did not pass.
const WhatHappened = "what happened"

const noResult = "no spec reported a result for this criterion (the grader's own problem, not yours)"

// Score turns the spec results of this case and its checked artifact into the case's
// report. Points are all or nothing per criterion; the artifact's points come from the
// rubric, earned when artifact.Status is passed. Results whose label is not a criterion
// of this rubric are left out and named in the case's Problem (CheckLabels prevents them).
func (c *Case) Score(results []SpecResult, artifact *report.Artifact, opt ScoreOptions) report.Case {
	byID := map[string][]SpecResult{}
	var stray []string
	var total time.Duration
	for _, r := range results {
		total += r.Duration
		if c.criterion(r.Criterion) == nil {
			if !slices.Contains(stray, r.Criterion) {
				stray = append(stray, r.Criterion)
			}
			continue
		}
		byID[r.Criterion] = append(byID[r.Criterion], r)
	}

	rc := report.Case{
		Slug:     c.Slug,
		Title:    c.Title,
		Duration: report.SecondsOf(total),
		Problem:  opt.Problem,
		Criteria: make([]report.Criterion, 0, len(c.Criteria)),
	}
	if len(stray) > 0 {
		note := fmt.Sprintf("results for labels that are not criteria of %s were left out: %s (the grader's own problem, not yours)", c.File, strings.Join(stray, ", "))
		rc.Problem = strings.TrimPrefix(rc.Problem+"; "+note, "; ")
	}
	for _, cr := range c.Criteria {
		got := cr.score(byID[cr.ID], opt)
		if cr.redacted(c.Due, opt) {
			got.Evidence, got.Hint, got.Redacted = nil, "", true
		}
		rc.Criteria = append(rc.Criteria, got)
		rc.Points += got.Points
		rc.MaxPoints += got.MaxPoints
	}
	if c.Artifact != nil {
		a := c.Artifact.score(artifact, opt)
		rc.Artifact = &a
		rc.Points += a.Points
		rc.MaxPoints += a.MaxPoints
	}
	return rc
}

func (c *Case) criterion(id string) *Criterion {
	for i := range c.Criteria {
		if c.Criteria[i].ID == id {
			return &c.Criteria[i]
		}
	}
	return nil
}

// redacted reports whether the student must not see this criterion's evidence and hint.
func (cr *Criterion) redacted(due time.Time, opt ScoreOptions) bool {
	if opt.Instructor {
		return false
	}
	switch cr.Visibility {
	case Hidden:
		return true
	case AfterDueDate:
		return due.IsZero() || opt.Now.Before(due)
	}
	return false
}

// score is the verdict on one criterion from the results of its specs, unredacted.
func (cr *Criterion) score(specs []SpecResult, opt ScoreOptions) report.Criterion {
	rc := report.Criterion{
		ID:         cr.ID,
		Title:      cr.Title,
		Concept:    cr.Concept,
		Visibility: string(cr.Visibility),
		MaxPoints:  cr.Points,
	}
	var d time.Duration
	for _, s := range specs {
		d += s.Duration
	}
	rc.Duration = report.SecondsOf(d)

	switch {
	case len(specs) > 0:
		rc.Status = combine(specs)
		rc.Evidence = evidence(specs)
	case opt.Problem != "":
		rc.Status = opt.ProblemStatus
		if rc.Status == "" {
			rc.Status = report.Error
		}
		rc.Evidence = []report.Evidence{{Name: WhatHappened, Text: opt.Problem}}
	default:
		rc.Status = report.Error
		rc.Evidence = []report.Evidence{{Name: WhatHappened, Text: noResult}}
	}
	if rc.Status == report.Passed {
		rc.Points = cr.Points
	} else {
		rc.Hint = cr.Hint
	}
	return rc
}

// severity orders statuses: a criterion takes the most severe status among its specs,
// and a skipped spec outranks passed ones.
var severity = map[report.Status]int{report.Passed: 0, report.Skipped: 1, report.Error: 2, report.Failed: 3}

// status is a spec's status, with anything unknown counted as an error.
func status(s SpecResult) report.Status {
	if _, ok := severity[s.Status]; ok {
		return s.Status
	}
	return report.Error
}

// combine is a criterion's status: failed if any spec failed; else error if any
// errored; else skipped if any was not graded (a criterion is never passed on
// part of its specs); else passed. Without specs it is skipped.
func combine(specs []SpecResult) report.Status {
	if len(specs) == 0 {
		return report.Skipped
	}
	worst := report.Passed
	for _, s := range specs {
		if st := status(s); severity[st] > severity[worst] {
			worst = st
		}
	}
	return worst
}

// evidence lists, for each spec that did not pass (failed first, then errored, then
// skipped), what happened and then its evidence; the passed specs' evidence follows.
func evidence(specs []SpecResult) []report.Evidence {
	var out []report.Evidence
	for _, want := range []report.Status{report.Failed, report.Error, report.Skipped} {
		for _, s := range specs {
			if status(s) != want {
				continue
			}
			out = append(out, report.Evidence{Name: WhatHappened, Text: whatHappened(s, len(specs) > 1)})
			out = append(out, s.Evidence...)
		}
	}
	for _, s := range specs {
		if status(s) == report.Passed {
			if s.Message != "" {
				out = append(out, report.Evidence{Name: WhatHappened, Text: s.Message})
			}
			out = append(out, s.Evidence...)
		}
	}
	return out
}

// whatHappened is a non-passing spec's message; with several specs it names the spec.
func whatHappened(s SpecResult, several bool) string {
	msg := s.Message
	if msg == "" {
		switch status(s) {
		case report.Failed:
			msg = "the check failed without saying why (the grader's own problem, not yours)"
		case report.Skipped:
			msg = "the check was skipped without saying why"
		default:
			msg = fmt.Sprintf("the check could not run (status %q; the grader's own problem, not yours)", s.Status)
		}
	}
	if several && s.Text != "" {
		return s.Text + ": " + msg
	}
	return msg
}

// score is the verdict on the case's artifact: the checker's verdict and findings,
// the rubric's points (all or nothing) and tags (earned only when it passed).
func (a *Artifact) score(checked *report.Artifact, opt ScoreOptions) report.Artifact {
	if checked == nil {
		why := "the artifact was not checked (the grader's own problem, not yours)"
		if opt.Problem != "" {
			why = "the artifact was not checked: " + opt.Problem
		}
		return report.Artifact{
			File:      a.File,
			Status:    report.Error,
			MaxPoints: a.Points,
			Findings:  []report.Finding{{Message: why}},
		}
	}
	out := *checked
	if out.File == "" {
		out.File = a.File
	}
	out.MaxPoints = a.Points
	out.Points = 0
	out.Findings = slices.Clone(checked.Findings)
	out.Tags = nil
	if out.Status == report.Passed {
		out.Points = a.Points
		for _, t := range append(slices.Clone(checked.Tags), a.TagsWhenValid...) {
			if !slices.Contains(out.Tags, t) {
				out.Tags = append(out.Tags, t)
			}
		}
	}
	return out
}
