package artifact

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/wirelab/wirelab/grader/report"
)

// StateDiagram is a parsed Mermaid stateDiagram-v2 (or stateDiagram, which Mermaid reads
// the same way).
type StateDiagram struct {
	Line        int     // line of the stateDiagram keyword (the block's line if absent)
	States      []State // in order of first appearance, declared or only used
	Transitions []Transition
	Notes       []StateNote
	Problems    []report.Finding // what Mermaid would refuse to draw, or draw other than meant; one per line
}

// StartEnd is how a transition names the start or end of a (composite) state: [*].
const StartEnd = "[*]"

// State kinds other than a plain state.
const (
	CompositeState = "composite" // state X { ... }
	ForkState      = "fork"      // state X <<fork>>
	JoinState      = "join"      // state X <<join>>
	ChoiceState    = "choice"    // state X <<choice>>
)

// State is a state of the diagram. Mermaid state names are those of the whole diagram:
// the same name inside two composite states is one state.
type State struct {
	ID           string   // the name transitions use
	Label        string   // the text shown: from `state "Label" as ID`; the ID when there is none
	Descriptions []string // the text of `ID : text` lines, shown under the name
	Kind         string   // "" for a plain state, or CompositeState, ForkState, JoinState, ChoiceState
	Parents      []string // the composite states it appears in, first one first; "" is the top level
	Line         int      // line of its first appearance
	End          int      // a composite state's closing "}"; 0 when never closed
}

// Transition is an arrow `From --> To : Label`; From or To is StartEnd for [*].
type Transition struct {
	From, To string
	Label    string // the text after the colon; "" when there is none
	Parent   string // the composite state whose braces hold it; "" at the top level
	Line     int
}

// StateNote is a note beside a state, or a floating note.
type StateNote struct {
	Placement string // "left of" or "right of"; "" for a floating note (`note "text" as N`)
	State     string // the state it stands beside; a floating note's own name
	Text      string
	Parent    string
	Line      int // line of the note statement (a multi-line note's first line)
}

// State returns the state with that ID.
func (d *StateDiagram) State(id string) (State, bool) {
	for _, s := range d.States {
		if s.ID == id {
			return s, true
		}
	}
	return State{}, false
}

// ParseStateDiagram parses a ```mermaid block holding a stateDiagram-v2. It reads the
// subset people write: transitions with and without labels, [*], `state "Long name" as
// X`, composite states (nested, with their own [*]), fork/join/choice states, notes on
// one line or up to `end note`, `X : description` lines, %% comments, direction, the
// `--` separator of concurrent regions, classDef/class/style lines (ignored). What
// Mermaid would not accept, or would draw other than the student meant (a state name
// with spaces becomes several states), becomes a Problem at its line; parsing goes on with
// the next line.
func ParseStateDiagram(b Block) StateDiagram {
	p := &stateParser{d: StateDiagram{Line: b.Line}, index: map[string]int{}}
	body := diagramBody(b)
	if len(body) == 0 {
		p.problem(b.Line, "this ```mermaid block is empty: a state diagram starts with a line `stateDiagram-v2`")
		return p.d
	}
	p.d.Line = body[0].N
	rest, ok := stateHeader(body[0].Text)
	if !ok {
		if kind := diagramKeyword(body[0].Text); kind != "" && !strings.EqualFold(kind, "stateDiagram-v2") && !strings.EqualFold(kind, "stateDiagram") {
			p.problem(body[0].N, fmt.Sprintf("this block is a %s, not a stateDiagram-v2", kind))
		} else {
			p.problem(body[0].N, fmt.Sprintf("write the first line as `stateDiagram-v2`, spelled exactly so: Mermaid does not recognise %s", quote(body[0].Text)))
		}
		return p.d
	}
	if rest != "" {
		p.line(Line{N: body[0].N, Text: rest})
	}
	for _, l := range body[1:] {
		p.line(l)
	}
	p.finish()
	return p.d
}

// stateHeader reads a state diagram's first line: the keyword stateDiagram-v2 or
// stateDiagram, spelled exactly (Mermaid's detection is case-sensitive), then whatever
// follows it on the line.
func stateHeader(s string) (rest string, ok bool) {
	if i := strings.Index(s, "%%"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	for _, kw := range []string{"stateDiagram-v2", "stateDiagram"} {
		if after, found := strings.CutPrefix(s, kw); found && (after == "" || after[0] == ' ' || after[0] == '\t') {
			return strings.TrimSpace(after), true
		}
	}
	return "", false
}

// stateParser holds the state of one ParseStateDiagram.
type stateParser struct {
	d      StateDiagram
	index  map[string]int // state ID → index into d.States
	open   []int          // open composite states, as indexes into d.States, innermost last
	openAt []int          // the line that opened each of them

	note      *StateNote // a multi-line note waiting for its "end note"
	accDescr  int        // line of an open accDescr { ... }, 0 when none
	braceFor  string     // a state declared without "{" on the line before: a "{" alone may open it
	lastProbl int        // line of the last problem: one problem per line is enough
}

// line parses one line of the diagram.
func (p *stateParser) line(l Line) {
	t := strings.TrimSpace(l.Text)
	switch {
	case p.accDescr != 0:
		if strings.Contains(t, "}") {
			p.accDescr = 0
		}
		return
	case p.note != nil:
		p.noteLine(t)
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
	s := maskEntities(t)
	if strings.HasPrefix(s, "#") {
		return // Mermaid skips a line starting with # as a comment
	}
	if i := strings.Index(s, "%%"); i >= 0 {
		s = s[:i] // a comment after a statement
	}
	braceFor := p.braceFor
	p.braceFor = ""
	s = strings.TrimSpace(s)
	if s == "{" && braceFor != "" {
		p.openComposite(l.N, braceFor)
		return
	}
	p.statement(l.N, s)
}

// noteLine adds a line to the open multi-line note, or ends it at "end note".
func (p *stateParser) noteLine(t string) {
	if i := strings.Index(strings.ToLower(t), "end note"); i >= 0 {
		p.note.Text = strings.TrimSpace(p.note.Text + " " + restoreEntities(t[:i]))
		p.d.Notes = append(p.d.Notes, *p.note)
		p.note = nil
		return
	}
	p.note.Text += " " + restoreEntities(t)
}

// stateKeyword matches a statement's keyword: its first word and the blank after it.
var stateKeyword = regexp.MustCompile(`^(?i)(state|note|direction|classDef|class|style|scale|end)(\s+|$)`)

// wrongArrow finds an arrow Mermaid's state diagrams do not draw (->, ==>, <--, →),
// before any label.
var wrongArrow = regexp.MustCompile(`^[^:]*?(<-+|-+>|=+>|→|⟶|—>|–>)`)

// statement parses one statement (comments removed).
func (p *stateParser) statement(n int, s string) {
	if s == "" {
		return
	}
	if s == "}" {
		p.closeComposite(n)
		return
	}
	if m := stateKeyword.FindStringSubmatch(s); m != nil {
		rest := strings.TrimSpace(s[len(m[0]):])
		if strings.HasPrefix(rest, "-->") || strings.HasPrefix(rest, ":") {
			p.problem(n, fmt.Sprintf("Mermaid reads %s as a keyword, not as a state's name: call the state something else, e.g. %s_1", quote(m[1]), m[1]))
			return
		}
		switch strings.ToLower(m[1]) {
		case "state":
			p.stateStatement(n, rest)
		case "note":
			p.noteStatement(n, rest)
		case "direction":
			if d := strings.ToUpper(rest); d != "TB" && d != "BT" && d != "LR" && d != "RL" {
				p.problem(n, fmt.Sprintf("direction takes TB, BT, LR or RL, not %s", quote(rest)))
			}
		case "classdef", "class", "style", "scale":
			// styling and size: nothing to check
		case "end":
			p.problem(n, "`end` closes nothing in a state diagram: a composite state ends with `}`, a multi-line note with `end note`")
		}
		return
	}
	if strings.EqualFold(s, "hide empty description") {
		return
	}
	if s == "--" {
		if len(p.open) == 0 {
			p.problem(n, "`--` separates concurrent regions inside a composite state (`state X { ... -- ... }`); outside one Mermaid cannot read it")
		}
		return
	}
	s = styleClass.ReplaceAllString(s, "") // A:::waiting is state A drawn in the class waiting
	arrow := strings.Index(s, "-->")
	colon := strings.Index(s, ":")
	switch {
	case arrow >= 0 && (colon < 0 || arrow < colon):
		p.transition(n, s)
	case wrongArrow.MatchString(s):
		p.problem(n, fmt.Sprintf("Mermaid cannot read the arrow in %s: a state diagram's transition is written with two dashes and >, e.g. `C_FIN_WAIT_1 --> C_FIN_WAIT_2 : receive ACK`", quote(s)))
	case colon >= 0:
		p.description(n, s)
	case len(strings.Fields(s)) == 1:
		if p.validID(n, s) {
			p.use(n, s)
		}
	default:
		p.unknown(n, s)
	}
}

// styleClass matches the :::class a state name may carry.
var styleClass = regexp.MustCompile(`:::[^\s:]+`)

// transition parses `From --> To` and `From --> To : label`.
func (p *stateParser) transition(n int, s string) {
	left, right, _ := strings.Cut(s, "-->")
	toPart, label, hasLabel := strings.Cut(right, ":")
	from, to := strings.TrimSpace(left), strings.TrimSpace(toPart)
	if strings.Contains(toPart, "-->") {
		p.problem(n, "Mermaid draws one transition per line: write `A --> B` and `B --> C` on lines of their own")
		return
	}
	if strings.HasSuffix(from, "-") || strings.HasPrefix(to, ">") {
		p.problem(n, fmt.Sprintf("Mermaid cannot read the arrow in %s: a transition's arrow is exactly -->", quote(s)))
		return
	}
	if from == "" || to == "" {
		p.problem(n, "a transition needs a state on each side of the arrow, e.g. `C_ESTABLISHED --> C_FIN_WAIT_1 : close() / send FIN`")
		return
	}
	if !p.validID(n, from) || !p.validID(n, to) {
		return
	}
	if hasLabel && !p.validText(n, label, "a transition's label") {
		return
	}
	p.use(n, from)
	p.use(n, to)
	p.d.Transitions = append(p.d.Transitions, Transition{
		From: from, To: to, Label: restoreEntities(strings.TrimSpace(label)), Parent: p.parent(), Line: n,
	})
}

// description parses `ID : text`, a line of text shown under the state's name.
func (p *stateParser) description(n int, s string) {
	id, text, _ := strings.Cut(s, ":")
	id = strings.TrimSpace(id)
	if !p.validID(n, id) || !p.validText(n, text, "a state's description") {
		return
	}
	if id == StartEnd {
		return
	}
	st := p.use(n, id)
	st.Descriptions = append(st.Descriptions, restoreEntities(strings.TrimSpace(text)))
}

// pseudoStates are the markers of fork, join and choice states.
var pseudoStates = map[string]string{
	"<<fork>>": ForkState, "<<join>>": JoinState, "<<choice>>": ChoiceState,
	"[[fork]]": ForkState, "[[join]]": JoinState, "[[choice]]": ChoiceState,
}

// stateStatement parses what follows "state": `X`, `X {`, `"Long name" as X`,
// `"Long name" as X {`, `X <<choice>>`; a `{ ... }` may hold statements on the same line.
func (p *stateParser) stateStatement(n int, rest string) {
	if rest == "" {
		p.problem(n, "`state` needs a name after it, e.g. `state Client {` or `state \"FIN_WAIT_1\" as C_FW1`")
		return
	}
	for marker, kind := range pseudoStates {
		if len(rest) > len(marker) && strings.EqualFold(rest[len(rest)-len(marker):], marker) {
			id := strings.TrimSpace(rest[:len(rest)-len(marker)])
			if p.validID(n, id) {
				p.use(n, id).Kind = kind
			}
			return
		}
	}
	label := ""
	if strings.HasPrefix(rest, `"`) {
		end := strings.Index(rest[1:], `"`)
		if end < 0 {
			p.problem(n, "this state's display name has no closing quote: `state \"FIN_WAIT_1\" as C_FW1`")
			return
		}
		label = strings.TrimSpace(restoreEntities(rest[1 : 1+end]))
		after := strings.TrimSpace(rest[2+end:])
		idPart, ok := cutPrefixFold(after, "as")
		if !ok || (idPart != "" && idPart[0] != ' ' && idPart[0] != '\t') {
			p.problem(n, fmt.Sprintf("a display name needs a short name after as, which transitions then use: `state \"%s\" as X`", label))
			return
		}
		rest = strings.TrimSpace(idPart)
	}
	idPart, body, opens := strings.Cut(rest, "{")
	id, desc := strings.TrimSpace(idPart), ""
	if label != "" { // state "Label" as X : more text
		if name, more, ok := strings.Cut(id, ":"); ok {
			id, desc = strings.TrimSpace(name), strings.TrimSpace(more)
		}
	}
	if id == "" {
		p.problem(n, "`state` needs a name, e.g. `state Client {` or `state \"FIN_WAIT_1\" as C_FW1`")
		return
	}
	if !p.validID(n, id) {
		return
	}
	st := p.use(n, id)
	if label != "" {
		st.Label = label
	}
	if desc != "" {
		st.Descriptions = append(st.Descriptions, restoreEntities(desc))
	}
	if !opens {
		p.braceFor = id
		return
	}
	p.openComposite(n, id)
	body = strings.TrimSpace(body)
	if inner, closes := strings.CutSuffix(body, "}"); closes {
		p.statement(n, strings.TrimSpace(inner))
		p.closeComposite(n)
		return
	}
	p.statement(n, body)
}

// openComposite makes id a composite state whose statements follow.
func (p *stateParser) openComposite(n int, id string) {
	st := p.use(n, id)
	st.Kind = CompositeState
	p.open = append(p.open, p.index[id])
	p.openAt = append(p.openAt, n)
}

// closeComposite ends the innermost composite state.
func (p *stateParser) closeComposite(n int) {
	if len(p.open) == 0 {
		p.problem(n, "this `}` closes nothing: every `}` must close a `state X {` opened above it")
		return
	}
	p.d.States[p.open[len(p.open)-1]].End = n
	p.open = p.open[:len(p.open)-1]
	p.openAt = p.openAt[:len(p.openAt)-1]
}

// noteStatement parses the rest of `note left of X : text`, `note right of X` (whose
// text follows up to `end note`) or `note "text" as N`.
func (p *stateParser) noteStatement(n int, rest string) {
	if strings.HasPrefix(rest, `"`) {
		end := strings.Index(rest[1:], `"`)
		if end < 0 {
			p.problem(n, "this note's text has no closing quote")
			return
		}
		name := ""
		if after, ok := cutPrefixFold(strings.TrimSpace(rest[2+end:]), "as"); ok {
			name = strings.TrimSpace(after)
		}
		p.d.Notes = append(p.d.Notes, StateNote{State: name, Text: restoreEntities(rest[1 : 1+end]), Parent: p.parent(), Line: n})
		return
	}
	var placement string
	for _, pl := range []string{"left of", "right of"} {
		if after, ok := cutPrefixFold(rest, pl); ok && (after == "" || after[0] == ' ' || after[0] == '\t') {
			placement, rest = pl, strings.TrimSpace(after)
			break
		}
	}
	if placement == "" {
		p.problem(n, "a note needs a place: `note right of C_TIME_WAIT : text`, or `note left of ...`")
		return
	}
	idPart, text, hasText := strings.Cut(rest, ":")
	id := strings.TrimSpace(idPart)
	if id == "" {
		p.problem(n, "a note needs the state it stands beside: `note right of C_TIME_WAIT : text`")
		return
	}
	if !p.validID(n, id) {
		return
	}
	p.use(n, id)
	note := StateNote{Placement: placement, State: id, Parent: p.parent(), Line: n}
	if !hasText {
		p.note = &note // a multi-line note: its text follows, up to "end note"
		return
	}
	if !p.validText(n, text, "a one-line note") {
		return
	}
	note.Text = restoreEntities(strings.TrimSpace(text))
	p.d.Notes = append(p.d.Notes, note)
}

// validID reports whether Mermaid reads id as one state name, and says why not.
func (p *stateParser) validID(n int, id string) bool {
	switch {
	case id == StartEnd:
		return true
	case strings.Contains(id, `"`):
		p.problem(n, fmt.Sprintf("%s: a state name cannot be quoted where it is used; declare it with its display name, `state \"FIN WAIT 1\" as C_FW1`, and use C_FW1", quote(id)))
	case strings.ContainsAny(id, " \t"):
		p.problem(n, fmt.Sprintf("%s holds spaces, so Mermaid reads each word as a state of its own; write one word such as %s, or give the state a display name: `state \"%s\" as X`",
			quote(id), strings.Join(strings.Fields(id), "_"), id))
	case strings.Contains(id, "-"):
		p.problem(n, fmt.Sprintf("%s: Mermaid state names cannot hold - (Mermaid stops reading the name there); write %s, or keep the dashes in a display name: `state \"%s\" as X`",
			quote(id), strings.ReplaceAll(id, "-", "_"), id))
	case strings.ContainsAny(id, "{};:\uE000\uE001"):
		p.problem(n, fmt.Sprintf("%s is not a state name Mermaid can read: a name is one word without { } ; or :", quote(id)))
	default:
		return true
	}
	return false
}

// validText reports whether Mermaid reads the text after a colon whole: it stops at a
// second colon or a ;, and needs something after the colon.
func (p *stateParser) validText(n int, text, what string) bool {
	switch t := strings.TrimSpace(text); {
	case t == "":
		p.problem(n, fmt.Sprintf("nothing follows the colon: write the text of %s after it, or drop the colon", what))
	case strings.Contains(t, ":"):
		p.problem(n, fmt.Sprintf("%s cannot hold a second colon: Mermaid stops reading at it (%s); write the rest without one, e.g. with / or a dash", what, quote(t)))
	case strings.Contains(t, ";"):
		p.problem(n, fmt.Sprintf("%s cannot hold a ; (Mermaid stops reading at it): use a comma or /", what))
	default:
		return true
	}
	return false
}

// use records a state used or declared on line n, in the current composite state, and
// returns it.
func (p *stateParser) use(n int, id string) *State {
	if id == StartEnd {
		return &State{ID: id} // the start or end of its composite state, not a state of its own
	}
	parent := p.parent()
	if st := p.find(id); st != nil {
		if !slices.Contains(st.Parents, parent) && parent != id {
			st.Parents = append(st.Parents, parent)
		}
		return st
	}
	p.index[id] = len(p.d.States)
	p.d.States = append(p.d.States, State{ID: id, Label: id, Parents: []string{parent}, Line: n})
	return &p.d.States[len(p.d.States)-1]
}

// find returns the state with that ID, or nil.
func (p *stateParser) find(id string) *State {
	if i, ok := p.index[id]; ok {
		return &p.d.States[i]
	}
	return nil
}

// parent is the ID of the innermost open composite state, "" at the top level.
func (p *stateParser) parent() string {
	if len(p.open) == 0 {
		return ""
	}
	return p.d.States[p.open[len(p.open)-1]].ID
}

// unknown reports a statement of several words that is none of the above. Mermaid reads
// words without - or { as state names, so it draws each of them as a state of its own.
func (p *stateParser) unknown(n int, s string) {
	what := fmt.Sprintf("Mermaid cannot read %s", quote(s))
	if !strings.ContainsAny(s, "-{\"") {
		words := strings.Fields(s)
		what = fmt.Sprintf("Mermaid reads %s as %d states of their own (%s), not as one statement", quote(s), len(words), strings.Join(words, ", "))
	}
	p.problem(n, what+": a stateDiagram line is a transition such as `C_ESTABLISHED --> C_FIN_WAIT_1 : close() / send FIN`, "+
		"a state such as `state \"FIN_WAIT_1\" as C_FW1` or `state Client {`, a note such as `note right of C_TIME_WAIT : text`, "+
		"or the `}` that closes a composite state")
}

// finish reports what is still open at the end of the diagram.
func (p *stateParser) finish() {
	if p.note != nil {
		p.problem(p.note.Line, "this note has no colon, so Mermaid reads the lines below it as its text up to an `end note` that never comes; "+
			"write `note right of X : text` on one line, or end the note with a line `end note`")
	}
	if p.accDescr != 0 {
		p.problem(p.accDescr, "`accDescr {` is never closed with `}`")
	}
	for i := len(p.open) - 1; i >= 0; i-- {
		st := p.d.States[p.open[i]]
		p.problem(p.openAt[i], fmt.Sprintf("the composite state %s is never closed: add a line `}` after its last line", st.ID))
	}
}

// problem records a finding, at most one per line.
func (p *stateParser) problem(n int, msg string) {
	if n == p.lastProbl && n != 0 {
		return
	}
	p.lastProbl = n
	p.d.Problems = append(p.d.Problems, report.Finding{Line: n, Message: msg})
}
