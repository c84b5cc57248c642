package lab

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/procfs"
)

// userHZ is the kernel's clock tick for the times in /proc/<pid>/stat
// (USER_HZ, 100 on every Linux this runs on).
const userHZ = 100

// TreeStats is what /proc says about a process and its descendants together:
// a server that forks a process per connection is measured as one program.
type TreeStats struct {
	Processes int   // the process and its live descendants (zombies not counted)
	Zombies   int   // descendants that ended and were not reaped by their parent
	Threads   int   // over the live processes
	RSS       int64 // bytes, over the live processes
	// CPU is the user and system time of the processes, zombies included,
	// plus what their reaped children had used (their cutime and cstime).
	CPU time.Duration
}

func (s TreeStats) String() string {
	return fmt.Sprintf("%d processes (%d zombies), %d threads, RSS %.1f MiB, CPU %.2f s",
		s.Processes, s.Zombies, s.Threads, float64(s.RSS)/(1<<20), s.CPU.Seconds())
}

// Descendants lists the processes below pid (children, their children, ...),
// zombies included, in pid order. Processes that exit while they are read
// are left out.
func Descendants(pid int) ([]procfs.ProcStat, error) {
	procs, err := procfs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("lab: listing processes: %w", err)
	}
	children := map[int][]procfs.ProcStat{}
	for _, p := range procs {
		st, err := p.Stat()
		if err != nil {
			continue
		}
		children[st.PPID] = append(children[st.PPID], st)
	}
	var out []procfs.ProcStat
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		for _, c := range children[queue[0]] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	slices.SortFunc(out, func(a, b procfs.ProcStat) int { return a.PID - b.PID })
	return out, nil
}

// treeReadAttempts bounds how often TreeStatsOf reads the tree again while
// children are being reaped.
const treeReadAttempts = 20

// TreeStatsOf measures pid and its descendants.
func TreeStatsOf(pid int) (TreeStats, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return TreeStats{}, fmt.Errorf("lab: /proc/%d: %w", pid, err)
	}
	// A child reaped while the descendants are read would be counted
	// nowhere (gone from the list, not yet in the root's cutime when that was
	// read) or twice: the read counts only when the root's reaped-children
	// times did not move across it. (100 children ending together after
	// their clients closed lost most of their CPU time before this.)
	var root procfs.ProcStat
	var below []procfs.ProcStat
	for attempt := 0; ; attempt++ {
		first, err := p.Stat()
		if err != nil {
			return TreeStats{}, fmt.Errorf("lab: /proc/%d/stat: %w", pid, err)
		}
		if below, err = Descendants(pid); err != nil {
			return TreeStats{}, err
		}
		if root, err = p.Stat(); err != nil {
			return TreeStats{}, fmt.Errorf("lab: /proc/%d/stat: %w", pid, err)
		}
		if first.CUTime+first.CSTime == root.CUTime+root.CSTime || attempt == treeReadAttempts-1 {
			break
		}
	}
	ticks := uint64(root.CUTime + root.CSTime)
	var s TreeStats
	for i, st := range append([]procfs.ProcStat{root}, below...) {
		if i > 0 {
			// What a descendant's own reaped children used: it moves
			// with it to its parent's cutime when it is reaped in turn.
			ticks += uint64(st.CUTime + st.CSTime)
		}
		if st.State == "Z" || st.State == "X" {
			// A zombie's times stay readable until it is reaped, when
			// they move to its parent's cutime and cstime.
			s.Zombies++
			ticks += uint64(st.UTime + st.STime)
			continue
		}
		s.Processes++
		s.Threads += st.NumThreads
		s.RSS += int64(st.ResidentMemory())
		ticks += uint64(st.UTime + st.STime)
	}
	s.CPU = time.Duration(ticks) * time.Second / userHZ
	return s, nil
}

// TreeStats measures the program and every process it started.
func (p *Process) TreeStats() (TreeStats, error) { return TreeStatsOf(p.Pid()) }

// CPUOver measures the program and every process it started over a window:
// the CPU time they used in it, and the tree as it was at its end. It is a
// measurement, not a wait for readiness: the window is the quantity
// measured. It ends early, with ctx's error, when ctx does.
func (p *Process) CPUOver(ctx context.Context, window time.Duration) (TreeStats, time.Duration, error) {
	before, err := p.TreeStats()
	if err != nil {
		return TreeStats{}, 0, err
	}
	timer := time.NewTimer(window)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return TreeStats{}, 0, ctx.Err()
	case <-timer.C:
	}
	after, err := p.TreeStats()
	if err != nil {
		return TreeStats{}, 0, err
	}
	return after, after.CPU - before.CPU, nil
}
