package artifact

import "strings"

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
