package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
)

// EpollEntry is one file descriptor in an epoll instance's interest list: a
// "tfd:" line of /proc/<pid>/fdinfo/<epfd>.
type EpollEntry struct {
	FD     int    // the registered descriptor's number
	Events uint32 // the events asked for (EPOLLIN, EPOLLET, ...)
	Data   uint64 // what the program stored with it (epoll_event.data)
}

// EpollInstance is one epoll descriptor of a process and its interest list.
type EpollInstance struct {
	FD      int
	Entries []EpollEntry
}

// Holds reports whether the interest list has fd, and with what data.
func (e EpollInstance) Holds(fd int) (EpollEntry, bool) {
	for _, en := range e.Entries {
		if en.FD == fd {
			return en, true
		}
	}
	return EpollEntry{}, false
}

// EpollInstances lists a process's epoll descriptors (links to
// "anon_inode:[eventpoll]") with their interest lists. A Go program has at
// least one: the runtime's own netpoller.
func EpollInstances(pid int) ([]EpollInstance, error) {
	links, err := fdLinks(pid)
	if err != nil {
		return nil, err
	}
	var out []EpollInstance
	for fd, target := range links {
		if target != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "fdinfo", strconv.Itoa(fd)))
		if err != nil {
			continue // closed meanwhile
		}
		entries, err := parseEpollInfo(string(info))
		if err != nil {
			return nil, fmt.Errorf("lab: /proc/%d/fdinfo/%d: %w", pid, fd, err)
		}
		out = append(out, EpollInstance{FD: fd, Entries: entries})
	}
	slices.SortFunc(out, func(a, b EpollInstance) int { return a.FD - b.FD })
	return out, nil
}

// parseEpollInfo reads the "tfd:" lines of an epoll descriptor's fdinfo:
//
//	tfd:        5 events:       19 data:                5  pos:0 ino:3d9e5 sdev:8
func parseEpollInfo(info string) ([]EpollEntry, error) {
	var entries []EpollEntry
	for line := range strings.Lines(info) {
		fields := strings.Fields(line)
		if len(fields) < 6 || fields[0] != "tfd:" {
			continue
		}
		var e EpollEntry
		for i := 0; i+1 < len(fields); i += 2 {
			var err error
			switch fields[i] {
			case "tfd:":
				e.FD, err = strconv.Atoi(fields[i+1])
			case "events:":
				var v uint64
				v, err = strconv.ParseUint(fields[i+1], 16, 32)
				e.Events = uint32(v)
			case "data:":
				e.Data, err = strconv.ParseUint(fields[i+1], 16, 64)
			default:
				i = len(fields) // pos:0 ino:... carry their values in one field
			}
			if err != nil {
				return nil, fmt.Errorf("bad line %q: %w", strings.TrimSpace(line), err)
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// SocketFDs maps the inodes of a process's sockets to their descriptor numbers.
func SocketFDs(pid int) (map[uint32]int, error) {
	links, err := fdLinks(pid)
	if err != nil {
		return nil, err
	}
	out := map[uint32]int{}
	for fd, target := range links {
		if inode, ok := socketInode(target); ok {
			out[inode] = fd
		}
	}
	return out, nil
}

// FDCount is a process's open descriptors: its sockets, and the rest.
type FDCount struct {
	Sockets, Other int
}

// CountFDs counts a process's open descriptors by kind, from one read of
// /proc/<pid>/fd.
func CountFDs(pid int) (FDCount, error) {
	links, err := fdLinks(pid)
	if err != nil {
		return FDCount{}, err
	}
	var n FDCount
	for _, target := range links {
		if _, ok := socketInode(target); ok {
			n.Sockets++
		} else {
			n.Other++
		}
	}
	return n, nil
}

// fdLinks maps a process's descriptor numbers to what they refer to
// ("socket:[123]", "anon_inode:[eventpoll]", a path). Descriptors closed
// while they are read are left out.
func fdLinks(pid int) (map[int]string, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return nil, fmt.Errorf("lab: /proc/%d: %w", pid, err)
	}
	fds, err := p.FileDescriptors()
	if err != nil {
		return nil, fmt.Errorf("lab: /proc/%d/fd: %w", pid, err)
	}
	out := make(map[int]string, len(fds))
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", strconv.FormatUint(uint64(fd), 10)))
		if err == nil {
			out[int(fd)] = target
		}
	}
	return out, nil
}
