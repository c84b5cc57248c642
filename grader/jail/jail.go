// Package jail confines the programs a case's specs start: the student's, and
// the lab's helpers that must look like them. A confined program never runs
// with the grader's privileges or sees its files:
//
//   - as root it runs as StudentUID, a user no account on the machine has,
//     with no capabilities (an empty bounding set) and no_new_privs;
//     where the grader is unprivileged (a user namespace that maps only the
//     grader's own user) it keeps that identity but exec grants it no
//     capabilities (SECBIT_NOROOT, locked), and no_new_privs;
//   - it is chrooted into a root the sandbox child built (BuildRoot): a small
//     tmpfs holding /proc, four /dev nodes, a few /etc files, /tmp and a home,
//     and read-only the directories the case needs at the paths the specs use
//     (the built programs, the specs' scratch files) — never the submission,
//     the rubrics, the reports or another submission;
//   - its environment is Env, nothing of the grader's (no GITHUB_OUTPUT, no
//     tokens);
//   - its resource limits are Limits: rlimits always, and a cgroup (v2, or v1
//     where that is what the machine has) that holds every process of the
//     case, whatever it forks, for memory and process counts.
//
// The confining is done by a launcher: the grader binary re-executed with
// Command as its first argument (Main), which applies Config as root and then
// executes the program in its place. Go's exec.Cmd can chroot and change
// credentials but cannot set no_new_privs or securebits, and the launcher does
// it all in one place, in an order that keeps each step possible.
package jail

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Command is the hidden first argument that makes the grade binary (or a test
// binary) act as the launcher: `exe Command -- program args...`.
const Command = "__jail"

// EnvConfig carries the launcher's Config, as JSON. It is the launcher's whole
// environment; the program gets Config.Env instead.
const EnvConfig = "WIRELAB_JAIL"

// StudentUID and StudentGID are the identity of confined programs when the
// grader runs as root: below nobody's 65534, and no account on a usual Linux
// system has them, so no other process on the machine shares the identity
// (a process may signal and inspect only its own user's processes).
const (
	StudentUID = 65532
	StudentGID = 65532
)

// Home is the confined programs' home and working directory, inside the root.
const Home = "/home/student"

// Config is how one program is confined.
type Config struct {
	Root   string `json:"root,omitempty"` // chroot directory; "" for none
	UID    int    `json:"uid"`            // identity to run as (root mode)
	GID    int    `json:"gid"`
	NoRoot bool   `json:"noroot,omitempty"` // keep uid 0 but let exec grant no capabilities (user-namespace mode)
	// Unprivileged: the launcher has no capability to drop or identity to
	// change (a grader run as a user, in no namespace): keep UID and GID.
	Unprivileged bool     `json:"unprivileged,omitempty"`
	Dir          string   `json:"dir,omitempty"` // working directory (inside the root)
	Env          []string `json:"env"`
	Limits       Limits   `json:"limits"`
	Cgroups      []string `json:"cgroups,omitempty"` // cgroup directories to join
}

// Limits bound what the programs of one case may use. Memory and Processes
// hold for all of the case's programs together where a cgroup is available,
// and per program (address space) or per user (processes) otherwise.
type Limits struct {
	Memory     int64 `json:"memory"`      // bytes
	Processes  int   `json:"processes"`   // processes and threads
	OpenFiles  int   `json:"open_files"`  // per process
	FileSize   int64 `json:"file_size"`   // bytes, largest file a program may write
	CPUSeconds int   `json:"cpu_seconds"` // CPU time per process
	Disk       int64 `json:"disk"`        // bytes: the size of the root's tmpfs (/tmp and the home)
}

// DefaultLimits are a case's limits unless its catalog entry says otherwise:
// far above what a correct program of cases 01 and 03 needs (a server of ~20
// threads holding 500 connections in a few tens of MB; a scene of a few
// processes), far below what would hurt a 2-core, 24 GiB machine.
var DefaultLimits = Limits{
	Memory:     1 << 30,
	Processes:  1024,
	OpenFiles:  16384,
	FileSize:   256 << 20,
	CPUSeconds: 300,
	Disk:       256 << 20,
}

// Env is the whole environment of a confined program: a PATH, a home of its
// own, a temporary directory, the locale, and the Go traceback setting that
// keeps a crash report to the goroutine that crashed.
func Env() []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + Home,
		"USER=student",
		"LOGNAME=student",
		"TMPDIR=/tmp",
		"LANG=C.UTF-8",
		"GOTRACEBACK=single",
	}
}

// The configuration in force in this process (the sandbox child), if any.
var active struct {
	sync.Mutex
	cfg *Config
}

// Activate makes cfg the confinement of every program the lab starts from
// now on.
func Activate(cfg *Config) {
	active.Lock()
	defer active.Unlock()
	active.cfg = cfg
}

// Active returns the confinement in force, or nil when programs run
// unconfined (the lab's own unit tests).
func Active() *Config {
	active.Lock()
	defer active.Unlock()
	return active.cfg
}

// Wrap returns the argv and environment that start argv confined by cfg:
// the launcher (exe, this very binary) with cfg in its environment.
func Wrap(cfg *Config, exe string, argv []string) ([]string, []string, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("jail: %w", err)
	}
	return append([]string{exe, Command, "--"}, argv...), []string{EnvConfig + "=" + string(data)}, nil
}

// Main is the launcher: args are what follows Command. It confines itself as
// EnvConfig says and executes the program; it returns only on failure, with
// the exit status 127 (what a shell returns for a program it cannot run).
func Main(args []string) int {
	if len(args) < 2 || args[0] != "--" {
		fmt.Fprintln(os.Stderr, "wirelab jail: usage: "+Command+" -- PROGRAM [ARGS...]")
		return 127
	}
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(EnvConfig)), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "wirelab jail: %s: %v\n", EnvConfig, err)
		return 127
	}
	err := Exec(&cfg, args[1:])
	fmt.Fprintf(os.Stderr, "wirelab jail: could not start %s: %v\n", args[1], err)
	return 127
}

// Secure bits (linux/securebits.h): with NOROOT, uid 0 gains no capabilities
// on exec; with NO_SETUID_FIXUP, changing uids does not change capabilities;
// the LOCKED bits make both permanent for the process and its children.
const (
	secbitNoRoot              = 1 << 0
	secbitNoRootLocked        = 1 << 1
	secbitNoSetuidFixup       = 1 << 2
	secbitNoSetuidFixupLocked = 1 << 3
	secbitNoCapAmbientRaise   = 1 << 6
	secbitNoCapAmbientLocked  = 1 << 7
)

// Exec confines the calling process as cfg says and replaces it with argv.
// It runs on one locked thread and uses per-thread system calls for what is
// per thread (credentials, no_new_privs, secure bits): execve keeps the
// calling thread's and discards the others.
func Exec(cfg *Config, argv []string) error {
	runtime.LockOSThread()
	parent := unix.Getppid()
	for _, dir := range cfg.Cgroups {
		if err := joinCgroup(dir); err != nil {
			return err
		}
	}
	if err := setLimits(cfg.Limits, !cfg.NoRoot && !cfg.Unprivileged, len(cfg.Cgroups) == 0); err != nil {
		return err
	}
	if cfg.Root != "" {
		if err := unix.Chroot(cfg.Root); err != nil {
			return fmt.Errorf("chroot %s: %w", cfg.Root, err)
		}
	}
	dir := cfg.Dir
	if dir == "" {
		dir = "/"
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir %s: %w", dir, err)
	}
	switch {
	case cfg.Unprivileged:
		// Nothing to drop: no capability, and the grader's own identity.
	case cfg.NoRoot:
		if err := dropBoundingSet(); err != nil {
			return err
		}
		bits := secbitNoRoot | secbitNoRootLocked | secbitNoSetuidFixup | secbitNoSetuidFixupLocked |
			secbitNoCapAmbientRaise | secbitNoCapAmbientLocked
		if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(bits), 0, 0, 0); err != nil {
			return fmt.Errorf("set secure bits: %w", err)
		}
	default:
		if err := dropBoundingSet(); err != nil {
			return err
		}
		if err := setIdentity(cfg.UID, cfg.GID); err != nil {
			return err
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	// A change of credentials clears the parent-death signal: set it again,
	// and make sure the parent did not die in between.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set the parent-death signal: %w", err)
	}
	if unix.Getppid() != parent {
		return errors.New("the grader ended while the program was starting")
	}
	path := argv[0]
	if !strings.Contains(path, "/") {
		return fmt.Errorf("program %q: a path is needed", path)
	}
	return unix.Exec(path, argv, cfg.Env)
}

// setIdentity drops the supplementary groups and takes gid and uid, on this
// thread only (raw system calls; glibc and Go's syscall package would change
// every thread, which execve makes moot). Leaving uid 0 clears every
// capability.
func setIdentity(uid, gid int) error {
	if _, _, errno := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); errno != 0 {
		return fmt.Errorf("setgroups: %w", errno)
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); errno != 0 {
		return fmt.Errorf("setresgid %d: %w", gid, errno)
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); errno != 0 {
		return fmt.Errorf("setresuid %d: %w", uid, errno)
	}
	return nil
}

// dropBoundingSet empties the capability bounding set, so that nothing the
// program executes can ever gain a capability back.
func dropBoundingSet() error {
	for c := 0; ; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			return nil // past the last capability this kernel knows
		}
		if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
}

// setLimits applies the per-process limits. With ownUser (the program runs as
// StudentUID), Processes is also RLIMIT_NPROC (twice over where the cgroup
// counts them), which counts a user's processes machine-wide; in the
// user-namespace mode that user is the student's own, with their whole
// session, so it is left to the cgroup. With
// noCgroup, Memory bounds each program's address space instead (four times
// over: a Go program reserves more address space than it uses).
func setLimits(l Limits, ownUser, noCgroup bool) error {
	set := func(name string, resource int, value uint64) error {
		if value == 0 {
			return nil
		}
		if err := unix.Setrlimit(resource, &unix.Rlimit{Cur: value, Max: value}); err != nil {
			return fmt.Errorf("set %s to %d: %w", name, value, err)
		}
		return nil
	}
	if err := set("RLIMIT_NOFILE", unix.RLIMIT_NOFILE, uint64(l.OpenFiles)); err != nil {
		return err
	}
	if err := set("RLIMIT_FSIZE", unix.RLIMIT_FSIZE, uint64(l.FileSize)); err != nil {
		return err
	}
	if l.CPUSeconds > 0 {
		// SIGXCPU at the soft limit, SIGKILL at the hard one.
		if err := unix.Setrlimit(unix.RLIMIT_CPU, &unix.Rlimit{Cur: uint64(l.CPUSeconds), Max: uint64(l.CPUSeconds) + 5}); err != nil {
			return fmt.Errorf("set RLIMIT_CPU: %w", err)
		}
	}
	if ownUser {
		// With a cgroup, its pids limit is the one that fires (and is counted);
		// RLIMIT_NPROC is only the floor beneath it.
		nproc := uint64(l.Processes)
		if !noCgroup {
			nproc *= 2
		}
		if err := set("RLIMIT_NPROC", unix.RLIMIT_NPROC, nproc); err != nil {
			return err
		}
	}
	if noCgroup {
		if err := set("RLIMIT_AS", unix.RLIMIT_AS, 4*uint64(l.Memory)); err != nil {
			return err
		}
	}
	return nil
}
