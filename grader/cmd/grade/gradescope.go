package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
)

// gradescopeFlag runs grade as Gradescope's autograder (run_autograder calls
// `grade --gradescope /autograder`).
const gradescopeFlag = "--gradescope"

// gradescopeTimeoutScale stretches every timeout on Gradescope, whose containers
// get half a CPU by default, unless WIRELAB_TIMEOUT_SCALE says otherwise.
const gradescopeTimeoutScale = "3"

// runGradescope grades ROOT/submission in instructor mode (Gradescope hides
// what the rubric hides), in the container's own network namespace when it
// may not make one (--shared-netns), keeps the reports in ROOT/results/wirelab and writes
// ROOT/results/results.json. Whatever happens, results.json is written: a
// submission that cannot be graded gets 0 points and the reason, which the
// student sees.
// gradescopeBudget is the grading budget under Gradescope, whose autograders
// are ended after 10 minutes unless the assignment allows more.
const gradescopeBudget = 8 * time.Minute

func runGradescope(root string, stdout, stderr io.Writer) int {
	results := filepath.Join(root, "results")
	if err := os.MkdirAll(results, 0o755); err != nil {
		fmt.Fprintf(stderr, "grade: %v\n", err)
		return 2
	}
	if os.Getenv(lab.EnvTimeoutScale) == "" {
		os.Setenv(lab.EnvTimeoutScale, gradescopeTimeoutScale)
	}
	var log bytes.Buffer
	sub, err := submissionRoot(filepath.Join(root, "submission"))
	code := 2
	if err != nil {
		fmt.Fprintln(&log, err)
	} else {
		reports := filepath.Join(results, "wirelab")
		// Gradescope ends an autograder after 10 minutes by default, and a
		// submission it ends gets 0 and no report: the budget ends first.
		code = run([]string{"--instructor", "--shared-netns", "--color", "never", "--budget", gradescopeBudget.String(), "--out", reports, sub},
			io.MultiWriter(stdout, &log), io.MultiWriter(stderr, &log))
		if code == 0 {
			if err := copyFile(filepath.Join(reports, "gradescope.json"), filepath.Join(results, "results.json")); err == nil {
				return 0
			} else {
				fmt.Fprintf(&log, "grade: %v\n", err)
			}
		}
	}
	if err := writeGradescopeFailure(filepath.Join(results, "results.json"), log.String()); err != nil {
		fmt.Fprintf(stderr, "grade: %v\n", err)
		return 2
	}
	return 0
}

// submissionRoot finds the repository in what the student submitted: dir
// itself when it has a go.mod, else its only subdirectory that has one (an
// upload of a zip with a top folder).
func submissionRoot(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return dir, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("the submission could not be read: %w", err)
	}
	var found []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "go.mod")); err == nil {
				found = append(found, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return "", errors.New("the submission is not a wirelab repository: its top folder has no go.mod. " +
		"Submit the whole repository (from GitHub, or a zip of the folder that holds go.mod, skeletons/ and assignments/)")
}

// writeGradescopeFailure writes a results.json for a submission the grader
// could not grade: no points, and why, in the student's view.
func writeGradescopeFailure(path, log string) error {
	msg := "The grader could not grade this submission, so it has no points yet. What it said:\n\n" +
		report.Clip(strings.TrimSpace(log), 8000) + "\n\nFix what it names and submit again; if it looks like the grader's fault, tell your instructor."
	data, err := json.MarshalIndent(map[string]any{
		"score": 0, "output": msg, "output_format": "text", "stdout_visibility": "hidden", "tests": []any{},
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
