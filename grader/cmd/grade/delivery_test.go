package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/version"
)

// TestVersionSaysWhichGrader: --version prints the version, the commit and the
// rubrics digest, and exits 0.
func TestVersionSaysWhichGrader(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"wirelab grade dev", "commit  ", "rubrics sha256:" + version.RubricsDigest()} {
		if !strings.Contains(out, want) {
			t.Errorf("--version printed %q, want %q in it", out, want)
		}
	}
}

// TestStudentBuildRefusesInstructorMode: the binary students download never
// shows hidden evidence.
func TestStudentBuildRefusesInstructorMode(t *testing.T) {
	defer func(f string) { version.Flavor = f }(version.Flavor)
	version.Flavor = "student"
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--instructor", "../../.."}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "not available in the student build") {
		t.Errorf("student build with --instructor: exit %d, %q", code, stderr.String())
	}
	if code := runBatch([]string{t.TempDir()}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "instructor's build") {
		t.Errorf("student build batch: exit %d, %q", code, stderr.String())
	}
}

// TestGradescopeFindsTheSubmission: the repository at the top of the
// submission, or in its only folder (a zip with a top folder).
func TestGradescopeFindsTheSubmission(t *testing.T) {
	top := t.TempDir()
	os.WriteFile(filepath.Join(top, "go.mod"), []byte("module x\n"), 0o644)
	if got, err := submissionRoot(top); err != nil || got != top {
		t.Errorf("repository at the top: %q, %v", got, err)
	}
	nested := t.TempDir()
	os.MkdirAll(filepath.Join(nested, "wirelab-alice"), 0o755)
	os.MkdirAll(filepath.Join(nested, "__MACOSX"), 0o755)
	os.WriteFile(filepath.Join(nested, "wirelab-alice", "go.mod"), []byte("module x\n"), 0o644)
	if got, err := submissionRoot(nested); err != nil || got != filepath.Join(nested, "wirelab-alice") {
		t.Errorf("repository in a folder: %q, %v", got, err)
	}
	if _, err := submissionRoot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "has no go.mod") {
		t.Errorf("no repository: %v", err)
	}
}

// TestGradescopeAlwaysWritesResults: a submission that cannot be graded still
// gets a results.json Gradescope accepts, with 0 points and the reason.
func TestGradescopeAlwaysWritesResults(t *testing.T) {
	t.Setenv(lab.EnvTimeoutScale, "") // runGradescope sets its own; restored after the test
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "submission", "notes"), 0o755)
	var stdout, stderr bytes.Buffer
	if code := runGradescope(root, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(root, "results", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Score  *float64 `json:"score"`
		Output string   `json:"output"`
		Tests  []any    `json:"tests"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatalf("results.json is not JSON: %v\n%s", err, data)
	}
	if res.Score == nil || *res.Score != 0 || res.Tests == nil || !strings.Contains(res.Output, "has no go.mod") {
		t.Errorf("results.json = %s", data)
	}
}
