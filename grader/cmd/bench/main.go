// Command bench prints the grader's figures: wall time to grade each case of
// the catalog (its reference and its skeleton), the peak memory of the
// grader, what the load generator achieves inside a sandbox namespace
// (connects per second, open-loop rate accuracy), what holding case 05's
// 1,200 idle clients costs the grader (descriptors, heap, RSS), and the
// wire's figures. Targets live here, not in timed unit tests.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/grader/engine"
	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/release"
	"github.com/wirelab/wirelab/grader/sandbox"
	"github.com/wirelab/wirelab/grader/specs/backlog"
)

// Child modes: the bench binary re-executed inside a sandbox namespace.
const (
	childArg     = "__bench-load"
	wireChildArg = "__bench-wire"
)

// The main goroutine keeps the main thread, so that no goroutine that enters
// a namespace (the wire's server side) lands on it.
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) == 2 && os.Args[1] == childArg {
		os.Exit(loadChild())
	}
	if len(os.Args) == 2 && os.Args[1] == wireChildArg {
		if err := sandbox.Enter(nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(wireChild())
		os.Exit(0)
	}
	runs := flag.Int("runs", 3, "gradings per fixture (the median is printed)")
	only := flag.String("only", "", "measure one part only: grading, load or wire")
	flag.StringVar(&benchCase, "case", "", "grade only this case `SLUG` (default: every case in the catalog)")
	flag.Parse()
	if benchCase != "" && !slices.Contains(engine.Slugs(), benchCase) {
		fmt.Fprintf(os.Stderr, "bench: -case %q: want one of %v\n", benchCase, engine.Slugs())
		os.Exit(2)
	}
	parts := []func(int) error{benchGrading, benchLoad, benchWire}
	switch *only {
	case "":
	case "grading":
		parts = parts[:1]
	case "load":
		parts = parts[1:2]
	case "wire":
		parts = parts[2:]
	default:
		fmt.Fprintf(os.Stderr, "bench: -only %q: want grading, load or wire\n", *only)
		os.Exit(2)
	}
	for _, part := range parts {
		if err := part(*runs); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

// benchCase, when set, is the one case benchGrading grades.
var benchCase string

// benchGrading grades the reference and the skeleton of every case (or of
// benchCase) runs times each.
func benchGrading(runs int) error {
	grade := filepath.Join(os.TempDir(), fmt.Sprintf("wirelab-bench-grade-%d", os.Getpid()))
	defer os.Remove(grade)
	if err := release.BuildGrade(context.Background(), ".", grade, nil); err != nil {
		return err
	}
	for _, slug := range engine.Slugs() {
		if benchCase != "" && slug != benchCase {
			continue
		}
		fmt.Printf("grading case %s (median of %d runs)\n", slug, runs)
		for _, target := range []struct{ name, from string }{
			{"reference", filepath.Join("fixtures", slug, "reference")},
			{"skeleton", ""},
		} {
			var walls []time.Duration
			var peak int64
			for i := 0; i < runs; i++ {
				args := []string{"--case", slug, "--quiet", "--seed", fmt.Sprint(i + 1)}
				if target.from != "" {
					args = append(args, "--from", target.from)
				}
				cmd := exec.Command(grade, append(args, ".")...)
				start := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("grade %s %s: %v\n%s", slug, target.name, err, out)
				}
				walls = append(walls, time.Since(start))
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peak = max(peak, ru.Maxrss)
				}
			}
			slices.Sort(walls)
			fmt.Printf("  %-10s wall %v (min %v, max %v); grade process peak RSS %.1f MiB\n", target.name,
				walls[len(walls)/2].Round(10*time.Millisecond), walls[0].Round(10*time.Millisecond),
				walls[len(walls)-1].Round(10*time.Millisecond), float64(peak)/1024)
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err == nil {
		fmt.Printf("  largest descendant's peak RSS (sandbox child, student servers, go build): %.1f MiB\n", float64(ru.Maxrss)/1024)
	}
	return nil
}

// benchLoad measures the load generator in a sandbox namespace.
func benchLoad(int) error {
	var f loadFigures
	if err := measureInSandbox(childArg, &f); err != nil {
		return fmt.Errorf("load generator in a namespace: %v", err)
	}
	fmt.Println("load generator inside a sandbox namespace (loopback, in-process accepting server)")
	fmt.Printf("  connects: %d in %v = %.0f connects/s (%d concurrent dialers)\n", f.Connects, f.ConnectTime.Round(time.Millisecond), float64(f.Connects)/f.ConnectTime.Seconds(), f.Dialers)
	fmt.Printf("  holding %d idle clients (case 05's scene; each a connection and a read buffer): opened in %v, %+d open fds, %+.1f MiB of Go heap, %+.1f MiB RSS (buffers not yet read into are not resident)\n",
		f.Idle.Clients, f.Idle.OpenTime.Round(time.Millisecond), f.Idle.FDs, float64(f.Idle.Heap)/(1<<20), float64(f.Idle.RSS)/(1<<20))
	for _, r := range f.Rates {
		fmt.Printf("  open loop at %4.0f/s: achieved %6.1f/s over %d arrivals (%.1f%% of the asked rate)\n", r.Asked, r.Achieved, r.N, 100*r.Achieved/r.Asked)
	}
	return nil
}

// measureInSandbox runs this program with arg in a sandbox namespace and
// decodes the figures it prints as JSON into figures.
func measureInSandbox(arg string, figures any) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := sandbox.Command(sandbox.CurrentMode(), self, arg)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return err
	}
	return json.Unmarshal(out, figures)
}

// benchWire measures the wire against a veth pair in a sandbox namespace.
func benchWire(int) error {
	var wf wireFigures
	if err := measureInSandbox(wireChildArg, &wf); err != nil {
		return fmt.Errorf("wire figures in a namespace: %v", err)
	}
	printWire(wf)
	return nil
}

type rateFigure struct {
	Asked, Achieved float64
	N               int
}

type loadFigures struct {
	Connects    int
	Dialers     int
	ConnectTime time.Duration
	Rates       []rateFigure
	Idle        idleFigures
}

// idleFigures are the grader's own cost of holding case 05's idle clients.
type idleFigures struct {
	Clients  int
	OpenTime time.Duration
	FDs      int   // more open descriptors than before
	RSS      int64 // bytes more resident memory than before
	Heap     int64 // bytes more of Go heap in use than before (after a GC)
}

// loadChild runs inside the sandbox: an accept-and-close server on loopback,
// then dialers as fast as they go, then open-loop arrivals at fixed rates.
func loadChild() int {
	if err := sandbox.Enter(backlog.Sysctls); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	const dialers, perDialer = 8, 2000
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for d := 0; d < dialers; d++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perDialer; i++ {
				c, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					failed.Add(1)
					continue
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	f := loadFigures{Connects: dialers*perDialer - int(failed.Load()), Dialers: dialers, ConnectTime: time.Since(start)}
	for _, rate := range []float64{150, 200, 1000} {
		n := int(rate * 2)
		start := time.Now()
		var last atomic.Int64 // when the last arrival started
		lab.OpenLoop(context.Background(), n, rate, func(i int) {
			if i == n-1 {
				last.Store(int64(time.Since(start)))
			}
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err == nil {
				c.Close()
			}
		})
		// n arrivals span n-1 intervals.
		elapsed := time.Duration(last.Load())
		f.Rates = append(f.Rates, rateFigure{Asked: rate, Achieved: float64(n-1) / elapsed.Seconds(), N: n})
	}
	idle, err := holdIdleClients(1200)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	f.Idle = idle
	json.NewEncoder(os.Stdout).Encode(f)
	return 0
}

// holdIdleClients connects n clients to a listener that never accepts (the
// kernel completes their handshakes into its accept queue, so only the
// clients' ends are this process's) and measures what holding them costs
// this process: one descriptor each, and the read buffer case 05's specs
// keep per client (grader/specs/serverarch, conn).
func holdIdleClients(n int) (idleFigures, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return idleFigures{}, err
	}
	defer ln.Close()
	var heapBefore, heapAfter runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&heapBefore)
	before, err := lab.StatsOf(os.Getpid())
	if err != nil {
		return idleFigures{}, err
	}
	type client struct {
		c net.Conn
		r *bufio.Reader
	}
	clients := make([]client, 0, n)
	start := time.Now()
	for range n {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
		if err != nil {
			return idleFigures{}, fmt.Errorf("idle client %d of %d: %w", len(clients)+1, n, err)
		}
		clients = append(clients, client{c, bufio.NewReader(c)})
	}
	f := idleFigures{Clients: n, OpenTime: time.Since(start)}
	runtime.GC()
	runtime.ReadMemStats(&heapAfter)
	after, err := lab.StatsOf(os.Getpid())
	if err != nil {
		return idleFigures{}, err
	}
	f.FDs, f.RSS = after.OpenFDs-before.OpenFDs, after.RSS-before.RSS
	f.Heap = int64(heapAfter.HeapAlloc) - int64(heapBefore.HeapAlloc)
	for _, c := range clients {
		c.c.Close()
	}
	return f, nil
}
