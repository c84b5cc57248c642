package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wirelab/wirelab/grader/jail"
	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/sandbox"
)

// envCgroups hands the sandbox child the directories of the cgroup the
// grader made for the case's programs (os.PathListSeparator between them).
const envCgroups = "WIRELAB_CGROUPS"

// confine, in the sandbox child, makes every program the specs start run
// confined (package jail): in the child's own mount namespace it builds the
// root the programs are chrooted into, holding the built programs and the
// specs' scratch directory (the child's TMPDIR, where the specs write the files
// they hand to the programs) read-only at their own paths. In the shared
// network namespace (no mount namespace of its own) there is no root: the
// programs still run as another user, with no capabilities, in a clean
// environment, under limits.
func confine(def caseDef, shared bool) error {
	binDir := os.Getenv(lab.EnvBinDir)
	if binDir == "" {
		return fmt.Errorf("%s is not set", lab.EnvBinDir)
	}
	work := filepath.Dir(binDir)
	scratch := filepath.Join(work, "scratch")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(scratch, 0o755); err != nil {
		return err
	}
	os.Setenv("TMPDIR", scratch)
	userns := inUserNamespace()
	cfg := &jail.Config{
		UID: jail.StudentUID, GID: jail.StudentGID, NoRoot: userns,
		Env: jail.Env(), Limits: def.limits(),
	}
	switch {
	case userns:
		cfg.UID, cfg.GID = 0, 0 // the only identity the namespace maps
	case os.Geteuid() != 0:
		// Unprivileged with no namespace at all (--shared-netns as a user):
		// the programs keep the grader's identity, with no_new_privs.
		cfg.UID, cfg.GID, cfg.Unprivileged = os.Geteuid(), os.Getegid(), true
	}
	if dirs := os.Getenv(envCgroups); dirs != "" {
		cfg.Cgroups = filepath.SplitList(dirs)
	}
	if shared && !userns && !cfg.Unprivileged {
		// No root to hold the programs: the user they run as must be able to
		// reach them where they are (traverse, not list, the work directory).
		for _, dir := range []string{filepath.Dir(work), work} {
			if err := os.Chmod(dir, 0o711); err != nil {
				return err
			}
		}
	}
	if !shared {
		root, err := jail.BuildRoot(jail.RootOptions{
			Dir: filepath.Join(work, "jail"), ReadOnly: []string{binDir, scratch},
			Size: cfg.Limits.Disk, UID: cfg.UID, GID: cfg.GID,
		})
		if err != nil {
			return err
		}
		cfg.Root, cfg.Dir = root.Dir, jail.Home
	}
	jail.Activate(cfg)
	return nil
}

// inUserNamespace reports whether this process runs in a user namespace other
// than the machine's own (whose uid_map maps every id to itself).
func inUserNamespace() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	return strings.Join(strings.Fields(string(data)), " ") != "0 0 4294967295"
}

// caseCgroup makes the cgroup of the case's programs (nil and the reason when
// there can be none: not root, no cgroup file system); never nil and nil.
func (g *caseGrader) caseCgroup(mode sandbox.Mode) (*jail.Cgroup, error) {
	if mode == sandbox.UserNetns {
		return nil, fmt.Errorf("the grader is not root")
	}
	return jail.NewCgroup(jail.CgroupName(g.def.Slug), g.def.limits())
}

// confinement says, for the report's environment, how the case's programs
// ran: as whom, and under which limits ("" when the case ran no program).
func (g *caseGrader) confinement() string {
	if g.cgroup == nil && g.cgroupErr == nil {
		return "" // runSpecs sets one of them: its sandbox never started
	}
	l := g.def.limits()
	who := fmt.Sprintf("as uid %d with no capabilities, chrooted", jail.StudentUID)
	switch g.mode {
	case sandbox.UserNetns:
		who = "as your own user with no capabilities, chrooted"
	case sandbox.SharedNetns:
		who = fmt.Sprintf("as uid %d with no capabilities, not chrooted (no mount namespace)", jail.StudentUID)
	}
	group := fmt.Sprintf("%s of memory and %d processes for all of them together (cgroup %s)", jail.Bytes(l.Memory), l.Processes, map[bool]string{true: "v2", false: "v1"}[g.cgroup != nil && g.cgroup.V2])
	if g.cgroup == nil {
		group = fmt.Sprintf("%s of address space per program (no cgroup: %v)", jail.Bytes(4*l.Memory), g.cgroupErr)
	}
	whose := "student programs"
	if g.def.Limits != nil {
		whose = fmt.Sprintf("%s's student programs", g.def.Slug) // its own limits: say whose they are
	}
	return fmt.Sprintf("%s run %s, in a clean environment; limits: %s, %d open files, %s per file, %d s of CPU, %s of disk",
		whose, who, group, l.OpenFiles, jail.Bytes(l.FileSize), l.CPUSeconds, jail.Bytes(l.Disk))
}
