package holquic

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"

	"github.com/wirelab/wirelab/grader/lab"
)

// graderServer is the grader's own server, on the wire's server side: HTTP/1.1
// and cleartext HTTP/2 on a TCP port, HTTP/3 on the UDP port of the same
// number, serving the brief's streams. It stamps every chunk itself and
// remembers when it sent it, which connection carried each request, and, for
// QUIC, which packets carried which stream's bytes and which were lost: what
// a client should have measured can then be worked out, not guessed.
//
// Stream i's schedule starts i staggers after its request arrived (the brief
// binds the student's server to "at once", not the grader's), so that
// streams a client opens together still send their chunks at different
// moments, and a packet carries one stream's chunk.
type graderServer struct {
	port    uint16
	stagger time.Duration

	tcp   *http.Server
	quic  *http3.Server
	conns atomic.Int64

	mu sync.Mutex
	// beforeChunk, when set, runs right before chunk index of stream id is
	// stamped and written (a spec arms a drop there, so that the dropped
	// packet is that chunk's); it must not block.
	beforeChunk func(id, index int)
	requests    []request
	sent        map[chunkKey]time.Time
	traces      []*quicTrace
}

// request is one stream request as the grader's server received it.
type request struct {
	id      int
	proto   string // HTTP/1.1, HTTP/2.0, HTTP/3.0
	conn    int64  // which connection carried it (numbered from 1)
	arrived time.Time
	// quicStream is the QUIC stream that carried it over HTTP/3 (-1 over
	// TCP): the traces name the stream whose bytes each packet carried.
	quicStream int64
}

type chunkKey struct{ stream, index int }

type connKey struct{}

// startGraderServer serves on the wire's server address at port until the
// spec ends.
func startGraderServer(w *lab.Wire, port uint16, cert *certificate, stagger time.Duration) (*graderServer, error) {
	g := &graderServer{port: port, stagger: stagger, sent: map[chunkKey]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream/{id}", g.serveStream)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	g.tcp = &http.Server{Handler: mux, Protocols: &protocols,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, g.conns.Add(1))
		}}
	g.quic = &http3.Server{Handler: mux, TLSConfig: http3.ConfigureTLSConfig(cert.server.Clone()),
		QUICConfig: &quic.Config{
			DisablePathMTUDiscovery: true,
			Tracer: func(context.Context, bool, quic.ConnectionID) qlogwriter.Trace {
				t := &quicTrace{}
				g.mu.Lock()
				g.traces = append(g.traces, t)
				g.mu.Unlock()
				return t
			},
		},
		ConnContext: func(ctx context.Context, _ *quic.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, g.conns.Add(1))
		}}
	addr := netip.AddrPortFrom(lab.ServerAddr, port).String()
	var ln net.Listener
	var pc net.PacketConn
	err := w.Server.Do(func() (err error) {
		if ln, err = net.Listen("tcp", addr); err != nil {
			return err
		}
		if pc, err = net.ListenPacket("udp", addr); err != nil {
			ln.Close()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("the grader's server: %w", err)
	}
	go g.tcp.Serve(ln)
	go g.quic.Serve(pc)
	return g, nil
}

func (g *graderServer) close() {
	g.tcp.Close()
	g.quic.Close()
}

// serveStream serves the brief's stream, on the grader's staggered schedule.
func (g *graderServer) serveStream(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	conn, _ := r.Context().Value(connKey{}).(int64)
	id, err := strconv.Atoi(r.PathValue("id"))
	q := r.URL.Query()
	chunks, err2 := strconv.Atoi(q.Get("chunks"))
	size, err3 := strconv.Atoi(q.Get("size"))
	interval, err4 := time.ParseDuration(q.Get("interval"))
	g.mu.Lock()
	quicStream := int64(-1)
	if b, ok := r.Body.(interface{ StreamID() quic.StreamID }); ok {
		quicStream = int64(b.StreamID())
	}
	g.requests = append(g.requests, request{id: id, proto: r.Proto, conn: conn, arrived: arrived, quicStream: quicStream})
	g.mu.Unlock()
	if err := errors.Join(err, err2, err3, err4); err != nil || chunks < 1 || size < minChunk || interval <= 0 {
		// The client's stream then fails, and its report says so.
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	start := arrived.Add(time.Duration(id) * g.stagger)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := range chunks {
		timer.Reset(time.Until(start.Add(time.Duration(i) * interval)))
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		}
		g.mu.Lock()
		before := g.beforeChunk
		g.mu.Unlock()
		if before != nil {
			before(id, i)
		}
		now := time.Now()
		// The send time is kept at its microseconds, as the stamp says.
		sent := time.UnixMicro(now.UnixMicro())
		if _, err := w.Write(makeChunk(stamp{stream: id, index: i, sent: sent}, size)); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		g.mu.Lock()
		g.sent[chunkKey{id, i}] = sent
		g.mu.Unlock()
	}
}

// minChunk is the smallest chunk the brief allows.
const minChunk = 64

// reset forgets what the server recorded, for the next client run, and
// sets (or, with nil, clears) what runs before each chunk.
func (g *graderServer) reset(beforeChunk func(id, index int)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.beforeChunk = beforeChunk
	g.requests, g.sent, g.traces = nil, map[chunkKey]time.Time{}, nil
}

// snapshot returns what the server recorded so far.
func (g *graderServer) snapshot() (reqs []request, sent map[chunkKey]time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	sent = make(map[chunkKey]time.Time, len(g.sent))
	for k, v := range g.sent {
		sent[k] = v
	}
	return append([]request(nil), g.requests...), sent
}

// quicTrace records, for one QUIC connection of the grader's server, every
// packet it sent with the stream bytes it carried, and the packets quic-go
// declared lost: a lost packet's bytes reach the client when the packet that
// sent them again arrives.
type quicTrace struct {
	mu   sync.Mutex
	sent []quicPacket
	lost map[qlog.PacketNumber]time.Time
}

// quicPacket is one packet sent: when, its number, its STREAM frames.
type quicPacket struct {
	at     time.Time
	number qlog.PacketNumber
	frames []qlog.StreamFrame
}

func (t *quicTrace) AddProducer() qlogwriter.Recorder { return t }
func (t *quicTrace) Close() error                     { return nil }

func (t *quicTrace) RecordEvent(ev qlogwriter.Event) {
	now := time.Now()
	switch e := ev.(type) {
	case qlog.PacketSent:
		p := quicPacket{at: now, number: e.Header.PacketNumber}
		for _, f := range e.Frames {
			if sf, ok := f.Frame.(*qlog.StreamFrame); ok {
				p.frames = append(p.frames, *sf)
			}
		}
		t.mu.Lock()
		t.sent = append(t.sent, p)
		t.mu.Unlock()
	case qlog.PacketLost:
		t.mu.Lock()
		if t.lost == nil {
			t.lost = map[qlog.PacketNumber]time.Time{}
		}
		t.lost[e.Header.PacketNumber] = now
		t.mu.Unlock()
	}
}

// lostStreamData returns the stream frames of the packets in dropped, each
// with when the bytes it carried were next sent again (zero if never).
func (t *quicTrace) lostStreamData(dropped map[packetRef]bool) []resend {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []resend
	for i, p := range t.sent {
		if !dropped[packetRef{t, p.number}] {
			continue
		}
		for _, f := range p.frames {
			r := resend{frame: f, sent: p.at}
			for _, later := range t.sent[i+1:] {
				if covers(later.frames, f) {
					r.again = later.at
					break
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// packetRef names one packet of one QUIC connection.
type packetRef struct {
	trace  *quicTrace
	number qlog.PacketNumber
}

// droppedByWire picks, among the packets quic-go declared lost, the ones the
// wire really dropped: for each drop, the declared-lost packet sent last
// before it, within 5 ms (a datagram crosses from the server's socket to the
// wire in microseconds). quic-go also declares lost a packet that only came
// late, its acknowledgement delayed on a busy machine (RFC 9002's time and
// packet thresholds); such a packet reached the client on its first flight,
// and its chunks were readable then. Seen once in CI: a packet of stream 2
// declared lost beside the one the wire dropped, which put a 61.7 ms stall on
// stream 2 that the client never had.
func droppedByWire(traces []*quicTrace, drops []time.Time) map[packetRef]bool {
	out := map[packetRef]bool{}
	for _, dropped := range drops {
		var best packetRef
		var bestAt time.Time
		for _, t := range traces {
			t.mu.Lock()
			for _, p := range t.sent {
				if _, lost := t.lost[p.number]; !lost {
					continue
				}
				if d := dropped.Sub(p.at); d >= 0 && d < 5*time.Millisecond && p.at.After(bestAt) {
					best, bestAt = packetRef{t, p.number}, p.at
				}
			}
			t.mu.Unlock()
		}
		if best.trace != nil {
			out[best] = true
		}
	}
	return out
}

// resend is stream data that was lost, when it was first sent and when again.
type resend struct {
	frame       qlog.StreamFrame
	sent, again time.Time
}

// covers reports whether frames carry the first byte of f again.
func covers(frames []qlog.StreamFrame, f qlog.StreamFrame) bool {
	for _, g := range frames {
		if g.StreamID == f.StreamID && g.Offset <= f.Offset && f.Offset < g.Offset+max(g.Length, 1) {
			return true
		}
	}
	return false
}
