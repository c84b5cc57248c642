package rubric

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/grader/report"
)

// sample is the rubric of testdata/good-case.yaml: sample.open (10, visible),
// sample.secret (5, hidden), sample.later (5, after_due_date), artifact 10.
func sample(t *testing.T) *Case {
	t.Helper()
	c, err := LoadCase("testdata/good-case.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// spec is a result for criterion id with a status; the message names the status.
func spec(id string, st report.Status) SpecResult {
	r := SpecResult{Criterion: id, Text: "spec " + string(st), Status: st, Duration: time.Second,
		Evidence: []report.Evidence{{Name: "figures", Text: string(st) + " figures"}}}
	if st != report.Passed {
		r.Message = string(st) + " because"
	}
	return r
}

var passedArtifact = &report.Artifact{File: "09-sample/notes/sample.md", Status: report.Passed}

func TestCriterionStatus(t *testing.T) {
	P, F, S, E := report.Passed, report.Failed, report.Skipped, report.Error
	tests := []struct {
		specs []report.Status
		want  report.Status
	}{
		{[]report.Status{P}, P},
		{[]report.Status{P, P}, P},
		{[]report.Status{F}, F},
		{[]report.Status{E}, E},
		{[]report.Status{S}, S},
		{[]report.Status{S, S}, S},
		{[]report.Status{P, S}, S}, // part of the criterion was not graded: never passed
		{[]report.Status{S, P}, S},
		{[]report.Status{P, F}, F},
		{[]report.Status{F, P}, F},
		{[]report.Status{P, E}, E},
		{[]report.Status{S, E}, E},
		{[]report.Status{S, F}, F},
		{[]report.Status{E, F}, F},
		{[]report.Status{F, E, S, P}, F},
		{[]report.Status{P, "pending"}, E}, // an unknown status is the grader's error
	}
	for _, tt := range tests {
		var rs []SpecResult
		for _, st := range tt.specs {
			rs = append(rs, spec("sample.open", st))
		}
		got := sample(t).Score(rs, passedArtifact, ScoreOptions{}).Criteria[0]
		if got.Status != tt.want {
			t.Errorf("specs %v: status %s, want %s", tt.specs, got.Status, tt.want)
		}
		wantPoints := 0
		if tt.want == report.Passed {
			wantPoints = 10
		}
		if got.Points != wantPoints || got.MaxPoints != 10 {
			t.Errorf("specs %v: points %d/%d, want %d/10", tt.specs, got.Points, got.MaxPoints, wantPoints)
		}
		if (got.Hint != "") == (tt.want == report.Passed) {
			t.Errorf("specs %v: hint %q; want a hint exactly when not passed", tt.specs, got.Hint)
		}
	}
}

func TestScoreEvidenceOrder(t *testing.T) {
	rs := []SpecResult{
		spec("sample.open", report.Passed),
		spec("sample.open", report.Skipped),
		spec("sample.open", report.Failed),
		spec("sample.open", report.Error),
	}
	got := sample(t).Score(rs, passedArtifact, ScoreOptions{}).Criteria[0]
	want := []report.Evidence{
		{Name: WhatHappened, Text: "spec failed: failed because"},
		{Name: "figures", Text: "failed figures"},
		{Name: WhatHappened, Text: "spec error: error because"},
		{Name: "figures", Text: "error figures"},
		{Name: WhatHappened, Text: "spec skipped: skipped because"},
		{Name: "figures", Text: "skipped figures"},
		{Name: "figures", Text: "passed figures"},
	}
	if !reflect.DeepEqual(got.Evidence, want) {
		t.Errorf("evidence:\n got %v\nwant %v", got.Evidence, want)
	}
	if got.Duration != 4 {
		t.Errorf("duration %v, want 4 s", got.Duration)
	}
}

func TestScoreEvidenceOneSpec(t *testing.T) {
	c := sample(t)
	// One spec: its message stands alone, without the spec's text.
	got := c.Score([]SpecResult{spec("sample.open", report.Failed)}, passedArtifact, ScoreOptions{}).Criteria[0]
	want := []report.Evidence{{Name: WhatHappened, Text: "failed because"}, {Name: "figures", Text: "failed figures"}}
	if !reflect.DeepEqual(got.Evidence, want) || got.Hint != "Look at task 1." {
		t.Errorf("evidence %v hint %q", got.Evidence, got.Hint)
	}
	// Passed: the figures stay, no hint.
	got = c.Score([]SpecResult{spec("sample.open", report.Passed)}, passedArtifact, ScoreOptions{}).Criteria[0]
	want = []report.Evidence{{Name: "figures", Text: "passed figures"}}
	if !reflect.DeepEqual(got.Evidence, want) || got.Hint != "" {
		t.Errorf("evidence %v hint %q", got.Evidence, got.Hint)
	}
	// A failure without a message still says something.
	got = c.Score([]SpecResult{{Criterion: "sample.open", Status: report.Failed}}, passedArtifact, ScoreOptions{}).Criteria[0]
	if len(got.Evidence) != 1 || got.Evidence[0].Name != WhatHappened || got.Evidence[0].Text == "" {
		t.Errorf("evidence %v", got.Evidence)
	}
}

func TestScoreVisibility(t *testing.T) {
	due := time.Date(2026, 5, 1, 23, 59, 0, 0, time.UTC)
	tests := []struct {
		name       string
		id         string
		instructor bool
		now        time.Time
		redacted   bool
	}{
		{"visible, student", "sample.open", false, due.Add(-time.Hour), false},
		{"hidden, student", "sample.secret", false, due.Add(time.Hour), true},
		{"hidden, instructor", "sample.secret", true, due.Add(-time.Hour), false},
		{"after due date, student, before", "sample.later", false, due.Add(-time.Second), true},
		{"after due date, student, at due", "sample.later", false, due, false},
		{"after due date, student, after", "sample.later", false, due.Add(time.Hour), false},
		{"after due date, student, no clock", "sample.later", false, time.Time{}, true},
		{"after due date, instructor, before", "sample.later", true, due.Add(-time.Hour), false},
	}
	for _, tt := range tests {
		for _, st := range []report.Status{report.Passed, report.Failed} {
			t.Run(tt.name+", "+string(st), func(t *testing.T) {
				c := sample(t)
				rc := c.Score([]SpecResult{spec(tt.id, st)}, passedArtifact, ScoreOptions{Instructor: tt.instructor, Now: tt.now})
				var got report.Criterion
				for _, cr := range rc.Criteria {
					if cr.ID == tt.id {
						got = cr
					}
				}
				if got.Status != st || got.Title == "" || got.Redacted != tt.redacted || got.Visibility != string(c.criterion(tt.id).Visibility) {
					t.Errorf("got %+v; want status %s, a title, redacted %v", got, st, tt.redacted)
				}
				if tt.redacted && (got.Evidence != nil || got.Hint != "") {
					t.Errorf("redacted criterion leaks evidence %v or hint %q", got.Evidence, got.Hint)
				}
				if !tt.redacted && len(got.Evidence) == 0 {
					t.Errorf("visible criterion lost its evidence")
				}
				if !tt.redacted && (got.Hint != "") != (st != report.Passed) {
					t.Errorf("hint %q for status %s", got.Hint, st)
				}
				if wantPoints := map[report.Status]int{report.Passed: got.MaxPoints}[st]; got.Points != wantPoints {
					t.Errorf("points %d, want %d: redaction never changes points", got.Points, wantPoints)
				}
			})
		}
	}
}

func TestScoreProblem(t *testing.T) {
	tests := []struct {
		name   string
		status report.Status
		want   report.Status
	}{
		{"compile error", report.Failed, report.Failed},
		{"no sandbox", report.Skipped, report.Skipped},
		{"child crashed", report.Error, report.Error},
		{"status left out", "", report.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := ScoreOptions{Instructor: true, Problem: tt.name + ": details", ProblemStatus: tt.status}
			// sample.open has a result of its own; the others have none.
			rc := sample(t).Score([]SpecResult{spec("sample.open", report.Passed)}, passedArtifact, opt)
			if rc.Problem != opt.Problem {
				t.Errorf("case problem %q", rc.Problem)
			}
			if open := rc.Criteria[0]; open.Status != report.Passed || open.Points != 10 {
				t.Errorf("a criterion with results keeps them: %+v", open)
			}
			for _, cr := range rc.Criteria[1:] {
				want := []report.Evidence{{Name: WhatHappened, Text: opt.Problem}}
				if cr.Status != tt.want || cr.Points != 0 || !reflect.DeepEqual(cr.Evidence, want) || cr.Hint == "" {
					t.Errorf("%s: %+v; want status %s, no points, the problem as evidence, a hint", cr.ID, cr, tt.want)
				}
			}
			if rc.Points != 10+10 || rc.MaxPoints != 30 {
				t.Errorf("points %d/%d, want 20/30", rc.Points, rc.MaxPoints)
			}
		})
	}
}

func TestScoreNoResults(t *testing.T) {
	rc := sample(t).Score(nil, passedArtifact, ScoreOptions{Instructor: true})
	for _, cr := range rc.Criteria {
		if cr.Status != report.Error || len(cr.Evidence) != 1 || !strings.Contains(cr.Evidence[0].Text, "no spec reported a result for this criterion (the grader's own problem, not yours)") {
			t.Errorf("%s: %+v", cr.ID, cr)
		}
	}
	if rc.Problem != "" {
		t.Errorf("problem %q", rc.Problem)
	}
}

func TestScorePoints(t *testing.T) {
	P, F := report.Passed, report.Failed
	tests := []struct {
		name     string
		open     report.Status
		secret   report.Status
		later    report.Status
		artifact report.Status
		want     int
	}{
		{"all passed", P, P, P, P, 30},
		{"all failed", F, F, F, F, 0},
		{"artifact only", F, F, F, P, 10},
		{"criteria only", P, P, P, F, 20},
		{"mixed", P, F, P, P, 25},
		{"skipped earns nothing", report.Skipped, P, P, P, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := []SpecResult{spec("sample.open", tt.open), spec("sample.secret", tt.secret), spec("sample.later", tt.later)}
			rc := sample(t).Score(rs, &report.Artifact{Status: tt.artifact}, ScoreOptions{})
			if rc.Points != tt.want || rc.MaxPoints != 30 {
				t.Errorf("points %d/%d, want %d/30", rc.Points, rc.MaxPoints, tt.want)
			}
			sum := 0
			for _, cr := range rc.Criteria {
				sum += cr.Points
			}
			if sum+rc.Artifact.Points != rc.Points {
				t.Errorf("criteria %d + artifact %d != case %d", sum, rc.Artifact.Points, rc.Points)
			}
			if rc.Slug != "09-sample" || rc.Title != "A sample case" || rc.Duration != 3 {
				t.Errorf("header %q %q %v", rc.Slug, rc.Title, rc.Duration)
			}
		})
	}
}

func TestScoreArtifact(t *testing.T) {
	c := sample(t)
	findings := []report.Finding{{Line: 4, Message: "no SYN-ACK"}}
	tests := []struct {
		name    string
		checked *report.Artifact
		want    report.Artifact
	}{
		{"passed earns points and tags",
			&report.Artifact{File: "09-sample/notes/sample.md", Status: report.Passed, Points: 99, Tags: []string{"checker-tag", "sample-tag"}},
			report.Artifact{File: "09-sample/notes/sample.md", Status: report.Passed, Points: 10, MaxPoints: 10, Tags: []string{"checker-tag", "sample-tag", "other-tag"}}},
		{"failed earns neither",
			&report.Artifact{File: "09-sample/notes/sample.md", Status: report.Failed, Findings: findings, Tags: []string{"sample-tag"}},
			report.Artifact{File: "09-sample/notes/sample.md", Status: report.Failed, MaxPoints: 10, Findings: findings}},
		{"file defaults to the rubric's",
			&report.Artifact{Status: report.Skipped},
			report.Artifact{File: "notes/sample.md", Status: report.Skipped, MaxPoints: 10}},
		{"not checked",
			nil,
			report.Artifact{File: "notes/sample.md", Status: report.Error, MaxPoints: 10, Findings: []report.Finding{{Message: "the artifact was not checked (the grader's own problem, not yours)"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := c.Score(nil, tt.checked, ScoreOptions{})
			if rc.Artifact == nil || !reflect.DeepEqual(*rc.Artifact, tt.want) {
				t.Errorf("artifact:\n got %+v\nwant %+v", rc.Artifact, tt.want)
			}
		})
	}

	// A rubric without an artifact reports none, whatever it is given.
	tiny, err := LoadCase("testdata/good-no-artifact.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rc := tiny.Score([]SpecResult{spec("tiny.only", report.Passed)}, passedArtifact, ScoreOptions{})
	if rc.Artifact != nil || rc.Points != 7 || rc.MaxPoints != 7 {
		t.Errorf("no-artifact case: artifact %v, points %d/%d", rc.Artifact, rc.Points, rc.MaxPoints)
	}
}

func TestScoreArtifactNotCheckedWithProblem(t *testing.T) {
	rc := sample(t).Score(nil, nil, ScoreOptions{Problem: "no sandbox", ProblemStatus: report.Skipped})
	if a := rc.Artifact; a.Status != report.Error || len(a.Findings) != 1 || a.Findings[0].Message != "the artifact was not checked: no sandbox" {
		t.Errorf("artifact %+v", a)
	}
}

func TestScoreStrayLabels(t *testing.T) {
	rs := []SpecResult{spec("sample.open", report.Passed), spec("sample.nope", report.Failed), spec("sample.nope", report.Passed)}
	rc := sample(t).Score(rs, passedArtifact, ScoreOptions{Problem: "it broke", ProblemStatus: report.Error})
	if !strings.HasPrefix(rc.Problem, "it broke; ") || !strings.Contains(rc.Problem, "sample.nope (the grader's own problem") || strings.Count(rc.Problem, "sample.nope") != 1 {
		t.Errorf("problem %q", rc.Problem)
	}
	if len(rc.Criteria) != 3 || rc.Criteria[0].Status != report.Passed {
		t.Errorf("criteria %+v", rc.Criteria)
	}
}

func TestScoreDoesNotAliasInput(t *testing.T) {
	checked := &report.Artifact{Status: report.Passed, Tags: []string{"checker-tag"}, Findings: []report.Finding{{Message: "fine"}}}
	rc := sample(t).Score(nil, checked, ScoreOptions{})
	rc.Artifact.Tags[0] = "changed"
	rc.Artifact.Findings[0].Message = "changed"
	if checked.Tags[0] != "checker-tag" || checked.Findings[0].Message != "fine" || checked.File != "" {
		t.Errorf("Score changed its input: %+v", checked)
	}
}
