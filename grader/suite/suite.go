// Package suite runs a case's hidden Ginkgo specs inside the sandbox child and
// streams each spec's outcome to the grader as it finishes; it also gives the
// specs their two ways of talking to the student: Evidence (what was measured)
// and Failf (what went wrong and why, in plain words).
//
// Outcomes travel as JSON lines (Event) over a pipe rather than through
// Ginkgo's end-of-suite JSON report, so that a child killed half-way still
// leaves the verdicts of the specs that finished.
package suite

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/sandbox"
)

// Event is one finished spec, as the child reports it to the grader.
type Event struct {
	Criterion string            `json:"criterion"` // the spec's one criterion label
	Text      string            `json:"text"`
	Status    report.Status     `json:"status"`
	Message   string            `json:"message,omitempty"`
	Evidence  []report.Evidence `json:"evidence,omitempty"`
	Duration  time.Duration     `json:"duration"`
}

// CriterionLabel returns the one label of a spec that names a rubric
// criterion ("prefix.name"), or an error if there is not exactly one.
func CriterionLabel(labels []string) (string, error) {
	var found []string
	for _, l := range labels {
		if strings.Contains(l, ".") {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("a spec must carry exactly one criterion label, has %q", found)
	}
	return found[0], nil
}

// failureOnly is a GinkgoTestingT that only records that the suite failed.
type failureOnly struct{}

func (failureOnly) Fail() {}

// Run runs the specs carrying label (a case slug) and writes one Event per
// finished spec to events. It returns an error only if the suite could not run.
func Run(label string, events io.Writer) error {
	var mu sync.Mutex
	enc := json.NewEncoder(events)
	ginkgo.ReportAfterEach(func(r types.SpecReport) {
		// Specs of the other cases are compiled into the same binary and
		// reported as skipped by the label filter: they are not this case's.
		if !slices.Contains(r.Labels(), label) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(eventOf(r))
	})
	ginkgo.BeforeEach(skipWithoutSysctls)
	gomega.RegisterFailHandler(ginkgo.Fail)
	gomega.SetDefaultEventuallyTimeout(10 * time.Second)
	gomega.SetDefaultEventuallyPollingInterval(5 * time.Millisecond)

	suiteCfg, reporterCfg := ginkgo.GinkgoConfiguration()
	suiteCfg.LabelFilter = label
	suiteCfg.FailFast = false
	// Ginkgo shuffles top-level containers by RandomSeed; a constant seed keeps
	// the order, and so whatever one spec leaves in the kernel for the next
	// (TIME_WAIT sockets, counters), the same on every run.
	suiteCfg.RandomSeed = 1
	reporterCfg.Succinct = true
	reporterCfg.NoColor = true
	ginkgo.RunSpecs(failureOnly{}, "wirelab "+label, suiteCfg, reporterCfg)
	return nil
}

func eventOf(r types.SpecReport) Event {
	ev := Event{Text: r.LeafNodeText, Duration: r.RunTime}
	crit, err := CriterionLabel(r.LeafNodeLabels)
	if err != nil {
		ev.Status = report.Error
		ev.Message = fmt.Sprintf("grader bug in spec %q: %v", r.LeafNodeText, err)
		return ev
	}
	ev.Criterion = crit
	for _, e := range r.ReportEntries {
		piece := report.Evidence{Name: e.Name, Text: e.StringRepresentation()}
		if c, ok := e.GetRawValue().(chartEntry); ok {
			piece.Text, piece.Chart = c.text, c.chart
		}
		ev.Evidence = append(ev.Evidence, piece)
	}
	switch r.State {
	case types.SpecStatePassed:
		ev.Status = report.Passed
	case types.SpecStateSkipped, types.SpecStatePending:
		ev.Status = report.Skipped
		ev.Message = r.Failure.Message
	case types.SpecStateFailed:
		ev.Status = report.Failed
		ev.Message = r.Failure.Message
		// A spec fails with "grader: ..." when the grader itself could not do
		// its part (GraderFailf): not the student's doing.
		if strings.HasPrefix(r.Failure.Message, GraderPrefix) {
			ev.Status = report.Error
		}
	case types.SpecStateTimedout:
		ev.Status = report.Failed
		ev.Message = fmt.Sprintf("this check did not finish within its time limit (%v); the program may be stuck. %s",
			r.RunTime.Round(time.Second), r.Failure.Message)
	default: // panicked, aborted, interrupted: the grader's problem, not the student's
		ev.Status = report.Error
		ev.Message = fmt.Sprintf("the grader could not finish this check (%s): %s", r.State, r.Failure.Message)
		if r.Failure.ForwardedPanic != "" {
			ev.Message += "\npanic: " + r.Failure.ForwardedPanic
		}
	}
	return ev
}

// Evidence attaches a measurement to the current spec's report.
func Evidence(name, format string, args ...any) {
	ginkgo.AddReportEntry(name, fmt.Sprintf(format, args...))
}

// EvidenceChart attaches a measurement as text and as the source of a
// Mermaid diagram that report.md draws under it (report.Evidence.Chart). The
// text must say everything the chart shows: only report.md draws it.
func EvidenceChart(name, text, chart string) {
	ginkgo.AddReportEntry(name, chartEntry{text: text, chart: chart})
}

// chartEntry is the value of an EvidenceChart report entry; its String is
// the text, for any reader of Ginkgo's own report.
type chartEntry struct{ text, chart string }

func (c chartEntry) String() string { return c.text }

// Failf fails the current spec with a student-facing message: what was sent,
// what came back, what was wanted, and the concept that explains it.
func Failf(format string, args ...any) {
	ginkgo.Fail(fmt.Sprintf(format, args...), 1)
}

// GraderPrefix opens the message of a spec that failed on the grader's side.
const GraderPrefix = "grader: "

// GraderFailf fails the current spec as the grader's problem (the report
// says "error", not "failed"): a scene that would not build, a helper that
// would not start.
func GraderFailf(format string, args ...any) {
	ginkgo.Fail(GraderPrefix+fmt.Sprintf(format, args...), 1)
}

// Skipf marks the current spec as not graded, with the reason.
func Skipf(format string, args ...any) {
	ginkgo.Skip(fmt.Sprintf(format, args...), 1)
}

// NeedsSysctls labels the specs (or containers) whose verdict depends on the
// case's sysctls (the case's Sysctls in the catalog). Where the sandbox could
// not set them (a shared network namespace, as on Gradescope) those specs are
// not graded, with the reason; every other spec still runs.
const NeedsSysctls = "needs-case-sysctls"

// SkipIfDenied marks the current spec as not graded when err says that this
// machine gives the grader no network namespaces (lab.ErrNamespacesDenied):
// the check needs one of its own, and cannot be judged without it.
func SkipIfDenied(err error) {
	if errors.Is(err, lab.ErrNamespacesDenied) {
		ginkgo.Skip("not graded on this machine: this check builds a network namespace of its own, which "+
			"this machine does not allow (a container without CAP_SYS_ADMIN, as on Gradescope); "+
			"make grade or the course's GitHub workflow grades it", 1)
	}
}

// skipWithoutSysctls, run before each spec, skips a spec labelled
// NeedsSysctls when the sandbox could not set the case's sysctls.
func skipWithoutSysctls() {
	missing := sandbox.MissingSysctls()
	if missing == "" || !slices.Contains(ginkgo.CurrentSpecReport().Labels(), NeedsSysctls) {
		return
	}
	ginkgo.Skip("not graded on this machine: this check depends on kernel settings the grader sets in a network "+
		"namespace of its own ("+missing+"), and this machine gives it none (a container, as on Gradescope); "+
		"make grade or the course's GitHub workflow grades it", 1)
}
