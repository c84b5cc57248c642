package suite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
)

// Wire builds the lab's wire for the current spec. It is closed when the spec
// ends (after the programs the spec started, which stop first); when the spec
// fails, the wire's events and counters become evidence and its capture is
// kept as a pcap named in the evidence. Where this machine cannot make TUN
// devices or network namespaces, the spec is reported not graded with the
// reason, never passed.
func Wire(opt lab.WireOptions) *lab.Wire {
	w, err := lab.NewWire(opt)
	if errors.Is(err, lab.ErrNoTUN) {
		Skipf("not graded on this machine: this check needs the packet-level wire, which needs /dev/net/tun (%v); run the grader as root", err)
	}
	SkipIfDenied(err)
	if err != nil {
		ginkgo.Fail(fmt.Sprintf("the grader could not build its wire: %v", err), 1)
	}
	ginkgo.DeferCleanup(func() {
		defer w.Close()
		if !ginkgo.CurrentSpecReport().Failed() {
			return
		}
		for _, dir := range []lab.Direction{lab.ToServer, lab.ToClient} {
			Evidence("wire "+dir.String(), "%+v", w.Counters(dir))
		}
		if ev := w.Events(); len(ev) > 0 {
			lines := make([]string, len(ev))
			for i, e := range ev {
				lines[i] = e.String()
			}
			if n := w.EventsNotKept(); n > 0 {
				lines = append(lines, fmt.Sprintf("(%d later events not kept)", n))
			}
			Evidence("wire events", "%s", strings.Join(lines, "\n"))
		}
		Evidence("packet capture", "%s", keepCapture(w))
	})
	return w
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// keepCapture writes the wire's pcap where the grader keeps artifacts and
// says where it is, or how to keep it next time.
func keepCapture(w *lab.Wire) string {
	dir := os.Getenv(lab.EnvArtifactDir)
	if dir == "" {
		return "not kept: run the grader with --out DIR to keep each failing check's capture as a pcap file"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "not kept: " + err.Error()
	}
	name := unsafeName.ReplaceAllString(ginkgo.CurrentSpecReport().LeafNodeText, "-")
	path := filepath.Join(dir, strings.Trim(name, "-")+".pcap")
	skipped, err := w.WritePcap(path)
	if err != nil {
		return "not kept: " + err.Error()
	}
	note := ""
	if skipped > 0 {
		note = fmt.Sprintf(" (the last %d packets did not fit its size limit)", skipped)
	}
	return fmt.Sprintf("%s%s: read it with `tcpdump -nn -r %s` or open it in Wireshark", path, note, path)
}
