package serverarch

import (
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
// at 2 ms per WORK and seconds at 20 ms. The limit sits between. A WORK
// longer than the Go scheduler's 10 ms time slice is what makes a goroutine
// per WORK visible: each needs several turns, so all of them finish near the
// end; at 10 ms most finished in their first turn, one after another.
const (
	heavyClients = 100
	heavyWorkers = 1
	heavyWork    = 30 * time.Millisecond
	heavyEach    = 1
	heavyP99     = 200 * time.Millisecond
	// maxSpread bounds when the tenth of the answers may come, as a share
	// of the last: one worker answers one at a time (about 0.1); WORK
	// computed all at once answers everything near the end.
	maxSpread = 0.3
)

var _ = Describe("The epoll model with 100 CPU-heavy clients", Label(CaseLabel), func() {
	It("keeps answering PINGs while its workers hash, and runs at most -workers WORK at once", Label("arch.cpu-heavy"), func(ctx SpecContext) {
		s := startServer(ctx, "heavy", epoll, heavyWorkers)
		load := newWorkLoad("heavy", heavyClients, roundsFor(heavyWork), heavyEach)
		res := load.run(s.addr, lab.Scaled(30*time.Second), lab.Scaled(pingTimeout))
		suite.Evidence("workload", "%d clients × %d WORK of %d rounds (about %v each here), -workers %d: %d answered in %v",
			heavyClients, heavyEach, load.rounds, heavyWork, heavyWorkers, res.answered, lab.Round(res.elapsed))
		suite.Evidence("probe", "a PING every %v meanwhile: %s", load.probe, res.pings.Summary())
		suite.Evidence("first answers", "the 10th of the clients' first answers came at %.2f of the time the last came (one at a time: about 0.1)", res.spread())
		s.alive("its clients sent WORK")
		if res.pingErr != nil {
			suite.Failf("While %d clients sent WORK, the probe's PING failed: %v. The loop must stay free to answer PING while WORK runs on the workers (Task 3).", heavyClients, res.pingErr)
		}
		if len(res.wrong) > 0 {
			suite.Failf("%d WORK requests were not answered exactly, e.g. %s.", len(res.wrong), strings.Join(res.wrong[:min(3, len(res.wrong))], "; "))
		}
		if p99 := res.pings.Percentile(99); p99 > heavyP99 {
			suite.Failf("While %d clients sent WORK, PINGs took %v at the 99th percentile (limit %v; %s): the loop was busy hashing. Hand WORK to the pool of -workers goroutines and go back to epoll_wait; answer when a worker hands the result back (Task 3).", heavyClients, lab.Round(p99), heavyP99, res.pings.Summary())
		}
		if sp := res.spread(); sp > maxSpread {
			suite.Failf("With -workers %d, the clients' first WORK answers came in a clump: the tenth came at %.2f of the time of the last (one worker answers them one at a time: about 0.1). Every WORK ran at once: run WORK on exactly -workers goroutines that take jobs from a queue, not a goroutine per request (Task 3).", heavyWorkers, sp)
		}
	})
})

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
