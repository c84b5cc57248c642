package timewait

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

var _ = Describe("03-time-wait: sockstat finds a real leak", Label(CaseLabel), func() {
	// A peer that never closes the connections its clients hung up on: CLOSE_WAIT
	// that stays (and, while clients keep coming, grows) in one process.
	It("calls CLOSE_WAIT that persists or grows across samples a leak and names the process", Label("timewait.sockstat-leak"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		sc := newScene("wl-leak")
		ports := distinctPorts("leak/ports", 2)
		leaky := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0])))
		healthy := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[1])))
		peer := sc.startHelper(ctx, peerName, ports, "-listen", leaky+"="+holdMode, "-listen", healthy+"="+closeOnEOFMode)
		r := suite.Rand("leak/sizes")
		stuck, fine := 3+r.IntN(5), 2+r.IntN(4)
		for _, c := range sc.dialN(leaky, stuck) {
			c.Close()
		}
		for _, c := range sc.dialN(healthy, fine) {
			c.Close()
		}
		sc.awaitCounts(ctx, map[lab.TCPState]int{lab.Listen: 2, lab.CloseWait: stuck, lab.FinWait2: stuck, lab.TimeWait: fine})
		who := fmt.Sprintf("pid %d (%s)", peer.Pid(), peerName)
		suite.Evidence("scene", "%s listens on %s and never closes a connection there, and on %s where it closes when the client hangs up; %d clients hung up on each side",
			who, leaky, healthy, stuck)

		var problems []string
		judge := func(run sockstatRun, verdict string, check func(f sockstatFinding) string) {
			doc := requireDocument(run)
			suite.Evidence(run.command(), "%s", formatFindings(doc.Findings))
			var mine []sockstatFinding
			for _, f := range doc.Findings {
				if f.State == "CLOSE_WAIT" {
					mine = append(mine, f)
				}
			}
			i := slices.IndexFunc(mine, func(f sockstatFinding) bool { return f.Pid == peer.Pid() })
			switch {
			case i < 0:
				problems = append(problems, fmt.Sprintf("%s: no CLOSE_WAIT finding for %s, which holds them", run.command(), who))
			case mine[i].Verdict != verdict:
				problems = append(problems, fmt.Sprintf("%s: the CLOSE_WAIT of %s has verdict %q, not %q (counts %v)", run.command(), who, mine[i].Verdict, verdict, mine[i].Counts))
			case mine[i].Command != peerName:
				problems = append(problems, fmt.Sprintf("%s: the finding names the command %q; pid %d is %q", run.command(), mine[i].Command, peer.Pid(), peerName))
			case strings.TrimSpace(mine[i].Explanation) == "":
				problems = append(problems, fmt.Sprintf("%s: the finding for %s has no explanation", run.command(), who))
			default:
				if p := check(mine[i]); p != "" {
					problems = append(problems, run.command()+": "+p)
				}
			}
			if len(mine) > 1 {
				problems = append(problems, fmt.Sprintf("%s: %d CLOSE_WAIT findings; one process holds them all, so there is one", run.command(), len(mine)))
			}
		}
		exactly := func(want []int) func(f sockstatFinding) string {
			return func(f sockstatFinding) string {
				if !slices.Equal(f.Counts, want) || f.Count != want[len(want)-1] {
					return fmt.Sprintf("the finding counts %d with counts %v; the kernel had %v", f.Count, f.Counts, want)
				}
				return ""
			}
		}

		// One look cannot tell a leak from a close in progress.
		judge(runSockstat(ctx, sc), "suspect", exactly([]int{stuck}))
		// Two looks, the same sockets still there: a leak.
		judge(runSockstat(ctx, sc, "-samples", "2", "-interval", "200ms"), "leak", exactly([]int{stuck, stuck}))

		// Three looks while clients keep hanging up on the leaky port: growing.
		stop := make(chan struct{})
		done := make(chan int)
		go func() {
			n := 0
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					done <- n
					return
				case <-tick.C:
				}
				var c net.Conn
				if sc.ns.Do(func() (err error) { c, err = net.DialTimeout("tcp", leaky, time.Second); return err }) == nil {
					c.Close()
					n++
				}
			}
		}()
		const samples, interval = 3, 300 * time.Millisecond
		run := runSockstat(ctx, sc, "-samples", strconv.Itoa(samples), "-interval", interval.String())
		close(stop)
		added := <-done
		after := counts(sc.sockets())[lab.CloseWait]
		suite.Evidence("growth", "%d more clients hung up on %s while sockstat sampled; CLOSE_WAIT in the table: %d before, %d after", added, leaky, stuck, after)
		// Three samples 300 ms apart take at least 600 ms, however fast the
		// machine: a run that ends sooner did not wait between its samples.
		if least := (samples - 1) * interval; run.doc != nil && run.elapsed < least {
			problems = append(problems, fmt.Sprintf("%s ran for %v, less than the %v its samples span: the samples must be -interval apart", run.command(), lab.Round(run.elapsed), least))
		}
		// The document describes the last sample: it lists at least the
		// CLOSE_WAIT sockets the finding counts in that sample (a connection
		// still in the accept queue adds one without an owner), and its states
		// count what it lists.
		if run.doc != nil {
			listed := 0
			for _, ls := range run.doc.Sockets {
				if ls.State == "CLOSE_WAIT" {
					listed++
				}
			}
			for _, f := range run.doc.Findings {
				if f.State == "CLOSE_WAIT" && f.Pid == peer.Pid() && len(f.Counts) > 0 && listed < f.Counts[len(f.Counts)-1] {
					problems = append(problems, fmt.Sprintf("%s lists %d CLOSE_WAIT sockets, but the finding counts %d in the last sample: the document describes the last sample", run.command(), listed, f.Counts[len(f.Counts)-1]))
				}
			}
			if run.doc.States["CLOSE_WAIT"] != listed {
				problems = append(problems, fmt.Sprintf("%s: states says CLOSE_WAIT %d, the sockets list holds %d", run.command(), run.doc.States["CLOSE_WAIT"], listed))
			}
		}
		judge(run, "leak", func(f sockstatFinding) string {
			switch {
			case len(f.Counts) != 3:
				return fmt.Sprintf("counts %v should hold one count per sample (3)", f.Counts)
			case !slices.IsSorted(f.Counts) || f.Counts[2] <= f.Counts[0]:
				return fmt.Sprintf("counts %v should grow: %d clients hung up between the first and the last sample", f.Counts, added)
			case f.Counts[0] < stuck:
				return fmt.Sprintf("counts %v start below the %d CLOSE_WAIT sockets the process held before the first sample", f.Counts, stuck)
			case f.Count != f.Counts[2]:
				return fmt.Sprintf("count %d should be the last sample's, %d", f.Count, f.Counts[2])
			}
			return ""
		})

		if len(problems) > 0 {
			suite.Failf("%s. CLOSE_WAIT means the peer hung up and the process has not called close(): with -samples N, a process whose CLOSE_WAIT sockets are there in every sample and grew, or kept the same socket from the first sample to the last, is leaking (verdict \"leak\", with its pid and command, Task 5); one sample is not enough to tell (verdict \"suspect\").",
				strings.Join(problems, "; "))
		}
	})
})
