package selftest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wirelab/wirelab/grader/artifact"
	"github.com/wirelab/wirelab/grader/mutant"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/rubric"
	"github.com/wirelab/wirelab/rubrics"
)

// CoverageFile is each case's fixtures README: it holds the contract coverage
// table, one row per clause of the brief's program contract.
const CoverageFile = "README.md"

// Ungraded is what the criterion cell of a clause that no spec checks says;
// its check cell then gives the reason (the brief's grading table says it too).
const Ungraded = "not graded"

// Coverage checks a case's contract coverage table (the first table of
// fixtures/<slug>/README.md with the columns Clause, Criterion, Check and
// Mutants) against the rubric and the mutants: every row names criteria of the
// rubric and mutants that exist and declare one of them, or says "not graded"
// with the reason; every criterion and every mutant appears in some row. It
// also asks for at least MinVariants harmless variants. Each problem names the
// file and line.
func Coverage(root, slug string) []string {
	path := filepath.Join(root, "fixtures", slug, CoverageFile)
	rel := filepath.ToSlash(filepath.Join("fixtures", slug, CoverageFile))
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v (every case has a contract coverage table there)", rel, err)}
	}
	criteria, err := Criteria(slug)
	if err != nil {
		return []string{err.Error()}
	}
	mutants, err := mutant.LoadAll(filepath.Join(root, "fixtures", slug, "mutants"))
	if err != nil {
		return []string{err.Error()}
	}
	problems := checkCoverage(rel, data, slug, criteria, mutants)
	variants, err := mutant.LoadAll(filepath.Join(root, "fixtures", slug, "variants"))
	if err != nil && !os.IsNotExist(err) {
		return append(problems, err.Error())
	}
	if len(variants) < MinVariants {
		problems = append(problems, fmt.Sprintf("fixtures/%s/variants: %d harmless variants; every case ships at least %d other correct solutions (variant.yaml) that must keep full marks",
			slug, len(variants), MinVariants))
	}
	return problems
}

// MinVariants is how many harmless variants (other correct solutions) every
// case ships at the least: a grader that punishes correct code written
// differently is as wrong as one that lets a mistake through.
const MinVariants = 3

// checkCoverage checks the coverage table in data (the file rel) against the
// case's criteria and mutants.
func checkCoverage(rel string, data []byte, slug string, criteria []string, mutants []*mutant.Mutant) []string {
	fails := map[string][]string{}
	for _, m := range mutants {
		fails[m.Name] = m.Fails
	}
	var table *artifact.Table
	var cols [4]int
	for _, t := range artifact.Tables(data) {
		for i, name := range []string{"clause", "criterion", "check", "mutant"} {
			cols[i] = t.Column(name)
		}
		if !slices.Contains(cols[:], -1) {
			table = &t
			break
		}
	}
	if table == nil {
		return []string{fmt.Sprintf("%s: no table with the columns Clause, Criterion, Check and Mutants", rel)}
	}
	var problems []string
	at := func(line int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: %s", rel, line, fmt.Sprintf(format, args...)))
	}
	seenCriteria, seenMutants := map[string]bool{}, map[string]bool{}
	for _, row := range table.Rows {
		clause, crit, check, muts := row.Cell(cols[0]), row.Cell(cols[1]), row.Cell(cols[2]), row.Cell(cols[3])
		if clause.Text == "" {
			at(row.Line, "a row without its clause")
		}
		if strings.EqualFold(strings.TrimSpace(crit.Text), Ungraded) {
			if len(check.Text) < 20 {
				at(row.Line, "the clause %q is not graded: its Check cell must give the reason", report.Clip(clause.Text, 60))
			}
			if len(muts.Code) > 0 {
				at(row.Line, "the clause %q is not graded, yet names mutants %q", report.Clip(clause.Text, 60), muts.Code)
			}
			continue
		}
		if len(crit.Code) == 0 {
			at(row.Line, "the clause %q names no criterion (write `case.criterion`, or %q with the reason)", report.Clip(clause.Text, 60), Ungraded)
		}
		for _, id := range crit.Code {
			if !slices.Contains(criteria, id) {
				at(row.Line, "criterion %s is not in rubrics/%s", id, rubrics.CaseFile(slug))
			}
			seenCriteria[id] = true
		}
		if check.Text == "" {
			at(row.Line, "the clause %q does not say what checks it", report.Clip(clause.Text, 60))
		}
		if len(muts.Code) == 0 {
			at(row.Line, "the clause %q has no mutant that proves its check fails when the clause is broken", report.Clip(clause.Text, 60))
		}
		for _, name := range muts.Code {
			declared, ok := fails[name]
			switch {
			case !ok:
				at(row.Line, "mutant %s does not exist in fixtures/%s/mutants", name, slug)
			case !slices.ContainsFunc(crit.Code, func(id string) bool { return slices.Contains(declared, id) }):
				at(row.Line, "mutant %s declares %v, none of this row's criteria %v", name, declared, crit.Code)
			}
			seenMutants[name] = true
		}
	}
	for _, id := range criteria {
		if !seenCriteria[id] {
			at(table.Line, "criterion %s checks no clause of the table", id)
		}
	}
	for _, m := range mutants {
		if !seenMutants[m.Name] {
			at(table.Line, "mutant %s breaks no clause of the table", m.Name)
		}
	}
	return problems
}

// BriefTable checks that the "How it is graded" table of the case's brief
// (assignments/<slug>/README.md: the table with the columns Criterion and
// Points) lists every criterion of the rubric with its points, and the
// artifact, and nothing else, so that the brief and the grader never drift apart.
func BriefTable(root, slug string) []string {
	rel := filepath.ToSlash(filepath.Join("assignments", slug, "README.md"))
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return []string{err.Error()}
	}
	file := "rubrics/" + rubrics.CaseFile(slug)
	rdata, err := rubrics.Files.ReadFile(rubrics.CaseFile(slug))
	if err != nil {
		return []string{err.Error()}
	}
	c, err := rubric.ParseCase(file, rdata)
	if err != nil {
		return []string{err.Error()}
	}
	want := map[string]int{}
	for _, cr := range c.Criteria {
		want[cr.ID] = cr.Points
	}
	if c.Artifact != nil {
		want[c.Artifact.File] = c.Artifact.Points
	}
	var problems []string
	for _, t := range artifact.Tables(data) {
		critCol, pointsCol := t.Column("criterion"), t.Column("points")
		if critCol < 0 || pointsCol < 0 {
			continue
		}
		seen := map[string]bool{}
		for _, row := range t.Rows {
			codes := row.Cell(critCol).Code
			if len(codes) == 0 {
				continue // the total, or prose
			}
			id := codes[0]
			points, err := strconv.Atoi(strings.Trim(row.Cell(pointsCol).Text, "* "))
			p, known := want[id]
			switch {
			case !known:
				problems = append(problems, fmt.Sprintf("%s:%d: %s is not a criterion or the artifact of %s", rel, row.Line, id, file))
			case err != nil || points != p:
				problems = append(problems, fmt.Sprintf("%s:%d: %s is worth %d points in %s, the brief says %q", rel, row.Line, id, p, file, row.Cell(pointsCol).Text))
			}
			seen[id] = true
		}
		for _, id := range slices.Sorted(maps.Keys(want)) {
			if !seen[id] {
				problems = append(problems, fmt.Sprintf("%s:%d: the grading table does not list %s", rel, t.Line, id))
			}
		}
		return problems
	}
	return []string{fmt.Sprintf("%s: no grading table (columns Criterion and Points)", rel)}
}
