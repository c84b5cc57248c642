package rubric

import (
	"fmt"
	"slices"
)

// CheckLabels checks the rubric against the criterion labels of the case's hidden
// specs (one entry per spec; repeats are fine): every criterion has at least one spec,
// every label names a criterion. The error is a Problems listing every mismatch at
// its line in the rubric.
func (c *Case) CheckLabels(specLabels []string) error {
	var ps Problems
	for _, cr := range c.Criteria {
		if !slices.Contains(specLabels, cr.ID) {
			ps = append(ps, Problem{File: c.File, Line: cr.Line, Message: fmt.Sprintf("criterion %s has no spec carrying its label", cr.ID)})
		}
	}
	labels := slices.Clone(specLabels)
	slices.Sort(labels)
	for _, label := range slices.Compact(labels) {
		switch {
		case label == "":
			ps = append(ps, Problem{File: c.File, Line: c.criteriaLine, Message: "a spec carries no criterion label; every spec carries exactly one"})
		case c.criterion(label) == nil:
			ps = append(ps, Problem{File: c.File, Line: c.criteriaLine, Message: fmt.Sprintf("spec label %q names no criterion of this rubric", label)})
		}
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}
