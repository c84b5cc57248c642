package artifact

import (
	"fmt"
	"regexp"
	"strings"
)

// DiagramType returns the keyword that opens a Mermaid block ("sequenceDiagram",
// "stateDiagram-v2", "flowchart", ...) and its line, skipping blank lines, %% comments and
// a YAML front matter block (--- ... ---). It returns "" and the block's line when the
// block holds nothing else.
func DiagramType(b Block) (string, int) {
	lines := diagramBody(b)
	if len(lines) == 0 {
		return "", b.Line
	}
	return diagramKeyword(lines[0].Text), lines[0].N
}

// diagramKeyword is the first word of a diagram's first line, a trailing %% comment
// aside.
func diagramKeyword(s string) string {
	if i := strings.Index(s, "%%"); i >= 0 {
		s = s[:i]
	}
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// diagramBody returns the lines of a Mermaid block from its diagram keyword on, or nil
// when there is none.
func diagramBody(b Block) []Line {
	inFrontMatter := false
	seenContent := false
	for i, l := range b.Lines {
		t := strings.TrimSpace(l.Text)
		switch {
		case inFrontMatter:
			if t == "---" {
				inFrontMatter = false
			}
		case t == "" || strings.HasPrefix(t, "%%"):
		case t == "---" && !seenContent:
			inFrontMatter = true
		default:
			return b.Lines[i:]
		}
		seenContent = seenContent || t != ""
	}
	return nil
}

// diagramsOfKind returns the ```mermaid blocks of doc whose diagram keyword is one of
// kinds, ignoring case (the parsers then say when the keyword is misspelt), and describes
// each other block for a message saying none was found: "the block at line 2 is a
// flowchart".
func diagramsOfKind(doc Document, kinds ...string) (matching []Block, others []string) {
	for _, b := range doc.Mermaid() {
		kind, line := DiagramType(b)
		found := false
		for _, k := range kinds {
			found = found || strings.EqualFold(kind, k)
		}
		switch {
		case found:
			matching = append(matching, b)
		case kind != "":
			others = append(others, fmt.Sprintf("the block at line %d is a %s", line, kind))
		}
	}
	return matching, others
}

// accessibilityLine reports whether a diagram line is an accessibility statement, which
// draws nothing: `accTitle: ...`, `accDescr: ...` or `accDescr { ...`. open is true when
// the accDescr block goes on below, up to a line holding "}".
func accessibilityLine(t string) (acc, open bool) {
	if rest, ok := cutPrefixFold(t, "accTitle"); ok && strings.HasPrefix(strings.TrimSpace(rest), ":") {
		return true, false
	}
	if rest, ok := cutPrefixFold(t, "accDescr"); ok {
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, ":") {
			return true, false
		}
		if strings.HasPrefix(rest, "{") {
			return true, !strings.Contains(rest, "}")
		}
	}
	return false, false
}

// entityPattern matches Mermaid's entity codes (#59; #quot;), which are text, not syntax.
var entityPattern = regexp.MustCompile(`#[A-Za-z0-9]+;`)

// maskEntities hides the entity codes of a line, so that their # and ; are not read as a
// comment or the end of a statement; restoreEntities brings them back.
func maskEntities(s string) string {
	return entityPattern.ReplaceAllStringFunc(s, func(e string) string {
		return "\uE000" + e[1:len(e)-1] + "\uE001"
	})
}

// restoreEntities undoes maskEntities.
func restoreEntities(s string) string {
	return strings.NewReplacer("\uE000", "#", "\uE001", ";").Replace(s)
}
