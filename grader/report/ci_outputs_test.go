package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestClassroomAndGradescopeAddUp: both platforms add the tests' scores up
// themselves, so the tests must carry every point of the report, artifacts
// included, and no more.
func TestClassroomAndGradescopeAddUp(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := WriteClassroom(&b, r); err != nil {
		t.Fatal(err)
	}
	var cr classroomResult
	if err := json.Unmarshal(b.Bytes(), &cr); err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, tc := range cr.Tests {
		sum += tc.Score
	}
	if sum != r.Points || cr.MaxScore != r.MaxPoints || cr.Status != "fail" {
		t.Errorf("Classroom: tests add up to %d/%d, status %q; the report has %d/%d and failures", sum, cr.MaxScore, cr.Status, r.Points, r.MaxPoints)
	}

	b.Reset()
	if err := WriteGradescope(&b, r); err != nil {
		t.Fatal(err)
	}
	var gr gradescopeResults
	if err := json.Unmarshal(b.Bytes(), &gr); err != nil {
		t.Fatal(err)
	}
	score, max := 0, 0
	for _, tc := range gr.Tests {
		score += tc.Score
		max += tc.MaxScore
	}
	if score != r.Points || max != r.MaxPoints || gr.Score != r.Points {
		t.Errorf("Gradescope: tests add up to %d/%d (score %d); the report has %d/%d", score, max, gr.Score, r.Points, r.MaxPoints)
	}
}

// TestAnnotationsAreOneCommandEach: whatever a message holds (line breaks,
// percent signs, colons and commas in titles), each annotation stays one
// workflow command, escaped so that the runner restores it.
func TestAnnotationsAreOneCommandEach(t *testing.T) {
	r := &Report{Points: 1, MaxPoints: 2, Cases: []Case{{Slug: "01-backlog", Criteria: []Criterion{{
		ID: "backlog.x", Title: "Sheds load: 100%, fast", Status: Failed, MaxPoints: 2,
		Evidence: []Evidence{{Name: "failure", Text: "50% of clients\r\ntimed out"}}, Hint: "line one\r\nline two",
	}}}}}
	var b bytes.Buffer
	if err := WriteAnnotations(&b, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 commands (the criterion, the total), got %d:\n%s", len(lines), b.String())
	}
	want := "::error title=01-backlog · backlog.x%3A Sheds load%3A 100%25%2C fast::failed (0/2 points): 50%25 of clients%0D%0Atimed out%0AHint: line one%0D%0Aline two"
	if lines[0] != want {
		t.Errorf("got  %s\nwant %s", lines[0], want)
	}
}

func TestSuspendWorkflowCommandsFencesEverythingUntilResume(t *testing.T) {
	var b strings.Builder
	resume, err := SuspendWorkflowCommands(&b)
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("::error::a student's forged annotation\n")
	resume()
	resume()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("wrote %q, want the stop line, the student's line and one resume line", lines)
	}
	token, ok := strings.CutPrefix(lines[0], "::stop-commands::")
	if !ok || len(token) < 32 {
		t.Fatalf("first line %q, want ::stop-commands:: and a long token", lines[0])
	}
	if lines[2] != "::"+token+"::" {
		t.Errorf("resume wrote %q, want ::%s::", lines[2], token)
	}
	var b2 strings.Builder
	SuspendWorkflowCommands(&b2)
	if strings.Contains(b2.String(), token) {
		t.Error("two suspensions drew the same token")
	}
}
