package backlog

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// serverSide finds the server's socket of the connection whose client end is
// at client (the client's local address).
func serverSide(port uint16, client net.Addr) (lab.Socket, bool) {
	want, err := netip.ParseAddrPort(client.String())
	if err != nil {
		return lab.Socket{}, false
	}
	conns, err := lab.Connections(port)
	if err != nil {
		Fail(err.Error())
	}
	for _, c := range conns {
		if c.Remote == want {
			return c, true
		}
	}
	return lab.Socket{}, false
}

// requestRead reports whether the server has accepted the connection and read
// its request: its socket is off the accept queue and holds no unread bytes.
func (s *server) requestRead(client net.Addr) bool {
	c, found := serverSide(s.port, client)
	return found && c.State == lab.Established && c.RecvQ == 0 && s.listener().RecvQ == 0
}

var _ = Describe("01-backlog: the waiting room", Label(CaseLabel, suite.NeedsSysctls), func() {
	// The bound as a count, not only as a latency: clients arrive one at a
	// time, each taken off the accept queue before the next connects, so the
	// order of arrival is the order of service. Exactly -workers are worked on
	// at once (the first round of OKs), exactly -queue wait, and every client
	// beyond gets BUSY at once. The work is long (700 ms) so that nothing
	// finishes while the clients arrive (27 ms for 10 clients, measured), and
	// the rounds are far apart; the queue is shorter than the pool, so that
	// every waiting client is picked up within the 1 s read deadline, whichever
	// way it is counted (that is the read-deadline check's business).
	It("works on exactly -workers requests at once, keeps at most -queue waiting and sheds the rest at once", Label("backlog.sheds-load"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		r := suite.Rand("waiting-room")
		workers := 3 + 2*r.IntN(2)     // 3 or 5: not a usual core count, so a pool of runtime.NumCPU() shows
		queue := 2 + r.IntN(workers-2) // 2 to workers-1: never equal to -workers, so the two flags cannot be swapped unseen
		const extra = 3                // arrive when the waiting room is full
		work := 700 * time.Millisecond
		cfg := config{backlog: 128, workers: workers, queue: queue, work: work}
		s := startServer(ctx, "waiting-room", cfg)
		n := workers + queue + extra
		requests := ids(suite.Rand("waiting-room/ids"), n)
		rounds := (queue+workers-1)/workers + 1
		wait := time.Duration(rounds)*work + lab.Scaled(2*time.Second)

		transcripts := make([]transcript, n)
		sentAt := make([]time.Time, n)
		var wg sync.WaitGroup
		start := time.Now()
		var notSettled []string
		for i := range n {
			conn, err := net.DialTimeout("tcp", s.addr, lab.Scaled(2*time.Second))
			if err != nil {
				suite.Failf("client %d of %d could not connect: %s", i+1, n, classify(err, connectTimeout))
			}
			defer conn.Close()
			sentAt[i] = time.Now()
			conn.Write([]byte(reqLine(requests[i])))
			wg.Add(1)
			go func() {
				defer wg.Done()
				transcripts[i] = readToEnd(conn, sentAt[i], start.Add(wait))
			}()
			// Observed: accepted (and, for the first -workers, read by a
			// worker) before the next client connects.
			err = lab.Await(ctx, lab.Scaled(time.Second), func() (bool, error) {
				if i < workers {
					return s.requestRead(conn.LocalAddr()), nil
				}
				return s.listener().RecvQ == 0, nil
			})
			if err != nil {
				notSettled = append(notSettled, fmt.Sprintf("client %d", i+1))
			}
		}
		arrived := time.Since(start)
		wg.Wait()

		// When each OK came, from the first send; the first round is every OK
		// within half a work time of the first one (rounds are -work apart).
		var okAt []time.Duration
		for i, t := range transcripts {
			if t.says("OK " + requests[i]) {
				okAt = append(okAt, sentAt[i].Add(t.firstByte).Sub(start))
			}
		}
		firstWave := 0
		if len(okAt) > 0 {
			first := slices.Min(okAt)
			for _, at := range okAt {
				if at < first+work/2 {
					firstWave++
				}
			}
		}
		var okN, busyN int
		var busyLatency lab.Latencies
		var wrong []string
		for i, t := range transcripts {
			id := requests[i]
			switch {
			case t.says("OK " + id):
				okN++
			case t.says("BUSY " + id):
				busyN++
				busyLatency = append(busyLatency, t.firstByte)
			}
			want := "BUSY " + id
			if i < workers+queue {
				want = "OK " + id
			}
			if !t.says(want) {
				wrong = append(wrong, fmt.Sprintf("client %d sent %q and got %s; wanted %q", i+1, reqLine(id), t, want))
			}
		}
		suite.Evidence("arrivals", "%d clients one after another in %v, each taken off the accept queue before the next connected%s",
			n, lab.Round(arrived), notSettledNote(notSettled))
		suite.Evidence("replies", "OK %d (wanted %d = -workers + -queue), of which %d in the first round (wanted %d = -workers); BUSY %d (wanted %d), latency %s",
			okN, workers+queue, firstWave, workers, busyN, extra, busyLatency.Summary())

		if len(wrong) > 0 {
			suite.Failf("with %s, %d clients arrived one after another, each accepted before the next: the first %d should be worked on at once, the next %d wait, and the last %d get BUSY at once. %s. %s",
				cfg, n, workers, queue, extra, strings.Join(first(wrong, 3), "; "), waitingRoomDiagnosis(cfg, transcripts, requests))
		}
		if firstWave != workers {
			suite.Failf("with -workers %d and -work %v, %d requests were answered OK in the first round (within %v of the first OK; the next round comes one work time later): %d requests were worked on at once. Exactly -workers goroutines do the work (Task 2); the rest wait in the queue.",
				workers, work, firstWave, work/2, firstWave)
		}
		if bound := min(lab.Scaled(250*time.Millisecond), work*2/3); busyLatency.Max() > bound {
			suite.Failf("BUSY came %v after the request (slowest), above %v: shedding must answer at once, without doing the work or waiting for a worker (Task 3).",
				lab.Round(busyLatency.Max()), bound)
		}
	})
})

func notSettledNote(clients []string) string {
	if len(clients) == 0 {
		return ""
	}
	return fmt.Sprintf(" (except %s, which the server had not taken within 1 s)", strings.Join(clients, ", "))
}

// waitingRoomDiagnosis names the likely cause of a wrong count.
func waitingRoomDiagnosis(cfg config, ts []transcript, requests []string) string {
	var okN, busyN, silentClosed int
	for i, t := range ts {
		switch {
		case t.says("OK " + requests[i]):
			okN++
		case t.says("BUSY " + requests[i]):
			busyN++
		case len(t.data) == 0 && t.end != endOpen && i < cfg.workers+cfg.queue:
			silentClosed++
		}
	}
	switch {
	case busyN == 0 && okN == len(ts):
		return fmt.Sprintf("Every client was served and none was shed, though only %d (workers + queue) fit: the server took in more than it should, with a waiting room larger than -queue, or by waiting for room instead of answering BUSY at once (Task 3).", cfg.workers+cfg.queue)
	case silentClosed > 0:
		return fmt.Sprintf("%d waiting clients had sent their request at once, yet were closed without a reply when a worker picked them up, more than 1 s after they connected: is the read deadline set when the connection is accepted instead of when a worker picks it up (Task 4)?", silentClosed)
	case okN > cfg.workers+cfg.queue:
		return fmt.Sprintf("%d were served where at most %d (workers + queue) fit: the waiting room is larger than -queue, or more than -workers work at once (Tasks 2 and 3).", okN, cfg.workers+cfg.queue)
	case okN < cfg.workers+cfg.queue && busyN > 0:
		return fmt.Sprintf("only %d were served and %d shed: the server shed clients while the waiting room still had room. -queue connections may wait in addition to the -workers being worked on (Task 3).", okN, busyN)
	}
	return "At most -queue accepted connections wait for a free worker; beyond that, BUSY <id> at once (Task 3)."
}
