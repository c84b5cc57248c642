package rubric

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLoadCaseGood(t *testing.T) {
	c, err := LoadCase("testdata/good-case.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Case{
		File:  "testdata/good-case.yaml",
		Slug:  "09-sample",
		Title: "A sample case",
		Total: 30,
		Due:   time.Date(2026, 5, 1, 23, 59, 0, 0, time.UTC),
		Criteria: []Criterion{
			{ID: "sample.open", Title: "Open criterion", Points: 10, Visibility: Visible, Concept: "openness", Hint: "Look at task 1.", Line: 7},
			{ID: "sample.secret", Title: "Hidden criterion", Points: 5, Visibility: Hidden, Hint: "Look at task 2.", Line: 13},
			{ID: "sample.later", Title: "Shown after the due date", Points: 5, Visibility: AfterDueDate, Concept: "patience", Hint: "Look at task 3, carefully.", Line: 18},
		},
		Artifact:     &Artifact{File: "notes/sample.md", Check: "sample-check", Points: 10, TagsWhenValid: []string{"sample-tag", "other-tag"}, Line: 27},
		criteriaLine: 7,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("LoadCase:\n got %+v\nwant %+v", c, want)
	}
}

func TestLoadCaseFlowStyleNoArtifact(t *testing.T) {
	c, err := LoadCase("testdata/good-no-artifact.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Artifact != nil || !c.Due.IsZero() || c.Title != "Tiny: one criterion" {
		t.Errorf("got artifact %v, due %v, title %q", c.Artifact, c.Due, c.Title)
	}
	if len(c.Criteria) != 1 || c.Criteria[0] != (Criterion{ID: "tiny.only", Title: "The only one", Points: 7, Visibility: Visible, Hint: "Try harder.", Line: 5}) {
		t.Errorf("criteria: %+v", c.Criteria)
	}
}

func TestLoadModuleGood(t *testing.T) {
	m, err := LoadModule("testdata/good-module.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Module{File: "testdata/good-module.yaml", Requirements: []Requirement{
		{ID: "two-artifacts", Text: "At least two artifacts are completed.", MinArtifacts: 2, Line: 2},
		{ID: "tagged", Text: "At least one artifact is tagged.", MinArtifacts: 1, AnyTag: []string{"alpha", "beta"}, Hint: "Case 09's sample.md earns alpha.", Line: 5},
	}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("LoadModule:\n got %+v\nwant %+v", m, want)
	}
}

// want is one expected problem: its line and a substring of its message.
type want struct {
	line int
	text string
}

func TestLoadBad(t *testing.T) {
	tests := []struct {
		file   string
		module bool
		want   []want // every problem, in order
	}{
		{file: "bad-empty.yaml", want: []want{{1, "the file is empty; it should hold a case rubric"}}},
		{file: "bad-comments-only.yaml", want: []want{{1, "the file is empty"}}},
		{file: "bad-malformed.yaml", want: []want{{7, "malformed YAML: mapping values are not allowed in this context"}}},
		{file: "bad-anchor.yaml", want: []want{{3, "malformed YAML: unknown anchor 'ten' referenced"}}},
		{file: "bad-two-documents.yaml", want: []want{{6, "a second YAML document starts here"}}},
		{file: "bad-top-list.yaml", want: []want{{1, "the rubric must be a mapping with keys case, title, total, due, criteria, artifact; got a list"}}},
		{file: "bad-unknown-keys.yaml", want: []want{
			{4, `unknown key "author" in the rubric (known keys: case, title, total, due, criteria, artifact)`},
			{11, `unknown key "weight" in criterion backlog.serves`},
		}},
		{file: "bad-duplicate-key.yaml", want: []want{
			{10, `key "hint" appears twice in criterion backlog.serves (first at line 9)`},
			{11, `key "title" appears twice in the rubric (first at line 2)`},
		}},
		{file: "bad-missing.yaml", want: []want{
			{1, `the rubric is missing required key "case"`},
			{4, `criterion backlog.serves is missing required key "visibility"`},
			{4, `criterion backlog.serves is missing required key "hint"`},
			{7, `criterion backlog.other is missing required key "title"`},
			{12, `the artifact is missing required key "check"`},
			{13, "points of the artifact must be more than 0, got 0"},
		}},
		{file: "bad-visibility.yaml", want: []want{
			{8, `visibility "secret" of criterion backlog.serves is not one of visible, hidden, after_due_date`},
		}},
		{file: "bad-points.yaml", want: []want{
			{3, "total must be more than 0, got 0"},
			{7, "points of criterion backlog.zero must be more than 0, got 0"},
			{12, "points of criterion backlog.negative must be more than 0, got -5"},
			{17, `points of criterion backlog.words must be a whole number; got "ten"`},
			{22, `points of criterion backlog.quoted must be a whole number; got "10"`},
		}},
		{file: "bad-ids.yaml", want: []want{
			{10, `criterion id "backlog.serves" is used twice (first at line 5)`},
			{15, `criterion id "Backlog.Upper" must be <prefix>.<name> in lowercase letters, digits and dashes`},
			{20, `criterion id "noprefix" must be <prefix>.<name>`},
			{25, `criterion id "udp.other" has prefix "udp", but the first criterion (line 5) uses "backlog"`},
		}},
		{file: "bad-total.yaml", want: []want{
			{3, "total is 100, but the criteria's points (25) plus the artifact's (10) add up to 35"},
		}},
		{file: "bad-due-missing.yaml", want: []want{
			{8, "criterion backlog.serves is visible after_due_date, but the rubric has no due time"},
		}},
		{file: "bad-due-format.yaml", want: []want{
			{4, `due "2026-05-01 23:59" is not an RFC 3339 time`},
		}},
		{file: "bad-types.yaml", want: []want{
			{2, "title of the rubric must be text; got a list"},
			{5, "criteria of the rubric must be a list; got a mapping"},
			{6, `the artifact must be a mapping with keys file, check, points, tags_when_valid; got "handshake.md"`},
		}},
		{file: "bad-empty-values.yaml", want: []want{
			{9, "concept of criterion backlog.serves is empty; give it a value or leave the key out"},
			{10, "hint of criterion backlog.serves is empty"},
			{12, `artifact file "/etc/handshake.md" must be a path inside the case's directory`},
			{15, `tag "TCP Handshake" in tags_when_valid must be lowercase letters, digits and dashes`},
		}},
		{file: "bad-no-criteria.yaml", want: []want{
			{1, `case "01 Backlog" must be lowercase letters, digits and dashes`},
			{4, "criteria lists no criterion"},
		}},
		{file: "bad-module.yaml", module: true, want: []want{
			{4, "min_artifacts of requirement three-artifacts must be at least 1, got 0"},
			{5, `requirement id "three-artifacts" is used twice (first at line 2)`},
			{8, `requirement no-min is missing required key "min_artifacts"`},
			{10, `any_tag of requirement no-min must be a list; got "transport-comparison"`},
			{11, `requirement extra is missing required key "text"`},
			{13, "any_tag of requirement extra is an empty list"},
			{14, `unknown key "tags" in requirement extra (known keys: id, text, min_artifacts, any_tag, hint)`},
		}},
		{file: "bad-module-top.yaml", module: true, want: []want{
			{1, "completion_standard lists no requirement"},
			{2, `unknown key "requirements" in the module rubric`},
		}},
		{file: "bad-empty.yaml", module: true, want: []want{{1, "the file is empty; it should hold a completion standard"}}},
		{file: "good-case.yaml", module: true, want: []want{
			{2, `unknown key "case" in the module rubric`},
			{2, `the module rubric is missing required key "completion_standard"`},
			{3, `unknown key "title"`},
			{4, `unknown key "total"`},
			{5, `unknown key "due"`},
			{6, `unknown key "criteria"`},
			{26, `unknown key "artifact"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			var err error
			if tt.module {
				var m *Module
				m, err = LoadModule(path)
				if m != nil {
					t.Errorf("LoadModule returned a module along with an error")
				}
			} else {
				var c *Case
				c, err = LoadCase(path)
				if c != nil {
					t.Errorf("LoadCase returned a case along with an error")
				}
			}
			checkProblems(t, err, path, tt.want)
		})
	}
}

// checkProblems asserts err is a Problems with exactly the wanted problems, in order,
// and that its text carries file:line before each message.
func checkProblems(t *testing.T, err error, file string, wants []want) {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v (%T) is not a Problems", err, err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(ps) != len(wants) || len(lines) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(wants), err)
	}
	for i, w := range wants {
		if ps[i].File != file || ps[i].Line != w.line || !strings.Contains(ps[i].Message, w.text) {
			t.Errorf("problem %d = %s:%d: %s\nwant %s:%d: ...%s...", i, ps[i].File, ps[i].Line, ps[i].Message, file, w.line, w.text)
		}
		if prefix := file + ":" + strconv.Itoa(w.line) + ": "; !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d of the error is %q, want it to start with %q", i, lines[i], prefix)
		}
	}
}

func TestParseCaseMalformedFirstLine(t *testing.T) {
	// YAML leaves the line out of some errors on the first line.
	_, err := ParseCase("inline.yaml", []byte("case: a: b\ntitle: x\n"))
	checkProblems(t, err, "inline.yaml", []want{{1, "malformed YAML: mapping values are not allowed"}})
	_, err = ParseCase("ctl.yaml", []byte("case: a\ntitle: \x01\n"))
	checkProblems(t, err, "ctl.yaml", []want{{2, "malformed YAML: control characters are not allowed"}})
}

func TestLoadMissingFile(t *testing.T) {
	_, err := LoadCase("testdata/no-such-file.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadCase of a missing file: %v, want os.ErrNotExist", err)
	}
	_, err = LoadModule("testdata/no-such-file.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadModule of a missing file: %v, want os.ErrNotExist", err)
	}
}

func TestProblemError(t *testing.T) {
	if got := (Problem{File: "r.yaml", Line: 3, Message: "bad"}).Error(); got != "r.yaml:3: bad" {
		t.Errorf("got %q", got)
	}
	if got := (Problem{File: "r.yaml", Message: "bad"}).Error(); got != "r.yaml: bad" {
		t.Errorf("got %q", got)
	}
}

// TestRealRubrics loads the rubrics the grader ships.
func TestRealRubrics(t *testing.T) {
	c, err := LoadCase("../../rubrics/01-backlog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Slug != "01-backlog" || c.Title != "TCP handshake backlog saturation" || c.Total != 100 {
		t.Errorf("case header: %q %q %d", c.Slug, c.Title, c.Total)
	}
	wantPoints := map[string]int{
		"backlog.serves": 10, "backlog.malformed": 5, "backlog.usage": 5,
		"backlog.listen-backlog": 10, "backlog.burst-absorbed": 10,
		"backlog.fast-accept": 10, "backlog.sheds-load": 10, "backlog.accounting": 10,
		"backlog.silent-client": 10, "backlog.graceful-shutdown": 10,
	}
	if len(c.Criteria) != len(wantPoints) {
		t.Errorf("%d criteria, want %d", len(c.Criteria), len(wantPoints))
	}
	for _, cr := range c.Criteria {
		if p, ok := wantPoints[cr.ID]; !ok || p != cr.Points || cr.Visibility != Visible || cr.Concept == "" {
			t.Errorf("criterion %+v: want points %d, visible, a concept", cr, p)
		}
	}
	if a := c.Artifact; a == nil || a.File != "handshake.md" || a.Check != "handshake-sequence" || a.Points != 10 || !reflect.DeepEqual(a.TagsWhenValid, []string{"tcp-handshake"}) {
		t.Errorf("artifact: %+v", c.Artifact)
	}

	m, err := LoadModule("../../rubrics/module.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range m.Requirements {
		got = append(got, r.ID+":"+strconv.Itoa(r.MinArtifacts)+":"+strings.Join(r.AnyTag, ","))
		if r.Hint == "" {
			t.Errorf("requirement %s has no hint", r.ID)
		}
	}
	wantReqs := []string{"three-artifacts:3:", "tcp-state-transitions:1:tcp-state-transitions", "comparison:1:transport-comparison,architecture-comparison"}
	if !reflect.DeepEqual(got, wantReqs) {
		t.Errorf("requirements %q, want %q", got, wantReqs)
	}
}
