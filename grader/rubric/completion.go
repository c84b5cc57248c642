package rubric

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/wirelab/wirelab/grader/internal/words"
	"github.com/wirelab/wirelab/grader/report"
)

// Evaluate checks the completion standard over the artifacts of the graded cases. An
// artifact is completed when its status is passed; a requirement counts the completed
// artifacts that carry one of its tags (all completed artifacts when it names none).
func (m *Module) Evaluate(cases []report.Case) report.Completion {
	type done struct {
		name string // "01-backlog/handshake.md", for messages
		tags []string
	}
	var completed []done
	offered := 0
	out := report.Completion{Met: true, Completed: []string{}, Requirements: make([]report.Requirement, 0, len(m.Requirements))}
	for _, c := range cases {
		if c.Artifact == nil {
			continue
		}
		offered++
		if c.Artifact.Status == report.Passed {
			out.Completed = append(out.Completed, c.Artifact.File)
			completed = append(completed, done{name: artifactName(c.Slug, c.Artifact.File), tags: c.Artifact.Tags})
		}
	}

	names := make([]string, len(completed))
	for i, a := range completed {
		names[i] = a.name
	}
	for _, r := range m.Requirements {
		var have []string
		for _, a := range completed {
			if len(r.AnyTag) == 0 || slices.ContainsFunc(r.AnyTag, func(t string) bool { return slices.Contains(a.tags, t) }) {
				have = append(have, a.name)
			}
		}
		rr := report.Requirement{ID: r.ID, Text: r.Text, Have: len(have), Need: r.MinArtifacts}
		rr.Met = rr.Have >= rr.Need
		if !rr.Met {
			out.Met = false
			rr.Missing = missing(r, rr.Need-rr.Have, have, names, offered, len(cases))
		}
		out.Requirements = append(out.Requirements, rr)
	}
	return out
}

// artifactName is how messages name an artifact: its path in the submission,
// as the report's list of completed artifacts names it, or its case and file
// name when the path is not known.
func artifactName(slug, file string) string {
	if slug == "" || strings.Contains(file, "/") {
		return file
	}
	return slug + "/" + path.Base(file)
}

// missing says in plain words what a requirement still needs.
func missing(r Requirement, more int, have, completed []string, offered, cases int) string {
	noun := words.Plural(more, "artifact", "artifacts")
	var b strings.Builder
	switch {
	case len(r.AnyTag) == 0:
		fmt.Fprintf(&b, "%d more completed %s (completed so far: %s; artifacts offered so far: %d of the %d graded %s)",
			more, noun, listOrNone(completed), offered, cases, words.Plural(cases, "case", "cases"))
	case len(completed) == 0:
		fmt.Fprintf(&b, "%d more completed %s tagged %s (no artifact is completed yet)", more, noun, orList(r.AnyTag))
	default:
		fmt.Fprintf(&b, "%d more completed %s tagged %s (completed so far: %s; tagged so far: %s)",
			more, noun, orList(r.AnyTag), listOrNone(completed), listOrNone(have))
	}
	if r.Hint != "" {
		b.WriteString(". ")
		b.WriteString(r.Hint)
	}
	return b.String()
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// orList writes [a b c] as "a, b or c".
func orList(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}
