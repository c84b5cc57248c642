package lab

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// A helper built into the test binary, as specs build theirs into the grade
// binary: it listens on the address it is given until it is stopped.
func init() {
	RegisterHelper("wl-test-listen", func(args []string) int {
		ln, err := net.Listen("tcp", args[0])
		if err != nil {
			return 1
		}
		defer ln.Close()
		select {}
	})
}

func TestHelperIsNamedAndOwnsItsSocket(t *testing.T) {
	needNetns(t)
	mine, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	port := uint16(mine.Addr().(*net.TCPAddr).Port) + 1
	p, err := StartHelper("wl-test-listen", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if err := p.AwaitListening(context.Background(), port, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	owners, err := SocketOwners()
	if err != nil {
		t.Fatal(err)
	}
	socks, err := TCPSockets()
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint16]Owner{
		port:                                    {Pid: p.Pid(), Command: "wl-test-listen"},
		uint16(mine.Addr().(*net.TCPAddr).Port): {Pid: os.Getpid()},
	}
	for _, s := range socks {
		w, ok := want[s.Local.Port()]
		if !ok || s.State != Listen {
			continue
		}
		got := owners[s.Inode]
		if got.Pid != w.Pid || (w.Command != "" && got.Command != w.Command) {
			t.Errorf("LISTEN socket on port %d (inode %d): owner %+v, want %+v", s.Local.Port(), s.Inode, got, w)
		}
		delete(want, s.Local.Port())
	}
	if len(want) > 0 {
		t.Errorf("LISTEN sockets not found in the table: %v", want)
	}
}

func TestRunHelperRefusesUnknownNames(t *testing.T) {
	if code := RunHelper([]string{"no-such-helper"}); code != 2 {
		t.Errorf("RunHelper(unknown) = %d, want 2", code)
	}
	if _, err := StartHelper("no-such-helper"); err == nil {
		t.Error("StartHelper(unknown) started something")
	}
}
