package release

import (
	"bufio"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/rhysd/actionlint"
)

// repoRoot is this repository, from the package directory.
const repoRoot = "../.."

// exportedDir is the student repository exported once for the tests of this binary.
var exportedDir string

// exportOnce exports into a directory that lives as long as the test binary.
func exportOnce(t *testing.T) string {
	t.Helper()
	if exportedDir != "" {
		return exportedDir
	}
	base, err := os.MkdirTemp("", "wirelab-export-test-")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "student")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opt := Options{Repo: repoRoot, Out: base, Version: "2026.1", URL: "https://example.edu/wirelab/2026.1"}
	sums := map[string]string{BinaryName("amd64"): strings.Repeat("a", 64), BinaryName("arm64"): strings.Repeat("b", 64)}
	if err := ExportStudent(ctx, opt, sums, dir); err != nil {
		os.RemoveAll(base)
		t.Fatal(err)
	}
	exportedDir = dir
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if exportedDir != "" {
		os.RemoveAll(filepath.Dir(exportedDir))
	}
	os.Exit(code)
}

func TestStudentRepositoryHasWhatAStudentNeeds(t *testing.T) {
	dir := exportOnce(t)
	for _, want := range []string{"README.md", "Makefile", "go.mod", "go.sum", "grader.lock", ".gitignore",
		".github/workflows/classroom.yml", "tools/getgrader/main.go", "assignments/README.md",
		"assignments/01-backlog/README.md", "skeletons/01-backlog/server/main.go", "skeletons/03-time-wait/close-states.md"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("student repository lacks %s: %v", want, err)
		}
	}
	lock, _ := os.ReadFile(filepath.Join(dir, "grader.lock"))
	for _, want := range []string{"version 2026.1", "url https://example.edu/wirelab/2026.1", "sha256 grade_linux_amd64 " + strings.Repeat("a", 64)} {
		if !strings.Contains(string(lock), want) {
			t.Errorf("grader.lock lacks %q:\n%s", want, lock)
		}
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(gomod), "module wirelab/student") || !strings.Contains(string(gomod), "golang.org/x/sys") {
		t.Errorf("go.mod should be the student's module requiring golang.org/x/sys (the briefs allow it):\n%s", gomod)
	}
	readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	for _, want := range []string{"make grade", "git push", "01-backlog", "03-time-wait", "grader.lock", "Autograding Tests"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("student README does not mention %q", want)
		}
	}
}

// TestExportHidesTheAnswers searches the student repository for what must
// never be in it: the grader's packages, the fixtures, the rubrics, tests, the
// identifiers the hidden specs declare, and every line of a reference, a
// variant, a mutant or a broken submission that the skeletons do not have too.
// TestOnlyCatalogCasesAreReleased: a case being written (its brief or
// skeleton already here, the grader not yet knowing it) stays out of the
// student repository.
func TestOnlyCatalogCasesAreReleased(t *testing.T) {
	for rel, want := range map[string]bool{
		"README.md":                    true,
		"01-backlog/README.md":         true,
		"03-time-wait/server/main.go":  true,
		"99-in-progress/README.md":     false,
		"99-in-progress/server/x.go":   false,
		"01-backlog-draft/server/x.go": false,
	} {
		if got := releasedPath(rel); got != want {
			t.Errorf("releasedPath(%q) = %v, want %v", rel, got, want)
		}
	}
}

func TestExportHidesTheAnswers(t *testing.T) {
	for _, leak := range leaks(t, exportOnce(t)) {
		t.Error(leak)
	}
}

// TestLeakSearchFindsLeaks proves the search above can fail: a reference
// program and a spec file copied into an export are both found.
func TestLeakSearchFindsLeaks(t *testing.T) {
	work := t.TempDir()
	if err := os.CopyFS(work, os.DirFS(exportOnce(t))); err != nil {
		t.Fatal(err)
	}
	copyInto := func(src, dst string) {
		data, err := os.ReadFile(filepath.Join(repoRoot, src))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(work, dst)), 0o755)
		os.WriteFile(filepath.Join(work, dst), data, 0o644)
	}
	copyInto("fixtures/03-time-wait/reference/server/main.go", "skeletons/03-time-wait/server/reference.go")
	copyInto("grader/specs/timewait/scene.go", "notes.txt")
	found := strings.Join(leaks(t, work), "\n")
	for _, want := range []string{"skeletons/03-time-wait/server/reference.go holds a line of", "notes.txt names"} {
		if !strings.Contains(found, want) {
			t.Errorf("the leak search missed %q; it found:\n%s", want, found)
		}
	}
}

// leaks lists what in the student repository at dir gives the answers away.
func leaks(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	text := map[string]string{}  // exported file -> contents
	lines := map[string]string{} // trimmed exported line -> a file holding it
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		for _, banned := range []string{"grader/", "fixtures/", "rubrics/"} {
			if strings.HasPrefix(rel, banned) {
				found = append(found, "student repository holds "+rel)
			}
		}
		if strings.HasSuffix(rel, "_test.go") || strings.HasSuffix(rel, ".yaml") && !strings.HasPrefix(rel, ".github/") {
			found = append(found, "student repository holds "+rel+" (tests and rubrics stay in the instructor's repository)")
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text[rel] = string(data)
		for _, l := range strings.Split(string(data), "\n") {
			lines[strings.TrimSpace(l)] = rel
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Lines students have anyway: the skeletons', and those of the tooling the
	// release ships by design (getgrader, the templates), where an idiom such
	// as "defer resp.Body.Close()" gives no answer away.
	skeletonLines := linesUnder(t, filepath.Join(repoRoot, "skeletons"))
	for _, tool := range []string{"getgrader", "template", "gradescope"} {
		maps.Copy(skeletonLines, linesUnder(t, filepath.Join(repoRoot, "grader", "release", tool)))
	}
	checked := 0
	for _, sub := range []string{"reference", "variants", "mutants", "broken"} {
		matches, _ := filepath.Glob(filepath.Join(repoRoot, "fixtures", "*", sub))
		for _, m := range matches {
			for line, where := range linesUnder(t, m) {
				if len(line) < 20 || skeletonLines[line] != "" {
					continue
				}
				checked++
				if file, ok := lines[line]; ok {
					found = append(found, fmt.Sprintf("%s holds a line of %s that the skeletons do not have: %q", file, where, line))
				}
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d solution lines were checked: the fixtures were not found", checked)
	}

	ids := specIdentifiers(t, filepath.Join(repoRoot, "grader", "specs"))
	// A name the skeleton itself declares is the student's already (acceptLoop).
	for name := range specIdentifiers(t, filepath.Join(repoRoot, "skeletons")) {
		delete(ids, name)
	}
	if len(ids) < 100 {
		t.Fatalf("only %d spec identifiers were found: the specs were not parsed", len(ids))
	}
	for _, rel := range slices.Sorted(maps.Keys(text)) {
		seen := map[string]bool{}
		for _, word := range words(text[rel]) {
			if where, ok := ids[word]; ok && !seen[word] {
				seen[word] = true
				found = append(found, fmt.Sprintf("%s names %s, which the hidden specs declare (%s)", rel, word, where))
			}
		}
	}
	t.Logf("checked %d solution lines and %d spec identifiers against %d files", checked, len(ids), len(text))
	return found
}

// linesUnder maps each trimmed line of the files under dir to the file holding it.
func linesUnder(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			out[strings.TrimSpace(sc.Text())] = p
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// specIdentifiers collects the identifiers the spec packages declare (types,
// functions, methods, variables, constants, fields, parameters) that would
// give them away: at least six characters, with an inner capital, a digit or
// an underscore (camelCase, not an English word), and not also declared by
// the standard library's exported API a student's code uses (kept out by
// requiring a lower-case first letter or an inner capital after it).
func specIdentifiers(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var names []*ast.Ident
			switch n := n.(type) {
			case *ast.FuncDecl:
				names = append(names, n.Name)
			case *ast.TypeSpec:
				names = append(names, n.Name)
			case *ast.ValueSpec:
				names = append(names, n.Names...)
			case *ast.Field:
				names = append(names, n.Names...)
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE {
					for _, l := range n.Lhs {
						if id, ok := l.(*ast.Ident); ok {
							names = append(names, id)
						}
					}
				}
			}
			for _, id := range names {
				if telling(id.Name) {
					out[id.Name] = filepath.Base(p)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// telling reports whether an identifier is specific enough that finding it in
// the student repository means spec code leaked: lowerCamelCase of six
// characters or more with an inner capital ("awaitServerClose"). Exported
// names are left out: many are the standard library's own (ReadFile, LocalAddr).
func telling(name string) bool {
	if len(name) < 6 || !unicode.IsLower(rune(name[0])) {
		return false
	}
	return strings.IndexFunc(name[1:], unicode.IsUpper) >= 0
}

// words splits text into identifier-like words.
func words(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')
	})
}

func TestStudentModuleBuildsOffline(t *testing.T) {
	dir := exportOnce(t)
	// A copy, with a program that imports what the briefs allow, built with
	// nothing but go.mod, go.sum and the module cache.
	work := t.TempDir()
	if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join(work, "skeletons", "probe")
	os.MkdirAll(probe, 0o755)
	os.WriteFile(filepath.Join(probe, "main.go"), []byte("package main\n\nimport \"golang.org/x/sys/unix\"\n\nfunc main() { _ = unix.Getpid() }\n"), 0o644)
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./... in the student repository: %v\n%s", err, out)
	}
	cmd = exec.Command("go", "vet", "./...")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet ./... in the student repository: %v\n%s", err, out)
	}
}

// TestWorkflowsPassActionlint lints every workflow the release ships.
func TestWorkflowsPassActionlint(t *testing.T) {
	dir := exportOnce(t)
	workflows, _ := filepath.Glob(filepath.Join(dir, ".github", "workflows", "*.yml"))
	if len(workflows) == 0 {
		t.Fatal("the student repository has no workflow")
	}
	for _, wf := range workflows {
		data, err := os.ReadFile(wf)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range lint(t, filepath.Base(wf), data) {
			t.Errorf("%s:%d:%d: %s [%s]", filepath.Base(wf), e.Line, e.Column, e.Message, e.Kind)
		}
	}
	// The linter can fail: a step output of a step that does not exist is caught.
	bad := "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ steps.nope.outputs.result }}\n"
	if errs := lint(t, "bad.yml", []byte(bad)); len(errs) == 0 {
		t.Error("actionlint found nothing wrong with a workflow that reads an undefined step's output")
	}
}

func lint(t *testing.T, name string, data []byte) []*actionlint.Error {
	t.Helper()
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := linter.Lint(name, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

// TestClassroomConventions holds the workflow to what GitHub Classroom needs
// to sync points: its name, its one job, checks: write, the reporter reading
// the grader's step output.
func TestClassroomConventions(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(exportOnce(t), ".github", "workflows", "classroom.yml"))
	if err != nil {
		t.Fatal(err)
	}
	wf := string(data)
	for _, want := range []string{
		"name: Autograding Tests\n", "  run-autograding-tests:\n", "  checks: write\n",
		"classroom-resources/autograding-grading-reporter@v1", "WIRELAB_RESULTS: \"${{ steps.wirelab.outputs.result }}\"",
		"runners: wirelab", "id: wirelab", "sudo -E", "--out reports", "reports/pr-comment.md", "<!-- wirelab-report -->",
		"actions/upload-artifact@",
	} {
		if !strings.Contains(wf, want) {
			t.Errorf("classroom.yml lacks %q", want)
		}
	}
	if n := strings.Count(wf, "runs-on:"); n != 1 {
		t.Errorf("classroom.yml has %d jobs; GitHub Classroom reads one", n)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	base := Options{Repo: repoRoot, Out: t.TempDir(), Version: "2026.1", URL: "https://x"}
	for name, mutate := range map[string]func(*Options){
		"version with a space": func(o *Options) { o.Version = "2026 1" },
		"no url":               func(o *Options) { o.URL = "" },
		"not the repository":   func(o *Options) { o.Repo = t.TempDir() },
		"unknown architecture": func(o *Options) { o.Arches = []string{"mips"} },
	} {
		opt := base
		mutate(&opt)
		if err := opt.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := base.check(); err != nil || !slices.Equal(base.Arches, []string{"amd64", "arm64"}) {
		t.Errorf("good options: %v, arches %v", err, base.Arches)
	}
}

// TestGradescopeScriptsParse: setup.sh (filled in) and run_autograder are
// valid bash, and setup.sh checks what it downloads.
func TestGradescopeScriptsParse(t *testing.T) {
	setup, err := setupScript(&toolchain{GoToolchain: "go1.26.8", ToolchainModuleVersion: "v0.0.1-go1.26.8.linux-amd64",
		ToolchainURL: "https://proxy.golang.org/x.zip", ToolchainSHA256: strings.Repeat("c", 64)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(setup), strings.Repeat("c", 64)+"  $zip\" | sha256sum -c -") {
		t.Errorf("setup.sh does not check the toolchain's SHA-256:\n%s", setup)
	}
	run, err := files.ReadFile("gradescope/run_autograder")
	if err != nil {
		t.Fatal(err)
	}
	for name, script := range map[string][]byte{"setup.sh": setup, "run_autograder": run} {
		cmd := exec.Command("bash", "-n")
		cmd.Stdin = strings.NewReader(string(script))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s is not valid bash: %v\n%s", name, err, out)
		}
	}
}
