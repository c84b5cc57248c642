package backlog

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// ending is how a connection ended, seen from the client.
type ending string

const (
	endClosed ending = "closed" // the server closed it (FIN)
	endReset  ending = "reset"  // the server reset it (RST)
	endOpen   ending = "open"   // still open when the client stopped waiting
)

// transcriptLimit bounds what a transcript keeps: a reply is one short line.
const transcriptLimit = 4 << 10

// transcript is every byte the server sent on one connection and how the
// connection ended. Specs that check the protocol byte for byte read one.
type transcript struct {
	data      []byte
	end       ending
	firstByte time.Duration // from start to the first byte; 0 if none came
	ended     time.Duration // from start to the end, or to when the client gave up
}

// readToEnd reads conn until the server closes or resets it, or until the
// deadline passes. Times are measured from start.
func readToEnd(conn net.Conn, start, deadline time.Time) transcript {
	var t transcript
	conn.SetReadDeadline(deadline)
	buf := make([]byte, 512)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if len(t.data) == 0 {
				t.firstByte = time.Since(start)
			}
			t.data = append(t.data, buf[:min(n, transcriptLimit-len(t.data))]...)
		}
		if err == nil {
			continue
		}
		t.ended = time.Since(start)
		switch {
		case errors.Is(err, io.EOF):
			t.end = endClosed
		case isTimeout(err):
			t.end = endOpen
		default:
			t.end = endReset
		}
		return t
	}
}

// is reports whether the server sent exactly want and then ended the
// connection. A reset after the whole reply counts as an end: the client has
// its answer (a server that closes with unread bytes resets, as the kernel does).
func (t transcript) is(want string) bool {
	return string(t.data) == want && t.end != endOpen
}

// says reports whether the first line the server sent is line, leniently: a
// \r before the newline, bytes after it and a connection left open are the
// protocol check's business (backlog.serves), not that of the specs that only
// need to know which answer a client got.
func (t transcript) says(line string) bool {
	first, _, _ := strings.Cut(string(t.data), "\n")
	return strings.TrimSuffix(first, "\r") == line
}

// String says what came back, e.g. `"OK k3-1\n", then the server closed the
// connection (after 21ms)`.
func (t transcript) String() string {
	what := "nothing"
	if len(t.data) > 0 {
		what = fmt.Sprintf("%q", t.data)
		if len(t.data) == transcriptLimit {
			what = fmt.Sprintf("%q… (%d bytes or more)", t.data[:120], transcriptLimit)
		}
	}
	switch t.end {
	case endClosed:
		return fmt.Sprintf("%s, then the server closed the connection (after %v)", what, lab.Round(t.ended))
	case endReset:
		return fmt.Sprintf("%s, then the connection was reset (after %v)", what, lab.Round(t.ended))
	default:
		return fmt.Sprintf("%s, and the connection was still open after %v", what, lab.Round(t.ended))
	}
}

// paced sends line over a fresh connection in pieces: it is cut at cuts, and
// piece i is sent gaps[i] after piece i-1 (the client's own pace). It reads
// what the server sends, from the connect on, until the server ends the
// connection or wait has passed; bytes the server no longer takes are dropped.
func paced(addr, line string, gaps []time.Duration, cuts []int, wait time.Duration) transcript {
	conn, err := net.DialTimeout("tcp", addr, lab.Scaled(2*time.Second))
	if err != nil {
		suite.Failf("could not connect: %s", classify(err, connectTimeout))
	}
	defer conn.Close()
	start := time.Now()
	done := make(chan transcript)
	go func() { done <- readToEnd(conn, start, start.Add(wait)) }()
	pieces, from := []string{}, 0
	for _, c := range append(cuts, len(line)) {
		pieces, from = append(pieces, line[from:c]), c
	}
	for i, p := range pieces {
		select {
		case t := <-done: // the server ended the connection (or wait passed)
			return t
		case <-time.After(gaps[i]):
		}
		conn.Write([]byte(p))
	}
	return <-done
}
