package backlog

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

var _ = Describe("01-backlog: the protocol", Label(CaseLabel), func() {
	It("answers REQ <id> with OK <id> after the work time, one request per connection", Label("backlog.serves"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		cfg := config{backlog: 128, workers: 4, queue: 16, work: 15 * time.Millisecond}
		s := startServer(ctx, "serves", cfg)
		requests := ids(rng("serves/ids"), 12)

		var calls []*call
		for _, id := range requests {
			c := request(s.addr, id, lab.Scaled(2*time.Second), lab.Scaled(3*time.Second))
			calls = append(calls, c)
			if c.outcome != ok {
				suite.Evidence("clients", "%s", tallyOf(calls))
				suite.Failf("sent %q, got %s, wanted %q. Each connection carries one request line; the reply echoes its id (see the program contract in the brief).",
					"REQ "+id+"\n", describeReply(c), "OK "+id+"\n")
			}
			if c.latency < cfg.work-time.Millisecond {
				suite.Failf("sent %q and the reply came after %v, before the work time -work %v had passed: the server must spend -work serving each request before it answers OK.",
					"REQ "+id+"\n", c.latency.Round(time.Microsecond), cfg.work)
			}
		}
		t := tallyOf(calls)
		suite.Evidence("clients", "%s; reply latency %s", t, t.latencies(ok).Summary())

		// One request per connection: after the reply the server closes.
		c := dial(s.addr, lab.Scaled(2*time.Second))
		if c.conn == nil {
			suite.Failf("could not connect for the close check: %s", c.outcome)
		}
		defer c.conn.Close()
		id := requests[0] + "-close"
		fmt.Fprintf(c.conn, "REQ %s\n", id)
		c.conn.SetDeadline(time.Now().Add(lab.Scaled(3 * time.Second)))
		rd := bufio.NewReader(c.conn)
		if _, err := rd.ReadString('\n'); err != nil {
			suite.Failf("sent %q and got no reply line: %v", "REQ "+id+"\n", err)
		}
		start := time.Now()
		_, err := rd.ReadByte()
		switch {
		case err == io.EOF:
			suite.Evidence("close", "after the reply the server closed the connection within %v", time.Since(start).Round(time.Millisecond))
		case isTimeout(err):
			suite.Failf("after replying to %q the server kept the connection open for %v: the contract is one request per connection, then close, so the client knows the answer is complete.",
				"REQ "+id+"\n", lab.Scaled(3*time.Second))
		case err == nil:
			suite.Failf("after the reply line the server sent more bytes; the reply must be exactly one line")
		}
	})
})

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

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
