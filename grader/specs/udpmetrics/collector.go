package udpmetrics

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/internal/words"
	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// chunk is how many datagrams the grader's agent sends before it waits for
// the collector to read them: a collector's socket never holds more, so its
// receive buffer cannot overflow unless a spec wants it to.
const chunk = 16

// collectorScene is the student's collector on the server side of a wire and
// the grader's agent on the client side.
type collectorScene struct {
	w     *lab.Wire
	c     *studentCollector
	agent *graderAgent
	match lab.Match // the agent's datagrams on the wire
	base  int64     // packets toward the server before the agent's first
}

func newCollectorScene(ctx SpecContext, stream string) *collectorScene {
	w := suite.Wire(lab.WireOptions{})
	mport, aport := ports(stream)
	dir, err := lab.MkdirWritable("wl-audit-")
	must(err)
	c := startCollector(ctx, side{w.Server}, lab.ServerAddr, mport, aport, dir.File("audit.log").Path)
	a := newGraderAgent(netip.AddrPortFrom(lab.ServerAddr, mport), stream)
	DeferCleanup(a.close)
	return &collectorScene{w: w, c: c, agent: a, match: lab.Match{Proto: lab.ProtoUDP, DstPort: mport},
		base: w.Counters(lab.ToServer).Packets}
}

// awaitTaken waits until the wire has taken every datagram the agent wrote
// (the kernel hands them to the wire's device asynchronously), then until the
// collector has read them.
func (s *collectorScene) awaitTaken(ctx SpecContext) {
	err := lab.Await(ctx, lab.Scaled(settleTime), func() (bool, error) {
		return s.w.Counters(lab.ToServer).Packets-s.base >= s.agent.written, nil
	})
	if err != nil {
		suite.GraderFailf("the wire took %d of the %d datagrams the grader's agent sent", s.w.Counters(lab.ToServer).Packets-s.base, s.agent.written)
	}
	s.c.awaitDrained(ctx, s.w)
}

// sendAll sends ds in chunks, waiting for the collector to read each chunk,
// except inside the windows where the wire holds a datagram back (held maps
// a 0-based index to how many later datagrams pass it): a wait there would
// let the wire release it in order.
func (s *collectorScene) sendAll(ctx SpecContext, ds []datagram, held map[int]int) {
	hold := make([]bool, len(ds))
	for i, k := range held {
		for j := i; j <= i+k && j < len(ds); j++ {
			hold[j] = true
		}
	}
	for i, d := range ds {
		s.agent.send(d)
		if (i+1)%chunk == 0 && !hold[i] {
			s.awaitTaken(ctx)
		}
	}
	s.awaitTaken(ctx)
	s.c.awaitHandled(ctx, s.w)
}

// malformed makes datagrams that break the brief's format in one way each,
// with the header of like: version 2, a count larger than the metrics that
// follow, bytes after the last metric, a name of length 0.
func (s *collectorScene) malformed(like datagram) [][]byte {
	one := datagram{Agent: like.Agent, Epoch: like.Epoch, First: like.First, Metrics: like.Metrics[:1]}
	v2 := one.encode()
	v2[0] = 2
	short := one.encode()
	short[3] = 2
	trailing := append(one.encode(), 0, 0, 0)
	empty := one.encode()
	empty[headerLen] = 0
	return [][]byte{v2, short, trailing, empty}
}

// plan draws n datagrams of 1 to maxCount metrics each.
func (s *collectorScene) plan(n, maxCount int, stream string) []datagram {
	r := suite.Rand(stream)
	ds := make([]datagram, n)
	for i := range ds {
		ds[i] = s.agent.batch(1 + r.IntN(maxCount))
	}
	return ds
}

// acted returns the datagrams (by their index among the agent's datagrams
// on the wire) that the wire's rules acted on with action.
func (s *collectorScene) acted(action lab.Action) []datagram {
	var out []datagram
	for _, e := range s.w.PacketEvents() {
		if e.Kind == lab.RuleActed && e.Dir == lab.ToServer && e.Action == action && e.MatchIndex >= 1 && e.MatchIndex <= len(s.agent.sent) {
			out = append(out, s.agent.sent[e.MatchIndex-1])
		}
	}
	return out
}

// expectedStream is what the collector must report for one stream.
type expectedStream struct {
	agent, epoch          uint32
	highest, received     uint64
	missing               []seqRange
	reordered, duplicates uint64
}

// expect describes a stream of ds (in sequence order) after the wire dropped
// lost, held back reordered and repeated duplicated.
func expect(ds []datagram, lost, reordered, duplicated []datagram) expectedStream {
	return expectedStream{agent: ds[0].Agent, epoch: ds[0].Epoch, highest: ds[len(ds)-1].last(),
		received: metricsIn(ds) - metricsIn(lost), missing: rangesOf(lost),
		reordered: metricsIn(reordered), duplicates: metricsIn(duplicated)}
}

// checkStreamReport holds the collector's report of one stream to what the
// wire did; concept names what the spec is about, for the message.
func checkStreamReport(r collectorReport, want expectedStream, concept string) {
	got, ok := r.stream(want.agent, want.epoch)
	if !ok {
		have := "no stream at all"
		if len(r.Streams) > 0 {
			var ss []string
			for _, s := range r.Streams {
				ss = append(ss, fmt.Sprintf("agent %d epoch %d", *s.Agent, *s.Epoch))
			}
			have = "streams for " + strings.Join(ss, ", ")
		}
		suite.Failf("The report has no stream for agent %d, epoch %d (it has %s): read the agent id and the epoch from each datagram's header, and keep one stream per agent and epoch.",
			want.agent, want.epoch, have)
	}
	where := fmt.Sprintf("agent %d, epoch %d", want.agent, want.epoch)
	switch {
	case !slices.Equal(got.ranges(), want.missing):
		suite.Failf("%s: the report's missing ranges for %s are %s; the sequence numbers never received are %s. %s",
			concept, where, formatRanges(got.ranges()), formatRanges(want.missing), missingHint(got.ranges(), want))
	case *got.Highest != want.highest:
		suite.Failf("%s: the report's highest for %s is %d; the highest sequence number sent and received is %d.", concept, where, *got.Highest, want.highest)
	case *got.Received != want.received:
		suite.Failf("%s: the report's received for %s is %d; %d different sequence numbers arrived (a copy counts once).", concept, where, *got.Received, want.received)
	case *got.Reordered != want.reordered:
		suite.Failf("%s: the report's reordered for %s is %d; %s arrived after a higher sequence number of the stream. Count each metric that fills a gap as reordered, once.",
			concept, where, *got.Reordered, words.Count(int(want.reordered), "metric", "metrics"))
	case *got.Duplicates != want.duplicates:
		suite.Failf("%s: the report's duplicates for %s is %d; the wire delivered %s a second time. Count each copy of a metric already received, one per copy.",
			concept, where, *got.Duplicates, words.Count(int(want.duplicates), "metric", "metrics"))
	}
}

// missingHint explains the commonest ways a missing list goes wrong.
func missingHint(got []seqRange, want expectedStream) string {
	switch {
	case len(want.missing) == 0 && len(got) > 0:
		return "Nothing was lost: a datagram that arrives late fills its gap, and a copy is not a gap."
	case len(got) == 0:
		return "Sequence numbers tell you which metrics never came: every number from 0 to the highest received that you have not seen."
	}
	return "Each datagram carries the metrics first … first+count−1; a lost datagram leaves exactly those numbers missing, and neighbouring losses make one range."
}

// wireStory renders the wire's packet events for evidence.
func wireStory(w *lab.Wire) string {
	ev := w.PacketEvents()
	if len(ev) == 0 {
		return "the wire did nothing to any packet"
	}
	lines := make([]string, len(ev))
	for i, e := range ev {
		lines[i] = e.String()
	}
	return strings.Join(lines, "\n")
}

// seededPositions draws n distinct 0-based positions in [lo, hi) whose
// windows [p, p+width(p)] neither overlap nor touch.
func seededPositions(stream string, n, lo, hi int, width func(int) int) []int {
	r := suite.Rand(stream)
	var out []int
	taken := map[int]bool{}
	for tries := 0; len(out) < n && tries < 10000; tries++ {
		p := lo + r.IntN(hi-lo)
		w := width(p)
		free := true
		for j := p - 1; j <= p+w+1; j++ {
			if taken[j] {
				free = false
			}
		}
		if !free {
			continue
		}
		for j := p; j <= p+w; j++ {
			taken[j] = true
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

var _ = Describe("02-udp-metrics: the collector's view of the stream", Label(CaseLabel), func() {
	It("reports exactly the sequence numbers of the datagrams the wire dropped", Label("udp.collector-gaps"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		s := newCollectorScene(ctx, "gaps")
		r := suite.Rand("gaps/plan")
		n := 300 + r.IntN(301)
		ds := s.plan(n, 12, "gaps/sizes")
		bursts := map[int]int{}
		for _, p := range seededPositions("gaps/bursts", 2, 5, n-10, func(int) int { return 5 }) {
			bursts[p] = 2 + r.IntN(5)
		}
		var drop []int
		for p, k := range bursts {
			for j := range k {
				drop = append(drop, p+j+1) // 1-based match indexes
			}
		}
		for _, p := range seededPositions("gaps/singles", 4, 5, n-5, func(p int) int {
			for b, k := range bursts {
				if p >= b-1 && p <= b+k {
					return n // collides with a burst: never free
				}
			}
			return 0
		}) {
			drop = append(drop, p+1)
		}
		slices.Sort(drop)
		// First, datagrams that break the format (before the rule counts
		// packets): a collector ignores and counts them.
		bad := s.malformed(ds[0])
		for _, b := range bad {
			s.agent.write(b)
		}
		s.awaitTaken(ctx) // through the wire before the rule starts counting
		s.w.Add(lab.ToServer, lab.DropIndexes(s.match, drop...))
		s.sendAll(ctx, ds, nil)
		lost := s.acted(lab.Drop)
		suite.Evidence("the wire", "%d datagrams (%d metrics) sent; dropped: %d datagrams carrying sequence numbers %s\n%s",
			n, metricsIn(ds), len(lost), formatRanges(rangesOf(lost)), wireStory(s.w))
		so, _ := s.c.where.udpSocket(s.c.metricsPort)
		report := s.c.report(ctx)
		if so.Drops > 0 {
			suite.Failf("The collector's socket dropped %d datagrams itself (its receive buffer was full although the grader sent %d at a time): read the socket in a loop that does nothing slow.", so.Drops, chunk)
		}
		want := expect(ds, lost, nil, nil)
		if len(report.Streams) == 0 {
			checkStreamReport(report, want, "Loss on the network") // fails first on what matters most
		}
		if *report.Malformed != uint64(len(bad)) {
			suite.Failf("The report counts %d malformed datagrams; the grader sent %d (version 2, a count larger than the metrics that follow, bytes after the last metric, a name of length 0), each with the header of the stream's first datagram, and the others all follow the brief's format. Check every datagram strictly and ignore the ones that break it.",
				*report.Malformed, len(bad))
		}
		checkStreamReport(report, want, "Loss on the network")
		if len(report.Streams) != 1 {
			suite.Failf("One agent sent one epoch; the report has %d streams.", len(report.Streams))
		}
		switch {
		case *report.LocalDrops != 0:
			suite.Failf("The report says local_drops %d, but the kernel dropped nothing for the collector's socket: every missing datagram was lost on the wire. local_drops comes from SO_RXQ_OVFL only.", *report.LocalDrops)
		case *report.Datagrams != uint64(n-len(lost)):
			suite.Failf("The report says %d datagrams; %d reached the collector (%d sent, %d dropped by the wire).", *report.Datagrams, n-len(lost), n, len(lost))
		}
		suite.CheckUsageErrors(ctx, "collector", [][]string{
			{"-metrics", hostPort(loopback, s.c.metricsPort+300), "-audit", hostPort(loopback, s.c.auditPort+300)},
			{"-audit", hostPort(loopback, s.c.auditPort+300), "-audit-log", "/tmp/x.log"},
			{"-metrics", hostPort(loopback, s.c.metricsPort+300), "-audit", hostPort(loopback, s.c.auditPort+300), "-audit-log", "/tmp/x.log", "-rcvbuf", "big"},
		})
	})

	It("counts late datagrams as reordered and copies as duplicates, never as gaps", Label("udp.collector-reorder-dup"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		s := newCollectorScene(ctx, "reorder")
		r := suite.Rand("reorder/plan")
		n := 200 + r.IntN(201)
		ds := s.plan(n, 10, "reorder/sizes")
		held := map[int]int{}
		positions := seededPositions("reorder/positions", 8, 3, n-10, func(int) int { return 6 })
		for i, p := range positions {
			if i%2 == 0 {
				held[p] = 1 + r.IntN(5)
				s.w.Add(lab.ToServer, lab.ReorderNth(s.match, p+1, held[p]))
			} else {
				s.w.Add(lab.ToServer, lab.DuplicateNth(s.match, p+1))
			}
		}
		s.sendAll(ctx, ds, held)
		late, copies := s.acted(lab.Reorder), s.acted(lab.Duplicate)
		suite.Evidence("the wire", "%d datagrams (%d metrics) sent; %d held back behind later ones (%s metrics), %d duplicated (%s metrics), none lost\n%s",
			n, metricsIn(ds), len(late), fmt.Sprint(metricsIn(late)), len(copies), fmt.Sprint(metricsIn(copies)), wireStory(s.w))
		report := s.c.report(ctx)
		checkStreamReport(report, expect(ds, nil, late, copies), "Reordering and duplicates")
		if *report.Datagrams != uint64(n+len(copies)) {
			suite.Failf("The report says %d datagrams; %d reached the collector (%d sent, %d of them twice).", *report.Datagrams, n+len(copies), n, len(copies))
		}
	})
})

var _ = Describe("02-udp-metrics: restarts", Label(CaseLabel), func() {
	It("keeps one stream per agent and epoch: a restarted agent is not a gap, and the agent takes a new epoch when it starts", Label("udp.restart"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		s := newCollectorScene(ctx, "restart")
		r := suite.Rand("restart/plan")
		first := s.plan(40+r.IntN(41), 10, "restart/first")
		s.agent.newEpoch()
		second := s.plan(40+r.IntN(41), 10, "restart/second")
		// The old epoch's last datagram is still on its way when the new
		// epoch begins: it arrives behind three of them.
		held := map[int]int{len(first) - 1: 3}
		s.w.Add(lab.ToServer, lab.ReorderNth(s.match, len(first), 3))
		s.sendAll(ctx, append(append([]datagram(nil), first...), second...), held)
		suite.Evidence("the grader's agent", "epoch %d: %d datagrams, sequence numbers 0–%d; then it restarted: epoch %d, %d datagrams, 0–%d; the old epoch's last datagram arrived behind 3 of the new one's",
			first[0].Epoch, len(first), first[len(first)-1].last(), second[0].Epoch, len(second), second[len(second)-1].last())
		report := s.c.report(ctx)
		checkStreamReport(report, expect(first, nil, nil, nil), "An agent restart")
		checkStreamReport(report, expect(second, nil, nil, nil), "An agent restart")
		if len(report.Streams) != 2 {
			suite.Failf("One agent sent two epochs; the report has %d streams (one per agent and epoch).", len(report.Streams))
		}

		// The student's agent, started twice: two epochs, each from 0.
		// Ports of their own, apart from the student's collector's.
		mport, aport := s.c.metricsPort+200, s.c.auditPort+200
		gc := listenGraderCollector(s.w, mport)
		DeferCleanup(gc.close)
		id := 1 + r.Uint32N(1000)
		var epochs []uint32
		seen := 0
		for run := range 2 {
			// Plain values: this check is about the epoch and the numbering.
			want := seededMetrics(r, 30, 4, 12)
			for i := range want {
				want[i].Value = float64(r.IntN(1000))
			}
			lines := make([]string, len(want))
			for i, m := range want {
				lines[i] = metricLine(m)
			}
			a := startAgent(lab.ServerAddr, mport, aport, id)
			a.feed(lines, lab.Scaled(5*time.Second))
			line := a.finish(ctx)
			awaitArrivals(ctx, s.w, gc, seen+int(*line.Datagrams))
			got := gc.arrivals()
			epochs = append(epochs, checkNumbering(got[seen:], len(want), id))
			seen = len(got)
			if run == 1 && epochs[0] == epochs[1] {
				suite.Failf("The agent, started twice, sent epoch %d both times: pick a new epoch every time the agent starts (a random non-zero number), or the collector takes the second run's metrics for copies of the first's.", epochs[0])
			}
		}
		suite.Evidence("your agent's epochs", "first run %d, second run %d", epochs[0], epochs[1])
	})
})

var _ = Describe("02-udp-metrics: the receiver's own drops", Label(CaseLabel), func() {
	It("reports the datagrams its own socket dropped, as the kernel counted them, apart from network loss", Label("udp.receive-buffer"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		r := suite.Rand("rcvbuf/plan")
		mport, aport := ports("rcvbuf")
		rcvbuf := 8192 + r.IntN(8193)
		dir, err := lab.MkdirWritable("wl-audit-")
		must(err)
		here := side{}
		c := startCollector(ctx, here, loopback, mport, aport, dir.File("audit.log").Path, "-rcvbuf", fmt.Sprint(rcvbuf))
		a := newGraderAgent(netip.AddrPortFrom(loopback, mport), "rcvbuf")
		DeferCleanup(a.close)
		warm := []datagram{a.batch(8), a.batch(8), a.batch(8)}
		for _, d := range warm {
			a.send(d)
		}
		c.awaitHandled(ctx, nil)
		before, err := here.counters()
		must(err)
		sockBefore, _ := here.udpSocket(mport)
		must(c.Signal(syscall.SIGSTOP))
		must(c.AwaitStopped(ctx, lab.Scaled(5*time.Second)))
		burst := make([]datagram, 200+r.IntN(201))
		for i := range burst {
			burst[i] = a.batch(8)
			a.send(burst[i])
		}
		sock, _ := here.udpSocket(mport)
		dropped := int(sock.Drops - sockBefore.Drops)
		must(c.Signal(syscall.SIGCONT))
		c.awaitDrained(ctx, nil)
		// The drop count reaches the collector with the datagrams queued after
		// the drops: three of them, each carrying the same cumulative count.
		final := []datagram{a.batch(8), a.batch(8), a.batch(8)}
		for _, d := range final {
			a.send(d)
		}
		c.awaitHandled(ctx, nil)
		after, err := here.counters()
		must(err)
		delta := after.Since(before)
		if dropped == 0 {
			suite.Failf("While the collector was stopped its socket took all %d datagrams of the burst, so nothing overflowed and its own drops could not be checked: set the metrics socket's receive buffer to -rcvbuf (%d bytes here) with SO_RCVBUF (the kernel doubles it). (How many datagrams a burst holds is seeded: with the system's default buffer another run may overflow it, and then this check asks for the next step, local_drops from SO_RXQ_OVFL.)",
				len(burst), rcvbuf)
		}
		if dropped == len(burst) {
			suite.GraderFailf("the burst of %d datagrams into a %d-byte receive buffer made %d drops; the check needs some", len(burst), rcvbuf, dropped)
		}
		lost := burst[len(burst)-dropped:]
		suite.Evidence("the kernel", "-rcvbuf %d; the collector stopped (SIGSTOP) while %d datagrams arrived: its socket kept %d and dropped %d (sequence numbers %s); %s; three more datagrams after SIGCONT, each carrying the socket's drop count",
			rcvbuf, len(burst), len(burst)-dropped, dropped, formatRanges(rangesOf(lost)), delta.Format("Udp.RcvbufErrors", "Udp.InDatagrams"))
		report := c.report(ctx)
		all := append(append(append([]datagram(nil), warm...), burst...), final...)
		if *report.LocalDrops != uint64(dropped) {
			hint := "Turn SO_RXQ_OVFL on for the metrics socket (setsockopt SOL_SOCKET, SO_RXQ_OVFL, 1), read with ReadMsgUDP and an out-of-band buffer, and keep the count the last control message carried (it is the socket's total so far, not an increment); the kernel attaches it to every datagram queued after a drop."
			suite.Failf("The kernel dropped %d datagrams for the collector's socket (its drops column, and Udp.RcvbufErrors +%d), but the report says local_drops %d. %s",
				dropped, delta["Udp.RcvbufErrors"], *report.LocalDrops, hint)
		}
		checkStreamReport(report, expect(all, lost, nil, nil), "The receive buffer's drops")
	})
})
