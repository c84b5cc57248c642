package lab

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"

	"github.com/wirelab/wirelab/grader/jail"
)

// Owner is a process that holds a socket open: one of its file descriptors
// refers to the socket's inode.
type Owner struct {
	Pid     int
	Command string // /proc/<pid>/comm
}

// SocketOwners maps socket inodes to the processes that hold them, from every
// process's /proc/<pid>/fd links ("socket:[inode]"), the way ss -p finds them.
// A socket shared by several processes (after fork) maps to the lowest pid.
// Processes that exit while they are read are skipped. The map covers sockets
// of every network namespace: look up the inodes of one table.
//
// With a jail active, the map holds what a confined program can see, which is
// what the student's tool is held to: only the processes that run as the
// jail's user, never the sandbox child itself (undumpable, its fd directory is
// closed to them), so the specs' own sockets are unowned to them, as the
// sockets of another user are to any unprivileged tool.
func SocketOwners() (map[uint32]Owner, error) {
	procs, err := procfs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("lab: listing processes: %w", err)
	}
	confined := jail.Active()
	owners := map[uint32]Owner{}
	for _, p := range procs {
		if confined != nil && !runsAs(p, confined.UID) {
			continue
		}
		targets, err := p.FileDescriptorTargets()
		if err != nil {
			continue // it exited, or it is not ours to read
		}
		var comm string
		for _, t := range targets {
			inode, ok := socketInode(t)
			if !ok {
				continue
			}
			if o, seen := owners[inode]; seen && o.Pid < p.PID {
				continue
			}
			if comm == "" {
				if comm, err = p.Comm(); err != nil {
					break
				}
			}
			owners[inode] = Owner{Pid: p.PID, Command: comm}
		}
	}
	return owners, nil
}

// runsAs reports whether p is a process other than this one whose real user
// is uid.
func runsAs(p procfs.Proc, uid int) bool {
	if p.PID == os.Getpid() {
		return false
	}
	st, err := p.NewStatus()
	return err == nil && st.UIDs[0] == uint64(uid)
}

// socketInode reads the inode of an fd link target "socket:[12345]".
func socketInode(target string) (uint32, bool) {
	rest, ok := strings.CutPrefix(target, "socket:[")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 32)
	return uint32(n), err == nil
}
