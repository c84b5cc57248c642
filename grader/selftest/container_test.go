package selftest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wirelab/wirelab/grader/engine"
	"github.com/wirelab/wirelab/grader/release"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/sandbox"
)

// envContainer makes the test binary act as the container of
// TestGradescopeModeInAContainer: it holds the script to run in it.
const envContainer = "WIRELAB_SIMULATED_CONTAINER"

// envContainerCgroup names the memory cgroup the container joins, if any.
const envContainerCgroup = "WIRELAB_SIMULATED_CONTAINER_CGROUP"

// gradescopeMemory is Gradescope's default container memory.
const gradescopeMemory = 768 << 20

func TestMain(m *testing.M) {
	if script := os.Getenv(envContainer); script != "" {
		os.Exit(simulateContainer(script))
	}
	code := m.Run()
	unmet.print(os.Stdout)
	os.Exit(code)
}

// simulateContainer runs in fresh network and mount namespaces the test made
// for it and becomes what a Gradescope container is to the grader: loopback
// up, /proc/sys read-only, one CPU, a memory limit where cgroup v1 allows one,
// and root without CAP_SYS_ADMIN (no namespaces) or CAP_NET_ADMIN.
func simulateContainer(script string) int {
	if err := sandbox.LinkUp("lo"); err != nil {
		fmt.Fprintln(os.Stderr, "container:", err)
		return 2
	}
	// Docker mounts /proc/sys read-only: even root cannot write a sysctl.
	for _, m := range []struct {
		src, target string
		flags       uintptr
	}{
		{"", "/", unix.MS_REC | unix.MS_PRIVATE},
		{"/proc/sys", "/proc/sys", unix.MS_BIND | unix.MS_REC},
		{"", "/proc/sys", unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY},
	} {
		if err := unix.Mount(m.src, m.target, "", m.flags, ""); err != nil {
			fmt.Fprintf(os.Stderr, "container: mount %s: %v\n", m.target, err)
			return 2
		}
	}
	var one unix.CPUSet
	one.Set(0)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		fmt.Fprintln(os.Stderr, "container:", err)
		return 2
	}
	if cg := os.Getenv(envContainerCgroup); cg != "" {
		if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "container:", err)
			return 2
		}
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		fmt.Fprintln(os.Stderr, "container:", err)
		return 2
	}
	err = syscall.Exec(setpriv, []string{"setpriv", "--bounding-set=-sys_admin,-net_admin", "--inh-caps=-sys_admin,-net_admin", script}, os.Environ())
	fmt.Fprintln(os.Stderr, "container:", err)
	return 2
}

// TestGradescopeModeInAContainer runs the Gradescope autograder in a simulated
// Gradescope container (no network namespaces, no sysctl writes, one CPU,
// 768 MB) on the references: every criterion is graded and passes, or is
// reported as not graded with the reason; none fails, none errs, and the
// criteria that need nothing the container lacks are graded.
func TestGradescopeModeInAContainer(t *testing.T) {
	if os.Getenv(EnvSelftest) == "" {
		t.Skipf("set %s=1 to run (make test does)", EnvSelftest)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to make the container")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	abs, _ := filepath.Abs(root)
	ag := filepath.Join(t.TempDir(), "autograder")
	grade := buildGrade(t)
	copyDir(t, filepath.Dir(grade), filepath.Join(ag, "source"))
	copyDir(t, filepath.Join(abs, "grader", "release", "gradescope"), filepath.Join(ag, "source"))
	sub := filepath.Join(ag, "submission")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fake := map[string]string{release.BinaryName("amd64"): strings.Repeat("0", 64)}
	if err := release.ExportStudent(ctx, release.Options{Repo: abs, Out: ag, Version: "test", URL: "https://example.invalid"}, fake, sub); err != nil {
		t.Fatal(err)
	}
	for _, slug := range engine.Slugs() {
		copyDir(t, filepath.Join(abs, "fixtures", slug, "reference"), filepath.Join(sub, "skeletons", slug))
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envContainer+"="+filepath.Join(ag, "source", "run_autograder"), "AUTOGRADER_ROOT="+ag)
	if cg := memoryCgroup(t); cg != "" {
		cmd.Env = append(cmd.Env, envContainerCgroup+"="+cg)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS}
	start := time.Now()
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run_autograder in the container: %v\n%s", err, output)
	}
	t.Logf("graded in the container in %v", time.Since(start).Round(time.Second))

	r := readReport(t, filepath.Join(ag, "results", "wirelab", "report.json"))
	// A line for where the cases ran, then one per set of limits (case 05's
	// are its own, and name it).
	if len(r.Environment) < 2 || !strings.Contains(r.Environment[0], "each case runs in the grader's own network namespace") {
		t.Errorf("the report does not say where the checks ran: %q", r.Environment)
	}
	for _, line := range r.Environment[min(1, len(r.Environment)):] {
		if !strings.Contains(line, "student programs run as uid 65532 with no capabilities, not chrooted") {
			t.Errorf("the report does not say how the programs were confined: %q", line)
		}
	}
	var graded, skipped []string
	for _, c := range r.Cases {
		if c.Artifact == nil || c.Artifact.Status != report.Passed {
			t.Errorf("%s: the artifact is not graded in the container: %+v", c.Slug, c.Artifact)
		}
		for _, cr := range c.Criteria {
			switch cr.Status {
			case report.Passed:
				graded = append(graded, cr.ID)
			case report.Skipped:
				skipped = append(skipped, cr.ID)
				if !strings.Contains(evidence(cr), "not graded on this machine") {
					t.Errorf("%s is skipped without the reason:\n%s", cr.ID, evidence(cr))
				}
			default:
				t.Errorf("%s is %s in the container (the reference must pass or be not graded):\n%s", cr.ID, cr.Status, evidence(cr))
			}
		}
	}
	t.Logf("environment: %q", r.Environment)
	t.Logf("graded in the container: %v", graded)
	t.Logf("not graded in the container: %v", skipped)
	for _, must := range []string{"backlog.serves", "backlog.malformed", "backlog.usage"} {
		if !slices.Contains(graded, must) {
			t.Errorf("%s needs nothing the container lacks, but was not graded", must)
		}
	}
	var results struct {
		Score float64 `json:"score"`
		Tests []struct {
			Name   string  `json:"name"`
			Score  float64 `json:"score"`
			Output string  `json:"output"`
		} `json:"tests"`
	}
	data, err := os.ReadFile(filepath.Join(ag, "results", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &results); err != nil || len(results.Tests) == 0 {
		t.Fatalf("results.json: %v\n%.500s", err, data)
	}
	if int(results.Score) != r.Points {
		t.Errorf("results.json score %v, report %d points", results.Score, r.Points)
	}
}

// memoryCgroup makes a cgroup v1 memory group with Gradescope's limit, removed
// after the test; empty where the machine has no such controller.
func memoryCgroup(t *testing.T) string {
	t.Helper()
	base := "/sys/fs/cgroup/memory"
	if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
		t.Logf("no cgroup v1 memory controller: the container has no memory limit")
		return ""
	}
	cg := filepath.Join(base, fmt.Sprintf("wirelab-selftest-%d", os.Getpid()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Logf("cannot make a memory cgroup (%v): the container has no memory limit", err)
		return ""
	}
	t.Cleanup(func() { os.Remove(cg) })
	if err := os.WriteFile(filepath.Join(cg, "memory.limit_in_bytes"), []byte(fmt.Sprint(gradescopeMemory)), 0o644); err != nil {
		t.Logf("cannot limit memory (%v)", err)
		return ""
	}
	return cg
}
