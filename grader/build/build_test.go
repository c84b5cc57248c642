package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/grader/internal/testtree"
)

// submission writes a tiny module (module example.com/x) into a temp dir:
// files maps slash paths to contents. It returns the module root.
func submission(t *testing.T, files map[string]string) string {
	t.Helper()
	files["go.mod"] = "module example.com/x\n\ngo 1.26\n"
	return testtree.Write(t, files)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

const broken = `package main

import "fmt"

func main() {
	fmt.Println(greeting)
	n := 1
}
`

func TestCompileErrorIsFeedback(t *testing.T) {
	root := submission(t, map[string]string{"skeletons/01-x/server/main.go": broken})
	out := filepath.Join(t.TempDir(), "server")
	err := Program(ctx(t), Options{Root: root, Dir: filepath.Join(root, "skeletons/01-x/server"), Out: out})
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("Program = %v, want a *CompileError", err)
	}
	if ce.Program != "skeletons/01-x/server" {
		t.Errorf("Program = %q, want the package's path relative to the root", ce.Program)
	}
	for _, want := range []string{
		"skeletons/01-x/server/main.go:6:14: undefined: greeting",
		"skeletons/01-x/server/main.go:7:2: declared and not used: n",
	} {
		if !strings.Contains(ce.Output, want) {
			t.Errorf("Output does not say %q:\n%s", want, ce.Output)
		}
	}
	for _, line := range strings.Split(ce.Output, "\n") {
		if strings.HasPrefix(line, "# ") || strings.HasPrefix(line, "./") || strings.Contains(line, root) {
			t.Errorf("Output line %q: want no package header, no ./ path and no absolute path", line)
		}
	}
	if !strings.HasPrefix(err.Error(), "skeletons/01-x/server does not compile:\n") {
		t.Errorf("Error() = %q", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a program that does not compile left an executable")
	}
}

func TestGoodProgramBuildsAndRuns(t *testing.T) {
	root := submission(t, map[string]string{
		"cmd/hello/main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from x\") }\n",
	})
	// Relative paths work as well: they are taken from the caller's directory.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	relDir, err := filepath.Rel(wd, filepath.Join(root, "cmd/hello"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "hello")
	if err := Program(ctx(t), Options{Root: root, Dir: relDir, Out: out}); err != nil {
		t.Fatalf("Program: %v", err)
	}
	got, err := exec.Command(out).Output()
	if err != nil || string(got) != "hello from x\n" {
		t.Errorf("the built program printed %q, %v", got, err)
	}
}

func TestOverlayReplacesAFile(t *testing.T) {
	root := submission(t, map[string]string{
		"cmd/hello/main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"original\") }\n",
	})
	work := t.TempDir()
	replacement := filepath.Join(work, "main.go")
	if err := os.WriteFile(replacement, []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"replaced\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(work, "overlay.json")
	json := fmt.Sprintf(`{"Replace":{%q:%q}}`, filepath.Join(root, "cmd/hello/main.go"), replacement)
	if err := os.WriteFile(overlay, []byte(json), 0o644); err != nil {
		t.Fatal(err)
	}
	// The overlay file is named relative to the caller's directory, like Dir
	// and Out, although go build runs in the program's directory.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	relOverlay, err := filepath.Rel(wd, overlay)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "hello")
	if err := Program(ctx(t), Options{Root: root, Dir: filepath.Join(root, "cmd/hello"), Out: out, Overlay: relOverlay}); err != nil {
		t.Fatalf("Program with an overlay: %v", err)
	}
	if got, err := exec.Command(out).Output(); err != nil || string(got) != "replaced\n" {
		t.Errorf("the program built with the overlay printed %q, %v", got, err)
	}
}

func TestToolchainFailureIsNotACompileError(t *testing.T) {
	root := t.TempDir()
	err := Program(ctx(t), Options{Root: root, Dir: filepath.Join(root, "missing"), Out: filepath.Join(root, "out")})
	var ce *CompileError
	if err == nil || errors.As(err, &ce) {
		t.Fatalf("Program in a missing directory = %v, want an error that is not a *CompileError", err)
	}
	if !strings.Contains(err.Error(), "build: run go build in ") {
		t.Errorf("error = %q", err)
	}
}

func TestTidy(t *testing.T) {
	got := tidy("# example.com/x/server\n./main.go:3:1: syntax error\n./util.go:9:2: undefined: x\nnote: module requires Go 1.99\n", "skeletons/01/server")
	want := "skeletons/01/server/main.go:3:1: syntax error\nskeletons/01/server/util.go:9:2: undefined: x\nnote: module requires Go 1.99"
	if got != want {
		t.Errorf("tidy = %q, want %q", got, want)
	}

	var long strings.Builder
	long.WriteString("# example.com/x\n")
	for i := 1; i <= 42; i++ {
		fmt.Fprintf(&long, "./main.go:%d:1: undefined: v%d\n", i, i)
	}
	lines := strings.Split(tidy(long.String(), "p"), "\n")
	if len(lines) != 31 {
		t.Fatalf("tidy kept %d lines of 42, want 30 and a summary", len(lines))
	}
	if lines[0] != "p/main.go:1:1: undefined: v1" || lines[29] != "p/main.go:30:1: undefined: v30" {
		t.Errorf("kept lines run from %q to %q", lines[0], lines[29])
	}
	if lines[30] != "… and 12 more lines" {
		t.Errorf("last line %q, want %q", lines[30], "… and 12 more lines")
	}

	exactly := strings.Repeat("./a.go:1:1: x\n", 30)
	if got := tidy(exactly, "p"); strings.Contains(got, "more lines") || strings.Count(got, "\n") != 29 {
		t.Errorf("30 lines were cut: %q", got)
	}
}

func TestRelative(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(root, "skeletons", "01", "server"), "skeletons/01/server"},
		{root, "."},
		{"/elsewhere/server", "/elsewhere/server"}, // outside the root: kept whole
	} {
		if got := Relative(root, tc.dir); got != tc.want {
			t.Errorf("Relative(root, %q) = %q, want %q", tc.dir, got, tc.want)
		}
	}
}
