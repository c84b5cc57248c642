package udpmetrics

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The metrics datagram of the brief: a 20-byte header, then count metrics,
// each a name length, the name and a float64, all big-endian.
const (
	headerLen     = 20
	formatVersion = 1
	maxNameLen    = 64
	ipUDPHeaders  = 28 // IPv4 (20) and UDP (8): a datagram's payload is at most mtu − 28
)

// metric is one metric as the agent read it.
type metric struct {
	Name  string
	Value float64
}

// size is the metric's size in a datagram.
func (m metric) size() int { return 1 + len(m.Name) + 8 }

// datagram is one batch of metrics of one agent and epoch.
type datagram struct {
	Agent   uint32
	Epoch   uint32
	First   uint64 // sequence number of Metrics[0]
	Metrics []metric
}

// last is the sequence number of the datagram's last metric.
func (d datagram) last() uint64 { return d.First + uint64(len(d.Metrics)) - 1 }

// encode renders the datagram in the brief's format.
func (d datagram) encode() []byte {
	b := make([]byte, headerLen, headerLen+len(d.Metrics)*(maxNameLen+9))
	b[0] = formatVersion
	binary.BigEndian.PutUint16(b[2:], uint16(len(d.Metrics)))
	binary.BigEndian.PutUint32(b[4:], d.Agent)
	binary.BigEndian.PutUint32(b[8:], d.Epoch)
	binary.BigEndian.PutUint64(b[12:], d.First)
	for _, m := range d.Metrics {
		b = append(b, byte(len(m.Name)))
		b = append(b, m.Name...)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(m.Value))
	}
	return b
}

// decodeDatagram reads a datagram the student's agent sent, strictly, and
// says in the student's terms what is wrong with one that does not follow
// the format.
func decodeDatagram(b []byte) (datagram, error) {
	if len(b) < headerLen {
		return datagram{}, fmt.Errorf("it is %d bytes long, shorter than the 20-byte header", len(b))
	}
	if b[0] != formatVersion {
		return datagram{}, fmt.Errorf("its first byte (the version) is %d, not 1", b[0])
	}
	if b[1] != 0 {
		return datagram{}, fmt.Errorf("its second byte (reserved) is %d, not 0", b[1])
	}
	d := datagram{
		Agent: binary.BigEndian.Uint32(b[4:]),
		Epoch: binary.BigEndian.Uint32(b[8:]),
		First: binary.BigEndian.Uint64(b[12:]),
	}
	count := int(binary.BigEndian.Uint16(b[2:]))
	if count == 0 {
		return datagram{}, fmt.Errorf("its count (bytes 2–3) is 0: a datagram carries at least one metric")
	}
	rest := b[headerLen:]
	for i := range count {
		if len(rest) < 1 {
			return datagram{}, fmt.Errorf("its count says %d metrics, but it ends after %d", count, i)
		}
		n := int(rest[0])
		if n < 1 || n > maxNameLen {
			return datagram{}, fmt.Errorf("metric %d of %d has a name length of %d (1 to 64 allowed)", i+1, count, n)
		}
		if len(rest) < 1+n+8 {
			return datagram{}, fmt.Errorf("its count says %d metrics, but metric %d is cut short (it needs %d bytes, %d are left)", count, i+1, 1+n+8, len(rest))
		}
		d.Metrics = append(d.Metrics, metric{Name: string(rest[1 : 1+n]),
			Value: math.Float64frombits(binary.BigEndian.Uint64(rest[1+n:]))})
		rest = rest[1+n+8:]
	}
	if len(rest) > 0 {
		return datagram{}, fmt.Errorf("%d bytes follow the last of its %d metrics: count (bytes 2–3, big-endian) must be the number of metrics, and nothing may follow them", len(rest), count)
	}
	return d, nil
}

// hexHead renders the first bytes of a datagram for evidence.
func hexHead(b []byte) string {
	n := min(len(b), 48)
	s := fmt.Sprintf("% x", b[:n])
	if n < len(b) {
		s += fmt.Sprintf(" … (%d bytes)", len(b))
	}
	return s
}

// packings is the fewest datagrams that carry ms in order at a payload of
// at most max bytes: the greedy packing, which is optimal for items that
// must keep their order.
func packings(ms []metric, max int) int {
	n, used := 0, max
	for _, m := range ms {
		if used+m.size() > max {
			n++
			used = headerLen
		}
		used += m.size()
	}
	return n
}
