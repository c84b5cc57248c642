package artifact

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMarkdownBlocks(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     []Block
		problems []int // lines of the findings
	}{
		{
			name: "backtick fence",
			in:   "# t\n```mermaid\nsequenceDiagram\n  A->>B: hi\n```\ntext\n",
			want: []Block{{Lang: "mermaid", Line: 2, End: 5, Lines: []Line{{3, "sequenceDiagram"}, {4, "  A->>B: hi"}}}},
		},
		{
			name: "tilde fence, info string with more words, upper case",
			in:   "~~~Mermaid title\nsequenceDiagram\n~~~\n",
			want: []Block{{Lang: "mermaid", Line: 1, End: 3, Lines: []Line{{2, "sequenceDiagram"}}}},
		},
		{
			name: "a shorter fence inside a longer one is content",
			in:   "````markdown\n```mermaid\nx\n```\n````\n",
			want: []Block{{Lang: "markdown", Line: 1, End: 5, Lines: []Line{{2, "```mermaid"}, {3, "x"}, {4, "```"}}}},
		},
		{
			name: "a fence of the other character does not close",
			in:   "```mermaid\n~~~\n```\n",
			want: []Block{{Lang: "mermaid", Line: 1, End: 3, Lines: []Line{{2, "~~~"}}}},
		},
		{
			name: "indented fence in a list item, indentation removed from content",
			in:   "1. step\n\n   ```mermaid\n   sequenceDiagram\n     A->>B: x\n   ```\n",
			want: []Block{{Lang: "mermaid", Line: 3, End: 6, Lines: []Line{{4, "sequenceDiagram"}, {5, "  A->>B: x"}}}},
		},
		{
			name: "CRLF line ends and a byte order mark",
			in:   "\ufeff```mermaid\r\nsequenceDiagram\r\n```\r\n",
			want: []Block{{Lang: "mermaid", Line: 1, End: 3, Lines: []Line{{2, "sequenceDiagram"}}}},
		},
		{
			name: "inline code is not a fence",
			in:   "```mermaid``` is how a block starts\n",
			want: nil,
		},
		{
			name:     "unterminated fence runs to the end and is reported",
			in:       "text\n```mermaid\nsequenceDiagram\n",
			want:     []Block{{Lang: "mermaid", Line: 2, Lines: []Line{{3, "sequenceDiagram"}}}},
			problems: []int{2},
		},
		{
			name: "no info string",
			in:   "```\nplain\n```",
			want: []Block{{Lang: "", Line: 1, End: 3, Lines: []Line{{2, "plain"}}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := ParseMarkdown([]byte(tc.in))
			if !reflect.DeepEqual(doc.Blocks, tc.want) {
				t.Errorf("blocks:\n got %+v\nwant %+v", doc.Blocks, tc.want)
			}
			var lines []int
			for _, p := range doc.Problems {
				lines = append(lines, p.Line)
			}
			if !reflect.DeepEqual(lines, tc.problems) {
				t.Errorf("problems at lines %v, want %v (%v)", lines, tc.problems, doc.Problems)
			}
		})
	}
}

func TestParseMarkdownProseAndMermaid(t *testing.T) {
	in := "intro\n```go\ncode\n```\nmiddle\n```mermaid\nsequenceDiagram\n```\nend\n"
	doc := ParseMarkdown([]byte(in))
	want := []Line{{1, "intro"}, {5, "middle"}, {9, "end"}}
	if !reflect.DeepEqual(doc.Prose, want) {
		t.Errorf("prose = %v, want %v", doc.Prose, want)
	}
	m := doc.Mermaid()
	if len(m) != 1 || m[0].Line != 6 {
		t.Errorf("Mermaid() = %+v, want the block at line 6", m)
	}
}

func TestUnterminatedFenceMessage(t *testing.T) {
	doc := ParseMarkdown([]byte("~~~~mermaid\nsequenceDiagram\n"))
	if len(doc.Problems) != 1 {
		t.Fatalf("problems = %v, want one", doc.Problems)
	}
	if msg := doc.Problems[0].Message; !strings.Contains(msg, "~~~~mermaid fence is never closed") || !strings.Contains(msg, "only ~~~~") {
		t.Errorf("message %q should name the fence and how to close it", msg)
	}
}

func TestDiagramType(t *testing.T) {
	tests := []struct {
		lines []string
		kind  string
		line  int
	}{
		{[]string{"sequenceDiagram"}, "sequenceDiagram", 2},
		{[]string{"", "%% a comment", "%%{init: {'theme': 'dark'}}%%", "stateDiagram-v2", "[*] --> LISTEN"}, "stateDiagram-v2", 5},
		{[]string{"---", "title: x", "---", "flowchart LR"}, "flowchart", 5},
		{[]string{"", "  "}, "", 1},
		{nil, "", 1},
	}
	for _, tc := range tests {
		kind, line := DiagramType(block(tc.lines...))
		if kind != tc.kind || line != tc.line {
			t.Errorf("DiagramType(%q) = %q, %d; want %q, %d", tc.lines, kind, line, tc.kind, tc.line)
		}
	}
}

// block makes a ```mermaid block whose fence is line 1 and whose content starts at line 2.
func block(lines ...string) Block {
	b := Block{Lang: "mermaid", Line: 1, End: len(lines) + 2}
	for i, l := range lines {
		b.Lines = append(b.Lines, Line{N: i + 2, Text: l})
	}
	return b
}
