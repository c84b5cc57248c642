// Command grade grades a wirelab submission: it builds the student's programs,
// runs each case's hidden specs against them with real sockets in a network
// namespace of their own, checks the written artifacts, and prints a score
// with evidence and hints. See the README for the flags.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/grader/engine"
	"github.com/wirelab/wirelab/grader/jail"
	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/version"
)

// The main goroutine keeps the main thread, so that no goroutine that enters
// another network namespace (lab.Netns) ever lands on it (see LAB-NOTES.md).
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) >= 2 && os.Args[1] == jail.Command {
		os.Exit(jail.Main(os.Args[2:]))
	}
	if len(os.Args) == 3 && os.Args[1] == engine.ChildCommand {
		os.Exit(engine.RunChild(os.Args[2]))
	}
	if len(os.Args) >= 3 && os.Args[1] == lab.HelperCommand {
		os.Exit(lab.RunHelper(os.Args[2:]))
	}
	if len(os.Args) >= 2 && os.Args[1] == batchCommand {
		os.Exit(runBatch(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) == 3 && os.Args[1] == gradescopeFlag {
		os.Exit(runGradescope(os.Args[2], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// caseList is a repeatable --case flag.
type caseList []string

func (c *caseList) String() string     { return strings.Join(*c, ",") }
func (c *caseList) Set(v string) error { *c = append(*c, v); return nil }

// run is the command without process exits: 0 when grading ran (whatever the
// score, unless --fail-under), 1 below --fail-under, 2 when grading could not run.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("grade", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var (
		cases      caseList
		from       = flags.String("from", "", "with one --case: take that case's programs and artifact from `DIR` instead of skeletons/SLUG")
		mutantDir  = flags.String("mutant", "", "with one --case: apply the mutant in `DIR` over --from (selftest and instructors)")
		seedFlag   = flags.String("seed", "", "replay the randomized hidden parameters of an earlier run (`N`, printed in every report)")
		outDir     = flags.String("out", "", "write report.json, junit.xml, report.md, classroom.json, gradescope.json and pr-comment.md into `DIR`")
		failUnder  = flags.Float64("fail-under", -1, "exit 1 when the score is below `PERCENT` (for CI)")
		instructor = flags.Bool("instructor", false, "show the evidence of hidden criteria")
		color      = flags.String("color", "auto", "color the terminal output: auto, always or never")
		quiet      = flags.Bool("quiet", false, "no progress lines, only the summary")
		showVer    = flags.Bool("version", false, "print the grader's version, commit and rubrics digest, and exit")
		sharedNet  = flags.Bool("shared-netns", false, "where no network namespace can be made (a container, as on Gradescope), grade in the grader's own: checks that need one are not graded")
		budget     = flags.Duration("budget", DefaultBudget, "stop grading after `DURATION` for the whole run (0: no budget); the cases left are reported as not graded, so a CI job always gets its report")
	)
	flags.Var(&cases, "case", "grade only this case `SLUG` (repeatable); cases: "+strings.Join(engine.Slugs(), ", "))
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: grade [flags] [DIR]\n       grade batch [flags] DIR   (instructors: regrade a folder of submissions into gradebook.csv; grade batch -h)\n       grade --gradescope ROOT   (Gradescope's run_autograder: grades ROOT/submission into ROOT/results/results.json)\n\nGrades the submission rooted at DIR (default: the current directory).\n\nflags:\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVer {
		fmt.Fprint(stdout, version.Long())
		return 0
	}
	if *instructor && version.Student() {
		fmt.Fprintln(stderr, "grade: --instructor is not available in the student build of the grader; hidden criteria stay hidden until the instructor grades them")
		return 2
	}
	if flags.NArg() > 1 {
		fmt.Fprintf(stderr, "grade: one submission directory at most, got %q\n", flags.Args())
		return 2
	}
	root := "."
	if flags.NArg() == 1 {
		root = flags.Arg(0)
	}
	if st, err := os.Stat(filepath.Join(root, "go.mod")); err != nil || st.IsDir() {
		fmt.Fprintf(stderr, "grade: %s is not a submission: it has no go.mod (run grade from the root of your wirelab checkout, or give its path)\n", root)
		return 2
	}
	seed, err := seedOf(*seedFlag)
	if err != nil {
		fmt.Fprintf(stderr, "grade: %v\n", err)
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "grade: cannot find my own executable: %v\n", err)
		return 2
	}
	opt := report.SummaryOptions{Color: useColor(*color, stdout)}

	ctx, stop := stopContext(*budget, stderr)
	defer stop()
	inActions := os.Getenv("GITHUB_ACTIONS") == "true"
	resume := func() {}
	if inActions {
		// What the student's programs printed reaches this log in the
		// evidence: no line of it may act as a workflow command until the
		// grader's own annotations.
		if resume, err = report.SuspendWorkflowCommands(stdout); err != nil {
			fmt.Fprintf(stderr, "grade: %v\n", err)
			return 2
		}
		defer resume()
	}
	fmt.Fprintf(stdout, "wirelab grade: seed %d\n", seed)
	r, err := engine.Run(ctx, engine.Options{
		Root: root, Cases: cases, From: *from, Mutant: *mutantDir, Seed: seed,
		Instructor: *instructor, Executable: exe, Artifacts: artifactsDir(*outDir), SharedNetns: *sharedNet,
		Progress: func(ev report.ProgressEvent) {
			if !*quiet {
				report.WriteProgress(stdout, ev, opt)
			}
		},
		Status: func(slug, what string) {
			if !*quiet {
				fmt.Fprintf(stdout, "  %-14s  %s\n", slug, what)
			}
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "grade: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout)
	if err := report.WriteSummary(stdout, r, opt); err != nil {
		fmt.Fprintf(stderr, "grade: %v\n", err)
		return 2
	}
	if *outDir != "" {
		if err := writeFiles(*outDir, r); err != nil {
			fmt.Fprintf(stderr, "grade: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "reports written to %s (report.json, junit.xml, report.md, classroom.json, gradescope.json, pr-comment.md)\n", *outDir)
	}
	if inActions {
		resume()
		if err := publishToGitHub(r, stdout, os.Getenv); err != nil {
			fmt.Fprintf(stderr, "grade: %v\n", err)
			return 2
		}
	}
	if *failUnder >= 0 && r.Percent() < *failUnder {
		fmt.Fprintf(stderr, "grade: score %.1f%% is below --fail-under %.1f%%\n", r.Percent(), *failUnder)
		return 1
	}
	return 0
}

// DefaultBudget bounds a whole grading by default: a CI job's step gets its
// report well before a usual job timeout, while every case of the module
// grades in a few minutes on a 2-core machine.
const DefaultBudget = 15 * time.Minute

// stopContext is the grading's context: it ends when the budget runs out (0:
// never) or at the first SIGINT or SIGTERM, with the cause the report gives
// (engine.BudgetError, engine.InterruptedError). The first signal stops the
// case being graded and lets the grader write its partial report; a second
// one ends the grader at once (its children die with it).
func stopContext(budget time.Duration, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	stopBudget := func() bool { return false }
	if budget > 0 {
		t := time.AfterFunc(budget, func() { cancel(&engine.BudgetError{Budget: budget}) })
		stopBudget = t.Stop
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			signal.Stop(sigs) // the next one has its default effect
			fmt.Fprintf(stderr, "\ngrade: %v: stopping the case being graded and writing a partial report (again to quit at once)\n", sig)
			cancel(&engine.InterruptedError{Signal: sig})
		case <-done:
		}
	}()
	return ctx, func() {
		stopBudget()
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// seedOf is the --seed flag's value, or a new seed when it was not given.
func seedOf(flag string) (int64, error) {
	if flag == "" {
		return engine.NewSeed(), nil
	}
	n, err := strconv.ParseInt(flag, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--seed wants a non-negative whole number, got %q", flag)
	}
	return n, nil
}

// writeFiles writes the report files into dir.
func writeFiles(dir string, r *report.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	writers := []struct {
		name  string
		write func(io.Writer, *report.Report) error
	}{
		{"report.json", report.WriteJSON},
		{"junit.xml", report.WriteJUnit},
		{"report.md", report.WriteMarkdown},
		{"classroom.json", report.WriteClassroom},
		{"gradescope.json", report.WriteGradescope},
		{"pr-comment.md", func(w io.Writer, r *report.Report) error {
			return report.WritePRComment(w, r, fullReportPlace(os.Getenv), 0)
		}},
	}
	for _, w := range writers {
		f, err := os.Create(filepath.Join(dir, w.name))
		if err != nil {
			return err
		}
		err = w.write(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
	}
	return nil
}

// fullReportPlace says where the full report is, for a pull request comment
// too long to hold it: the workflow run (its summary and its artifact) in
// GitHub Actions, else report.md beside the comment.
func fullReportPlace(getenv func(string) string) string {
	server, repo, run := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || run == "" {
		return "report.md, written beside this comment"
	}
	return fmt.Sprintf("the summary of [this workflow run](%s/%s/actions/runs/%s) and its wirelab-reports artifact", server, repo, run)
}

// useColor decides whether to color the terminal output.
func useColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// artifactsDir is where specs keep packet captures: beside the reports.
func artifactsDir(out string) string {
	if out == "" {
		return ""
	}
	return filepath.Join(out, "artifacts")
}

// publishToGitHub, in a GitHub Actions job, prints annotations (on the artifact
// lines, and per criterion that did not pass), adds the Markdown report to the
// job's summary ($GITHUB_STEP_SUMMARY), and sets the step output `result` to
// the GitHub Classroom runner result, base64-encoded, for
// autograding-grading-reporter ($GITHUB_OUTPUT).
func publishToGitHub(r *report.Report, stdout io.Writer, getenv func(string) string) error {
	if err := report.WriteAnnotations(stdout, r); err != nil {
		return err
	}
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := appendTo(path, func(w io.Writer) error { return report.WriteMarkdown(w, r) }); err != nil {
			return fmt.Errorf("job summary: %w", err)
		}
	}
	if path := getenv("GITHUB_OUTPUT"); path != "" {
		var result bytes.Buffer
		if err := report.WriteClassroom(&result, r); err != nil {
			return err
		}
		line := "result=" + base64.StdEncoding.EncodeToString(result.Bytes()) + "\n"
		if err := appendTo(path, func(w io.Writer) error { _, err := io.WriteString(w, line); return err }); err != nil {
			return fmt.Errorf("step output: %w", err)
		}
	}
	return nil
}

// appendTo appends what write writes to the file at path.
func appendTo(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
