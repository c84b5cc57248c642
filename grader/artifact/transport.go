package artifact

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"github.com/wirelab/wirelab/grader/internal/words"
	"github.com/wirelab/wirelab/grader/report"
)

// The transport-decision check (case 02, UDP metrics lost under load): the artifact is a
// Markdown table with one row per message type, saying how much loss the type tolerates
// and which transport carries it. The rules, as implemented:
//
//   - The decision table is a table whose header has the columns Message type, Loss
//     tolerance, Ordering, Retry, Backpressure, Transport and Why, each found by a prefix
//     of its header cell, case-insensitively: "message", "loss", "order", "retr", "back",
//     "transport", "why" (so "Retries" and "Back-pressure" are fine). Every table with all
//     seven is read, rows in file order (a table split in two still counts as one). With
//     none complete, the first table with the most of them (at least three) is judged and
//     each missing column is a finding; with none of that kind, the missing table is.
//   - At least three rows. Every cell filled: a cell with no letter or digit ("", "-",
//     "?") is empty; a cell holding the marker TODO is a placeholder, reported, and never read as an
//     answer. TODO markers in the text around the table are reported as in every check.
//   - Loss tolerance: the first "tolerant" or "intolerant" of the cell is its verdict
//     ("loss-tolerant", "Tolerant: a gap in a graph" are tolerant). It is not tolerant
//     when the word is "intolerant" ("loss-intolerant"), or when "not", "non" or "never"
//     stands up to three words before it in the same clause ("not tolerant", "not
//     loss-tolerant", "non-tolerant", "not at all tolerant"); clauses end at , ; : ( ) [ ]
//     . ! ? and dashes. Anything else ("none", "low", "zero tolerance") is a finding: a
//     reader cannot tell which way it goes. At least one row must be tolerant and one not.
//   - Transport: the cell must choose exactly one of TCP, QUIC and UDP; UDP is "UDP with
//     app reliability" when the cell also names acknowledgements, retries or reliability
//     (a word starting with ack, nack, nak, retr, resen or reliab: "UDP + acks", "UDP with
//     acknowledgements/retries", "reliable UDP", "UDP with app-level reliability"), and raw
//     UDP otherwise ("UDP", "UDP with sequence numbers", "unreliable UDP"). A name or
//     qualifier after "not", "no", "without", "never", "non", "nor", "than", "instead",
//     "vs" or "versus" in the same clause is rejected, not chosen ("UDP with acks, not
//     TCP", "UDP, no retries"); here a clause also ends at the words "but" and "with"
//     ("not TCP but QUIC", "UDP with no acks"). "UDP" right after "over", "on", "atop" or
//     "of" in a cell that chooses QUIC is what QUIC runs on, not a second choice ("QUIC
//     over UDP").
//   - A row that is not tolerant on raw UDP is a finding on that row.
//   - Words are matched in lower case, as normalize writes them ("ACKs", "Not Tolerant").
//   - TCP, UDP and QUIC are each weighed: chosen in a Transport cell (UDP with app
//     reliability counts as UDP), or named anywhere in a Why cell.
//
// Findings point at the row they concern (its line), or at the table's header line for
// what the table as a whole lacks.

// transportWhat is what the artifact should hold, for messages.
const transportWhat = "a Markdown table with one row per message type and the columns Message type, Loss tolerance, Ordering, Retry, Backpressure, Transport and Why"

// The columns, in the template's order, and their indexes.
const (
	colType = iota
	colLoss
	colOrder
	colRetry
	colBackpressure
	colTransport
	colWhy
	numDecisionColumns
)

var decisionColumns = []tableColumn{
	{"Message type", []string{"message"}, "what the message is, e.g. sampled metrics"},
	{"Loss tolerance", []string{"loss"}, "`tolerant` or `not tolerant`, and what one lost message costs"},
	{"Ordering", []string{"order"}, "whether order matters, and who restores it"},
	{"Retry", []string{"retr"}, "how a lost message is noticed and sent again (or why it is not)"},
	{"Backpressure", []string{"back"}, "what the sender does when the receiver is slow or gone"},
	{"Transport", []string{"transport"}, "`UDP`, `UDP with app reliability`, `TCP` or `QUIC`"},
	{"Why", []string{"why"}, "the reason, in your own words, and the choice you rejected"},
}

// decisionHeader is the header row of the template's table, for messages.
const decisionHeader = "`| Message type | Loss tolerance | Ordering | Retry | Backpressure | Transport | Why |`"

// minDecisionRows is the fewest message types the table must hold.
const minDecisionRows = 3

// decisionTable is the decision table as the check reads it: the rows of one or more
// Markdown tables, their cells arranged by decisionColumns.
type decisionTable struct {
	line    int                      // header line of the first table
	spans   [][2]int                 // first and last line of each table read
	present [numDecisionColumns]bool // the column is in the header
	rows    []decisionRow
}

// decisionRow is one body row, its cells by decisionColumns (empty for a missing column).
type decisionRow struct {
	line  int
	cells [numDecisionColumns]Cell
}

// findDecisionTable picks the decision table among a document's tables (see the rules at
// the top of the file); ok is false when none is recognisable.
func findDecisionTable(tables []Table) (dt decisionTable, ok bool) {
	var chosen []Table
	best := 0
	for _, t := range tables {
		_, n := columnIndexes(t, decisionColumns)
		switch {
		case n == numDecisionColumns:
			if best < numDecisionColumns {
				chosen = nil
			}
			chosen, best = append(chosen, t), n
		case n > best && n >= 3:
			chosen, best = []Table{t}, n
		}
	}
	if len(chosen) == 0 {
		return decisionTable{}, false
	}
	dt.line = chosen[0].Line
	for _, t := range chosen {
		idx, _ := columnIndexes(t, decisionColumns)
		end := t.Line + 1 // the delimiter row
		for _, row := range t.Rows {
			r := decisionRow{line: row.Line}
			cellsByColumn(row, idx, r.cells[:])
			dt.rows = append(dt.rows, r)
			end = max(end, row.Line)
		}
		for c, i := range idx {
			dt.present[c] = dt.present[c] || i >= 0
		}
		dt.spans = append(dt.spans, [2]int{t.Line, end})
	}
	return dt, true
}

// covers reports whether a line belongs to one of the tables read.
func (dt decisionTable) covers(line int) bool {
	for _, s := range dt.spans {
		if line >= s[0] && line <= s[1] {
			return true
		}
	}
	return false
}

// checkTransportDecision is the transport-decision check.
func checkTransportDecision(path string, content []byte) Result {
	if len(bytes.TrimSpace(content)) == 0 {
		return Result{Findings: []report.Finding{emptyFinding(path, transportWhat)}}
	}
	doc := ParseMarkdown(content)
	findings := append([]report.Finding(nil), doc.Problems...)
	tables := Tables(content)
	dt, ok := findDecisionTable(tables)
	for _, f := range proseTODOs(doc) {
		if !dt.covers(f.Line) { // TODOs in the table's cells are reported per row
			findings = append(findings, f)
		}
	}
	if !ok {
		msg := "no decision table found: the file needs a Markdown table whose header is " + decisionHeader +
			", with the line `|---|---|---|---|---|---|---|` under it and one row per message type; start from the template's table"
		msg += tablesTooNarrow(tables)
		return Result{Findings: append(findings, report.Finding{Message: msg})}
	}
	r := transportReview{table: dt}
	r.columns()
	for _, row := range dt.rows {
		r.row(row)
	}
	r.whole()
	return Result{Findings: append(findings, r.findingList...), Notes: r.notes}
}

// transportReview is the judgement of the decision table.
type transportReview struct {
	table decisionTable
	findingList
	notes []string

	tolerant, intolerant int                // rows with each verdict
	weighed              map[transport]bool // transports chosen or named in a Why cell
	idempotent           bool               // a not-tolerant row names an idempotency key
}

// columns reports the columns the header lacks.
func (r *transportReview) columns() {
	r.missingColumns(r.table.line, "the decision table", decisionHeader, decisionColumns, r.table.present[:])
}

// row judges one row: cells filled, loss tolerance, transport, and the two together.
func (r *transportReview) row(row decisionRow) {
	todo, empty, usable := sortCells(decisionColumns, r.table.present[:], row.cells[:])
	r.leftUndone(row.line, decisionColumns, r.table.present[:], -1, todo, empty, "this row", "answer",
		"this row is still a placeholder: every cell holds a TODO; fill it in for one message type, "+
			"from what the message is to why it travels on the transport you chose")

	// cell names a cell of this row in a message, by the row's message type when it has one.
	cell := func(c int) string {
		if usable[colType] {
			return fmt.Sprintf("the %s cell of %s", decisionColumns[c].name, quote(row.cells[colType].Text))
		}
		return fmt.Sprintf("this row's %s cell", decisionColumns[c].name)
	}
	verdict := unknownTolerance
	if usable[colLoss] {
		text := row.cells[colLoss].Text
		verdict = lossVerdict(text)
		switch verdict {
		case tolerantLoss:
			r.tolerant++
		case intolerantLoss:
			r.intolerant++
		default:
			r.add(row.line, "%s (%s) says neither `tolerant` nor `not tolerant`: start the cell with one of them, "+
				"then say what one lost message costs; a word like \"none\" or \"low\" can be read both ways (no loss allowed, or little harm done)",
				cell(colLoss), quote(text))
		}
	}
	choice := noTransport
	if usable[colTransport] {
		text := row.cells[colTransport].Text
		var chosen, rejected []transport
		choice, chosen, rejected = transportChoice(text)
		for _, t := range chosen {
			r.weigh(t)
		}
		switch {
		case len(chosen) > 1:
			var names []string
			for _, t := range chosen {
				names = append(names, t.String())
			}
			r.add(row.line, "%s (%s) names more than one transport (%s): choose one for this message type, "+
				"and give the one you rejected, with the reason, in the Why cell", cell(colTransport), quote(text), joinAnd(names))
		case len(chosen) == 0 && len(rejected) > 0:
			r.add(row.line, "%s (%s) names %s only to reject it: say which transport carries this message type "+
				"(`UDP`, `UDP with app reliability`, `TCP` or `QUIC`), and give the rejected one, with the reason, in the Why cell",
				cell(colTransport), quote(text), rejected[0])
		case len(chosen) == 0:
			r.add(row.line, "%s (%s) names none of the transports to choose from: write `UDP`, "+
				"`UDP with app reliability` (your own acknowledgements and retries), `TCP` or `QUIC`", cell(colTransport), quote(text))
		}
	}
	if verdict == intolerantLoss && choice == rawUDP {
		typ := ""
		if usable[colType] {
			typ = " (" + quote(row.cells[colType].Text) + ")"
		}
		r.add(row.line, "this row's message type%s is not loss-tolerant, but it travels on raw UDP, where a lost message is lost silently: "+
			"nothing acknowledges it, nothing resends it, and sequence numbers would only show the gap, never fill it; "+
			"choose TCP, QUIC or UDP with app reliability (acknowledgements, retries and an idempotency key), "+
			"or, if one lost message really costs nothing, say it is tolerant and why", typ)
	}
	if usable[colWhy] {
		norm := normalize(strings.ToLower(row.cells[colWhy].Text))
		for _, t := range []transport{transportUDP, transportTCP, transportQUIC} {
			if hasPhrase(norm, t.word()) {
				r.weigh(t)
			}
		}
	}
	if verdict == intolerantLoss {
		for c := range decisionColumns {
			if usable[c] && hasWordPrefix(normalize(row.cells[c].Text), "idempot", "dedup") {
				r.idempotent = true
			}
		}
	}
}

// weigh records that the table weighs a transport.
func (r *transportReview) weigh(t transport) {
	if r.weighed == nil {
		r.weighed = map[transport]bool{}
	}
	r.weighed[t] = true
}

// transportTradeOffs says what each transport gives and costs, for the findings asking to
// weigh it (the brief's table of choices).
var transportTradeOffs = map[transport]string{
	transportUDP: "raw UDP gives low overhead, no connection state and no head-of-line blocking, and costs loss, " +
		"reordering and duplicates, all silent; UDP with your own acknowledgements gives exactly the reliability a message needs, " +
		"and costs a protocol of your own to get right",
	transportTCP: "TCP gives reliability, order and congestion control built in, and costs connection state, a handshake, " +
		"and stalls behind a lost segment (head-of-line blocking)",
	transportQUIC: "QUIC gives reliability and congestion control like TCP, over UDP, with streams that do not stall each other, " +
		"and costs connection state, a handshake and a library (quic-go)",
}

// whole reports what the table as a whole lacks: rows, a type of each tolerance, and a
// transport weighed nowhere.
func (r *transportReview) whole() {
	line := r.table.line
	if n := len(r.table.rows); n < minDecisionRows {
		r.add(line, "the table has %d %s: write one row per message type, at least %d "+
			"(for example sampled metrics, counters, and audit or payment events)", n, words.Plural(n, "row", "rows"), minDecisionRows)
	}
	if r.table.present[colLoss] {
		if r.tolerant == 0 {
			r.add(line, "no row is loss-tolerant: add a message type that can lose a message now and then "+
				"(a sampled metric: the next sample fills the gap); that is the traffic UDP suits, when the receiver can see what it lost")
		}
		if r.intolerant == 0 {
			r.add(line, "no row is not loss-tolerant: add a message type that must never be lost "+
				"(an audit or payment event: one lost event is a record nobody can restore); that is the traffic that needs "+
				"acknowledgements, retries and an idempotency key")
		}
	}
	if r.table.present[colTransport] || r.table.present[colWhy] {
		for _, t := range []transport{transportTCP, transportUDP, transportQUIC} {
			if !r.weighed[t] {
				r.add(line, "the table never weighs %[1]s: choose it for a message type, or name it in a Why cell with the reason "+
					"you rejected it (e.g. \"%[2]s rather than %[1]s because ...\"); %[3]s", t, rivalOf(t), transportTradeOffs[t])
			}
		}
	}
	if r.idempotent {
		r.notes = append(r.notes, "You name an idempotency key (or deduplication) for a message that must not be lost: "+
			"that is what makes a retry safe, so that \"sent twice\" is still recorded once.")
	}
}

// rivalOf is the transport an example weighs another against.
func rivalOf(t transport) transport {
	if t == transportTCP {
		return transportQUIC
	}
	return transportTCP
}

// blankCell reports whether a cell holds no answer: no letter and no digit ("", "-", "?").
func blankCell(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0
}

// tolerance is a row's verdict on loss.
type tolerance int

const (
	unknownTolerance tolerance = iota
	tolerantLoss
	intolerantLoss
)

// toleranceNegators turn "tolerant" into its opposite when they stand shortly before it.
var toleranceNegators = map[string]bool{"not": true, "non": true, "never": true}

// lossVerdict reads a Loss tolerance cell: the first "tolerant" or "intolerant" decides.
func lossVerdict(text string) tolerance {
	for _, words := range clauses(text) {
		for i, w := range words {
			switch w {
			case "intolerant":
				return intolerantLoss
			case "tolerant":
				for j := max(0, i-3); j < i; j++ {
					if toleranceNegators[words[j]] {
						return intolerantLoss
					}
				}
				return tolerantLoss
			}
		}
	}
	return unknownTolerance
}

// transport is what a Transport cell chooses, and what the table weighs.
type transport int

const (
	noTransport  transport = iota
	rawUDP                 // only in a choice: UDP without reliability of its own
	transportUDP           // UDP with app reliability in a choice; UDP in general when weighing
	transportTCP
	transportQUIC
)

// String names the transport as the feedback writes it.
func (t transport) String() string {
	switch t {
	case rawUDP:
		return "raw UDP"
	case transportUDP:
		return "UDP"
	case transportTCP:
		return "TCP"
	case transportQUIC:
		return "QUIC"
	}
	return "no transport"
}

// word is the transport's name as normalize writes it.
func (t transport) word() string {
	return strings.ToLower(t.String())
}

// transportNegators make the names and qualifiers after them in a clause rejected, not
// chosen: "not TCP", "UDP rather than TCP", "UDP without acks".
var transportNegators = map[string]bool{
	"not": true, "no": true, "without": true, "never": true, "non": true, "nor": true,
	"than": true, "instead": true, "vs": true, "versus": true,
}

// clauseBreakWords end a clause, and the negation in it, like punctuation does.
var clauseBreakWords = map[string]bool{"but": true, "with": true}

// reliabilityPrefixes start the words that make UDP "UDP with app reliability".
var reliabilityPrefixes = []string{"ack", "nack", "nak", "retr", "resen", "reliab"}

// udpCarrierWords before "UDP" make it what QUIC runs on ("QUIC over UDP").
var udpCarrierWords = map[string]bool{"over": true, "on": true, "atop": true, "of": true}

// transportChoice reads a Transport cell. It returns the choice (rawUDP, transportUDP for
// UDP with app reliability, transportTCP, transportQUIC; noTransport unless exactly one
// is chosen), the transports chosen (UDP counted once) and those named only to be
// rejected.
func transportChoice(text string) (choice transport, chosen, rejected []transport) {
	named := map[transport]bool{}   // chosen
	negated := map[transport]bool{} // named after a negator
	carrier := false                // every chosen UDP stands after "over", "on", ...
	udpFree := false                // some chosen UDP does not
	qualified := false              // a reliability word, not negated
	for _, words := range clauses(text) {
		neg := false
		for i, w := range words {
			if transportNegators[w] {
				neg = true
				continue
			}
			if clauseBreakWords[w] {
				neg = false
				continue
			}
			var t transport
			switch w {
			case "udp":
				t = transportUDP
			case "tcp":
				t = transportTCP
			case "quic":
				t = transportQUIC
			default:
				if !neg && hasWordPrefix(w, reliabilityPrefixes...) {
					qualified = true
				}
				continue
			}
			if neg {
				negated[t] = true
				continue
			}
			named[t] = true
			if t == transportUDP {
				if i > 0 && udpCarrierWords[words[i-1]] {
					carrier = true
				} else {
					udpFree = true
				}
			}
		}
	}
	if named[transportQUIC] && carrier && !udpFree {
		delete(named, transportUDP) // QUIC over UDP: one choice
	}
	for _, t := range []transport{transportUDP, transportTCP, transportQUIC} {
		switch {
		case named[t]:
			chosen = append(chosen, t)
		case negated[t]:
			rejected = append(rejected, t)
		}
	}
	if len(chosen) != 1 {
		return noTransport, chosen, rejected
	}
	choice = chosen[0]
	if choice == transportUDP && !qualified {
		choice = rawUDP
	}
	return choice, chosen, rejected
}

// clauses splits a cell's text into clauses at punctuation and dashes, each as
// normalized words. The text is lower-cased first, so that the camelCase rule of
// normalize does not split "ACKs" or "UDPs".
func clauses(text string) [][]string {
	parts := strings.FieldsFunc(text, func(r rune) bool {
		return strings.ContainsRune(",;:()[]{}.!?–—", r)
	})
	var out [][]string
	for _, p := range parts {
		if words := strings.Fields(normalize(strings.ToLower(p))); len(words) > 0 {
			out = append(out, words)
		}
	}
	return out
}
