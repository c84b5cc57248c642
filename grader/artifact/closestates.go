package artifact

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/wirelab/wirelab/grader/report"
)

// The close-states check (case 03, TIME_WAIT misdiagnosed as a leak): the artifact draws
// how a TCP connection closes as Mermaid stateDiagram-v2 diagrams, once when the client
// closes first and once when the server does, every transition checked against RFC
// 9293's state machine (section 3.3.2, figure 5).
//
// The rule for sides and scenarios:
//
//   - A state belongs to the client or the server by the composite state it is drawn in
//     (`state Client { ... }`), or else by its own name or display name (client, server,
//     or an ID starting with C_ or S_).
//   - In one diagram each side plays one role. The passive closer is the side that
//     receives the FIN first: it has CLOSE_WAIT or LAST_ACK, and never FIN_WAIT_1,
//     FIN_WAIT_2, CLOSING or TIME_WAIT, which belong to the active closer, the side that
//     calls close() first. Both sides may be active (a simultaneous close).
//   - The client-active close is covered when some diagram draws the client as the
//     active closer and some diagram (usually the same one) draws the server as the
//     passive closer; the server-active close likewise. So two diagrams with both sides
//     each, or one diagram per side, both pass.
//   - A side's path must be complete: the active closer ESTABLISHED → FIN_WAIT_1 →
//     FIN_WAIT_2 → TIME_WAIT → CLOSED (or FIN_WAIT_1 → CLOSING → TIME_WAIT), the passive
//     closer ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED.
//
// [*] is neutral (start and end are not TCP states), as are composite, fork, join and
// choice states and a state's transition to itself. Every close transition needs a label
// naming its event; the opening, when drawn too, is checked for valid transitions only.
// A note in a diagram or a paragraph of the text must say why TIME_WAIT exists.

// closeStatesWhat is what the artifact should hold, for messages.
const closeStatesWhat = "two ```mermaid stateDiagram-v2 diagrams of a TCP close, one where the client closes first and one where the server does"

// checkCloseStates is the close-states check.
func checkCloseStates(path string, content []byte) Result {
	if len(bytes.TrimSpace(content)) == 0 {
		return Result{Findings: []report.Finding{emptyFinding(path, closeStatesWhat)}}
	}
	doc := ParseMarkdown(content)
	findings := append([]report.Finding(nil), doc.Problems...)
	findings = append(findings, proseTODOs(doc)...)

	blocks, others := diagramsOfKind(doc, "stateDiagram-v2", "stateDiagram")
	if len(blocks) == 0 {
		msg := "no ```mermaid block with a stateDiagram-v2 found; start from the template's two blocks, which open with ```mermaid and stateDiagram-v2"
		if len(others) > 0 {
			msg += " (" + strings.Join(others, ", ") + "; a close is a series of TCP states on each side, which is what a state diagram draws)"
		}
		return Result{Findings: append(findings, report.Finding{Message: msg})}
	}
	var reviews []*closeReview
	for _, b := range blocks {
		r := reviewCloseStates(b)
		reviews = append(reviews, r)
		findings = append(findings, r.findingList...)
	}
	findings = append(findings, scenarioCoverage(reviews)...)
	findings = append(findings, timeWaitReason(doc, reviews)...)
	return Result{Findings: findings, Notes: closeNotes(reviews)}
}

// tcpTransition is a transition of RFC 9293's state machine.
type tcpTransition struct {
	from, to tcpState
	event    string // the event and its action, as a label would say them: "close() / send FIN"
	when     string // what makes it happen, for messages
	needs    event  // a label must name one of these
	close    bool   // part of the close: its label is required and checked
	shortcut bool   // allowed, but not a step of the usual path (a FIN and an ACK in one segment)
}

// tcpTransitions is RFC 9293's state machine, the close and the opening (figure 5; the
// FIN+ACK shortcut from the text of section 3.10.7.4). Resets are apart: see resettable.
var tcpTransitions = []tcpTransition{
	{from: stEstablished, to: stFinWait1, event: "close() / send FIN", close: true, needs: evClose | evSendFIN,
		when: "the application calls close() and the kernel sends a FIN"},
	{from: stEstablished, to: stCloseWait, event: "receive FIN / send ACK", close: true, needs: evRecvFIN,
		when: "the peer's FIN arrives and the kernel ACKs it"},
	{from: stFinWait1, to: stFinWait2, event: "receive ACK of FIN", close: true, needs: evRecvACK,
		when: "the ACK of this side's FIN arrives"},
	{from: stFinWait1, to: stClosing, event: "receive FIN / send ACK", close: true, needs: evRecvFIN,
		when: "the peer's FIN arrives before the ACK of this side's FIN (both FINs crossed) and the kernel ACKs it"},
	{from: stFinWait1, to: stTimeWait, event: "receive FIN+ACK / send ACK", close: true, needs: evRecvFIN, shortcut: true,
		when: "one segment brings the peer's FIN and the ACK of this side's FIN, and the kernel ACKs the FIN"},
	{from: stFinWait2, to: stTimeWait, event: "receive FIN / send ACK", close: true, needs: evRecvFIN,
		when: "the peer's FIN arrives and the kernel ACKs it"},
	{from: stClosing, to: stTimeWait, event: "receive ACK of FIN", close: true, needs: evRecvACK,
		when: "the ACK of this side's FIN arrives"},
	{from: stTimeWait, to: stClosed, event: "2·MSL timer expires", close: true, needs: evTimer,
		when: "the 2·MSL timer expires (60 s on Linux)"},
	{from: stCloseWait, to: stLastAck, event: "close() / send FIN", close: true, needs: evClose | evSendFIN,
		when: "the application calls close() and the kernel sends a FIN"},
	{from: stLastAck, to: stClosed, event: "receive ACK of FIN", close: true, needs: evRecvACK,
		when: "the ACK of this side's FIN arrives"},
	{from: stSynReceived, to: stFinWait1, event: "close() / send FIN", close: true, needs: evClose | evSendFIN,
		when: "the application calls close() and the kernel sends a FIN"},

	{from: stClosed, to: stListen, event: "listen() (passive open)", needs: evListen},
	{from: stClosed, to: stSynSent, event: "connect() / send SYN", needs: evConnect | evSendSYN},
	{from: stListen, to: stSynReceived, event: "receive SYN / send SYN-ACK", needs: evRecvSYN},
	{from: stListen, to: stSynSent, event: "send() / send SYN", needs: evSendSYN},
	{from: stListen, to: stClosed, event: "close()", needs: evClose},
	{from: stSynSent, to: stEstablished, event: "receive SYN-ACK / send ACK", needs: evRecvSYNACK},
	{from: stSynSent, to: stSynReceived, event: "receive SYN / send SYN-ACK", needs: evRecvSYN},
	{from: stSynSent, to: stClosed, event: "close() or timeout", needs: evClose | evTimer | evRST},
	{from: stSynReceived, to: stEstablished, event: "receive ACK of SYN", needs: evRecvACK},
	{from: stSynReceived, to: stListen, event: "receive RST", needs: evRST},
}

// transitionRule returns RFC 9293's transition from one state to another.
func transitionRule(from, to tcpState) (tcpTransition, bool) {
	for _, t := range tcpTransitions {
		if t.from == from && t.to == to {
			return t, true
		}
	}
	return tcpTransition{}, false
}

// resettable reports whether a reset (RST received, or an abort that sends one) takes the
// state straight to CLOSED, outside the figure's normal paths.
func resettable(s tcpState) bool {
	switch s {
	case stSynReceived, stEstablished, stFinWait1, stFinWait2, stCloseWait, stClosing, stLastAck:
		return true
	}
	return false
}

// allowedFrom says which transitions RFC 9293 allows from a state, for messages.
func allowedFrom(s tcpState) string {
	var out []string
	for _, t := range tcpTransitions {
		if t.from == s {
			out = append(out, fmt.Sprintf("%s → %s (%s)", t.from, t.to, t.event))
		}
	}
	if len(out) == 1 {
		return "only " + out[0]
	}
	return joinAnd(out)
}

// joinAnd writes a list as a sentence does: "a, b and c".
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// usualPath returns the states from one state to another along RFC 9293's usual steps
// (no shortcut) within one connection, both ends included; nil when there is none.
func usualPath(from, to tcpState) []tcpState {
	prev := map[tcpState]tcpState{from: noState}
	queue := []tcpState{from}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s == to {
			var path []tcpState
			for ; s != noState; s = prev[s] {
				path = append([]tcpState{s}, path...)
			}
			return path
		}
		if s == stClosed && s != from {
			continue // CLOSED ends the connection; what follows is another one
		}
		for _, t := range tcpTransitions {
			if _, seen := prev[t.to]; t.from == s && !t.shortcut && !seen {
				prev[t.to] = s
				queue = append(queue, t.to)
			}
		}
	}
	return nil
}

// joinStates writes states as a path: "ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2".
func joinStates(states []tcpState) string {
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = s.String()
	}
	return strings.Join(names, " → ")
}

// closeRole is the part a side plays in one close.
type closeRole int

const (
	noRole      closeRole = iota
	activeRole            // calls close() first: FIN_WAIT_1, FIN_WAIT_2, CLOSING, TIME_WAIT
	passiveRole           // receives the FIN first: CLOSE_WAIT, LAST_ACK
)

// The states that show a side's role.
var (
	activeStates  = []tcpState{stTimeWait, stFinWait2, stClosing, stFinWait1} // in the order findings name them
	passiveStates = []tcpState{stCloseWait, stLastAck}
)

// isActive and isPassive tell whether a state belongs to the active or the passive closer.
func isActive(s tcpState) bool {
	return s == stFinWait1 || s == stFinWait2 || s == stClosing || s == stTimeWait
}

func isPassive(s tcpState) bool { return s == stCloseWait || s == stLastAck }

// step is one transition a side's path needs.
type step struct{ from, to tcpState }

// Paths of the two roles; the active closer takes FIN_WAIT_2 or CLOSING to TIME_WAIT.
var (
	activeViaFinWait2 = []step{{stEstablished, stFinWait1}, {stFinWait1, stFinWait2}, {stFinWait2, stTimeWait}, {stTimeWait, stClosed}}
	activeViaClosing  = []step{{stEstablished, stFinWait1}, {stFinWait1, stClosing}, {stClosing, stTimeWait}, {stTimeWait, stClosed}}
	passiveSteps      = []step{{stEstablished, stCloseWait}, {stCloseWait, stLastAck}, {stLastAck, stClosed}}
	activeWording     = "the active closer goes ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → CLOSED (or FIN_WAIT_1 → CLOSING → TIME_WAIT when both FINs cross)"
	passiveWording    = "the passive closer goes ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED"
)

// stateInfo is what a state of the diagram stands for.
type stateInfo struct {
	neutral  bool // not checked, like [*]: a composite, fork, join or choice state
	tcp      tcpState
	finWait  bool // the name says FIN_WAIT without 1 or 2
	side     side
	conflict bool // used inside both sides' composite states
}

// sideDrawing is what a diagram draws on one side.
type sideDrawing struct {
	side  side
	line  int                 // where the side starts: its composite state, or its first state
	first map[tcpState]int    // line where each TCP state first appears on this side
	edges map[step]bool       // valid transitions drawn on this side
	ids   map[tcpState]string // the student's name for each TCP state, for examples
	role  closeRole
}

// closeReview is the judgement of one stateDiagram block.
type closeReview struct {
	block    Block
	diagram  StateDiagram
	readable bool // the block opens with stateDiagram-v2, spelled as Mermaid wants it
	todo     map[int]bool
	findingList

	info     map[string]stateInfo
	sides    map[side]*sideDrawing
	reported map[string]bool // states already reported as naming no TCP state
	opening  bool            // the opening of the connection is drawn too
}

// reviewCloseStates judges one stateDiagram block.
func reviewCloseStates(b Block) *closeReview {
	r := &closeReview{block: b, diagram: ParseStateDiagram(b), info: map[string]stateInfo{},
		sides: map[side]*sideDrawing{}, reported: map[string]bool{}}
	r.todo, r.findingList = blockTODOs(b)
	for _, p := range r.diagram.Problems {
		if !r.todo[p.Line] {
			r.findingList = append(r.findingList, p)
		}
	}
	body := diagramBody(b)
	if len(body) == 0 {
		return r
	}
	if _, ok := stateHeader(body[0].Text); !ok {
		return r // the parser said what is wrong with the first line; nothing else is readable
	}
	r.readable = true
	r.resolve()
	r.transitions()
	r.statesOnSides()
	r.roles()
	r.paths()
	sortFindings(r.findingList)
	return r
}

// resolve finds the TCP state and the side of every state of the diagram.
func (r *closeReview) resolve() {
	for _, st := range r.diagram.States {
		if st.Kind != "" {
			r.info[st.ID] = stateInfo{neutral: true}
			continue
		}
		var in stateInfo
		names := []string{st.ID}
		if st.Label != st.ID {
			names = []string{st.Label, st.ID} // the name shown wins
		}
		for _, name := range append(names, st.Descriptions...) {
			s, fw := tcpStateIn(name)
			if s != noState {
				in.tcp, in.finWait = s, false
				break
			}
			in.finWait = in.finWait || fw
		}
		in.side, in.conflict = r.homeSide(st)
		r.info[st.ID] = in
	}
}

// homeSide is the side a state stands on: that of the composite states it is drawn in,
// or else of its own name. conflict is true when it is drawn inside both sides.
func (r *closeReview) homeSide(st State) (side, bool) {
	found := unknownSide
	for _, p := range st.Parents {
		s := r.compositeSide(p)
		if s == unknownSide {
			continue
		}
		if found != unknownSide && s != found {
			return unknownSide, true
		}
		found = s
	}
	if found != unknownSide {
		return found, false
	}
	return sideOfStateName(st.ID, st.Label), false
}

// compositeSide is the side a composite state (or the nearest enclosing one) names.
func (r *closeReview) compositeSide(id string) side {
	seen := map[string]bool{}
	for id != "" && !seen[id] {
		seen[id] = true
		st, ok := r.diagram.State(id)
		if !ok {
			break
		}
		if s := sideOfStateName(st.ID, st.Label); s != unknownSide {
			return s
		}
		if len(st.Parents) == 0 {
			break
		}
		id = st.Parents[0]
	}
	return unknownSide
}

// drawing returns what the diagram draws on a side, starting it at line.
func (r *closeReview) drawing(s side, line int) *sideDrawing {
	d := r.sides[s]
	if d == nil {
		d = &sideDrawing{side: s, line: line, first: map[tcpState]int{}, edges: map[step]bool{}, ids: map[tcpState]string{}}
		for _, st := range r.diagram.States {
			if st.Kind == CompositeState && sideOfStateName(st.ID, st.Label) == s && s != unknownSide {
				d.line = st.Line
				break
			}
		}
		r.sides[s] = d
	}
	return d
}

// present records that a side draws a TCP state at line, under the name id.
func (r *closeReview) present(s side, tcp tcpState, id string, line int) {
	d := r.drawing(s, line)
	if at, ok := d.first[tcp]; !ok || line < at {
		d.first[tcp] = line
		d.ids[tcp] = id
	}
}

// named reports whether a state of a transition stands for a TCP state, and says so once
// per state when it does not.
func (r *closeReview) named(line int, id string) bool {
	in := r.info[id]
	if in.tcp != noState {
		return true
	}
	if r.reported[id] {
		return false
	}
	r.reported[id] = true
	if in.finWait {
		r.add(line, "%s could be FIN_WAIT_1 or FIN_WAIT_2: TCP has two FIN_WAIT states, FIN_WAIT_1 (waiting for the ACK of this side's FIN) "+
			"and FIN_WAIT_2 (its FIN is acknowledged, waiting for the peer's FIN); name the one you mean", quote(id))
		return false
	}
	r.add(line, "%s names no TCP state: name each state after the RFC 9293 state it stands for (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSING, "+
		"TIME_WAIT, CLOSE_WAIT, LAST_ACK, CLOSED), in its name or in a display name, e.g. `state \"FIN_WAIT_1\" as C_FW1`", quote(id))
	return false
}

// transitions checks every transition against RFC 9293 and its label against the event
// that causes it, and records what each side draws.
func (r *closeReview) transitions() {
	for _, t := range r.diagram.Transitions {
		if r.todo[t.Line] || t.From == StartEnd || t.To == StartEnd {
			continue
		}
		from, to := r.info[t.From], r.info[t.To]
		if from.neutral || to.neutral {
			continue
		}
		fromOK, toOK := r.named(t.Line, t.From), r.named(t.Line, t.To)
		if !fromOK || !toOK {
			continue
		}
		s, ok := r.transitionSide(t, from, to)
		if !ok {
			continue
		}
		r.present(s, from.tcp, t.From, t.Line)
		r.present(s, to.tcp, t.To, t.Line)
		if from.tcp == to.tcp {
			continue // staying in a state (TIME_WAIT answering a retransmitted FIN, say)
		}
		rule, ok := transitionRule(from.tcp, to.tcp)
		if !ok {
			if to.tcp == stClosed && resettable(from.tcp) && labelEvents(t.Label)&evRST != 0 {
				continue // a reset: valid, but no step of a close
			}
			r.invalid(t, from.tcp, to.tcp)
			continue
		}
		if rule.close {
			r.checkLabel(t, rule)
		} else {
			r.opening = true
		}
		r.drawing(s, t.Line).edges[step{from.tcp, to.tcp}] = true
	}
}

// transitionSide is the side a transition is drawn on: that of its states, or of the
// composite state it is written in. A transition between the two sides is reported.
func (r *closeReview) transitionSide(t Transition, from, to stateInfo) (side, bool) {
	inside := r.compositeSide(t.Parent)
	fromSide, toSide := from.side, to.side
	if fromSide == unknownSide {
		fromSide = inside
	}
	if toSide == unknownSide {
		toSide = inside
	}
	if fromSide != unknownSide && toSide != unknownSide && fromSide != toSide {
		r.add(t.Line, "this transition goes from the %s's %s to the %s's %s: a transition is one side changing its own state; "+
			"what travels between the sides is a segment, and it belongs in the label, e.g. `C_FIN_WAIT_1 --> C_FIN_WAIT_2 : receive ACK of FIN`",
			sideName(fromSide), from.tcp, sideName(toSide), to.tcp)
		return unknownSide, false
	}
	if fromSide != unknownSide {
		return fromSide, true
	}
	return toSide, true
}

// invalid reports a transition RFC 9293 does not have, and what it allows instead.
func (r *closeReview) invalid(t Transition, from, to tcpState) {
	why := ""
	switch path := usualPath(from, to); {
	case hasRule(to, from):
		why = fmt.Sprintf(" (it runs backwards: RFC 9293 has %s → %s, and a connection never returns to an earlier state of its close; turn the arrow around)", to, from)
	case len(path) > 2:
		why = fmt.Sprintf(" (it skips states: the connection goes %s, one event at a time)", joinStates(path))
	case isPassive(from) && isActive(to), isActive(from) && isPassive(to):
		role := func(s tcpState) string {
			if isActive(s) {
				return "the active closer"
			}
			return "the passive closer"
		}
		why = fmt.Sprintf(" (%s belongs to %s and %s to %s: a side keeps its role for the whole close)", from, role(from), to, role(to))
	}
	msg := fmt.Sprintf("%s → %s is not a TCP transition%s: from %s, RFC 9293 allows %s", from, to, why, from, allowedFrom(from))
	if to == stClosed && resettable(from) {
		msg += "; a side jumps straight to CLOSED only on a reset: if that is what you mean, label it `receive RST`"
	}
	r.add(t.Line, "%s", msg)
}

// hasRule reports whether RFC 9293 has the transition.
func hasRule(from, to tcpState) bool {
	_, ok := transitionRule(from, to)
	return ok
}

// checkLabel requires a close transition's label to name the event that causes it.
func (r *closeReview) checkLabel(t Transition, rule tcpTransition) {
	example := fmt.Sprintf("`%s --> %s : %s`", t.From, t.To, rule.event)
	label := strings.TrimSpace(t.Label)
	switch ev := labelEvents(label); {
	case label == "":
		r.add(t.Line, "%s → %s has no event label: this transition happens when %s; write the event after a colon, e.g. %s",
			rule.from, rule.to, rule.when, example)
	case ev&rule.needs != 0:
	case ev == 0:
		r.add(t.Line, "the label %s of %s → %s does not name the event that causes it: this transition happens when %s; name it, e.g. %s",
			quote(label), rule.from, rule.to, rule.when, example)
	default:
		r.add(t.Line, "%s → %s is labelled %s, but this transition happens when %s: label it with that event, e.g. %s",
			rule.from, rule.to, quote(label), rule.when, example)
	}
}

// statesOnSides records the TCP states declared on a side even without a transition, and
// reports a state drawn inside both sides' composite states.
func (r *closeReview) statesOnSides() {
	for _, st := range r.diagram.States {
		in := r.info[st.ID]
		if in.neutral || r.todo[st.Line] {
			continue
		}
		if in.conflict {
			r.add(st.Line, "%s is used inside both the client's and the server's composite state: a Mermaid state name stands for one state in the whole diagram, "+
				"so both sides would share one box; give each side its own names, e.g. C_%[2]s and S_%[2]s, or `state \"%[2]s\" as S_X`", quote(st.ID), r.shownName(st.ID))
			continue
		}
		if in.tcp != noState && in.side != unknownSide {
			r.present(in.side, in.tcp, st.ID, st.Line)
		}
	}
}

// shownName is a state's TCP state name when it has one, else its ID: what an example
// of a better name builds on.
func (r *closeReview) shownName(id string) string {
	if tcp := r.info[id].tcp; tcp != noState {
		return tcp.String()
	}
	return id
}

// roles reads each side's role and reports the active closer's states drawn on the
// passive closer, and states on neither side.
func (r *closeReview) roles() {
	for _, s := range []side{clientSide, serverSide} {
		d := r.sides[s]
		if d == nil {
			continue
		}
		passiveAt, passiveState := 0, noState
		for _, ps := range passiveStates {
			if at, ok := d.first[ps]; ok && (passiveAt == 0 || at < passiveAt) {
				passiveAt, passiveState = at, ps
			}
		}
		if passiveAt == 0 {
			for _, as := range activeStates {
				if _, ok := d.first[as]; ok {
					d.role = activeRole
				}
			}
			continue
		}
		d.role = passiveRole
		for _, as := range activeStates {
			at, ok := d.first[as]
			if !ok {
				continue
			}
			r.add(at, "%s sits on the active closer, the side that calls close() first: in this diagram the %s receives the peer's FIN first (%s, line %d), "+
				"so it is the passive closer, and %s; %s belongs to the other side, or to a diagram of its own where the %s closes first",
				as, sideName(s), passiveState, passiveAt, passiveWording, as, sideName(s))
		}
	}
	if d := r.sides[unknownSide]; d != nil {
		var names []string
		first := 0
		for _, s := range []tcpState{stEstablished, stFinWait1, stFinWait2, stClosing, stTimeWait, stCloseWait, stLastAck, stClosed, stListen, stSynSent, stSynReceived} {
			if at, ok := d.first[s]; ok {
				names = append(names, fmt.Sprintf("%s (line %d)", s, at))
				if first == 0 || at < first {
					first = at
				}
			}
		}
		r.add(first, "these states stand on neither side: %s; put each side's states inside `state Client { ... }` or `state Server { ... }` "+
			"(or start their names with C_ and S_), so that the diagram shows which side closes first", strings.Join(names, ", "))
	}
}

// paths reports the steps missing from each side's path to CLOSED.
func (r *closeReview) paths() {
	for _, s := range []side{clientSide, serverSide} {
		d := r.sides[s]
		if d == nil || d.role == noRole {
			continue
		}
		var missing []step
		wording := passiveWording
		role := "the passive closer"
		switch d.role {
		case activeRole:
			wording, role = activeWording, "the active closer"
			via2, via := d.lacking(activeViaFinWait2), d.lacking(activeViaClosing)
			missing = via2
			if len(via) < len(via2) || (len(via) == len(via2) && d.edges[step{stFinWait1, stClosing}]) {
				missing = via
			}
		case passiveRole:
			missing = d.lacking(passiveSteps)
		}
		if len(missing) == 0 {
			continue
		}
		var steps []string
		for _, m := range missing {
			rule, _ := transitionRule(m.from, m.to)
			steps = append(steps, fmt.Sprintf("%s → %s (%s)", m.from, m.to, rule.event))
		}
		verb := "is"
		if len(steps) > 1 {
			verb = "are"
		}
		r.add(d.line, "the %s's close is incomplete in this diagram: %s %s not drawn; the %s is %s here, and %s, with the event on every step",
			sideName(s), joinAnd(steps), verb, sideName(s), role, wording)
	}
}

// lacking returns the steps of a path the side does not draw.
func (d *sideDrawing) lacking(path []step) []step {
	var out []step
	for _, s := range path {
		if !d.edges[s] {
			out = append(out, s)
		}
	}
	return out
}

// scenarios are the two closes the artifact draws: which side calls close() first.
var scenarios = []struct {
	name            string
	active, passive side
}{
	{"client-active close", clientSide, serverSide},
	{"server-active close", serverSide, clientSide},
}

// scenarioCoverage reports a scenario no diagram draws, or draws only one side of.
func scenarioCoverage(reviews []*closeReview) []report.Finding {
	type half struct {
		s    side
		role closeRole
	}
	seen := map[half]int{}
	for _, r := range reviews {
		for s, d := range r.sides {
			h := half{s, d.role}
			if _, ok := seen[h]; !ok && d.role != noRole && s != unknownSide {
				seen[h] = d.line
			}
		}
	}
	var out []report.Finding
	for _, sc := range scenarios {
		a, haveActive := seen[half{sc.active, activeRole}]
		p, havePassive := seen[half{sc.passive, passiveRole}]
		switch {
		case haveActive && havePassive:
		case haveActive:
			out = append(out, report.Finding{Line: a, Message: fmt.Sprintf(
				"the %s lacks the %s's side: here the %s closes first, so draw the %s beside it as the passive closer, which receives the FIN first: "+
					"ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED (e.g. in `state %s { ... }`)",
				sc.name, sideName(sc.passive), sideName(sc.active), sideName(sc.passive), titleCase(sideName(sc.passive)))})
		case havePassive:
			out = append(out, report.Finding{Line: p, Message: fmt.Sprintf(
				"the %s lacks the %s's side: here the %s is the passive closer, so draw the %s beside it as the active closer, which calls close() first: "+
					"ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → CLOSED (e.g. in `state %s { ... }`)",
				sc.name, sideName(sc.active), sideName(sc.passive), sideName(sc.active), titleCase(sideName(sc.active)))})
		default:
			out = append(out, report.Finding{Message: fmt.Sprintf(
				"the %s is missing: draw a stateDiagram-v2 in which the %s calls close() first, so the %s goes ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → CLOSED "+
					"and the %s ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED; TIME_WAIT then sits on the %s",
				sc.name, sideName(sc.active), sideName(sc.active), sideName(sc.passive), sideName(sc.active))})
		}
	}
	return out
}

// titleCase writes a side's name as a composite state would: "Client".
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// timeWaitReason requires a note in a diagram, or a paragraph of the text, saying why
// TIME_WAIT exists.
func timeWaitReason(doc Document, reviews []*closeReview) []report.Finding {
	for _, text := range proseParagraphs(doc) {
		if saysWhyTimeWait(text) {
			return nil
		}
	}
	var aboutTimeWait *StateNote
	twLine, twID := 0, "C_TIME_WAIT"
	for _, r := range reviews {
		for i, n := range r.diagram.Notes {
			if r.todo[n.Line] || hasTODO(n.Text) {
				continue
			}
			if saysWhyTimeWait(n.Text) {
				return nil
			}
			if aboutTimeWait == nil && (r.info[n.State].tcp == stTimeWait || hasPhrase(normalize(n.Text), "time wait", "timewait")) {
				aboutTimeWait = &r.diagram.Notes[i]
			}
		}
		for _, d := range r.sides {
			if at, ok := d.first[stTimeWait]; ok && (twLine == 0 || at < twLine) {
				twLine, twID = at, d.ids[stTimeWait]
			}
		}
	}
	const hint = "say what could go wrong without it: to a segment of this connection that arrives late, or to the last ACK if it is lost"
	if aboutTimeWait != nil {
		return []report.Finding{{Line: aboutTimeWait.Line, Message: "this note is about TIME_WAIT but does not say why TIME_WAIT exists: " + hint}}
	}
	return []report.Finding{{Line: twLine, Message: fmt.Sprintf(
		"no note says why TIME_WAIT exists: add one beside it, e.g. `note right of %s : ...` (or a note over several lines, ended by `end note`), "+
			"or answer in the text below the diagrams; %s", twID, hint)}}
}

// proseParagraphs returns the paragraphs of the text around the blocks, without the lines
// holding a TODO marker.
func proseParagraphs(doc Document) []string {
	var out []string
	var cur []string
	last := 0
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, l := range doc.Prose {
		if l.N != last+1 || strings.TrimSpace(l.Text) == "" {
			flush()
		}
		last = l.N
		if strings.TrimSpace(l.Text) != "" && !hasTODO(l.Text) {
			cur = append(cur, l.Text)
		}
	}
	flush()
	return out
}

// closeNotes are encouraging remarks on what the diagrams draw beyond the requirements.
func closeNotes(reviews []*closeReview) []string {
	var simultaneous, opening bool
	for _, r := range reviews {
		opening = opening || r.opening
		for _, d := range r.sides {
			simultaneous = simultaneous || (d.edges[step{stFinWait1, stClosing}] && d.edges[step{stClosing, stTimeWait}])
		}
	}
	var notes []string
	if simultaneous {
		notes = append(notes, "You also drew the simultaneous close (FIN_WAIT_1 → CLOSING → TIME_WAIT): when both FINs cross, "+
			"both sides are active closers, and both wait in TIME_WAIT.")
	}
	if opening {
		notes = append(notes, "You also drew the opening of the connection: the same RFC 9293 state machine leads from CLOSED "+
			"through LISTEN or SYN_SENT to ESTABLISHED.")
	}
	return notes
}
