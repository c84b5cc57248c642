// Package selftest grades the fixtures to check the grader itself: each
// case's reference solution and every harmless variant (another correct
// solution) must score full marks, its skeleton must fail the behaviour
// criteria it is written to fail, and every mutant must fail exactly the
// criteria it declares and pass all others. The same targets drive the
// stability run (many gradings, counting verdicts that flip).
package selftest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/wirelab/wirelab/grader/mutant"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/rubric"
	"github.com/wirelab/wirelab/rubrics"
)

// Target is one submission the grader is checked against.
type Target struct {
	Name   string // "01-backlog/reference", "01-backlog/skeleton", "01-backlog/mutant/inline-work", "01-backlog/variant/..."
	Case   string
	From   string   // --from (empty: the skeleton)
	Mutant string   // --mutant
	Fails  []string // criteria that must fail ("*": all); every other criterion and the artifact as declared must pass
	// Because maps a criterion (or "*": every failing one) to text its evidence must contain.
	Because map[string]string
	// ArtifactFails says whether the artifact must fail (the skeleton's template).
	ArtifactFails bool
	// Hostile marks a submission that attacks the grader (fixtures/hostile).
	Hostile bool
}

// HostileDir holds, per case, the hostile submissions: edits of the skeleton
// that attack the grader (fork bombs, daemons, forged CI outputs, ...).
const HostileDir = "fixtures/hostile"

// SkeletonFile declares, per case, which criteria the skeleton passes
// (everything else, behaviour and artifact, it must fail).
const SkeletonFile = "skeleton.yaml"

type skeletonExpectations struct {
	Passes []string `yaml:"passes"`
}

// Criteria lists the criterion ids of a case, in rubric order.
func Criteria(slug string) ([]string, error) {
	data, err := rubrics.Files.ReadFile(rubrics.CaseFile(slug))
	if err != nil {
		return nil, err
	}
	c, err := rubric.ParseCase("rubrics/"+rubrics.CaseFile(slug), data)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(c.Criteria))
	for i, cr := range c.Criteria {
		ids[i] = cr.ID
	}
	return ids, nil
}

// Targets lists the reference, the skeleton, every mutant, every harmless
// variant and every broken submission of a case.
func Targets(root, slug string) ([]Target, error) {
	criteria, err := Criteria(slug)
	if err != nil {
		return nil, err
	}
	fixtures := filepath.Join(root, "fixtures", slug)
	reference := filepath.Join(fixtures, "reference")
	targets := []Target{{Name: slug + "/reference", Case: slug, From: reference}}

	data, err := os.ReadFile(filepath.Join(fixtures, SkeletonFile))
	if err != nil {
		return nil, err
	}
	var sk skeletonExpectations
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sk); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(fixtures, SkeletonFile), err)
	}
	skeleton := Target{Name: slug + "/skeleton", Case: slug, ArtifactFails: true}
	for _, id := range criteria {
		if !slices.Contains(sk.Passes, id) {
			skeleton.Fails = append(skeleton.Fails, id)
		}
	}
	targets = append(targets, skeleton)

	mutants, err := mutant.LoadAll(filepath.Join(fixtures, "mutants"))
	if err != nil {
		return nil, err
	}
	for _, m := range mutants {
		if m.Variant {
			return nil, fmt.Errorf("%s is a harmless variant (variant.yaml) among the mutants: move it to %s", m.Dir, filepath.Join(fixtures, "variants"))
		}
		targets = append(targets, Target{
			Name: slug + "/mutant/" + m.Name, Case: slug, From: reference, Mutant: m.Dir,
			Fails: m.Fails, Because: m.Because,
		})
	}
	// Harmless variants: other correct solutions, full marks like the reference.
	variants, err := mutant.LoadAll(filepath.Join(fixtures, "variants"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, v := range variants {
		if !v.Variant {
			return nil, fmt.Errorf("%s is a mutant (mutant.yaml) among the harmless variants: move it to %s", v.Dir, filepath.Join(fixtures, "mutants"))
		}
		targets = append(targets, Target{Name: slug + "/variant/" + v.Name, Case: slug, From: reference, Mutant: v.Dir})
	}
	// Broken submissions: edits of the skeleton (compile errors, crashes, hangs).
	broken, err := mutant.LoadAll(filepath.Join(fixtures, "broken"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, m := range broken {
		targets = append(targets, Target{
			Name: slug + "/broken/" + m.Name, Case: slug, From: filepath.Join(root, "skeletons", slug), Mutant: m.Dir,
			Fails: m.Fails, Because: m.Because, ArtifactFails: true,
		})
	}
	// Hostile submissions: edits of the skeleton that attack the grader.
	hostile, err := mutant.LoadAll(filepath.Join(root, HostileDir, slug))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, m := range hostile {
		targets = append(targets, Target{
			Name: slug + "/hostile/" + m.Name, Case: slug, From: filepath.Join(root, "skeletons", slug), Mutant: m.Dir,
			Fails: m.Fails, Because: m.Because, ArtifactFails: true, Hostile: true,
		})
	}
	return targets, nil
}

// Grade runs the grade binary on a target with a seed and returns its report.
func Grade(grade, root string, t Target, seed int64) (*report.Report, error) {
	out, err := os.MkdirTemp("", "wirelab-selftest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	args := []string{"--case", t.Case, "--seed", strconv.FormatInt(seed, 10), "--out", out, "--quiet", "--instructor", "--color", "never"}
	if t.From != "" {
		args = append(args, "--from", t.From)
	}
	if t.Mutant != "" {
		args = append(args, "--mutant", t.Mutant)
	}
	cmd := exec.Command(grade, append(args, root)...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("grade %s: %v\n%s", strings.Join(args, " "), err, output.String())
	}
	return report.ReadJSONFile(filepath.Join(out, "report.json"))
}

// Verdicts maps each criterion id (and "artifact") of the target's case to its status.
func Verdicts(r *report.Report, slug string) map[string]report.Status {
	v := map[string]report.Status{}
	for _, c := range r.Cases {
		if c.Slug != slug {
			continue
		}
		for _, cr := range c.Criteria {
			v[cr.ID] = cr.Status
		}
		if c.Artifact != nil {
			v["artifact"] = c.Artifact.Status
		}
	}
	return v
}

// Judge compares a report with the target's expectations and returns every
// mismatch, each with the evidence that explains it.
func Judge(t Target, r *report.Report) []string {
	var problems []string
	for _, c := range r.Cases {
		if c.Slug != t.Case {
			continue
		}
		for _, cr := range c.Criteria {
			mustFail := slices.Contains(t.Fails, cr.ID) || slices.Contains(t.Fails, "*")
			switch {
			case mustFail && cr.Status != report.Failed:
				problems = append(problems, fmt.Sprintf("%s must fail %s, got %s:\n%s", t.Name, cr.ID, cr.Status, evidence(cr)))
			case !mustFail && cr.Status != report.Passed:
				problems = append(problems, fmt.Sprintf("%s must pass %s, got %s:\n%s", t.Name, cr.ID, cr.Status, evidence(cr)))
			case mustFail:
				for _, key := range []string{cr.ID, "*"} {
					if want, ok := t.Because[key]; ok && !strings.Contains(evidence(cr)+c.Problem, want) {
						problems = append(problems, fmt.Sprintf("%s fails %s, but not for the declared reason (evidence lacks %q):\n%s", t.Name, cr.ID, want, evidence(cr)))
					}
				}
			}
		}
		if c.Artifact != nil {
			want := report.Passed
			if t.ArtifactFails {
				want = report.Failed
			}
			if c.Artifact.Status != want {
				problems = append(problems, fmt.Sprintf("%s: artifact %s is %s, want %s", t.Name, c.Artifact.File, c.Artifact.Status, want))
			}
		}
		known := map[string]bool{}
		for _, cr := range c.Criteria {
			known[cr.ID] = true
		}
		for _, id := range t.Fails {
			if !known[id] && id != "*" {
				problems = append(problems, fmt.Sprintf("%s declares %s, which the rubric does not have", t.Name, id))
			}
		}
		return problems
	}
	return append(problems, fmt.Sprintf("%s: the report has no case %s", t.Name, t.Case))
}

func evidence(c report.Criterion) string {
	var b strings.Builder
	for _, e := range c.Evidence {
		fmt.Fprintf(&b, "    %s: %s\n", e.Name, strings.ReplaceAll(e.Text, "\n", "\n      "))
	}
	return b.String()
}

// Flips counts, per criterion, how many runs disagreed with the majority verdict.
func Flips(runs []map[string]report.Status) map[string]int {
	counts := map[string]map[report.Status]int{}
	for _, v := range runs {
		for id, st := range v {
			if counts[id] == nil {
				counts[id] = map[report.Status]int{}
			}
			counts[id][st]++
		}
	}
	flips := map[string]int{}
	for id, byStatus := range counts {
		majority := 0
		for _, n := range byStatus {
			majority = max(majority, n)
		}
		flips[id] = len(runs) - majority
	}
	return flips
}

// SortedKeys returns the keys of a verdict map in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
