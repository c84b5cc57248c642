package artifact

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"

	"github.com/wirelab/wirelab/grader/report"
)

// The architecture check (case 05, socket server architecture choice): the artifact
// holds two Markdown tables, the three server architectures (a process per connection,
// a thread per connection, an epoll event loop with a pool of workers) measured under
// 1,000 idle clients and under 100 CPU-heavy clients, and a recommendation per workload.
// The rules, as implemented:
//
//   - Each table is known by the nearest heading above it (ATX or setext): the idle
//     table's heading has a word starting with "idle", the CPU-heavy table's a word
//     starting with "cpu" or "heavy" (case-insensitive); a heading that names both
//     workloads names neither. Its columns are found by a prefix of their header cell,
//     case-insensitively: "arch" or "model", "client", "thread", "process" or "proc",
//     "rss" or "mem", "cpu", "p50", "ping p50" or "median", "p99" or "ping p99", and in
//     the CPU-heavy table "work". Under the headings of a workload, the first table with
//     the most of these columns (at least three) is judged and each missing column is a
//     finding; with none, the missing table is (at the heading when there is one).
//   - Exactly one row each for the three architectures, told apart by the words of the
//     Architecture cell: a word starting with "epoll", "event" or "readiness" is the
//     event loop; otherwise "process", "fork" or "prefork" the process model; otherwise
//     "thread" the thread model. Anything else, and a second row of an architecture,
//     is a finding; only the first row of each is compared with the others.
//   - Every cell filled with a number: a cell with no letter or digit is empty; a cell
//     holding TODO is a placeholder, reported and never read. A number is the first of
//     the cell, with thousands grouped by a comma or a space ("1,000", "1 000") and a
//     decimal point or comma ("0.5", "0,5"). Clients, Threads and Processes are whole
//     numbers of at least 1; RSS more than 0, in MiB (a cell in KiB, GiB or bytes is a
//     finding); CPU seconds at least 0, in seconds (ms or ticks is a finding); PING p50
//     and p99 at least 0, in milliseconds (seconds or microseconds is a finding); WORK per
//     second more than 0.
//   - The physics of 1,000 idle clients: the thread row's threads at least 90% of its
//     clients; the event loop's threads at most 64, and fewer than a tenth of the thread
//     row's; the process row's processes at least its clients; the event loop's and the
//     thread row's processes exactly 1; their clients at least 1,000. In both tables p50
//     is at most p99 in every row; in the CPU-heavy table every row has 100 clients.
//   - The recommendation: two labelled lines, found by their label (the text before the
//     first colon of a line outside the tables, at most six words, list markers and
//     emphasis ignored) naming the workload as the tables' headings do; the first after
//     a heading starting with "recommend" when there is one, else the first in the file.
//     The answer is the rest of the line and the lines that continue its paragraph: no
//     TODO, at least eight words. The idle one names the event loop (a word starting with
//     "epoll", "event" or "readiness"); without it, one that names a thread or a process
//     per connection ("thread per", "threaded", "process per", "fork"...) is told what
//     its own figures show. The CPU-heavy one names
//     the workers (a word starting with "worker", "pool" or "offload").
//   - The command: outside the tables, a code span or code block holds "-model" or
//     "make grade" (how the figures were produced).
//
// Findings point at the row they concern (its line), at a table's header line for what
// the table as a whole lacks, at a workload's heading (or the whole file) for a missing
// table, at the label line (or the Recommendation heading, or the whole file) for the
// recommendation, and at the first line starting with "Measured with" (or the whole
// file) for the missing command.

// archWhat is what the artifact should hold, for messages.
const archWhat = "two Markdown tables, under the headings `## 1,000 idle clients` and `## 100 CPU-heavy clients`, " +
	"with one row each for the process per connection, thread per connection and epoll event loop architectures, " +
	"a recommendation per workload, and the command you measured with"

// The columns, in the template's order, and their indexes.
const (
	acArch = iota
	acClients
	acThreads
	acProcesses
	acRSS
	acCPU
	acP50
	acP99
	acWork
	numArchColumns
)

var archColumns = []tableColumn{
	{"Architecture", []string{"arch", "model"}, "`process per connection`, `thread per connection` or `epoll event loop + workers`"},
	{"Clients", []string{"client"}, "how many clients were connected and answered, e.g. `1000`"},
	{"Threads", []string{"thread"}, "how many threads the server had (`Threads:` in /proc/PID/status), e.g. `5`"},
	{"Processes", []string{"process", "proc"}, "how many processes served the clients, the server's children included, e.g. `1`"},
	{"RSS (MiB)", []string{"rss", "mem"}, "the server's resident memory in MiB, e.g. `6.2`"},
	{"CPU seconds", []string{"cpu"}, "the CPU time the server used during the measurement, in seconds, e.g. `0.01`"},
	{"PING p50 (ms)", []string{"p50", "ping p50", "median"}, "the median PING latency in milliseconds, e.g. `0.2`"},
	{"PING p99 (ms)", []string{"p99", "ping p99"}, "the 99th-percentile PING latency in milliseconds, e.g. `1.5`"},
	{"WORK per second", []string{"work"}, "how many WORK answers came back per second, e.g. `49`"},
}

// workload is one of the two measurements the artifact reports.
type workload int

const (
	idleLoad workload = iota
	heavyLoad
)

// workloads are the measurements, in the template's order.
var workloads = []workload{idleLoad, heavyLoad}

// String names the workload as the template's heading does.
func (w workload) String() string {
	if w == heavyLoad {
		return "100 CPU-heavy clients"
	}
	return "1,000 idle clients"
}

// columns are the columns the workload's table holds: WORK per second only under load.
func (w workload) columns() []tableColumn {
	if w == heavyLoad {
		return archColumns
	}
	return archColumns[:acWork]
}

// header is the header row of the workload's table in the template, for messages.
func (w workload) header() string {
	var names []string
	for _, c := range w.columns() {
		names = append(names, c.name)
	}
	return "`| " + strings.Join(names, " | ") + " |`"
}

// workloadOf reads a heading or a label: the workload it names, and whether it names
// exactly one.
func workloadOf(s string) (workload, bool) {
	norm := normalize(s)
	idle := hasWordPrefix(norm, "idle")
	heavy := hasWordPrefix(norm, "cpu", "heavy")
	switch {
	case idle && !heavy:
		return idleLoad, true
	case heavy && !idle:
		return heavyLoad, true
	}
	return idleLoad, false
}

// architecture is a row of the comparison.
type architecture int

const (
	noArch architecture = iota
	processArch
	threadArch
	epollArch
)

// architectures are the rows compared, in the template's order.
var architectures = []architecture{processArch, threadArch, epollArch}

// String names the architecture as the template's rows do.
func (a architecture) String() string {
	switch a {
	case processArch:
		return "process per connection"
	case threadArch:
		return "thread per connection"
	case epollArch:
		return "epoll event loop + workers"
	}
	return "no architecture"
}

// architectureOf reads an Architecture cell.
func architectureOf(text string) architecture {
	norm := normalize(text)
	switch {
	case hasWordPrefix(norm, "epoll", "event", "readiness"):
		return epollArch
	case hasWordPrefix(norm, "process", "fork", "prefork"):
		return processArch
	case hasWordPrefix(norm, "thread"):
		return threadArch
	}
	return noArch
}

// heading is a Markdown heading: its line and its text.
type heading struct {
	line int
	text string
}

// headingsOf returns a document's headings (ATX and setext, none inside code), in order.
func headingsOf(content []byte) []heading {
	md := goldmark.New(goldmark.WithExtensions(extension.Table))
	root := md.Parser().Parse(text.NewReader(content))
	lineAt := lineIndex(content)
	var out []heading
	ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		h, ok := n.(*ast.Heading)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		if h.Lines().Len() > 0 {
			out = append(out, heading{line: lineAt(h.Lines().At(0).Start), text: cellOf(h, content).Text})
		}
		return ast.WalkSkipChildren, nil
	})
	return out
}

// headingAbove returns the nearest heading above a line; ok is false when there is none.
func headingAbove(hs []heading, line int) (h heading, ok bool) {
	for _, x := range hs {
		if x.line >= line {
			break
		}
		h, ok = x, true
	}
	return h, ok
}

// tableEnd is a table's last line (the delimiter row's when there is no body row).
func tableEnd(t Table) int {
	end := t.Line + 1
	for _, r := range t.Rows {
		end = max(end, r.Line)
	}
	return end
}

// archTable is one workload's table as the check reads it.
type archTable struct {
	load    workload
	line    int // header line
	end     int
	present [numArchColumns]bool
	rows    []archRow
}

// archRow is one body row, its cells by archColumns (empty for a missing column).
type archRow struct {
	line  int
	cells [numArchColumns]Cell
}

// archTables are the workloads' tables as found, with what a finding on a missing one
// needs.
type archTables struct {
	found   map[workload]archTable
	heading map[workload]int // the first heading naming the workload, 0 when none
	orphans []int            // lines of tables with the columns under no heading that names one workload
}

// findArchTables finds each workload's table: under the headings that name it, the first
// with the most columns (at least three).
func findArchTables(tables []Table, hs []heading) archTables {
	at := archTables{found: map[workload]archTable{}, heading: map[workload]int{}}
	for _, h := range hs {
		if w, ok := workloadOf(h.text); ok && at.heading[w] == 0 {
			at.heading[w] = h.line
		}
	}
	bestN := map[workload]int{idleLoad: 2, heavyLoad: 2}
	for _, t := range tables {
		h, ok := headingAbove(hs, t.Line)
		w, named := workloadOf(h.text)
		if !ok || !named {
			if _, n := columnIndexes(t, archColumns[:acWork]); n > 2 {
				at.orphans = append(at.orphans, t.Line)
			}
			continue
		}
		idx, n := columnIndexes(t, w.columns())
		if n <= bestN[w] {
			continue
		}
		bestN[w] = n
		tt := archTable{load: w, line: t.Line, end: tableEnd(t)}
		for c, i := range idx {
			tt.present[c] = i >= 0
		}
		for _, row := range t.Rows {
			r := archRow{line: row.Line}
			cellsByColumn(row, idx, r.cells[:])
			tt.rows = append(tt.rows, r)
		}
		at.found[w] = tt
	}
	return at
}

// checkArchitecture is the architecture check.
func checkArchitecture(path string, content []byte) Result {
	if len(bytes.TrimSpace(content)) == 0 {
		return Result{Findings: []report.Finding{emptyFinding(path, archWhat)}}
	}
	doc := ParseMarkdown(content)
	findings := append([]report.Finding(nil), doc.Problems...)
	tables := Tables(content)
	hs := headingsOf(content)
	at := findArchTables(tables, hs)
	rec := findRecommendations(doc, tables, hs)

	for _, f := range proseTODOs(doc) {
		if at.holds(f.Line) || rec.lines[f.Line] { // reported per row, and per recommendation
			continue
		}
		findings = append(findings, f)
	}
	if f, missing := archCommandFinding(doc, content); missing {
		findings = append(findings, f)
	}

	figures := map[workload]map[architecture]*archFigures{}
	var fl findingList
	for _, w := range workloads {
		t, ok := at.found[w]
		if !ok {
			fl = append(fl, at.missing(w))
			continue
		}
		r := archReview{table: t, first: map[architecture]*archFigures{}}
		r.columns()
		for _, row := range t.rows {
			r.row(row)
		}
		r.whole()
		fl = append(fl, r.findingList...)
		figures[w] = r.first
	}
	rec.review(&fl, figures[idleLoad], figures[heavyLoad])
	return Result{Findings: append(findings, fl...)}
}

// holds reports whether a line belongs to one of the judged tables.
func (at archTables) holds(line int) bool {
	for _, t := range at.found {
		if line >= t.line && line <= t.end {
			return true
		}
	}
	return false
}

// missing is the finding for a workload whose table was not found.
func (at archTables) missing(w workload) report.Finding {
	if line := at.heading[w]; line > 0 {
		return report.Finding{Line: line, Message: fmt.Sprintf("the %s section holds no table of your figures: put the "+
			"template's table under this heading, with the header %s, the line `|---|` under it and one row each for "+
			"process per connection, thread per connection and the epoll event loop", w, w.header())}
	}
	msg := fmt.Sprintf("no table for %s: the file needs a heading that names this workload (`## %s`) with the "+
		"table of your figures under it, header %s; start from the template", w, w, w.header())
	switch len(at.orphans) {
	case 0:
	case 1:
		msg += fmt.Sprintf(" (the table at line %d has no heading above it that names one workload, so it cannot be told "+
			"which it measures)", at.orphans[0])
	default:
		var lines []string
		for _, l := range at.orphans {
			lines = append(lines, strconv.Itoa(l))
		}
		msg += fmt.Sprintf(" (the tables at lines %s have no heading above them that names one workload, so they cannot "+
			"be told apart)", joinAnd(lines))
	}
	return report.Finding{Message: msg}
}

// archCommandFinding reports a document that never says how its figures were measured:
// no code span or code block outside the tables holds "-model" or "make grade". The
// finding points at the first line starting with "Measured with", or at the whole file.
func archCommandFinding(doc Document, content []byte) (report.Finding, bool) {
	for _, c := range codeOutsideTables(content) {
		if strings.Contains(c, "-model") || strings.Contains(c, "make grade") {
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
	msg := "say how you measured: the file gives no command that produced your figures; put it in backticks, outside " +
		"the tables, e.g. Measured with: `make grade ARGS=\"--case 05-server-arch --out reports\"` (the grader's " +
		"side-by-side measurement), or the `server -model ...` commands and the load you ran against them, so that " +
		"a reader knows what your figures measure and can run it again"
	return report.Finding{Line: line, Message: msg}, true
}

// archFigures is what a row says, as far as it can be read: each column's number.
type archFigures struct {
	line int
	val  [numArchColumns]float64
	has  [numArchColumns]bool
}

// get returns a column's number, and whether the cell could be read.
func (f *archFigures) get(c int) (float64, bool) {
	if f == nil {
		return 0, false
	}
	return f.val[c], f.has[c]
}

// archReview is the judgement of one workload's table.
type archReview struct {
	table archTable
	findingList
	first map[architecture]*archFigures // the first row of each architecture
}

// columns reports the columns the header lacks.
func (r *archReview) columns() {
	cols := r.table.load.columns()
	r.missingColumns(r.table.line, fmt.Sprintf("the %s table", r.table.load), r.table.load.header(), cols, r.table.present[:len(cols)])
}

// rowName is how a message names a row.
func (r *archReview) rowName(a architecture) string {
	if a == noArch {
		return "this row"
	}
	return fmt.Sprintf("the %s row (%s)", a, r.table.load)
}

// row judges one row: cells filled, its architecture, and each number on its own; what
// the rows say together is judged by whole.
func (r *archReview) row(row archRow) {
	cols := r.table.load.columns()
	todo, empty, usable := sortCells(cols, r.table.present[:len(cols)], row.cells[:len(cols)])

	arch := noArch
	if usable[acArch] {
		text := row.cells[acArch].Text
		arch = architectureOf(text)
		if arch == noArch {
			r.add(row.line, "this row's Architecture cell (%s) names none of the three architectures compared: write "+
				"`process per connection`, `thread per connection` or `epoll event loop + workers` (each table compares "+
				"exactly these three; keep other measurements out of it)", quote(text))
		} else if f := r.first[arch]; f != nil {
			r.add(row.line, "a second %s row in the %s table (the first is at line %d): keep one row per architecture, "+
				"with the figures of one measurement", arch, r.table.load, f.line)
			arch = noArch // judged on its own, compared with nothing
		}
	}
	name := r.rowName(arch)

	placeholder := fmt.Sprintf("this row is still a placeholder: every cell holds a TODO; fill it in for one architecture "+
		"with your own measured figures for %s", r.table.load)
	if usable[acArch] {
		placeholder = fmt.Sprintf("%s is still a placeholder: its cells hold TODO; fill them in with your own measured figures "+
			"of the %s architecture under %s", name, arch, r.table.load)
	}
	r.leftUndone(row.line, cols, r.table.present[:len(cols)], acArch, todo, empty, name, "figure", placeholder)

	fig := &archFigures{line: row.line}
	if arch != noArch {
		r.first[arch] = fig
	}
	for c := acClients; c < len(cols); c++ {
		if usable[c] {
			r.figure(row.line, name, c, row.cells[c].Text, fig)
		}
	}
	if p50, ok := fig.get(acP50); ok {
		if p99, ok := fig.get(acP99); ok && p50 > p99 {
			r.add(row.line, "%s says PING p50 %s ms but p99 %s ms: the 99th percentile is the latency that 99%% of "+
				"PINGs beat, so it is never below the median; check that the two columns are not swapped", name, num(p50), num(p99))
		}
	}
}

// figure reads one number of a row, judges it on its own and keeps it in fig.
func (r *archReview) figure(line int, name string, c int, text string, fig *archFigures) {
	col := archColumns[c]
	v, end, ok, whole := figureOf(text)
	if !ok {
		r.add(line, "the %s cell of %s (%s) is not a number: write %s", col.name, name, quote(text), col.what)
		return
	}
	if unit, want := wrongUnit(c, text[end:]); unit != "" {
		r.add(line, "the %s cell of %s (%s) is in %s: give it in %s, as the column's header says, so that the three "+
			"rows compare at a glance", col.name, name, quote(text), unit, want)
		return
	}
	switch c {
	case acClients, acThreads, acProcesses:
		if !whole || v < 1 {
			r.add(line, "the %s cell of %s (%s) is not a whole number of at least 1: write %s", col.name, name, quote(text), col.what)
			return
		}
	case acRSS:
		if v <= 0 {
			r.add(line, "the RSS cell of %s (%s) is not more than 0: a running server holds some memory; write %s",
				name, quote(text), col.what)
			return
		}
	case acCPU:
		if v < 0 {
			r.add(line, "the CPU seconds cell of %s (%s) is negative: CPU time only grows; write the difference between "+
				"the server's CPU time after and before the measurement, in seconds", name, quote(text))
			return
		}
	case acP50, acP99:
		if v < 0 {
			r.add(line, "the %s cell of %s (%s) is negative: a latency is the time from a PING sent to its PONG read; "+
				"write %s", col.name, name, quote(text), col.what)
			return
		}
	case acWork:
		if v <= 0 {
			r.add(line, "the WORK per second cell of %s (%s) is not more than 0: every architecture answers WORK, one at "+
				"a time at least; write how many WORK answers came back per second while the 100 clients sent them", name, quote(text))
			return
		}
	}
	fig.val[c], fig.has[c] = v, true
}

// whole reports what the rows say together: a missing architecture, and the physics of
// the workload.
func (r *archReview) whole() {
	if r.table.present[acArch] {
		for _, a := range architectures {
			if r.first[a] == nil {
				r.add(r.table.line, "the %s table has no %s row: add one (`| %s | ... |`) with your own figures for it",
					r.table.load, a, a)
			}
		}
	}
	if r.table.load == heavyLoad {
		r.heavyPhysics()
		return
	}
	r.idlePhysics()
}

// idlePhysics judges the idle table against what each architecture costs per connection.
func (r *archReview) idlePhysics() {
	proc, thr, ev := r.first[processArch], r.first[threadArch], r.first[epollArch]
	for _, a := range []architecture{threadArch, epollArch} {
		if n, ok := r.first[a].get(acClients); ok && n < 1000 {
			r.add(r.first[a].line, "the %s row counts %s clients, fewer than 1,000: this table is about 1,000 idle "+
				"clients, and the cost of %s shows only at that scale; measure with at least 1,000 connected clients, "+
				"every one answered", a, num(n), a)
		}
		if n, ok := r.first[a].get(acProcesses); ok && n != 1 {
			r.add(r.first[a].line, "the %s row says %s processes, but %s serves every connection inside one process; "+
				"only the process model adds a process per connection: write 1, or check what your server starts", a, num(n), a)
		}
	}
	tc, tcOK := thr.get(acClients)
	tt, ttOK := thr.get(acThreads)
	if tcOK && ttOK && tt < 0.9*tc {
		r.add(thr.line, "the thread per connection row says %s threads for %s clients, but this model gives every "+
			"connection an OS thread of its own, blocked in its read: expect about one thread per client (at least %s); "+
			"a handful of threads means the goroutines were parked by Go's netpoller, which is an event loop in disguise "+
			"(lock each connection's goroutine to its thread with runtime.LockOSThread and read with blocking reads)",
			num(tt), num(tc), num(math.Ceil(0.9*tc)))
	}
	if et, ok := ev.get(acThreads); ok {
		switch {
		case et > 64:
			r.add(ev.line, "the epoll event loop row says %s threads, but an event loop serves every connection from one "+
				"thread blocked in epoll_wait, plus the -workers pool and the Go runtime's few: expect well under 64; a "+
				"thread count that grows with the clients is a thread per connection", num(et))
		case ttOK && et*10 >= tt:
			r.add(ev.line, "the epoll event loop row says %s threads, not fewer than a tenth of the thread per connection "+
				"row's %s: the point of the event loop is that its threads do not grow with the clients; check both figures",
				num(et), num(tt))
		}
	}
	pc, pcOK := proc.get(acClients)
	pp, ppOK := proc.get(acProcesses)
	if pcOK && ppOK && pp < pc {
		r.add(proc.line, "the process per connection row says %s processes for %s clients, but this model serves every "+
			"connection in a child process of its own: expect at least one process per client (%s, or %s with the "+
			"parent that accepts)", num(pp), num(pc), num(pc), num(pc+1))
	}
}

// heavyPhysics judges the CPU-heavy table: the same 100 clients in every row.
func (r *archReview) heavyPhysics() {
	for _, a := range architectures {
		if n, ok := r.first[a].get(acClients); ok && n != 100 {
			r.add(r.first[a].line, "the %s row counts %s clients, but this table compares the three architectures "+
				"under the same 100 CPU-heavy clients: measure each with 100, so that the rows compare", a, num(n))
		}
	}
}

// recommendation is one labelled recommendation line and the paragraph it starts.
type recommendation struct {
	load   workload
	line   int
	answer string // the text after the label, its paragraph's lines joined
	todo   bool
	lines  []int // the lines of its paragraph
}

// recommendations are the two labelled lines, and every line they cover.
type recommendations struct {
	heading int // the Recommendation heading's line, 0 when none
	of      map[workload]*recommendation
	lines   map[int]bool
}

// labelPattern strips what may stand before a label: spaces, quote and list markers.
var labelPattern = regexp.MustCompile(`^\s*(?:>\s*)*(?:[-*+]\s+|\d+[.)]\s+)?`)

// maxLabelWords bounds a label: a few words before the colon, not a sentence.
const maxLabelWords = 6

// minRecommendationWords is the fewest words of a recommendation: a reason, not a name.
const minRecommendationWords = 8

// labelOf splits a line into its label (the text before its first colon, normalized)
// and the rest; ok is false when the line has no short label.
func labelOf(s string) (label, rest string, ok bool) {
	s = labelPattern.ReplaceAllString(s, "")
	i := strings.Index(s, ":")
	if i < 0 {
		return "", "", false
	}
	label = normalize(s[:i])
	if n := len(strings.Fields(label)); n == 0 || n > maxLabelWords {
		return "", "", false
	}
	return label, s[i+1:], true
}

// findRecommendations finds the two labelled lines outside the tables and code.
func findRecommendations(doc Document, tables []Table, hs []heading) recommendations {
	rs := recommendations{of: map[workload]*recommendation{}, lines: map[int]bool{}}
	for _, h := range hs {
		if strings.HasPrefix(normalize(h.text), "recommend") {
			rs.heading = h.line
			break
		}
	}
	skip := map[int]bool{} // table and heading lines
	for _, t := range tables {
		for l := t.Line; l <= tableEnd(t); l++ {
			skip[l] = true
		}
	}
	for _, h := range hs {
		skip[h.line] = true
	}
	prose := doc.Prose
	isLabel := func(l Line) (workload, string, bool) {
		if skip[l.N] {
			return 0, "", false
		}
		label, rest, ok := labelOf(l.Text)
		if !ok {
			return 0, "", false
		}
		w, ok := workloadOf(label)
		return w, rest, ok
	}
	var cands []*recommendation
	for i, l := range prose {
		w, rest, ok := isLabel(l)
		if !ok {
			continue
		}
		rec := &recommendation{load: w, line: l.N, lines: []int{l.N}}
		parts := []string{rest}
		for j := i + 1; j < len(prose); j++ {
			next := prose[j]
			if next.N != prose[j-1].N+1 || strings.TrimSpace(next.Text) == "" || skip[next.N] ||
				strings.HasPrefix(strings.TrimSpace(next.Text), "|") {
				break
			}
			if _, _, label := isLabel(next); label {
				break
			}
			parts = append(parts, next.Text)
			rec.lines = append(rec.lines, next.N)
		}
		rec.answer = strings.TrimLeft(strings.Join(parts, " "), "*_ \t")
		rec.todo = hasTODO(rec.answer)
		cands = append(cands, rec)
	}
	for _, w := range workloads {
		var pick *recommendation
		for _, c := range cands {
			if c.load != w {
				continue
			}
			if pick == nil {
				pick = c
			}
			if rs.heading > 0 && c.line > rs.heading {
				pick = c
				break
			}
		}
		if pick != nil {
			rs.of[w] = pick
			for _, l := range pick.lines {
				rs.lines[l] = true
			}
		}
	}
	return rs
}

// review judges the two recommendations, with the tables' figures for the messages.
func (rs recommendations) review(fl *findingList, idle, heavy map[architecture]*archFigures) {
	for _, w := range workloads {
		rec := rs.of[w]
		if rec == nil {
			fl.add(rs.heading, "no recommendation for %s: write a line starting with the label `**%s:**`, then the "+
				"architecture you recommend for this workload and why, in your own words, citing your figures", w, w)
			continue
		}
		norm := normalize(rec.answer)
		switch {
		case rec.todo:
			fl.add(rec.line, "the recommendation for %s is still a placeholder: replace the TODO with the architecture you "+
				"recommend for this workload and why, in your own words, citing your figures", w)
			continue
		case len(strings.Fields(norm)) < minRecommendationWords:
			fl.add(rec.line, "the recommendation for %s (%s) is too short to give a reason: write a sentence or two, in "+
				"your own words, naming the architecture you recommend and what in your figures makes it the right one", w, quote(rec.answer))
			continue
		}
		if w == idleLoad {
			rs.idle(fl, rec, norm, idle)
		} else {
			rs.heavy(fl, rec, norm, heavy)
		}
	}
}

// idle judges the idle recommendation: the event loop, whatever else it discusses.
func (recommendations) idle(fl *findingList, rec *recommendation, norm string, figs map[architecture]*archFigures) {
	if hasWordPrefix(norm, "epoll", "event", "readiness") {
		return
	}
	ev := figs[epollArch]
	evCost := ""
	if t, ok := ev.get(acThreads); ok {
		evCost = fmt.Sprintf(" against the event loop's %s threads", num(t))
		if m, ok := ev.get(acRSS); ok {
			evCost = fmt.Sprintf(" against the event loop's %s threads and %s MiB", num(t), num(m))
		}
	}
	switch {
	case hasPhrase(norm, "thread per", "threads per", "thread model", "threaded"):
		cost := ""
		if t, ok := figs[threadArch].get(acThreads); ok {
			cost = fmt.Sprintf(": your own table shows %s threads for the thread per connection model%s", num(t), evCost)
		}
		fl.add(rec.line, "the recommendation for 1,000 idle clients names a thread per connection and not the event "+
			"loop, but idle clients leave a thread per connection blocked in a read, a stack and a kernel task each, doing "+
			"nothing%s; recommend the epoll event loop (one thread watches every socket's readiness), or say why not", cost)
	case hasPhrase(norm, "process per", "processes per", "process model", "fork", "forked", "forking"):
		cost := ""
		if m, ok := figs[processArch].get(acRSS); ok {
			at := ""
			if n, ok := figs[processArch].get(acClients); ok {
				at = " at " + num(n) + " clients"
			}
			cost = fmt.Sprintf(": your own table shows %s MiB for the process per connection model%s%s", num(m), at, evCost)
		}
		fl.add(rec.line, "the recommendation for 1,000 idle clients names a process per connection and not the event "+
			"loop, but each idle client then holds a whole process, its memory and a scheduler entry%s; recommend the "+
			"epoll event loop (one thread watches every socket's readiness), or say why not", cost)
	default:
		fl.add(rec.line, "the recommendation for 1,000 idle clients does not name the event loop (epoll): with many idle "+
			"sockets, the architecture whose cost does not grow with the connections is one loop that waits for readiness "+
			"on all of them; say which architecture you recommend, by name, and why, citing your figures")
	}
}

// heavy judges the CPU-heavy recommendation: the work offloaded to workers or a pool.
func (recommendations) heavy(fl *findingList, rec *recommendation, norm string, figs map[architecture]*archFigures) {
	if hasWordPrefix(norm, "worker", "pool", "offload") {
		return
	}
	cited := ""
	if p, ok := figs[epollArch].get(acP99); ok {
		cited = fmt.Sprintf(" (your event loop's PING p99 was %s ms while the WORK ran on its workers)", num(p))
	}
	fl.add(rec.line, "the recommendation for 100 CPU-heavy clients does not say where the CPU work runs: name "+
		"offloading it to a fixed pool of workers (or a thread or process pool), so that the work is bounded by the "+
		"pool and never runs on the thread that answers the other clients%s", cited)
}

// thousandsPattern reads a number whose thousands are grouped by a comma or a space.
var thousandsPattern = regexp.MustCompile(`^-?[1-9]\d{0,2}(?:[, \x{00a0}\x{202f}\x{2009}]\d{3})+(?:\.\d+)?`)

// figureOf reads the first number of a cell ("1,000", "1 000", "0.5", "0,5", "~5 MiB"):
// its value, the offset where it ends, and whether it is whole.
func figureOf(text string) (v float64, end int, ok, whole bool) {
	loc := numberPattern.FindStringIndex(text)
	if loc == nil {
		return 0, 0, false, false
	}
	if m := thousandsPattern.FindStringIndex(text[loc[0]:]); m != nil {
		end := loc[0] + m[1]
		if end == len(text) || text[end] < '0' || text[end] > '9' {
			s := strings.NewReplacer(",", "", " ", "", "\u00a0", "", "\u202f", "", "\u2009", "").Replace(text[loc[0]:end])
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				return v, end, true, !strings.Contains(s, ".")
			}
		}
	}
	v, ok, whole = firstNumber(text)
	return v, loc[1], ok, whole
}

// wrongUnits are, per column, the units a cell may wrongly be in, by the word that
// names them (the first word after the number, lower-cased and normalized), and the unit
// wanted.
var wrongUnits = map[int]struct {
	want  string
	units map[string]string
}{
	acRSS: {"MiB", map[string]string{
		"b": "bytes", "byte": "bytes", "bytes": "bytes",
		"k": "KiB", "kb": "KiB", "kib": "KiB", "kbytes": "KiB", "kilobytes": "KiB",
		"g": "GiB", "gb": "GiB", "gib": "GiB", "gigabytes": "GiB"}},
	acCPU: {"seconds", map[string]string{
		"ms": "milliseconds", "msec": "milliseconds", "millisecond": "milliseconds", "milliseconds": "milliseconds",
		"tick": "clock ticks", "ticks": "clock ticks", "jiffies": "clock ticks",
		"us": "microseconds", "µs": "microseconds", "μs": "microseconds"}},
	acP50: {"milliseconds", pingUnits},
	acP99: {"milliseconds", pingUnits},
}

// pingUnits are the units a PING latency may wrongly be in.
var pingUnits = map[string]string{
	"s": "seconds", "sec": "seconds", "secs": "seconds", "second": "seconds", "seconds": "seconds",
	"us": "microseconds", "µs": "microseconds", "μs": "microseconds", "microsecond": "microseconds", "microseconds": "microseconds",
	"ns": "nanoseconds",
}

// wrongUnit returns the unit a column's cell is wrongly in, judging the text after its
// number, and the unit wanted; "" when it is fine.
func wrongUnit(c int, after string) (unit, want string) {
	u, ok := wrongUnits[c]
	if !ok {
		return "", ""
	}
	words := strings.Fields(normalize(strings.ToLower(after)))
	if len(words) == 0 {
		return "", ""
	}
	return u.units[words[0]], u.want
}

// num writes a figure as a message quotes it: 1000, 0.5.
func num(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
