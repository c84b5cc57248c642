package serverarch

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// answerTimeout bounds one answer in the protocol checks (small WORK only).
const answerTimeout = 2 * time.Second

// bigBlob is the least size of the large BLOB the protocol check asks for
// with a PING behind it (up to twice that): several times what a socket
// buffer holds, and more than a server buffers at once.
const bigBlob = 4 << 20

// halfCloseWork is the hashing of the WORK a half-closing client sends: far
// longer than a loop takes to read the end of the stream after the request,
// far shorter than answerTimeout.
const halfCloseWork = 200 * time.Millisecond

// maxLine is the brief's longest request line.
const maxLine = 4096

// manyPings is a pipelined burst longer than a line may be.
const manyPings = 1000

// exchange is one request and the answer the brief defines for it; a bad
// request's answer is any line starting with "ERR ".
type exchange struct {
	request, answer string
	bad             bool
}

func (e exchange) matches(answer string) bool {
	if e.bad {
		return strings.HasPrefix(answer, "ERR ")
	}
	return answer == e.answer
}

func (e exchange) want() string {
	if e.bad {
		return "ERR <reason>"
	}
	return clip(e.answer)
}

// badRequests are requests the brief answers with ERR, the connection kept.
var badRequests = []string{
	"HELLO", "ping", "PING now", "WORK", "WORK 5", "WORK x seed", "WORK 0 seed", "WORK -3 seed",
	"WORK 10000001 seed", "WORK 5 a b", "BLOB", "BLOB -1", "BLOB 67108865", "BLOB ten",
}

var _ = Describe("The protocol", Label(CaseLabel), func() {
	It("is served by every model: PING, WORK, BLOB, pipelined requests, ERR, several clients at once, usage errors", Label("arch.protocol"), func(ctx SpecContext) {
		suite.CheckUsageErrors(ctx, "server", [][]string{
			{},
			{"-model", "fork", "-addr", "127.0.0.1:20001"},
			{"-addr", "127.0.0.1:20001", "-workers", "0"},
			{"-addr", "127.0.0.1:20001", "-workers", "65"},
			{"-addr", "127.0.0.1:20001", "-bogus"},
			{"-addr", "127.0.0.1:20001", "extra"},
		})
		for _, model := range []string{epoll, thread, process} {
			By(modelNames[model])
			s := startServer(ctx, "protocol/"+model, model, 2)
			checkProtocol(s)
			s.Stop(lab.Scaled(2 * time.Second))
		}
	})
})

// checkProtocol holds one running server to the protocol, on fresh
// connections: a session of single requests, a pipelined burst, bad requests,
// two clients at once, and a line that is too long.
func checkProtocol(s *server) {
	stream := "protocol/" + s.model
	r := suite.Rand(stream + "/plan")
	w := work{rounds: 1 + r.IntN(2000), seed: seedToken(stream+"/seed", 1+r.IntN(64))}
	blob := r.IntN(100000)
	a := dialOrFail(s, "the first client")
	defer a.close()
	for _, e := range []exchange{
		{request: "PING", answer: "PONG"},
		{request: w.request(), answer: w.answer()},
	} {
		askOrFail(s, a, e, "")
	}
	checkBlob(s, a, blob)

	// A large BLOB and a PING in one write: the BLOB takes many writes (far
	// more than a socket buffer holds), and the PING waits behind it in the
	// server's buffer, with nothing more to read: the server must come back
	// to it once the BLOB is written.
	big := bigBlob + r.IntN(bigBlob)
	if err := a.send(fmt.Sprintf("BLOB %d", big), "PING"); err != nil {
		suite.Failf("%s: could not send BLOB %d and PING: %v", modelTitle(s), big, err)
	}
	readBlob(s, a, big, " (sent in one write with a PING after it)")
	if answer, err := a.readLine(lab.Scaled(answerTimeout)); err != nil || answer != "PONG" {
		suite.Failf("%s: sent \"BLOB %d\" and \"PING\" in one write; the BLOB came whole, but for the PING got %s, want \"PONG\". A request that waits behind a long answer is answered once that answer is written: when the socket has taken the rest of the BLOB (EPOLLOUT), go on with the requests still in the connection's buffer, even though nothing new arrives to read (Task 3).",
			modelTitle(s), big, describeAnswer(answer, err))
	}

	// Ten requests in one write: the answers in order.
	var burst []exchange
	for i := range 10 {
		switch i % 4 {
		case 0:
			burst = append(burst, exchange{request: "PING", answer: "PONG"})
		case 1:
			w := work{rounds: 1 + r.IntN(500), seed: seedToken(fmt.Sprintf("%s/burst%d", stream, i), 1+r.IntN(16))}
			burst = append(burst, exchange{request: w.request(), answer: w.answer()})
		case 2:
			n := r.IntN(64)
			burst = append(burst, exchange{request: fmt.Sprintf("BLOB %d", n), answer: strings.Repeat("x", n)})
		case 3:
			burst = append(burst, exchange{request: badRequests[r.IntN(len(badRequests))], bad: true})
		}
	}
	requests := make([]string, len(burst))
	for i, e := range burst {
		requests[i] = e.request
	}
	if err := a.send(requests...); err != nil {
		suite.Failf("%s: could not send ten pipelined requests: %v", modelTitle(s), err)
	}
	for i, e := range burst {
		answer, err := a.readLine(lab.Scaled(answerTimeout))
		if err != nil || !e.matches(answer) {
			suite.Failf("%s: ten requests sent in one write (%q), answer %d: %s, want %q. Requests may arrive together in one read: answer each line in order (Task 1).",
				modelTitle(s), strings.Join(requests, `\n`), i+1, describeAnswer(answer, err), e.want())
		}
	}

	// Many requests in one write: more bytes than one line may hold, each
	// line short. The limit is per line, not per read.
	pings := make([]string, manyPings)
	for i := range pings {
		pings[i] = "PING"
	}
	if err := a.send(pings...); err != nil {
		suite.Failf("%s: could not send %d pipelined PINGs: %v", modelTitle(s), manyPings, err)
	}
	for i := range manyPings {
		answer, err := a.readLine(lab.Scaled(answerTimeout))
		if err != nil || answer != "PONG" {
			suite.Failf("%s: %d PINGs sent in one write (%d bytes, each line 5), answer %d: %s, want \"PONG\". The 4,096-byte limit is for one line; a read may hold many complete lines, each answered (Task 1).",
				modelTitle(s), manyPings, 5*manyPings, i+1, describeAnswer(answer, err))
		}
	}

	// Bad requests: ERR, and the connection stays open.
	for _, bad := range badRequests {
		askOrFail(s, a, exchange{request: bad, bad: true}, "")
	}
	askOrFail(s, a, exchange{request: "PING", answer: "PONG"}, " after the bad requests (an ERR keeps the connection open)")

	// A second client is served while the first stays connected.
	b := dialOrFail(s, "a second client while the first stays connected")
	defer b.close()
	askOrFail(s, b, exchange{request: "PING", answer: "PONG"}, " from a second client while the first stays connected (a server that serves one client at a time never answers it)")
	askOrFail(s, a, exchange{request: "PING", answer: "PONG"}, " from the first client again")

	// A client that half-closes right after its requests gets every answer,
	// then the close. Its WORK lasts (halfCloseWork) so that the server
	// surely reads the end of the stream while the WORK is in flight: a
	// server that closes at once then loses its answer every time, not only
	// when its worker was slower than its next read (a WORK of up to 5,000
	// rounds, about 1 ms, was answered first once in two busy runs).
	h := dialOrFail(s, "a client that half-closes")
	defer h.close()
	hw := work{rounds: roundsFor(halfCloseWork) + r.IntN(5000), seed: seedToken(stream+"/halfclose", 10)}
	if err := h.send(hw.request(), "PING"); err == nil {
		h.c.CloseWrite()
	}
	for _, e := range []exchange{{request: hw.request(), answer: hw.answer()}, {request: "PING", answer: "PONG"}} {
		answer, err := h.readLine(lab.Scaled(answerTimeout))
		if err != nil || answer != e.answer {
			suite.Failf("%s: a client sent %q and \"PING\", then closed its sending side (shutdown SHUT_WR); for %q it got %s, want %q. A read of 0 bytes means the client will send nothing more, not that it wants nothing more: answer what it sent, then close (Task 2).",
				modelTitle(s), hw.request(), e.request, describeAnswer(answer, err), clip(e.answer))
		}
	}
	if answer, err := h.readLine(lab.Scaled(answerTimeout)); err == nil || !strings.Contains(err.Error(), "closed") {
		suite.Failf("%s: after answering a client that closed its sending side, the server must close the connection; instead the grader read %s.", modelTitle(s), describeAnswer(answer, err))
	}

	// A line too long: ERR line too long, then the server closes.
	c := dialOrFail(s, "a client sending a line too long")
	defer c.close()
	c.c.SetWriteDeadline(time.Now().Add(lab.Scaled(5 * time.Second)))
	if _, err := io.WriteString(c.c, strings.Repeat("P", maxLine+904)); err != nil {
		suite.Failf("%s: could not send a line of %d bytes: %v", modelTitle(s), maxLine+904, err)
	}
	answer, err := c.readLine(lab.Scaled(answerTimeout))
	if err != nil || answer != "ERR line too long" {
		suite.Failf("%s: sent %d bytes without a newline, got %s, want \"ERR line too long\" and then the connection closed.", modelTitle(s), maxLine+904, describeAnswer(answer, err))
	}
	// The close may come as a reset: the rest of the line was still unread
	// in the server's socket when it closed, which makes the kernel send RST.
	if answer, err := c.readLine(lab.Scaled(answerTimeout)); err == nil || !(strings.Contains(err.Error(), "closed") || errors.Is(err, syscall.ECONNRESET)) {
		suite.Failf("%s: after \"ERR line too long\" the server must close the connection; instead the grader read %s.", modelTitle(s), describeAnswer(answer, err))
	}
	s.alive("it was asked a line too long")
}

// modelTitle names the server's model for a message.
func modelTitle(s *server) string {
	return fmt.Sprintf("With -model %s", s.model)
}

// connectAndPing connects n clients to the server (openFleet, closed when
// the spec ends) and PINGs each once: every one must connect and get PONG.
// hint, the task that makes it so, follows a failure's message.
func connectAndPing(s *server, n int, hint string) *fleet {
	f, failed, err := openFleet(s.addr, n)
	if failed > 0 {
		s.alive("the grader connected its clients")
		suite.Failf("%s, %d of %d clients could not connect (first: %v). %s", modelTitle(s), failed, n, err, hint)
	}
	if missed, err := f.pingAll(lab.Scaled(pingTimeout)); missed > 0 {
		s.alive("its clients were PINGed")
		suite.Failf("%s and %d clients connected, %d did not get PONG to one PING within %v (first: %v). %s", modelTitle(s), n, missed, lab.Scaled(pingTimeout), err, hint)
	}
	return f
}

func dialOrFail(s *server, who string) *conn {
	c, err := dial(s.addr)
	if err != nil {
		s.alive("the grader connected " + who)
		suite.Failf("%s: %s could not connect: %v", modelTitle(s), who, err)
	}
	return c
}

// askOrFail sends one request and fails the spec unless its answer is the
// brief's; context ends the message's first sentence.
func askOrFail(s *server, c *conn, e exchange, context string) {
	answer, _, err := c.ask(e.request, lab.Scaled(answerTimeout))
	if err != nil || !e.matches(answer) {
		s.alive(fmt.Sprintf("it was asked %q", e.request))
		suite.Failf("%s: asked %q%s, got %s, want %q.%s", modelTitle(s), e.request, context, describeAnswer(answer, err), e.want(), hintFor(e))
	}
}

// hintFor says what the brief asks of a request.
func hintFor(e exchange) string {
	switch {
	case e.bad:
		return " Anything that is not a well-formed PING, WORK or BLOB (an unknown command, a missing or extra field, a number out of range) is answered with one line ERR <reason>, and the connection stays open (Task 1)."
	case strings.HasPrefix(e.request, "WORK"):
		return " WORK's answer is DONE and the lowercase hex of SHA-256 applied rounds times, starting from the seed's bytes, each round hashing the previous 32-byte digest (not its hex)."
	}
	return ""
}

func describeAnswer(answer string, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%q", clip(answer))
}

// checkBlob asks for a BLOB of n bytes and reads it whole.
func checkBlob(s *server, c *conn, n int) {
	if err := c.send(fmt.Sprintf("BLOB %d", n)); err != nil {
		suite.Failf("%s: could not send BLOB %d: %v", modelTitle(s), n, err)
	}
	readBlob(s, c, n, "")
}

// readBlob reads a BLOB of n bytes whole, its newline included; how tells
// how it was asked, for the message.
func readBlob(s *server, c *conn, n int, how string) {
	c.c.SetReadDeadline(time.Now().Add(lab.Scaled(answerTimeout)))
	body := make([]byte, n+1)
	got, err := io.ReadFull(c.r, body)
	if err != nil || strings.Count(string(body), "x") != n || body[n] != '\n' {
		suite.Failf("%s: asked BLOB %d%s, got %d bytes (%q…)%s: want %d bytes x, then a newline.", modelTitle(s), n, how, got, clip(string(body[:got])), errSuffix(err), n)
	}
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " and then " + err.Error()
}
