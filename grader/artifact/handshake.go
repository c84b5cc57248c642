package artifact

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/wirelab/wirelab/grader/report"
)

// The handshake-sequence check (case 01, TCP handshake backlog saturation): the artifact
// draws the three-way handshake as a Mermaid sequenceDiagram, with the kernel's accept
// queue, the application's accept(), and a note at the place where saturation drops or
// delays work. All of it must be in one diagram; when a file holds several, the most
// complete one is judged.

// handshakeWhat is what the artifact should hold, for messages.
const handshakeWhat = "a ```mermaid sequenceDiagram of the TCP three-way handshake"

// checkHandshakeSequence is the handshake-sequence check.
func checkHandshakeSequence(path string, content []byte) Result {
	if len(bytes.TrimSpace(content)) == 0 {
		return Result{Findings: []report.Finding{emptyFinding(path, handshakeWhat)}}
	}
	doc := ParseMarkdown(content)
	findings := append([]report.Finding(nil), doc.Problems...)
	findings = append(findings, proseTODOs(doc)...)

	var reviews []handshakeReview
	blocks, others := diagramsOfKind(doc, "sequenceDiagram")
	for _, b := range blocks {
		reviews = append(reviews, reviewHandshake(b))
	}
	if len(reviews) == 0 {
		msg := "no ```mermaid block with a sequenceDiagram found; start from the template's block, which opens with ```mermaid and sequenceDiagram"
		if len(others) > 0 {
			msg += " (" + strings.Join(others, ", ") + "; the handshake is a conversation in time, which is what a sequenceDiagram draws)"
		}
		return Result{Findings: append(findings, report.Finding{Message: msg})}
	}
	best := reviews[0]
	for _, r := range reviews[1:] {
		if better(r, best) {
			best = r
		}
	}
	if len(reviews) > 1 && len(best.findings) > 0 {
		findings = append(findings, report.Finding{Line: best.block.Line, Message: fmt.Sprintf(
			"the file has %d sequenceDiagram blocks; the most complete one, starting at line %d, is the one judged: "+
				"draw the whole handshake in one diagram", len(reviews), best.block.Line)})
	}
	return Result{Findings: append(findings, best.findings...), Notes: best.notes}
}

// better reports whether review a is more complete than b: a diagram Mermaid can read at
// all beats one it cannot, then fewer findings win.
func better(a, b handshakeReview) bool {
	if a.readable != b.readable {
		return a.readable
	}
	return len(a.findings) < len(b.findings)
}

// handshakeReview is the judgement of one sequenceDiagram block.
type handshakeReview struct {
	block    Block
	readable bool // the block opens with sequenceDiagram, spelled as Mermaid wants it
	seq      Sequence
	findings []report.Finding
	notes    []string

	todo  map[int]bool // lines holding a TODO: they are not evidence of anything
	sides map[string]side
	// names used in examples, taken from the student's own diagram where possible
	client, kernel, app string
}

// reviewHandshake judges one sequenceDiagram block.
func reviewHandshake(b Block) handshakeReview {
	r := handshakeReview{block: b, seq: ParseSequence(b), sides: map[string]side{}}
	r.todo, r.findings = blockTODOs(b)
	for _, p := range r.seq.Problems {
		if !r.todo[p.Line] {
			r.findings = append(r.findings, p)
		}
	}
	if body := diagramBody(b); len(body) == 0 || !isSequenceHeader(body[0].Text) {
		return r // the parser said what is wrong with the first line; nothing else is readable
	}
	r.readable = true
	r.roles()
	ackLine := r.handshake()
	r.acceptQueue()
	r.acceptCall(ackLine)
	r.saturationNote()
	sortFindings(r.findings)
	return r
}

// add records a finding.
func (r *handshakeReview) add(line int, format string, args ...any) {
	r.findings = append(r.findings, report.Finding{Line: line, Message: fmt.Sprintf(format, args...)})
}

// missing records a finding about something absent: it points at the block's first line.
func (r *handshakeReview) missing(format string, args ...any) {
	r.add(r.block.Line, format, args...)
}

// messages returns the messages that count as evidence (not on a TODO line).
func (r *handshakeReview) messages() []Message {
	var out []Message
	for _, m := range r.seq.Messages {
		if !r.todo[m.Line] {
			out = append(out, m)
		}
	}
	return out
}

// notesShown returns the notes that count as evidence (not on a TODO line).
func (r *handshakeReview) notesShown() []Note {
	var out []Note
	for _, n := range r.seq.Notes {
		if !r.todo[n.Line] {
			out = append(out, n)
		}
	}
	return out
}

// roles sorts the participants into the client and the server side, and picks the names
// examples use.
func (r *handshakeReview) roles() {
	r.client, r.kernel, r.app = "Client", "Kernel", "App"
	var haveClient, haveServer, haveKernel, haveApp bool
	for _, p := range r.seq.Participants {
		s := sideOf(p)
		r.sides[p.ID] = s
		norm := normalize(p.ID + " " + p.Label)
		switch {
		case s == clientSide && !haveClient:
			r.client, haveClient = p.ID, true
		case s == serverSide:
			if !haveKernel && hasWordPrefix(norm, "kernel", "stack", "tcp", "server", "os") && !hasWordPrefix(norm, "applica", "app") {
				r.kernel, haveKernel = p.ID, true
			}
			if !haveApp && hasWordPrefix(norm, "app", "applica", "service", "process", "worker", "daemon", "nginx") {
				r.app, haveApp = p.ID, true
			}
			haveServer = true
		}
	}
	if !haveKernel && haveServer {
		for _, p := range r.seq.Participants {
			if r.sides[p.ID] == serverSide && p.ID != r.app {
				r.kernel = p.ID
				break
			}
		}
	}
	if !haveClient {
		r.missing("no participant is recognisable as the client: declare it, e.g. `participant Client`; " +
			"the three-way handshake is a conversation between the client and the server's TCP stack")
	}
	if !haveServer {
		r.missing("no participant is recognisable as the server side: declare the server's kernel and its application, " +
			"e.g. `participant Kernel as Server kernel (TCP stack)` and `participant App as Server application`; " +
			"the kernel completes the handshake, the application only sees the connection when it calls accept()")
	}
}

// goes reports whether a message goes from the client to the server side (c2s true) or
// back; with the roles unclear (already reported) only a clearly reversed arrow is wrong.
func (r *handshakeReview) goes(m Message, c2s bool) bool {
	from, to := r.sides[m.From], r.sides[m.To]
	wantFrom, wantTo := clientSide, serverSide
	if !c2s {
		wantFrom, wantTo = serverSide, clientSide
	}
	if r.rolesKnown() {
		return from == wantFrom && to == wantTo
	}
	return m.From != m.To && from != wantTo && to != wantFrom
}

// rolesKnown reports whether both sides were recognised.
func (r *handshakeReview) rolesKnown() bool {
	var c, s bool
	for _, sd := range r.sides {
		c = c || sd == clientSide
		s = s || sd == serverSide
	}
	return c && s
}

// handshake checks SYN, SYN-ACK and ACK, in that order and direction, and returns the
// line of the ACK (0 when there is none to order against).
func (r *handshakeReview) handshake() int {
	bySeg := map[segment][]Message{}
	for _, m := range r.messages() {
		if s := segmentOf(m.Text); s != noSegment {
			bySeg[s] = append(bySeg[s], m)
		}
	}
	if len(bySeg) == 0 {
		r.missing("the three-way handshake is missing: draw the client's SYN, the server's SYN-ACK and the client's ACK, in that order, "+
			"e.g. `%[1]s->>%[2]s: SYN`, `%[2]s-->>%[1]s: SYN-ACK`, `%[1]s->>%[2]s: ACK`", r.client, r.kernel)
		return 0
	}
	first := func(seg segment, c2s bool, after int) (Message, bool) {
		for _, m := range bySeg[seg] {
			if m.Line > after && r.goes(m, c2s) {
				return m, true
			}
		}
		return Message{}, false
	}

	// SYN: the client opens.
	syn, haveSYN := first(segSYN, true, 0)
	if !haveSYN {
		if wrong := bySeg[segSYN]; len(wrong) > 0 {
			r.add(wrong[0].Line, "this SYN goes from %s to %s; the client opens the connection, so the SYN goes from the client to the server side, e.g. `%s->>%s: SYN`",
				wrong[0].From, wrong[0].To, r.client, r.kernel)
		} else {
			r.missing("no SYN from the client to the server: the three-way handshake starts with the client's SYN, e.g. `%s->>%s: SYN`", r.client, r.kernel)
		}
	}

	// SYN-ACK: the server's kernel answers the SYN.
	synAck, haveSYNACK := first(segSYNACK, false, syn.Line)
	if !haveSYNACK {
		early, isEarly := first(segSYNACK, false, 0)
		switch {
		case isEarly && haveSYN:
			r.add(early.Line, "SYN-ACK comes before SYN (line %d); the server answers a SYN, so draw SYN first", syn.Line)
		case len(bySeg[segSYNACK]) > 0:
			w := bySeg[segSYNACK][0]
			r.add(w.Line, "SYN-ACK is drawn from %s to %s; the server's kernel answers the client's SYN with SYN-ACK, so the arrow goes from the server side to the client, e.g. `%s-->>%s: SYN-ACK`",
				w.From, w.To, r.kernel, r.client)
		default:
			r.missing("no SYN-ACK from the server side back to the client after the SYN: the server's kernel answers a SYN with SYN-ACK, "+
				"the second step of the three-way handshake, e.g. `%s-->>%s: SYN-ACK` (SYN+ACK and SYN/ACK are fine too)", r.kernel, r.client)
		}
	}

	// ACK: the client acknowledges the SYN-ACK, which completes the handshake.
	after := syn.Line
	if haveSYNACK {
		after = synAck.Line
	}
	ack, haveACK := first(segACK, true, after)
	if haveACK {
		return ack.Line
	}
	early, isEarly := first(segACK, true, 0)
	var reversed []Message
	for _, m := range bySeg[segACK] {
		if r.goes(m, false) {
			reversed = append(reversed, m)
		}
	}
	switch {
	case isEarly && haveSYNACK:
		r.add(early.Line, "ACK comes before the SYN-ACK (line %d); the client's ACK acknowledges the server's SYN-ACK, so draw it after", synAck.Line)
	case len(reversed) > 0:
		r.add(reversed[0].Line, "this ACK goes from %s to %s; the third step of the handshake is the client's ACK of the SYN-ACK, so the arrow goes from the client to the server side, e.g. `%s->>%s: ACK`",
			reversed[0].From, reversed[0].To, r.client, r.kernel)
	default:
		r.missing("no ACK from the client after the SYN-ACK: the client's ACK completes the three-way handshake, "+
			"and it is what moves the connection into the accept queue, e.g. `%s->>%s: ACK`", r.client, r.kernel)
	}
	return 0
}

// texts returns every piece of text of the diagram that may name something (participants,
// messages, notes, frame labels), skipping TODO lines.
func (r *handshakeReview) texts() []string {
	var out []string
	for _, p := range r.seq.Participants {
		if !r.todo[p.Line] {
			out = append(out, p.ID+" "+p.Label)
		}
	}
	for _, m := range r.messages() {
		out = append(out, m.Text)
	}
	for _, n := range r.notesShown() {
		out = append(out, n.Text)
	}
	for _, f := range r.seq.Frames {
		if !r.todo[f.Line] {
			out = append(out, f.Label)
		}
		for _, s := range f.Sections {
			if !r.todo[s.Line] {
				out = append(out, s.Label)
			}
		}
	}
	return out
}

// acceptQueue requires the accept queue, and praises the SYN queue.
func (r *handshakeReview) acceptQueue() {
	var accept, syn bool
	for _, t := range r.texts() {
		accept = accept || mentionsAcceptQueue(t)
		syn = syn || mentionsSYNQueue(t)
	}
	if syn {
		r.notes = append(r.notes, "You also drew the SYN queue, where half-open connections wait for the client's final ACK: "+
			"that is the kernel's first queue, and a SYN flood fills it (SYN cookies are the kernel's answer).")
	}
	if accept {
		return
	}
	msg := fmt.Sprintf("the accept queue is missing: when the final ACK arrives, the kernel puts the established connection "+
		"in the listening socket's accept queue (its length is the listen backlog) until the application calls accept(); "+
		"show it as a participant or in a note, e.g. `Note over %s: connection waits in the accept queue`", r.kernel)
	if syn {
		msg += "; you already drew the SYN queue of half-open connections, good: the accept queue is the one for completed ones"
	}
	r.missing("%s", msg)
}

// acceptCall requires accept() after the ACK: the application taking the connection off
// the accept queue.
func (r *handshakeReview) acceptCall(ackLine int) {
	var calls []int
	for _, m := range r.messages() {
		if namesAcceptCall(m.Text, r.sides[m.From] == serverSide) {
			calls = append(calls, m.Line)
		}
	}
	for _, n := range r.notesShown() {
		if namesAcceptCall(n.Text, false) {
			calls = append(calls, n.Line)
		}
	}
	if len(calls) == 0 {
		r.missing("accept() is missing: draw the application taking the connection off the accept queue after the handshake, "+
			"e.g. `%s->>%s: accept()`; until it calls accept(), the application has not seen the client at all", r.app, r.kernel)
		return
	}
	if ackLine == 0 {
		return // no ACK to order against; that is reported already
	}
	for _, l := range calls {
		if l > ackLine {
			return
		}
	}
	r.add(calls[0], "accept() comes before the handshake's ACK (line %d); accept() only returns connections whose three-way handshake is complete, "+
		"taking them from the accept queue, so draw it after the ACK", ackLine)
}

// saturationNote requires a Note saying where saturation drops or delays work: a queue
// is full (or overflows) and something is dropped, delayed, retried or times out. The
// labels of the frames around a note count with it ("alt accept queue full").
func (r *handshakeReview) saturationNote() {
	var halfFull, halfEffect int // lines of notes that say only one of the two
	for _, n := range r.notesShown() {
		text := n.Text + " " + strings.Join(n.Context, " ")
		full, effect := saysSaturated(text), saysEffect(text)
		switch {
		case full && effect:
			return
		case full && halfFull == 0:
			halfFull = n.Line
		case effect && halfEffect == 0:
			halfEffect = n.Line
		}
	}
	switch {
	case halfFull != 0:
		r.add(halfFull, "this note says the queue is full but not what that does to the work: say what is dropped or delayed "+
			"(the SYN? the final ACK?) and what the client sees (it retransmits, then its connect times out)")
		return
	case halfEffect != 0:
		r.add(halfEffect, "this note says what is dropped or delayed but not when: name the condition, e.g. "+
			"\"when the accept queue is full (the listen backlog is reached)\"")
		return
	}
	for _, m := range r.messages() {
		text := m.Text + " " + strings.Join(m.Context, " ")
		if saysSaturated(text) && saysEffect(text) {
			r.add(m.Line, "this message shows work dropped or delayed by a full queue, good; now explain it in a Note at that place, "+
				"e.g. `Note over %s: accept queue full → SYN dropped, client retransmits after 1 s`: the note says why the client times out", r.kernel)
			return
		}
	}
	r.missing("no Note says where saturation drops or delays work: add one at the place where it happens, "+
		"e.g. `Note over %s: accept queue full → SYN dropped, client retransmits after 1 s`; "+
		"this is why clients time out while the application logs nothing", r.kernel)
}
