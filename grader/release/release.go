// Package release builds what a course needs from this repository:
//
//   - dist/: the grader students download, grade_linux_amd64 and
//     grade_linux_arm64 (student build: -trimpath, stripped, hidden specs
//     compiled in, --instructor refused), SHA256SUMS and VERSION;
//   - student/: the student repository, ready to git init and push as a
//     template (briefs, starter code, a go.mod of its own, a Makefile whose
//     make grade fetches the pinned grader and checks its SHA-256, the GitHub
//     Classroom workflow);
//   - instructor/: the instructor build of the grader (batch regrades) and
//     the Gradescope autograder zip.
//
// Nothing of the grader's source, the hidden specs, the rubrics or the
// fixtures goes into what students get; the package's tests prove it.
package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/template"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/wirelab/wirelab/grader/engine"
)

//go:embed all:template getgrader/main.go gradescope
var files embed.FS

// Options says what to release and where.
type Options struct {
	Repo    string   // root of this repository (the source of the release)
	Out     string   // directory to write; created, and must not exist or be empty
	Version string   // the course release, e.g. "2026.1" (letters, digits, . _ + -)
	URL     string   // where dist/ will be published: make grade fetches URL/grade_linux_<arch>
	Course  string   // the course's title, for the student README
	Module  string   // module path of the student repository; default "wirelab/student"
	Arches  []string // student builds; default amd64 and arm64
	Log     io.Writer
}

// Result is where the release put things.
type Result struct {
	Dist       string            // dist/: student binaries, SHA256SUMS, VERSION
	Sums       map[string]string // binary name -> hex SHA-256
	Student    string            // the student repository
	Instructor string            // the instructor build of grade (linux/amd64)
	Gradescope string            // the Gradescope autograder zip
}

// Build makes the whole release into opt.Out.
func Build(ctx context.Context, opt Options) (*Result, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	if err := emptyDir(opt.Out); err != nil {
		return nil, err
	}
	res := &Result{Dist: filepath.Join(opt.Out, "dist"), Sums: map[string]string{}}
	commit := commitOf(ctx, opt.Repo)
	for _, arch := range opt.Arches {
		name := BinaryName(arch)
		bin := filepath.Join(res.Dist, name)
		opt.logf("building %s (student build)", name)
		if err := buildGrade(ctx, opt, arch, "student", commit, bin); err != nil {
			return nil, err
		}
		sum, err := FileSHA256(bin)
		if err != nil {
			return nil, err
		}
		res.Sums[name] = sum
	}
	if err := writeSums(res.Dist, res.Sums); err != nil {
		return nil, err
	}
	res.Instructor = filepath.Join(opt.Out, "instructor", BinaryName("amd64"))
	opt.logf("building %s (instructor build)", BinaryName("amd64"))
	if err := buildGrade(ctx, opt, "amd64", "", commit, res.Instructor); err != nil {
		return nil, err
	}
	if err := writeVersion(ctx, res.Dist, opt.Arches); err != nil {
		return nil, err
	}
	res.Student = filepath.Join(opt.Out, "student")
	opt.logf("exporting the student repository")
	if err := ExportStudent(ctx, opt, res.Sums, res.Student); err != nil {
		return nil, err
	}
	res.Gradescope = filepath.Join(opt.Out, "instructor", "gradescope-autograder.zip")
	opt.logf("packing the Gradescope autograder")
	if err := PackGradescope(ctx, opt, res.Instructor, res.Gradescope); err != nil {
		return nil, err
	}
	return res, nil
}

func (opt *Options) check() error {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if opt.Module == "" {
		opt.Module = "wirelab/student"
	}
	if opt.Course == "" {
		opt.Course = "Network Protocols & Sockets: Case Studies"
	}
	if len(opt.Arches) == 0 {
		opt.Arches = []string{"amd64", "arm64"}
	}
	if opt.Repo == "" || opt.Out == "" {
		return errors.New("release: the repository and the output directory are both needed")
	}
	if _, err := os.Stat(filepath.Join(opt.Repo, "grader", "cmd", "grade")); err != nil {
		return fmt.Errorf("release: %s is not the wirelab repository (no grader/cmd/grade)", opt.Repo)
	}
	if opt.Version == "" || strings.Trim(opt.Version, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") != "" {
		return fmt.Errorf("release: version %q: use letters, digits and . _ + - only (e.g. 2026.1)", opt.Version)
	}
	if !strings.HasPrefix(opt.URL, "https://") && !strings.HasPrefix(opt.URL, "http://") {
		return fmt.Errorf("release: url %q: give the http(s) address dist/ will be published at (e.g. the course's release page)", opt.URL)
	}
	for _, arch := range opt.Arches {
		if arch != "amd64" && arch != "arm64" {
			return fmt.Errorf("release: architecture %q: the grader is built for amd64 and arm64", arch)
		}
	}
	return nil
}

func (opt *Options) logf(format string, args ...any) {
	fmt.Fprintf(opt.Log, "release: "+format+"\n", args...)
}

// BinaryName is the file name of the grader for a Linux architecture, as
// getgrader asks for it ("grade_" + GOOS + "_" + GOARCH).
func BinaryName(arch string) string { return "grade_linux_" + arch }

// versionPkg is where the build stamps the version (grader/version).
const versionPkg = "github.com/wirelab/wirelab/grader/version"

// buildGrade cross-compiles grader/cmd/grade for linux/arch into out: static,
// -trimpath, stripped, stamped with the version, the commit and the flavor.
func buildGrade(ctx context.Context, opt Options, arch, flavor, commit, out string) error {
	ldflags := fmt.Sprintf("-s -w -X %s.Version=%s -X %s.Commit=%s -X %s.Flavor=%s",
		versionPkg, opt.Version, versionPkg, commit, versionPkg, flavor)
	err := BuildGrade(ctx, opt.Repo, out, []string{"GOOS=linux", "GOARCH=" + arch},
		"-trimpath", "-buildvcs=false", "-ldflags", ldflags)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// BuildGrade builds grader/cmd/grade of the repository at repo into out, the
// way every grader that grades is built: without cgo, as the release ships it,
// so that the selftest, the stability run and the bench judge the binary
// students get (a pure-Go process differs: LAB-NOTES.md, "deadlock"). env and
// flags are added to the environment and to go build's flags.
func BuildGrade(ctx context.Context, repo, out string, env []string, flags ...string) error {
	args := append(append([]string{"build"}, flags...), "-o", out, "./grader/cmd/grade")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repo
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", filepath.Base(out), err, output)
	}
	return nil
}

// commitOf is the repository's commit, "+dirty" when the tree has changes
// (the release then does not match any commit exactly), "unknown" without git.
func commitOf(ctx context.Context, repo string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	if status, err := exec.CommandContext(ctx, "git", "-C", repo, "status", "--porcelain").Output(); err == nil && len(bytes.TrimSpace(status)) > 0 {
		commit += "+dirty"
	}
	return commit
}

// writeSums writes SHA256SUMS in the format sha256sum -c reads.
func writeSums(dir string, sums map[string]string) error {
	var b strings.Builder
	for _, name := range SortedNames(sums) {
		fmt.Fprintf(&b, "%s  %s\n", sums[name], name)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}

// writeVersion runs the student build for this machine with --version and
// keeps what it prints, so the release states what the binary itself reports.
func writeVersion(ctx context.Context, dist string, arches []string) error {
	if !slices.Contains(arches, runtime.GOARCH) || runtime.GOOS != "linux" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(dist, BinaryName(runtime.GOARCH)), "--version").Output()
	if err != nil {
		return fmt.Errorf("release: the built grader does not run: %w", err)
	}
	return os.WriteFile(filepath.Join(dist, "VERSION"), out, 0o644)
}

// FileSHA256 is the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// emptyDir creates dir, or accepts it when it exists and is empty: a release
// never mixes with an earlier one.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("release: %s is not empty; give a new directory", dir)
	}
	return nil
}

// SortedNames lists the keys of m in order (binary names of a release).
func SortedNames(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Sum is one line of grader.lock.
type Sum struct{ Name, Hex string }

// caseInfo is what the student README lists per case.
type caseInfo struct{ Slug, Title string }

// templateData fills the student repository's templates.
type templateData struct {
	Course, Version, URL, GoVersion string
	Cases                           []caseInfo
	Sums                            []Sum
}

// ExportStudent writes the student repository into dir: assignments/ and
// skeletons/ as they are here, the README, Makefile, .gitignore, grader.lock
// (pinning sums), the classroom workflow, tools/getgrader, and a go.mod and
// go.sum for the student's programs alone.
func ExportStudent(ctx context.Context, opt Options, sums map[string]string, dir string) error {
	if err := opt.check(); err != nil {
		return err
	}
	if err := emptyDir(dir); err != nil {
		return err
	}
	// The catalog's cases only: a case still being written has a brief or a
	// skeleton here before the grader knows it, and no student should get it.
	for _, sub := range []string{"assignments", "skeletons"} {
		if err := copyTree(filepath.Join(opt.Repo, sub), filepath.Join(dir, sub), releasedPath); err != nil {
			return err
		}
	}
	goVersion, err := goDirective(filepath.Join(opt.Repo, "go.mod"))
	if err != nil {
		return err
	}
	data := templateData{Course: opt.Course, Version: opt.Version, URL: strings.TrimRight(opt.URL, "/"), GoVersion: goVersion}
	for _, slug := range engine.Slugs() {
		rub, err := engine.Rubric(slug)
		if err != nil {
			return err
		}
		data.Cases = append(data.Cases, caseInfo{Slug: slug, Title: rub.Title})
	}
	for _, name := range SortedNames(sums) {
		data.Sums = append(data.Sums, Sum{Name: name, Hex: sums[name]})
	}
	if err := writeTemplates(dir, data); err != nil {
		return err
	}
	src, err := files.ReadFile("getgrader/main.go")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "tools", "getgrader", "main.go"), src, 0o644); err != nil {
		return err
	}
	return studentModule(ctx, opt, goVersion, dir)
}

// writeTemplates writes every file under template/: NAME.tmpl filled with data
// as NAME, "gitignore" as .gitignore, the rest as they are.
func writeTemplates(dir string, data templateData) error {
	return fs.WalkDir(files, "template", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "template/")
		if base, ok := strings.CutSuffix(rel, ".tmpl"); ok {
			t, err := template.New(path.Base(p)).Option("missingkey=error").Parse(string(content))
			if err != nil {
				return fmt.Errorf("release: %s: %w", p, err)
			}
			var b bytes.Buffer
			if err := t.Execute(&b, data); err != nil {
				return fmt.Errorf("release: %s: %w", p, err)
			}
			rel, content = base, b.Bytes()
		}
		if rel == "gitignore" {
			rel = ".gitignore"
		}
		return writeFile(filepath.Join(dir, filepath.FromSlash(rel)), content, 0o644)
	})
}

// releasedPath reports whether a path under assignments/ or skeletons/ goes
// to students: a file at the top (assignments/README.md), or one under a
// case the catalog knows.
func releasedPath(rel string) bool {
	first, _, nested := strings.Cut(filepath.ToSlash(rel), "/")
	return !nested || engine.Known(first)
}

// copyTree copies the regular files under src that keep(their path relative
// to src) accepts into dst.
func copyTree(src, dst string, keep func(rel string) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() || !keep(rel) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dst, rel), data, 0o644)
	})
}

func writeFile(p string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, mode)
}

// goDirective is the go line of a go.mod ("1.26.8").
func goDirective(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	f, err := modfile.ParseLax(gomod, data, nil)
	if err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	if f.Go == nil {
		return "", fmt.Errorf("release: %s has no go directive", gomod)
	}
	return f.Go.Version, nil
}

// studentModule writes dir/go.mod and dir/go.sum: a module of its own for the
// student's programs, requiring (at this repository's versions) the modules of
// the packages the briefs allow beyond the standard library, so that a student
// can import them without go get. go mod tidy completes go.sum in a scratch
// copy that imports each package once.
func studentModule(ctx context.Context, opt Options, goVersion, dir string) error {
	imports := engine.StudentImports()
	scratch, err := os.MkdirTemp("", "wirelab-student-module-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	gomod := fmt.Sprintf("module %s\n\ngo %s\n", opt.Module, goVersion)
	if len(imports) > 0 {
		// The modules that provide them, at the versions this repository uses.
		list := exec.CommandContext(ctx, "go", append([]string{"list", "-f", "require {{.Module.Path}} {{.Module.Version}}"}, imports...)...)
		list.Dir = opt.Repo
		out, err := list.Output()
		if err != nil {
			return fmt.Errorf("release: which modules provide %v: %v", imports, err)
		}
		gomod += "\n" + string(out)
	}
	if err := os.WriteFile(filepath.Join(scratch, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	var src strings.Builder
	src.WriteString("package imports\n\nimport (\n")
	for _, imp := range imports {
		fmt.Fprintf(&src, "\t_ %q\n", imp)
	}
	src.WriteString(")\n")
	if err := os.WriteFile(filepath.Join(scratch, "imports.go"), []byte(src.String()), 0o644); err != nil {
		return err
	}
	tidy := exec.CommandContext(ctx, "go", "mod", "tidy")
	tidy.Dir = scratch
	tidy.Env = append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local")
	if out, err := tidy.CombinedOutput(); err != nil {
		return fmt.Errorf("release: go mod tidy for the student module: %v\n%s", err, out)
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(scratch, name))
		if errors.Is(err, fs.ErrNotExist) && name == "go.sum" {
			data, err = nil, nil
		}
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
