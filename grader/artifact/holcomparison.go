package artifact

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/wirelab/wirelab/grader/internal/words"
	"github.com/wirelab/wirelab/grader/report"
)

// The hol-comparison check (case 04, head-of-line blocking and QUIC): the artifact is a
// Markdown table comparing HTTP/1.1 (a TCP connection per stream), HTTP/2 (one TCP
// connection) and HTTP/3 (one QUIC connection), each fetching K paced streams while
// exactly one packet is lost, with the student's own measured figures. The rules, as
// implemented:
//
//   - The comparison table is a table whose header has the columns Protocol,
//     Connections, Streams stalled, Longest stall and Why, each found by a prefix of its
//     header cell, case-insensitively: "proto", "conn", "streams" or "stalled", "longest"
//     or "max", "why" (so "Longest stall (ms)" and "Stalled streams" are fine). The first
//     table with the most of them (at least three) is judged and each missing column is a
//     finding; with none of that kind, the missing table is.
//   - Exactly one row each for HTTP/1.1, HTTP/2 and HTTP/3. A Protocol cell names its
//     protocol by the first "HTTP/<version>" (also "HTTP 2", "HTTP2", "h2"): 1.1 or 1 is
//     HTTP/1.1, 2 is HTTP/2, 3 is HTTP/3; anything else is an unknown protocol. A cell
//     that puts HTTP/1.1 or HTTP/2 on QUIC or UDP (without TCP), or HTTP/3 on TCP (without
//     QUIC), is not one of the setups compared: a finding, the row still read as its
//     version. A second row for a protocol is a finding; only the first is compared with
//     the other rows.
//   - Every cell filled: a cell with no letter or digit is empty; a cell holding the
//     marker TODO is a placeholder, reported, and never read as an answer. TODO markers in
//     the text around the table are reported as in every check.
//   - Connections: the first number of the cell, a whole number of at least 1. HTTP/2
//     and HTTP/3 must say 1 (all streams share one connection); HTTP/1.1 must say K, the
//     row's number of streams, or another row's when its own cannot be read (one
//     connection per stream).
//   - Streams stalled: "S of K", "S out of K" or "S/K" (the first such pair of the
//     cell), with 0 <= S <= K and K >= 2; every row must have the same K.
//   - The physics of one lost packet: HTTP/1.1 stalls exactly 1 stream; HTTP/2 stalls at
//     least 2, and more than HTTP/3; HTTP/3 stalls at least 1 and fewer than K.
//   - Longest stall: the first number of the cell, in milliseconds ("61", "61 ms",
//     "61.4 ms", "61,4 ms"; a cell in seconds or microseconds is a finding), more than 0
//     and less than 10000; in the HTTP/2 and HTTP/3 rows at least one chunk interval
//     (20 ms).
//   - Why: at least five words, which must name the layer's reason (words matched as
//     normalize writes them): HTTP/1.1 a connection (a word starting with "connection"),
//     HTTP/2 TCP together with its order (a word starting with "order" or "sequen", or
//     "byte stream"/"bytestream"), HTTP/3 QUIC or streams (a word starting with "stream").
//   - The command: outside the table, a code span or code block must hold "-proto" (the
//     client invocation that produced the figures).
//
// Findings point at the row they concern (its line), at the table's header line for what
// the table as a whole lacks, and at the first line starting with "Measured with" (or the
// whole file) for the missing command.

// holWhat is what the artifact should hold, for messages.
const holWhat = "a Markdown table with one row each for HTTP/1.1, HTTP/2 and HTTP/3 and the columns Protocol, Connections, Streams stalled, Longest stall and Why, and the client command you measured with"

// The columns, in the template's order, and their indexes.
const (
	hcProtocol = iota
	hcConnections
	hcStalled
	hcStall
	hcWhy
	numHOLColumns
)

var holColumns = []tableColumn{
	{"Protocol", []string{"proto"}, "`HTTP/1.1`, `HTTP/2` or `HTTP/3`"},
	{"Connections", []string{"conn"}, "how many connections your client opened for the streams, e.g. `1`"},
	{"Streams stalled", []string{"streams", "stalled"}, "how many of your K streams stalled, as `S of K`, e.g. `1 of 4`"},
	{"Longest stall", []string{"longest", "max"}, "the longest stall your client measured, in milliseconds, e.g. `55` or `55 ms`"},
	{"Why", []string{"why"}, "why the lost packet stalled those streams and no others, in your own words"},
}

// holHeader is the header row of the template's table, for messages.
const holHeader = "`| Protocol | Connections | Streams stalled | Longest stall (ms) | Why |`"

// holInterval is the time between two chunks of a stream, in milliseconds: a shorter
// stall is scheduling noise, not a stream waiting for a retransmission.
const holInterval = 20

// holMaxStall bounds a plausible stall from one lost packet, in milliseconds.
const holMaxStall = 10000

// minWhyWords is the fewest words a Why cell holds: a short sentence, not a keyword.
const minWhyWords = 5

// httpVersion is the protocol a row compares.
type httpVersion int

const (
	noHTTP httpVersion = iota
	http1
	http2
	http3
)

// httpVersions are the protocols compared, in the table's order.
var httpVersions = []httpVersion{http1, http2, http3}

// String names the protocol as the template and the messages write it.
func (v httpVersion) String() string {
	switch v {
	case http1:
		return "HTTP/1.1"
	case http2:
		return "HTTP/2"
	case http3:
		return "HTTP/3"
	}
	return "no protocol"
}

// carrier is what the protocol runs over in the comparison, for messages.
func (v httpVersion) carrier() string {
	switch v {
	case http1:
		return "a TCP connection per stream"
	case http2:
		return "one TCP connection"
	case http3:
		return "one QUIC connection"
	}
	return ""
}

// layer is the transport the protocol runs over in the comparison.
func (v httpVersion) layer() string {
	if v == http3 {
		return "QUIC"
	}
	return "TCP"
}

// holTable is the comparison table as the check reads it: its rows, their cells arranged
// by holColumns.
type holTable struct {
	line    int // header line
	end     int // last line (the delimiter row's when there is no body row)
	present [numHOLColumns]bool
	rows    []holRow
}

// holRow is one body row, its cells by holColumns (empty for a missing column).
type holRow struct {
	line  int
	cells [numHOLColumns]Cell
}

// findHOLTable picks the comparison table among a document's tables: the first with the
// most columns, at least three; ok is false when none is recognisable.
func findHOLTable(tables []Table) (ht holTable, ok bool) {
	best := -1
	bestN := 2
	for i, t := range tables {
		if _, n := columnIndexes(t, holColumns); n > bestN {
			best, bestN = i, n
		}
	}
	if best < 0 {
		return holTable{}, false
	}
	t := tables[best]
	idx, _ := columnIndexes(t, holColumns)
	ht = holTable{line: t.Line, end: t.Line + 1}
	for c, i := range idx {
		ht.present[c] = i >= 0
	}
	for _, row := range t.Rows {
		r := holRow{line: row.Line}
		cellsByColumn(row, idx, r.cells[:])
		ht.rows = append(ht.rows, r)
		ht.end = max(ht.end, row.Line)
	}
	return ht, true
}

// checkHOLComparison is the hol-comparison check.
func checkHOLComparison(path string, content []byte) Result {
	if len(bytes.TrimSpace(content)) == 0 {
		return Result{Findings: []report.Finding{emptyFinding(path, holWhat)}}
	}
	doc := ParseMarkdown(content)
	findings := append([]report.Finding(nil), doc.Problems...)
	tables := Tables(content)
	ht, ok := findHOLTable(tables)
	for _, f := range proseTODOs(doc) {
		if !ok || f.Line < ht.line || f.Line > ht.end { // TODOs in the table's cells are reported per row
			findings = append(findings, f)
		}
	}
	if f, missing := commandFinding(doc, content); missing {
		findings = append(findings, f)
	}
	if !ok {
		msg := "no comparison table found: the file needs a Markdown table whose header is " + holHeader +
			", with the line `|---|---|---|---|---|` under it and one row each for HTTP/1.1, HTTP/2 and HTTP/3; start from the template's table"
		msg += tablesTooNarrow(tables)
		return Result{Findings: append(findings, report.Finding{Message: msg})}
	}
	r := holReview{table: ht, first: map[httpVersion]*holFigures{}}
	r.columns()
	for _, row := range ht.rows {
		r.row(row)
	}
	r.whole()
	return Result{Findings: append(findings, r.findingList...)}
}

// commandFinding reports a document that never says how its figures were measured: no
// code span or code block outside the tables holds "-proto". The finding points at the
// first line starting with "Measured with", or at the whole file.
func commandFinding(doc Document, content []byte) (report.Finding, bool) {
	code := codeOutsideTables(content)
	for _, c := range code {
		if strings.Contains(c, "-proto") {
			return report.Finding{}, false
		}
	}
	line := 0
	for _, l := range doc.Prose {
		if strings.HasPrefix(normalize(l.Text), "measured with") {
			line = l.N
			break
		}
	}
	msg := "say how you measured: the file gives no client command with its -proto flag; put the command that produced " +
		"your figures in backticks, outside the table, e.g. Measured with: `client -addr 198.19.0.1:24000 -proto h2 -streams 4 -chunks 50 -interval 20ms` " +
		"(one per protocol, or one with a placeholder such as `-proto h1|h2|h3`), so that a reader knows what your figures measure and can run it again"
	return report.Finding{Line: line, Message: msg}, true
}

// codeOutsideTables returns the contents of a document's code spans and code blocks that
// stand outside its tables, in document order.
func codeOutsideTables(content []byte) []string {
	md := goldmark.New(goldmark.WithExtensions(extension.Table))
	root := md.Parser().Parse(text.NewReader(content))
	var out []string
	ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *east.Table:
			return ast.WalkSkipChildren, nil
		case *ast.CodeSpan:
			out = append(out, inlineText(n, content))
			return ast.WalkSkipChildren, nil
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			var b strings.Builder
			lines := n.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				b.Write(seg.Value(content))
			}
			out = append(out, strings.TrimSpace(b.String()))
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return out
}

// holFigures is what a row says, as far as it can be read.
type holFigures struct {
	line        int
	connections int // 0 when unreadable
	stalled     int // S; -1 when unreadable
	streams     int // K; 0 when unreadable
}

// holReview is the judgement of the comparison table.
type holReview struct {
	table holTable
	findingList
	first map[httpVersion]*holFigures // the first row of each protocol
}

// columns reports the columns the header lacks.
func (r *holReview) columns() {
	r.missingColumns(r.table.line, "the comparison table", holHeader, holColumns, r.table.present[:])
}

// row judges one row: cells filled, the protocol, and each figure on its own; what the
// rows say together is judged by whole.
func (r *holReview) row(row holRow) {
	todo, empty, usable := sortCells(holColumns, r.table.present[:], row.cells[:])

	proto := noHTTP
	if usable[hcProtocol] {
		text := row.cells[hcProtocol].Text
		var wrongCarrier string
		proto, wrongCarrier = protocolOf(text)
		switch {
		case proto == noHTTP:
			r.add(row.line, "this row's Protocol cell (%s) names none of the three protocols compared: write `HTTP/1.1` "+
				"(a TCP connection per stream), `HTTP/2` (one TCP connection) or `HTTP/3` (one QUIC connection)", quote(text))
		case wrongCarrier != "":
			r.add(row.line, "this row's Protocol cell (%s) puts %s on %s, which is not one of the setups compared: "+
				"%s runs over %s here; write `%s`", quote(text), proto, wrongCarrier, proto, proto.carrier(), proto)
		}
		if proto != noHTTP && r.first[proto] != nil {
			r.add(row.line, "a second %s row (the first is at line %d): keep one row per protocol, "+
				"with the figures of one measurement", proto, r.first[proto].line)
			proto = noHTTP // judged on its own, compared with nothing
		}
	}

	// name is how a message names this row.
	name := "this row"
	if proto != noHTTP {
		name = "the " + proto.String() + " row"
	}
	placeholder := "this row is still a placeholder: every cell holds a TODO; fill it in for one protocol " +
		"(HTTP/1.1, HTTP/2 or HTTP/3) with your own measured figures and why the lost packet stalled what it stalled"
	if usable[hcProtocol] {
		forWhat := "its protocol"
		if proto != noHTTP {
			forWhat = proto.String()
		}
		placeholder = fmt.Sprintf("%s is still a placeholder: its cells hold TODO; fill them in with your own measured figures "+
			"for %s (connections, streams stalled, longest stall) and why the lost packet stalled what it stalled", name, forWhat)
	}
	r.leftUndone(row.line, holColumns, r.table.present[:], hcProtocol, todo, empty, name, "answer", placeholder)

	fig := &holFigures{line: row.line, stalled: -1}
	if proto != noHTTP {
		r.first[proto] = fig
	}
	if usable[hcStalled] {
		text := row.cells[hcStalled].Text
		s, k, ok := stalledOf(text)
		switch {
		case !ok:
			r.add(row.line, "%s's Streams stalled cell (%s) is not of the form `S of K`: write how many of your K streams "+
				"stalled, e.g. `1 of 4` (or `1/4`)", name, quote(text))
		case k < 2:
			r.add(row.line, "%s's Streams stalled cell (%s) counts %d %s: with one stream there is no other stream "+
				"for a loss to block, so head-of-line blocking cannot show; measure with at least 2 streams (e.g. -streams 4)",
				name, quote(text), k, words.Plural(k, "stream", "streams"))
		case s > k:
			r.add(row.line, "%s's Streams stalled cell (%s) says %d of %d: more streams stalled than there were; "+
				"write S of K with S at most K", name, quote(text), s, k)
		default:
			fig.stalled, fig.streams = s, k
			r.physics(row.line, proto, s, k, quote(text))
		}
	}
	if usable[hcConnections] {
		text := row.cells[hcConnections].Text
		n, isNumber, whole := firstNumber(text)
		switch {
		case !isNumber:
			r.add(row.line, "%s's Connections cell (%s) is not a number: write how many connections your client "+
				"opened for the streams, e.g. `1`", name, quote(text))
		case !whole || n < 1:
			r.add(row.line, "%s's Connections cell (%s) is not a whole number of at least 1: write how many "+
				"connections your client opened for the streams, e.g. `1`", name, quote(text))
		default:
			fig.connections = int(n)
			r.connections(row.line, proto, fig.connections)
		}
	}
	if usable[hcStall] {
		text := row.cells[hcStall].Text
		v, unit, ok := stallOf(text)
		switch {
		case !ok:
			r.add(row.line, "%s's Longest stall cell (%s) is not a number: write the longest stall your client measured, "+
				"in milliseconds, e.g. `55` or `55 ms`", name, quote(text))
		case unit != "":
			r.add(row.line, "%s's Longest stall cell (%s) is in %s: give it in milliseconds, e.g. `55 ms` for 0.055 s, "+
				"so that the three rows compare at a glance", name, quote(text), unit)
		case v <= 0:
			r.add(row.line, "%s's Longest stall cell (%s) is not more than 0 ms: a stall is the time a stream waited "+
				"beyond its 20 ms interval, so it is a positive number of milliseconds; write the longest one your client measured",
				name, quote(text))
		case v >= holMaxStall:
			r.add(row.line, "%s's Longest stall cell (%s) says %s ms, 10 seconds or more: one lost packet is recovered "+
				"in about a round trip (tens of milliseconds), or after a retransmission timeout (hundreds); check the unit "+
				"(milliseconds) and the figure", name, quote(text), strconv.FormatFloat(v, 'f', -1, 64))
		case v < holInterval && (proto == http2 || proto == http3):
			r.add(row.line, "%s's Longest stall cell (%s) is under 20 ms, the interval between two chunks of a stream: "+
				"a gap that short is scheduling noise, not a stream waiting for a retransmission, which takes about a round trip; "+
				"give the longest stall of a stream that stalled", name, quote(text))
		}
	}
	if usable[hcWhy] {
		r.why(row.line, proto, row.cells[hcWhy].Text)
	}
}

// physics judges one row's stalled streams against what one lost packet can do.
func (r *holReview) physics(line int, proto httpVersion, s, k int, cell string) {
	switch proto {
	case http1:
		switch {
		case s == 0:
			r.add(line, "the HTTP/1.1 row says %s streams stalled, none: one lost packet belongs to one stream's own "+
				"TCP connection and stalls that stream until it is retransmitted, so expect 1 of %d; 0 means the lost packet "+
				"carried no stream data (or none was lost), so measure again", cell, k)
		case s > 1:
			r.add(line, "the HTTP/1.1 row says %s streams stalled, but HTTP/1.1 gives each stream a TCP connection of its own, "+
				"and one lost packet belongs to one connection: only that connection's stream waits for the retransmission, "+
				"the other connections never see the loss; expect 1 of %d (if you measured more, check that your client opens "+
				"a connection per stream and reads each stream on its own)", cell, k)
		}
	case http2:
		if s < 2 {
			r.add(line, "the HTTP/2 row says %s streams stalled, but HTTP/2 carries every stream over one TCP connection, "+
				"and TCP delivers one ordered byte stream: the bytes after the hole wait for the retransmission whichever "+
				"stream they belong to, so every stream with data behind the hole stalls (head-of-line blocking); expect at "+
				"least 2, usually all %d; if you see fewer, check that your client multiplexes the streams on one connection "+
				"and reads each stream on its own", cell, k)
		}
	case http3:
		switch {
		case s == 0:
			r.add(line, "the HTTP/3 row says %s streams stalled, none: the lost packet carried no stream data (perhaps "+
				"only an acknowledgement), so this run shows nothing about head-of-line blocking; measure again until the loss "+
				"hits a stream's data, which then stalls that stream", cell)
		case s >= k:
			r.add(line, "the HTTP/3 row says %s streams stalled, every one, but QUIC orders bytes per stream: a lost packet "+
				"stalls only the stream(s) whose frames it carried, and the others' frames are delivered as they arrive; expect "+
				"fewer than %d (usually 1); if every stream stalled, check that your client opens a QUIC stream per stream "+
				"on one connection and reads each stream on its own", cell, k)
		}
	}
}

// connections judges one row's connections against its protocol: HTTP/2 and HTTP/3 here;
// HTTP/1.1's against K, which another row may give, in whole.
func (r *holReview) connections(line int, proto httpVersion, n int) {
	if (proto == http2 || proto == http3) && n != 1 {
		r.add(line, "the %s row says %d connections, but %s multiplexes all its streams over one %s connection: "+
			"that shared connection is what the comparison is about; if your client used more, it did not multiplex: "+
			"open one connection, run every stream on it, and measure again", proto, n, proto, proto.layer())
	}
}

// why judges one row's Why cell: a sentence, naming its protocol's reason.
func (r *holReview) why(line int, proto httpVersion, text string) {
	norm := normalize(text)
	name := "this row"
	if proto != noHTTP {
		name = "the " + proto.String() + " row"
	}
	if n := len(strings.Fields(norm)); n < minWhyWords {
		msg := fmt.Sprintf("%s's Why cell (%s) is too short to explain anything: write a sentence, in your own words, "+
			"on why the lost packet stalled the streams it stalled", name, quote(text))
		if reason := holReasons[proto]; reason != "" {
			msg += "; " + reason
		}
		r.add(line, "%s", msg)
		return
	}
	switch proto {
	case http1:
		if !hasWordPrefix(norm, "connection") {
			r.add(line, "the HTTP/1.1 row's Why cell does not mention connections, which are the reason here: %s", holReasons[http1])
		}
	case http2:
		tcp := hasPhrase(norm, "tcp")
		order := hasWordPrefix(norm, "order", "sequen", "bytestream") || hasPhrase(norm, "byte stream", "bytes stream")
		switch {
		case !tcp && !order:
			r.add(line, "the HTTP/2 row's Why cell names neither TCP nor its in-order delivery, which are the reason here: %s", holReasons[http2])
		case !tcp:
			r.add(line, "the HTTP/2 row's Why cell does not name TCP, the layer that stalls here: %s", holReasons[http2])
		case !order:
			r.add(line, "the HTTP/2 row's Why cell does not say that TCP delivers its bytes in order, which is the reason here: %s", holReasons[http2])
		}
	case http3:
		if !hasWordPrefix(norm, "stream") && !hasPhrase(norm, "quic") {
			r.add(line, "the HTTP/3 row's Why cell names neither QUIC nor its streams, which are the reason here: %s", holReasons[http3])
		}
	}
}

// holReasons say, per protocol, what its Why cell should explain.
var holReasons = map[httpVersion]string{
	http1: "each stream has a TCP connection of its own, and a lost packet belongs to one connection, so only that " +
		"connection's stream waits for the retransmission; say so in your own words",
	http2: "every stream shares one TCP connection, and TCP delivers one ordered byte stream, so the bytes after the hole " +
		"wait for the retransmission whichever stream they belong to; name TCP and its in-order delivery",
	http3: "QUIC orders bytes per stream, so a lost packet stalls only the stream whose frames it carried, and the " +
		"others' frames are delivered as they arrive; name QUIC or its per-stream delivery",
}

// whole reports what the rows say together: a missing protocol, different numbers of
// streams, HTTP/1.1's connections against K, and HTTP/2 stalling no more streams than
// HTTP/3.
func (r *holReview) whole() {
	line := r.table.line
	if r.table.present[hcProtocol] {
		for _, v := range httpVersions {
			if r.first[v] == nil {
				r.add(line, "the table has no %s row: add one (`| %s | ... |`) with your own figures for %s over %s",
					v, v, v, v.carrier())
			}
		}
	}
	var base *holFigures
	var baseProto httpVersion
	for _, v := range httpVersions {
		f := r.first[v]
		if f == nil || f.streams == 0 {
			continue
		}
		if base == nil {
			base, baseProto = f, v
			continue
		}
		if f.streams != base.streams {
			r.add(f.line, "the %s row counts %d streams, but the %s row counts %d: measure every protocol with the same "+
				"number of streams (the same -streams), so that the rows compare", v, f.streams, baseProto, base.streams)
		}
	}
	if h1 := r.first[http1]; h1 != nil && h1.connections > 0 {
		k := h1.streams
		if k == 0 && base != nil { // unreadable in the HTTP/1.1 row: another row's K
			k = base.streams
		}
		if n := h1.connections; k > 0 && n != k {
			r.add(h1.line, "the HTTP/1.1 row says %d %s for %d streams, but HTTP/1.1 carries one stream per connection "+
				"at a time (no multiplexing), so %d streams at once need %d connections, one each: write %d, or, if your "+
				"client opened %d, make it open one per stream and measure again", n, words.Plural(n, "connection", "connections"), k, k, k, k, n)
		}
	}
	h2, h3 := r.first[http2], r.first[http3]
	if h2 != nil && h3 != nil && h2.stalled >= 2 && h3.stalled >= 0 && h2.stalled <= h3.stalled {
		r.add(h2.line, "the HTTP/2 row says %d of %d streams stalled, no more than HTTP/3's %d of %d, but that is the "+
			"difference the comparison should show: over one TCP connection the bytes after the lost packet wait for it "+
			"whichever stream they belong to, while QUIC stalls only the stream whose frames were lost; check that your "+
			"HTTP/3 client reads each stream on its own, and measure again",
			h2.stalled, h2.streams, h3.stalled, h3.streams)
	}
}

// httpVersionPattern finds "HTTP/2", "HTTP 1.1", "http2"; shortPattern finds "h2".
var (
	httpVersionPattern = regexp.MustCompile(`(?i)\bhttp\s*/?\s*(\d+(?:\.\d+)?)`)
	shortPattern       = regexp.MustCompile(`(?i)\bh([123])\b`)
)

// protocolOf reads a Protocol cell: the first HTTP version it names, and, when the cell
// puts that version on a transport the comparison does not use, that transport.
func protocolOf(text string) (v httpVersion, wrongCarrier string) {
	version := ""
	if m := httpVersionPattern.FindStringSubmatch(text); m != nil {
		version = m[1]
	} else if m := shortPattern.FindStringSubmatch(text); m != nil {
		version = m[1]
	}
	switch version {
	case "1", "1.1":
		v = http1
	case "2", "2.0":
		v = http2
	case "3", "3.0":
		v = http3
	default:
		return noHTTP, ""
	}
	norm := normalize(strings.ToLower(text))
	tcp, quic, udp := hasPhrase(norm, "tcp"), hasPhrase(norm, "quic"), hasPhrase(norm, "udp")
	switch {
	case v == http3 && tcp && !quic:
		wrongCarrier = "TCP"
	case v != http3 && quic && !tcp:
		wrongCarrier = "QUIC"
	case v != http3 && udp && !tcp:
		wrongCarrier = "UDP"
	}
	return v, wrongCarrier
}

// stalledPattern finds "1 of 4", "1 out of 4", "1/4".
var stalledPattern = regexp.MustCompile(`(?i)(\d+)\s*(?:/|\bout\s+of\b|\bof\b)\s*(\d+)`)

// stalledOf reads a Streams stalled cell: S and K of its first "S of K".
func stalledOf(text string) (s, k int, ok bool) {
	m := stalledPattern.FindStringSubmatch(text)
	if m == nil {
		return 0, 0, false
	}
	s, err1 := strconv.Atoi(m[1])
	k, err2 := strconv.Atoi(m[2])
	return s, k, err1 == nil && err2 == nil
}

// numberPattern finds a number, with a sign and a decimal point or comma.
var numberPattern = regexp.MustCompile(`-?\d+(?:[.,]\d+)?`)

// firstNumber reads the first number of a cell, and whether it is whole.
func firstNumber(text string) (n float64, ok, whole bool) {
	loc := numberPattern.FindStringIndex(text)
	if loc == nil {
		return 0, false, false
	}
	s := strings.Replace(text[loc[0]:loc[1]], ",", ".", 1)
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, false
	}
	return n, true, !strings.Contains(s, ".")
}

// stallUnits are the units a Longest stall cell may wrongly be in, by the words that
// name them (matched after the number, as normalize writes them).
var stallUnits = []struct{ unit, word string }{
	{"seconds", "s"}, {"seconds", "sec"}, {"seconds", "secs"}, {"seconds", "second"}, {"seconds", "seconds"},
	{"microseconds", "us"}, {"microseconds", "µs"}, {"microseconds", "microsecond"}, {"microseconds", "microseconds"},
}

// stallOf reads a Longest stall cell: its first number, and the unit it is in when that
// is not milliseconds ("" for ms or no unit).
func stallOf(text string) (ms float64, unit string, ok bool) {
	ms, ok, _ = firstNumber(text)
	if !ok {
		return 0, "", false
	}
	loc := numberPattern.FindStringIndex(text)
	after := strings.Fields(normalize(strings.ToLower(text[loc[1]:])))
	if len(after) > 0 {
		for _, u := range stallUnits {
			if after[0] == u.word {
				return ms, u.unit, true
			}
		}
	}
	return ms, "", true
}
