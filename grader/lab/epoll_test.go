package lab

import (
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseEpollInfo(t *testing.T) {
	info := "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t3068\n" +
		"tfd:        5 events:       19 data:                5  pos:0 ino:3d9e5 sdev:8\n" +
		"tfd:        7 events: 80000019 data:     7f3a2c000b60  pos:0 ino:3d9e7 sdev:8\n"
	got, err := parseEpollInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	want := []EpollEntry{{FD: 5, Events: 0x19, Data: 5}, {FD: 7, Events: 0x80000019, Data: 0x7f3a2c000b60}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// An epoll instance made here shows in this process's fdinfo with what was
// registered in it.
func TestEpollInstancesReadsTheInterestList(t *testing.T) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(epfd)
	p := openPipe(t)
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(p[0])}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		t.Fatal(err)
	}
	instances, err := EpollInstances(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range instances {
		if in.FD != epfd {
			continue
		}
		e, ok := in.Holds(p[0])
		if !ok || e.Events&unix.EPOLLIN == 0 || uint32(e.Data) != uint32(p[0]) {
			t.Errorf("epoll %d: %+v, want the pipe's fd %d with EPOLLIN and its number as data", epfd, in.Entries, p[0])
		}
		return
	}
	t.Errorf("epoll fd %d not among %+v", epfd, instances)
}

// A socket and a pipe opened here are counted, each as its kind.
func TestCountFDsTellsSocketsFromTheRest(t *testing.T) {
	before, err := CountFDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	sock, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sock)
	openPipe(t)
	after, err := CountFDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if want := (FDCount{Sockets: before.Sockets + 1, Other: before.Other + 2}); after != want {
		t.Errorf("after a socket and a pipe: %+v, want %+v (before: %+v)", after, want, before)
	}
}

// This test process and the child it starts are one tree of two processes.
func TestTreeStatsCountsChildren(t *testing.T) {
	var attr os.ProcAttr
	child, err := os.StartProcess("/bin/sleep", []string{"sleep", "5"}, &attr)
	if err != nil {
		t.Skip(err)
	}
	defer child.Wait()
	defer child.Kill()
	s, err := TreeStatsOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.Processes < 2 || s.Threads < 2 || s.RSS <= 0 {
		t.Errorf("%v: want this process and its sleeping child", s)
	}
	below, err := Descendants(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, st := range below {
		found = found || st.PID == child.Pid
	}
	if !found {
		t.Errorf("child %d not among the descendants %v", child.Pid, below)
	}
}

// openPipe opens a pipe that is closed when the test ends.
func openPipe(t *testing.T) [2]int {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(p[0])
		unix.Close(p[1])
	})
	return p
}

// TestTreeStatsKeepsReapedChildrenCPU: children that burn CPU and are reaped
// while the tree is read never take their CPU time with them: the tree's
// CPU time never goes down from one read to the next.
func TestTreeStatsKeepsReapedChildrenCPU(t *testing.T) {
	const children = 8
	var wg sync.WaitGroup
	for range children {
		var attr os.ProcAttr
		child, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"}, &attr)
		if err != nil {
			t.Skip(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			child.Wait()
		}()
	}
	reaped := make(chan struct{})
	go func() {
		wg.Wait()
		close(reaped)
	}()
	var last time.Duration
	for reads := 0; ; reads++ {
		s, err := TreeStatsOf(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if s.CPU < last {
			t.Fatalf("read %d: the tree's CPU time went down from %v to %v while children were reaped", reads, last, s.CPU)
		}
		last = s.CPU
		select {
		case <-reaped:
			if last < children*10*time.Millisecond {
				t.Errorf("after %d children that each burned CPU were reaped: %v of CPU in the tree", children, last)
			}
			return
		default:
		}
	}
}
