package lab

import (
	"bytes"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// capture records the packets that enter the wire, both directions, as a pcap
// (LinkTypeRaw: each record is an IP packet) that tcpdump and Wireshark read.
// It keeps at most limit bytes: the first packet that does not fit ends the
// capture (a pcap is a prefix of the traffic, without gaps), and it and every
// later packet are counted, not kept.
type capture struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	w       *pcapgo.Writer
	limit   int
	ended   bool
	skipped int
}

func newCapture(limit int) *capture {
	c := &capture{limit: limit}
	c.w = pcapgo.NewWriterNanos(&c.buf)
	c.w.WriteFileHeader(65535, layers.LinkTypeRaw) // cannot fail on a bytes.Buffer
	return c
}

func (c *capture) record(t time.Time, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.buf.Len()+16+len(data) > c.limit {
		c.ended = true
		c.skipped++
		return
	}
	c.w.WritePacket(gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(data), Length: len(data)}, data)
}

// full reports whether the capture has ended.
func (c *capture) full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// skip counts packets that were not kept.
func (c *capture) skip(packets int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skipped += packets
}

// writeFile writes the capture to path and returns how many packets did not fit.
func (c *capture) writeFile(path string) (skipped int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.skipped, os.WriteFile(path, c.buf.Bytes(), 0o644)
}

// CapturedPacket is one packet as it entered the wire.
type CapturedPacket struct {
	At time.Time // when the wire took it (WireEvent.At counts from Started)
	Packet
}

// Captured returns what the capture holds so far, in the order the wire took
// the packets, both directions (tell them apart by address), the dropped
// ones too: a spec reads the traffic itself, e.g. to reassemble a cleartext
// TCP stream and learn when each byte crossed.
func (w *Wire) Captured() ([]CapturedPacket, error) {
	w.cap.mu.Lock()
	data := bytes.Clone(w.cap.buf.Bytes())
	w.cap.mu.Unlock()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var out []CapturedPacket
	for {
		b, ci, err := r.ReadPacketData()
		if err != nil {
			break // io.EOF: the end of what was kept
		}
		out = append(out, CapturedPacket{At: ci.Timestamp, Packet: parsePacket(b)})
	}
	return out, nil
}
