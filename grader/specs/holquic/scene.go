package holquic

import (
	"net/netip"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// scene is the wire every spec of the case runs across: 20 ms each way, an
// MTU that keeps a chunk in one packet, an initial congestion window large
// enough that slow start never holds a chunk back (LAB-NOTES.md: the first
// round trips of a connection would otherwise stall its small writes), and a
// fresh certificate for the server's address.
type scene struct {
	w    *lab.Wire
	port uint16
	cert *certificate
}

func newScene(stream string) *scene {
	w := suite.Wire(lab.WireOptions{MTU: wireMTU, InitCwnd: 100})
	w.SetDelay(lab.ToServer, oneWay, 0, 1)
	w.SetDelay(lab.ToClient, oneWay, 0, 1)
	cert, err := newCertificate()
	must(err)
	return &scene{w: w, port: port(stream), cert: cert}
}

// server is the server's address: the same port for TCP and UDP.
func (s *scene) server() netip.AddrPort { return netip.AddrPortFrom(lab.ServerAddr, s.port) }

// dataTo matches the server's packets toward the client that carry a chunk
// (TCP segments or QUIC 1-RTT datagrams of at least 600 bytes: no bare ACK, no
// handshake).
func (s *scene) dataTo(proto string) lab.Match {
	m := lab.Match{Proto: lab.ProtoTCP, SrcPort: s.port, MinPayload: 600, AfterHandshake: true}
	if proto == h3 {
		m.Proto = lab.ProtoUDP
	}
	return m
}

// graderClient returns the grader's client for proto, closed when the spec ends.
func (s *scene) graderClient(proto string) *graderClient {
	c := newGraderClient(proto, s.cert.client)
	DeferCleanup(c.close)
	return c
}

// graderServer starts the grader's server on the scene's port, streams
// staggered by stagger, stopped when the spec ends.
func (s *scene) graderServer(stagger time.Duration) *graderServer {
	g, err := startGraderServer(s.w, s.port, s.cert, stagger)
	must(err)
	DeferCleanup(g.close)
	return g
}
