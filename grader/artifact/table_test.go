package artifact

import (
	"slices"
	"testing"
)

func TestTables(t *testing.T) {
	doc := []byte("# Title\n\nSome prose.\n\n" +
		"| Clause | Criterion | Mutants |\n" +
		"|---|---|---|\n" +
		"| Replies **exactly** `OK <id>\\n` | `demo.serves` | `reply-crlf`, `no-close` |\n" +
		"| Escaped \\| pipe | not graded | — |\n" +
		"| Short row |\n" +
		"\n```\n| not | a table |\n|---|---|\n```\n\n" +
		"| A | B |\n|:-|-:|\n| 1 | 2 |\n")
	tables := Tables(doc)
	if len(tables) != 2 {
		t.Fatalf("%d tables, want 2 (the one in a code block is code): %+v", len(tables), tables)
	}
	tab := tables[0]
	if tab.Line != 5 || len(tab.Header) != 3 || tab.Header[1].Text != "Criterion" {
		t.Errorf("header: line %d, %+v", tab.Line, tab.Header)
	}
	if tab.Column("crit") != 1 || tab.Column("mutant") != 2 || tab.Column("nope") != -1 {
		t.Errorf("Column: %d %d %d", tab.Column("crit"), tab.Column("mutant"), tab.Column("nope"))
	}
	if len(tab.Rows) != 3 {
		t.Fatalf("%d rows, want 3: %+v", len(tab.Rows), tab.Rows)
	}
	first := tab.Rows[0]
	if first.Line != 7 {
		t.Errorf("first row on line %d, want 7", first.Line)
	}
	if got := first.Cell(0).Text; got != `Replies exactly OK <id>\n` {
		t.Errorf("plain text %q", got)
	}
	if got := first.Cell(2).Code; !slices.Equal(got, []string{"reply-crlf", "no-close"}) {
		t.Errorf("code spans %q", got)
	}
	if got := tab.Rows[1].Cell(0).Text; got != "Escaped | pipe" {
		t.Errorf("escaped pipe: %q", got)
	}
	if short := tab.Rows[2]; short.Line != 9 || short.Cell(2).Text != "" || len(short.Cell(2).Code) != 0 {
		t.Errorf("a short row has empty cells beyond its end: %+v", short)
	}
	if second := tables[1]; second.Line != 16 || second.Rows[0].Cell(1).Text != "2" {
		t.Errorf("second table: %+v", second)
	}
}
