package artifact

import (
	"regexp"
	"strings"
	"unicode"
)

// The words the handshake-sequence check recognises. They are deliberately tolerant:
// students name things their own way, and a check that rejects "SYN+ACK" or "TCP stack"
// teaches nothing.

// side is which end of the connection a participant stands for.
type side int

const (
	unknownSide side = iota
	clientSide
	serverSide
)

// Words that make a participant the client (strong ones win over server words, so that
// "Client kernel" is the client's), or the server side (its kernel, TCP stack, queues or
// application).
var (
	clientStrong = []string{"client"}
	serverWords  = []string{"server", "kernel", "stack", "listen", "applica", "service", "backend",
		"backlog", "queue", "daemon", "worker", "handler", "nginx", "socket", "accept", "process"}
	serverExact = []string{"app", "apps", "os", "tcp", "srv", "svc", "api", "host", "aq", "sq", "synq", "acceptq"}
	clientWeak  = []string{"browser", "user", "caller", "dialer", "curl", "consumer", "requester"}
)

// sideOf tells which side a participant is on from its name and label.
func sideOf(p Participant) side {
	norm := normalize(p.ID + " " + p.Label)
	switch {
	case hasWordPrefix(norm, clientStrong...):
		return clientSide
	case hasWordPrefix(norm, serverWords...) || hasPhrase(norm, serverExact...):
		return serverSide
	case hasWordPrefix(norm, clientWeak...):
		return clientSide
	}
	return unknownSide
}

// segment is the TCP segment a message stands for in the handshake.
type segment int

const (
	noSegment segment = iota
	segSYN
	segSYNACK
	segACK
)

// String names the segment as the feedback writes it.
func (s segment) String() string {
	switch s {
	case segSYN:
		return "SYN"
	case segSYNACK:
		return "SYN-ACK"
	case segACK:
		return "ACK"
	}
	return "no segment"
}

// notSegmentAfterSYN are words that make "SYN" part of a name, not a segment: the SYN
// queue, SYN_RECV, SYN cookies, a SYN flood.
var notSegmentAfterSYN = map[string]bool{
	"queue": true, "q": true, "backlog": true, "recv": true, "rcvd": true, "received": true,
	"sent": true, "cookie": true, "cookies": true, "flood": true,
}

// synAckJoiners are what may stand between SYN and ACK in "SYN-ACK": "-", "+", "/", ...
var synAckJoiners = map[string]bool{"": true, "-": true, "+": true, "/": true, "|": true, ",": true, "&": true, "_": true, "–": true, "—": true}

// segmentOf reads which handshake segment a message's text names, from its first flag
// word: "SYN", "SYN-ACK" (also SYN+ACK, SYN/ACK, SYN ACK, SYNACK), or "ACK". Field
// values such as "ack=x+1" are not flags, so "seq=y, ack=x+1 (SYN-ACK)" is a SYN-ACK.
func segmentOf(text string) segment {
	toks := wordRuns(htmlTag.ReplaceAllString(text, " "))
	for i, t := range toks {
		switch t.word {
		case "synack":
			return segSYNACK
		case "syn":
			if i+1 < len(toks) {
				next := toks[i+1]
				if notSegmentAfterSYN[next.word] {
					continue
				}
				if next.word == "ack" && synAckJoiners[strings.TrimSpace(t.sep)] {
					return segSYNACK
				}
				if next.word == "and" && i+2 < len(toks) && toks[i+2].word == "ack" {
					return segSYNACK
				}
			}
			return segSYN
		case "ack":
			if strings.HasPrefix(strings.TrimSpace(t.sep), "=") {
				continue // the acknowledgment number field, not the ACK flag
			}
			return segACK
		}
	}
	return noSegment
}

// wordRun is a run of letters, lower-cased, and the text up to the next run.
type wordRun struct {
	word string
	sep  string
}

// wordRuns splits s into runs of letters.
func wordRuns(s string) []wordRun {
	var out []wordRun
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if !unicode.IsLetter(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && unicode.IsLetter(rs[j]) {
			j++
		}
		k := j
		for k < len(rs) && !unicode.IsLetter(rs[k]) {
			k++
		}
		out = append(out, wordRun{word: strings.ToLower(string(rs[i:j])), sep: string(rs[j:k])})
		i = k
	}
	return out
}

// Phrases (normalized) naming the kernel's two queues.
var (
	acceptQueuePhrases = []string{"accept queue", "acceptqueue", "accept q", "acceptq", "accept backlog",
		"completed connection queue", "complete connection queue", "completed connections queue", "established queue"}
	synQueuePhrases = []string{"syn queue", "synqueue", "syn q", "synq", "syn backlog", "half open",
		"halfopen", "incomplete connection queue", "syn recv queue", "request queue"}
)

// mentionsAcceptQueue reports whether text names the accept queue.
func mentionsAcceptQueue(text string) bool { return hasPhrase(normalize(text), acceptQueuePhrases...) }

// mentionsSYNQueue reports whether text names the SYN queue of half-open connections.
func mentionsSYNQueue(text string) bool { return hasPhrase(normalize(text), synQueuePhrases...) }

// acceptCall matches a call of accept(2) (or accept4) written as a call: "accept()",
// "accept(fd)".
var acceptCall = regexp.MustCompile(`(?i)\baccept4?\s*\(`)

// namesAcceptCall reports whether text calls accept(); bare is true when the word
// "accept" alone counts (a message sent by the application: "App->>Kernel: accept").
func namesAcceptCall(text string, bare bool) bool {
	if acceptCall.MatchString(text) {
		return true
	}
	if !bare {
		return false
	}
	words := strings.Fields(normalize(text))
	for i, w := range words {
		if w != "accept" && w != "accepts" {
			continue
		}
		if i+1 < len(words) && (words[i+1] == "queue" || words[i+1] == "q" || words[i+1] == "backlog") {
			continue
		}
		return true
	}
	return false
}

// Words saying that a queue is saturated, and what saturation does to the work.
var (
	saturatedPattern = regexp.MustCompile(`\bfull\b|overflow|saturat|exhaust`)
	effectPattern    = regexp.MustCompile(`drop|delay|\btime ?outs?\b|\btimed out\b|\bretr|discard|\blost\b|\bignor`)
)

// saysSaturated reports whether text says a queue is full, overflows or is saturated.
func saysSaturated(text string) bool { return saturatedPattern.MatchString(normalize(text)) }

// saysEffect reports whether text says work is dropped, delayed, retried or times out.
func saysEffect(text string) bool { return effectPattern.MatchString(normalize(text)) }
