package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
)

// wireFigures are what the wire costs, measured against a veth pair between
// the same two namespaces in the same run.
type wireFigures struct {
	Throughput []throughputFigure
	Added      latencyFigure // added one-way latency of the wire without impairments
	Delay20    latencyFigure // RTT with 20 ms each way, minus the 40 ms asked for
	Error      string
}

type throughputFigure struct {
	MTU        int
	Wire, Veth []float64 // bytes per second, one per round
}

// throughputRounds alternates the wire and veth this many times: the two
// share the machine with whatever else runs, so one round of each is noisy
// (veth alone varied from 2.2 to 3.7 GB/s between runs on an idle machine).
const throughputRounds = 5

type latencyFigure struct{ P50, P99 time.Duration }

// wireChild runs inside the sandbox and measures the wire.
func wireChild() (f wireFigures) {
	for _, mtu := range []int{1500, 9000} {
		w, err := lab.NewWire(lab.WireOptions{MTU: mtu, CaptureLimit: 1 << 20})
		if err != nil {
			f.Error = err.Error()
			return f
		}
		remove, err := w.AddVeth(mtu)
		if err != nil {
			w.Close()
			f.Error = err.Error()
			return f
		}
		t := throughputFigure{MTU: mtu}
		for range throughputRounds {
			var wire, veth float64
			if wire, err = throughput(w, lab.ServerAddr, time.Second); err != nil {
				break
			}
			if veth, err = throughput(w, lab.VethServerAddr, time.Second); err != nil {
				break
			}
			t.Wire, t.Veth = append(t.Wire, wire), append(t.Veth, veth)
		}
		if err == nil && mtu == 1500 {
			var wire, veth lab.Latencies
			if wire, err = pingPong(w, lab.ServerAddr, 3000); err == nil {
				veth, err = pingPong(w, lab.VethServerAddr, 3000)
			}
			f.Added = latencyFigure{(wire.Percentile(50) - veth.Percentile(50)) / 2, (wire.Percentile(99) - veth.Percentile(99)) / 2}
			w.SetDelay(lab.ToServer, 20*time.Millisecond, 0, 1)
			w.SetDelay(lab.ToClient, 20*time.Millisecond, 0, 1)
			var delayed lab.Latencies
			if delayed, err = pingPong(w, lab.ServerAddr, 100); err == nil {
				f.Delay20 = latencyFigure{delayed.Percentile(50) - 40*time.Millisecond, delayed.Percentile(99) - 40*time.Millisecond}
			}
		}
		remove()
		w.Close()
		if err != nil {
			f.Error = err.Error()
			return f
		}
		f.Throughput = append(f.Throughput, t)
	}
	return f
}

// throughput sends bulk TCP from the client side to a sink on the server side
// for d and returns the bytes per second the sink received.
func throughput(w *lab.Wire, addr netip.Addr, d time.Duration) (float64, error) {
	var ln net.Listener
	if err := w.Server.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		return err
	}); err != nil {
		return 0, err
	}
	defer ln.Close()
	received := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- 0
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		received <- n
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	for time.Since(start) < d {
		if _, err := c.Write(buf); err != nil {
			c.Close()
			return 0, err
		}
	}
	c.Close()
	n := <-received
	return float64(n) / time.Since(start).Seconds(), nil
}

// pingPong measures n UDP round trips to an echo on the server side.
func pingPong(w *lab.Wire, addr netip.Addr, n int) (lab.Latencies, error) {
	var pc net.PacketConn
	if err := w.Server.Do(func() (err error) {
		pc, err = net.ListenPacket("udp", netip.AddrPortFrom(addr, 0).String())
		return err
	}); err != nil {
		return nil, err
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:k], from)
		}
	}()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	msg, buf := make([]byte, 16), make([]byte, 64)
	var rtts lab.Latencies
	for i := 0; i < n; i++ {
		start := time.Now()
		c.SetDeadline(start.Add(2 * time.Second))
		if _, err := c.Write(msg); err != nil {
			return nil, err
		}
		if _, err := c.Read(buf); err != nil {
			return nil, fmt.Errorf("round trip %d: %w", i, err)
		}
		rtts = append(rtts, time.Since(start))
	}
	return rtts, nil
}

func printWire(f wireFigures) {
	fmt.Println("the wire (TUN + forwarder) against a veth pair between the same two namespaces")
	if f.Error != "" {
		fmt.Fprintln(os.Stdout, "  not measured:", f.Error)
		return
	}
	for _, t := range f.Throughput {
		wire, veth := median(t.Wire), median(t.Veth)
		ratios := make([]float64, len(t.Wire))
		for i := range t.Wire {
			ratios[i] = t.Wire[i] / t.Veth[i]
		}
		fmt.Printf("  throughput at MTU %d (median of %d alternating 1 s rounds): wire %.0f MB/s, veth %.0f MB/s: %.0f%% of veth (rounds %.0f%%–%.0f%%)\n",
			t.MTU, len(t.Wire), wire/1e6, veth/1e6, 100*wire/veth, 100*slices.Min(ratios), 100*slices.Max(ratios))
	}
	fmt.Printf("  added one-way latency, no impairments: p50 %v, p99 %v\n", f.Added.P50.Round(time.Microsecond), f.Added.P99.Round(time.Microsecond))
	fmt.Printf("  20 ms each way: RTT minus 40 ms: p50 %+v, p99 %+v\n", f.Delay20.P50.Round(time.Microsecond), f.Delay20.P99.Round(time.Microsecond))
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
