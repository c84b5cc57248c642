package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"time"
)

// A barrier tells a spec when the wire has taken everything the kernels
// queued toward it so far. The kernel hands packets to a TUN device at once,
// but the forwarder reads them a moment later: a rule changed right after a
// program sent (or a kernel answered) may still see those packets, or miss
// them. Barrier sends a marker datagram behind them, on the same device, and
// returns once the forwarder has read it; the marker itself goes no further
// and is counted nowhere.

// barrierPort is the marker's destination port (the discard port), and
// barrierMagic opens its payload.
const barrierPort = 9

var barrierMagic = []byte("wirelab-wire-barrier:")

// Barrier returns once every packet queued toward the wire in direction dir
// before the call has been through the wire's rules and counters. It must be
// called from the client side's namespace (the one that made the wire).
func (w *Wire) Barrier(ctx context.Context, dir Direction) error {
	token := make([]byte, 8)
	rand.Read(token)
	key := hex.EncodeToString(token)
	l := w.links[dir]
	done := make(chan struct{})
	l.mu.Lock()
	if l.marks == nil {
		l.marks = map[string]chan struct{}{}
	}
	l.marks[key] = done
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.marks, key)
		l.mu.Unlock()
	}()
	send := func(to net.IP) error {
		c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: to, Port: barrierPort})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write(append(append([]byte(nil), barrierMagic...), key...))
		return err
	}
	var err error
	if dir == ToServer {
		err = send(ServerAddr.AsSlice())
	} else {
		err = w.Server.Do(func() error { return send(ClientAddr.AsSlice()) })
	}
	if err != nil {
		return fmt.Errorf("lab: wire barrier: %w", err)
	}
	t := time.NewTimer(Scaled(5 * time.Second))
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("lab: wire barrier: the marker did not reach the forwarder (%s) within %v", dir, Scaled(5*time.Second))
	}
}

// barrierMark reports whether pkt is a barrier's marker, and releases the
// barrier waiting for it.
func (l *link) barrierMark(pkt []byte) bool {
	if len(pkt) < 28+len(barrierMagic) || pkt[0]>>4 != 4 || pkt[9] != ProtoUDP {
		return false
	}
	p := parsePacket(pkt)
	if p.Dst.Port() != barrierPort || p.Fragment {
		return false
	}
	start := int(pkt[0]&0x0f)*4 + 8
	if start+p.Payload > len(pkt) {
		return false
	}
	payload := pkt[start : start+p.Payload]
	if !bytes.HasPrefix(payload, barrierMagic) {
		return false
	}
	key := string(payload[len(barrierMagic):])
	l.mu.Lock()
	done, ok := l.marks[key]
	delete(l.marks, key)
	l.mu.Unlock()
	if ok {
		close(done)
	}
	return true
}
