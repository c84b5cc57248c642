package suite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
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

// CheckUsageErrors runs the student's program with each bad command line and
// fails the spec unless every run exits 2 within a scaled 5 s with nothing on
// stdout: the brief's usage error (a message on stderr).
func CheckUsageErrors(ctx context.Context, program string, lines [][]string) {
	for _, args := range lines {
		p, err := lab.Start(Program(program), args...)
		if err != nil {
			GraderFailf("%v", err)
		}
		if !p.AwaitExit(ctx, lab.Scaled(5*time.Second)) {
			p.Stop(lab.Scaled(time.Second))
			Failf("`%s %s` did not exit within %v: a missing or bad flag is a usage error (exit 2).", program, strings.Join(args, " "), lab.Scaled(5*time.Second))
		}
		if p.ExitCode() != 2 || strings.TrimSpace(p.Stdout()) != "" {
			Failf("`%s %s` %s and printed %s on stdout: a missing or bad flag is a usage error on stderr, nothing on stdout, exit 2.",
				program, strings.Join(args, " "), p.ExitDescription(), QuoteOutput(p.Stdout()))
		}
	}
}

// QuoteOutput renders what a program printed for a message: "nothing", or
// its first 400 bytes, quoted.
func QuoteOutput(out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return "nothing"
	}
	return fmt.Sprintf("%q", report.Clip(out, 400))
}
