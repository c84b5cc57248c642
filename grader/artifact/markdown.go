package artifact

import (
	"fmt"
	"strings"

	"github.com/wirelab/wirelab/grader/report"
)

// Line is one line of an artifact file and its 1-based number in that file.
type Line struct {
	N    int
	Text string
}

// Block is a fenced code block of a Markdown file.
type Block struct {
	Lang  string // first word of the info string, lower-cased: "mermaid", "go", "" for none
	Line  int    // line of the opening fence
	End   int    // line of the closing fence; 0 when the fence is never closed
	Lines []Line // the content, with the opening fence's indentation removed
}

// Document is a Markdown file split into its fenced code blocks and the prose around them.
type Document struct {
	Blocks   []Block
	Prose    []Line           // lines outside every fenced block
	Problems []report.Finding // fences that are never closed
}

// Mermaid returns the ```mermaid (or ~~~mermaid) blocks of the document, in file order.
func (d Document) Mermaid() []Block {
	var out []Block
	for _, b := range d.Blocks {
		if b.Lang == "mermaid" {
			out = append(out, b)
		}
	}
	return out
}

// ParseMarkdown splits content into fenced code blocks and prose, following CommonMark's
// fence rules (a run of at least three ` or ~, closed by a run of the same character at
// least as long) with one tolerance: fences may be indented by any amount, as they are in
// list items. A fence that is never closed runs to the end of the file, as CommonMark
// says, and is reported, because everything after it silently became code.
func ParseMarkdown(content []byte) Document {
	var doc Document
	var open *Block
	var fence fenceMark
	for _, l := range splitLines(content) {
		if open == nil {
			if f, ok := openingFence(l.Text); ok {
				fence = f
				open = &Block{Lang: f.lang, Line: l.N}
				continue
			}
			doc.Prose = append(doc.Prose, l)
			continue
		}
		if fence.closedBy(l.Text) {
			open.End = l.N
			doc.Blocks = append(doc.Blocks, *open)
			open = nil
			continue
		}
		open.Lines = append(open.Lines, Line{N: l.N, Text: dedent(l.Text, fence.indent)})
	}
	if open != nil {
		doc.Blocks = append(doc.Blocks, *open)
		doc.Problems = append(doc.Problems, report.Finding{
			Line: open.Line,
			Message: fmt.Sprintf("this %s fence is never closed, so everything after it is read as code; "+
				"end the block with a line holding only %s", fence.show(), strings.Repeat(string(fence.char), fence.n)),
		})
	}
	return doc
}

// fenceMark is an opening code fence: its character, length, indentation and language.
type fenceMark struct {
	char   byte
	n      int
	indent int
	lang   string
}

// show is how a message names the fence: ```mermaid.
func (f fenceMark) show() string {
	return strings.Repeat(string(f.char), f.n) + f.lang
}

// openingFence reads s as an opening code fence.
func openingFence(s string) (fenceMark, bool) {
	body := strings.TrimLeft(s, " \t")
	indent := len(s) - len(body)
	if body == "" || (body[0] != '`' && body[0] != '~') {
		return fenceMark{}, false
	}
	c := body[0]
	n := 0
	for n < len(body) && body[n] == c {
		n++
	}
	if n < 3 {
		return fenceMark{}, false
	}
	info := strings.TrimSpace(body[n:])
	if c == '`' && strings.ContainsRune(info, '`') {
		return fenceMark{}, false // inline code such as ```x```, not a fence
	}
	lang := ""
	if fields := strings.Fields(info); len(fields) > 0 {
		lang = strings.ToLower(fields[0])
	}
	return fenceMark{char: c, n: n, indent: indent, lang: lang}, true
}

// closedBy reports whether s closes the fence: the same character, at least as many of
// them, nothing but spaces after.
func (f fenceMark) closedBy(s string) bool {
	body := strings.TrimSpace(s)
	if len(body) < f.n {
		return false
	}
	for i := 0; i < len(body); i++ {
		if body[i] != f.char {
			return false
		}
	}
	return true
}

// dedent removes up to n leading spaces or tabs.
func dedent(s string, n int) string {
	i := 0
	for i < n && i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return s[i:]
}

// splitLines splits content into numbered lines, accepting \n and \r\n line ends and a
// leading byte order mark. A final line end does not start another line.
func splitLines(content []byte) []Line {
	s := strings.TrimPrefix(string(content), "\ufeff")
	if s == "" {
		return nil
	}
	s = strings.TrimSuffix(s, "\n")
	parts := strings.Split(s, "\n")
	lines := make([]Line, len(parts))
	for i, p := range parts {
		lines[i] = Line{N: i + 1, Text: strings.TrimSuffix(p, "\r")}
	}
	return lines
}
