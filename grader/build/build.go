// Package build compiles a submission's programs with the Go toolchain. A
// compile error is not the grader's failure: it becomes the student's feedback,
// with the compiler's own message and paths relative to the submission.
package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CompileError is the compiler's verdict on a program, fit to show a student.
type CompileError struct {
	Program string // e.g. "skeletons/01-backlog/server"
	Output  string // the compiler's messages, paths relative to the submission
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("%s does not compile:\n%s", e.Program, e.Output)
}

// Env is what a student's build adds to the grader's environment:
//   - no cgo: a program that uses no C is linked statically, so it runs in the
//     jail, which holds no shared libraries (package jail), and no C compiler
//     runs on flags a submission wrote (#cgo directives);
//   - the local toolchain only: a go.mod or go.work that asks for another Go
//     does not make the grader download and run it.
var Env = []string{"CGO_ENABLED=0", "GOTOOLCHAIN=local"}

// Options says how to build one program.
type Options struct {
	Root    string // the submission root; messages name paths relative to it
	Dir     string // the program's package directory
	Out     string // the executable to write
	Overlay string // optional `go build -overlay` file (mutants)
}

// Program builds the package in opt.Dir into opt.Out. A compile error is
// returned as *CompileError; any other error means the toolchain could not run.
func Program(ctx context.Context, opt Options) error {
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(opt.Out)
	if err != nil {
		return err
	}
	// No version-control stamp: a student's program does not need one, and git
	// refuses a checkout owned by another user (sudo make grade in CI).
	args := []string{"build", "-buildvcs=false", "-o", out}
	if opt.Overlay != "" {
		// Like Dir and Out, taken from our directory, not the program's.
		overlay, err := filepath.Abs(opt.Overlay)
		if err != nil {
			return err
		}
		args = append(args, "-overlay", overlay)
	}
	args = append(args, ".")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir // the enclosing module is found from the program's own directory
	cmd.Env = append(os.Environ(), Env...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	err = cmd.Run()
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return fmt.Errorf("build: run go build in %s: %w", dir, err)
	}
	rel := Relative(opt.Root, dir)
	return &CompileError{Program: rel, Output: tidy(output.String(), rel)}
}

// tidy makes the compiler's "./main.go:3:1" read "skeletons/x/server/main.go:3:1"
// and drops the "# package" header line.
func tidy(output, rel string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(output, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "# "):
			continue
		case strings.HasPrefix(l, "./"):
			l = rel + "/" + strings.TrimPrefix(l, "./")
		}
		lines = append(lines, l)
	}
	const keep = 30
	if len(lines) > keep {
		lines = append(lines[:keep], fmt.Sprintf("… and %d more lines", len(lines)-keep))
	}
	return strings.Join(lines, "\n")
}

// Relative names path relative to the submission root, with forward slashes,
// as students see it ("skeletons/01-backlog/server"); a path outside the root
// is returned as it is.
func Relative(root, path string) string {
	absRoot, err1 := filepath.Abs(root)
	abs, err2 := filepath.Abs(path)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(absRoot, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return path
}
