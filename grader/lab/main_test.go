package lab

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wirelab/wirelab/grader/sandbox"
)

// The lab observes the kernel of the network namespace it runs in, so its
// tests run in one of their own: TestMain re-executes the test binary, with
// the same flags, in a fresh network namespace made by the sandbox, exactly
// as the grader runs its specs. Its counters then start from zero and nothing
// else on the machine opens sockets there.

// noNetns is why there is no namespace to test in ("" inside one).
var noNetns string

func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == HelperCommand {
		os.Exit(RunHelper(os.Args[2:]))
	}
	code := sandbox.RunTests(m, map[string]string{"net.core.somaxconn": "4096"}, func(reason string) { noNetns = reason })
	cleanupProgs()
	if helperLinks.dir != "" { // the helpers' links, made in this process
		os.RemoveAll(helperLinks.dir)
	}
	os.Exit(code)
}

// needNetns skips a test that needs the network namespace when there is none.
func needNetns(t *testing.T) {
	t.Helper()
	if noNetns != "" {
		t.Skip("SKIP: no network namespace: " + noNetns)
	}
}

// Helper programs, built once per test binary from testdata/progs.
var progs struct {
	once sync.Once
	dir  string
	err  error
}

// prog is the path of the helper program testdata/progs/<name>, built on first use.
func prog(t *testing.T, name string) string {
	t.Helper()
	progs.once.Do(func() {
		progs.dir, progs.err = os.MkdirTemp("", "wirelab-lab-progs-")
		if progs.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", progs.dir+string(filepath.Separator), "./testdata/progs/...")
		if out, err := cmd.CombinedOutput(); err != nil {
			progs.err = fmt.Errorf("go build ./testdata/progs/...: %v\n%s", err, out)
		}
	})
	if progs.err != nil {
		t.Fatal(progs.err)
	}
	return filepath.Join(progs.dir, name)
}

func cleanupProgs() {
	if progs.dir != "" {
		os.RemoveAll(progs.dir)
	}
}

// start starts a helper program and makes sure it is gone when the test ends.
func start(t *testing.T, name string, args ...string) *Process {
	t.Helper()
	p, err := Start(prog(t, name), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(Scaled(2 * time.Second)) })
	return p
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on. The test
// namespace is ours alone, so nobody takes it before the test uses it.
func freePort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return port
}

// listenBacklog listens on 127.0.0.1 with the given accept-queue limit: Go
// listens with somaxconn, so listen(2) is called again on the socket with the
// backlog wanted (Linux accepts a second listen on a listening socket).
func listenBacklog(t *testing.T, backlog int) (*net.TCPListener, uint16) {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	tl := ln.(*net.TCPListener)
	raw, err := tl.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var listenErr error
	if err := raw.Control(func(fd uintptr) { listenErr = syscall.Listen(int(fd), backlog) }); err != nil {
		t.Fatal(err)
	}
	if listenErr != nil {
		t.Fatalf("listen(fd, %d): %v", backlog, listenErr)
	}
	return tl, uint16(tl.Addr().(*net.TCPAddr).Port)
}

// TestInFreshNamespace checks the premise of the other tests: they run in a
// network namespace of their own with loopback up and the sysctl set.
func TestInFreshNamespace(t *testing.T) {
	needNetns(t)
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if lo.Flags&net.FlagUp == 0 {
		t.Errorf("lo is down in the test namespace: %v", lo.Flags)
	}
	data, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(data); got != "4096\n" {
		t.Errorf("net.core.somaxconn = %q, want 4096", got)
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 1 {
		t.Errorf("the test namespace has %d interfaces (%v), want only lo", len(ifaces), ifaces)
	}
}
