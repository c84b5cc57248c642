package selftest

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"encoding/csv"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirelab/wirelab/grader/engine"
	"github.com/wirelab/wirelab/grader/mutant"
	"github.com/wirelab/wirelab/grader/release"
	"github.com/wirelab/wirelab/grader/report"
)

// TestCourseReleaseEndToEnd builds a course's release, publishes its binaries
// on a local HTTP server, and uses it as a course would: a student repository
// made from the export grades with `make grade` (Go and make only) exactly as
// the instructor's grader does for the same seed; a tampered binary is refused;
// the references copied in score full marks; a batch regrade of five
// submissions writes the right gradebook rows; Gradescope's run_autograder
// writes a results.json with Gradescope's fields.
func TestCourseReleaseEndToEnd(t *testing.T) {
	if os.Getenv(EnvSelftest) == "" {
		t.Skipf("set %s=1 to run (make test does)", EnvSelftest)
	}
	abs, _ := filepath.Abs(root)
	base := t.TempDir()
	out := filepath.Join(base, "release")
	var tampered atomic.Bool // when set, the server serves a different binary
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tampered.Load() {
			io.WriteString(w, "#!/bin/sh\necho not the grader\n")
			return
		}
		http.FileServer(http.Dir(filepath.Join(out, "dist"))).ServeHTTP(w, r)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := release.Build(ctx, release.Options{Repo: abs, Out: out, Version: "e2e.1", URL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("release built in %v", time.Since(start).Round(time.Second))
	checkBinaries(t, abs, res)

	// The student repository, as a student clones it.
	student := filepath.Join(base, "class", "student")
	copyDir(t, res.Student, student)
	git(t, student, "init", "-q")
	git(t, student, "add", "-A")
	git(t, student, "commit", "-q", "-m", "template")

	const seed = 20261203
	start = time.Now()
	studentReport := makeGrade(t, student, seed, "reports")
	t.Logf("first make grade in the student repository (download included): %v, %d/%d points",
		time.Since(start).Round(time.Second), studentReport.Points, studentReport.MaxPoints)
	if status := git(t, student, "status", "--porcelain"); status != "" {
		t.Errorf("make grade left files git does not ignore:\n%s", status)
	}
	instructor := buildGrade(t)
	instructorReport := gradeDir(t, instructor, abs, seed)
	for _, slug := range engine.Slugs() {
		got, want := Verdicts(studentReport, slug), Verdicts(instructorReport, slug)
		if len(want) == 0 || !maps.Equal(got, want) {
			t.Errorf("%s: the student repository's verdicts differ from the instructor's for seed %d:\nstudent    %v\ninstructor %v", slug, seed, got, want)
		}
	}
	if studentReport.Points != instructorReport.Points {
		t.Errorf("student repository: %d points, instructor's grader: %d", studentReport.Points, instructorReport.Points)
	}

	// A binary whose checksum does not match is refused, and nothing is run.
	tamperedRepo := filepath.Join(base, "class", "tampered")
	copyDir(t, res.Student, tamperedRepo)
	tampered.Store(true)
	cmd := exec.Command("make", "grade")
	cmd.Dir = tamperedRepo
	output, err := cmd.CombinedOutput()
	tampered.Store(false)
	if err == nil || !strings.Contains(string(output), "refusing the grader downloaded from") || strings.Contains(string(output), "not the grader") {
		t.Errorf("make grade with a tampered download: %v\n%s", err, output)
	}

	// The references, copied into the student repository, score full marks there.
	completed := filepath.Join(base, "class", "completed")
	copyDir(t, student, completed)
	for _, slug := range engine.Slugs() {
		copyDir(t, filepath.Join(abs, "fixtures", slug, "reference"), filepath.Join(completed, "skeletons", slug))
	}
	if r := makeGrade(t, completed, seed, "reports"); r.Points != r.MaxPoints {
		t.Errorf("the references in the student repository: %d/%d points", r.Points, r.MaxPoints)
	}

	batchOfFive(t, abs, res, student, completed, seed)
	gradescope(t, res, completed)
}

// checkBinaries: both architectures, static and stripped, no path of this
// machine in them, SHA256SUMS right, --version says what was released.
func checkBinaries(t *testing.T, abs string, res *release.Result) {
	t.Helper()
	sums, err := os.ReadFile(filepath.Join(res.Dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		name := release.BinaryName(arch)
		path := filepath.Join(res.Dist, name)
		f, err := elf.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.Machine != machine {
			t.Errorf("%s is built for %v", name, f.Machine)
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s is not stripped", name)
		}
		f.Close()
		data, _ := os.ReadFile(path)
		if bytes.Contains(data, []byte(abs)) {
			t.Errorf("%s holds this machine's path %s (built without -trimpath?)", name, abs)
		}
		if !strings.Contains(string(sums), res.Sums[name]+"  "+name+"\n") {
			t.Errorf("SHA256SUMS lacks %s:\n%s", name, sums)
		}
		st, _ := os.Stat(path)
		t.Logf("%s: %.1f MB", name, float64(st.Size())/1e6)
	}
	ver, err := os.ReadFile(filepath.Join(res.Dist, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"wirelab grade e2e.1 (student build)", "commit  ", "rubrics sha256:"} {
		if !strings.Contains(string(ver), want) {
			t.Errorf("grade --version printed %q, want %q", ver, want)
		}
	}
}

// batchOfFive regrades five submissions (the references, the skeleton, a
// mutant, a broken one, one that does not compile) of case 03 and checks each
// row against what the fixture declares.
func batchOfFive(t *testing.T, abs string, res *release.Result, skeleton, completed string, seed int64) {
	t.Helper()
	const slug = "03-time-wait"
	targets, err := Targets(abs, slug)
	if err != nil {
		t.Fatal(err)
	}
	find := func(name string) Target {
		i := slices.IndexFunc(targets, func(tg Target) bool { return tg.Name == name })
		if i < 0 {
			t.Fatalf("no fixture %s", name)
		}
		return targets[i]
	}
	dir := filepath.Join(filepath.Dir(skeleton), "..", "submissions")
	students := map[string]Target{
		"ada-reference":     find(slug + "/reference"),
		"bo-skeleton":       find(slug + "/skeleton"),
		"cy-mutant":         find(slug + "/mutant/address-big-endian"),
		"di-broken":         find(slug + "/broken/sockstat-panics"),
		"ed-does-not-build": find(slug + "/broken/server-does-not-compile"),
	}
	for name, tg := range students {
		sub := filepath.Join(dir, name)
		switch {
		case tg.From == "":
			copyDir(t, skeleton, sub)
		case strings.HasSuffix(tg.From, "reference"):
			copyDir(t, completed, sub)
		default:
			copyDir(t, skeleton, sub)
		}
		if tg.Mutant != "" {
			m, err := mutant.Load(tg.Mutant)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Apply(filepath.Join(sub, "skeletons", slug), filepath.Join(sub, "skeletons", slug)); err != nil {
				t.Fatal(err)
			}
		}
	}
	book := filepath.Join(dir, "..", "gradebook")
	start := time.Now()
	cmd := exec.Command(res.Instructor, "batch", "--case", slug, "--seed", itoa(seed), "--out", book, dir)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("grade batch: %v\n%s", err, output)
	} else {
		t.Logf("batch of %d submissions in %v:\n%s", len(students), time.Since(start).Round(time.Second), output)
	}
	f, err := os.Open(filepath.Join(book, "gradebook.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(students)+1 {
		t.Fatalf("gradebook has %d rows, want %d:\n%v", len(rows)-1, len(students), rows)
	}
	for _, row := range rows[1:] {
		name := row[0]
		tg, ok := students[name]
		if !ok {
			t.Errorf("gradebook row for an unknown student %q", name)
			continue
		}
		// student, 03-time-wait, total, max_points, completion_met, seed, grader, status, note
		if row[7] != "graded" {
			t.Errorf("%s: status %q (%s), want graded", name, row[7], row[8])
			continue
		}
		r := readReport(t, filepath.Join(book, "students", name, "report.json"))
		for _, p := range Judge(tg, r) {
			t.Errorf("%s: %s", name, p)
		}
		if row[1] != itoa(int64(r.Points)) || row[2] != itoa(int64(r.Points)) || row[5] != itoa(seed) {
			t.Errorf("%s: gradebook row %v does not match the report (%d points, seed %d)", name, row, r.Points, r.Seed)
		}
	}
}

// gradescope runs the zip's run_autograder in a directory laid out like
// /autograder, on the completed submission.
func gradescope(t *testing.T, res *release.Result, completed string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "autograder")
	unzip(t, res.Gradescope, filepath.Join(root, "source"))
	copyDir(t, completed, filepath.Join(root, "submission"))
	cmd := exec.Command(filepath.Join(root, "source", "run_autograder"))
	cmd.Env = append(os.Environ(), "AUTOGRADER_ROOT="+root)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run_autograder: %v\n%s", err, output)
	}
	data, err := os.ReadFile(filepath.Join(root, "results", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var results struct {
		Score  *float64 `json:"score"`
		Output string   `json:"output"`
		Tests  []struct {
			Name       string   `json:"name"`
			Score      *float64 `json:"score"`
			MaxScore   *float64 `json:"max_score"`
			Status     string   `json:"status"`
			Visibility string   `json:"visibility"`
			Output     string   `json:"output"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	var total, max float64
	for _, tc := range results.Tests {
		if tc.Score == nil || tc.MaxScore == nil || tc.Name == "" || !slices.Contains([]string{"visible", "hidden", "after_due_date", "after_published"}, tc.Visibility) ||
			!slices.Contains([]string{"passed", "failed"}, tc.Status) {
			t.Errorf("results.json test lacks Gradescope's fields: %+v", tc)
			continue
		}
		total += *tc.Score
		max += *tc.MaxScore
	}
	if results.Score == nil || *results.Score != total || total != max || len(results.Tests) == 0 || results.Output == "" {
		t.Errorf("results.json: score %v, tests add up to %v of %v over %d tests", results.Score, total, max, len(results.Tests))
	}
}

// makeGrade runs `make grade` in a student repository with nothing but Go and
// make on the PATH, and reads the report it wrote.
func makeGrade(t *testing.T, repo string, seed int64, out string) *report.Report {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	makebin, err := exec.LookPath("make")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, tool := range []string{gobin, makebin, "/bin/sh"} {
		os.Symlink(tool, filepath.Join(bin, filepath.Base(tool)))
	}
	cmd := exec.Command(makebin, "grade", "ARGS=--seed "+itoa(seed)+" --out "+out+" --quiet --color never")
	cmd.Dir = repo
	cmd.Env = append(withoutPath(os.Environ()), "PATH="+bin)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make grade in %s: %v\n%s", repo, err, output)
	}
	return readReport(t, filepath.Join(repo, out, "report.json"))
}

func gradeDir(t *testing.T, grade, dir string, seed int64) *report.Report {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(grade, "--seed", itoa(seed), "--out", out, "--quiet", "--color", "never", dir)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("grade %s: %v\n%s", dir, err, output)
	}
	return readReport(t, filepath.Join(out, "report.json"))
}

func readReport(t *testing.T, path string) *report.Report {
	t.Helper()
	r, err := report.ReadJSONFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=wirelab", "-c", "user.email=wirelab@example.invalid"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	// os.CopyFS refuses to overwrite; the references are copied over skeletons.
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if rel == ".git" || rel == ".grader" || rel == "reports" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(filepath.Join(dst, rel), data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func unzip(t *testing.T, zipPath, dst string) {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dst, f.Name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, data, f.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"setup.sh", "run_autograder", "grade"} {
		if st, err := os.Stat(filepath.Join(dst, want)); err != nil || st.Mode().Perm()&0o100 == 0 {
			t.Errorf("the Gradescope zip lacks an executable %s: %v", want, err)
		}
	}
}

func withoutPath(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "PATH=") })
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
