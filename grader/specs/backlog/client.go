package backlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/grader/internal/words"
	"github.com/wirelab/wirelab/grader/lab"
)

// outcome is what one client saw, in the words the brief uses.
type outcome string

const (
	ok             outcome = "ok"              // OK <id>
	busy           outcome = "busy"            // BUSY <id>
	connectTimeout outcome = "connect-timeout" // the handshake never completed (SYN dropped: accept queue full)
	refused        outcome = "refused"         // RST to our SYN: nothing listening
	replyTimeout   outcome = "reply-timeout"   // connected and sent, no reply in time
	reset          outcome = "reset"           // the server reset the connection
	closed         outcome = "closed"          // the server closed without a reply
	wrong          outcome = "wrong-reply"     // a reply that is not OK/BUSY with our id
)

var outcomeOrder = []outcome{ok, busy, connectTimeout, refused, replyTimeout, reset, closed, wrong}

// call is one client's whole conversation with the server.
type call struct {
	id      string
	outcome outcome
	reply   string        // the reply line as received (without newline)
	connect time.Duration // time to complete the handshake
	latency time.Duration // from sending the request to the reply (or failure)
	conn    net.Conn      // kept open between dial and exchange in two-phase use
	sentAt  time.Time
}

// dial opens a connection; on failure the call's outcome is set.
func dial(addr string, timeout time.Duration) *call {
	c := &call{}
	start := time.Now()
	conn, err := net.DialTimeout("tcp", addr, timeout)
	c.connect = time.Since(start)
	if err != nil {
		c.outcome = classify(err, connectTimeout)
		return c
	}
	c.conn = conn
	return c
}

// exchange sends `REQ <id>` on a dialed call and reads the one-line reply.
func (c *call) exchange(id string, timeout time.Duration) {
	if c.send(id, timeout) {
		c.receive()
	}
}

// send writes the request line; it reports whether the call can go on to
// receive. The timeout covers the whole exchange, from now to the reply.
func (c *call) send(id string, timeout time.Duration) bool {
	c.id = id
	if c.conn == nil {
		return false
	}
	c.sentAt = time.Now()
	c.conn.SetDeadline(c.sentAt.Add(timeout))
	if _, err := fmt.Fprintf(c.conn, "REQ %s\n", id); err != nil {
		c.conn.Close()
		c.latency = time.Since(c.sentAt)
		c.outcome = classify(err, replyTimeout)
		return false
	}
	return true
}

// receive reads the one-line reply to a sent request and closes the connection.
func (c *call) receive() {
	defer c.conn.Close()
	line, err := bufio.NewReader(c.conn).ReadString('\n')
	c.latency = time.Since(c.sentAt)
	c.reply = strings.TrimRight(line, "\r\n")
	id := c.id
	switch {
	case err == nil && c.reply == "OK "+id:
		c.outcome = ok
	case err == nil && c.reply == "BUSY "+id:
		c.outcome = busy
	case err == nil || (errors.Is(err, io.EOF) && line != ""):
		c.outcome = wrong
	default:
		c.outcome = classify(err, replyTimeout)
	}
}

// request is dial then exchange.
func request(addr, id string, dialTimeout, replyTimeout time.Duration) *call {
	c := dial(addr, dialTimeout)
	c.exchange(id, replyTimeout)
	return c
}

func classify(err error, onTimeout outcome) outcome {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return onTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return refused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return reset
	case errors.Is(err, io.EOF):
		return closed
	}
	return reset
}

// tally summarizes a set of calls for verdicts and evidence.
type tally struct {
	calls []*call
	count map[outcome]int
}

func tallyOf(calls []*call) tally {
	t := tally{calls: calls, count: map[outcome]int{}}
	for _, c := range calls {
		t.count[c.outcome]++
	}
	return t
}

// String renders "300 clients: ok 84, busy 216" (outcomes that occurred).
func (t tally) String() string {
	parts := []string{}
	for _, o := range outcomeOrder {
		if n := t.count[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", o, n))
		}
	}
	return fmt.Sprintf("%s: %s", words.Count(len(t.calls), "client", "clients"), strings.Join(parts, ", "))
}

// answered is how many got OK or BUSY.
func (t tally) answered() int { return t.count[ok] + t.count[busy] }

// latencies returns the request-to-reply latencies of the calls with outcome o.
func (t tally) latencies(o outcome) lab.Latencies {
	var l lab.Latencies
	for _, c := range t.calls {
		if c.outcome == o {
			l = append(l, c.latency)
		}
	}
	return l
}

// connectLatencies returns the handshake times of every call that connected.
func (t tally) connectLatencies() lab.Latencies {
	var l lab.Latencies
	for _, c := range t.calls {
		if c.outcome != connectTimeout && c.outcome != refused {
			l = append(l, c.connect)
		}
	}
	return l
}

// examples describes up to n calls with outcome o, for a failure message.
func (t tally) examples(o outcome, n int) string {
	var ex []string
	for _, c := range t.calls {
		if c.outcome == o && len(ex) < n {
			s := fmt.Sprintf("REQ %s → ", c.id)
			if c.reply != "" {
				s += fmt.Sprintf("%q", c.reply)
			} else {
				s += string(o)
			}
			ex = append(ex, s+fmt.Sprintf(" after %v", c.latency.Round(time.Millisecond)))
		}
	}
	sort.Strings(ex)
	return strings.Join(ex, "; ")
}

// describeReply says what a call got back, for a failure message.
func describeReply(c *call) string {
	switch {
	case c.reply != "":
		return fmt.Sprintf("%q after %v", c.reply+"\n", c.latency.Round(time.Millisecond))
	case c.outcome == connectTimeout:
		return fmt.Sprintf("no connection: the handshake did not complete within %v", c.connect.Round(time.Millisecond))
	case c.outcome == refused:
		return "connection refused: nothing was listening"
	case c.outcome == replyTimeout:
		return fmt.Sprintf("no reply within %v", c.latency.Round(time.Millisecond))
	case c.outcome == closed:
		return fmt.Sprintf("the connection closed without a reply after %v", c.latency.Round(time.Millisecond))
	default:
		return fmt.Sprintf("%s after %v", c.outcome, c.latency.Round(time.Millisecond))
	}
}
