package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wirelab/wirelab/grader/artifact"
	"github.com/wirelab/wirelab/grader/build"
	"github.com/wirelab/wirelab/grader/jail"
	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/mutant"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/rubric"
	"github.com/wirelab/wirelab/grader/sandbox"
	"github.com/wirelab/wirelab/grader/version"
	"github.com/wirelab/wirelab/rubrics"
)

// Options says what to grade and how.
type Options struct {
	Root        string   // the submission: a checkout of the module
	Cases       []string // case slugs; empty means every case
	From        string   // with exactly one case: take programs and artifact from here, not skeletons/<slug>
	Mutant      string   // a mutant directory applied over From (the selftest and instructors)
	Seed        int64    // seed of every randomized hidden parameter
	Instructor  bool     // show evidence of hidden criteria
	Now         time.Time
	Executable  string                     // the grade binary, re-executed as the sandbox child
	Rubrics     fs.FS                      // rubric files; nil means the embedded ones
	Artifacts   string                     // where specs keep files for the student (pcaps), per case; empty: not kept
	SharedNetns bool                       // when no network namespace can be made, run the specs in the grader's own (Gradescope)
	Progress    func(report.ProgressEvent) // called as each spec finishes; may be nil
	Status      func(slug, what string)    // called as a case moves to its next step; may be nil
}

// CaseTimeout bounds one case's sandbox child (scaled by WIRELAB_TIMEOUT_SCALE).
const CaseTimeout = 4 * time.Minute

// workPrefix starts the name of a grader's work directory:
// wirelab-grade-<pid>-<random>, so that sweepWorkDirs can tell a dead
// grader's.
const workPrefix = "wirelab-grade-"

// sweepWorkDirs removes the work directories of graders no longer running.
func sweepWorkDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workPrefix+"*"))
	for _, dir := range dirs {
		if jail.OwnerGone(filepath.Base(dir), workPrefix) {
			os.RemoveAll(dir)
		}
	}
}

// BudgetError is the cause of a grading stopped by its whole-run budget.
type BudgetError struct{ Budget time.Duration }

func (e *BudgetError) Error() string {
	return fmt.Sprintf("the grading budget of %v (--budget) ran out", e.Budget)
}

// InterruptedError is the cause of a grading stopped by a signal.
type InterruptedError struct{ Signal os.Signal }

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("grading was interrupted (%v)", e.Signal)
}

// StopReason says why ctx ended, for a case that it left ungraded: its cause
// (a BudgetError, an InterruptedError), else that grading was stopped.
func StopReason(ctx context.Context) string {
	cause := context.Cause(ctx)
	var budget *BudgetError
	var interrupted *InterruptedError
	if errors.As(cause, &budget) || errors.As(cause, &interrupted) {
		return cause.Error()
	}
	return "grading was stopped"
}

// NewSeed picks a seed for a run that was not given one.
func NewSeed() int64 { return rand.Int64N(1 << 31) }

// Run grades the submission. An error means grading could not run at all
// (bad options, a malformed rubric); everything the submission does wrong is
// in the report instead.
func Run(ctx context.Context, opt Options) (*report.Report, error) {
	if opt.Rubrics == nil {
		opt.Rubrics = rubrics.Files
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	slugs := opt.Cases
	if len(slugs) == 0 {
		slugs = Slugs()
	}
	if (opt.From != "" || opt.Mutant != "") && len(opt.Cases) != 1 {
		return nil, errors.New("--from and --mutant need exactly one --case")
	}
	for flag, dir := range map[string]string{"--from": opt.From, "--mutant": opt.Mutant} {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%s %s: not a directory", flag, dir)
		}
	}
	module, err := loadModule(opt.Rubrics)
	if err != nil {
		return nil, err
	}
	type planned struct {
		def caseDef
		rub *rubric.Case
	}
	var plan []planned
	for _, slug := range slugs {
		def, ok := lookup(slug)
		if !ok {
			return nil, fmt.Errorf("unknown case %q (known: %s)", slug, strings.Join(Slugs(), ", "))
		}
		rub, err := loadCase(opt.Rubrics, slug)
		if err != nil {
			return nil, err
		}
		plan = append(plan, planned{def, rub})
	}
	sweepWorkDirs() // a grader killed with SIGKILL could not remove its own
	work, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", workPrefix, os.Getpid()))
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	start := time.Now()
	r := &report.Report{
		Schema:     report.SchemaVersion,
		Grader:     version.Short(),
		Submission: opt.Root,
		Seed:       opt.Seed,
		Instructor: opt.Instructor,
		StartedAt:  start.UTC().Truncate(time.Second),
	}
	modes := map[string]sandbox.Mode{}
	jail.SweepCgroups() // a grader killed with SIGKILL could not remove its own
	var confinement []string
	for _, p := range plan {
		g := &caseGrader{opt: opt, def: p.def, rub: p.rub, work: filepath.Join(work, p.def.Slug), mode: sandbox.CurrentMode()}
		r.Cases = append(r.Cases, g.grade(ctx))
		modes[p.def.Slug] = g.mode
		if line := g.confinement(); line != "" && !slices.Contains(confinement, line) {
			confinement = append(confinement, line)
		}
	}
	r.Environment = append(environment(slugs, modes), confinement...)
	r.Completion = module.Evaluate(r.Cases)
	r.Recompute()
	r.Duration = report.SecondsOf(time.Since(start))
	return r, nil
}

// environment says where the cases ran: one line when every case ran the
// same way, else one per case.
func environment(slugs []string, modes map[string]sandbox.Mode) []string {
	if len(slugs) == 0 {
		return nil
	}
	first := modes[slugs[0]]
	same := true
	for _, slug := range slugs {
		same = same && modes[slug] == first
	}
	if same {
		return []string{"each case runs in " + first.String()}
	}
	var out []string
	for _, slug := range slugs {
		out = append(out, slug+" runs in "+modes[slug].String())
	}
	return out
}

func loadModule(files fs.FS) (*rubric.Module, error) {
	data, err := fs.ReadFile(files, rubrics.ModuleFile)
	if err != nil {
		return nil, fmt.Errorf("rubrics: %w", err)
	}
	return rubric.ParseModule("rubrics/"+rubrics.ModuleFile, data)
}

// Rubric is the embedded rubric of the case slug.
func Rubric(slug string) (*rubric.Case, error) { return loadCase(rubrics.Files, slug) }

func loadCase(files fs.FS, slug string) (*rubric.Case, error) {
	data, err := fs.ReadFile(files, rubrics.CaseFile(slug))
	if err != nil {
		return nil, fmt.Errorf("rubrics: no rubric for case %s: %w", slug, err)
	}
	return rubric.ParseCase("rubrics/"+rubrics.CaseFile(slug), data)
}

// caseGrader grades one case.
type caseGrader struct {
	mode sandbox.Mode // how its sandbox child ran
	// cgroup holds the case's programs (nil: none could be made, cgroupErr
	// says why).
	cgroup    *jail.Cgroup
	cgroupErr error
	opt       Options
	def       caseDef
	rub       *rubric.Case
	work      string // scratch directory of this case
}

// sourceDir is where the case's programs and artifact are read from.
func (g *caseGrader) sourceDir() string {
	if g.opt.From != "" {
		return g.opt.From
	}
	return filepath.Join(g.opt.Root, "skeletons", g.def.Slug)
}

// status reports what the grader is doing now, so that no minute passes in silence.
func (g *caseGrader) status(format string, args ...any) {
	if g.opt.Status != nil {
		g.opt.Status(g.def.Slug, fmt.Sprintf(format, args...))
	}
}

func (g *caseGrader) grade(ctx context.Context) report.Case {
	start := time.Now()
	if ctx.Err() != nil {
		return g.score(nil, g.checkArtifact(), "not graded: "+StopReason(ctx)+" before this case started", report.Skipped, start)
	}
	if err := os.MkdirAll(filepath.Join(g.work, "bin"), 0o755); err != nil {
		return g.score(nil, nil, "the grader could not create its work directory: "+err.Error(), report.Error, start)
	}
	if problem := checkTree(g.opt.Root, g.sourceDir()); problem != "" {
		return g.score(nil, nil, problem, report.Failed, start)
	}
	art := g.checkArtifact()
	if problem, status := g.buildPrograms(ctx); problem != "" {
		if ctx.Err() != nil {
			problem, status = "not graded: "+StopReason(ctx)+" while its programs were being built", report.Skipped
		}
		return g.score(nil, art, problem, status, start)
	}
	results, problem, status := g.runSpecs(ctx)
	return g.score(results, art, problem, status, start)
}

func (g *caseGrader) score(results []rubric.SpecResult, art *report.Artifact, problem string, status report.Status, start time.Time) report.Case {
	rc := g.rub.Score(results, art, rubric.ScoreOptions{
		Instructor: g.opt.Instructor, Now: g.opt.Now, Problem: problem, ProblemStatus: status,
	})
	rc.Duration = report.SecondsOf(time.Since(start))
	return rc
}

// buildPrograms compiles every program of the case. A compile error fails the
// case's criteria with the compiler's message; the other cases still run.
func (g *caseGrader) buildPrograms(ctx context.Context) (string, report.Status) {
	overlay := ""
	if g.opt.Mutant != "" {
		m, err := mutant.Load(g.opt.Mutant)
		if err != nil {
			return "the grader could not load the mutant: " + err.Error(), report.Error
		}
		if overlay, err = m.Overlay(g.sourceDir(), g.work); err != nil {
			return "the grader could not apply the mutant: " + err.Error(), report.Error
		}
	}
	var broken []string
	for _, prog := range g.def.Programs {
		g.status("building %s", build.Relative(g.opt.Root, filepath.Join(g.sourceDir(), prog)))
		out := filepath.Join(g.work, "bin", prog)
		err := build.Program(ctx, build.Options{
			Root:    g.opt.Root,
			Dir:     filepath.Join(g.sourceDir(), prog),
			Out:     out,
			Overlay: overlay,
		})
		var ce *build.CompileError
		switch {
		case errors.As(err, &ce):
			msg := fmt.Sprintf("%s does not compile, so its behaviour could not be checked. The compiler said:\n%s", ce.Program, ce.Output)
			broken = append(broken, msg)
			// The specs that need this program fail with the compiler's
			// message; those of the case's other programs still run.
			if err := os.WriteFile(out+lab.CompileErrorSuffix, []byte(msg), 0o644); err != nil {
				return "the grader could not write to its work directory: " + err.Error(), report.Error
			}
		case err != nil:
			return "the grader could not run the Go toolchain: " + err.Error(), report.Error
		}
	}
	if len(broken) == len(g.def.Programs) {
		return strings.Join(broken, "\n\n"), report.Failed
	}
	return "", ""
}

// checkArtifact checks the case's written artifact, if the rubric has one.
func (g *caseGrader) checkArtifact() *report.Artifact {
	spec := g.rub.Artifact
	if spec == nil {
		return nil
	}
	path := filepath.Join(g.sourceDir(), spec.File)
	shown := build.Relative(g.opt.Root, path)
	art := &report.Artifact{File: shown}
	content, err := os.ReadFile(path)
	if err != nil {
		art.Status = report.Failed
		art.Findings = []report.Finding{{Message: fmt.Sprintf("%s was not found; start from the template skeletons/%s/%s", shown, g.def.Slug, spec.File)}}
		return art
	}
	res, err := artifact.Check(spec.Check, shown, content)
	if err != nil { // an unknown check is a rubric mistake
		art.Status = report.Error
		art.Findings = []report.Finding{{Message: err.Error()}}
		return art
	}
	art.Status = report.Failed
	if res.Passed {
		art.Status = report.Passed
	}
	art.Findings = res.Findings
	art.Tags = res.Tags
	return art
}

// childEnv is the environment the specs read through lab.CurrentEnv.
func (g *caseGrader) childEnv() []string {
	env := []string{
		lab.EnvBinDir + "=" + filepath.Join(g.work, "bin"),
		fmt.Sprintf("%s=%d", lab.EnvSeed, g.opt.Seed),
	}
	if g.opt.Artifacts != "" {
		if dir, err := filepath.Abs(filepath.Join(g.opt.Artifacts, g.def.Slug)); err == nil {
			env = append(env, lab.EnvArtifactDir+"="+dir)
		}
	}
	return env
}
