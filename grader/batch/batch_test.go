package batch

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/grader/report"
)

// fakeGrader stands in for grade: it records each call, copies the submission's
// fake-report.json to --out, and for the submissions named so, crashes or hangs.
const fakeGrader = `#!/bin/sh
out=""; last=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out|--seed|--case|--color) [ "$1" = --out ] && out="$2"; shift 2;;
    --*) shift;;
    *) last="$1"; shift;;
  esac
done
echo "$(basename "$last")" >> "$CALLS"
case "$(basename "$last")" in
  hangs) sleep 60;;
  crashes) echo "grade: the grader broke on this one" >&2; exit 2;;
esac
cp "$last/fake-report.json" "$out/report.json"
`

func writeReport(t *testing.T, path string, grader string, points int) {
	t.Helper()
	r := &report.Report{Schema: report.SchemaVersion, Grader: grader, Submission: "x", Seed: 7,
		StartedAt: time.Now().UTC().Truncate(time.Second),
		Cases: []report.Case{
			{Slug: "01-backlog", Title: "b", Points: points, MaxPoints: 100, Criteria: []report.Criterion{}},
			{Slug: "03-time-wait", Title: "t", Points: 50, MaxPoints: 100, Criteria: []report.Criterion{}},
		},
		Points: points + 50, MaxPoints: 200, Completion: report.Completion{Met: points == 100}}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := report.WriteJSON(f, r); err != nil {
		t.Fatal(err)
	}
}

func setup(t *testing.T) (Options, string) {
	t.Helper()
	base := t.TempDir()
	subs := filepath.Join(base, "submissions")
	for name, points := range map[string]int{"alice": 100, "bob": 40, "crashes": 0, "hangs": 0, ".git": 0} {
		os.MkdirAll(filepath.Join(subs, name), 0o755)
		writeReport(t, filepath.Join(subs, name, "fake-report.json"), "v1", points)
	}
	grader := filepath.Join(base, "grade")
	os.WriteFile(grader, []byte(fakeGrader), 0o755)
	calls := filepath.Join(base, "calls")
	t.Setenv("CALLS", calls)
	return Options{Dir: subs, Out: filepath.Join(base, "gradebook"), GradeBinary: grader, GraderVersion: "v1",
		Seed: 7, Cases: []string{"01-backlog", "03-time-wait"}, Timeout: 2 * time.Second}, calls
}

func readGradebook(t *testing.T, dir string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "gradebook.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestBatchGradesEveryoneAndSurvivesBrokenGradings(t *testing.T) {
	opt, calls := setup(t)
	var progress strings.Builder
	opt.Progress = &progress
	rows, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	book := readGradebook(t, opt.Out)
	want := [][]string{
		{"student", "01-backlog", "03-time-wait", "total", "max_points", "completion_met", "seed", "grader", "status"},
		{"alice", "100", "50", "150", "200", "true", "7", "v1", "graded"},
		{"bob", "40", "50", "90", "200", "false", "7", "v1", "graded"},
		{"crashes", "", "", "", "", "false", "7", "v1", "error"},
		{"hangs", "", "", "", "", "false", "7", "v1", "error"},
	}
	if len(book) != len(want) {
		t.Fatalf("gradebook has %d lines, want %d:\n%v", len(book), len(want), book)
	}
	for i := range want {
		if got := book[i][:len(want[i])]; strings.Join(got, ",") != strings.Join(want[i], ",") {
			t.Errorf("gradebook line %d = %v, want %v", i+1, got, want[i])
		}
	}
	if note := book[3][9]; !strings.Contains(note, "the grader broke on this one") {
		t.Errorf("the crash's note does not say why: %q", note)
	}
	if note := book[4][9]; !strings.Contains(note, "did not finish within 2s") {
		t.Errorf("the hang's note does not say why: %q", note)
	}
	if len(rows) != 4 || !strings.Contains(progress.String(), "[4/4] hangs") || !strings.Contains(progress.String(), "ETA") {
		t.Errorf("progress:\n%s", progress.String())
	}
	if _, err := os.Stat(filepath.Join(opt.Out, "students", "alice", "report.json")); err != nil {
		t.Errorf("alice's report was not kept: %v", err)
	}

	// A rerun grades only what failed; a new grader grades everyone again.
	os.Remove(calls)
	if _, err := Run(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(calls); string(got) != "crashes\nhangs\n" {
		t.Errorf("rerun graded %q, want only the two that failed", got)
	}
	if book := readGradebook(t, opt.Out); book[1][8] != "reused" {
		t.Errorf("rerun: alice's status = %q, want reused", book[1][8])
	}
	os.Remove(calls)
	opt.GraderVersion = "v2"
	if _, err := Run(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(calls); strings.Count(string(got), "\n") != 4 {
		t.Errorf("a new grader graded %q, want all four again", got)
	}
}

func TestBatchNeedsSubmissions(t *testing.T) {
	opt, _ := setup(t)
	opt.Dir = t.TempDir()
	if _, err := Run(context.Background(), opt); err == nil || !strings.Contains(err.Error(), "holds no submissions") {
		t.Errorf("Run on an empty folder = %v", err)
	}
}

func TestBatchSkipsItsOwnGradebookFolder(t *testing.T) {
	opt, _ := setup(t)
	opt.Out = filepath.Join(opt.Dir, "gradebook")
	opt.Timeout = 200 * time.Millisecond
	rows, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Student == "gradebook" {
			t.Fatal("the gradebook's folder was graded as a submission")
		}
	}
	if len(rows) != 4 {
		t.Errorf("%d rows, want 4", len(rows))
	}
}
