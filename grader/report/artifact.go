package report

import (
	"strconv"
	"strings"
)

// Location is where a finding points in the artifact file: "handshake.md:14", or just the
// file when the finding concerns the whole file (line 0).
func (f Finding) Location(file string) string {
	if f.Line <= 0 {
		return file
	}
	return file + ":" + strconv.Itoa(f.Line)
}

// artifactHeadline is the one line that stands for an artifact in a table: its first
// finding, or the tags it earned.
func artifactHeadline(a *Artifact) string {
	if len(a.Findings) > 0 {
		f := a.Findings[0]
		return f.Location(a.File) + ": " + oneLine(f.Message)
	}
	if len(a.Tags) > 0 {
		return "tags earned: " + strings.Join(a.Tags, ", ")
	}
	switch a.Status {
	case Passed:
		return "all checks passed"
	case Skipped:
		return "not checked"
	}
	return ""
}

// findingsText lists every finding, one per line, each with its location.
func findingsText(a *Artifact) string {
	var b strings.Builder
	for _, f := range a.Findings {
		b.WriteString(f.Location(a.File) + ": " + f.Message + "\n")
	}
	return b.String()
}
