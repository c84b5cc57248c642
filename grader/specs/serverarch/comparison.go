package serverarch

import (
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// The side-by-side measurement: the three models under the case study's two
// workloads. The process model holds 100 idle clients, not 1,000: a Go
// process per connection costs megabytes each (that is the point, and 100
// show it).
const (
	compareIdle        = 1000
	compareIdleProcess = 100
	compareHeavy       = 100
	compareEach        = 3
	compareWorkers     = 2
	compareWindow      = time.Second // CPU time of the idle clients' server
	compareWork        = 10 * time.Millisecond
)

// measurement is one model's line of a workload's table.
type measurement struct {
	model    string
	clients  int
	stats    lab.TreeStats // threads, processes and RSS: the largest seen
	cpu      time.Duration
	pings    lab.Latencies
	workRate float64 // WORK answers per second (the CPU-heavy workload)
}

// architectures name the models as the artifact's rows do.
var architectures = map[string]string{
	process: "process per connection",
	thread:  "thread per connection",
	epoll:   "epoll event loop + workers",
}

var _ = Describe("The three models side by side", Label(CaseLabel), func() {
	It("serve 1,000 idle clients and 100 CPU-heavy clients", Label("arch.comparison"), func(ctx SpecContext) {
		var idle, heavy []measurement
		DeferCleanup(func() { suite.Evidence("measured", "%s", comparisonTables(idle, heavy)) })
		for _, model := range []string{process, thread, epoll} {
			idle = append(idle, measureIdle(ctx, model))
		}
		rounds := roundsFor(compareWork)
		for _, model := range []string{process, thread, epoll} {
			heavy = append(heavy, measureHeavy(ctx, model, rounds))
		}
	})
})

// measureIdle connects the model's idle clients, PINGs each once, and
// measures the server at rest.
func measureIdle(ctx SpecContext, model string) measurement {
	m := measurement{model: model, clients: compareIdle}
	if model == process {
		m.clients = compareIdleProcess
	}
	s := startServer(ctx, "compare/idle/"+model, model, compareWorkers)
	defer s.Stop(lab.Scaled(2 * time.Second))
	f := connectAndPing(s, m.clients, "The comparison holds each model to the idle workload it measures (Tasks 2, 4, 5).")
	defer f.close()
	s.AwaitQuiet(ctx, lab.Scaled(time.Second))
	var err error
	m.stats, m.cpu, err = s.CPUOver(ctx, compareWindow)
	must(err)
	m.pings, err = f.pingSample("compare/idle/"+model+"/sample", sampleSize, lab.Scaled(pingTimeout))
	if err != nil {
		s.alive("idle clients were PINGed")
		suite.Failf("%s and %d idle clients, a PING failed: %v.", modelTitle(s), m.clients, err)
	}
	return m
}

// measureHeavy runs the CPU-heavy workload against the model, watching its
// threads, processes and memory meanwhile.
func measureHeavy(ctx SpecContext, model string, rounds int) measurement {
	m := measurement{model: model, clients: compareHeavy}
	s := startServer(ctx, "compare/heavy/"+model, model, compareWorkers)
	defer s.Stop(lab.Scaled(2 * time.Second))
	load := newWorkLoad("compare/heavy", compareHeavy, rounds, compareEach)
	before, err := s.TreeStats()
	must(err)
	peak := watchPeak(s)
	// A probe may wait long here (100 threads or processes hashing share
	// the cores with it): only a server that stopped answering fails.
	res := load.run(s.addr, lab.Scaled(30*time.Second), lab.Scaled(30*time.Second))
	m.stats = peak()
	after, err := s.TreeStats()
	must(err)
	m.cpu, m.pings = after.CPU-before.CPU, res.pings
	m.workRate = float64(res.answered) / res.elapsed.Seconds()
	s.alive("clients sent WORK")
	if res.pingErr != nil {
		suite.Failf("%s and %d clients sending WORK, the probe's PING failed: %v.", modelTitle(s), compareHeavy, res.pingErr)
	}
	if len(res.wrong) > 0 {
		suite.Failf("%s and %d clients sending WORK, %d answers were wrong or missing, e.g. %s.", modelTitle(s), compareHeavy, len(res.wrong), strings.Join(res.wrong[:min(3, len(res.wrong))], "; "))
	}
	return m
}

// watchPeak samples the server's process tree every 50 ms until the
// returned function is called, which returns the largest threads, processes
// and RSS seen.
func watchPeak(s *server) func() lab.TreeStats {
	var (
		mu   sync.Mutex
		peak lab.TreeStats
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if st, err := s.TreeStats(); err == nil {
				mu.Lock()
				peak.Threads = max(peak.Threads, st.Threads)
				peak.Processes = max(peak.Processes, st.Processes)
				peak.RSS = max(peak.RSS, st.RSS)
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() lab.TreeStats {
		close(stop)
		<-done
		return peak
	}
}

// comparisonTables renders the two workloads' tables as the artifact has them.
func comparisonTables(idle, heavy []measurement) string {
	if len(idle) == 0 {
		return "no measurement: the check stopped before the first model"
	}
	var b strings.Builder
	header := "| Architecture | Clients | Threads | Processes | RSS (MiB) | CPU seconds | PING p50 (ms) | PING p99 (ms) |"
	fmt.Fprintf(&b, "Your server, -workers %d, on this machine. The process model holds %d idle clients, not %d (a process per connection costs megabytes each; %d show it).\n\n",
		compareWorkers, compareIdleProcess, compareIdle, compareIdleProcess)
	fmt.Fprintf(&b, "## 1,000 idle clients\n\nEach client PINGed once, then silent; CPU seconds over %v of silence; PINGs on %d of the clients.\n\n", compareWindow, sampleSize)
	b.WriteString(header + "\n|---|---|---|---|---|---|---|---|\n")
	for _, m := range idle {
		b.WriteString(m.row(false) + "\n")
	}
	if len(heavy) > 0 {
		fmt.Fprintf(&b, "\n## 100 CPU-heavy clients\n\nEach client sends %d WORK of about %v back to back; a probe PINGs every 10 ms; threads, processes and RSS at their largest, CPU seconds over the whole run.\n\n", compareEach, compareWork)
		b.WriteString(strings.TrimSuffix(header, "|") + "| WORK per second |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, m := range heavy {
			b.WriteString(m.row(true) + "\n")
		}
	}
	return b.String()
}

func (m measurement) row(withWork bool) string {
	row := fmt.Sprintf("| %s | %d | %d | %d | %.1f | %.2f | %s | %s |", architectures[m.model], m.clients,
		m.stats.Threads, m.stats.Processes, float64(m.stats.RSS)/(1<<20), m.cpu.Seconds(),
		msFigure(m.pings.Percentile(50)), msFigure(m.pings.Percentile(99)))
	if withWork {
		row += fmt.Sprintf(" %.0f |", m.workRate)
	}
	return row
}

// msFigure renders a latency in milliseconds with one decimal.
func msFigure(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
