package holquic

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
)

func TestMeasureStalls(t *testing.T) {
	if os.Getenv("HOL_MEASURE") == "" || noNetns != "" {
		t.Skip("HOL_MEASURE unset or no netns")
	}
	bin := t.TempDir()
	out, err := exec.Command("go", "build", "-o", bin+"/", "../../../fixtures/04-hol-quic/reference/server").CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	cert, err := newCertificate()
	if err != nil {
		t.Fatal(err)
	}
	runs := 5
	for _, proto := range strings.Split(os.Getenv("HOL_MEASURE"), ",") {
		for run := range runs {
			w, err := lab.NewWire(lab.WireOptions{MTU: wireMTU})
			if err != nil {
				t.Fatal(err)
			}
			w.SetDelay(lab.ToServer, oneWay, 0, 1)
			w.SetDelay(lab.ToClient, oneWay, 0, 1)
			port := uint16(20000 + run)
			p, err := w.Server.Start(filepath.Join(bin, "server"), "-addr", netip.AddrPortFrom(lab.ServerAddr, port).String(), "-cert", cert.certFile, "-key", cert.keyFile)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := p.AwaitServing(ctx, port, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := p.AwaitBound(ctx, port, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			c := newGraderClient(proto, cert.client)
			plan := fetchPlan{proto: proto, server: netip.AddrPortFrom(lab.ServerAddr, port), streams: 4, chunks: 40, size: chunkSize, interval: interval, stagger: stagger}
			var once sync.Once
			m := lab.Match{Proto: lab.ProtoTCP, SrcPort: port, MinPayload: 600, AfterHandshake: true}
			if proto == h3 {
				m.Proto = lab.ProtoUDP
			}
			res := c.fetch(ctx, plan, func(a arrival) {
				if a.stream == run%4 && a.index == 15 {
					once.Do(func() { w.Add(lab.ToClient, lab.DropNth(m, 1)) })
				}
			})
			c.close()
			var line []string
			for _, r := range res {
				if r.err != nil {
					t.Errorf("%s: %v", proto, r.err)
					continue
				}
				extra := ""
				if st := r.longestStall(interval); st > 25*time.Millisecond && len(w.PacketEvents()) > 0 {
					at := w.Started().Add(w.PacketEvents()[0].At)
					for i := 1; i < len(r.arrivals); i++ {
						if r.arrivals[i].arrived.Sub(r.arrivals[i-1].arrived)-interval == st {
							extra = fmt.Sprintf(" [gap before #%d, stamped %s before the drop]", i, ms(at.Sub(r.arrivals[i].sent)))
						}
					}
				}
				line = append(line, fmt.Sprintf("s%d %s %s%s", r.id, r.proto, ms(r.longestStall(interval)), extra))
			}
			ev := w.PacketEvents()
			dropped := "none"
			if len(ev) > 0 {
				at := w.Started().Add(ev[0].At)
				// the chunk stamped closest before the drop
				best := time.Hour
				for _, r := range res {
					for _, a := range r.arrivals {
						if d := at.Sub(a.sent); d >= 0 && d < best {
							best, dropped = d, fmt.Sprintf("s%d#%d (%s before)", a.stream, a.index, ms(d))
						}
					}
				}
			}
			t.Logf("%s run %d: dropped %s | %s | events %d", proto, run, dropped, strings.Join(line, ", "), len(ev))
			cancel()
			p.Stop(time.Second)
			w.Close()
		}
	}
}
