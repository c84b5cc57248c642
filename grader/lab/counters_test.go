package lab

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testdata/netstat and testdata/snmp are /proc/net/{netstat,snmp} of a
// machine of the course (kernel 6.18), copied as they were.
func TestParseRealFiles(t *testing.T) {
	c := Counters{}
	for _, f := range []string{"testdata/netstat", "testdata/snmp"} {
		if err := c.parseFile(f); err != nil {
			t.Fatal(err)
		}
	}
	if len(c) != 229+83 {
		t.Errorf("parsed %d counters, want 229 from netstat + 83 from snmp", len(c))
	}
	for name, want := range map[string]int64{
		"TcpExt.ListenOverflows":  408,
		"TcpExt.ListenDrops":      408,
		"TcpExt.TCPTimeouts":      42,
		"IpExt.InOctets":          40501221,
		"IcmpMsg.InType3":         1,
		"Tcp.RtoMin":              200,
		"Tcp.MaxConn":             -1, // the one negative counter
		"MPTcpExt.MPCapableSYNRX": 0,
	} {
		got, ok := c[name]
		if !ok || got != want {
			t.Errorf("%s = %d (present %v), want %d", name, got, ok, want)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string // in the error, in order
	}{
		// IpExt's value line lacks its last value.
		{"testdata/netstat-short-values", []string{"testdata/netstat-short-values:4:", "value line does not match its header"}},
		// Icmp's header is "Icmx:", its value line "Icmp:".
		{"testdata/snmp-wrong-group", []string{"testdata/snmp-wrong-group:4:", "value line does not match its header"}},
		// RtoMin is "2OO".
		{"testdata/snmp-not-a-number", []string{"testdata/snmp-not-a-number:8:", "RtoMin", `"2OO"`}},
		// The file ends after a header line.
		{"testdata/netstat-no-values", []string{"testdata/netstat-no-values:5:", "header line without a value line"}},
		{"testdata/no-such-file", []string{"lab: counters:", "testdata/no-such-file", "no such file"}},
	} {
		t.Run(strings.TrimPrefix(tc.file, "testdata/"), func(t *testing.T) {
			err := Counters{}.parseFile(tc.file)
			if err == nil {
				t.Fatal("parsed without an error")
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q (after the earlier parts)", msg, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestSinceAndFormat(t *testing.T) {
	before := Counters{"TcpExt.ListenOverflows": 10, "TcpExt.ListenDrops": 10, "Tcp.ActiveOpens": 5, "Tcp.MaxConn": -1}
	after := Counters{"TcpExt.ListenOverflows": 14, "TcpExt.ListenDrops": 14, "Tcp.ActiveOpens": 5, "Tcp.MaxConn": -1, "Udp.NoPorts": 2}
	d := after.Since(before)
	want := Counters{"TcpExt.ListenOverflows": 4, "TcpExt.ListenDrops": 4, "Tcp.ActiveOpens": 0, "Tcp.MaxConn": 0, "Udp.NoPorts": 2}
	if len(d) != len(want) {
		t.Errorf("Since = %v, want %v", d, want)
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("Since[%s] = %d, want %d", k, d[k], v)
		}
	}

	if got, want := d.Format("TcpExt.ListenOverflows", "Tcp.ActiveOpens", "Tcp.NotThere"), "TcpExt.ListenOverflows +4, Tcp.ActiveOpens +0, Tcp.NotThere +0"; got != want {
		t.Errorf("Format(names) = %q, want %q", got, want)
	}
	if got, want := d.Format(), "TcpExt.ListenDrops +4, TcpExt.ListenOverflows +4, Udp.NoPorts +2"; got != want {
		t.Errorf("Format() = %q, want %q (every changed counter, sorted)", got, want)
	}
	if got, want := before.Since(after).Format("TcpExt.ListenDrops"), "TcpExt.ListenDrops -4"; got != want {
		t.Errorf("Format of a decrease = %q, want %q", got, want)
	}
	if got := before.Since(before).Format(); got != "no counter changed" {
		t.Errorf("Format() of no change = %q", got)
	}
}

func TestReadCountersFreshNamespace(t *testing.T) {
	needNetns(t)
	c, err := ReadCounters()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"TcpExt.ListenOverflows", "TcpExt.ListenDrops", "Tcp.ActiveOpens", "Udp.RcvbufErrors", "IpExt.InOctets"} {
		if _, ok := c[name]; !ok {
			t.Errorf("ReadCounters has no %s", name)
		}
	}
	if c["Tcp.MaxConn"] != -1 {
		t.Errorf("Tcp.MaxConn = %d, want -1", c["Tcp.MaxConn"])
	}

	// Nothing overflows an accept queue while nothing connects.
	again, err := ReadCounters()
	if err != nil {
		t.Fatal(err)
	}
	d := again.Since(c)
	if got, want := d.Format("TcpExt.ListenOverflows"), "TcpExt.ListenOverflows +0"; got != want {
		t.Errorf("idle delta: %s, want %s", got, want)
	}
}

// A listener with backlog 1 that never accepts holds two connections; every
// further handshake is dropped and the kernel counts it in ListenOverflows.
func TestListenOverflowsDelta(t *testing.T) {
	needNetns(t)
	_, port := listenBacklog(t, 1)
	before, err := ReadCounters()
	if err != nil {
		t.Fatal(err)
	}

	const burst = 8
	var connected atomic.Int32
	conns := make([]net.Conn, burst)
	All(burst, func(i int) {
		// Connections that got in complete at once; the others' SYNs are
		// dropped and retried only after 1 s, past this timeout.
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), Scaled(300*time.Millisecond))
		if err == nil {
			connected.Add(1)
			conns[i] = c
		}
	})
	for _, c := range conns {
		if c != nil {
			defer c.Close()
		}
	}

	after, err := ReadCounters()
	if err != nil {
		t.Fatal(err)
	}
	d := after.Since(before)
	if d["TcpExt.ListenOverflows"] <= 0 {
		t.Errorf("%d dials at a never-accepting listener with backlog 1 (%d connected): %s; want ListenOverflows > 0",
			burst, connected.Load(), d.Format("TcpExt.ListenOverflows", "TcpExt.ListenDrops"))
	}
	// (The queue itself may hold a connection more than limit+1: concurrent
	// handshakes race past the kernel's "queue full" check.)
	if s, ok, err := Listener(port); err != nil || !ok || s.SendQ != 1 || s.RecvQ == 0 {
		t.Errorf("listener after the burst: %+v, %v, %v; want a queue of limit 1 with connections in it", s, ok, err)
	}
	if got := d.Format(); !strings.Contains(got, "TcpExt.ListenOverflows +") {
		t.Errorf("Format() of the delta = %q, want it to list ListenOverflows", got)
	}
	changed := strings.Split(d.Format(), ", ")
	if !slices.IsSorted(changed) {
		t.Errorf("Format() is not sorted: %v", changed)
	}
}
