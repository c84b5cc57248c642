package jail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/wirelab/wirelab/grader/sandbox"
)

// The tests run as the grader's sandbox child runs: in fresh network, mount
// and PID namespaces (sandbox.RunTests), where building a root and making a
// cgroup are allowed. The test binary is also the launcher.

var noSandbox string

func TestMain(m *testing.M) {
	if len(os.Args) >= 2 && os.Args[1] == Command {
		os.Exit(Main(os.Args[2:]))
	}
	if os.Getenv(sandbox.EnvSandboxed) == "" && os.Getenv(roleEnv) == "" {
		os.Setenv(resultEnv, probeAsNobody())
	}
	os.Exit(sandbox.RunTests(m, nil, func(reason string) { noSandbox = reason }))
}

// probe builds testdata/probe, statically, into a directory of its own.
func probe(t *testing.T) string {
	t.Helper()
	if noSandbox != "" || os.Geteuid() != 0 {
		t.Skip("needs root in the sandbox: " + noSandbox)
	}
	// Not t.TempDir: its parent is private, and nobody must reach this one.
	dir, err := os.MkdirTemp("", "wirelab-jail-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := buildProbe(dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "probe")
}

// buildProbe builds testdata/probe, statically, into dir/probe.
func buildProbe(dir string) error {
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", filepath.Join(dir, "probe"), "./testdata/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the probe: %v\n%s", err, out)
	}
	return nil
}

// confined builds a root holding the probe and a cgroup with limits l, and
// returns the configuration that confines a program in them.
func confined(t *testing.T, prog string, l Limits) *Config {
	t.Helper()
	root, err := BuildRoot(RootOptions{
		Dir: filepath.Join(t.TempDir(), "root"), ReadOnly: []string{filepath.Dir(prog)},
		Size: l.Disk, UID: StudentUID, GID: StudentGID,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(root.Dir, syscall.MNT_DETACH) })
	cg, err := NewCgroup(CgroupName(strings.ReplaceAll(t.Name(), "/", "-")), l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cg.Remove(); err != nil {
			t.Error(err)
		}
	})
	return &Config{Root: root.Dir, UID: StudentUID, GID: StudentGID, Dir: Home, Env: Env(), Limits: l, Cgroups: cg.Dirs()}
}

// launch runs argv confined by cfg through the launcher and returns its
// stdout, stderr and exit error.
func launch(t *testing.T, cfg *Config, argv ...string) (string, string, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args, env, err := Wrap(cfg, exe, argv)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.String(), stderr.String(), err
}

type probeReport struct {
	UID, GID  int
	Groups    []int
	Status    map[string]string
	Env       []string
	Cwd       string
	RootNames []string
	Cgroup    string
	Init      map[string]string
	RawSocket string
	WriteRoot string
	NoFile    [2]uint64
	FileSize  [2]uint64
	Processes [2]uint64
}

func TestConfinedProgramHasNoPrivilegeAndSeesOnlyItsRoot(t *testing.T) {
	prog := probe(t)
	t.Setenv("GITHUB_OUTPUT", "/tmp/forge-me")
	t.Setenv("GITHUB_TOKEN", "secret")
	cfg := confined(t, prog, DefaultLimits)
	r := runProbe(t, cfg, prog)
	if r.UID != StudentUID || r.GID != StudentGID || len(r.Groups) != 0 {
		t.Errorf("uid %d gid %d groups %v, want %d %d and none", r.UID, r.GID, r.Groups, StudentUID, StudentGID)
	}
	checkUnprivileged(t, r)
	if !slices.Equal(r.Env, Env()) {
		t.Errorf("environment %q, want exactly %q", r.Env, Env())
	}
	if r.Cwd != Home {
		t.Errorf("working directory %q, want %q", r.Cwd, Home)
	}
	if !strings.Contains(r.Cgroup, cgroupPrefix) {
		t.Errorf("/proc/self/cgroup = %q, want the test's cgroup", r.Cgroup)
	}
	for what, got := range r.Init {
		if got != syscall.EPERM.Error() && got != syscall.EACCES.Error() {
			t.Errorf("%s of the sandbox (pid 1): %q, want it refused", what, got)
		}
	}
	if r.WriteRoot == "ok" {
		t.Error("the program could write /etc/planted in its root")
	}
	l := DefaultLimits
	if r.NoFile != [2]uint64{uint64(l.OpenFiles), uint64(l.OpenFiles)} || r.FileSize != [2]uint64{uint64(l.FileSize), uint64(l.FileSize)} ||
		r.Processes != [2]uint64{2 * uint64(l.Processes), 2 * uint64(l.Processes)} {
		t.Errorf("rlimits: open files %v, file size %v, processes %v; want %d, %d, %d (twice the cgroup's)", r.NoFile, r.FileSize, r.Processes, l.OpenFiles, l.FileSize, 2*l.Processes)
	}
}

// runProbe runs the probe confined by cfg and decodes its report.
func runProbe(t *testing.T, cfg *Config, prog string) probeReport {
	t.Helper()
	stdout, stderr, err := launch(t, cfg, prog)
	if err != nil {
		t.Fatalf("probe: %v\nstderr: %s", err, stderr)
	}
	var r probeReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("probe said %q: %v", stdout, err)
	}
	return r
}

// checkUnprivileged checks that the probe had no capability, could gain none,
// and saw only its root.
func checkUnprivileged(t *testing.T, r probeReport) {
	t.Helper()
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if r.Status[k] != "0000000000000000" {
			t.Errorf("%s = %q, want no capability", k, r.Status[k])
		}
	}
	if r.Status["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %q, want 1", r.Status["NoNewPrivs"])
	}
	slices.Sort(r.RootNames)
	if want := []string{"dev", "etc", "home", "proc", "tmp"}; !slices.Equal(r.RootNames, want) {
		t.Errorf("the root holds %q, want %q", r.RootNames, want)
	}
	if r.RawSocket != syscall.EPERM.Error() {
		t.Errorf("a raw socket: %q, want %q", r.RawSocket, syscall.EPERM.Error())
	}
}

func TestMemoryLimitIsEnforcedAndCounted(t *testing.T) {
	prog := probe(t)
	l := DefaultLimits
	l.Memory = 64 << 20
	cfg := confined(t, prog, l)
	before := ReadBreaches(cfg.Cgroups)
	stdout, _, err := launch(t, cfg, prog, "-hog", "256")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("a program touching 256 MiB under a 64 MiB limit ended with %v (stdout %q), want SIGKILL", err, stdout)
	}
	b := ReadBreaches(cfg.Cgroups).Since(before)
	if b.OOMKills != 1 {
		t.Errorf("OOM kills counted: %d, want 1", b.OOMKills)
	}
	if got := b.Describe(l); !strings.Contains(got, "more than 64 MiB of memory") {
		t.Errorf("Describe = %q", got)
	}
}

func TestLauncherRefusesWithoutAProgram(t *testing.T) {
	if code := Main([]string{"--"}); code != 127 {
		t.Errorf("Main(--) = %d, want 127", code)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{1 << 30: "1 GiB", 512 << 20: "512 MiB", 3 << 10: "3 KiB", 12: "12 bytes"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// roleEnv makes the test binary, run as nobody by TestMain, run
// TestUserNamespaceProbe with the probe it names; resultEnv hands what that
// run printed to TestConfinedProgramInUserNamespace in the sandbox.
const (
	roleEnv   = "WIRELAB_JAIL_TEST_USERNS_PROBE"
	resultEnv = "WIRELAB_JAIL_TEST_USERNS_RESULT"
)

// probeAsNobody runs, from the machine's own namespaces (a user namespace
// cannot be made from inside the sandbox's), a copy of this test binary as
// nobody, the way a student without sudo runs the grader; it returns what the
// run printed, for TestConfinedProgramInUserNamespace.
func probeAsNobody() string {
	if os.Geteuid() != 0 {
		return "SKIP: needs root to run the test binary as nobody"
	}
	dir, err := os.MkdirTemp("", "wirelab-jail-test-")
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	if err := buildProbe(dir); err != nil {
		return err.Error()
	}
	exe, err := os.Executable()
	if err != nil {
		return err.Error()
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		return err.Error()
	}
	copyPath := filepath.Join(dir, "jail.test")
	if err := os.WriteFile(copyPath, data, 0o755); err != nil {
		return err.Error()
	}
	tmp := filepath.Join(dir, "tmp") // nobody's own
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err.Error()
	}
	if err := os.Chown(tmp, 65534, 65534); err != nil {
		return err.Error()
	}
	cmd := exec.Command(copyPath, "-test.run=^TestUserNamespaceProbe$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), roleEnv+"="+filepath.Join(dir, "probe"), "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	return fmt.Sprintf("exit: %v\n%s", err, out)
}

// Without root, the grader's sandbox is a user namespace that maps only the
// grader's own user: a confined program keeps that identity (uid 0 inside),
// but exec grants it no capability (SECBIT_NOROOT), its bounding set is empty
// and no_new_privs is set (TestUserNamespaceProbe, run as nobody by TestMain).
func TestConfinedProgramInUserNamespace(t *testing.T) {
	out := os.Getenv(resultEnv)
	switch {
	case strings.HasPrefix(out, "SKIP: "):
		t.Skip(out)
	case strings.Contains(out, "SKIP: the tests that need a network namespace are skipped"):
		t.Skipf("the kernel refuses unprivileged user namespaces here:\n%s", out)
	case !strings.HasPrefix(out, "exit: <nil>") || !strings.Contains(out, "--- PASS: TestUserNamespaceProbe"):
		t.Fatalf("as nobody, in a user namespace:\n%s", out)
	}
}

// TestUserNamespaceProbe is the inside of TestConfinedProgramInUserNamespace.
func TestUserNamespaceProbe(t *testing.T) {
	prog := os.Getenv(roleEnv)
	if prog == "" {
		t.Skip("run by TestConfinedProgramInUserNamespace")
	}
	if noSandbox != "" {
		t.Fatal(noSandbox)
	}
	root, err := BuildRoot(RootOptions{
		Dir: filepath.Join(t.TempDir(), "root"), ReadOnly: []string{filepath.Dir(prog)}, Size: 64 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(root.Dir, syscall.MNT_DETACH) })
	cfg := &Config{Root: root.Dir, NoRoot: true, Dir: Home, Env: Env(), Limits: DefaultLimits}
	r := runProbe(t, cfg, prog)
	if r.UID != 0 {
		t.Errorf("uid %d inside the namespace, want 0 (the only identity it maps)", r.UID)
	}
	checkUnprivileged(t, r)
	if r.Init["read environ"] == "ok" || r.Init["read root"] == "ok" {
		t.Errorf("the program could inspect the sandbox (pid 1): %v", r.Init)
	}
}
