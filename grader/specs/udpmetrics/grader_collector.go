package udpmetrics

import (
	"errors"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// graderCollector is the grader playing the student's collector: it keeps
// every datagram the student's agent sent, with its size and arrival time.
type graderCollector struct {
	w    *lab.Wire
	port uint16
	conn *net.UDPConn
	mu   sync.Mutex
	got  []arrival
	done chan struct{}
}

// graderRcvbuf is the grader's collector's receive buffer: 16 MiB, far more
// than any spec's burst (5,000 metrics are about 150 KiB of payload).
const graderRcvbuf = 16 << 20

// checkNoLocalDrops fails the spec as the grader's problem if its own socket
// dropped a datagram: what it received is then not all the agent sent.
func (c *graderCollector) checkNoLocalDrops() {
	socks, err := c.w.Server.UDPSockets()
	must(err)
	for _, so := range socks {
		if so.Local.Port() == c.port && so.Drops > 0 {
			suite.GraderFailf("the grader's own collector dropped %d datagrams (its receive buffer overflowed)", so.Drops)
		}
	}
}

// arrival is one datagram as the grader's collector received it.
type arrival struct {
	At   time.Time
	Raw  []byte
	D    datagram
	Err  error // why it does not follow the format; nil when it does
	From string
}

// listenGraderCollector binds the grader's collector on the server side of
// the wire, on port.
func listenGraderCollector(w *lab.Wire, port uint16) *graderCollector {
	c := &graderCollector{done: make(chan struct{})}
	must(w.Server.Do(func() (err error) {
		c.conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: lab.ServerAddr.AsSlice(), Port: int(port)})
		if err != nil {
			return err
		}
		// A burst of an agent's datagrams must never overflow the grader's own
		// socket: a receive buffer above net.core.rmem_max (SO_RCVBUFFORCE,
		// which the grader may set as root of its namespace).
		raw, err := c.conn.SyscallConn()
		if err != nil {
			return err
		}
		var optErr error
		if err := raw.Control(func(fd uintptr) {
			optErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, graderRcvbuf)
		}); err != nil {
			return err
		}
		return optErr
	}))
	c.port = port
	c.w = w
	go c.read()
	return c
}

func (c *graderCollector) read() {
	defer close(c.done)
	buf := make([]byte, 1<<16)
	for {
		n, from, err := c.conn.ReadFromUDP(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		raw := append([]byte(nil), buf[:n]...)
		d, derr := decodeDatagram(raw)
		c.mu.Lock()
		c.got = append(c.got, arrival{At: time.Now(), Raw: raw, D: d, Err: derr, From: from.String()})
		c.mu.Unlock()
	}
}

// arrivals returns what arrived so far, in order.
func (c *graderCollector) arrivals() []arrival {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]arrival(nil), c.got...)
}

// metricsReceived counts the metrics of the well-formed datagrams so far.
func (c *graderCollector) metricsReceived() int {
	n := 0
	for _, a := range c.arrivals() {
		if a.Err == nil {
			n += len(a.D.Metrics)
		}
	}
	return n
}

func (c *graderCollector) close() {
	c.conn.Close()
	<-c.done
}
