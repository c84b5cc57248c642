package lab

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/procfs"
)

// ProcessStats is what /proc says about one process.
type ProcessStats struct {
	Threads int
	RSS     int64 // bytes
	OpenFDs int
}

func (s ProcessStats) String() string {
	return fmt.Sprintf("%d threads, RSS %.1f MiB, %d open fds", s.Threads, float64(s.RSS)/(1<<20), s.OpenFDs)
}

// StatsOf reads a process's threads, resident memory and open descriptors.
func StatsOf(pid int) (ProcessStats, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return ProcessStats{}, fmt.Errorf("lab: /proc/%d: %w", pid, err)
	}
	st, err := p.Stat()
	if err != nil {
		return ProcessStats{}, fmt.Errorf("lab: /proc/%d/stat: %w", pid, err)
	}
	fds, err := p.FileDescriptorsLen()
	if err != nil {
		return ProcessStats{}, fmt.Errorf("lab: /proc/%d/fd: %w", pid, err)
	}
	return ProcessStats{Threads: st.NumThreads, RSS: int64(st.ResidentMemory()), OpenFDs: fds}, nil
}

// Stats reads the program's process stats.
func (p *Process) Stats() (ProcessStats, error) { return StatsOf(p.Pid()) }

// AwaitStopped waits until the kernel reports the process as stopped (state T),
// e.g. after SIGSTOP.
func (p *Process) AwaitStopped(ctx context.Context, timeout time.Duration) error {
	proc, err := procfs.NewProc(p.Pid())
	if err != nil {
		return err
	}
	return Await(ctx, timeout, func() (bool, error) {
		st, err := proc.Stat()
		if err != nil {
			return false, err
		}
		return st.State == "T", nil
	})
}

// Dead reports whether the program has ended, even if it has not been reaped
// yet (a zombie: the kernel killed it, its parent has not waited for it).
func (p *Process) Dead() bool {
	if p.HasExited() {
		return true
	}
	proc, err := procfs.NewProc(p.Pid())
	if err != nil {
		return true
	}
	st, err := proc.Stat()
	return err != nil || st.State == "Z" || st.State == "X"
}

// AwaitQuiet waits until every thread of the program is asleep (state S) on
// two looks in a row: it has handled what reached it and waits for more. A
// spec calls it before it asks a program for a report (SIGTERM), after the
// kernel shows nothing left in the program's sockets, so that the report
// covers everything that was delivered.
func (p *Process) AwaitQuiet(ctx context.Context, timeout time.Duration) error {
	quiet := 0
	return Await(ctx, timeout, func() (bool, error) {
		if p.HasExited() {
			return false, fmt.Errorf("%s %s", p.Name, p.ExitDescription())
		}
		threads, err := procfs.AllThreads(p.Pid())
		if err != nil {
			return false, err
		}
		asleep := true
		for _, t := range threads {
			st, err := t.Stat()
			if err != nil || st.State != "S" {
				asleep = false
				break
			}
		}
		if !asleep {
			quiet = 0
			return false, nil
		}
		quiet++
		return quiet >= 2, nil
	})
}
