package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/grader/batch"
	"github.com/wirelab/wirelab/grader/engine"
	"github.com/wirelab/wirelab/grader/version"
)

// batchCommand is the subcommand that regrades a folder of submissions.
const batchCommand = "batch"

// runBatch is `grade batch [flags] DIR`: every submission in DIR into a gradebook.
func runBatch(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("grade batch", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var cases caseList
	var (
		out     = flags.String("out", "", "write gradebook.csv and students/NAME/ (each student's reports) into `DIR` (default: DIR-gradebook beside the submissions)")
		seedArg = flags.String("seed", "", "one seed `N` for every submission (default: a new one, printed)")
		force   = flags.Bool("force", false, "grade again what this grader has already graded")
		timeout = flags.Duration("timeout", 0, "stop a submission's grading after `D` (default: 4m per case plus 5m for building)")
	)
	flags.Var(&cases, "case", "grade only this case `SLUG` (repeatable)")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: grade batch [flags] DIR\n\nGrades every submission in DIR (one directory per student, as gh classroom clone student-repos leaves them),\none after another, into a gradebook. A rerun skips what this grader already graded.\n\nflags:\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() != 1 {
		flags.Usage()
		return 2
	}
	if version.Student() {
		fmt.Fprintln(stderr, "grade batch: regrades run from the instructor's build of the grader (make build, or instructor/ in the course's release)")
		return 2
	}
	dir := flags.Arg(0)
	if *out == "" {
		*out = filepath.Clean(dir) + "-gradebook"
	}
	seed, err := seedOf(*seedArg)
	if err != nil {
		fmt.Fprintf(stderr, "grade batch: %v\n", err)
		return 2
	}
	if len(cases) == 0 {
		cases = engine.Slugs()
	}
	for _, c := range cases {
		if !engine.Known(c) {
			fmt.Fprintf(stderr, "grade batch: unknown case %q (known: %v)\n", c, engine.Slugs())
			return 2
		}
	}
	if *timeout <= 0 {
		*timeout = time.Duration(len(cases))*engine.CaseTimeout + 5*time.Minute
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "grade batch: cannot find my own executable: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "wirelab grade batch: %s, seed %d, grader %s\n", dir, seed, version.Short())
	rows, err := batch.Run(ctx, batch.Options{Dir: dir, Out: *out, GradeBinary: exe, GraderVersion: version.Short(),
		Seed: seed, Cases: cases, Force: *force, Timeout: *timeout, Progress: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "grade batch: %v\n", err)
		return 2
	}
	failed := 0
	for _, r := range rows {
		if r.Status == "error" {
			failed++
		}
	}
	fmt.Fprintf(stdout, "gradebook: %s/gradebook.csv (%d submissions, %d not graded)\n", *out, len(rows), failed)
	return 0
}
