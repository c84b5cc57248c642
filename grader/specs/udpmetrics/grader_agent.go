package udpmetrics

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/wirelab/wirelab/grader/suite"
)

// graderAgent is the grader playing the student's agent: it sends datagrams
// in the brief's format, exactly as a spec plans them, and remembers them in
// the order sent, so that "the wire's nth matching packet" names a datagram.
type graderAgent struct {
	conn  *net.UDPConn
	id    uint32
	epoch uint32
	next  uint64
	rng   *rand.Rand
	sent  []datagram
	// written counts every datagram written, malformed ones included: the
	// packets a wire between the agent and the collector must have taken.
	written int64
}

// newGraderAgent connects a UDP socket of the calling namespace to the
// student's collector at to, with a seeded agent id and epoch.
func newGraderAgent(to netip.AddrPort, stream string) *graderAgent {
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(to))
	must(err)
	r := suite.Rand(stream + "/agent")
	a := &graderAgent{conn: conn, id: 1 + r.Uint32N(1<<31), rng: r}
	a.newEpoch()
	return a
}

// newEpoch is the agent restarting: a new epoch, numbering from 0 again.
func (a *graderAgent) newEpoch() {
	prev := a.epoch
	for a.epoch == 0 || a.epoch == prev {
		a.epoch = a.rng.Uint32()
	}
	a.next = 0
}

// batch makes the next datagram, of n metrics with seeded names and values.
func (a *graderAgent) batch(n int) datagram {
	d := datagram{Agent: a.id, Epoch: a.epoch, First: a.next}
	for range n {
		name := fmt.Sprintf("%s.%d", []string{"cpu", "mem", "req", "queue", "disk_io"}[a.rng.IntN(5)], a.rng.IntN(1000))
		d.Metrics = append(d.Metrics, metric{Name: name, Value: float64(a.rng.IntN(1_000_000)) / 100})
	}
	a.next += uint64(n)
	return d
}

// send sends d and remembers it.
func (a *graderAgent) send(d datagram) {
	a.write(d.encode())
	a.sent = append(a.sent, d)
}

// write sends one datagram of any content.
func (a *graderAgent) write(b []byte) {
	_, err := a.conn.Write(b)
	must(err)
	a.written++
}

// close closes the agent's socket.
func (a *graderAgent) close() { a.conn.Close() }

// seqRange is an inclusive range of sequence numbers, as the collector
// reports missing ones.
type seqRange [2]uint64

func (r seqRange) String() string {
	if r[0] == r[1] {
		return fmt.Sprint(r[0])
	}
	return fmt.Sprintf("%d–%d", r[0], r[1])
}

// rangesOf merges the sequence numbers of the datagrams into sorted,
// coalesced ranges.
func rangesOf(ds []datagram) []seqRange {
	var out []seqRange
	for _, d := range sortedByFirst(ds) {
		if n := len(out); n > 0 && out[n-1][1]+1 >= d.First {
			out[n-1][1] = max(out[n-1][1], d.last())
			continue
		}
		out = append(out, seqRange{d.First, d.last()})
	}
	return out
}

func sortedByFirst(ds []datagram) []datagram {
	out := slices.Clone(ds)
	slices.SortFunc(out, func(a, b datagram) int { return cmp.Compare(a.First, b.First) })
	return out
}

func formatRanges(rs []seqRange) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}

// metricsIn counts the metrics of the datagrams.
func metricsIn(ds []datagram) uint64 {
	n := uint64(0)
	for _, d := range ds {
		n += uint64(len(d.Metrics))
	}
	return n
}
