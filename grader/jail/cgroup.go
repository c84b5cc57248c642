package jail

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/grader/internal/words"
)

// Cgroup holds every process of one case's confined programs, however they
// fork: memory and process counts are limited for all of them together, the
// kernel counts what the limits refused, and the grader can kill them all.
// Where the cpu controller is there, the programs also compete for the CPU as
// one group, with the default weight: a thousand busy processes weigh as
// much as one of the grader's threads, so the grader keeps measuring and
// finishes on time.
// The grader (the parent of the sandbox child) makes it before the case and
// removes it after (Remove), so a process that escapes its parent still ends.
//
// cgroup v2 is used where its memory and pids controllers are available (GitHub's
// runners); else cgroup v1's memory and pids hierarchies (this machine).
type Cgroup struct {
	Name string
	V2   bool
	dirs []string // v2: one directory; v1: memory's, then pids'
}

// cgroupPrefix starts the name of every cgroup the grader makes:
// wirelab-<grader pid>-<case>, so that SweepCgroups can tell a dead grader's.
const cgroupPrefix = "wirelab-"

// NewCgroup makes the cgroup name (wirelab-<pid>-<case>) with the limits l.
// It needs root; an error says why there is none, and the programs then have
// their rlimits only.
func NewCgroup(name string, l Limits) (*Cgroup, error) {
	bases, v2, err := cgroupBases()
	if err != nil {
		return nil, err
	}
	return newCgroupAt(bases, v2, name, l)
}

// newCgroupAt makes the cgroup name under each of bases (one for v2; memory,
// pids and maybe cpu for v1) and writes the limits.
func newCgroupAt(bases []string, v2 bool, name string, l Limits) (*Cgroup, error) {
	c := &Cgroup{Name: name, V2: v2}
	for _, base := range bases {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			c.Remove()
			return nil, fmt.Errorf("jail: make cgroup %s: %w", dir, err)
		}
		c.dirs = append(c.dirs, dir)
	}
	var settings [][2]string
	if v2 {
		settings = [][2]string{
			{"memory.max", strconv.FormatInt(l.Memory, 10)},
			{"memory.swap.max", "0"},
			{"pids.max", strconv.Itoa(l.Processes)},
		}
	} else {
		settings = [][2]string{
			{"memory.limit_in_bytes", strconv.FormatInt(l.Memory, 10)},
			{"memory.memsw.limit_in_bytes", strconv.FormatInt(l.Memory, 10)}, // only where swap accounting is on
			{"pids.max", strconv.Itoa(l.Processes)},
		}
	}
	for _, s := range settings {
		path, ok := c.file(s[0])
		if !ok {
			continue
		}
		if err := os.WriteFile(path, []byte(s[1]), 0o644); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			c.Remove()
			return nil, fmt.Errorf("jail: set %s: %w", path, err)
		}
	}
	return c, nil
}

// Dirs are the directories a process joins (Config.Cgroups).
func (c *Cgroup) Dirs() []string { return c.dirs }

// file is the path of a control file: in the v1 hierarchy that has it.
func (c *Cgroup) file(name string) (string, bool) {
	for _, dir := range c.dirs {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// Remove kills every process in the cgroup, waits for them to be gone (up to
// 2 s) and removes it. Removing a removed cgroup does nothing.
func (c *Cgroup) Remove() error {
	deadline := time.Now().Add(2 * time.Second)
	for _, dir := range c.dirs {
		if err := killAll(dir, deadline); err != nil {
			return err
		}
	}
	var errs []error
	for i := len(c.dirs) - 1; i >= 0; i-- {
		if err := os.Remove(c.dirs[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("jail: remove cgroup: %w", err))
		}
	}
	return errors.Join(errs...)
}

// killAll sends SIGKILL to every process in dir until none is left.
func killAll(dir string, deadline time.Time) error {
	// cgroup v2 on Linux 5.14 and later kills them all at once; elsewhere the
	// file does not exist and the loop below does it.
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644)
	for {
		pids, err := readPids(filepath.Join(dir, "cgroup.procs"))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("jail: %w", err)
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jail: %d process(es) of cgroup %s would not die: %v", len(pids), dir, pids)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond) // a killed process leaves the cgroup when it is reaped; nothing to wait on
	}
}

func readPids(path string) ([]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// joinCgroup moves the calling process into the cgroup directory dir.
func joinCgroup(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("0"), 0o644); err != nil {
		return fmt.Errorf("join cgroup %s: %w", dir, err)
	}
	return nil
}

// Breaches are the limits the kernel enforced on the cgroup's processes so
// far: the number of processes it killed for want of memory, and of forks it
// refused for want of processes.
type Breaches struct {
	OOMKills     int
	ForksRefused int
}

// ReadBreaches reads the counters of the cgroup whose directories are dirs
// (Config.Cgroups); a counter that cannot be read counts 0.
func ReadBreaches(dirs []string) Breaches {
	var b Breaches
	for _, dir := range dirs {
		b.OOMKills += counter(filepath.Join(dir, "memory.events"), "oom_kill")      // v2
		b.OOMKills += counter(filepath.Join(dir, "memory.oom_control"), "oom_kill") // v1
		b.ForksRefused += counter(filepath.Join(dir, "pids.events"), "max")
	}
	return b
}

// Since is what was breached after an earlier reading.
func (b Breaches) Since(earlier Breaches) Breaches {
	return Breaches{OOMKills: b.OOMKills - earlier.OOMKills, ForksRefused: b.ForksRefused - earlier.ForksRefused}
}

// Describe says what was breached, in the student's words; "" for nothing.
func (b Breaches) Describe(l Limits) string {
	var parts []string
	if b.OOMKills > 0 {
		parts = append(parts, fmt.Sprintf("your programs used more than %s of memory together, and the kernel stopped %s (out of memory)", Bytes(l.Memory), words.Count(b.OOMKills, "process", "processes")))
	}
	if b.ForksRefused > 0 {
		parts = append(parts, fmt.Sprintf("your programs tried to run more than %d processes and threads at once; the kernel refused %s", l.Processes, words.Count(b.ForksRefused, "new process or thread", "new processes or threads")))
	}
	return strings.Join(parts, "; ")
}

// Bytes renders a size the way a student reads it: "512 MiB", "1 GiB".
func Bytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// counter reads "key N" from a flat-keyed cgroup file.
func counter(path, key string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == key {
			n, _ := strconv.Atoi(fields[1])
			return n
		}
	}
	return 0
}

// cgroupBases finds where the grader may make its cgroups: in cgroup v2, the
// root of the unified hierarchy if it offers the memory and pids controllers
// (a cgroup with processes of its own cannot give controllers to children,
// the root is exempt); else the grader's own cgroups in the v1 memory and
// pids hierarchies.
func cgroupBases() ([]string, bool, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, false, err
	}
	if root, ok := mounts["cgroup2"]; ok && hasControllers(root, "memory", "pids") {
		if err := enableControllers(root, "memory", "pids", "cpu"); err == nil {
			return []string{root}, true, nil
		}
	}
	own, err := ownCgroups()
	if err != nil {
		return nil, false, err
	}
	var bases []string
	for _, ctl := range []string{"memory", "pids", "cpu"} {
		mount, ok := mounts[ctl]
		switch {
		case ok:
			bases = append(bases, filepath.Join(mount, own[ctl]))
		case ctl != "cpu":
			return nil, false, fmt.Errorf("jail: no cgroup v2 with the memory and pids controllers, and no cgroup v1 %s hierarchy", ctl)
		}
	}
	return bases, false, nil
}

// cgroupMounts maps "cgroup2" and each v1 controller to where it is mounted.
func cgroupMounts() (map[string]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("jail: %w", err)
	}
	defer f.Close()
	mounts := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 32 31 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 || fields[3] != "/" {
			continue // a bind of part of a hierarchy is not where we start
		}
		switch tail[0] {
		case "cgroup2":
			if _, seen := mounts["cgroup2"]; !seen {
				mounts["cgroup2"] = fields[4]
			}
		case "cgroup":
			for _, opt := range strings.Split(tail[2], ",") {
				if opt == "memory" || opt == "pids" || opt == "cpu" {
					mounts[opt] = fields[4]
				}
			}
		}
	}
	return mounts, sc.Err()
}

// ownCgroups maps each v1 controller to this process's cgroup in it.
func ownCgroups() (map[string]string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("jail: %w", err)
	}
	own := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			own[ctl] = parts[2]
		}
	}
	return own, nil
}

func hasControllers(dir string, want ...string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return false
	}
	have := strings.Fields(string(data))
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// enableControllers gives the children of dir the controllers ctls; cpu is
// welcome but not needed.
func enableControllers(dir string, ctls ...string) error {
	for _, ctl := range ctls {
		err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+ctl), 0o644)
		if err != nil && ctl != "cpu" {
			return err
		}
	}
	return nil
}

// SweepCgroups removes the cgroups of graders that are no longer running (a
// grader killed with SIGKILL cannot remove its own), killing what is left in
// them.
func SweepCgroups() {
	bases, _, err := cgroupBases()
	if err != nil {
		return
	}
	for _, base := range bases {
		entries, err := os.ReadDir(base)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() || !OwnerGone(e.Name(), cgroupPrefix) {
				continue
			}
			c := &Cgroup{Name: e.Name(), dirs: []string{filepath.Join(base, e.Name())}}
			c.Remove()
		}
	}
}

// CgroupName is the name of the cgroup of case slug for this grader.
func CgroupName(slug string) string {
	return fmt.Sprintf("%s%d-%s", cgroupPrefix, os.Getpid(), slug)
}

// OwnerGone reports whether name is prefix, a process id and "-..." (the way
// the grader names what it leaves on the machine while it runs: cgroups, its
// work directory) and that process no longer runs, so what bears the name
// was left by a grader killed before it could remove it.
func OwnerGone(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return false
	}
	pidText, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
