package suite

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/sandbox"
)

// The main goroutine keeps the main thread (the wire's namespace thread must never be it).
func init() { runtime.LockOSThread() }

var noNetns string

func TestMain(m *testing.M) {
	os.Exit(sandbox.RunTests(m, nil, func(reason string) { noNetns = reason }))
}

// A demo case: one check that drops a packet on the wire and then fails, so
// that its capture is kept; one that passes with evidence.
var _ = Describe("suite demo", Label("suite-demo"), func() {
	It("keeps the capture of a failing check that crossed the wire", Label("demo.wire-capture"), func(ctx SpecContext) {
		w := Wire(lab.WireOptions{})
		var ln net.Listener
		if err := w.Server.Do(func() (err error) {
			ln, err = net.Listen("tcp", netip.AddrPortFrom(lab.ServerAddr, 0).String())
			return err
		}); err != nil {
			Fail(err.Error())
		}
		DeferCleanup(ln.Close)
		port := uint16(ln.Addr().(*net.TCPAddr).Port)
		w.Add(lab.ToServer, lab.DropNth(lab.Match{Proto: lab.ProtoTCP, DstPort: port, MinPayload: 1}, 1))
		go func() {
			if c, err := ln.Accept(); err == nil {
				io.Copy(io.Discard, c)
				c.Close()
			}
		}()
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			Fail(err.Error())
		}
		c.Write([]byte("one lost segment\n"))
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c) // the server closes once the retransmission arrived
		c.Close()
		Failf("failed on purpose, to keep the capture")
	})

	It("passes with evidence", Label("demo.passes"), func() {
		Evidence("measured", "%d things", 3)
	})
})

// TestRunStreamsEvents runs the demo case through Run, as the sandbox child
// does, and checks the event stream: one event per spec, the right criterion,
// status and evidence, and a kept pcap that tcpdump reads.
func TestRunStreamsEvents(t *testing.T) {
	if noNetns != "" {
		t.Skip("SKIP: no network namespace: " + noNetns)
	}
	dir := t.TempDir()
	t.Setenv(lab.EnvArtifactDir, dir)
	var stream bytes.Buffer
	if err := Run("suite-demo", &stream); err != nil {
		t.Fatal(err)
	}
	events := map[string]Event{}
	dec := json.NewDecoder(&stream)
	for {
		var ev Event
		if err := dec.Decode(&ev); err != nil {
			break
		}
		events[ev.Criterion] = ev
	}
	if len(events) != 2 {
		t.Fatalf("want 2 events, got %d: %v", len(events), events)
	}
	if ev := events["demo.passes"]; ev.Status != report.Passed || len(ev.Evidence) != 1 || ev.Evidence[0].Text != "3 things" {
		t.Errorf("demo.passes: %+v", ev)
	}
	ev := events["demo.wire-capture"]
	if ev.Status == report.Skipped && strings.Contains(ev.Message, "/dev/net/tun") {
		// Unprivileged: no TUN devices. The check must say so and be skipped, never passed.
		t.Skipf("no TUN here, and the check was reported skipped with the reason: %s", ev.Message)
	}
	if ev.Status != report.Failed || !strings.Contains(ev.Message, "failed on purpose") {
		t.Fatalf("demo.wire-capture: %+v", ev)
	}
	var capture, wireEvents string
	for _, e := range ev.Evidence {
		switch e.Name {
		case "packet capture":
			capture = e.Text
		case "wire events":
			wireEvents = e.Text
		}
	}
	if !strings.Contains(wireEvents, "rule added: drop match #1") || !strings.Contains(wireEvents, ": drop: TCP") {
		t.Errorf("the evidence does not list the rule and the drop: %q", wireEvents)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
	if len(files) != 1 || !strings.Contains(capture, files[0]) {
		t.Fatalf("want one kept pcap named in the evidence; files %v, evidence %q", files, capture)
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump is not installed")
	}
	out, err := exec.Command(tcpdump, "-nn", "-r", files[0]).CombinedOutput()
	if err != nil && strings.Contains(string(out), "Couldn't change to") {
		// Running as uid 0 of an unprivileged user namespace, tcpdump tries to
		// drop to its own user, which is not mapped there, and gives up.
		t.Skipf("tcpdump cannot drop privileges inside this user namespace: %s", out)
	}
	if err != nil {
		t.Fatalf("tcpdump: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "length 17"); n != 2 {
		t.Errorf("the 17-byte segment should appear twice (dropped, then retransmitted), found %d times:\n%s", n, out)
	}
}

// TestEvidenceChartKeepsTextAndChart: an EvidenceChart entry reaches the
// report as one piece of evidence with both its text and its chart.
func TestEvidenceChartKeepsTextAndChart(t *testing.T) {
	r := types.SpecReport{
		LeafNodeText:   "draws",
		LeafNodeLabels: []string{"case.draws"},
		State:          types.SpecStatePassed,
		ReportEntries: types.ReportEntries{
			{Name: "plain", Value: types.WrapEntryValue("just text")},
			{Name: "measured", Value: types.WrapEntryValue(chartEntry{text: "stream 1  ..#.", chart: "gantt\n"})},
		},
	}
	got := eventOf(r).Evidence
	want := []report.Evidence{{Name: "plain", Text: "just text"}, {Name: "measured", Text: "stream 1  ..#.", Chart: "gantt\n"}}
	if !slices.Equal(got, want) {
		t.Errorf("evidence %+v, want %+v", got, want)
	}
}
