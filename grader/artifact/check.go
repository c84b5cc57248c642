package artifact

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wirelab/wirelab/grader/report"
)

// Result is the verdict of a check on one artifact file.
type Result struct {
	Passed   bool
	Findings []report.Finding // what is missing or wrong, sorted by line; none when Passed
	Tags     []string         // tags the check itself awards; the caller adds the rubric's tags_when_valid
	// Notes are encouraging remarks on what the artifact does beyond the requirements
	// (e.g. it also draws the SYN queue). They never make a check fail; callers may show
	// them or not.
	Notes []string
}

// checkFunc checks an artifact file's content; path is for messages only.
type checkFunc func(path string, content []byte) Result

// registry maps the names a rubric's "check:" field uses to their checks. A new check is
// one file with its function and one line here.
var registry = map[string]checkFunc{
	"handshake-sequence": checkHandshakeSequence,
	"close-states":       checkCloseStates,
	"transport-decision": checkTransportDecision,
	"hol-comparison":     checkHOLComparison,
	"architecture":       checkArchitecture,
}

// Check runs the named check on an artifact file's content. path is for messages only.
// The error is only for an unknown check name, which is a mistake in the rubric, not in
// the student's work.
func Check(check string, path string, content []byte) (Result, error) {
	fn, ok := registry[check]
	if !ok {
		return Result{}, fmt.Errorf("artifact: unknown check %q (known checks: %s)", check, strings.Join(Checks(), ", "))
	}
	res := fn(path, content)
	sortFindings(res.Findings)
	res.Passed = len(res.Findings) == 0
	return res, nil
}

// Checks returns the names of the known checks, sorted.
func Checks() []string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// sortFindings orders findings by line, whole-file findings (line 0) first, keeping the
// order of findings on the same line.
func sortFindings(fs []report.Finding) {
	slices.SortStableFunc(fs, func(a, b report.Finding) int { return a.Line - b.Line })
}

// emptyFinding is the finding for a file with nothing in it; what says what it should hold.
func emptyFinding(path, what string) report.Finding {
	return report.Finding{Message: fmt.Sprintf("%s is empty: it should hold %s; start again from the template and fill it in", base(path), what)}
}

// base is the file name a message shows: the path's last element, or "the artifact".
func base(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		path = path[i+1:]
	}
	if path == "" {
		return "the artifact"
	}
	return path
}

// proseTODOs reports TODO markers left in the text around the diagrams (the templates ask
// for an explanation in the student's own words).
func proseTODOs(doc Document) []report.Finding {
	var out []report.Finding
	for _, l := range doc.Prose {
		if hasTODO(l.Text) {
			out = append(out, report.Finding{Line: l.N, Message: fmt.Sprintf(
				"a TODO is left in the text (%s): answer it in your own words and remove the marker", quote(fromTODO(l.Text)))})
		}
	}
	return out
}

// blockTODOs reports TODO markers left in a diagram, and returns the lines holding them:
// what stands on those lines is a placeholder, not evidence of anything.
func blockTODOs(b Block) (map[int]bool, []report.Finding) {
	lines := map[int]bool{}
	var out []report.Finding
	for _, l := range b.Lines {
		if hasTODO(l.Text) {
			lines[l.N] = true
			out = append(out, report.Finding{Line: l.N, Message: fmt.Sprintf(
				"a TODO is left in the diagram (%s): replace this placeholder with the diagram lines it asks for", quote(fromTODO(l.Text)))})
		}
	}
	return lines, out
}

// findingList gathers a review's findings.
type findingList []report.Finding

// add records a finding on a line.
func (f *findingList) add(line int, format string, args ...any) {
	*f = append(*f, report.Finding{Line: line, Message: fmt.Sprintf(format, args...)})
}
