package lab

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestStartFedWritesTheProgramsInput: a program started with StartFed reads
// what the test writes, and sees the end of its input when Input is closed.
func TestStartFedWritesTheProgramsInput(t *testing.T) {
	p, err := StartFed("/bin/cat")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(Scaled(2 * time.Second)) })
	if _, err := io.WriteString(p.Input(), "one\ntwo\n"); err != nil {
		t.Fatal(err)
	}
	p.Input().Close()
	if !p.AwaitExit(context.Background(), Scaled(5*time.Second)) {
		t.Fatal("cat did not exit at the end of its input")
	}
	if got := p.Stdout(); got != "one\ntwo\n" {
		t.Errorf("cat printed %q, want %q", got, "one\ntwo\n")
	}
	if q, err := Start("/bin/true"); err != nil || q.Input() != nil {
		t.Errorf("Start gave Input %v (err %v), want none", q.Input(), err)
	}
}

// TestAwaitQuietTellsASleeperFromABusyLoop: a process blocked in a read is
// quiet; a process spinning is not, and the wait says so when time runs out.
func TestAwaitQuietTellsASleeperFromABusyLoop(t *testing.T) {
	sleeper, err := StartFed("/bin/cat")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Stop(Scaled(2 * time.Second)) })
	if err := sleeper.AwaitQuiet(context.Background(), Scaled(5*time.Second)); err != nil {
		t.Errorf("cat waiting for input: %v, want quiet", err)
	}
	spinner, err := Start("/bin/sh", "-c", "while :; do :; done")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { spinner.Stop(Scaled(2 * time.Second)) })
	if err := spinner.AwaitQuiet(context.Background(), 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a busy loop: %v, want the deadline to pass", err)
	}
}

// TestMkdirWritableOutsideAJail: with no jail, the programs' path and the
// grader's are the same directory, writable by anyone.
func TestMkdirWritableOutsideAJail(t *testing.T) {
	d, err := MkdirWritable("wl-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(d.Outside)
	st, err := os.Stat(d.Outside)
	if err != nil {
		t.Fatal(err)
	}
	if d.Path != d.Outside || st.Mode().Perm() != 0o777 {
		t.Errorf("MkdirWritable = %+v, mode %v; want the same path both ways, mode 0777", d, st.Mode().Perm())
	}
	if f := d.File("x.log"); f.Path != d.Path+"/x.log" || f.Outside != d.Outside+"/x.log" {
		t.Errorf("File = %+v", f)
	}
}

// TestDestroyTCPForgetsConnections: DestroyTCP ends the connections on a
// port (the peer sees a reset), keeps the listener, and leaves no row.
func TestDestroyTCPForgetsConnections(t *testing.T) {
	needNetns(t)
	ln, port := listenBacklog(t, 16)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	n, err := DestroyTCP(port)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("DestroyTCP(%d) ended %d connections, want 1", port, n)
	}
	client.SetReadDeadline(time.Now().Add(Scaled(2 * time.Second)))
	if _, err := client.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the client's read after the server's socket was destroyed: %v, want a reset", err)
	}
	socks, err := TCPSockets()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range socks {
		if s.Local.Port() == port && s.State != Listen {
			t.Errorf("a connection on the port is left: %v %v → %v", s.State, s.Local, s.Remote)
		}
	}
	if _, ok, _ := Listener(port); !ok {
		t.Error("the listener went too")
	}
}

// TestParsePacketFragments: the first piece of a fragmented UDP datagram has
// its ports; a later piece matches no port rule.
func TestParsePacketFragments(t *testing.T) {
	ip := func(flagsOffset uint16, l4 []byte) []byte {
		b := make([]byte, 20, 20+len(l4))
		b[0] = 0x45
		binary.BigEndian.PutUint16(b[2:], uint16(20+len(l4)))
		binary.BigEndian.PutUint16(b[6:], flagsOffset)
		b[9] = ProtoUDP
		copy(b[12:], []byte{198, 18, 0, 1})
		copy(b[16:], []byte{198, 19, 0, 1})
		return append(b, l4...)
	}
	udp := make([]byte, 8+100)
	binary.BigEndian.PutUint16(udp[0:], 4000)
	binary.BigEndian.PutUint16(udp[2:], 9000)
	first := parsePacket(ip(0x2000, udp)) // more fragments, offset 0
	if !first.Fragment || first.Dst.Port() != 9000 || first.Payload != 100 {
		t.Errorf("first fragment: %+v", first)
	}
	later := parsePacket(ip(0x0010, make([]byte, 60))) // offset 16 (×8 bytes), last piece
	if !later.Fragment || later.Dst.Port() != 0 || later.Payload != 60 {
		t.Errorf("later fragment: %+v", later)
	}
	if (Match{DstPort: 9000}).matches(later) {
		t.Error("a later fragment matched a port rule")
	}
	whole := parsePacket(ip(0x4000, udp)) // don't fragment, offset 0
	if whole.Fragment || whole.Dst.Port() != 9000 {
		t.Errorf("whole datagram: %+v", whole)
	}
}
