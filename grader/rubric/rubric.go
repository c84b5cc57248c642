// Package rubric loads the rubric files (rubrics/NN-slug.yaml for a case,
// rubrics/module.yaml for the module's completion standard), validates them with
// errors that carry file:line, and turns results into the report model: hidden-spec
// results become criterion verdicts and points (Case.Score), completed artifacts
// become the completion standard's verdict (Module.Evaluate).
package rubric

import "time"

// Visibility says when a student sees a criterion's evidence and hint.
type Visibility string

const (
	Visible      Visibility = "visible"        // always
	Hidden       Visibility = "hidden"         // only in instructor mode
	AfterDueDate Visibility = "after_due_date" // hidden before the case's due time, visible from then on
)

// Case is the rubric of one case study (rubrics/NN-slug.yaml).
type Case struct {
	File     string    // path it was loaded from (for messages)
	Slug     string    // yaml: case, e.g. "01-backlog"
	Title    string    // yaml: title
	Total    int       // yaml: total; equals the criteria's points plus the artifact's
	Due      time.Time // yaml: due (RFC 3339); zero when absent
	Criteria []Criterion
	Artifact *Artifact // nil when the case has no artifact

	criteriaLine int // line of the criteria key, for messages about labels
}

// Criterion is one graded behaviour. Its ID is the Ginkgo label its hidden specs carry.
type Criterion struct {
	ID         string // "<prefix>.<name>", e.g. "backlog.sheds-load"
	Title      string
	Points     int // all or nothing
	Visibility Visibility
	Concept    string // the case study's concept it checks (optional)
	Hint       string // student-facing, shown when the criterion did not pass
	Line       int    // line of the criterion in File
}

// Artifact is the case's written artifact and the check that validates it.
type Artifact struct {
	File          string   // yaml: file, relative to the case's directory
	Check         string   // yaml: check, the artifact checker to run
	Points        int      // yaml: points
	TagsWhenValid []string // yaml: tags_when_valid, earned for the completion standard when it passes
	Line          int
}

// Module is the module's completion standard (rubrics/module.yaml).
type Module struct {
	File         string
	Requirements []Requirement // yaml: completion_standard
}

// Requirement is one line of the completion standard: at least MinArtifacts completed
// artifacts, carrying one of AnyTag when AnyTag is not empty.
type Requirement struct {
	ID           string
	Text         string
	MinArtifacts int      // yaml: min_artifacts, at least 1
	AnyTag       []string // yaml: any_tag (optional)
	Hint         string   // yaml: hint (optional): which artifacts earn it, appended to Missing
	Line         int
}
