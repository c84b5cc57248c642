package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/grader/jail"
	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/rubric"
	"github.com/wirelab/wirelab/grader/sandbox"
	"github.com/wirelab/wirelab/grader/suite"
)

// runSpecs runs the case's specs in a sandbox child and collects their
// outcomes as they stream in. If the child cannot start, crashes or runs out
// of time, the specs that finished keep their verdicts and the problem explains
// the rest.
func (g *caseGrader) runSpecs(ctx context.Context) ([]rubric.SpecResult, string, report.Status) {
	g.mode = sandbox.CurrentMode()
	g.status("running %d checks in %s", len(g.rub.Criteria), g.mode)
	g.cgroup, g.cgroupErr = g.caseCgroup(g.mode)
	if cg := g.cgroup; cg != nil {
		defer func() {
			if b := jail.ReadBreaches(cg.Dirs()).Describe(g.def.limits()); b != "" {
				g.status("the grader's limits stopped some of your programs: %s", b)
			}
			if err := cg.Remove(); err != nil {
				g.status("%v", err)
			}
		}()
	}
	cmd, events, output, err := g.startChild(g.mode)
	var unavailable *sandbox.UnavailableError
	if errors.As(err, &unavailable) && g.opt.SharedNetns {
		g.mode = sandbox.SharedNetns
		g.status("no network namespace could be made (%v); running the checks in %s", unavailable.Err, g.mode)
		cmd, events, output, err = g.startChild(g.mode)
	}
	switch {
	case errors.As(err, &unavailable):
		return nil, "not graded: " + unavailable.Error(), report.Skipped
	case err != nil:
		return nil, "the grader could not start the case's sandbox: " + err.Error(), report.Error
	}
	defer events.Close()

	results := make(chan []rubric.SpecResult, 1)
	go func() { results <- g.readEvents(events) }()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	limit := lab.Scaled(CaseTimeout)
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var problem string
	select {
	case err = <-exited:
		if err != nil {
			problem = fmt.Sprintf("the grader's sandbox for this case ended early (%v)", err)
		}
	case <-timer.C:
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		problem = fmt.Sprintf("the grader stopped this case after %v; a program may have hung a check", limit)
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		// The checks that finished keep their verdicts; the others are not
		// graded, which is no fault of the student's.
		return <-results, "not graded: " + StopReason(ctx) + " during this case", report.Skipped
	}
	got := <-results
	if problem != "" {
		if tail := strings.TrimSpace(output.String()); tail != "" {
			problem += "; its last output:\n" + lastLines(tail, 15)
		}
		return got, problem, report.Error
	}
	return got, "", ""
}

// startChild starts the case's sandbox child in mode, with its events pipe
// and a buffer keeping the tail of its output.
func (g *caseGrader) startChild(mode sandbox.Mode) (*exec.Cmd, *os.File, *lab.TailBuffer, error) {
	cmd := sandbox.Command(mode, g.opt.Executable, ChildCommand, g.def.Slug)
	cmd.Env = append(cmd.Env, g.childEnv()...)
	if g.cgroup != nil {
		cmd.Env = append(cmd.Env, envCgroups+"="+strings.Join(g.cgroup.Dirs(), string(os.PathListSeparator)))
	}
	output := lab.NewTailBuffer(32 << 10)
	cmd.Stdout, cmd.Stderr = output, output
	events, eventsW, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create a pipe: %w", err)
	}
	cmd.ExtraFiles = []*os.File{eventsW}
	err = sandbox.Start(mode, cmd)
	eventsW.Close()
	if err != nil {
		events.Close()
		return nil, nil, nil, err
	}
	return cmd, events, output, nil
}

// readEvents decodes the child's event stream until it closes, reporting
// progress as each spec finishes.
func (g *caseGrader) readEvents(events *os.File) []rubric.SpecResult {
	var out []rubric.SpecResult
	dec := json.NewDecoder(events)
	for {
		var ev suite.Event
		if err := dec.Decode(&ev); err != nil {
			return out
		}
		out = append(out, rubric.SpecResult{
			Criterion: ev.Criterion, Text: ev.Text, Status: ev.Status,
			Message: ev.Message, Evidence: ev.Evidence, Duration: ev.Duration,
		})
		if g.opt.Progress != nil {
			g.opt.Progress(report.ProgressEvent{
				Case: g.def.Slug, Criterion: ev.Criterion, Title: g.title(ev.Criterion),
				Status: ev.Status, Duration: ev.Duration, Message: ev.Message,
			})
		}
	}
}

func (g *caseGrader) title(id string) string {
	for _, c := range g.rub.Criteria {
		if c.ID == id {
			return c.Title
		}
	}
	return id
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
