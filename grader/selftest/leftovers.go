package selftest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prometheus/procfs"

	"github.com/wirelab/wirelab/grader/jail"
)

// Machine is what a grading could leave behind on the machine: processes of
// the student's user or of the grader, named network namespaces, network
// devices, the grader's cgroups and its temporary directories. Before and
// after a run of the corpus, the two must be equal (Leftovers).
type Machine struct {
	Processes  []string // "pid comm (uid N)"
	Namespaces []string // /run/netns
	Links      []string // network devices of this namespace
	Cgroups    []string // directories named wirelab-*
	TempDirs   []string // wirelab-* in the temporary directory
}

// SnapshotMachine looks at the machine. Processes of the grader are those
// running as jail.StudentUID or whose command is the grader's or a lab
// helper's; the calling process and its ancestors are left out.
func SnapshotMachine() (Machine, error) {
	var m Machine
	procs, err := procfs.AllProcs()
	if err != nil {
		return m, err
	}
	for _, p := range procs {
		if p.PID == os.Getpid() {
			continue
		}
		st, err := p.NewStatus()
		if err != nil {
			continue
		}
		grader := st.Name == "grade" || strings.HasPrefix(st.Name, "wl-") || st.UIDs[0] == jail.StudentUID
		if grader {
			m.Processes = append(m.Processes, fmt.Sprintf("%d %s (uid %d)", p.PID, st.Name, st.UIDs[0]))
		}
	}
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			m.Namespaces = append(m.Namespaces, e.Name())
		}
	}
	links, err := net.Interfaces()
	if err != nil {
		return m, err
	}
	for _, l := range links {
		m.Links = append(m.Links, l.Name)
	}
	for _, pattern := range []string{"/sys/fs/cgroup/wirelab-*", "/sys/fs/cgroup/*/wirelab-*", "/sys/fs/cgroup/*/*/wirelab-*",
		"/sys/fs/cgroup/*/*/*/wirelab-*", "/sys/fs/cgroup/*/*/*/*/wirelab-*"} {
		found, _ := filepath.Glob(pattern)
		m.Cgroups = append(m.Cgroups, found...)
	}
	m.TempDirs, _ = filepath.Glob(filepath.Join(os.TempDir(), "wirelab-*"))
	return m, nil
}

// Leftovers lists what after holds that before did not.
func Leftovers(before, after Machine) []string {
	var out []string
	diff := func(what string, b, a []string) {
		for _, x := range a {
			if !slices.Contains(b, x) {
				out = append(out, what+" "+x)
			}
		}
	}
	diff("process", before.Processes, after.Processes)
	diff("network namespace", before.Namespaces, after.Namespaces)
	diff("network device", before.Links, after.Links)
	diff("cgroup", before.Cgroups, after.Cgroups)
	diff("temporary directory", before.TempDirs, after.TempDirs)
	return out
}
