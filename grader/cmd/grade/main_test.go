package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirelab/wirelab/grader/report"
)

// TestRunRefusesBadInput: grading that cannot run exits 2 with a message that
// says why, before anything is built or started.
func TestRunRefusesBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "flag provided but not defined: -nope"},
		{"bad seed", []string{"--seed", "twelve", "../../.."}, `--seed wants a non-negative whole number, got "twelve"`},
		{"negative seed", []string{"--seed", "-3", "../../.."}, "--seed wants a non-negative whole number"},
		{"not a submission", []string{t.TempDir()}, "has no go.mod"},
		{"two directories", []string{"a", "b"}, "one submission directory at most"},
		{"unknown case", []string{"--case", "99-nope", "../../.."}, `unknown case "99-nope" (known: 01-backlog`},
		{"from without one case", []string{"--from", "x", "../../.."}, "--from and --mutant need exactly one --case"},
		{"from a missing directory", []string{"--case", "01-backlog", "--from", "no/such/dir", "../../.."}, "--from no/such/dir: not a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(c.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit code %d, want 2; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.want) {
				t.Errorf("stderr %q does not say %q", stderr.String(), c.want)
			}
		})
	}
}

// TestHelpExitsZero: -h prints the usage with every flag and exits 0.
func TestHelpExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, flag := range []string{"-case", "-from", "-mutant", "-seed", "-out", "-fail-under", "-instructor"} {
		if !strings.Contains(stderr.String(), flag) {
			t.Errorf("usage lacks %s:\n%s", flag, stderr.String())
		}
	}
}

// TestPublishToGitHub: in a GitHub Actions job the grade shows up three ways:
// annotations on stdout, the Markdown report in the job summary, and the
// Classroom result (base64 JSON) as the step output `result`.
func TestPublishToGitHub(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"),
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
	}
	os.WriteFile(env["GITHUB_OUTPUT"], []byte("earlier=1\n"), 0o644) // other steps' outputs stay
	r := &report.Report{Seed: 7, Points: 10, MaxPoints: 20, Cases: []report.Case{{
		Slug: "01-backlog", Points: 10, MaxPoints: 20, Criteria: []report.Criterion{
			{ID: "backlog.serves", Title: "Serves", Status: report.Passed, Points: 10, MaxPoints: 10},
			{ID: "backlog.sheds-load", Title: "Sheds load", Status: report.Failed, MaxPoints: 10,
				Evidence: []report.Evidence{{Name: "failure", Text: "3 clients timed out"}}},
		},
		Artifact: &report.Artifact{File: "skeletons/01-backlog/handshake.md", Status: report.Failed,
			Findings: []report.Finding{{Line: 4, Message: "no accept()"}}},
	}}}
	var stdout bytes.Buffer
	if err := publishToGitHub(r, &stdout, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"::error title=01-backlog · backlog.sheds-load%3A Sheds load::failed (0/10 points): 3 clients timed out\n",
		"::error file=skeletons/01-backlog/handshake.md,line=4,title=01-backlog artifact::no accept()\n",
		"::notice title=wirelab grade::10/20 points",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("annotations lack %q:\n%s", want, stdout.String())
		}
	}
	summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	if !strings.Contains(string(summary), "## wirelab grade: 10/20 points") {
		t.Errorf("job summary:\n%s", summary)
	}
	output, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	lines := strings.Split(strings.TrimSpace(string(output)), "\n")
	if len(lines) != 2 || lines[0] != "earlier=1" || !strings.HasPrefix(lines[1], "result=") {
		t.Fatalf("step outputs:\n%s", output)
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[1], "result="))
	if err != nil {
		t.Fatal(err)
	}
	var result struct {
		Status   string `json:"status"`
		MaxScore int    `json:"max_score"`
		Tests    []struct {
			Score int `json:"score"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(decoded, &result); err != nil {
		t.Fatal(err)
	}
	if result.Status != "fail" || result.MaxScore != 20 || len(result.Tests) != 3 || result.Tests[0].Score != 10 {
		t.Errorf("Classroom result %+v", result)
	}
}
