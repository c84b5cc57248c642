package engine

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wirelab/wirelab/grader/suite"
	"github.com/wirelab/wirelab/rubrics"
)

// TestSpecsMatchRubrics walks the registered Ginkgo tree (without running it)
// and checks, per case, that every spec carries exactly one criterion label,
// that every label has a rubric criterion, and every criterion has specs.
func TestSpecsMatchRubrics(t *testing.T) {
	cfg, _ := ginkgo.GinkgoConfiguration()
	tree := ginkgo.PreviewSpecs("wirelab", cfg)
	byCase := map[string][]string{}
	for _, spec := range tree.SpecReports {
		if spec.LeafNodeType != types.NodeTypeIt {
			continue
		}
		crit, err := suite.CriterionLabel(spec.LeafNodeLabels)
		if err != nil {
			t.Errorf("spec %q: %v", spec.LeafNodeText, err)
			continue
		}
		var caseLabel string
		for _, labels := range spec.ContainerHierarchyLabels {
			for _, l := range labels {
				if _, ok := lookup(l); ok {
					caseLabel = l
				}
			}
		}
		if caseLabel == "" {
			t.Errorf("spec %q (%s) is in no case's container (no container label is a case slug)", spec.LeafNodeText, crit)
			continue
		}
		byCase[caseLabel] = append(byCase[caseLabel], crit)
	}
	for _, def := range catalog {
		rub, err := loadCase(rubrics.Files, def.Slug)
		if err != nil {
			t.Fatal(err)
		}
		if err := rub.CheckLabels(byCase[def.Slug]); err != nil {
			t.Errorf("case %s: %v", def.Slug, err)
		}
		if def.Label != def.Slug {
			t.Errorf("case %s: its specs' label is %q; the label must be the slug", def.Slug, def.Label)
		}
	}
}

// TestProgramsDoNotImportTheGrader keeps the hidden specs hidden: student
// skeletons and reference solutions must build without anything from grader/.
func TestProgramsDoNotImportTheGrader(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}",
		"../../skeletons/...", "../../fixtures/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/wirelab/wirelab/grader") || strings.HasPrefix(dep, "github.com/wirelab/wirelab/rubrics") {
			t.Errorf("a skeleton or reference depends on %s: student programs must not import the grader", dep)
		}
	}
}
