package engine

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/wirelab/wirelab/grader/report"
)

// submission makes a submission root with one case directory holding a
// program, and returns both.
func submission(t *testing.T) (root, caseDir string) {
	t.Helper()
	root = t.TempDir()
	caseDir = filepath.Join(root, "skeletons", "03-time-wait")
	if err := os.MkdirAll(filepath.Join(caseDir, "server"), 0o755); err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string]string{
		"go.mod":                                  "module wirelab/student\n",
		"skeletons/03-time-wait/server/main.go":   "package main\n",
		"skeletons/03-time-wait/close-states.md":  "# x\n",
		".git/objects/big":                        strings.Repeat("x", 100),
		"skeletons/03-time-wait/server/helper.go": "package main\n",
	} {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, caseDir
}

func TestCheckTreeAcceptsAnOrdinarySubmission(t *testing.T) {
	root, caseDir := submission(t)
	// A link inside the submission is fine.
	if err := os.Symlink("main.go", filepath.Join(caseDir, "server", "alias.go.txt")); err != nil {
		t.Fatal(err)
	}
	if got := checkTree(root, caseDir); got != "" {
		t.Errorf("checkTree = %q, want no problem", got)
	}
}

func TestCheckTreeRefusesWhatCouldTrickTheGrader(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, root, caseDir string)
		want string
	}{
		{"link outside", func(t *testing.T, root, caseDir string) {
			must(t, os.Symlink("/etc/passwd", filepath.Join(caseDir, "server", "secret.go")))
		}, "skeletons/03-time-wait/server/secret.go is a symbolic link to /etc/passwd, outside your submission"},
		{"link outside elsewhere in the module", func(t *testing.T, root, caseDir string) {
			must(t, os.MkdirAll(filepath.Join(root, "internal"), 0o755))
			must(t, os.Symlink("/etc", filepath.Join(root, "internal", "etc")))
		}, "internal/etc is a symbolic link to /etc, outside your submission"},
		{"dangling link", func(t *testing.T, root, caseDir string) {
			must(t, os.Symlink("nowhere.go", filepath.Join(caseDir, "server", "gone.go")))
		}, "gone.go is a symbolic link to nowhere.go, which does not exist"},
		{"named pipe", func(t *testing.T, root, caseDir string) {
			must(t, syscall.Mkfifo(filepath.Join(caseDir, "server", "pipe.go"), 0o644))
		}, "skeletons/03-time-wait/server/pipe.go is not a regular file"},
		{"huge file", func(t *testing.T, root, caseDir string) {
			f, err := os.Create(filepath.Join(caseDir, "capture.pcap"))
			must(t, err)
			must(t, f.Truncate(maxCaseFileSize+1))
			must(t, f.Close())
		}, "skeletons/03-time-wait/capture.pcap is 8 MiB; the grader reads no file above 8 MiB"},
		{"not UTF-8", func(t *testing.T, root, caseDir string) {
			must(t, os.WriteFile(filepath.Join(caseDir, "server", "caf\xe9.go"), []byte("package main\n"), 0o644))
		}, `a name in skeletons/03-time-wait/server is not valid UTF-8 ("caf\xe9.go")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, caseDir := submission(t)
			tc.make(t, root, caseDir)
			got := checkTree(root, caseDir)
			if !strings.HasPrefix(got, "the grader refused to read this submission: ") || !strings.Contains(got, tc.want) {
				t.Errorf("checkTree = %q, want a refusal saying %q", got, tc.want)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A submission the grader refuses still gets a complete report: every
// criterion of the case failed with the refusal, no program built or run, and
// the interrupted-or-budget path is not taken.
func TestRunRefusesASubmissionWithALinkOutside(t *testing.T) {
	root, caseDir := submission(t)
	must(t, os.Symlink("/etc/passwd", filepath.Join(caseDir, "server", "secret.go")))
	r, err := Run(t.Context(), Options{Root: root, Cases: []string{"03-time-wait"}, Executable: "/nonexistent/grade"})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Cases[0]
	if !strings.Contains(c.Problem, "secret.go is a symbolic link to /etc/passwd, outside your submission") {
		t.Errorf("problem %q, want the refusal", c.Problem)
	}
	rub, err := Rubric("03-time-wait")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Criteria) != len(rub.Criteria) {
		t.Errorf("%d criteria in the report, want all %d", len(c.Criteria), len(rub.Criteria))
	}
	for _, cr := range c.Criteria {
		if cr.Status != report.Failed {
			t.Errorf("%s is %s, want failed", cr.ID, cr.Status)
		}
	}
}
