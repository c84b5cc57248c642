package udpmetrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

const nameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

// seededMetrics draws n metrics with names of minLen to maxLen characters
// and values of every kind a float64 takes (integers, fractions, negatives,
// the extremes).
func seededMetrics(r *rand.Rand, n, minLen, maxLen int) []metric {
	extremes := []float64{0, 1, -1, 0.1, 1e-300, -2.5e-7, math.MaxFloat64, 123456789012345, -98765.4321}
	out := make([]metric, n)
	for i := range out {
		l := minLen + r.IntN(maxLen-minLen+1)
		b := make([]byte, l)
		for j := range b {
			b[j] = nameChars[r.IntN(len(nameChars))]
		}
		v := float64(r.IntN(2_000_000)-1_000_000) / float64(1+r.IntN(1000))
		if r.IntN(8) == 0 {
			v = extremes[r.IntN(len(extremes))]
		}
		out[i] = metric{Name: string(b), Value: v}
	}
	return out
}

// metricLine is the agent's input line for m.
func metricLine(m metric) string {
	return "metric " + m.Name + " " + strconv.FormatFloat(m.Value, 'g', -1, 64)
}

// awaitArrivals waits until the wire holds nothing for the server side and
// the grader's collector has want datagrams (or time runs out: the checks
// then say what is missing).
func awaitArrivals(ctx SpecContext, w *lab.Wire, gc *graderCollector, want int) {
	lab.Await(ctx, lab.Scaled(2*time.Second), func() (bool, error) {
		return inFlight(w) == 0 && len(gc.arrivals()) >= want, nil
	})
	gc.checkNoLocalDrops()
}

// checkParsed fails the spec at the first datagram that does not follow the
// brief's format, and returns how many metrics the datagrams carried.
func checkParsed(got []arrival) int {
	n := 0
	for i, a := range got {
		if a.Err != nil {
			suite.Failf("Datagram %d (of %d) does not follow the brief's format: %v.%s\nIts first bytes: %s", i+1, len(got), a.Err, looksLikeText(a.Raw), hexHead(a.Raw))
		}
		n += len(a.D.Metrics)
	}
	return n
}

// checkNumbering holds the datagrams of one run of the agent to the
// numbering of the brief: the agent's id, one epoch (not 0), sequence
// numbers from 0 without gap or overlap, n metrics in all. It returns the epoch.
func checkNumbering(got []arrival, n int, id uint32) uint32 {
	if len(got) == 0 {
		suite.Failf("No datagram reached the collector's port for the %d metrics the agent was given: metrics go to -collector over UDP.", n)
	}
	checkParsed(got)
	epoch := got[0].D.Epoch
	if epoch == 0 {
		suite.Failf("The first datagram's epoch (bytes 8–11) is 0: the epoch is a non-zero number that changes every time the agent starts.")
	}
	next := uint64(0)
	for i, a := range got {
		d := a.D
		if d.Agent != id {
			suite.Failf("Datagram %d carries agent id %d in bytes 4–7; the agent was started with -id %d (big-endian, 4 bytes).\nIts first bytes: %s", i+1, d.Agent, id, hexHead(a.Raw))
		}
		if d.Epoch != epoch {
			suite.Failf("Datagram %d carries epoch %d, the ones before it %d: an agent keeps one epoch for its whole run.", i+1, d.Epoch, epoch)
		}
		if d.First != next {
			what := "overlaps the one before"
			if d.First > next {
				what = fmt.Sprintf("skips %d sequence numbers", d.First-next)
			}
			before := fmt.Sprintf("the datagrams before it carried 0 to %d", next-1)
			if i == 0 {
				before = "it is the first"
			}
			suite.Failf("Datagram %d starts at sequence number %d; %s, so it must start at %d (it %s). Each metric gets the next number, starting at 0.",
				i+1, d.First, before, next, what)
		}
		next += uint64(len(d.Metrics))
	}
	if int(next) != n {
		suite.Failf("The collector's port received %d metrics in %d datagrams; the agent was given %d metric lines, on a wire that lost nothing.", next, len(got), n)
	}
	return epoch
}

// checkStream holds what the grader's collector received to the metrics the
// agent was given: the numbering (checkNumbering), then every name and value
// exactly, in order. It returns the epoch.
func checkStream(got []arrival, want []metric, id uint32) uint32 {
	epoch := checkNumbering(got, len(want), id)
	k := 0
	for i, a := range got {
		for j, m := range a.D.Metrics {
			if m.Name != want[k].Name || m.Value != want[k].Value && !(math.IsNaN(m.Value) && math.IsNaN(want[k].Value)) {
				suite.Failf("Metric number %d (datagram %d, position %d) arrived as %s = %v; the agent read %q. Names are sent as read, values as float64 bits, big-endian.",
					k, i+1, j+1, m.Name, m.Value, metricLine(want[k]))
			}
			k++
		}
	}
	return epoch
}

// looksLikeText names a datagram that is printable text: the agent sent the
// input line instead of the binary format.
func looksLikeText(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return ""
		}
	}
	return fmt.Sprintf(" It is text (%q): the brief's format is binary, a header of numbers, then each metric's name and float64.", report.Clip(string(b), 60))
}

// datagramSizes summarizes the payload sizes of what arrived.
func datagramSizes(got []arrival) string {
	if len(got) == 0 {
		return "none"
	}
	sizes := make([]int, len(got))
	for i, a := range got {
		sizes[i] = len(a.Raw)
	}
	s := slices.Clone(sizes)
	slices.Sort(s)
	return fmt.Sprintf("%d datagrams, payload bytes min %d, median %d, max %d", len(s), s[0], s[len(s)/2], s[len(s)-1])
}

var _ = Describe("02-udp-metrics: the agent's datagrams", Label(CaseLabel), func() {
	It("sends every metric once, in order, in the brief's datagram format, and counts what it read", Label("udp.agent-format"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		w := suite.Wire(lab.WireOptions{})
		mport, aport := ports("format")
		gc := listenGraderCollector(w, mport)
		DeferCleanup(gc.close)
		r := suite.Rand("format/input")
		id := 1 + r.Uint32N(math.MaxUint32)
		want := seededMetrics(r, 200+r.IntN(201), 1, maxNameLen)
		want[0].Name = strings.Repeat("x", maxNameLen)
		want[1].Name = "a"
		bad := []string{"", "hello world", "metric only-a-name", "metric bad/name 1", "metric cpu one"}
		var lines []string
		for i, m := range want {
			if i%50 == 25 && len(bad) > 0 {
				lines = append(lines, bad[0])
				bad = bad[1:]
			}
			lines = append(lines, metricLine(m))
		}
		nbad := len(lines) - len(want)
		suite.Evidence("input", "%d metric lines and %d bad lines (an empty line, words, a metric without a value, a name with a slash, a value that is not a number); -id %d", len(want), nbad, id)
		a := startAgent(lab.ServerAddr, mport, aport, id)
		a.feed(lines, lab.Scaled(10*time.Second))
		line := a.finish(ctx)
		awaitArrivals(ctx, w, gc, int(*line.Datagrams))
		got := gc.arrivals()
		suite.Evidence("datagrams", "%s", datagramSizes(got))
		epoch := checkStream(got, want, id)
		switch {
		case *line.Epoch != epoch:
			suite.Failf("The agent's JSON line says epoch %d; its datagrams carried %d.", *line.Epoch, epoch)
		case *line.MetricsRead != uint64(len(want)) || *line.MetricsSent != uint64(len(want)) || *line.MetricsDropped != 0:
			suite.Failf("The agent was given %d metrics and the collector's port received all of them, but its line says metrics_read %d, metrics_sent %d, metrics_dropped %d.",
				len(want), *line.MetricsRead, *line.MetricsSent, *line.MetricsDropped)
		case *line.Datagrams != uint64(len(got)):
			suite.Failf("The agent's line says it sent %d datagrams; %d arrived, on a wire that lost nothing.", *line.Datagrams, len(got))
		case *line.BadLines != uint64(nbad):
			suite.Failf("The input held %d bad lines (an empty line, words, a metric without a value, a name with a slash, a value that is not a number); the agent's line says bad_lines %d.", nbad, *line.BadLines)
		case *line.AuditRead != 0 || *line.AuditAcked != 0:
			suite.Failf("The input held no audit event; the agent's line says audit_read %d, audit_acked %d.", *line.AuditRead, *line.AuditAcked)
		}
		collector, audit := hostPort(lab.ServerAddr, mport), hostPort(lab.ServerAddr, aport)
		suite.CheckUsageErrors(ctx, "agent", [][]string{
			{"-collector", collector, "-audit", audit, "-id", "0"},
			{"-audit", audit, "-id", "7"},
			{"-collector", collector, "-audit", audit, "-id", "7", "-mtu", "many"},
		})
	})

	It("batches many metrics per datagram at a high rate, never above the MTU, and sends a lone metric within -flush", Label("udp.agent-batching"), SpecTimeout(lab.Scaled(90*time.Second)), func(ctx SpecContext) {
		r := suite.Rand("batching/input")
		mtu := 1200 + r.IntN(201)
		w := suite.Wire(lab.WireOptions{MTU: mtu})
		mport, aport := ports("batching")
		gc := listenGraderCollector(w, mport)
		DeferCleanup(gc.close)
		flush := time.Duration(60+r.IntN(41)) * time.Millisecond
		want := seededMetrics(r, 3000+r.IntN(2001), 8, 40)
		lines := make([]string, len(want))
		for i, m := range want {
			lines[i] = metricLine(m)
		}
		before, err := w.Server.Counters()
		must(err)
		id := 1 + r.Uint32N(1000)
		a := startAgent(lab.ServerAddr, mport, aport, id, "-mtu", fmt.Sprint(mtu), "-flush", flush.String())
		a.feed(lines, lab.Scaled(10*time.Second))
		line := a.finish(ctx)
		awaitArrivals(ctx, w, gc, int(*line.Datagrams))
		got := gc.arrivals()
		after, err := w.Server.Counters()
		must(err)
		delta := after.Since(before)
		limit := mtu - ipUDPHeaders
		best := packings(want, limit)
		suite.Evidence("high rate", "%d metrics written at once, -mtu %d (payload ≤ %d bytes): %s; a full packing needs %d; the receiving kernel: %s",
			len(want), mtu, limit, datagramSizes(got), best, delta.Format("Ip.ReasmReqds", "Ip.ReasmOKs"))
		for i, g := range got {
			if len(g.Raw) > limit {
				suite.Failf("Datagram %d carries %d bytes of payload: with the 28 bytes of IPv4 and UDP headers its packet is %d bytes, above the path MTU of %d (-mtu), so the sender's kernel cut it into IP fragments. Keep each datagram's payload at most mtu − 28 = %d bytes.",
					i+1, len(g.Raw), len(g.Raw)+ipUDPHeaders, mtu, limit)
			}
		}
		if n := delta["Ip.ReasmReqds"]; n > 0 {
			suite.Failf("The receiving kernel reassembled IP fragments (Ip.ReasmReqds +%d): some datagram did not fit the %d-byte MTU.", n, mtu)
		}
		// Measured on the reference: exactly the full packing (the agent
		// reads a pipe far faster than -flush); one datagram per metric is
		// 20–60 times more. 1.5 × + 2 leaves room for flushes at the start.
		if n := checkParsed(got); n != len(want) {
			suite.Failf("%d metrics arrived in %d datagrams; the agent was given %d, on a wire that lost nothing.", n, len(got), len(want))
		}
		if allowed := best + best/2 + 2; len(got) > allowed {
			suite.Failf("The agent sent %d datagrams for %d metrics written all at once; %d full datagrams would carry them (payload ≤ %d bytes), and at most %d are accepted. Fill a datagram until the next metric would not fit; the -flush timer is for a slow trickle of metrics, not a fast stream.",
				len(got), len(want), best, limit, allowed)
		}

		// A low rate: each metric alone, and each must leave within -flush.
		slow := newSlowInput(r, 5)
		b := startAgent(lab.ServerAddr, mport, aport, id, "-mtu", fmt.Sprint(mtu), "-flush", flush.String())
		seen := len(gc.arrivals())
		var delays []string
		worst := time.Duration(0)
		for i, m := range slow.metrics {
			if i > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(slow.gaps[i-1]):
				}
			}
			written := time.Now()
			b.feed([]string{metricLine(m)}, lab.Scaled(2*time.Second))
			bound := flush + lab.Scaled(150*time.Millisecond)
			var at time.Time
			lab.Await(ctx, bound+lab.Scaled(2*time.Second), func() (bool, error) {
				for _, g := range gc.arrivals()[seen:] {
					if g.Err == nil && slices.ContainsFunc(g.D.Metrics, func(x metric) bool { return x.Name == m.Name }) {
						at = g.At
						return true, nil
					}
				}
				return false, nil
			})
			if at.IsZero() {
				suite.Failf("A metric written alone (%d of %d, %v after the one before) had not left the agent %v later, with -flush %v: a batch that is not full must still be sent once its oldest metric has waited -flush.",
					i+1, len(slow.metrics), slow.gapBefore(i), bound+lab.Scaled(2*time.Second), flush)
			}
			d := at.Sub(written)
			worst = max(worst, d)
			delays = append(delays, d.Round(time.Millisecond).String())
			if d > bound {
				suite.Evidence("low rate", "delays so far: %s", strings.Join(delays, ", "))
				suite.Failf("A metric written alone took %v to reach the collector, with -flush %v (at most %v accepted): send a batch once its oldest metric has waited -flush, not later.",
					d.Round(time.Millisecond), flush, bound)
			}
		}
		suite.Evidence("low rate", "%d metrics written %s apart with -flush %v: delays %s",
			len(slow.metrics), slow.describeGaps(), flush, strings.Join(delays, ", "))

		// A trickle: a metric every -flush/3 for a while. The batch never fills,
		// and its oldest metric must still leave within -flush (a timer that
		// starts again at every metric would hold them all until the end).
		tick := flush / 3
		written := map[string]time.Time{}
		var order []string
		for i := range 36 {
			name := fmt.Sprintf("trickle.%d", i)
			written[name] = time.Now()
			order = append(order, name)
			b.feed([]string{metricLine(metric{Name: name, Value: float64(i)})}, lab.Scaled(2*time.Second))
			select {
			case <-ctx.Done():
				return
			case <-time.After(tick):
			}
		}
		arrived := map[string]time.Time{}
		lab.Await(ctx, flush+lab.Scaled(2*time.Second), func() (bool, error) {
			for _, g := range gc.arrivals()[seen:] {
				for _, m := range g.D.Metrics {
					if _, ok := written[m.Name]; ok && g.Err == nil {
						if _, dup := arrived[m.Name]; !dup {
							arrived[m.Name] = g.At
						}
					}
				}
			}
			return len(arrived) == len(written), nil
		})
		bound := flush + lab.Scaled(150*time.Millisecond)
		var slowest time.Duration
		slowestName := ""
		for _, name := range order {
			at, ok := arrived[name]
			d := at.Sub(written[name])
			if !ok {
				d = time.Hour
			}
			if d > slowest {
				slowest, slowestName = d, name
			}
		}
		if slowest > bound {
			how := fmt.Sprintf("took %v", slowest.Round(time.Millisecond))
			if slowest == time.Hour {
				how = "never arrived"
			}
			suite.Failf("In a trickle of %d metrics written %v apart, with -flush %v, %s %s (at most %v accepted): the oldest metric of a batch must leave once it has waited -flush, even while new metrics keep coming; start the timer when a batch gets its first metric, not at every metric.",
				len(order), tick.Round(time.Millisecond), flush, slowestName, how, bound)
		}
		suite.Evidence("trickle", "%d metrics written %v apart with -flush %v: the slowest took %v", len(order), tick.Round(time.Millisecond), flush, slowest.Round(time.Millisecond))
		b.finish(ctx)
	})
})

// slowInput is metrics written one at a time, seeded gaps apart.
type slowInput struct {
	metrics []metric
	gaps    []time.Duration
}

func newSlowInput(r *rand.Rand, n int) slowInput {
	s := slowInput{}
	for i := range n {
		s.metrics = append(s.metrics, metric{Name: fmt.Sprintf("lowrate.%d", i), Value: float64(r.IntN(1000))})
		if i > 0 {
			s.gaps = append(s.gaps, time.Duration(200+r.IntN(201))*time.Millisecond)
		}
	}
	return s
}

func (s slowInput) gapBefore(i int) time.Duration {
	if i == 0 {
		return 0
	}
	return s.gaps[i-1]
}

func (s slowInput) describeGaps() string {
	parts := make([]string, len(s.gaps))
	for i, g := range s.gaps {
		parts[i] = g.String()
	}
	return strings.Join(parts, ", ")
}
