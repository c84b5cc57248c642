package suite

import (
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
)

// StopAtEnd stops p (SIGTERM, then SIGKILL after a scaled 2 s) when the
// current spec ends. When the spec failed, the last lines of p's log become
// evidence under "<what> log"; when p ended on its own, with a failure status,
// before the grader asked, that becomes evidence too: a crash often explains
// the failure better than the check that noticed it.
func StopAtEnd(p *lab.Process, what string) {
	ginkgo.DeferCleanup(func() {
		if ginkgo.CurrentSpecReport().Failed() {
			Evidence(what+" log", "%s", p.LogEvidence(12))
		}
		if p.ExitedUnasked() && p.ExitCode() != 0 {
			Evidence(what+" exit", "the %s %s on its own during this check", what, p.ExitDescription())
		}
		p.Stop(lab.Scaled(2 * time.Second))
	})
}
