// Package report holds the grade report model (a documented, versioned schema)
// and writes it as terminal text, JSON, JUnit XML, Markdown, GitHub Actions
// annotations, a GitHub Classroom runner result and Gradescope's results.json.
package report

import "time"

// SchemaVersion names the JSON schema of Report. Bump it on any incompatible change.
const SchemaVersion = "wirelab.report/v1"

// Status is the verdict of a criterion or an artifact.
type Status string

const (
	Passed  Status = "passed"  // every spec of the criterion passed
	Failed  Status = "failed"  // a spec failed: the submission did not behave as required
	Skipped Status = "skipped" // not graded, with the reason in Evidence (e.g. no TUN device)
	Error   Status = "error"   // grading itself could not run the criterion (child crashed, sandbox missing)
)

// Report is everything one run of the grader produced.
type Report struct {
	Schema      string     `json:"schema"`
	Grader      string     `json:"grader,omitempty"` // which grader graded it: version and rubrics digest (version.Short)
	Submission  string     `json:"submission"`       // the graded directory, as given
	Seed        int64      `json:"seed"`
	Instructor  bool       `json:"instructor"` // hidden evidence is shown only in instructor mode
	StartedAt   time.Time  `json:"started_at"`
	Duration    Seconds    `json:"duration_seconds"`
	Cases       []Case     `json:"cases"`
	Points      int        `json:"points"`
	MaxPoints   int        `json:"max_points"`
	Completion  Completion `json:"completion"`
	Environment []string   `json:"environment,omitempty"` // how the sandbox ran (root netns, user namespace, ...)
}

// Case is the result of one case study.
type Case struct {
	Slug      string      `json:"slug"`
	Title     string      `json:"title"`
	Points    int         `json:"points"`
	MaxPoints int         `json:"max_points"`
	Duration  Seconds     `json:"duration_seconds"`
	Problem   string      `json:"problem,omitempty"` // why some criteria could not be graded (build error, no sandbox)
	Criteria  []Criterion `json:"criteria"`
	Artifact  *Artifact   `json:"artifact,omitempty"`
}

// Criterion is the verdict on one rubric criterion.
type Criterion struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Concept    string     `json:"concept,omitempty"`
	Visibility string     `json:"visibility"`
	Status     Status     `json:"status"`
	Points     int        `json:"points"`
	MaxPoints  int        `json:"max_points"`
	Duration   Seconds    `json:"duration_seconds"`
	Evidence   []Evidence `json:"evidence,omitempty"`
	Hint       string     `json:"hint,omitempty"`
	Redacted   bool       `json:"redacted,omitempty"` // evidence withheld: hidden criterion, student mode
}

// Evidence is one thing a spec observed, named (e.g. "kernel counters") and rendered as text.
type Evidence struct {
	Name string `json:"name"`
	Text string `json:"text"`
	// Chart, when set, is the same observation drawn as a Mermaid diagram
	// (a gantt of per-stream timelines, say): report.md draws it under the
	// text; the terminal and the annotations show the text only.
	Chart string `json:"chart,omitempty"`
}

// Artifact is the verdict on a case's written artifact (a Markdown file with diagrams).
type Artifact struct {
	File      string    `json:"file"` // path relative to the submission root
	Status    Status    `json:"status"`
	Points    int       `json:"points"`
	MaxPoints int       `json:"max_points"`
	Findings  []Finding `json:"findings,omitempty"`
	Tags      []string  `json:"tags,omitempty"` // earned by a valid artifact, used by the completion standard
}

// Finding is one problem in an artifact, at a line (0 when it concerns the whole file).
type Finding struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Completion is the module's completion standard evaluated over the artifacts that passed.
type Completion struct {
	Met          bool          `json:"met"`
	Completed    []string      `json:"completed_artifacts"` // files of the artifacts that passed their checks
	Requirements []Requirement `json:"requirements"`
}

// Requirement is one line of the completion standard.
type Requirement struct {
	ID      string `json:"id"`
	Text    string `json:"text"`
	Met     bool   `json:"met"`
	Have    int    `json:"have"`
	Need    int    `json:"need"`
	Missing string `json:"missing,omitempty"` // what is still missing, in plain words
}

// Seconds is a duration written as fractional seconds in JSON.
type Seconds float64

// SecondsOf converts a duration.
func SecondsOf(d time.Duration) Seconds { return Seconds(d.Seconds()) }
