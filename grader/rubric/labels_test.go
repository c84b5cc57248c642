package rubric

import (
	"testing"
)

func TestCheckLabels(t *testing.T) {
	c := sample(t)
	all := []string{"sample.open", "sample.open", "sample.secret", "sample.later"}
	if err := c.CheckLabels(all); err != nil {
		t.Errorf("matching labels: %v", err)
	}
	err := c.CheckLabels([]string{"sample.open", "sample.lost", "", "sample.lost", "other.thing"})
	checkProblems(t, err, "testdata/good-case.yaml", []want{
		{13, "criterion sample.secret has no spec carrying its label"},
		{18, "criterion sample.later has no spec carrying its label"},
		{7, "a spec carries no criterion label"},
		{7, `spec label "other.thing" names no criterion of this rubric`},
		{7, `spec label "sample.lost" names no criterion of this rubric`},
	})
}

func TestCheckLabelsRealRubric(t *testing.T) {
	c, err := LoadCase("../../rubrics/01-backlog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, cr := range c.Criteria {
		ids = append(ids, cr.ID)
	}
	if err := c.CheckLabels(ids); err != nil {
		t.Error(err)
	}
	if err := c.CheckLabels(nil); err == nil {
		t.Error("no specs at all passed the check")
	}
}
