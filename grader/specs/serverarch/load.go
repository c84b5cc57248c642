package serverarch

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
)

// workLoad is the CPU-heavy workload: clients that each send WORK and, once
// answered, the next one, while a probe connection PINGs at a steady pace.
type workLoad struct {
	clients int
	rounds  int
	each    int           // WORK requests per client
	probe   time.Duration // between two PINGs of the probe
	// stall, when set, ends the workload once no WORK has been answered for
	// that long (a server that serves one client at a time keeps the probe
	// and leaves every other client waiting out its timeout).
	stall   time.Duration
	jobs    []work // the distinct requests, cycled over (their answers are computed once)
	answers map[string]string
}

// newWorkLoad draws the workload's requests: distinct seeds per stream, the
// rounds given.
func newWorkLoad(stream string, clients, rounds, each int) *workLoad {
	l := &workLoad{clients: clients, rounds: rounds, each: each, probe: 10 * time.Millisecond, answers: map[string]string{}}
	for i := range 8 {
		w := work{rounds: rounds, seed: seedToken(fmt.Sprintf("%s/seed%d", stream, i), 12)}
		l.jobs = append(l.jobs, w)
		l.answers[w.request()] = w.answer()
	}
	return l
}

// loadResult is what the workload observed.
type loadResult struct {
	pings    lab.Latencies // the probe's round trips
	pingErr  error         // the probe's first missing or wrong answer
	answered int           // WORK answers, right or wrong
	wrong    []string      // wrong or missing answers, described
	elapsed  time.Duration
	stalled  bool // ended early: no WORK answered for the workload's stall
}

// run connects the clients, sends every client's first WORK at once, keeps
// each client busy until it has had its answers, and PINGs on the probe
// connection until the last answer. answerTimeout bounds one WORK's wait,
// probeTimeout one PING's; a PING unanswered ends the workload.
func (l *workLoad) run(addr string, answerTimeout, probeTimeout time.Duration) loadResult {
	var res loadResult
	// The probe is an established client, answered once, before the load
	// starts: what it measures is the latency of a served connection while
	// others work, not the cost of starting its own thread or process.
	probe, err := dial(addr)
	if err != nil {
		res.pingErr = fmt.Errorf("the probe could not connect: %w", err)
		return res
	}
	defer probe.close()
	if _, err := probe.ping(probeTimeout); err != nil {
		res.pingErr = fmt.Errorf("before the load: %w", err)
		return res
	}
	conns := make([]*conn, l.clients)
	for i := range conns {
		c, err := dial(addr)
		if err != nil {
			res.wrong = append(res.wrong, fmt.Sprintf("client %d could not connect: %v", i, err))
			continue
		}
		conns[i] = c
		defer c.close()
	}

	// abort ends the workload early: the probe went unanswered (a server
	// that serves one client at a time, or has stopped), so every client's
	// wait is cut short instead of running out its own timeout.
	var abortOnce sync.Once
	abort := func() {
		abortOnce.Do(func() {
			for _, c := range conns {
				if c != nil {
					c.close()
				}
			}
		})
	}
	var mu sync.Mutex
	done := make(chan struct{})
	var probeDone sync.WaitGroup
	probeDone.Add(1)
	go func() {
		defer probeDone.Done()
		tick := time.NewTicker(l.probe)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			rtt, err := probe.ping(probeTimeout)
			if err != nil {
				res.pingErr = err
				abort()
				return
			}
			res.pings = append(res.pings, rtt)
		}
	}()
	start := time.Now()
	var lastAnswer atomic.Int64 // when a WORK was last answered, in ns since start
	if l.stall > 0 {
		watchdog := time.NewTicker(l.stall / 20)
		defer watchdog.Stop()
		probeDone.Add(1) // waited for with the probe
		go func() {
			defer probeDone.Done()
			for {
				select {
				case <-done:
					return
				case <-watchdog.C:
				}
				if time.Since(start)-time.Duration(lastAnswer.Load()) > l.stall {
					mu.Lock()
					res.stalled = true
					mu.Unlock()
					abort()
					return
				}
			}
		}()
	}
	lab.All(l.clients, func(i int) {
		c := conns[i]
		if c == nil {
			return
		}
		for k := range l.each {
			w := l.jobs[(i+k)%len(l.jobs)]
			answer, _, err := c.ask(w.request(), answerTimeout)
			mu.Lock()
			if err == nil {
				res.answered++
				lastAnswer.Store(int64(time.Since(start)))
			}
			if err != nil || answer != l.answers[w.request()] {
				res.wrong = append(res.wrong, fmt.Sprintf("client %d asked %q: %s", i, w.request(), describeAnswer(answer, err)))
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	res.elapsed = time.Since(start)
	close(done)
	probeDone.Wait()
	return res
}
