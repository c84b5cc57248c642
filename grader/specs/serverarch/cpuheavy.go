package serverarch

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// The CPU-heavy scene: the epoll model with one worker; 100 clients send
// one WORK of about 30 ms each, all at once, while a probe PINGs every 10 ms.
//
// Measured on the 2-core machine (LAB-NOTES, and this scene): offloaded to
// one worker, the probe's p99 was 4–9 ms, with a core kept busy; WORK done
// inside the loop holds every PING behind the WORK queued before it, 0.4 s
// at 2 ms per WORK and seconds at 20 ms. The limit sits between.
const (
	heavyClients = 100
	heavyWorkers = 1
	heavyWork    = 30 * time.Millisecond
	heavyEach    = 1
	heavyP99     = 200 * time.Millisecond
	heavyStall   = 5 * time.Second
)

// The one-worker scene, after it on the same server: one client's long WORK,
// and once the server is seen hashing it (its CPU time grew), short WORKs
// from other clients. One worker answers the long WORK first, whatever order
// it takes jobs in: the short ones can only start when it is free. Any second
// hash at the same time (a goroutine per WORK, a pool sized by the cores,
// WORK computed by each connection's goroutine) answers the short ones first:
// they need 5 ms of CPU, the long one 750 ms more, and Go's scheduler gives
// every goroutine a turn at least every 10 ms, so even on one free core they
// finish hundreds of milliseconds ahead. It is an order, not a time: the
// machine's load stretches both sides alike.
//
// The grader reads each client's answer on its own goroutine, so two answers
// the loop writes in one turn may be seen in either order: a short WORK seen
// before the long one counts only when it came more than orderSlack earlier.
// Measured (seeds 1–4 and 500–501, one core kept busy in most): one worker,
// at most 20 µs early (a loop that spins beside a busy core wrote both in
// one turn); a second hash at the same time, 533 ms early or more.
const (
	orderSlack = 100 * time.Millisecond
	longWork   = 800 * time.Millisecond
	hashing    = 50 * time.Millisecond // the server's CPU time that shows the long WORK under way
	shortWork  = 5 * time.Millisecond
	shortCount = 4
)

var _ = Describe("The epoll model with 100 CPU-heavy clients", Label(CaseLabel), func() {
	It("keeps answering PINGs while its workers hash, and runs at most -workers WORK at once", Label("arch.cpu-heavy"), func(ctx SpecContext) {
		s := startServer(ctx, "heavy", epoll, heavyWorkers)
		load := newWorkLoad("heavy", heavyClients, roundsFor(heavyWork), heavyEach)
		// One worker answers a WORK about every 30 ms: 5 s without any
		// answer is a server that is not working through its queue.
		load.stall = lab.Scaled(heavyStall)
		res := load.run(s.addr, lab.Scaled(30*time.Second), lab.Scaled(pingTimeout))
		suite.Evidence("workload", "%d clients × %d WORK of %d rounds (about %v each here), -workers %d: %d answered in %v",
			heavyClients, heavyEach, load.rounds, heavyWork, heavyWorkers, res.answered, lab.Round(res.elapsed))
		suite.Evidence("probe", "a PING every %v meanwhile: %s", load.probe, res.pings.Summary())
		s.alive("its clients sent WORK")
		if res.stalled {
			suite.Failf("%d clients sent WORK at once, and for %v no answer came (%d answered before that), while the probe connection kept answering PING: the WORK is not being worked through. A server that serves one client at a time looks like this, and so does a pool whose answers never reach the loop. Register every client in your epoll instance, hand each WORK to the pool, and have each answer wake the loop (Tasks 2 and 3).", heavyClients, lab.Scaled(heavyStall), res.answered)
		}
		if res.pingErr != nil {
			suite.Failf("While %d clients sent WORK, the probe's PING failed: %v. The loop must stay free to answer PING while WORK runs on the workers (Task 3).", heavyClients, res.pingErr)
		}
		if len(res.wrong) > 0 {
			suite.Failf("%d WORK requests were not answered exactly, e.g. %s.", len(res.wrong), strings.Join(res.wrong[:min(3, len(res.wrong))], "; "))
		}
		if p99 := res.pings.Percentile(99); p99 > heavyP99 {
			suite.Failf("While %d clients sent WORK, PINGs took %v at the 99th percentile (limit %v; %s): the loop was busy hashing. Hand WORK to the pool of -workers goroutines and go back to epoll_wait; answer when a worker hands the result back (Task 3).", heavyClients, lab.Round(p99), heavyP99, res.pings.Summary())
		}
		checkOneWorker(ctx, s)
	})
})

// checkOneWorker runs the one-worker scene against a server started with
// -workers 1.
func checkOneWorker(ctx SpecContext, s *server) {
	long := work{rounds: roundsFor(longWork), seed: seedToken("heavy/long", 12)}
	var shorts []work
	for i := range shortCount {
		shorts = append(shorts, work{rounds: roundsFor(shortWork), seed: seedToken(fmt.Sprintf("heavy/short%d", i), 12)})
	}
	longConn := dialOrFail(s, "the client of the long WORK")
	defer longConn.close()
	shortConns := make([]*conn, shortCount)
	for i := range shortConns {
		shortConns[i] = dialOrFail(s, fmt.Sprintf("short WORK client %d", i+1))
		defer shortConns[i].close()
	}
	before, err := s.TreeStats()
	must(err)
	if err := longConn.send(long.request()); err != nil {
		suite.Failf("could not send %s: %v", long.request(), err)
	}
	var cpu time.Duration
	err = lab.Await(ctx, lab.Scaled(5*time.Second), func() (bool, error) {
		st, err := s.TreeStats()
		cpu = st.CPU - before.CPU
		return cpu >= hashing, err
	})
	if err != nil {
		s.alive("it had a long WORK to do")
		suite.Failf("A client sent WORK of %d rounds (about %v of hashing) and within %v the server used %v of CPU time: it does not seem to compute WORK (%v).", long.rounds, longWork, lab.Scaled(5*time.Second), cpu, err)
	}
	// Every answer's arrival, the long one's first in the list.
	type answered struct {
		who    string
		answer string
		err    error
		at     time.Duration
	}
	start := time.Now()
	results := make([]answered, 1+shortCount)
	for i, c := range shortConns {
		if err := c.send(shorts[i].request()); err != nil {
			suite.Failf("could not send %s: %v", shorts[i].request(), err)
		}
	}
	// About 1 s of hashing in all; ten times that on a loaded machine.
	timeout := lab.Scaled(10 * time.Second)
	lab.All(1+shortCount, func(i int) {
		c, w, who := longConn, long, "the long WORK"
		if i > 0 {
			c, w, who = shortConns[i-1], shorts[i-1], fmt.Sprintf("short WORK %d", i)
		}
		answer, err := c.readLine(timeout)
		results[i] = answered{who: who, answer: answer, err: err, at: time.Since(start)}
		if err == nil && answer != w.answer() {
			results[i].err = fmt.Errorf("answered %q, want %q", clip(answer), w.answer())
		}
	})
	var times []string
	for _, r := range results {
		times = append(times, fmt.Sprintf("%s at %v", r.who, lab.Round(r.at)))
	}
	suite.Evidence("one worker", "-workers %d; a WORK of %d rounds (about %v here), and once the server had used %v of CPU on it, %d WORK of %d rounds (about %v each) from other clients; answers, since those were sent: %s",
		s.workers, long.rounds, longWork, cpu, shortCount, shorts[0].rounds, shortWork, strings.Join(times, ", "))
	for _, r := range results {
		if r.err != nil {
			s.alive("it had WORK to do")
			hint := ""
			if errors.Is(r.err, errNoAnswer) {
				hint = " Each answer must go out as soon as its worker has it, even when no other client sends anything: the worker wakes the loop (an eventfd or a pipe in its epoll instance), and the loop hands the next queued WORK to the free worker (Task 3)."
			}
			suite.Failf("With -workers 1, a long WORK under way and %d short ones queued behind it, %s got %s.%s", shortCount, r.who, describeAnswer(r.answer, r.err), hint)
		}
	}
	var early []string
	for _, r := range results[1:] {
		if results[0].at-r.at > orderSlack {
			early = append(early, fmt.Sprintf("%s %v before it", r.who, lab.Round(results[0].at-r.at)))
		}
	}
	if len(early) > 0 {
		suite.Failf("With -workers 1, short WORK sent while the server hashed a long one was answered well before the long one (%s): two WORK ran at once, so the pool is not one worker. Run WORK on exactly -workers goroutines that take jobs from one queue, not a goroutine per request or per connection, and not a pool sized by the number of cores (Task 3).", strings.Join(early, ", "))
	}
}

// The slow reader: a client asks for the largest BLOB and never reads it.
const (
	slowBlob    = 64 << 20
	slowPingers = 5
	slowPings   = 20
	slowP99     = 100 * time.Millisecond
	// filled is how much of the BLOB must at least sit in the kernel's
	// buffers (the reader's receive queue and the server's send queue)
	// before the other clients PING.
	filled = 256 << 10
	// steadyLooks is how many looks at the kernel's socket table in a row
	// must find the same bytes queued before the buffers count as full.
	steadyLooks = 25
)

var _ = Describe("The epoll model with a slow reader", Label(CaseLabel), func() {
	It("keeps serving the other clients while one does not read its BLOB", Label("arch.slow-reader"), func(ctx SpecContext) {
		s := startServer(ctx, "slow", epoll, 2)
		reader := dialOrFail(s, "the slow reader")
		defer reader.close()
		if err := reader.send(fmt.Sprintf("BLOB %d", slowBlob)); err != nil {
			suite.Failf("could not send BLOB %d: %v", slowBlob, err)
		}
		local := netip.MustParseAddrPort(reader.c.LocalAddr().String())
		// The buffers are full when what sits in them stops growing: from
		// then on a write of the BLOB cannot go through, and a loop that
		// waits for it (a blocking socket, a retry on EAGAIN) waits forever.
		var queued, last uint32
		steady := 0
		err := lab.Await(ctx, lab.Scaled(5*time.Second), func() (bool, error) {
			socks, err := lab.Connections(s.port)
			if err != nil {
				return false, err
			}
			queued = 0
			for _, so := range socks {
				switch {
				case so.Local == local:
					queued += so.RecvQ
				case so.Remote == local:
					queued += so.SendQ
				}
			}
			if queued == last {
				steady++
			} else {
				steady = 0
			}
			last = queued
			return queued >= filled && steady >= steadyLooks, nil
		})
		suite.Evidence("slow reader", "asked BLOB %d and read nothing: %d bytes of it in the kernel's buffers", slowBlob, queued)
		if err != nil {
			s.alive("a client asked for a BLOB")
			suite.Failf("A client asked for BLOB %d and did not read; within %v the server neither filled the connection's buffers nor stopped writing to them (%d bytes queued): write the BLOB as the socket takes it.", slowBlob, lab.Scaled(5*time.Second), queued)
		}
		var rtts lab.Latencies
		for i := range slowPingers {
			c := dialOrFail(s, fmt.Sprintf("client %d while the slow reader reads nothing", i+1))
			defer c.close()
			for range slowPings {
				rtt, err := c.ping(lab.Scaled(time.Second))
				if err != nil {
					s.alive("a slow reader held its BLOB")
					suite.Failf("While one client did not read its BLOB %d, another client's PING got %v. A write the socket cannot take must not block the loop: write what it takes, keep the rest for this connection and ask epoll for EPOLLOUT; serve the other clients meanwhile (Task 3).", slowBlob, err)
				}
				rtts = append(rtts, rtt)
			}
		}
		suite.Evidence("PINGs of the others", "%s", rtts.Summary())
		if p99 := rtts.Percentile(99); p99 > slowP99 {
			suite.Failf("While one client did not read its BLOB, the others' PINGs took %v at the 99th percentile (limit %v; %s).", lab.Round(p99), slowP99, rtts.Summary())
		}
	})
})
