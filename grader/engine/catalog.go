// Package engine grades a submission: for each case it builds the student's
// programs, runs the case's hidden specs in a sandbox child with a network
// namespace of its own, checks the written artifact, and scores everything
// against the rubric; then it evaluates the module's completion standard.
//
// The parent never trusts the child for a verdict: a child that crashes, hangs
// or is killed still yields a complete report, with the reason as evidence.
package engine

import (
	"slices"

	"github.com/wirelab/wirelab/grader/jail"
	"github.com/wirelab/wirelab/grader/specs/backlog"
	"github.com/wirelab/wirelab/grader/specs/holquic"
	"github.com/wirelab/wirelab/grader/specs/serverarch"
	"github.com/wirelab/wirelab/grader/specs/timewait"
	"github.com/wirelab/wirelab/grader/specs/udpmetrics"
)

// caseDef is what the engine knows about a case besides its rubric.
type caseDef struct {
	Slug     string
	Label    string            // Ginkgo label of the case's specs
	Programs []string          // program directories under skeletons/<slug>/, built and handed to the specs
	Sysctls  map[string]string // set inside the case's network namespace
	Imports  []string          // packages outside the standard library the brief allows the student's programs
	Limits   *jail.Limits      // what the case's programs may use; nil: jail.DefaultLimits
}

// limits are the case's limits.
func (c caseDef) limits() jail.Limits {
	if c.Limits != nil {
		return *c.Limits
	}
	return jail.DefaultLimits
}

// catalog lists the cases in module order.
var catalog = []caseDef{
	{Slug: "01-backlog", Label: backlog.CaseLabel, Programs: []string{"server"}, Sysctls: backlog.Sysctls,
		Imports: []string{"golang.org/x/sys/unix"}},
	{Slug: "02-udp-metrics", Label: udpmetrics.CaseLabel, Programs: []string{"agent", "collector"}, Sysctls: udpmetrics.Sysctls,
		Imports: []string{"golang.org/x/sys/unix", "github.com/quic-go/quic-go"}},
	{Slug: "03-time-wait", Label: timewait.CaseLabel, Programs: []string{"sockstat", "server", "client"}, Sysctls: timewait.Sysctls,
		Imports: []string{"golang.org/x/sys/unix"}},
	{Slug: "04-hol-quic", Label: holquic.CaseLabel, Programs: []string{"server", "client"}, Sysctls: holquic.Sysctls,
		Imports: []string{"github.com/quic-go/quic-go", "github.com/quic-go/quic-go/http3"}},
	// Case 05's thread model holds a thread per connection (1,000 in the
	// side-by-side measurement) and its process model a Go process per
	// connection (101 at once, a few MiB each): more tasks and memory than
	// the default allows, still far from what hurts the machine.
	{Slug: "05-server-arch", Label: serverarch.CaseLabel, Programs: []string{"server"}, Sysctls: serverarch.Sysctls,
		Imports: []string{"golang.org/x/sys/unix"}, Limits: &serverArchLimits},
}

var serverArchLimits = func() jail.Limits {
	l := jail.DefaultLimits
	l.Processes = 4096
	l.Memory = 2 << 30
	return l
}()

// Slugs lists every case the grader knows, in module order.
func Slugs() []string {
	out := make([]string, len(catalog))
	for i, c := range catalog {
		out[i] = c.Slug
	}
	return out
}

// StudentImports lists, once each and sorted, the packages outside the standard
// library that some case's brief allows in the student's programs: the student
// repository's go.mod requires their modules.
func StudentImports() []string {
	var out []string
	for _, c := range catalog {
		out = append(out, c.Imports...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Known reports whether slug is a case of the catalog.
func Known(slug string) bool { _, ok := lookup(slug); return ok }

func lookup(slug string) (caseDef, bool) {
	for _, c := range catalog {
		if c.Slug == slug {
			return c, true
		}
	}
	return caseDef{}, false
}
