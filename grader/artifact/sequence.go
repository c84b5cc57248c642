package artifact

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/wirelab/wirelab/grader/report"
)

// Sequence is a parsed Mermaid sequenceDiagram.
type Sequence struct {
	Line         int           // line of the sequenceDiagram keyword (the block's line if absent)
	Participants []Participant // in order of first appearance, declared or implicit
	Messages     []Message
	Notes        []Note
	Frames       []Frame          // loop, alt, opt, par, critical, break, rect and box blocks
	Problems     []report.Finding // what Mermaid would refuse to draw, one per line
}

// Participant is a lifeline of the diagram.
type Participant struct {
	ID       string // the name messages use
	Label    string // the text after "as"; the ID when there is none
	Actor    bool   // declared with "actor" (drawn as a stick figure)
	Declared bool   // false when the participant only appears in a message or note
	Line     int    // line of the declaration, or of the first use
}

// Message is an arrow between two participants.
type Message struct {
	From, To   string
	Arrow      string // "->>", "-->>", "->", "-->", "-x", "--x", "-)", "--)", "<<->>", "<<-->>"
	Activate   bool   // "+" after the arrow: activates To
	Deactivate bool   // "-" after the arrow: deactivates From
	Text       string
	Line       int
	Context    []string // labels of the enclosing frames' current sections, outermost first
}

// Note is a note placed beside or over participants.
type Note struct {
	Placement string   // "left of", "right of" or "over"
	Over      []string // the participant(s) it is placed at
	Text      string
	Line      int
	Context   []string // labels of the enclosing frames' current sections, outermost first
}

// Frame is a block closed by "end": loop, alt, opt, par, par_over, critical, break, rect
// or box.
type Frame struct {
	Kind     string
	Label    string
	Line     int
	End      int       // line of its "end"; 0 when never closed
	Sections []Section // else (alt), and (par), option (critical)
}

// Section is a further branch of a frame: "else", "and" or "option".
type Section struct {
	Kind  string
	Label string
	Line  int
}

// ParticipantByID returns the participant with that ID.
func (s *Sequence) ParticipantByID(id string) (Participant, bool) {
	for _, p := range s.Participants {
		if p.ID == id {
			return p, true
		}
	}
	return Participant{}, false
}

// frameKinds are the keywords that open a frame closed by "end".
var frameKinds = map[string]bool{
	"loop": true, "alt": true, "opt": true, "par": true, "par_over": true,
	"critical": true, "break": true, "rect": true, "box": true,
}

// sectionOf names the frame kind each section keyword belongs to.
var sectionOf = map[string]string{"else": "alt", "and": "par", "option": "critical"}

// arrowPattern finds the first arrow of a message line. The name before it is the
// shortest possible, as Mermaid's lexer reads it: "TCP-stack->>App" is TCP-stack, ->>, App.
var arrowPattern = regexp.MustCompile(`^(.*?)(<<-->>|<<->>|-->>|->>|-->|->|--[xX]|-[xX]|--\)|-\))([+-]?)(.*)$`)

// asPattern splits a participant declaration at its alias.
var asPattern = regexp.MustCompile(`(?i)^(.+?)\s+as(?:\s+(.*))?$`)

// ParseSequence parses a ```mermaid block holding a sequenceDiagram. What Mermaid would
// not accept becomes a Problem at its line; parsing goes on with the next line.
func ParseSequence(b Block) Sequence {
	p := &seqParser{seq: Sequence{Line: b.Line}, active: map[string]int{}, index: map[string]int{}}
	body := diagramBody(b)
	if len(body) == 0 {
		p.problem(b.Line, "this ```mermaid block is empty: a sequence diagram starts with a line `sequenceDiagram`")
		return p.seq
	}
	if !isSequenceHeader(body[0].Text) {
		p.seq.Line = body[0].N
		if kind := diagramKeyword(body[0].Text); kind != "" && !strings.EqualFold(kind, "sequenceDiagram") {
			p.problem(body[0].N, fmt.Sprintf("this block is a %s, not a sequenceDiagram", kind))
		} else {
			p.problem(body[0].N, fmt.Sprintf("write the first line as `sequenceDiagram`, alone on its line and spelled exactly so (found %s)", quote(body[0].Text)))
		}
		return p.seq
	}
	p.seq.Line = body[0].N
	for _, l := range body[1:] {
		p.line(l)
	}
	p.finish()
	return p.seq
}

// isSequenceHeader reports whether a diagram's first line opens a sequence diagram as
// Mermaid wants it: the keyword, spelled exactly, alone (a %% comment aside).
func isSequenceHeader(s string) bool {
	f := strings.Fields(stripComment(s))
	return len(f) == 1 && f[0] == "sequenceDiagram"
}

// seqParser holds the state of one ParseSequence.
type seqParser struct {
	seq    Sequence
	frames []int          // open frames, as indexes into seq.Frames, innermost last
	active map[string]int // activation depth per participant
	index  map[string]int // participant ID → index into seq.Participants

	note      *Note // a multi-line note waiting for its "end"
	accDescr  int   // line of an open accDescr { ... }, 0 when none
	lastProbl int   // line of the last problem: one problem per line is enough
}

// line parses one line of the diagram.
func (p *seqParser) line(l Line) {
	t := strings.TrimSpace(l.Text)
	switch {
	case p.accDescr != 0:
		if strings.Contains(t, "}") {
			p.accDescr = 0
		}
		return
	case p.note != nil:
		if strings.EqualFold(t, "end") {
			p.note.Text = strings.TrimSpace(p.note.Text)
			p.seq.Notes = append(p.seq.Notes, *p.note)
			p.note = nil
		} else {
			p.note.Text += " " + restoreEntities(t)
		}
		return
	case t == "" || strings.HasPrefix(t, "%%"):
		return
	}
	if acc, open := accessibilityLine(t); acc {
		if open {
			p.accDescr = l.N
		}
		return
	}
	stmts := strings.Split(stripComment(t), ";")
	for i, s := range stmts {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p.statement(l.N, s, i > 0)
	}
}

// stripComment removes what Mermaid skips as a comment: from "#" (unless it starts an
// entity code such as #59;) or from "%%" to the end of the line. Entity codes are masked
// (maskEntities) so that their ";" does not end the statement.
func stripComment(s string) string {
	s = maskEntities(s)
	if i := strings.Index(s, "%%"); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	return s
}

// statement parses one statement; afterSemicolon says it followed a ";" on its line.
func (p *seqParser) statement(n int, s string, afterSemicolon bool) {
	word, rest := s, ""
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		word, rest = s[:i], strings.TrimSpace(s[i+1:])
	}
	kw := strings.ToLower(word)
	if top := p.top(); top != nil && top.Kind == "box" && kw != "participant" && kw != "actor" && kw != "create" && kw != "destroy" && kw != "end" {
		p.problem(n, fmt.Sprintf("inside a box only participant and actor lines are allowed; close the box (opened at line %d) with `end` before %s", top.Line, quote(s)))
		return
	}
	switch {
	case kw == "participant" || kw == "actor":
		p.participant(n, rest, kw == "actor")
	case kw == "create":
		w, r, _ := strings.Cut(rest, " ")
		if lw := strings.ToLower(w); lw != "participant" && lw != "actor" {
			p.problem(n, "create must be followed by participant or actor, e.g. `create participant Worker`")
			return
		}
		p.participant(n, strings.TrimSpace(r), strings.EqualFold(w, "actor"))
	case kw == "destroy":
		p.use(n, rest)
	case frameKinds[kw]:
		p.seq.Frames = append(p.seq.Frames, Frame{Kind: kw, Label: restoreEntities(rest), Line: n})
		p.frames = append(p.frames, len(p.seq.Frames)-1)
	case sectionOf[kw] != "":
		top := p.top()
		want := sectionOf[kw]
		if top == nil || (top.Kind != want && !(want == "par" && top.Kind == "par_over")) {
			p.problem(n, fmt.Sprintf("%s belongs inside a %s block (`%s` ... `%s` ... `end`)", kw, want, want, kw))
			return
		}
		top.Sections = append(top.Sections, Section{Kind: kw, Label: restoreEntities(rest), Line: n})
	case kw == "end":
		if rest != "" {
			p.unknown(n, s, afterSemicolon)
			return
		}
		if len(p.frames) == 0 {
			p.problem(n, "this `end` closes nothing: every `end` must close a loop, alt, opt, par, critical, break, rect or box opened above it")
			return
		}
		p.top().End = n
		p.frames = p.frames[:len(p.frames)-1]
	case kw == "note":
		p.noteStatement(n, rest)
	case kw == "activate" || kw == "deactivate":
		id, ok := p.use(n, rest)
		if !ok {
			return
		}
		if kw == "activate" {
			p.active[id]++
		} else {
			p.deactivate(n, id)
		}
	case kw == "autonumber":
		p.autonumber(n, rest)
	case kw == "title" || kw == "title:":
		// the diagram's title: nothing to check
	case kw == "links" || kw == "link" || kw == "properties" || kw == "details":
		name, _, ok := strings.Cut(rest, ":")
		if !ok {
			p.problem(n, fmt.Sprintf("%s needs a participant and a colon, e.g. `%s Kernel: ...`", kw, kw))
			return
		}
		p.use(n, name)
	default:
		p.message(n, s, afterSemicolon)
	}
}

// top is the innermost open frame, or nil.
func (p *seqParser) top() *Frame {
	if len(p.frames) == 0 {
		return nil
	}
	return &p.seq.Frames[p.frames[len(p.frames)-1]]
}

// context returns the labels of the open frames' current sections, outermost first.
func (p *seqParser) context() []string {
	var out []string
	for _, i := range p.frames {
		f := p.seq.Frames[i]
		label := f.Label
		if len(f.Sections) > 0 {
			label = f.Sections[len(f.Sections)-1].Label
		}
		if f.Kind != "rect" && f.Kind != "box" && label != "" {
			out = append(out, label)
		}
	}
	return out
}

// participant parses the rest of a participant or actor declaration.
func (p *seqParser) participant(n int, rest string, actor bool) {
	if i := strings.Index(rest, "@{"); i >= 0 && strings.HasSuffix(rest, "}") {
		rest = strings.TrimSpace(rest[:i]) // newer Mermaid's participant configuration
	}
	id, label := rest, ""
	if m := asPattern.FindStringSubmatch(rest); m != nil {
		id, label = strings.TrimSpace(m[1]), strings.TrimSpace(m[2])
	}
	if !validName(id) {
		p.problem(n, fmt.Sprintf("%s is not a participant name Mermaid can read: a name cannot be empty or hold > : , ; + or start or end with -; "+
			"give it a short name and put the words after as, e.g. `participant K as Kernel: TCP stack`", quote(id)))
		return
	}
	if label == "" {
		label = id
	}
	label = restoreEntities(label)
	if i, ok := p.index[id]; ok {
		q := &p.seq.Participants[i]
		if label != id || q.Label == "" {
			q.Label = label
		}
		q.Actor = q.Actor || actor
		q.Declared = true
		return
	}
	p.index[id] = len(p.seq.Participants)
	p.seq.Participants = append(p.seq.Participants, Participant{ID: id, Label: label, Actor: actor, Declared: true, Line: n})
}

// use records a participant used by a message, note or activation, creating it when it
// is not declared (as Mermaid does), and returns its ID.
func (p *seqParser) use(n int, name string) (string, bool) {
	id := strings.TrimSpace(name)
	if !validName(id) {
		p.problem(n, fmt.Sprintf("%s is not a participant name Mermaid can read: a name cannot be empty or hold > : , ; + or start or end with -", quote(id)))
		return "", false
	}
	if _, ok := p.index[id]; !ok {
		p.index[id] = len(p.seq.Participants)
		p.seq.Participants = append(p.seq.Participants, Participant{ID: id, Label: id, Line: n})
	}
	return id, true
}

// validName reports whether Mermaid would read s as one participant name.
func validName(s string) bool {
	return s != "" && !strings.ContainsAny(s, ">:,;+\uE000\uE001") &&
		!strings.HasPrefix(s, "-") && !strings.HasSuffix(s, "-") && !arrowPattern.MatchString(s)
}

// deactivate ends one activation of id; Mermaid refuses to draw a deactivation of a
// participant that is not active.
func (p *seqParser) deactivate(n int, id string) {
	if p.active[id] == 0 {
		p.problem(n, fmt.Sprintf("%s is deactivated here but is not active: Mermaid refuses to draw this; "+
			"activate it first (`activate %s`, or a + after an arrow pointing at it)", id, id))
		return
	}
	p.active[id]--
}

// autonumber accepts "autonumber", "autonumber off", "autonumber N" and "autonumber N STEP".
func (p *seqParser) autonumber(n int, rest string) {
	args := strings.Fields(rest)
	ok := len(args) <= 2
	for _, a := range args {
		if strings.EqualFold(a, "off") && len(args) == 1 {
			continue
		}
		ok = ok && strings.Trim(a, "0123456789") == ""
	}
	if !ok {
		p.problem(n, "autonumber takes nothing, off, a start number, or a start and a step, e.g. `autonumber 1 1`")
	}
}

// noteStatement parses the rest of a "Note left of|right of|over A[,B]: text" line.
func (p *seqParser) noteStatement(n int, rest string) {
	var placement string
	for _, pl := range []string{"left of", "right of", "over"} {
		if after, ok := cutPrefixFold(rest, pl); ok && (after == "" || after[0] == ' ' || after[0] == '\t') {
			placement = pl
			rest = strings.TrimSpace(after)
			break
		}
	}
	if placement == "" {
		p.problem(n, "a note needs a place: `Note left of A: text`, `Note right of A: text`, `Note over A: text` or `Note over A,B: text`")
		return
	}
	names, text, hasText := strings.Cut(rest, ":")
	parts := strings.Split(names, ",")
	if len(parts) > 2 || (len(parts) == 2 && placement != "over") {
		p.problem(n, "a note stands beside one participant, or over one or two: `Note over A,B: text`")
		return
	}
	note := Note{Placement: placement, Line: n, Context: p.context()}
	for _, name := range parts {
		id, ok := p.use(n, name)
		if !ok {
			return
		}
		note.Over = append(note.Over, id)
	}
	if !hasText {
		note.Text = ""
		p.note = &note // a multi-line note: its text follows, up to "end"
		return
	}
	note.Text = messageText(text)
	p.seq.Notes = append(p.seq.Notes, note)
}

// message parses "From->>To: text" and its variants.
func (p *seqParser) message(n int, s string, afterSemicolon bool) {
	head, text, hasText := strings.Cut(s, ":")
	m := arrowPattern.FindStringSubmatch(head)
	if m == nil {
		p.unknown(n, s, afterSemicolon)
		return
	}
	from, to := strings.TrimSpace(m[1]), strings.TrimSpace(m[4])
	if !validName(from) || !validName(to) {
		p.unknown(n, s, afterSemicolon)
		return
	}
	if !hasText {
		p.problem(n, fmt.Sprintf("a message needs a colon and a label after the receiver, e.g. `%s%s%s: SYN`", from, m[2], to))
		return
	}
	p.use(n, from)
	p.use(n, to)
	msg := Message{
		From: from, To: to, Arrow: m[2],
		Activate: m[3] == "+", Deactivate: m[3] == "-",
		Text: messageText(text), Line: n, Context: p.context(),
	}
	if msg.Deactivate {
		p.deactivate(n, from)
	}
	if msg.Activate {
		p.active[to]++
	}
	p.seq.Messages = append(p.seq.Messages, msg)
}

// messageText cleans the text after a colon: Mermaid's wrap:/nowrap: prefix goes, entity
// codes come back.
func messageText(s string) string {
	s = strings.TrimSpace(s)
	for _, prefix := range []string{"wrap:", "nowrap:"} {
		if rest, ok := cutPrefixFold(s, prefix); ok {
			s = strings.TrimSpace(rest)
		}
	}
	return restoreEntities(s)
}

// unknown reports a statement Mermaid cannot read.
func (p *seqParser) unknown(n int, s string, afterSemicolon bool) {
	msg := fmt.Sprintf("Mermaid cannot read %s: a sequenceDiagram line is a participant, a message such as `Client->>Kernel: SYN`, "+
		"a note such as `Note over Kernel: text`, or a loop/alt/opt/par/critical/break/rect block closed by `end`", quote(s))
	if afterSemicolon {
		msg += "; this text follows a ; and Mermaid reads ; as the end of a line, so keep ; out of message and note text"
	}
	p.problem(n, msg)
}

// finish reports what is still open at the end of the diagram.
func (p *seqParser) finish() {
	if p.note != nil {
		p.problem(p.note.Line, "this note has no colon, so Mermaid reads the lines below it as its text up to an end that never comes; write `Note over X: text` on one line")
	}
	if p.accDescr != 0 {
		p.problem(p.accDescr, "`accDescr {` is never closed with `}`")
	}
	for i := len(p.frames) - 1; i >= 0; i-- {
		f := p.seq.Frames[p.frames[i]]
		p.problem(f.Line, fmt.Sprintf("this %s is never closed: add a line `end` after its last line", f.Kind))
	}
}

// problem records a finding, at most one per line.
func (p *seqParser) problem(n int, msg string) {
	if n == p.lastProbl && n != 0 {
		return
	}
	p.lastProbl = n
	p.seq.Problems = append(p.seq.Problems, report.Finding{Line: n, Message: msg})
}

// quote shows a piece of the student's text in a message, shortened when long.
func quote(s string) string {
	s = strings.TrimSpace(restoreEntities(s))
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

// cutPrefixFold is strings.CutPrefix ignoring case, as Mermaid reads keywords.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
