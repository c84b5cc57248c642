// Command release builds a course's release of wirelab from this repository:
// the grader students download (dist/), the student repository to push as a
// GitHub Classroom template (student/), and the instructor's build of the
// grader with the Gradescope autograder (instructor/). See "Running a course
// with wirelab" in the README.
//
//	go run ./grader/cmd/release -version 2026.1 -url https://github.com/COURSE/wirelab/releases/download/2026.1 -out release
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/grader/release"
)

func main() {
	var opt release.Options
	flag.StringVar(&opt.Version, "version", "", "the release's `VERSION`, e.g. 2026.1 (grade --version prints it)")
	flag.StringVar(&opt.URL, "url", "", "the `URL` dist/ will be published at; the student's make grade fetches URL/grade_linux_<arch>")
	flag.StringVar(&opt.Out, "out", "release", "write the release into `DIR` (new or empty)")
	flag.StringVar(&opt.Course, "course", "", "the course's `TITLE` for the student README")
	flag.StringVar(&opt.Module, "module", "", "module `PATH` of the student repository (default wirelab/student)")
	arches := flag.String("arch", "amd64,arm64", "Linux `ARCHES` to build the student grader for")
	flag.Parse()
	opt.Arches = strings.Split(*arches, ",")
	opt.Log = os.Stderr
	repo, err := os.Getwd()
	if err == nil {
		opt.Repo, err = filepath.Abs(repo)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	res, err := release.Build(ctx, opt)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		os.Exit(1)
	}
	fmt.Printf("release %s built in %s:\n", opt.Version, time.Since(start).Round(time.Second))
	for _, name := range release.SortedNames(res.Sums) {
		st, err := os.Stat(filepath.Join(res.Dist, name))
		if err != nil {
			fmt.Fprintf(os.Stderr, "release: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("  %-40s %5.1f MB  sha256 %s\n", filepath.Join(res.Dist, name), float64(st.Size())/1e6, res.Sums[name])
	}
	fmt.Printf("  %s  (publish with the binaries)\n", filepath.Join(res.Dist, "SHA256SUMS"))
	fmt.Printf("  %s  (git init, push, mark as a template repository)\n", res.Student)
	fmt.Printf("  %s  (batch regrades: grade batch)\n", res.Instructor)
	fmt.Printf("  %s  (upload as the Gradescope autograder)\n", res.Gradescope)
}
