package main

import (
	"bytes"
	"strings"
	"testing"
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
