package holquic

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/internal/words"
	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

// clientHints says, per protocol, how the client must fetch.
var clientHints = map[string]string{
	h1: "With -proto h1, use HTTP/1.1 only: K streams at once are K connections, one stream each (Task 4).",
	h2: "With -proto h2, use cleartext HTTP/2 with prior knowledge (http.Transport.Protocols with only SetUnencryptedHTTP2(true)) and one Transport for all streams: every stream on one TCP connection (Task 4).",
	h3: "With -proto h3, use one http3.Transport for all streams, trusting only the certificate in -ca: every stream on one QUIC connection (Task 4).",
}

// Agreement thresholds between the client's report and when each chunk
// could first be read (truth.go). The mistakes they catch are off by an
// interval (20–30 ms) on most chunks or every stream, or, reading streams in
// turn, by 30 ms and more on the streams a loss did not touch. The reference
// is off by 1–10 ms, but once in a while the grader's machine stalls the
// client's reads by 15–20 ms for a round of chunks (seen in 2 of 62
// gradings, idle): a round is 1 in 20 to 30 of a run's chunks, and adds up
// to 20 ms to one stream's stall.
const (
	delayTolerance = 12 * time.Millisecond // per chunk
	// delaysOffShare: the share of a run's delays that may miss by more,
	// one in eight.
	delaysOffShare = 8
	// stallTolerance bounds the median over the streams of how far their
	// stalls are off (a mistake in the formula moves every stream), and the
	// margin of the stalled list around the threshold.
	stallTolerance = 12 * time.Millisecond
	// stallFarOff: one stream's stall this far off is no scheduler's doing
	// (the machine's stalls added up to 21 ms; a reader that waits on a
	// stalled stream adds 31 ms and more to the others).
	stallFarOff = 26 * time.Millisecond
)

var _ = Describe("The client", Label(CaseLabel), func() {
	It("opens every stream at once, on the connections its protocol calls for", Label("hol.client-streams"), SpecTimeout(lab.Scaled(90*time.Second)), func(ctx SpecContext) {
		sc := newScene("client-streams")
		g := sc.graderServer(0)
		r := suite.Rand("client-streams/plan")
		plan := fetchPlan{server: sc.server(), streams: 3 + r.IntN(3), chunks: 8 + r.IntN(5), size: 200 + r.IntN(800), interval: 20 * time.Millisecond}
		for _, proto := range []string{h1, h2, h3} {
			plan.proto = proto
			g.reset(nil)
			run := runClient(ctx, plan, sc.cert.certFile)
			reqs, _ := g.snapshot()
			checkConnections(proto, plan, reqs)
			checkRun(run, plan, false)
		}
		checkUntrustedCertificate(ctx, sc, g, plan)
		checkClientUsage(ctx, sc)
	})

	It("times every chunk, and reports each stream's longest stall", Label("hol.client-timing"), SpecTimeout(lab.Scaled(90*time.Second)), func(ctx SpecContext) {
		sc := newScene("client-timing")
		g := sc.graderServer(stagger)
		r := suite.Rand("client-timing/plan")
		threshold := time.Duration(20+r.IntN(11)) * time.Millisecond
		for _, proto := range []string{h1, h2, h3} {
			plan := fetchPlan{proto: proto, server: sc.server(), streams: 4, chunks: 15 + r.IntN(6), size: chunkSize, interval: time.Duration(20+r.IntN(11)) * time.Millisecond}
			g.reset(nil)
			run := runClient(ctx, plan, sc.cert.certFile, "-stall", threshold.String())
			checkRun(run, plan, true)
			checkEcho(run, plan, threshold)
			_, sent := g.snapshot()
			checkAgreement(run, plan, sent, truthFor(sc, g, plan, sent, run.started), nil, threshold)
		}
	})

	It("measures what one lost packet does to each stream", Label("hol.client-loss"), SpecTimeout(lab.Scaled(120*time.Second)), func(ctx SpecContext) {
		sc := newScene("client-loss")
		g := sc.graderServer(stagger)
		r := suite.Rand("client-loss/plan")
		for _, proto := range []string{h2, h3, h1} {
			plan := fetchPlan{proto: proto, server: sc.server(), streams: 4, chunks: 30, size: chunkSize, interval: interval}
			target := chunkKey{stream: r.IntN(plan.streams), index: 12 + r.IntN(8)}
			armed := armLoss(sc, g, proto, target)
			run := runClient(ctx, plan, sc.cert.certFile)
			checkRun(run, plan, true)
			_, sent := g.snapshot()
			loss := armed.find()
			suite.Evidence(protoNames[proto]+" loss", "%s", loss.describe(sent))
			checkAgreement(run, plan, sent, truthFor(sc, g, plan, sent, run.started), loss, 25*time.Millisecond)
			armed.clear()
		}
	})
})

// checkRun holds a client run to the brief's ending: it exited 0 and printed a
// report with every stream whole, and with each chunk's delay and the longest
// stall unless the check is about the streams alone (timed false).
func checkRun(run clientRun, plan fetchPlan, timed bool) {
	suite.Evidence("client "+plan.proto, "%s", run.describe())
	if run.exit == -1 {
		suite.Failf("The client (%s) did not exit within %s of the streams' end: it must print its report and exit once every stream has ended.", run.describe(), lab.Scaled(clientSlack))
	}
	if run.parseErr != nil {
		suite.Failf("The client (%s) exited %d, and %v. It must print one JSON object: the brief's report.\n%s", run.describe(), run.exit, run.parseErr, run.log)
	}
	rep := run.report
	for id := range plan.streams {
		s, ok := rep.stream(id)
		switch {
		case !ok:
			suite.Failf("The client's report has no stream %d (it was asked for %d streams, IDs 0 to %d): %s", id, plan.streams, plan.streams-1, streamIDs(rep))
		case s.Error != "" && run.ownServer:
			suite.Failf("Against your server over %s, your client reported stream %d failed: %s. Either program may be at fault: the other checks of each say which.", protoNames[plan.proto], id, s.Error)
		case s.Error != "":
			suite.Failf("The client reported stream %d failed: %s. %s", id, s.Error, clientHints[plan.proto])
		case s.Chunks == nil || *s.Chunks != plan.chunks:
			suite.Failf("The client's report for stream %d has chunks %s; the stream had %d chunks.", id, intText(s.Chunks), plan.chunks)
		case !timed:
		case len(s.DelaysMS) != plan.chunks:
			suite.Failf("The client's report for stream %d has %d delays in delays_ms; the stream had %d chunks, each needs its delay (Task 5).", id, len(s.DelaysMS), plan.chunks)
		case s.LongestStallMS == nil:
			suite.Failf("The client's report for stream %d has no longest_stall_ms.", id)
		}
	}
	if run.exit != 0 {
		suite.Failf("The client (%s) exited %d although every stream arrived whole: exit 0 then.\n%s", run.describe(), run.exit, run.log)
	}
	if rep.Proto != plan.proto {
		suite.Failf("The client's report says proto %q; it was run with -proto %s.", rep.Proto, plan.proto)
	}
}

func streamIDs(r clientReport) string {
	var ids []string
	for _, s := range r.Streams {
		ids = append(ids, intText(s.ID))
	}
	if len(ids) == 0 {
		return "it has no streams at all"
	}
	return "it has " + strings.Join(ids, ", ")
}

func intText(p *int) string {
	if p == nil {
		return "missing"
	}
	return fmt.Sprint(*p)
}

// At once: the last request reaches the server within this of the first.
// A client that waits for a response (or a stream) before the next request
// spreads them by at least a round trip (40 ms) each.
const atOnce = 30 * time.Millisecond

// checkConnections holds the requests the grader's server received for one
// client run to the protocol's connection pattern, and to "at once".
func checkConnections(proto string, plan fetchPlan, reqs []request) {
	conns := map[int64]int{}
	var first, last time.Time
	var lines []string
	for i, q := range reqs {
		conns[q.conn]++
		if i == 0 || q.arrived.Before(first) {
			first = q.arrived
		}
		if q.arrived.After(last) {
			last = q.arrived
		}
		lines = append(lines, fmt.Sprintf("stream %d: %s on connection %d, +%s", q.id, q.proto, q.conn, ms(q.arrived.Sub(reqs[0].arrived))))
	}
	suite.Evidence(protoNames[proto]+" requests", "%s", strings.Join(lines, "\n"))
	if len(reqs) != plan.streams {
		suite.Failf("With -proto %s -streams %d, the grader's server received %d requests.", proto, plan.streams, len(reqs))
	}
	for _, q := range reqs {
		if q.proto != wantProto[proto] {
			suite.Failf("With -proto %s the client's requests came as %s, not %s. %s", proto, q.proto, wantProto[proto], clientHints[proto])
		}
	}
	if spread := last.Sub(first); spread > atOnce {
		suite.Failf("With -proto %s the %d requests reached the server over %s: the client must send them all at once, without waiting for any response, or the streams never run side by side (Task 4).",
			proto, plan.streams, ms(spread))
	}
	switch {
	case proto == h1 && len(conns) != plan.streams:
		suite.Failf("With -proto h1 the %d streams came on %s; HTTP/1.1 carries one stream at a time, so streams at once need a connection each. %s", plan.streams, words.Count(len(conns), "connection", "connections"), clientHints[proto])
	case proto != h1 && len(conns) != 1:
		suite.Failf("With -proto %s the %d streams came on %s; they must share one, that is what multiplexing means. %s", proto, plan.streams, words.Count(len(conns), "connection", "connections"), clientHints[proto])
	}
}

// checkEcho holds the report's interval_ms and stall_threshold_ms to the
// flags, and its stalled to a list.
func checkEcho(run clientRun, plan fetchPlan, threshold time.Duration) {
	rep := run.report
	if raw := strings.TrimSpace(string(run.stalledRaw)); !strings.HasPrefix(raw, "[") {
		if raw == "" {
			raw = "missing"
		}
		suite.Failf("The client's report has stalled %s; it is a list of stream IDs, [] when none (a nil slice in Go prints null: start from []int{}).", raw)
	}
	want := func(name string, got *float64, d time.Duration) {
		if got == nil || math.Abs(*got-millis(d)) > 0.01 {
			suite.Failf("The client's report has %s %s; it was run with %v.", name, floatText(got), d)
		}
	}
	want("interval_ms", rep.IntervalMS, plan.interval)
	want("stall_threshold_ms", rep.StallThresholdMS, threshold)
}

func floatText(p *float64) string {
	if p == nil {
		return "missing"
	}
	return fmt.Sprint(*p)
}

// checkAgreement holds the client's report to what really happened: each
// chunk's delay against when it was sent and when it could be read, each
// stream's longest stall against the same, and the stalled list against the
// threshold.
func checkAgreement(run clientRun, plan fetchPlan, sent map[chunkKey]time.Time, truth arrivals, loss *oneLoss, threshold time.Duration) {
	rep := run.report
	want := expectedStalls(truth, plan.streams, plan.chunks, plan.interval)
	var off []string
	var table []string
	worst, worstAt := 0.0, "none"
	for id := range plan.streams {
		s, _ := rep.stream(id)
		for i, got := range s.DelaysMS {
			if i == 0 {
				continue // it shares its moment with the response's start, which a client may still be setting up
			}
			c := chunkKey{id, i}
			exp := truth(c).Sub(sent[c])
			if e := math.Abs(got - msFloat(exp)); e > worst {
				worst, worstAt = e, fmt.Sprintf("stream %d chunk %d: %.1f ms, the grader's %s", id, i, got, ms(exp))
			}
			if math.Abs(got-msFloat(exp)) > msFloat(delayTolerance) {
				off = append(off, fmt.Sprintf("stream %d chunk %d: %.1f ms, want %s", id, i, got, ms(exp)))
			}
		}
		table = append(table, fmt.Sprintf("stream %d: longest stall %.1f ms (the grader's %s)", id, *s.LongestStallMS, ms(want[id])))
	}
	suite.Evidence(protoNames[plan.proto]+" stalls", "%s\nstalled %v\ndelays: the farthest from the grader's is %s (%.1f ms off)", strings.Join(table, "\n"), rep.Stalled, worstAt, worst)
	if len(off) > max(2, plan.streams*(plan.chunks-1)/delaysOffShare) {
		suite.Failf("Over %s, %d of the client's %d chunk delays (after each stream's chunk 0) are more than %s off what the grader's server knows (it sent each chunk at its stamp, across a one-way delay of %s%s): %s. A chunk's delay is the time its last byte was read minus its stamp: time each chunk as it is read, not the request or the stream (Task 5).",
			protoNames[plan.proto], len(off), plan.streams*(plan.chunks-1), ms(delayTolerance), ms(oneWay), lossClause(loss), report.Clip(strings.Join(off, "; "), 300))
	}
	offBy := make([]float64, plan.streams)
	for id := range plan.streams {
		s, _ := rep.stream(id)
		offBy[id] = *s.LongestStallMS - msFloat(want[id])
	}
	sorted := slices.Sorted(slices.Values(offBy))
	median := sorted[len(sorted)/2]
	for id, d := range offBy {
		if math.Abs(median) > msFloat(stallTolerance) || math.Abs(d) > msFloat(stallFarOff) {
			s, _ := rep.stream(id)
			suite.Failf("Over %s, the client reports stream %d's longest stall as %.1f ms; from when each chunk was sent and could be read, it was %s (the streams' stalls are off by %.1f ms in the middle). The longest stall is the longest gap between two consecutive chunks' arrivals minus the interval (%v), 0 when no gap is longer (Task 5).%s",
				protoNames[plan.proto], id, *s.LongestStallMS, ms(want[id]), median, plan.interval, stallAdvice(*s.LongestStallMS, want[id], plan.interval))
		}
	}
	// A stream that surely stalled must be listed; otherwise the list must
	// follow the client's own stalls (a stall near the threshold goes either
	// way, and the machine may have added a few milliseconds).
	for id, st := range want {
		s, _ := rep.stream(id)
		listed := slices.Contains(rep.Stalled, id)
		reached := *s.LongestStallMS >= msFloat(threshold)
		if st >= threshold+stallTolerance && !listed || listed != reached {
			suite.Failf("Over %s, the client's stalled list is %v; stream %d's longest stall was %s (the client says %.1f ms) against a -stall threshold of %v. stalled lists, in increasing order, the streams whose longest stall is at least the threshold (Task 5).",
				protoNames[plan.proto], rep.Stalled, id, ms(st), *s.LongestStallMS, threshold)
		}
	}
	if !slices.IsSorted(rep.Stalled) {
		suite.Failf("The client's stalled list %v is not in increasing order.", rep.Stalled)
	}
}

// stallAdvice names the likely mistake behind a stall that is off.
func stallAdvice(got float64, want, interval time.Duration) string {
	if math.Abs(got-msFloat(want+interval)) < msFloat(stallTolerance) {
		return " Yours is about the stall plus the interval: subtract the interval from the longest gap."
	}
	return ""
}

func lossClause(l *oneLoss) string {
	if l == nil {
		return ", on a clean wire"
	}
	return ", and the chunks behind the lost packet could be read only once it was sent again"
}

func msFloat(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// checkUntrustedCertificate runs the client over HTTP/3 with -ca naming a
// certificate the server does not have: it must refuse the server (a client
// that skips verification trusts anyone who answers on the port).
func checkUntrustedCertificate(ctx SpecContext, sc *scene, g *graderServer, plan fetchPlan) {
	other, err := newCertificate()
	must(err)
	plan.proto = h3
	g.reset(nil)
	run := runClient(ctx, plan, other.certFile)
	reqs, _ := g.snapshot()
	suite.Evidence("untrusted certificate", "%s: exit %d, the server saw %d requests", run.describe(), run.exit, len(reqs))
	if len(reqs) > 0 || run.exit == 0 {
		suite.Failf("With -proto h3 and a -ca that is not the server's certificate, the client exited %d and sent %d requests: it trusted a server it cannot verify. Trust only the certificate in -ca (tls.Config.RootCAs from it), never InsecureSkipVerify; a stream that cannot be fetched is an error (exit 1).",
			run.exit, len(reqs))
	}
}

// checkClientUsage: bad flags are a usage error.
func checkClientUsage(ctx SpecContext, sc *scene) {
	addr := sc.server().String()
	suite.CheckUsageErrors(ctx, "client", [][]string{
		{"-addr", addr, "-proto", "h4"},
		{"-proto", "h2"},
		{"-addr", addr, "-proto", "h2", "-streams", "0"},
		{"-addr", addr, "-proto", "h2", "-interval", "often"},
		{"-addr", addr, "-proto", "h3"},
	})
}
