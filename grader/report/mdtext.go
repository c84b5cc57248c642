package report

import (
	"html"
	"strings"
)

// Markdown text: how measured text, titles and file names are made safe for GitHub
// Flavored Markdown, in table cells, inline, in code blocks and in HTML.

// mdEscaper escapes what GitHub Markdown would otherwise read as markup, a table column
// break or an HTML tag. Line breaks become <br> so a table row stays one line.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`,
	"|", `\|`,
	"<", "&lt;",
	">", "&gt;",
	"`", "\\`",
	"*", `\*`,
	"_", `\_`,
	"[", `\[`,
	"]", `\]`,
	"\r\n", "<br>",
	"\n", "<br>",
	"\r", "<br>",
)

// mdCell makes s safe as the content of one table cell (or as inline text).
func mdCell(s string) string {
	return mdEscaper.Replace(strings.TrimSpace(s))
}

// mdCode writes s as an inline code span, with a fence longer than any run of backticks
// in s. Use mdCellCode inside tables.
func mdCode(s string) string {
	s = oneLine(s)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// mdCellCode is an inline code span inside a table cell, where GitHub needs pipes escaped
// even in code.
func mdCellCode(s string) string {
	return strings.ReplaceAll(mdCode(s), "|", `\|`)
}

// mdBlock writes s verbatim as a fenced code block, the fence longer than any run of
// backticks in s.
func mdBlock(b *strings.Builder, s string) { mdFenced(b, "text", s) }

// mdFenced writes s in a fenced block of the language lang, with a fence
// longer than any run of backticks in s, so nothing in s can close it.
func mdFenced(b *strings.Builder, lang, s string) {
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	b.WriteString(fence + lang + "\n")
	b.WriteString(strings.TrimRight(s, "\n"))
	b.WriteString("\n" + fence + "\n")
}

// mdChart writes a Mermaid diagram's source as a fenced block that GitHub
// draws as a picture.
func mdChart(b *strings.Builder, src string) { mdFenced(b, "mermaid", src) }

// htmlText escapes s for an HTML element such as <summary>.
func htmlText(s string) string {
	return html.EscapeString(oneLine(s))
}

func longestRun(s string, c rune) int {
	best, cur := 0, 0
	for _, r := range s {
		if r == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

// mdProse prepares text an author wrote for Markdown (rubric hints, the completion
// standard): code spans and other Markdown pass through, line breaks become spaces, and
// angle brackets outside code spans are escaped, so "REQ <id>" is not swallowed as an
// HTML tag.
func mdProse(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			switch s[i] {
			case '<':
				b.WriteString("&lt;")
			case '>':
				b.WriteString("&gt;")
			default:
				b.WriteByte(s[i])
			}
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		end := closingRun(s, i+n, n)
		if end < 0 { // no closing fence: the backticks are literal
			b.WriteString(strings.Repeat("\\`", n))
			i += n
			continue
		}
		b.WriteString(s[i : end+n]) // the whole code span, verbatim
		i = end + n
	}
	return b.String()
}

// closingRun finds, from index from, a run of exactly n backticks; -1 when there is none.
func closingRun(s string, from, n int) int {
	for i := from; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		k := 0
		for i+k < len(s) && s[i+k] == '`' {
			k++
		}
		if k == n {
			return i
		}
		i += k
	}
	return -1
}
