package backlog

import (
	"fmt"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

func okLine(id string) string   { return "OK " + id + "\n" }
func busyLine(id string) string { return "BUSY " + id + "\n" }
func reqLine(id string) string  { return "REQ " + id + "\n" }

// errLine is the contract's answer to a malformed line: "ERR <short reason>\n".
var errLine = regexp.MustCompile(`^ERR [^\n]*[^\s][^\n]*\n$`)

// The id grammar: 1 to 64 characters of [A-Za-z0-9-].
const (
	idLetters  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	idDigits   = "0123456789"
	idAlphabet = idLetters + idDigits + "-"
	maxIDLen   = 64
)

func randomString(r *rand.Rand, set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// protocolIDs returns n valid ids that reach every edge of the id grammar on
// every run (one character, 64 characters, upper case only, digits only, a
// leading hyphen); the rest are random lengths of the whole alphabet.
func protocolIDs(r *rand.Rand, n int) []string {
	out := []string{
		randomString(r, idLetters+idDigits, 1),
		randomString(r, idAlphabet, maxIDLen),
		randomString(r, idLetters[26:], 6),
		randomString(r, idDigits, 5),
		"-" + randomString(r, idAlphabet, 7),
	}
	for len(out) < n {
		out = append(out, randomString(r, idAlphabet, 2+r.IntN(40)))
	}
	return out
}

// replyProblem says, for a student, how a transcript differs from the exact
// reply wanted ("" when it is exactly that reply followed by the end of the
// connection), naming the usual slips: \r\n, extra bytes, no close.
func replyProblem(t transcript, want string) string {
	got := string(t.data)
	switch {
	case t.is(want):
		return ""
	case got == want:
		return fmt.Sprintf("the reply was right, but the connection stayed open for %v after it: one request per connection, so close it once the reply is written; that close is how the client knows the answer is complete", lab.Round(t.ended))
	case got == strings.TrimSuffix(want, "\n")+"\r\n":
		return "the reply ends in \\r\\n; the protocol's lines end in \\n alone, so the client reads a \\r that is not part of the id"
	case strings.HasPrefix(got, want):
		return fmt.Sprintf("after the reply line the server sent %d more bytes (%q): the reply is exactly one line; anything else (logs, a prompt, a second reply) belongs on stderr", len(got)-len(want), report.Clip(got[len(want):], 60))
	case got == "":
		return "no reply came"
	}
	return fmt.Sprintf("wanted exactly %q", want)
}

// converse sends one request line on a fresh connection and reads everything
// until the server ends the connection, or until wait has passed.
func converse(addr, line string, wait time.Duration) (transcript, error) {
	conn, err := net.DialTimeout("tcp", addr, lab.Scaled(2*time.Second))
	if err != nil {
		return transcript{}, fmt.Errorf("could not connect: %s", classify(err, connectTimeout))
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte(line)); err != nil {
		return transcript{}, fmt.Errorf("could not send %q: %v", line, err)
	}
	return readToEnd(conn, start, start.Add(wait)), nil
}

var _ = Describe("01-backlog: the protocol", Label(CaseLabel), func() {
	// Byte for byte: the client's parser knows only "OK <id>\n" and the close
	// that follows it. Ids reach every edge of the grammar on every run, and one
	// request line arrives in pieces, as TCP may deliver any line.
	It("answers REQ <id> with exactly OK <id>\\n after the work time, then closes", Label("backlog.serves"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		cfg := config{backlog: 128, workers: 4, queue: 16, work: 15 * time.Millisecond}
		s := startServer(ctx, "serves", cfg)
		requests := protocolIDs(suite.Rand("serves/ids"), 12)
		wait := cfg.work + lab.Scaled(3*time.Second)
		var latencies lab.Latencies
		for _, id := range requests {
			t, err := converse(s.addr, reqLine(id), wait)
			if err != nil {
				suite.Failf("%v (with %d of %d requests answered before)", err, len(latencies), len(requests))
			}
			if p := replyProblem(t, okLine(id)); p != "" {
				suite.Evidence("replies", "%d of %d requests answered exactly before this one", len(latencies), len(requests))
				suite.Failf("sent %q and got %s: %s. Each connection carries one request line; the reply is %q, byte for byte, then the server closes (see the program contract in the brief).",
					reqLine(id), t, p, okLine(id))
			}
			if t.firstByte < cfg.work-time.Millisecond {
				suite.Failf("sent %q and the reply came after %v, before the work time -work %v had passed: the server must spend -work serving each request before it answers OK.",
					reqLine(id), lab.Round(t.firstByte), cfg.work)
			}
			latencies = append(latencies, t.firstByte)
		}
		suite.Evidence("replies", "%d requests, ids of 1 to 64 characters of [A-Za-z0-9-], each answered exactly (OK <id>\\n, then a close); reply latency %s", len(requests), latencies.Summary())

		// TCP is a byte stream: a line may arrive in several reads.
		id := requests[len(requests)-1] + "-parts"
		line := reqLine(id)
		parts := []string{line[:2], line[2:7], line[7:]}
		pace := 40 * time.Millisecond // the client's own pace: one segment each
		t := paced(s.addr, line, []time.Duration{0, pace, pace}, []int{2, 7}, 2*pace+wait)
		suite.Evidence("a request line in pieces", "sent %q, %q and %q 40 ms apart; got %s", parts[0], parts[1], parts[2], t)
		if p := replyProblem(t, okLine(id)); p != "" {
			suite.Failf("sent the request line %q in three pieces, 40 ms apart, and got %s: %s. TCP delivers a byte stream, not messages: one read may return part of a line. Read until the newline (bufio.Reader does), within the 1 s deadline.",
				line, t, p)
		}

		// The BUSY reply is held to the same bytes, when the server sheds: one
		// worker busy, one connection waiting, then a third request. (A server
		// that does not shed yet answers it OK later; that is judged here too,
		// and shedding itself is the load-shedding check's business.)
		full := config{backlog: 128, workers: 1, queue: 1, work: 300 * time.Millisecond}
		s = startServer(ctx, "serves/full", full)
		fill := ids(suite.Rand("serves/full/ids"), 3)
		fillOneWorkerOneWaiting(ctx, s, fill[:2])
		third := fill[2]
		t, err := converse(s.addr, reqLine(third), 3*full.work+lab.Scaled(3*time.Second))
		if err != nil {
			suite.Failf("%v", err)
		}
		suite.Evidence("a request while the server is full", "with %s, one request in work and one waiting: sent %q, got %s", full, reqLine(third), t)
		for _, want := range []string{busyLine(third), okLine(third)} {
			if t.says(strings.TrimSuffix(want, "\n")) {
				if p := replyProblem(t, want); p != "" {
					suite.Failf("with %s, one request in work and one waiting, sent %q and got %s: %s. Replies are exactly \"OK <id>\\n\" or \"BUSY <id>\\n\", then the close (see the program contract).",
						full, reqLine(third), t, p)
				}
			}
		}
	})

	// A malformed first line gets one ERR line and a close: never OK or BUSY,
	// never silence. Every run sends every kind, including the characters that
	// \w and unicode.IsLetter let through.
	It("answers a malformed request line with one ERR line and closes", Label("backlog.malformed"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		cfg := config{backlog: 128, workers: 4, queue: 16, work: 15 * time.Millisecond}
		s := startServer(ctx, "malformed", cfg)
		r := suite.Rand("malformed/ids")
		id := randomString(r, idLetters, 6)
		type malformed struct {
			what, line string
			halfClose  bool // the client stops sending (FIN) after line
		}
		cases := []malformed{
			{"another verb", "HELLO " + id + "\n", false},
			{"the verb in lower case", "req " + id + "\n", false},
			{"an empty id", "REQ \n", false},
			{"an underscore in the id (\\w allows it, the grammar does not)", "REQ " + id[:3] + "_" + id[3:] + "\n", false},
			{"a dot in the id", "REQ " + id[:2] + "." + id[2:] + "\n", false},
			{"a space in the id", "REQ " + id[:3] + " " + id[3:] + "\n", false},
			{"a non-ASCII letter in the id", "REQ " + id[:2] + "é" + id[2:] + "\n", false},
			{"an id of 65 characters", "REQ " + randomString(r, idAlphabet, maxIDLen+1) + "\n", false},
			{"a space after the id (strings.TrimSpace hides it)", "REQ " + id + " \n", false},
			{"a \\r before the newline (the protocol's lines end in \\n alone)", "REQ " + id + "\r\n", false},
			{"no newline: the client stopped sending after the id", "REQ " + id, true},
		}
		var problems []string
		for _, c := range cases {
			conn, err := net.DialTimeout("tcp", s.addr, lab.Scaled(2*time.Second))
			if err != nil {
				suite.Failf("could not connect: %s", classify(err, connectTimeout))
			}
			start := time.Now()
			conn.Write([]byte(c.line))
			if c.halfClose {
				conn.(*net.TCPConn).CloseWrite()
			}
			t := readToEnd(conn, start, start.Add(lab.Scaled(3*time.Second)))
			conn.Close()
			suite.Evidence(c.what, "sent %q, got %s", c.line, t)
			if p := malformedProblem(t); p != "" {
				problems = append(problems, fmt.Sprintf("%s: sent %q, got %s; %s", c.what, c.line, t, p))
			}
		}
		// The path that answers BUSY reads the request line too, so a malformed
		// line that meets a full server gets ERR as well (a loose parse there
		// answers "BUSY" with whatever followed the verb). A server that does
		// not shed yet answers it later, from a worker: judged the same. Only
		// the bytes are judged here: a BUSY path that closes without reading,
		// or forgets to close, fails the checks of shedding and of the close.
		full := config{backlog: 128, workers: 1, queue: 1, work: 300 * time.Millisecond}
		fullServer := startServer(ctx, "malformed/full", full)
		fillOneWorkerOneWaiting(ctx, fullServer, ids(suite.Rand("malformed/full/ids"), 2))
		busyCase := malformed{"a malformed line that meets a full server (" + full.String() + ", one request in work and one waiting)", "REQ " + id[:3] + "_" + id[3:] + "\n", false}
		cases = append(cases, busyCase)
		t, err := converse(fullServer.addr, busyCase.line, 3*full.work+lab.Scaled(3*time.Second))
		if err != nil {
			suite.Failf("%v", err)
		}
		suite.Evidence(busyCase.what, "sent %q, got %s", busyCase.line, t)
		if len(t.data) > 0 && !errLine.Match(t.data) {
			problems = append(problems, fmt.Sprintf("%s: sent %q, got %s; %s. The path that answers BUSY reads the request line too: check it there the same way", busyCase.what, busyCase.line, t, malformedProblem(t)))
		}
		if len(problems) > 0 {
			suite.Failf("%d of %d malformed request lines were not answered with one ERR line and a close: %s. "+
				"A request line is exactly \"REQ <id>\\n\" with an id of 1 to 64 characters of [A-Za-z0-9-]; anything else gets \"ERR <short reason>\\n\" and a close, and counts as neither served nor shed (see the program contract).",
				len(problems), len(cases), strings.Join(problems, "; "))
		}
	})

	// The flags' boundaries, both sides: 0 is not a positive number, 1 is; a
	// negative -work is refused, -work 0 is fine.
	It("refuses invalid flags with a usage error on stderr and exit status 2", Label("backlog.usage"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		port := strconv.Itoa(20000 + suite.Rand("usage/port").IntN(12000))
		valid := map[string]string{"-addr": "127.0.0.1:" + port, "-backlog": "64", "-workers": "2", "-queue": "4", "-work": "10ms"}
		invalid := [][2]string{{"-backlog", "0"}, {"-workers", "0"}, {"-queue", "0"}, {"-work", "-1ms"}, {"-workers", "four"}}
		var problems []string
		for _, bad := range invalid {
			args := []string{}
			for _, f := range []string{"-addr", "-backlog", "-workers", "-queue", "-work"} {
				v := valid[f]
				if f == bad[0] {
					v = bad[1]
				}
				args = append(args, f, v)
			}
			p, err := lab.Start(suite.Program("server"), args...)
			if err != nil {
				Fail(err.Error())
			}
			exited := p.AwaitExit(ctx, lab.Scaled(3*time.Second))
			p.Stop(lab.Scaled(time.Second))
			stderr := strings.Join(p.StderrTail(3), " | ")
			flag := bad[0] + " " + bad[1]
			suite.Evidence(flag, "%s; stdout %q; stderr %q", p.ExitDescription(), report.Clip(p.Stdout(), 80), report.Clip(stderr, 160))
			switch {
			case !exited:
				problems = append(problems, fmt.Sprintf("with %s the server started anyway (still running after %v)", flag, lab.Scaled(3*time.Second)))
			case p.ExitCode() != 2:
				problems = append(problems, fmt.Sprintf("with %s the server %s, not with status 2", flag, p.ExitDescription()))
			case strings.TrimSpace(stderr) == "":
				problems = append(problems, fmt.Sprintf("with %s the server exited with status 2 but said nothing on stderr", flag))
			case p.Stdout() != "":
				problems = append(problems, fmt.Sprintf("with %s the server wrote %q on stdout, which is only for the stats line", flag, report.Clip(p.Stdout(), 60)))
			}
		}
		if len(problems) > 0 {
			suite.Failf("%s. -backlog, -workers and -queue must be positive and -work must not be negative; otherwise print a usage error on stderr and exit with status 2, the usual status for a command-line mistake (the flag package does this for a value that does not parse).",
				strings.Join(problems, "; "))
		}

		// The smallest valid values work.
		cfg := config{backlog: 1, workers: 1, queue: 1, work: 0}
		s := startServer(ctx, "usage/smallest", cfg)
		id := ids(suite.Rand("usage/id"), 1)[0]
		t, err := converse(s.addr, reqLine(id), lab.Scaled(3*time.Second))
		if err != nil {
			suite.Failf("with the smallest valid flags (%s): %v", cfg, err)
		}
		suite.Evidence("smallest valid flags", "%s: sent %q, got %s", cfg, reqLine(id), t)
		if !t.says("OK "+id) && !t.says("BUSY "+id) {
			suite.Failf("with the smallest valid flags (%s) the server must run normally: sent %q and got %s; wanted OK (or BUSY). 1 is a positive number and -work 0 is not negative.",
				cfg, reqLine(id), t)
		}
	})
})

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// malformedProblem says what is wrong with the answer to a malformed line, or
// "" if it is one ERR line followed by the close.
func malformedProblem(t transcript) string {
	switch got := string(t.data); {
	case !errLine.MatchString(got):
		wrong := "wanted ERR <short reason>\\n"
		if strings.HasPrefix(got, "OK ") || strings.HasPrefix(got, "BUSY ") {
			wrong += " (an OK or BUSY tells the client its request was valid)"
		}
		return wrong
	case t.end == endOpen:
		return "the connection stayed open; close it after the ERR line"
	}
	return ""
}

// fillOneWorkerOneWaiting fills a server started with -workers 1 -queue 1:
// the first request is sent and read by the worker, then the second one is
// sent and accepted (it waits). The connections stay open until the spec ends.
func fillOneWorkerOneWaiting(ctx SpecContext, s *server, requests []string) {
	for i, id := range requests {
		conn, err := net.DialTimeout("tcp", s.addr, lab.Scaled(2*time.Second))
		if err != nil {
			suite.Failf("could not connect: %s", classify(err, connectTimeout))
		}
		DeferCleanup(func() { conn.Close() })
		conn.Write([]byte(reqLine(id)))
		lab.Await(ctx, lab.Scaled(time.Second), func() (bool, error) {
			if i == 0 {
				return s.requestRead(conn.LocalAddr()), nil
			}
			return s.listener().RecvQ == 0, nil
		})
	}
}
