package serverarch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// maxAnswer bounds an answer line the grader reads (a BLOB is read apart).
const maxAnswer = 1 << 10

// conn is one of the grader's client connections.
type conn struct {
	c *net.TCPConn
	r *bufio.Reader
}

// dial connects to the server, with a scaled 5 s deadline for the handshake.
func dial(addr string) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, lab.Scaled(5*time.Second))
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	return &conn{c: tc, r: bufio.NewReader(tc)}, nil
}

// send writes lines, each with its newline, in one write.
func (c *conn) send(lines ...string) error {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	c.c.SetWriteDeadline(time.Now().Add(lab.Scaled(5 * time.Second)))
	_, err := io.WriteString(c.c, b.String())
	return err
}

// errNoAnswer is a read that ran out of time.
var errNoAnswer = errors.New("no answer")

// readLine reads one answer line (without its newline) within timeout.
func (c *conn) readLine(timeout time.Duration) (string, error) {
	c.c.SetReadDeadline(time.Now().Add(timeout))
	var line []byte
	for {
		chunk, err := c.r.ReadSlice('\n')
		line = append(line, chunk...)
		switch {
		case err == nil:
			return strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"), nil
		case errors.Is(err, bufio.ErrBufferFull) && len(line) <= maxAnswer:
			continue
		case errors.Is(err, bufio.ErrBufferFull):
			return "", fmt.Errorf("an answer line of more than %d bytes", maxAnswer)
		case errors.Is(err, os.ErrDeadlineExceeded):
			if len(line) > 0 {
				return "", fmt.Errorf("%w within %v (only %q, no newline)", errNoAnswer, timeout, clip(string(line)))
			}
			return "", fmt.Errorf("%w within %v", errNoAnswer, timeout)
		case errors.Is(err, io.EOF):
			if len(line) > 0 {
				return "", fmt.Errorf("the server closed the connection after %q, without a newline", clip(string(line)))
			}
			return "", fmt.Errorf("the server closed the connection")
		default:
			return "", err
		}
	}
}

// ask sends one request and reads its answer, timing the round trip.
func (c *conn) ask(request string, timeout time.Duration) (string, time.Duration, error) {
	start := time.Now()
	if err := c.send(request); err != nil {
		return "", 0, err
	}
	answer, err := c.readLine(timeout)
	return answer, time.Since(start), err
}

// ping asks PING and requires PONG, timing the round trip.
func (c *conn) ping(timeout time.Duration) (time.Duration, error) {
	answer, rtt, err := c.ask("PING", timeout)
	if err == nil && answer != "PONG" {
		err = fmt.Errorf("answered %q to PING", clip(answer))
	}
	return rtt, err
}

func (c *conn) close() { c.c.Close() }

// clip shortens a student's output for a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// fleet is many client connections held open at once.
type fleet struct {
	conns []*conn
}

// dialers bounds how many connections of a fleet are PINGed at a time.
const dialers = 64

// politeDialers is how many connections openFleet opens at a time: no more
// than the smallest backlog a server could have, so that a fleet measures
// the server and not its listen backlog (arch.idle-clients checks that).
const politeDialers = 16

// openFleet connects n clients to addr, politeDialers at a time, and closes
// them when the spec ends. It returns how many connections failed and the
// first error.
func openFleet(addr string, n int) (*fleet, int, error) {
	return openFleetAtOnce(addr, n, politeDialers)
}

// openFleetAtOnce is openFleet with at most together connections opening at
// the same moment.
func openFleetAtOnce(addr string, n, together int) (*fleet, int, error) {
	f := &fleet{conns: make([]*conn, n)}
	DeferCleanup(f.close)
	var (
		mu       sync.Mutex
		failed   int
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range together {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := dial(addr)
				mu.Lock()
				if err != nil {
					failed++
					firstErr = cmpErr(firstErr, err)
				} else {
					f.conns[i] = c
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return f, failed, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// pingAll PINGs every open connection of the fleet at once (one write
// each) and reads the answers, all within timeout of the first write; it
// returns how many did not answer PONG in time, with the first problem. A
// server that serves one client at a time costs this check timeout, not a
// timeout per client.
func (f *fleet) pingAll(timeout time.Duration) (int, error) {
	var (
		mu       sync.Mutex
		missed   int
		firstErr error
	)
	miss := func(i int, err error) {
		mu.Lock()
		missed++
		firstErr = cmpErr(firstErr, fmt.Errorf("client %d: %w", i, err))
		mu.Unlock()
	}
	deadline := time.Now().Add(timeout)
	sent := make([]bool, len(f.conns))
	for i, c := range f.conns {
		if c == nil {
			continue
		}
		if err := c.send("PING"); err != nil {
			miss(i, err)
			continue
		}
		sent[i] = true
	}
	lab.All(dialers, func(w int) {
		for i := w; i < len(f.conns); i += dialers {
			c := f.conns[i]
			if !sent[i] {
				continue
			}
			answer, err := c.readLine(max(time.Until(deadline), time.Millisecond))
			if err == nil && answer != "PONG" {
				err = fmt.Errorf("answered %q to PING", clip(answer))
			}
			if err != nil {
				miss(i, err)
			}
		}
	})
	return missed, firstErr
}

// pingSample PINGs k connections of the fleet one after another (seeded
// choice) and returns the round trips; a missing or wrong answer is an error.
func (f *fleet) pingSample(stream string, k int, timeout time.Duration) (lab.Latencies, error) {
	r := suite.Rand(stream)
	var rtts lab.Latencies
	for range k {
		i := r.IntN(len(f.conns))
		c := f.conns[i]
		if c == nil {
			continue
		}
		rtt, err := c.ping(timeout)
		if err != nil {
			return rtts, fmt.Errorf("client %d: %w", i, err)
		}
		rtts = append(rtts, rtt)
	}
	return rtts, nil
}

func (f *fleet) close() {
	for _, c := range f.conns {
		if c != nil {
			c.close()
		}
	}
	// The connections stay referenced until here (LAB-NOTES: a finalizer
	// closed a quarter of an unreferenced slice's connections mid-check).
	runtime.KeepAlive(f.conns)
}
