// Package batch regrades a folder of student submissions into a gradebook: one
// directory per student (as `gh classroom clone student-repos` leaves them),
// graded one after another (the specs measure time: never two at once on one
// machine), each by a grade process of its own with a time limit, so that a
// submission that breaks or hangs the grader is recorded with the reason and
// the batch goes on. It writes gradebook.csv after every submission and keeps
// each student's reports; a rerun skips the submissions already graded by the
// same grader.
package batch

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
)

// Options says what to grade and where the gradebook goes.
type Options struct {
	Dir           string        // the folder of submissions, one directory per student
	Out           string        // gradebook.csv, and students/<name>/ with each student's reports
	GradeBinary   string        // the grade binary (instructor build)
	GraderVersion string        // its version (version.Short): a report by another version is graded again
	Seed          int64         // one seed for everyone: the same hidden parameters for the whole class
	Cases         []string      // the cases to grade, in gradebook order
	Force         bool          // grade again even what this grader already graded
	Timeout       time.Duration // per submission; the grade process group is killed beyond it
	Progress      io.Writer     // one line per submission
}

// Row is one student's line of the gradebook.
type Row struct {
	Student    string
	Points     map[string]int // per case slug
	Total, Max int
	Completion bool
	Seed       int64
	Grader     string
	Status     string // graded, reused (graded before by the same grader), or error
	Note       string // why an error, or the grading time
}

// Run grades every submission and returns the gradebook's rows. An error means
// the batch itself could not run (no folder, no grader, an unwritable output).
func Run(ctx context.Context, opt Options) ([]Row, error) {
	students, err := submissions(opt.Dir, opt.Out)
	if err != nil {
		return nil, err
	}
	if len(students) == 0 {
		return nil, fmt.Errorf("batch: %s holds no submissions (one directory per student)", opt.Dir)
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, err
	}
	var rows []Row
	var spent time.Duration
	graded := 0
	for i, name := range students {
		if ctx.Err() != nil {
			return rows, ctx.Err()
		}
		start := time.Now()
		row := gradeOne(ctx, opt, name)
		took := time.Since(start)
		if row.Status != "reused" {
			spent += took
			graded++
		}
		rows = append(rows, row)
		if err := writeGradebook(filepath.Join(opt.Out, "gradebook.csv"), opt.Cases, rows); err != nil {
			return rows, err
		}
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "[%d/%d] %s: %s%s\n", i+1, len(students), name, row.summary(), eta(spent, graded, len(students)-i-1))
		}
	}
	return rows, nil
}

// submissions lists the student directories in dir, sorted; hidden ones, and
// the gradebook's own directory if it is in there, are skipped.
func submissions(dir, gradebook string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	book, _ := filepath.Abs(gradebook)
	var out []string
	for _, e := range entries {
		abs, _ := filepath.Abs(filepath.Join(dir, e.Name()))
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && abs != book {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// gradeOne grades one student's submission, or reuses the report this grader
// wrote before.
func gradeOne(ctx context.Context, opt Options, name string) Row {
	dir := filepath.Join(opt.Out, "students", name)
	reportPath := filepath.Join(dir, "report.json")
	if !opt.Force {
		if r, err := report.ReadJSONFile(reportPath); err == nil && r.Grader == opt.GraderVersion {
			return rowOf(name, r, opt.Cases, "reused", "graded before by this grader")
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return errorRow(name, opt, err.Error())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errorRow(name, opt, err.Error())
	}
	start := time.Now()
	exitErr := runGrade(ctx, opt, filepath.Join(opt.Dir, name), dir)
	took := report.SecondsOf(time.Since(start))
	r, err := report.ReadJSONFile(reportPath)
	switch {
	case exitErr != nil:
		return errorRow(name, opt, exitErr.Error())
	case err != nil:
		return errorRow(name, opt, "the grader wrote no report: "+err.Error())
	}
	return rowOf(name, r, opt.Cases, "graded", "graded in "+took.String())
}

// runGrade runs the grader on one submission in a process group of its own,
// its output in grade.log beside the reports; the group is killed at the
// time limit.
func runGrade(ctx context.Context, opt Options, submission, out string) error {
	logFile, err := os.Create(filepath.Join(out, "grade.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	// The grader's own budget ends before the time limit, so that a
	// submission that takes too long still gets its report.
	args := []string{"--instructor", "--quiet", "--color", "never", "--seed", strconv.FormatInt(opt.Seed, 10), "--out", out,
		"--budget", (opt.Timeout * 9 / 10).String()}
	for _, c := range opt.Cases {
		args = append(args, "--case", c)
	}
	args = append(args, submission)
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, opt.GradeBinary, args...)
	tail := lab.NewTailBuffer(4 << 10) // for the last line of a failure
	cmd.Stdout = logFile
	cmd.Stderr = io.MultiWriter(logFile, tail)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("the grader did not finish within %s and was stopped", opt.Timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(tail.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return fmt.Errorf("the grader failed (%v): %s", err, report.Clip(msg, 300))
	}
	return nil
}

func rowOf(name string, r *report.Report, cases []string, status, note string) Row {
	row := Row{Student: name, Points: map[string]int{}, Total: r.Points, Max: r.MaxPoints,
		Completion: r.Completion.Met, Seed: r.Seed, Grader: r.Grader, Status: status, Note: note}
	for _, c := range r.Cases {
		row.Points[c.Slug] = c.Points
	}
	return row
}

func errorRow(name string, opt Options, why string) Row {
	return Row{Student: name, Seed: opt.Seed, Grader: opt.GraderVersion, Status: "error", Note: why}
}

func (r Row) summary() string {
	if r.Status == "error" {
		return "not graded: " + r.Note
	}
	return fmt.Sprintf("%d/%d points, %s", r.Total, r.Max, r.Note)
}

// eta estimates the time left from the mean time of the submissions graded so far.
func eta(spent time.Duration, graded, left int) string {
	if graded == 0 || left == 0 {
		return ""
	}
	return " · ETA " + (spent / time.Duration(graded) * time.Duration(left)).Round(time.Second).String()
}

// writeGradebook writes the rows as CSV (through a temporary file, so that an
// interrupted batch leaves the last complete gradebook).
func writeGradebook(path string, cases []string, rows []Row) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	header := append([]string{"student"}, cases...)
	header = append(header, "total", "max_points", "completion_met", "seed", "grader", "status", "note")
	if err := w.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		rec := []string{r.Student}
		for _, c := range cases {
			if r.Status == "error" {
				rec = append(rec, "")
			} else {
				rec = append(rec, strconv.Itoa(r.Points[c]))
			}
		}
		total, max := strconv.Itoa(r.Total), strconv.Itoa(r.Max)
		if r.Status == "error" {
			total, max = "", ""
		}
		rec = append(rec, total, max, strconv.FormatBool(r.Completion), strconv.FormatInt(r.Seed, 10), r.Grader, r.Status, r.Note)
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
