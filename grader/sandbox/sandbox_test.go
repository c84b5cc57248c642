package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The tests re-execute their own binary as the sandbox child. helperEnv says
// which role the re-executed binary plays instead of running the tests.
const helperEnv = "WIRELAB_SANDBOX_TEST_HELPER"

const (
	roleChild         = "child"          // report what the namespace looks like, from inside
	roleUserNetns     = "userns-parent"  // run unprivileged: start a UserNetns child, relay its report
	roleRootNetnsUser = "rootns-as-user" // run unprivileged: try a RootNetns child, report the error
)

// childSomaxconn is the sysctl the child sets through Enter.
const childSomaxconn = "1234"

// report is what a child says about the namespace it runs in.
type report struct {
	NetNS         string // readlink /proc/self/ns/net
	UID           int
	PgidIsPid     bool
	Sandboxed     string // $WIRELAB_SANDBOXED
	LoUpBefore    bool
	EnterErr      string
	LoUpAfter     bool
	DialAfter     string // "" or why a loopback connection failed after Enter
	Somaxconn     string
	ChildNofile   string // "soft hard" as a program started after Enter sees them
	Unavailable   string // roleUserNetns: the UnavailableError, if any
	ParentNetNS   string // roleUserNetns: the unprivileged parent's namespace
	ParentMode    string // roleUserNetns: CurrentMode() of the unprivileged parent
	StartErr      string // roleRootNetnsUser: what Start returned
	IsUnavailable bool   // roleRootNetnsUser: whether it was an *UnavailableError
	IsEPERM       bool   // roleRootNetnsUser: whether it wraps EPERM
}

func TestMain(m *testing.M) {
	switch role := os.Getenv(helperEnv); role {
	case "":
		os.Exit(m.Run())
	case roleChild:
		emit(childReport())
	case roleUserNetns:
		emit(userNetnsParent())
	case roleRootNetnsUser:
		emit(rootNetnsAsUser())
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, role)
		os.Exit(2)
	}
	os.Exit(0)
}

func emit(r report) {
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		os.Exit(3)
	}
}

func netnsOf(pid string) string {
	link, err := os.Readlink("/proc/" + pid + "/ns/net")
	if err != nil {
		return "error: " + err.Error()
	}
	return link
}

func loUp() bool {
	lo, err := net.InterfaceByName("lo")
	return err == nil && lo.Flags&net.FlagUp != 0
}

// childReport runs inside the namespace: it looks around, calls Enter, and
// looks again.
func childReport() report {
	pgid, _ := syscall.Getpgid(0)
	r := report{
		NetNS:      netnsOf("self"),
		UID:        os.Getuid(),
		PgidIsPid:  pgid == os.Getpid(),
		Sandboxed:  os.Getenv(EnvSandboxed),
		LoUpBefore: loUp(),
	}
	if err := Enter(map[string]string{"net.core.somaxconn": childSomaxconn}); err != nil {
		r.EnterErr = err.Error()
		return r
	}
	r.LoUpAfter = loUp()
	r.DialAfter = dialLoopback()
	if data, err := os.ReadFile("/proc/sys/net/core/somaxconn"); err == nil {
		r.Somaxconn = strings.TrimSpace(string(data))
	}
	// A program that is not Go (which raises its own soft limit) shows the
	// open-file limit that the programs the grader starts inherit.
	out, err := exec.Command("/bin/sh", "-c", "echo $(ulimit -Sn) $(ulimit -Hn)").Output()
	if err != nil {
		r.ChildNofile = "error: " + err.Error()
	} else {
		r.ChildNofile = strings.TrimSpace(string(out))
	}
	return r
}

func dialLoopback() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err.Error()
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err.Error()
	}
	c.Close()
	return ""
}

// userNetnsParent runs as an unprivileged user: it makes its sandbox child
// the way the grader does without root.
func userNetnsParent() report {
	mode := CurrentMode()
	exe, err := os.Executable()
	if err != nil {
		return report{StartErr: err.Error()}
	}
	cmd := Command(mode, exe)
	cmd.Env = append(cmd.Env, helperEnv+"="+roleChild)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := Start(mode, cmd); err != nil {
		var u *UnavailableError
		if errors.As(err, &u) {
			return report{Unavailable: u.Error(), ParentMode: mode.String()}
		}
		return report{StartErr: err.Error(), ParentMode: mode.String()}
	}
	if err := cmd.Wait(); err != nil {
		return report{StartErr: fmt.Sprintf("child: %v", err), ParentMode: mode.String()}
	}
	var r report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return report{StartErr: fmt.Sprintf("child said %q: %v", out.String(), err)}
	}
	r.ParentNetNS = netnsOf("self")
	r.ParentMode = mode.String()
	return r
}

// rootNetnsAsUser runs as an unprivileged user and asks for what only root
// may have: a plain network namespace.
func rootNetnsAsUser() report {
	cmd := Command(RootNetns, "/bin/true")
	err := Start(RootNetns, cmd)
	if err == nil {
		cmd.Wait()
		return report{}
	}
	var u *UnavailableError
	return report{StartErr: err.Error(), IsUnavailable: errors.As(err, &u), IsEPERM: errors.Is(err, syscall.EPERM)}
}

// runHelper runs cmd (a re-executed test binary) and decodes its report.
func runHelper(t *testing.T, cmd *exec.Cmd, start func() error) report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s: %v\nstderr:\n%s", cmd.Path, err, stderr.String())
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("helper output %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	return r
}

func TestCommandRootNetns(t *testing.T) {
	cmd := Command(RootNetns, "/bin/true", "-x")
	if got := cmd.Args; len(got) != 2 || got[0] != "/bin/true" || got[1] != "-x" {
		t.Errorf("Args = %q", got)
	}
	a := cmd.SysProcAttr
	if a == nil {
		t.Fatal("no SysProcAttr")
	}
	if a.Cloneflags&syscall.CLONE_NEWNET == 0 || a.Cloneflags&syscall.CLONE_NEWUSER != 0 {
		t.Errorf("Cloneflags = %#x, want CLONE_NEWNET without CLONE_NEWUSER", a.Cloneflags)
	}
	if len(a.UidMappings) != 0 || len(a.GidMappings) != 0 {
		t.Errorf("id mappings without a user namespace: %v %v", a.UidMappings, a.GidMappings)
	}
	if !a.Setpgid || a.Pdeathsig != syscall.SIGKILL {
		t.Errorf("Setpgid %v, Pdeathsig %v; want its own process group, killed with the grader", a.Setpgid, a.Pdeathsig)
	}
	if n := len(cmd.Env); n == 0 || cmd.Env[n-1] != EnvSandboxed+"=1" {
		t.Errorf("Env does not end with %s=1: %q", EnvSandboxed, cmd.Env[max(0, n-1):])
	}
	if len(cmd.Env) != len(os.Environ())+1 {
		t.Errorf("Env has %d entries, want the grader's %d plus one", len(cmd.Env), len(os.Environ()))
	}
}

func TestCommandUserNetns(t *testing.T) {
	a := Command(UserNetns, "/bin/true").SysProcAttr
	if a.Cloneflags&(syscall.CLONE_NEWNET|syscall.CLONE_NEWUSER) != syscall.CLONE_NEWNET|syscall.CLONE_NEWUSER {
		t.Errorf("Cloneflags = %#x, want CLONE_NEWUSER|CLONE_NEWNET", a.Cloneflags)
	}
	wantUID := []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
	wantGID := []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	if fmt.Sprint(a.UidMappings) != fmt.Sprint(wantUID) || fmt.Sprint(a.GidMappings) != fmt.Sprint(wantGID) {
		t.Errorf("mappings uid %v gid %v, want uid %v gid %v (uid 0 inside is us outside)", a.UidMappings, a.GidMappings, wantUID, wantGID)
	}
	if a.GidMappingsEnableSetgroups {
		t.Error("setgroups enabled: an unprivileged process may only map its gid with setgroups denied")
	}
	if !a.Setpgid || a.Pdeathsig != syscall.SIGKILL {
		t.Errorf("Setpgid %v, Pdeathsig %v", a.Setpgid, a.Pdeathsig)
	}
}

func TestCurrentModeAndString(t *testing.T) {
	want := UserNetns
	if os.Geteuid() == 0 {
		want = RootNetns
	}
	if got := CurrentMode(); got != want {
		t.Errorf("CurrentMode() = %v with euid %d", got, os.Geteuid())
	}
	if s := RootNetns.String(); !strings.Contains(s, "network namespace") || !strings.Contains(s, "root") {
		t.Errorf("RootNetns.String() = %q", s)
	}
	if s := UserNetns.String(); !strings.Contains(s, "user + network namespace") || !strings.Contains(s, "unprivileged") {
		t.Errorf("UserNetns.String() = %q", s)
	}
}

// The child is in a network namespace of its own, where Enter brings
// loopback up, sets the sysctl there only, and raises the open-file limit for
// the programs it starts.
func TestChildGetsFreshNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a plain network namespace; TestUserNetnsUnprivileged covers the other mode")
	}
	hostSomaxconn, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The child starts with a low soft open-file limit, as a grader started
	// from a default shell would: the shell lowers it and execs the test binary.
	var hard syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &hard); err != nil {
		t.Fatal(err)
	}
	if hard.Max <= 256 {
		t.Skipf("hard open-file limit %d: cannot show it being raised", hard.Max)
	}
	cmd := Command(RootNetns, "/bin/sh", "-c", `ulimit -Sn 256 && exec "$0"`, exe)
	cmd.Env = append(cmd.Env, helperEnv+"="+roleChild)
	r := runHelper(t, cmd, func() error { return Start(RootNetns, cmd) })

	if own := netnsOf("self"); r.NetNS == own || !strings.HasPrefix(r.NetNS, "net:[") {
		t.Errorf("child's network namespace %q, ours %q: want a different one", r.NetNS, own)
	}
	if r.Sandboxed != "1" || !r.PgidIsPid {
		t.Errorf("child: %s=%q, own process group %v", EnvSandboxed, r.Sandboxed, r.PgidIsPid)
	}
	checkEntered(t, r)
	if want := fmt.Sprintf("%d %d", hard.Max, hard.Max); r.ChildNofile != want {
		t.Errorf("a program started after Enter has open-file limits %q, want soft raised to hard: %q", r.ChildNofile, want)
	}
	after, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, hostSomaxconn) {
		t.Errorf("the child's sysctl leaked out: our somaxconn went from %q to %q", hostSomaxconn, after)
	}
}

func checkEntered(t *testing.T, r report) {
	t.Helper()
	if r.EnterErr != "" {
		t.Fatalf("Enter in the child: %s", r.EnterErr)
	}
	if r.LoUpBefore {
		t.Error("loopback was already up in a fresh namespace")
	}
	if !r.LoUpAfter || r.DialAfter != "" {
		t.Errorf("after Enter: lo up %v, loopback connection: %q", r.LoUpAfter, r.DialAfter)
	}
	if r.Somaxconn != childSomaxconn {
		t.Errorf("after Enter the child's somaxconn is %q, want %s", r.Somaxconn, childSomaxconn)
	}
}

func TestEnterRefusesOutsideSandbox(t *testing.T) {
	for _, v := range []string{"", "0", "true"} {
		t.Setenv(EnvSandboxed, v)
		// If Enter did not refuse it would set the host's somaxconn: ask for
		// a value that would be visible, and check it was not written.
		before, _ := os.ReadFile("/proc/sys/net/core/somaxconn")
		err := Enter(map[string]string{"net.core.somaxconn": "77"})
		if err == nil || !strings.Contains(err.Error(), "refusing to run specs outside a namespace made by the grader") {
			t.Errorf("Enter with %s=%q = %v, want a refusal", EnvSandboxed, v, err)
		}
		if after, _ := os.ReadFile("/proc/sys/net/core/somaxconn"); !bytes.Equal(before, after) {
			t.Fatalf("Enter changed the host's somaxconn from %q to %q", before, after)
		}
	}
}

func TestUnavailableError(t *testing.T) {
	// As root the only way out is more privilege for the grader's container.
	root := &UnavailableError{Mode: RootNetns, Err: syscall.EPERM}
	msg := root.Error()
	for _, want := range []string{
		"could not create a fresh network namespace (running as root)",
		"operation not permitted",
		"CAP_SYS_ADMIN",
		"--cap-add=SYS_ADMIN",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("RootNetns: %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "userns") {
		t.Errorf("RootNetns advice talks about user namespaces: %q", msg)
	}

	// Unprivileged: run as root, or let users make user namespaces.
	user := &UnavailableError{Mode: UserNetns, Err: syscall.ENOSPC}
	msg = user.Error()
	for _, want := range []string{
		"could not create a fresh user + network namespace (running unprivileged)",
		"no space left on device",
		"run the grader as root (sudo make grade)",
		"kernel.unprivileged_userns_clone=1",
		"user.max_user_namespaces",
		"kernel.apparmor_restrict_unprivileged_userns=0",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("UserNetns: %q does not say %q", msg, want)
		}
	}

	var wrapped error = fmt.Errorf("case 01: %w", user)
	var u *UnavailableError
	if !errors.As(wrapped, &u) || u != user || !errors.Is(wrapped, syscall.ENOSPC) {
		t.Error("UnavailableError does not unwrap to its cause")
	}
}

func TestStartOtherFailureIsNotUnavailable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-grader")
	cmd := Command(CurrentMode(), missing)
	err := Start(CurrentMode(), cmd)
	var u *UnavailableError
	if err == nil || errors.As(err, &u) {
		t.Fatalf("Start of a missing binary = %v, want a plain error", err)
	}
	if !strings.Contains(err.Error(), "sandbox: start "+missing) {
		t.Errorf("error %q does not name the binary", err)
	}
}

// unprivileged returns a command that runs the test binary as nobody, from a
// copy that nobody can read (go test's own build directory is private).
func unprivileged(t *testing.T, role string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a helper as another user")
	}
	dir, err := os.MkdirTemp("", "wirelab-sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, "sandbox.test")
	if err := copyFile(exe, copyPath); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copyPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), helperEnv+"="+role)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534},
		Pdeathsig:  syscall.SIGKILL,
	}
	return cmd
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// From root, the unprivileged mode is tested as it runs for a student
// without sudo: the parent is an ordinary user and makes a user + network
// namespace in which the child is uid 0.
func TestUserNetnsUnprivileged(t *testing.T) {
	cmd := unprivileged(t, roleUserNetns)
	r := runHelper(t, cmd, cmd.Start)
	if r.Unavailable != "" {
		t.Skipf("the kernel refuses unprivileged user namespaces here: %s", r.Unavailable)
	}
	if r.StartErr != "" {
		t.Fatalf("unprivileged parent: %s", r.StartErr)
	}
	if r.ParentMode != UserNetns.String() {
		t.Errorf("the unprivileged parent's CurrentMode is %q, want %q", r.ParentMode, UserNetns.String())
	}
	own := netnsOf("self")
	if r.NetNS == own || r.NetNS == r.ParentNetNS || !strings.HasPrefix(r.NetNS, "net:[") {
		t.Errorf("child's network namespace %q; ours %q, the parent's %q: want a new one", r.NetNS, own, r.ParentNetNS)
	}
	if r.ParentNetNS != own {
		t.Errorf("the helper parent is in %q, not in ours %q", r.ParentNetNS, own)
	}
	if r.UID != 0 {
		t.Errorf("uid in the user namespace = %d, want 0", r.UID)
	}
	if r.Sandboxed != "1" || !r.PgidIsPid {
		t.Errorf("child: %s=%q, own process group %v", EnvSandboxed, r.Sandboxed, r.PgidIsPid)
	}
	checkEntered(t, r)
	if f := strings.Fields(r.ChildNofile); len(f) != 2 || f[0] != f[1] {
		t.Errorf("a program started after Enter has open-file limits %q, want soft = hard", r.ChildNofile)
	}
}

// An unprivileged user may not make a plain network namespace: Start says
// so with an UnavailableError, not a bare EPERM.
func TestStartWithoutPrivilegeIsUnavailable(t *testing.T) {
	cmd := unprivileged(t, roleRootNetnsUser)
	r := runHelper(t, cmd, cmd.Start)
	if r.StartErr == "" {
		t.Fatal("an unprivileged user made a network namespace without a user namespace")
	}
	if !r.IsUnavailable || !r.IsEPERM {
		t.Errorf("Start = %q: UnavailableError %v, wraps EPERM %v; want both", r.StartErr, r.IsUnavailable, r.IsEPERM)
	}
	if !strings.Contains(r.StartErr, "could not create a fresh network namespace") || !strings.Contains(r.StartErr, "operation not permitted") {
		t.Errorf("Start = %q", r.StartErr)
	}
}
