package holquic

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Protocols the case compares.
const (
	h1 = "h1" // HTTP/1.1: a connection per stream
	h2 = "h2" // cleartext HTTP/2 with prior knowledge: one TCP connection
	h3 = "h3" // HTTP/3: one QUIC connection
)

// protoNames are what the brief and the feedback call them.
var protoNames = map[string]string{h1: "HTTP/1.1", h2: "HTTP/2", h3: "HTTP/3"}

// fetchPlan is what the grader's client asks a server for.
type fetchPlan struct {
	proto    string
	server   netip.AddrPort
	streams  int
	chunks   int
	size     int
	interval time.Duration
	stagger  time.Duration // between the starts of two streams
}

func (p fetchPlan) url(id int) string {
	scheme := "http"
	if p.proto == h3 {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s/stream/%d?chunks=%d&size=%d&interval=%s", scheme, p.server, id, p.chunks, p.size, p.interval)
}

// arrival is one chunk as the grader's client read it.
type arrival struct {
	stamp
	arrived time.Time // when its last byte was read
}

// streamResult is one stream as the grader's client received it.
type streamResult struct {
	id        int
	requested time.Time // just before the request went out
	proto     string    // the response's protocol, as the transport saw it (HTTP/2.0)
	status    int
	arrivals  []arrival
	err       error // the first thing wrong with it, in the student's terms
}

// longestStall is the longest gap between two arrivals beyond the interval
// (zero when every gap is at most the interval).
func (s streamResult) longestStall(interval time.Duration) time.Duration {
	var longest time.Duration
	for i := 1; i < len(s.arrivals); i++ {
		longest = max(longest, s.arrivals[i].arrived.Sub(s.arrivals[i-1].arrived)-interval)
	}
	return longest
}

// graderClient fetches streams over one protocol, each read by a goroutine
// of its own, every chunk timed as it arrives.
type graderClient struct {
	http  *http.Client
	close func()
}

// newGraderClient builds a client for proto: HTTP/1.1 only (a connection per
// concurrent stream), cleartext HTTP/2 only (one connection), or HTTP/3
// trusting tlsConf's roots, with path-MTU discovery off (its probes are the
// wire's business, not this client's).
func newGraderClient(proto string, tlsConf *tls.Config) *graderClient {
	switch proto {
	case h3:
		t := &http3.Transport{TLSClientConfig: tlsConf.Clone(), QUICConfig: &quic.Config{DisablePathMTUDiscovery: true}}
		return &graderClient{http: &http.Client{Transport: t}, close: func() { t.Close() }}
	default:
		var protocols http.Protocols
		protocols.SetHTTP1(proto == h1)
		protocols.SetUnencryptedHTTP2(proto == h2)
		t := &http.Transport{Protocols: &protocols}
		return &graderClient{http: &http.Client{Transport: t}, close: t.CloseIdleConnections}
	}
}

// fetch opens plan.streams streams, stream i after i staggers, and reads them
// all to their end. onChunk, when not nil, sees every chunk as it arrives (a
// spec arms a drop there); it must not block.
//
// A short stream goes first, alone: it opens the connection (HTTP/2, HTTP/3)
// whose handshake would otherwise hold every request back until it
// completes and release them together, undoing the stagger.
func (g *graderClient) fetch(ctx context.Context, plan fetchPlan, onChunk func(arrival)) []streamResult {
	results := make([]streamResult, plan.streams)
	warm := plan
	warm.streams, warm.chunks, warm.size = 1, 1, 64
	if r := g.fetchStream(ctx, warm, plan.streams, nil); r.err != nil {
		for i := range results {
			results[i] = streamResult{id: i, err: r.err}
		}
		return results
	}
	start := time.Now()
	var wg sync.WaitGroup
	for id := range plan.streams {
		wg.Go(func() {
			select {
			case <-time.After(time.Until(start.Add(time.Duration(id) * plan.stagger))):
			case <-ctx.Done():
			}
			results[id] = g.fetchStream(ctx, plan, id, onChunk)
		})
	}
	wg.Wait()
	return results
}

func (g *graderClient) fetchStream(ctx context.Context, plan fetchPlan, id int, onChunk func(arrival)) streamResult {
	r := streamResult{id: id, requested: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, plan.url(id), nil)
	if err != nil {
		r.err = err
		return r
	}
	resp, err := g.http.Do(req)
	if err != nil {
		r.err = fmt.Errorf("GET %s failed: %v", req.URL.RequestURI(), err)
		return r
	}
	defer resp.Body.Close()
	r.proto, r.status = resp.Proto, resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		r.err = fmt.Errorf("GET %s answered %s", req.URL.RequestURI(), resp.Status)
		return r
	}
	buf := make([]byte, plan.size)
	for i := range plan.chunks {
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			r.err = fmt.Errorf("stream %d ended after %d of its %d chunks (%d bytes each): %v", id, i, plan.chunks, plan.size, err)
			return r
		}
		a := arrival{arrived: time.Now()}
		if a.stamp, err = parseChunk(buf); err != nil {
			r.err = fmt.Errorf("stream %d, chunk %d: %v", id, i, err)
			return r
		}
		if a.stream != id || a.index != i {
			r.err = fmt.Errorf("stream %d's chunk %d is stamped stream=%d chunk=%d", id, i, a.stream, a.index)
			return r
		}
		r.arrivals = append(r.arrivals, a)
		if onChunk != nil {
			onChunk(a)
		}
	}
	if n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); n > 0 {
		r.err = fmt.Errorf("stream %d held %d bytes after its %d chunks", id, n, plan.chunks)
	}
	return r
}
