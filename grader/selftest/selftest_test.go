package selftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirelab/wirelab/grader/engine"
	"github.com/wirelab/wirelab/grader/release"
	"github.com/wirelab/wirelab/grader/report"
)

// EnvSelftest enables the (slow, privileged) self-validation in `go test`.
const EnvSelftest = "WIRELAB_SELFTEST"

// root is the module root, two levels up from this package.
const root = "../.."

// buildGrade builds the grade binary once for the test.
func buildGrade(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "grade")
	if err := release.BuildGrade(context.Background(), root, bin, nil); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestFixtures grades every case's reference, skeleton and mutants and checks
// each verdict against what the target declares.
func TestFixtures(t *testing.T) {
	if os.Getenv(EnvSelftest) == "" {
		t.Skipf("set %s=1 to grade the fixtures (make test does)", EnvSelftest)
	}
	grade := buildGrade(t)
	abs, _ := filepath.Abs(root)
	// Whatever the fixtures did (the hostile corpus included), the machine is
	// as it was afterwards: no process, namespace, device, cgroup or temporary
	// directory of a grading is left.
	defer checkNothingLeft(t, snapshot(t))
	const seed = 20261125 // fixed, so that a failure here replays with `grade --seed`
	for _, slug := range engine.Slugs() {
		targets, err := Targets(abs, slug)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range targets {
			t.Run(target.Name, func(t *testing.T) {
				r, err := Grade(grade, abs, target, seed)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range Judge(target, r) {
					t.Error(p)
				}
				t.Logf("%d/%d points in %v", r.Points, r.MaxPoints, r.Duration)
			})
		}
	}
}

// TestNotGradedWithoutNamespaces takes CAP_SYS_ADMIN away from the grader (as
// a container without privileges would): the case's criteria must be reported
// as not graded, with the reason, never as passed, and the artifact is still
// checked.
func TestNotGradedWithoutNamespaces(t *testing.T) {
	if os.Getenv(EnvSelftest) == "" {
		t.Skipf("set %s=1 to run (make test does)", EnvSelftest)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop a capability")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	grade := buildGrade(t)
	out := t.TempDir()
	abs, _ := filepath.Abs(root)
	cmd := exec.Command(setpriv, "--bounding-set=-sys_admin", "--inh-caps=-sys_admin",
		grade, "--case", "01-backlog", "--quiet", "--out", out, abs)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("grade without CAP_SYS_ADMIN: %v (grading ran, so it must exit 0)\n%s", err, output)
	}
	r, err := report.ReadJSONFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := r.Cases[0]
	if !strings.Contains(c.Problem, "could not create a fresh network namespace") || !strings.Contains(c.Problem, "CAP_SYS_ADMIN") {
		t.Errorf("the problem does not say why and what to do: %q", c.Problem)
	}
	for _, cr := range c.Criteria {
		if cr.Status != report.Skipped {
			t.Errorf("%s is %s, want skipped (not graded)", cr.ID, cr.Status)
		}
	}
	if c.Artifact == nil || c.Artifact.Status != report.Failed {
		t.Errorf("the artifact template must still be checked (and fail): %+v", c.Artifact)
	}
}
