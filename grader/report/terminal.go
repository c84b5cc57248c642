package report

import (
	"strings"
	"unicode/utf8"
)

// Terminal text: columns measured in runes, lines cut to a width, optional ANSI color.
// Color only ever decorates words that are printed anyway.

// SummaryOptions say how terminal output looks.
type SummaryOptions struct {
	Color bool // ANSI colors; status words and marks are printed either way
	Width int  // columns per line; 0 or less means 100
}

const defaultWidth = 100

func (o SummaryOptions) width() int {
	if o.Width <= 0 {
		return defaultWidth
	}
	return o.Width
}

const (
	ansiBold    = "1"
	ansiRed     = "31"
	ansiGreen   = "32"
	ansiYellow  = "33"
	ansiMagenta = "35"
	ansiDim     = "2"
)

// painter colors text when it is true.
type painter bool

func (p painter) paint(code, s string) string {
	if !p || code == "" || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// seg is a piece of a terminal line and its color.
type seg struct {
	text  string
	color string
}

// line joins segs into one line of at most width runes. A line that is too long is cut
// and ends in "..."; trailing spaces are trimmed.
func (p painter) line(width int, segs ...seg) string {
	var plain strings.Builder
	for _, s := range segs {
		plain.WriteString(s.text)
	}
	long := runeLen(strings.TrimRight(plain.String(), " ")) > width
	left := width
	if long {
		left = max(width-3, 0)
	}
	var b strings.Builder
	for _, s := range segs {
		if left <= 0 {
			break
		}
		t := s.text
		if r := []rune(t); len(r) > left {
			t = string(r[:left])
		}
		left -= runeLen(t)
		if long && left == 0 {
			t = strings.TrimRight(t, " ")
		}
		b.WriteString(p.paint(s.color, t))
	}
	if long {
		if width < 3 {
			return strings.Repeat(".", width)
		}
		return b.String() + "..."
	}
	return strings.TrimRight(b.String(), " ")
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// truncate cuts s to n runes, ending in "..." when something was cut.
func truncate(s string, n int) string {
	if runeLen(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	if n <= 3 {
		return string(r[:n])
	}
	return strings.TrimRight(string(r[:n-3]), " ") + "..."
}

func padRight(s string, n int) string {
	if k := runeLen(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

func padLeft(s string, n int) string {
	if k := runeLen(s); k < n {
		return strings.Repeat(" ", n-k) + s
	}
	return s
}

// wrap breaks s into lines of at most width runes: the first starts with first, the
// others with rest (usually spaces to line up). Words longer than a line are split.
func wrap(s string, width int, first, rest string) []string {
	var lines []string
	prefix := first
	cur := ""
	flush := func() {
		lines = append(lines, strings.TrimRight(prefix+cur, " "))
		prefix, cur = rest, ""
	}
	for _, word := range strings.Fields(oneLine(s)) {
		for {
			room := width - runeLen(prefix)
			if room < 1 {
				room = 1
			}
			need := runeLen(word)
			if cur != "" {
				need++
			}
			if runeLen(cur)+need <= room {
				if cur != "" {
					cur += " "
				}
				cur += word
				break
			}
			if cur != "" {
				flush()
				continue
			}
			// The word alone is longer than a line: split it.
			r := []rune(word)
			cur = string(r[:room])
			word = string(r[room:])
			flush()
		}
	}
	if cur != "" || len(lines) == 0 {
		flush()
	}
	return lines
}
