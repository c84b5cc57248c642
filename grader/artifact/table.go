package artifact

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Table is a GitHub-flavoured Markdown table, as goldmark's GFM table
// extension reads it.
type Table struct {
	Line   int    // line of the header row, 1-based
	Header []Cell // the header row
	Rows   []Row  // the body rows, in order
}

// Row is one body row of a Table.
type Row struct {
	Line  int // 1-based
	Cells []Cell
}

// Cell is one cell: its text as a reader sees it (inline markup removed, code
// spans kept as their content) and the contents of its code spans.
type Cell struct {
	Text string
	Code []string
}

// Column returns the index of the first header cell whose text starts with
// prefix (case-insensitive), or -1.
func (t Table) Column(prefix string) int {
	for i, c := range t.Header {
		if strings.HasPrefix(strings.ToLower(c.Text), strings.ToLower(prefix)) {
			return i
		}
	}
	return -1
}

// Cell returns the row's cell in column i, or an empty cell (a row may have
// fewer cells than the header).
func (r Row) Cell(i int) Cell {
	if i < 0 || i >= len(r.Cells) {
		return Cell{}
	}
	return r.Cells[i]
}

// Tables returns every table of a Markdown document, in document order.
func Tables(content []byte) []Table {
	md := goldmark.New(goldmark.WithExtensions(extension.Table))
	doc := md.Parser().Parse(text.NewReader(content))
	lineAt := lineIndex(content)
	var tables []Table
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		table, ok := n.(*east.Table)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		var t Table
		for r := table.FirstChild(); r != nil; r = r.NextSibling() {
			var cells []Cell
			for c := r.FirstChild(); c != nil; c = c.NextSibling() {
				cells = append(cells, cellOf(c, content))
			}
			line := lineAt(r.Pos())
			if _, header := r.(*east.TableHeader); header {
				t.Line, t.Header = line, cells
				continue
			}
			t.Rows = append(t.Rows, Row{Line: line, Cells: cells})
		}
		tables = append(tables, t)
		return ast.WalkSkipChildren, nil
	})
	return tables
}

// cellOf renders a cell's inline content as plain text.
func cellOf(cell ast.Node, source []byte) Cell {
	var c Cell
	var b strings.Builder
	ast.Walk(cell, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.CodeSpan:
			code := inlineText(n, source)
			c.Code = append(c.Code, code)
			b.WriteString(code)
			return ast.WalkSkipChildren, nil
		case *ast.Text:
			b.Write(util.UnescapePunctuations(n.Segment.Value(source))) // \| is a pipe
			if n.SoftLineBreak() || n.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(n.Value)
		}
		return ast.WalkContinue, nil
	})
	c.Text = strings.TrimSpace(b.String())
	return c
}

// inlineText is the raw text of an inline node's Text and String children.
func inlineText(n ast.Node, source []byte) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(source))
		case *ast.String:
			b.Write(c.Value)
		}
	}
	return b.String()
}

// lineIndex returns a function from a byte offset of content to its 1-based line.
func lineIndex(content []byte) func(offset int) int {
	return func(offset int) int {
		offset = min(max(offset, 0), len(content))
		return bytes.Count(content[:offset], []byte("\n")) + 1
	}
}

// tableColumn is a column a check reads from a Markdown table by its header.
type tableColumn struct {
	name     string   // as the template's header and the messages spell it
	prefixes []string // what the header cell may start with, case-insensitively
	what     string   // what its cells hold, for messages
}

// columnIndexes returns the index of each of cols in t's header (-1 when it is
// missing), a header cell serving one column only, and how many were found.
func columnIndexes(t Table, cols []tableColumn) (idx []int, found int) {
	idx = make([]int, len(cols))
	taken := map[int]bool{}
	for c, col := range cols {
		idx[c] = -1
		for _, p := range col.prefixes {
			if i := t.Column(p); i >= 0 && !taken[i] {
				idx[c], taken[i] = i, true
				found++
				break
			}
		}
	}
	return idx, found
}

// cellsByColumn puts a body row's cells in cells, by the columns' indexes in
// the header (a missing column's cell stays empty).
func cellsByColumn(row Row, idx []int, cells []Cell) {
	for c, i := range idx {
		if i >= 0 {
			cells[c] = row.Cell(i)
		}
	}
}

// sortCells sorts the cells of a row's present columns: the names of the
// columns whose cell holds a TODO, the columns whose cell is blank, and which
// cells hold something to judge.
func sortCells(cols []tableColumn, present []bool, cells []Cell) (todo []string, empty []int, usable []bool) {
	usable = make([]bool, len(cols))
	for c, col := range cols {
		if !present[c] {
			continue
		}
		switch text := cells[c].Text; {
		case hasTODO(text):
			todo = append(todo, col.name)
		case blankCell(text):
			empty = append(empty, c)
		default:
			usable[c] = true
		}
	}
	return todo, empty, usable
}

// missingColumns reports each of cols the table's header lacks, at the
// header's line: what the column's cells hold, and the header to copy. table
// names the table in a message ("the comparison table").
func (f *findingList) missingColumns(line int, table, header string, cols []tableColumn, present []bool) {
	for c, col := range cols {
		if !present[c] {
			f.add(line, "%s has no %s column: add it to the header (%s); its cells hold %s", table, col.name, header, col.what)
		}
	}
}

// leftUndone reports, one finding each, what a row leaves to do (the todo
// and empty of sortCells): when every answer cell holds a TODO, that the row
// is a placeholder (the message placeholder); else each TODO left and each
// empty cell, by column. key is the column that names the row (-1 for none):
// a TODO there alone does not make the row a placeholder. name is the row in
// a message ("this row", "the HTTP/2 row"), noun what its cells hold
// ("answer", "figure").
func (f *findingList) leftUndone(line int, cols []tableColumn, present []bool, key int, todo []string, empty []int, name, noun, placeholder string) {
	answers, answerTODOs := 0, 0
	for c := range cols {
		if c != key && present[c] {
			answers++
		}
	}
	for _, t := range todo {
		if key < 0 || t != cols[key].name {
			answerTODOs++
		}
	}
	switch {
	case len(empty) == 0 && answers > 0 && answerTODOs == answers:
		f.add(line, "%s", placeholder)
	case len(todo) == 1:
		f.add(line, "a TODO is left in the %s cell of %s: replace it with your %s", todo[0], name, noun)
	case len(todo) > 1:
		f.add(line, "TODO markers are left in the %s cells of %s: replace each with your %s", joinAnd(todo), name, noun)
	}
	switch {
	case len(empty) == 1:
		col := cols[empty[0]]
		f.add(line, "the %s cell of %s is empty: write %s", col.name, name, col.what)
	case len(empty) > 1:
		var names, whats []string
		for _, c := range empty {
			names = append(names, cols[c].name)
			whats = append(whats, cols[c].name+": "+cols[c].what)
		}
		f.add(line, "%s leaves the %s cells empty; fill each in (%s)", name, joinAnd(names), strings.Join(whats, "; "))
	}
}

// tablesTooNarrow says, for a message that found no table with the columns
// it needs, where the document's other tables are (nothing when there are
// none): they were not taken because each has fewer than three of them.
func tablesTooNarrow(tables []Table) string {
	var at []string
	for _, t := range tables {
		at = append(at, strconv.Itoa(t.Line))
	}
	switch len(at) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(" (the table at line %s has fewer than three of these columns)", at[0])
	}
	return fmt.Sprintf(" (the tables at lines %s have fewer than three of these columns each)", joinAnd(at))
}
