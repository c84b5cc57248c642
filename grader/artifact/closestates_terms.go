package artifact

import (
	"regexp"
	"strings"
)

// The words the close-states check recognises: TCP state names however they are spelt,
// the side a state belongs to, the events written on transitions, and the reasons for
// TIME_WAIT. Lenient in wording ("FinWait1", "rcv FIN", "2*MSL"), strict in meaning (a
// label must name the event that causes its transition).

// tcpState is a state of RFC 9293's connection state machine.
type tcpState int

const (
	noState tcpState = iota
	stClosed
	stListen
	stSynSent
	stSynReceived
	stEstablished
	stFinWait1
	stFinWait2
	stClosing
	stTimeWait
	stCloseWait
	stLastAck
)

// String names the state as the feedback writes it.
func (s tcpState) String() string {
	switch s {
	case stClosed:
		return "CLOSED"
	case stListen:
		return "LISTEN"
	case stSynSent:
		return "SYN_SENT"
	case stSynReceived:
		return "SYN_RECEIVED"
	case stEstablished:
		return "ESTABLISHED"
	case stFinWait1:
		return "FIN_WAIT_1"
	case stFinWait2:
		return "FIN_WAIT_2"
	case stClosing:
		return "CLOSING"
	case stTimeWait:
		return "TIME_WAIT"
	case stCloseWait:
		return "CLOSE_WAIT"
	case stLastAck:
		return "LAST_ACK"
	}
	return "no TCP state"
}

// stateSpellings are the spellings of each state once normalized and run together
// ("FIN-WAIT-1", "FinWait1" and "C_FIN_WAIT_1" all hold "finwait1"); ss(8)'s short
// forms (ESTAB, SYN-RECV) are among them.
var stateSpellings = []struct {
	spelling string
	state    tcpState
}{
	{"established", stEstablished}, {"estab", stEstablished},
	{"finwait1", stFinWait1}, {"finwaitone", stFinWait1},
	{"finwait2", stFinWait2}, {"finwaittwo", stFinWait2},
	{"closing", stClosing},
	{"timewait", stTimeWait},
	{"closewait", stCloseWait},
	{"lastack", stLastAck},
	{"closed", stClosed},
	{"listen", stListen},
	{"synsent", stSynSent},
	{"synreceived", stSynReceived}, {"synrcvd", stSynReceived}, {"synrecv", stSynReceived}, {"synrcv", stSynReceived},
}

// tcpStateIn returns the TCP state a name holds: the leftmost spelling found, the longest
// when two start at the same place. finWait is true when the name says FIN_WAIT without
// saying which of the two.
func tcpStateIn(name string) (state tcpState, finWait bool) {
	run := strings.ReplaceAll(normalize(name), " ", "")
	best, bestAt, bestLen := noState, len(run), 0
	for _, sp := range stateSpellings {
		at := strings.Index(run, sp.spelling)
		if at < 0 {
			continue
		}
		if at < bestAt || (at == bestAt && len(sp.spelling) > bestLen) {
			best, bestAt, bestLen = sp.state, at, len(sp.spelling)
		}
	}
	if best == noState && strings.Contains(run, "finwait") {
		return noState, true
	}
	return best, false
}

// Words that put a state on the client's or the server's side. In a state's ID, a first
// word such as C or S also counts (C_FIN_WAIT_1, S_CLOSE_WAIT).
var (
	clientIDPrefixes = []string{"c", "cli", "clnt"}
	serverIDPrefixes = []string{"s", "srv", "svr", "serv"}
)

// sideOfStateName tells which side a state (or composite state) stands for from its ID
// and display name: "client" or "server" in either, or a C/S first word in the ID. A name
// holding both says nothing.
func sideOfStateName(id, label string) side {
	norm := normalize(id + " " + label)
	client, server := hasWordPrefix(norm, "client"), hasWordPrefix(norm, "server")
	if first := strings.Fields(normalize(id)); len(first) > 1 {
		client = client || hasPhrase(first[0], clientIDPrefixes...)
		server = server || hasPhrase(first[0], serverIDPrefixes...)
	}
	switch {
	case client && !server:
		return clientSide
	case server && !client:
		return serverSide
	}
	return unknownSide
}

// sideName is how the feedback names a side.
func sideName(s side) string {
	switch s {
	case clientSide:
		return "client"
	case serverSide:
		return "server"
	}
	return "unnamed side"
}

// event is a set of the events a transition's label names.
type event uint16

const (
	evClose      event = 1 << iota // the application calls close() or shutdown()
	evSendFIN                      // this side sends a FIN
	evRecvFIN                      // the peer's FIN arrives
	evSendACK                      // this side sends an ACK
	evRecvACK                      // an ACK arrives (of this side's FIN or SYN)
	evTimer                        // a timer expires: 2·MSL in TIME_WAIT
	evRST                          // a reset: RST sent or received, an abort
	evSendSYN                      // this side sends a SYN
	evRecvSYN                      // the peer's SYN arrives
	evSendSYNACK                   // this side sends a SYN-ACK
	evRecvSYNACK                   // the peer's SYN-ACK arrives
	evListen                       // listen(): a passive open
	evConnect                      // connect(): an active open
)

// direction is whether a segment named in a label is sent or received.
type direction int

const (
	dirUnknown direction = iota
	dirSend
	dirRecv
)

// Words saying which way a segment goes: before it ("send FIN", "rcv ACK", "peer's FIN")
// or after it ("FIN received", "ACK sent", "FIN from the server").
var (
	sendBefore = wordSet("send", "sends", "sending", "sent", "snd", "transmit", "transmits", "emit", "emits", "xmit", "write", "writes", "reply", "replies", "answer", "answers")
	recvBefore = wordSet("receive", "receives", "received", "receiving", "rcv", "rcvd", "recv", "recvd", "rx", "get", "gets", "got", "getting",
		"peer", "peers", "remote", "incoming", "on", "upon", "after", "when")
	sendAfter = wordSet("sent", "out", "goes", "leaves", "to", "outgoing")
	recvAfter = wordSet("received", "arrives", "arrived", "arriving", "arrival", "comes", "came", "in", "from", "incoming", "rcvd", "recvd")
	fillers   = wordSet("is", "was", "gets", "got", "has", "been", "being", "segment", "packet", "flag", "the", "a")
	ackVerbs  = wordSet("acks", "acked", "acking", "acknowledge", "acknowledges", "acknowledged", "acknowledging")
	closeWord = wordSet("close", "closes", "closed", "closing", "shutdown", "shutdowns", "shut")
	resetWord = wordSet("rst", "reset", "resets", "abort", "aborts", "aborted", "linger")
	timerWord = wordSet("timeout", "timeouts", "timer", "timers", "msl", "2msl", "expire", "expires", "expired", "expiry", "elapse", "elapses", "elapsed")
)

// wordSet makes a set of words.
func wordSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// Patterns read on the raw label: a FIN and an ACK in one segment ("FIN+ACK", "FIN/ACK",
// "FIN-ACK", "FIN ACK"; a slash with blanks around it separates event from action
// instead), the breaks between clauses, and a duration ("60 s", "2 min").
var (
	combinedFlags = regexp.MustCompile(`(?i)\b(fin|syn)(?:\s*[-+&_]\s*|[/,]|\s+)?ack\b`)
	clauseBreak   = regexp.MustCompile(`(?i),|;|\.\s|\.$|\s+and\s+|\s+then\s+|-+>|→|⇒|=>|\|`)
	duration      = regexp.MustCompile(`\b\d+\s?(s|sec|secs|second|seconds|ms|min|mins|minute|minutes)\b`)
)

// labelEvents reads the events a transition's label names. Following RFC 9293's figure,
// "event / action" puts what happens left of the slash and what is sent right of it, so
// "FIN / ACK" is "receive FIN, send ACK"; words such as send, rcv, received or from say
// it too. A segment named with no direction at all ("FIN") counts both ways.
func labelEvents(label string) event {
	label = strings.ToLower(label) // "ACKed" is one word, not "AC Ked"
	s := htmlTag.ReplaceAllString(label, " , ")
	s = combinedFlags.ReplaceAllStringFunc(s, func(m string) string { return strings.ToLower(m[:3]) + "ack" })
	parts := strings.Split(s, "/")
	var ev event
	for i, part := range parts {
		slashDir := dirUnknown
		if len(parts) > 1 {
			slashDir = dirSend
			if i == 0 {
				slashDir = dirRecv
			}
		}
		for _, clause := range clauseBreak.Split(part, -1) {
			ev |= clauseEvents(strings.Fields(normalize(clause)), slashDir)
		}
	}
	norm := normalize(label)
	if duration.MatchString(norm) || hasPhrase(norm, "time out", "timed out", "2 msl") {
		ev |= evTimer
	}
	return ev
}

// clauseEvents reads the events of one clause of a label, given as normalized words.
func clauseEvents(words []string, slashDir direction) event {
	var ev event
	before := dirUnknown // set by the last direction word seen
	objectUntil := -1    // a FIN or SYN up to this word is the object of an ACK: "ACK of FIN"
	for i, w := range words {
		switch {
		case sendBefore[w]:
			before = dirSend
		case recvBefore[w]:
			before = dirRecv
		}
		dir := func() direction {
			if d := directionAfter(words[i+1:]); d != dirUnknown {
				return d
			}
			if before != dirUnknown {
				return before
			}
			return slashDir
		}
		switch {
		case w == "fin" || w == "fins":
			if i <= objectUntil {
				continue
			}
			if passiveAck(words[i+1:]) { // "our FIN is ACKed": the ACK of this side's FIN arrived
				ev |= evRecvACK
				objectUntil = i + 4
				continue
			}
			ev |= flagEvents(dir(), evSendFIN, evRecvFIN)
		case w == "syn" || w == "syns":
			if i > objectUntil {
				ev |= flagEvents(dir(), evSendSYN, evRecvSYN)
			}
		case w == "finack":
			ev |= flagEvents(dir(), evSendFIN|evSendACK, evRecvFIN|evRecvACK)
		case w == "synack":
			ev |= flagEvents(dir(), evSendSYNACK, evRecvSYNACK)
		case w == "ack" || ackVerbs[w]:
			ev |= flagEvents(dir(), evSendACK, evRecvACK)
			if i+1 < len(words) && (ackVerbs[w] || words[i+1] == "of" || words[i+1] == "for" || words[i+1] == "to") {
				objectUntil = i + 4 // "ACK of (our) FIN", "ACKs the FIN"
			}
		case closeWord[w]:
			if i+1 < len(words) && words[i+1] == "wait" {
				continue // the state CLOSE_WAIT, not a call
			}
			if before == dirRecv { // "peer closes": its FIN is what arrives
				ev |= evRecvFIN
			} else {
				ev |= evClose
			}
		case resetWord[w]:
			ev |= evRST
		case timerWord[w]:
			ev |= evTimer
		case w == "listen" || w == "listens" || (w == "passive" && i+1 < len(words) && words[i+1] == "open"):
			ev |= evListen
		case w == "connect" || w == "connects" || (w == "active" && i+1 < len(words) && words[i+1] == "open"):
			ev |= evConnect
		}
	}
	return ev
}

// directionAfter reads a direction word that follows a segment's name: "FIN received",
// "ACK is sent", "FIN from the server".
func directionAfter(rest []string) direction {
	for _, w := range rest {
		switch {
		case recvAfter[w]:
			return dirRecv
		case sendAfter[w]:
			return dirSend
		case !fillers[w]:
			return dirUnknown
		}
	}
	return dirUnknown
}

// passiveAck reports whether the words after a FIN say it was acknowledged: "FIN is
// ACKed", "FIN acknowledged".
func passiveAck(rest []string) bool {
	for _, w := range rest {
		switch {
		case w == "acked" || w == "acknowledged":
			return true
		case !fillers[w]:
			return false
		}
	}
	return false
}

// flagEvents is the event of a segment sent, received, or (direction unknown) either.
func flagEvents(d direction, send, recv event) event {
	switch d {
	case dirSend:
		return send
	case dirRecv:
		return recv
	}
	return send | recv
}

// saysWhyTimeWait reports whether a text gives a reason for TIME_WAIT: delayed, old or
// duplicate segments of the connection; a new connection (incarnation) on the same ports
// or four-tuple; or a lost last ACK, whose FIN the peer sends again.
func saysWhyTimeWait(text string) bool {
	n := normalize(strings.ToLower(text)) // "ACKs" is one word
	oldSegments := hasWordPrefix(n, "segment", "packet", "datagram", "data", "duplicat") &&
		(hasWordPrefix(n, "delay", "late", "old", "duplicat", "stray", "wander", "linger", "straggl", "previous", "earlier") ||
			hasPhrase(n, "in flight", "still in the network"))
	newConnection := hasWordPrefix(n, "incarnation") ||
		((hasPhrase(n, "new connection", "new connections", "next connection", "later connection", "another connection", "future connection", "new socket") ||
			hasWordPrefix(n, "reus")) &&
			(hasWordPrefix(n, "port", "tuple", "address", "same")))
	lostACK := (hasPhrase(n, "ack", "acks") || hasWordPrefix(n, "acknowledg")) &&
		hasWordPrefix(n, "lost", "lose", "loses", "losing", "dropped", "missing", "never arrive")
	againFIN := hasPhrase(n, "fin", "fins") &&
		(hasWordPrefix(n, "retransmi", "resend", "resent", "again", "repeat") || hasPhrase(n, "re send", "re sends", "re sent"))
	return oldSegments || newConnection || lostACK || againFIN
}
