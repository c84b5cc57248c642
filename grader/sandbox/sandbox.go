// Package sandbox runs one case of the grader in a child process with fresh
// network, mount and PID namespaces of its own: as root plain namespaces,
// otherwise a user namespace (uid 0 inside) plus the others. Nothing the
// student's programs do can reach the outside world, kernel counters start
// from zero, the child's mounts (the jail its programs run in, see package
// jail) are its own, and when the child ends the kernel ends every process
// left in its PID namespace, however it was started.
//
// The parent side is Command; the child side is Enter, called first thing in
// the re-executed grader.
package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Mode is how the child gets its network namespace.
type Mode int

const (
	// RootNetns: the grader runs as root; the child gets CLONE_NEWNET.
	RootNetns Mode = iota
	// UserNetns: unprivileged; the child gets CLONE_NEWUSER|CLONE_NEWNET, uid 0 inside.
	UserNetns
	// SharedNetns: no namespace could be made (a container without
	// CAP_SYS_ADMIN, as on Gradescope) and the grader was told to grade there
	// anyway: the child runs in the grader's own network namespace, the
	// sysctls it cannot set are reported to the specs (MissingSysctls), and
	// specs that need what is missing are not graded.
	SharedNetns
)

// CurrentMode picks the mode for this process's privileges.
func CurrentMode() Mode {
	if os.Geteuid() == 0 {
		return RootNetns
	}
	return UserNetns
}

func (m Mode) String() string {
	switch m {
	case RootNetns:
		return "a fresh network namespace (running as root)"
	case SharedNetns:
		return "the grader's own network namespace (this machine allows no new one; checks that need one are not graded)"
	}
	return "a fresh user + network namespace (running unprivileged)"
}

// EnvSandboxed is set in the child's environment so that Enter can refuse to
// run specs outside a namespace the grader made: "1" in a namespace of its
// own, "shared" in SharedNetns mode.
const EnvSandboxed = "WIRELAB_SANDBOXED"

// EnvMissingSysctls, in a SharedNetns child, lists the case's sysctls that
// could not be set (see MissingSysctls).
const EnvMissingSysctls = "WIRELAB_MISSING_SYSCTLS"

// Command returns the command that re-executes path with args in a fresh
// namespace. The child is killed if the grader dies, and runs in its own
// process group so that it can be stopped with everything it started.
func Command(mode Mode, path string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	sandboxed, clone := "1", uintptr(syscall.CLONE_NEWNET|syscall.CLONE_NEWNS|syscall.CLONE_NEWPID)
	if mode == SharedNetns {
		sandboxed, clone = "shared", 0
	}
	cmd.Env = append(os.Environ(), EnvSandboxed+"="+sandboxed)
	attr := &syscall.SysProcAttr{
		Cloneflags: clone,
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true,
	}
	if mode == UserNetns {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr = attr
	return cmd
}

// UnavailableError says why no namespace could be made and what to do about it.
type UnavailableError struct {
	Mode Mode
	Err  error
}

func (e *UnavailableError) Error() string {
	advice := "the grader runs as root, but the kernel refused it a network namespace: " +
		"inside a container it needs CAP_SYS_ADMIN (e.g. docker run --cap-add=SYS_ADMIN, or --privileged)"
	if e.Mode == UserNetns {
		advice = "run the grader as root (sudo make grade), or allow unprivileged user namespaces " +
			"(sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; on Ubuntu 24.04 also " +
			"kernel.apparmor_restrict_unprivileged_userns=0)"
	}
	return fmt.Sprintf("could not create %s (%v); %s", e.Mode, e.Err, advice)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Start starts cmd (from Command) and turns a namespace failure into an UnavailableError.
func Start(mode Mode, cmd *exec.Cmd) error {
	err := cmd.Start()
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) {
		return &UnavailableError{Mode: mode, Err: err}
	}
	return fmt.Errorf("sandbox: start %s: %w", cmd.Path, err)
}

// Enter prepares the namespaces from the inside: it checks that the grader
// made them, keeps its mounts from propagating out, mounts a /proc of its own
// PID namespace, makes itself undumpable and deaf to signals from the
// programs it starts (see guard), brings loopback up (bind to 127.0.0.1 fails
// until lo is up), writes the case's sysctls (per namespace: e.g.
// net.core.somaxconn) and raises the open-file limit so that programs started
// from here inherit it.
//
// In SharedNetns mode loopback is expected up already, and a sysctl that
// cannot be set is not an error: unless it already has the value, it is
// listed for MissingSysctls.
func Enter(sysctls map[string]string) error {
	shared := os.Getenv(EnvSandboxed) == "shared"
	if os.Getenv(EnvSandboxed) != "1" && !shared {
		return errors.New("sandbox: refusing to run specs outside a namespace made by the grader")
	}
	if !shared {
		if err := privateMounts(); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	if err := guard(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := LinkUp("lo"); err != nil && !(shared && loopbackUp()) {
		return fmt.Errorf("sandbox: %w", err)
	}
	var missing []string
	for _, key := range slices.Sorted(maps.Keys(sysctls)) {
		value := sysctls[key]
		err := SetSysctl(key, value)
		if err == nil {
			continue
		}
		if !shared {
			return fmt.Errorf("sandbox: %w", err)
		}
		current, rerr := ReadSysctl(key)
		if rerr == nil && strings.Join(strings.Fields(current), " ") == value {
			continue // already what the case needs
		}
		missing = append(missing, fmt.Sprintf("%s=%s (it is %q here and cannot be changed)", key, value, strings.TrimSpace(current)))
	}
	os.Setenv(EnvMissingSysctls, strings.Join(missing, "; "))
	return raiseOpenFileLimit()
}

// privateMounts keeps the child's mounts to itself and mounts /proc afresh,
// so that the process IDs in it are those of the child's PID namespace (the
// IDs the specs get from exec.Cmd).
func privateMounts() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the mounts private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc for the new PID namespace: %w", err)
	}
	return nil
}

// guard protects the child from the programs it starts. Undumpable, its
// /proc/<pid> entries (root, environ, fd, mem) are closed to a process of the
// same user without CAP_SYS_PTRACE, which matters where the student's
// programs run as the grader's own user (the user-namespace mode). As the
// PID namespace's init it receives only the signals it handles: it handles
// the usual terminating ones and ignores them (a handler, not SIG_IGN, which
// the programs it starts would inherit). The grader itself only ever sends
// SIGKILL.
func guard() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make the sandbox undumpable: %w", err)
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGPIPE)
	go func() {
		for range sigs {
		}
	}()
	return nil
}

// MissingSysctls says which of the case's sysctls the sandbox could not set
// (SharedNetns mode only); empty when every one has its value.
func MissingSysctls() string { return os.Getenv(EnvMissingSysctls) }

// ReadSysctl reads a sysctl such as "net.core.somaxconn".
func ReadSysctl(key string) (string, error) {
	data, err := os.ReadFile(filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/")))
	return string(data), err
}

// loopbackUp reports whether lo is already up.
func loopbackUp() bool {
	link, err := netlink.LinkByName("lo")
	return err == nil && link.Attrs().Flags&net.FlagUp != 0
}

// SetSysctl writes a sysctl such as "net.core.somaxconn" in the calling
// thread's network namespace (the net.* sysctls are per namespace).
func SetSysctl(key, value string) error {
	path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// LinkUp brings the named link up in the calling thread's network namespace.
// Loopback must be up before anything binds to 127.0.0.1.
func LinkUp(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring %s up: %w", name, err)
	}
	return nil
}

// raiseOpenFileLimit sets the soft RLIMIT_NOFILE to the hard limit. Calling
// Setrlimit ourselves also stops the Go runtime from restoring the original
// soft limit in the programs we start (they need thousands of sockets).
func raiseOpenFileLimit() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("sandbox: getrlimit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("sandbox: setrlimit: %w", err)
	}
	return nil
}
