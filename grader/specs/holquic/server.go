package holquic

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

// protocolHints says, per protocol, what the server must do to speak it.
var protocolHints = map[string]string{
	h1: "Serve GET /stream/ID over HTTP/1.1 on the TCP port (Task 1).",
	h2: "Serve cleartext HTTP/2 with prior knowledge beside HTTP/1.1 on the same TCP listener: http.Server.Protocols with SetHTTP1(true) and SetUnencryptedHTTP2(true) (Task 2).",
	h3: "Serve HTTP/3 on the UDP port of the same number, with TLS from -cert and -key: http3.Server from github.com/quic-go/quic-go/http3 (Task 3).",
}

// wantProto is the protocol a response must come back as.
var wantProto = map[string]string{h1: "HTTP/1.1", h2: "HTTP/2.0", h3: "HTTP/3.0"}

var _ = Describe("The server", Label(CaseLabel), func() {
	It("serves the brief's streams over HTTP/1.1, HTTP/2 and HTTP/3", Label("hol.server-protocols"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		sc := newScene("protocols")
		srv := startServer(ctx, sc.w, sc.port, sc.cert)
		checkBadRequests(ctx, sc) // Task 1 first: over HTTP/1.1
		r := suite.Rand("protocols/plan")
		size := 100 + r.IntN(1000)
		var passed passedSoFar
		for _, proto := range []string{h1, h2, h3} {
			plan := fetchPlan{proto: proto, server: sc.server(), streams: 2, chunks: 3 + r.IntN(3), size: size, interval: 10 * time.Millisecond}
			srv.awaitProtocol(ctx, proto)
			results := sc.graderClient(proto).fetch(ctx, plan, nil)
			var got []string
			for _, s := range results {
				if s.err != nil {
					passed.failf("Over %s, %v. %s", protoNames[proto], s.err, protocolHints[proto])
				}
				if s.proto != wantProto[proto] {
					passed.failf("The grader asked over %s and the answer came as %s. %s", protoNames[proto], s.proto, protocolHints[proto])
				}
				for _, a := range s.arrivals {
					if off := a.arrived.Sub(a.sent); off < -time.Second || off > 5*time.Second {
						passed.failf("Over %s, stream %d's chunk %d is stamped sent=%d, %s from the grader's clock when it arrived: the stamp is the time you write the chunk, in microseconds since the Unix epoch (time.Now().UnixMicro()).",
							protoNames[proto], s.id, a.index, a.sent.UnixMicro(), off.Round(time.Millisecond))
					}
				}
				got = append(got, fmt.Sprintf("stream %d: %d chunks of %d bytes", s.id, len(s.arrivals), size))
			}
			suite.Evidence(protoNames[proto], "GET /stream/ID?chunks=%d&size=%d&interval=10ms: %s", plan.chunks, size, strings.Join(got, "; "))
			passed = append(passed, protoNames[proto])
		}
		addr := sc.server().String()
		suite.CheckUsageErrors(ctx, "server", [][]string{
			{"-cert", sc.cert.certFile, "-key", sc.cert.keyFile},
			{"-addr", addr, "-key", sc.cert.keyFile},
		})
	})

	It("sends each chunk when it is due, flushed on its own", Label("hol.server-pacing"), SpecTimeout(lab.Scaled(90*time.Second)), func(ctx SpecContext) {
		sc := newScene("pacing")
		srv := startServer(ctx, sc.w, sc.port, sc.cert)
		r := suite.Rand("pacing/plan")
		every := time.Duration(25+r.IntN(11)) * time.Millisecond
		var passed passedSoFar
		for _, proto := range []string{h1, h2, h3} {
			plan := fetchPlan{proto: proto, server: sc.server(), streams: 4, chunks: 20, size: chunkSize, interval: every, stagger: stagger}
			srv.awaitProtocol(ctx, proto)
			results := sc.graderClient(proto).fetch(ctx, plan, nil)
			for _, s := range results {
				if s.err != nil {
					passed.failf("Over %s, %v. %s", protoNames[proto], s.err, protocolHints[proto])
				}
			}
			checkPacing(proto, plan, results, passed)
			checkFirstChunk(ctx, sc, proto, passed)
			passed = append(passed, protoNames[proto])
		}
	})
})

// passedSoFar names the protocols that already passed a server check, so that
// a failure over a later one says so: a student who has finished HTTP/1.1
// (Task 1) sees it counted, though the criterion's points need all three.
type passedSoFar []string

// failf fails the check with the message, then what already passed.
func (p passedSoFar) failf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if len(p) > 0 {
		msg += fmt.Sprintf(" (%s already passed every part of this check; its points need all three protocols.)", strings.Join(p, " and "))
	}
	suite.Failf("%s", msg)
}

// checkBadRequests asks for what the brief forbids, over HTTP/1.1.
func checkBadRequests(ctx SpecContext, sc *scene) {
	c := sc.graderClient(h1)
	base := "http://" + sc.server().String()
	type ask struct {
		path   string
		status int
		names  string // the parameter the answer must name
	}
	asks := []ask{
		{"/stream/1?chunks=0&size=100&interval=10ms", 400, "chunks"},
		{"/stream/1?chunks=100001&size=100&interval=10ms", 400, "chunks"},
		{"/stream/1?size=100&interval=10ms", 400, "chunks"},
		{"/stream/1?chunks=2&size=63&interval=10ms", 400, "size"},
		{"/stream/1?chunks=2&size=16385&interval=10ms", 400, "size"},
		{"/stream/1?chunks=2&size=100&interval=500us", 400, "interval"},
		{"/stream/1?chunks=2&size=100&interval=11s", 400, "interval"},
		{"/stream/1?chunks=2&size=100&interval=soon", 400, "interval"},
		{"/stream/x?chunks=2&size=100&interval=10ms", 400, "id"},
		{"/stream/1048577?chunks=2&size=100&interval=10ms", 400, "id"},
		{"/streams/1?chunks=2&size=100&interval=10ms", 404, ""},
		{"/", 404, ""},
		{"/stream/1048576?chunks=1&size=64&interval=1ms", 200, ""},
	}
	var seen []string
	for _, a := range asks {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+a.path, nil)
		must(err)
		resp, err := c.http.Do(req)
		if err != nil {
			suite.Failf("GET %s over HTTP/1.1 failed: %v", a.path, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		seen = append(seen, fmt.Sprintf("GET %s: %d", a.path, resp.StatusCode))
		switch {
		case resp.StatusCode != a.status && a.status == 200:
			suite.Failf("GET %s answered %s; the brief allows ID up to 1048576, one chunk, 64 bytes, 1ms: want 200 with one chunk.", a.path, resp.Status)
		case resp.StatusCode != a.status:
			suite.Failf("GET %s answered %s; want %d. %s", a.path, resp.Status, a.status, badRequestRule(a.status))
		case a.names != "" && !strings.Contains(strings.ToLower(string(body)), a.names):
			suite.Failf("GET %s answered 400 with the body %q; the body must name the parameter that is wrong (%s).", a.path, report.Clip(string(body), 120), a.names)
		case a.status == 200 && len(body) != 64:
			suite.Failf("GET %s answered %d bytes; one chunk of 64 bytes is exactly 64 bytes, nothing else.", a.path, len(body))
		}
	}
	suite.Evidence("bad requests", "%s", strings.Join(seen, "\n"))
}

func badRequestRule(status int) string {
	if status == 404 {
		return "Any path other than /stream/ID is not found: 404 (Task 1)."
	}
	return "A parameter missing, malformed or out of the brief's range (ID 0 to 1048576, chunks 1 to 100000, size 64 to 16384, interval 1ms to 10s) is a bad request: 400, before any chunk is sent (Task 1)."
}

// Pacing thresholds. A server that holds chunks back delays most of them by
// an interval (25–35 ms) or more; the reference's latest chunk of a run of
// 80 arrived 1–10 ms after the one-way delay (12 gradings, some of them on a
// loaded machine), and stability runs, idle and with one core busy, kept
// every verdict.
const (
	// lateBy: a chunk whose delay (arrival − stamp) exceeds the one-way delay
	// by more than this was held back by the server.
	lateBy = 15 * time.Millisecond
	// lateShare: the share of a run's chunks that may be late anyway (a busy
	// machine's scheduler stalls a round of chunks now and then), one in eight.
	lateShare = 8
)

// checkPacing holds one protocol's streams to the brief's schedule: every
// chunk leaves as soon as it is written, so its delay is the wire's one way.
func checkPacing(proto string, plan fetchPlan, results []streamResult, passed passedSoFar) {
	var late []string
	var delays []time.Duration
	for _, s := range results {
		for _, a := range s.arrivals {
			d := a.arrived.Sub(a.sent)
			delays = append(delays, d)
			if d > oneWay+lateBy {
				late = append(late, fmt.Sprintf("stream %d chunk %d: %s", s.id, a.index, ms(d)))
			}
		}
	}
	slices.Sort(delays)
	pct := func(p int) time.Duration { return delays[(len(delays)-1)*p/100] }
	suite.Evidence(protoNames[proto]+" pacing", "%d streams × %d chunks, every %v: delay (arrival − stamp) p50 %s, p90 %s, max %s; the wire's one way is %s",
		plan.streams, plan.chunks, plan.interval, ms(pct(50)), ms(pct(90)), ms(pct(100)), ms(oneWay))
	if len(late) > len(delays)/lateShare {
		passed.failf("Over %s, %d of %d chunks arrived more than %s after their stamp, on a wire whose one-way delay is %s: %s. A chunk written but not flushed waits in the response's buffer until later chunks fill it, and then they leave together: flush each chunk as soon as it is written (http.NewResponseController(w).Flush()), and stamp it when you write it (Task 1).",
			protoNames[proto], len(late), len(delays), ms(oneWay+lateBy), ms(oneWay), report.Clip(strings.Join(late, ", "), 300))
	}
}

// firstChunkInterval is the interval of the streams that time chunk 0: long
// enough that a chunk 0 sent one interval late (a ticker's first tick) is far
// from one sent at once, whatever the machine's load.
const firstChunkInterval = 100 * time.Millisecond

// checkFirstChunk: chunk 0 is due at once. Over HTTP/2 and HTTP/3 the
// connection is open already (the grader's client opened it), so chunk 0
// arrives a round trip after the request; one interval later is a mistake.
func checkFirstChunk(ctx SpecContext, sc *scene, proto string, passed passedSoFar) {
	if proto == h1 {
		return
	}
	plan := fetchPlan{proto: proto, server: sc.server(), streams: 2, chunks: 2, size: chunkSize, interval: firstChunkInterval, stagger: stagger}
	results := sc.graderClient(proto).fetch(ctx, plan, nil)
	var slowest time.Duration
	for _, s := range results {
		if s.err != nil {
			passed.failf("Over %s, %v. %s", protoNames[proto], s.err, protocolHints[proto])
		}
		slowest = max(slowest, s.arrivals[0].arrived.Sub(s.requested))
	}
	suite.Evidence(protoNames[proto]+" chunk 0", "with -interval %v, the longest from a request to its chunk 0: %s (a round trip is %s)", firstChunkInterval, ms(slowest), ms(2*oneWay))
	if slowest > 2*oneWay+firstChunkInterval/2 {
		passed.failf("Over %s, with an interval of %v, chunk 0 arrived %s after the request was sent, on a connection already open (a round trip is %s). Chunk 0 is due at once, when the request arrives, not one interval later: a time.Ticker's first tick comes after one interval (Task 1).",
			protoNames[proto], firstChunkInterval, ms(slowest), ms(2*oneWay))
	}
}
