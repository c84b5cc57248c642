package selftest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wirelab/wirelab/grader/engine"
	"github.com/wirelab/wirelab/grader/release"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/specs/serverarch"
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
	// directory of a grading is left. (A cleanup, not a defer: it must wait
	// for the parallel gradings.)
	before := snapshot(t)
	t.Cleanup(func() { checkNothingLeft(t, before) })
	for _, slug := range engine.Slugs() {
		targets, err := Targets(abs, slug)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range targets {
			t.Run(target.Name, func(t *testing.T) {
				// Gradings run side by side, as many as go test's -parallel
				// (make test: 2), since a grading mostly waits (its CPU time is
				// a fifth to a half of its wall time). Each grading has its
				// own namespaces and cgroup, so two never see each other's
				// sockets. Two kinds run alone, first: the hostile
				// submissions, which attack the machine itself (fork bombs,
				// memory), and case 05's, whose CPU-heavy scenes keep both
				// cores busy for seconds (another grading's latencies would
				// measure them).
				if !target.Hostile && target.Case != serverarch.CaseLabel {
					t.Parallel()
				}
				r, err := Grade(grade, abs, target, fixtureSeed)
				if err != nil {
					t.Fatal(err)
				}
				problems := Judge(target, r)
				for _, p := range problems {
					t.Error(p)
				}
				unmet.add(target.Name, problems)
				t.Logf("%d/%d points in %v", r.Points, r.MaxPoints, r.Duration)
			})
		}
	}
}

// fixtureSeed is fixed, so that a failure of TestFixtures replays with
// `grade --seed`.
const fixtureSeed = 20261125

// unmet collects the gradings that did not meet their fixture's
// expectations, for a digest printed after every test (TestMain): a CI log
// shown by its tail still says which criterion went wrong and why.
var unmet digest

type digest struct {
	mu       sync.Mutex
	evidence []string // per grading: its problems with their evidence
	summary  []string // per problem: its first line
}

func (d *digest) add(target string, problems []string) {
	if len(problems) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.evidence = append(d.evidence, fmt.Sprintf("%s:\n  %s", target, report.Clip(strings.Join(problems, "\n  "), 3000)))
	for _, p := range problems {
		first, _, _ := strings.Cut(p, "\n")
		d.summary = append(d.summary, report.Clip(first, 300))
	}
}

// print writes the digest, if any grading went wrong: the evidence first,
// then one line per unmet expectation, last, where a log's tail shows it.
func (d *digest) print(w io.Writer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.evidence) == 0 {
		return
	}
	fmt.Fprintf(w, "\n=== selftest: the evidence of each grading that did not meet its fixture's expectations:\n%s\n", strings.Join(d.evidence, "\n"))
	fmt.Fprintf(w, "\n=== selftest: %d grading(s) did not meet their fixture's expectations (replay one with grade --seed %d; the evidence is above):\n  %s\n",
		len(d.evidence), fixtureSeed, strings.Join(d.summary, "\n  "))
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
