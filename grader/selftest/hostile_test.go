package selftest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirelab/wirelab/grader/jail"
	"github.com/wirelab/wirelab/grader/mutant"
	"github.com/wirelab/wirelab/grader/release"
	"github.com/wirelab/wirelab/grader/report"
)

// The hostile corpus (fixtures/hostile) is graded with the other fixtures by
// TestFixtures; these tests check what a report alone cannot show: that the
// CI's outputs, the reports and the grader are untouched, that one case's
// attack leaves the others graded as usual, and that an interrupted or killed
// grader leaves nothing behind.

// needSelftest skips unless the selftest is enabled and the grader is root
// (the hostile corpus needs the root mode's separate user).
func needSelftest(t *testing.T) {
	t.Helper()
	if os.Getenv(EnvSelftest) == "" {
		t.Skipf("set %s=1 to run (make test does)", EnvSelftest)
	}
	if os.Geteuid() != 0 {
		t.Skip("the hostile corpus runs against the root mode")
	}
}

// hostile loads one submission of the corpus.
func hostile(t *testing.T, slug, name string) *mutant.Mutant {
	t.Helper()
	m, err := mutant.Load(filepath.Join(root, HostileDir, slug, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// studentRoot makes a submission of the skeletons of every case (a student's
// fresh checkout), with the hostile edits m applied to case slug's.
func studentRoot(t *testing.T, slug string, m *mutant.Mutant) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyDir(t, filepath.Join(root, "skeletons"), filepath.Join(dir, "skeletons"))
	if m != nil {
		caseDir := filepath.Join(dir, "skeletons", slug)
		if err := m.Apply(caseDir, caseDir); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// gradeWith runs grade with args and extra environment, and returns its
// stdout and stderr together.
func gradeWith(t *testing.T, grade string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(grade, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("grade %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	sum, err := release.FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// Under GitHub Actions, a program that prints workflow commands and tries to
// append its own result to the step output changes neither: the step output
// holds the grader's one result line, and no line the program printed is read
// as a command (they are all between ::stop-commands:: and its token).
func TestHostileCannotForgeCIOutputs(t *testing.T) {
	needSelftest(t)
	grade := buildGrade(t)
	abs, _ := filepath.Abs(root)
	dir := t.TempDir()
	output, summary := filepath.Join(dir, "github_output"), filepath.Join(dir, "step_summary")
	for _, f := range []string{output, summary} {
		if err := os.WriteFile(f, nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	m := hostile(t, "03-time-wait", "forges-ci-output")
	out := filepath.Join(dir, "reports")
	stdout := gradeWith(t, grade, []string{"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + output, "GITHUB_STEP_SUMMARY=" + summary},
		"--case", "03-time-wait", "--from", filepath.Join(abs, "skeletons", "03-time-wait"), "--mutant", m.Dir,
		"--instructor", "--color", "never", "--seed", "7", "--out", out, abs)

	data, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "result=") {
		t.Fatalf("the step output holds %q, want the grader's one result line", lines)
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "result="))
	if err != nil || !json.Valid(decoded) {
		t.Errorf("the result line is not base64 JSON: %v", err)
	}

	// Every line the program printed is fenced: between the stop line and its
	// token, and the grader's report quotes them (the evidence is there).
	var token string
	fenced, quoted := false, false
	for line := range strings.Lines(stdout) {
		line = strings.TrimRight(line, "\n")
		switch {
		case token == "" && strings.HasPrefix(line, "::stop-commands::"):
			token, fenced = strings.TrimPrefix(line, "::stop-commands::"), true
		case token != "" && line == "::"+token+"::":
			fenced = false
		case strings.Contains(line, "forged"):
			quoted = true
			// Outside the fence only the grader's own annotations may start a
			// line with "::"; they quote the program's lines escaped, inside
			// their data.
			forged := strings.HasPrefix(strings.TrimSpace(line), "::error title=forged") ||
				strings.HasPrefix(strings.TrimSpace(line), "::stop-commands::forged")
			if !fenced && forged {
				t.Errorf("a line the program printed reached the log as a workflow command: %q", line)
			}
		}
	}
	if token == "" {
		t.Fatalf("grade under GitHub Actions never stopped workflow commands:\n%s", stdout)
	}
	if !quoted {
		t.Errorf("the report does not quote what the program printed (its evidence):\n%s", stdout)
	}
	if !strings.Contains(stdout, "::notice title=wirelab grade::") {
		t.Errorf("the grader's own annotations are missing after the fence:\n%s", stdout)
	}
}

// A program that tries to write over the reports and the grader's binary
// changes neither.
func TestHostileCannotWriteReportsOrGrader(t *testing.T) {
	needSelftest(t)
	grade := buildGrade(t)
	abs, _ := filepath.Abs(root)
	before := fileSHA256(t, grade)
	out := filepath.Join(t.TempDir(), "reports")
	m := hostile(t, "03-time-wait", "writes-reports-and-grader")
	gradeWith(t, grade, nil, "--case", "03-time-wait", "--from", filepath.Join(abs, "skeletons", "03-time-wait"),
		"--mutant", m.Dir, "--quiet", "--instructor", "--seed", "7", "--out", out, abs)
	if fileSHA256(t, grade) != before {
		t.Error("the grader's binary changed")
	}
	err := filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil && bytes.Contains(data, []byte("planted by a hostile submission")) {
			t.Errorf("%s holds the hostile program's text", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.ReadJSONFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(evidenceOf(r), "hostile: wrote 0 of") {
		t.Errorf("the report does not show the program's failed attempts")
	}
}

// evidenceOf is every evidence text of a report, joined.
func evidenceOf(r *report.Report) string {
	var b strings.Builder
	for _, c := range r.Cases {
		b.WriteString(c.Problem)
		for _, cr := range c.Criteria {
			for _, e := range cr.Evidence {
				b.WriteString(e.Text + "\n")
			}
		}
	}
	return b.String()
}

// A fork bomb in case 01's server costs case 01 its points, with the limit
// as the reason, and nothing of case 03, graded after it in the same run:
// case 03's skeleton gets exactly its usual verdicts.
func TestHostileCaseLeavesTheOtherCasesGraded(t *testing.T) {
	needSelftest(t)
	grade := buildGrade(t)
	sub := studentRoot(t, "01-backlog", hostile(t, "01-backlog", "fork-bomb"))
	out := filepath.Join(t.TempDir(), "reports")
	gradeWith(t, grade, nil, "--quiet", "--instructor", "--seed", "7", "--out", out, sub)
	r, err := report.ReadJSONFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(root)
	targets, err := Targets(abs, "03-time-wait")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Judge(targets[1], r) { // the skeleton
		t.Errorf("case 03 after a fork bomb in case 01: %s", p)
	}
	for _, c := range r.Cases {
		if c.Slug != "01-backlog" {
			continue
		}
		for _, cr := range c.Criteria {
			if cr.Status == report.Passed {
				t.Errorf("case 01's fork bomb passed %s", cr.ID)
			}
		}
	}
	if !strings.Contains(evidenceOf(r), "more than 1024 processes and threads") {
		t.Errorf("no evidence names the process limit:\n%s", evidenceOf(r))
	}
}

// gradeUntilRunning starts a grading of every case of sub and returns once
// the first check of the first case has finished (its progress line).
func gradeUntilRunning(t *testing.T, grade, sub, out string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(grade, "--color", "never", "--seed", "7", "--out", out, sub)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	cmd.Stderr = &rest
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	running := false
	for lines.Scan() {
		line := lines.Text()
		if strings.Contains(line, "running") && strings.Contains(line, "checks in") {
			running = true
			continue
		}
		if running && strings.HasPrefix(strings.TrimSpace(line), "01-backlog") {
			break
		}
	}
	go io.Copy(&rest, stdout)
	return cmd, &rest
}

// snapshot is SnapshotMachine for a test.
func snapshot(t *testing.T) Machine {
	t.Helper()
	m, err := SnapshotMachine()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkNothingLeft waits (up to 2 s) until no process of the student's user is
// left, then reports everything on the machine that was not there before.
func checkNothingLeft(t *testing.T, before Machine) {
	t.Helper()
	awaitNoStudentProcess(t, time.Now(), 2*time.Second)
	for _, l := range Leftovers(before, snapshot(t)) {
		t.Errorf("left behind: %s", l)
	}
}

// awaitNoStudentProcess waits until no process of the student's user is left,
// up to limit, and returns how long that took.
func awaitNoStudentProcess(t *testing.T, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	for {
		m := snapshot(t)
		left := 0
		for _, p := range m.Processes {
			if strings.HasSuffix(p, fmt.Sprintf("(uid %d)", jail.StudentUID)) {
				left++
			}
		}
		if left == 0 {
			return time.Since(since)
		}
		if time.Since(since) > limit {
			t.Fatalf("%d process(es) of the student's user still run %v after the grader was stopped: %v", left, limit, m.Processes)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SIGTERM in the middle of case 01 stops every student program within 2 s,
// and the grader writes a partial report naming the cases it did not grade; a
// grading started right after works.
func TestGraderInterruptedWritesAPartialReport(t *testing.T) {
	needSelftest(t)
	grade := buildGrade(t)
	sub := studentRoot(t, "", nil)
	before := snapshot(t)
	out := filepath.Join(t.TempDir(), "reports")
	cmd, _ := gradeUntilRunning(t, grade, sub, out)
	stopped := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	took := awaitNoStudentProcess(t, stopped, 2*time.Second)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("an interrupted grading must still exit 0 with its report: %v", err)
	}
	t.Logf("student programs gone %v after SIGTERM; the grader exited after %v", took, time.Since(stopped))
	r, err := report.ReadJSONFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Cases {
		want := "before this case started"
		if c.Slug == "01-backlog" {
			want = "during this case"
		}
		if !strings.Contains(c.Problem, "grading was interrupted (terminated) "+want) {
			t.Errorf("case %s: problem %q, want it to say grading was interrupted %s", c.Slug, c.Problem, want)
		}
	}
	second := filepath.Join(t.TempDir(), "reports")
	gradeWith(t, grade, nil, "--case", "03-time-wait", "--quiet", "--seed", "7", "--out", second, sub)
	r2, err := report.ReadJSONFile(filepath.Join(second, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r2.Cases[0].Problem != "" {
		t.Errorf("the grading after the interrupted one: %q", r2.Cases[0].Problem)
	}
	checkNothingLeft(t, before)
}

// SIGKILL of the grader takes its sandbox, and with it every student
// program, along at once; the only traces, the case's empty cgroup and the
// grader's work directory, are removed by the next grading.
func TestGraderKilledLeavesNothingBehind(t *testing.T) {
	needSelftest(t)
	grade := buildGrade(t)
	sub := studentRoot(t, "", nil)
	before := snapshot(t)
	cmd, _ := gradeUntilRunning(t, grade, sub, filepath.Join(t.TempDir(), "reports"))
	killed := time.Now()
	cmd.Process.Kill()
	cmd.Wait()
	took := awaitNoStudentProcess(t, killed, 2*time.Second)
	t.Logf("student programs gone %v after SIGKILL", took)
	gradeWith(t, grade, nil, "--case", "03-time-wait", "--quiet", "--seed", "7", sub)
	checkNothingLeft(t, before)
}

// A whole-run budget stops the grading on time: the case it ran out in keeps
// the verdicts it had, the cases after it are reported as not graded, and the
// grader exits 0 with its report.
func TestBudgetReportsWhatWasNotGraded(t *testing.T) {
	needSelftest(t)
	grade := buildGrade(t)
	sub := studentRoot(t, "", nil)
	out := filepath.Join(t.TempDir(), "reports")
	start := time.Now()
	gradeWith(t, grade, nil, "--budget", "10s", "--quiet", "--seed", "7", "--out", out, sub)
	t.Logf("a 10 s budget: the grading took %v", time.Since(start))
	r, err := report.ReadJSONFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	last := r.Cases[len(r.Cases)-1]
	if !strings.Contains(last.Problem, "the grading budget of 10s (--budget) ran out before this case started") {
		t.Errorf("the last case's problem is %q", last.Problem)
	}
	for _, cr := range last.Criteria {
		if cr.Status != report.Skipped {
			t.Errorf("%s is %s, want skipped (not graded)", cr.ID, cr.Status)
		}
	}
}
