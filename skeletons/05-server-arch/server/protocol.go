package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
)

// The wire protocol, the same for the three models: persistent TCP connections,
// one request per line, one answer line per request, in request order. A client
// may send requests before it has read the answers to the previous ones
// (pipelining).
//
//	PING                 → PONG
//	WORK <rounds> <seed> → DONE <hex>: x₀ = the bytes of <seed>, xᵢ₊₁ = SHA-256(xᵢ)
//	                       (the 32-byte digest), <hex> = lowercase hex of x_rounds
//	BLOB <n>             → n bytes 'x', then "\n"
//	anything else        → ERR <reason>, and the connection stays open
//
// Lines end in "\n"; a "\r" before it is ignored. Words are separated by one
// space, and commands are case-sensitive: "ping" or "PING  " is not a request.
// A line of more than maxLine bytes gets "ERR line too long", and the server
// closes the connection: where the next request would start is unknown.

// Limits of the protocol.
const (
	maxLine   = 4096       // bytes before the "\n" of a request line ("\r" included)
	maxRounds = 10_000_000 // WORK rounds, at least 1
	maxSeed   = 64         // WORK seed bytes, at least 1
	maxBlob   = 64 << 20   // BLOB bytes, at least 0
)

// answerLineTooLong is the last thing a client whose line is too long hears.
const answerLineTooLong = "ERR line too long\n"

// A verb is what a request asks for.
type verb int

const (
	ping verb = iota
	work
	blob
	invalid // not a request: the answer is ERR
)

// A request is one parsed request line.
type request struct {
	verb   verb
	rounds int    // work: 1..maxRounds
	seed   string // work: 1..maxSeed bytes, no space
	size   int    // blob: 0..maxBlob
	reason string // invalid: why, the text after "ERR "
}

// parseRequest parses one request line, given without its "\n". A line that
// is not a valid request gives an invalid request whose reason says why.
func parseRequest(line []byte) request {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return errorf("empty request")
	}
	words := bytes.Split(line, []byte(" "))
	switch string(words[0]) {
	case "PING":
		if len(words) != 1 {
			return errorf("usage: PING")
		}
		return request{verb: ping}
	case "WORK":
		if len(words) != 3 {
			return errorf("usage: WORK <rounds> <seed>")
		}
		rounds, ok := number(words[1], 1, maxRounds)
		if !ok {
			return errorf("rounds: want 1 to %d", maxRounds)
		}
		seed := words[2]
		if len(seed) < 1 || len(seed) > maxSeed {
			return errorf("seed: want 1 to %d bytes", maxSeed)
		}
		return request{verb: work, rounds: rounds, seed: string(seed)}
	case "BLOB":
		if len(words) != 2 {
			return errorf("usage: BLOB <n>")
		}
		size, ok := number(words[1], 0, maxBlob)
		if !ok {
			return errorf("n: want 0 to %d", maxBlob)
		}
		return request{verb: blob, size: size}
	default:
		return errorf("unknown command (want PING, WORK or BLOB)")
	}
}

func errorf(format string, args ...any) request {
	return request{verb: invalid, reason: fmt.Sprintf(format, args...)}
}

// number parses a decimal number of digits only (no sign, no spaces) and
// reports whether it is one from lo to hi.
func number(digits []byte, lo, hi int) (int, bool) {
	if len(digits) == 0 || len(digits) > 9 { // 9 digits: far above every limit, far below overflow
		return 0, false
	}
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(string(digits))
	return n, err == nil && lo <= n && n <= hi
}

// expensive reports whether answering r takes real CPU time: WORK takes up to
// maxRounds SHA-256 rounds, seconds of a core. Where that time is spent is what
// the three models differ in.
func (r request) expensive() bool {
	return r.verb == work
}

// answer computes the answer to r. For WORK this is the expensive part.
func (r request) answer() answer {
	switch r.verb {
	case ping:
		return answer{line: "PONG\n"}
	case work:
		digest := workDigest(r.seed, r.rounds)
		return answer{line: "DONE " + hex.EncodeToString(digest[:]) + "\n"}
	case blob:
		return answer{xs: r.size, line: "\n"}
	default:
		return answer{line: "ERR " + r.reason + "\n"}
	}
}

// workDigest returns x_rounds, where x₀ is the bytes of seed and xᵢ₊₁ is the
// SHA-256 digest of xᵢ. rounds is at least 1.
func workDigest(seed string, rounds int) [sha256.Size]byte {
	x := sha256.Sum256([]byte(seed))
	for range rounds - 1 {
		x = sha256.Sum256(x[:])
	}
	return x
}

// An answer is what one request gets back: xs bytes 'x' (BLOB only), then line,
// which ends in "\n". A BLOB is kept as a count, not as bytes: a 64 MiB answer
// costs no memory until it is written, a piece at a time, from the xs buffer.
type answer struct {
	xs   int
	line string
}

// xs is the buffer the 'x' bytes of a BLOB answer are written from, a piece of
// at most len(xs) bytes at a time. It is never written to after init, so every
// connection (and goroutine) may share it.
var xs = bytes.Repeat([]byte{'x'}, 64<<10)

// write writes a to w.
func (a answer) write(w io.Writer) error {
	for left := a.xs; left > 0; {
		n, err := w.Write(xs[:min(left, len(xs))])
		if err != nil {
			return err
		}
		left -= n
	}
	_, err := io.WriteString(w, a.line)
	return err
}
