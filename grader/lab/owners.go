package lab

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
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
func SocketOwners() (map[uint32]Owner, error) {
	procs, err := procfs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("lab: listing processes: %w", err)
	}
	owners := map[uint32]Owner{}
	for _, p := range procs {
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

// socketInode reads the inode of an fd link target "socket:[12345]".
func socketInode(target string) (uint32, bool) {
	rest, ok := strings.CutPrefix(target, "socket:[")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 32)
	return uint32(n), err == nil
}
