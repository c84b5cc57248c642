package report

// Known reports whether s is one of the four statuses schema v1 defines.
func (s Status) Known() bool {
	switch s {
	case Passed, Failed, Skipped, Error:
		return true
	}
	return false
}

// word is the plain ASCII word for s in terminal output; never more than four letters.
func (s Status) word() string {
	switch s {
	case Passed:
		return "PASS"
	case Failed:
		return "FAIL"
	case Skipped:
		return "SKIP"
	case Error:
		return "ERR"
	}
	return "????"
}

// symbol is the one-rune mark for s in colored terminal output; each has its own shape,
// so the mark still reads without color.
func (s Status) symbol() string {
	switch s {
	case Passed:
		return "✓"
	case Failed:
		return "✗"
	case Skipped:
		return "○"
	case Error:
		return "!"
	}
	return "?"
}

// ansi is the SGR color code for s.
func (s Status) ansi() string {
	switch s {
	case Passed:
		return ansiGreen
	case Failed:
		return ansiRed
	case Skipped:
		return ansiYellow
	case Error:
		return ansiMagenta
	}
	return ""
}

// label is s for Markdown: an emoji and the word, so it reads without the emoji.
func (s Status) label() string {
	switch s {
	case Passed:
		return "✅ passed"
	case Failed:
		return "❌ failed"
	case Skipped:
		return "⏭️ skipped"
	case Error:
		return "⚠️ error"
	}
	return "❔ " + string(s)
}
