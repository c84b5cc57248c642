package lab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/wirelab/wirelab/grader/jail"
)

// HelperCommand is the hidden first argument that makes the grade binary act
// as one of the lab's helper programs: a process a spec needs beside the
// student's (a peer that owns sockets, leaks them, or closes first), built
// into the grade binary itself so that it needs no build step and no file the
// student could see.
const HelperCommand = "__lab-helper"

// helpers maps a helper's name to its main function. Specs packages register
// theirs from init, before main runs; nothing writes the map afterwards.
var helpers = map[string]func(args []string) int{}

// RegisterHelper makes run available as the helper program name. The name is
// also the process's command name (/proc/<pid>/comm, at most 15 bytes), which
// is what a tool like ss or the student's sockstat shows as its owner.
func RegisterHelper(name string, run func(args []string) int) {
	if len(name) > 15 || strings.ContainsAny(name, "/ ") {
		panic(fmt.Sprintf("lab: helper name %q: at most 15 bytes, no slash or space (it becomes the command name)", name))
	}
	if _, dup := helpers[name]; dup {
		panic(fmt.Sprintf("lab: helper %q registered twice", name))
	}
	helpers[name] = run
}

// RunHelper runs the helper that args[0] names with the rest of args; the
// grade binary's main calls it when its first argument is HelperCommand. It
// returns the exit code.
func RunHelper(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "lab helper: no helper named")
		return 2
	}
	// Started from an execute-only copy of the grader, the kernel made this
	// process undumpable; the sockets it owns must be as visible to the
	// student's tool as those of any process of the student's own user.
	unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
	run, ok := helpers[args[0]]
	if !ok {
		names := make([]string, 0, len(helpers))
		for n := range helpers {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Fprintf(os.Stderr, "lab helper: unknown helper %q (known: %s)\n", args[0], strings.Join(names, ", "))
		return 2
	}
	return run(args[1:])
}

// MkdirShared makes a new temporary directory (as os.MkdirTemp does, in the
// specs' scratch directory) that the student's programs may read: a spec puts
// there the files it hands them (a /proc tree to parse). os.MkdirTemp's own
// directories are private to the grader.
func MkdirShared(pattern string) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// WritableDir is a directory the student's programs may write and the grader
// reads: Path is its name as the programs see it (for their flags), Outside
// as the grader opens it.
type WritableDir struct {
	Path    string
	Outside string
}

// File names a file of the directory both ways.
func (d WritableDir) File(name string) WritableDir {
	return WritableDir{Path: filepath.Join(d.Path, name), Outside: filepath.Join(d.Outside, name)}
}

// MkdirWritable makes a new directory the student's programs may write (an
// audit log, a state file): in the jail's own /tmp when they run chrooted,
// which is also where it survives a program's restart; in the specs' scratch
// directory otherwise. It goes when the case's sandbox does.
func MkdirWritable(pattern string) (WritableDir, error) {
	root := ""
	if cfg := jail.Active(); cfg != nil {
		root = cfg.Root
	}
	parent := os.TempDir()
	if root != "" {
		parent = filepath.Join(root, "tmp")
	}
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return WritableDir{}, err
	}
	// World-writable rather than chowned: in a user namespace the programs'
	// user is the grader's own, as root it is jail.StudentUID.
	if err := os.Chmod(dir, 0o777); err != nil {
		os.RemoveAll(dir)
		return WritableDir{}, err
	}
	inside := dir
	if root != "" {
		inside = "/" + strings.TrimPrefix(strings.TrimPrefix(dir, root), "/")
	}
	return WritableDir{Path: inside, Outside: dir}, nil
}

// helperLinks holds one symbolic link per helper name to this executable (in
// a jail, to its execute-only copy): the kernel names a process after the
// file it executed, so starting a helper through its link makes its command
// name the helper's name.
var helperLinks struct {
	sync.Mutex
	dir string
	exe string // what the links point to
}

// executeOnlyCopy copies the executable exe into dir with mode 0711: a
// process of another user may execute it but not read it. (The kernel then
// makes the helper undumpable; RunHelper makes it dumpable again, so that the
// student's tool can read its fd directory like that of any process of its
// own user.)
func executeOnlyCopy(exe, dir string) (string, error) {
	in, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer in.Close()
	path := filepath.Join(dir, "wl-grader")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o711)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return path, os.Chmod(path, 0o711)
}

// helperPath returns the path of the link through which helper name starts.
func helperPath(name string) (string, error) {
	if _, ok := helpers[name]; !ok {
		return "", fmt.Errorf("lab: no helper %q is registered", name)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("lab: helper %s: %w", name, err)
	}
	helperLinks.Lock()
	defer helperLinks.Unlock()
	if helperLinks.dir == "" {
		dir, err := MkdirShared("wirelab-helpers-")
		if err != nil {
			return "", fmt.Errorf("lab: helper %s: %w", name, err)
		}
		if jail.Active() != nil {
			// A confined helper runs as the student's programs do, in their
			// root (the scratch directory is in it): from an execute-only
			// copy of the grader, which they cannot read.
			if exe, err = executeOnlyCopy(exe, dir); err != nil {
				return "", fmt.Errorf("lab: helper %s: %w", name, err)
			}
		}
		helperLinks.dir, helperLinks.exe = dir, exe
	}
	exe = helperLinks.exe
	link := filepath.Join(helperLinks.dir, name)
	if err := os.Symlink(exe, link); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("lab: helper %s: %w", name, err)
	}
	return link, nil
}

// StartHelper starts the registered helper name with args, as Start starts a
// program, in the sandbox's network namespace.
func StartHelper(name string, args ...string) (*Process, error) {
	path, err := helperPath(name)
	if err != nil {
		return nil, err
	}
	return Start(path, append([]string{HelperCommand, name}, args...)...)
}

// StartHelper starts the registered helper name inside the namespace.
func (ns *Netns) StartHelper(name string, args ...string) (*Process, error) {
	path, err := helperPath(name)
	if err != nil {
		return nil, err
	}
	return ns.Start(path, append([]string{HelperCommand, name}, args...)...)
}
