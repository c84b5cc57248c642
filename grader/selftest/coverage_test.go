package selftest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirelab/wirelab/grader/engine"
	"github.com/wirelab/wirelab/grader/mutant"
)

// Every case's coverage table and brief agree with its rubric and mutants.
func TestCoverageTablesAndBriefs(t *testing.T) {
	abs, _ := filepath.Abs(root)
	for _, slug := range engine.Slugs() {
		for _, p := range Coverage(abs, slug) {
			t.Errorf("coverage: %s", p)
		}
		for _, p := range BriefTable(abs, slug) {
			t.Errorf("brief: %s", p)
		}
	}
}

func TestCheckCoverage(t *testing.T) {
	mutants := []*mutant.Mutant{
		{Name: "reply-crlf", Fails: []string{"demo.serves"}},
		{Name: "no-deadline", Fails: []string{"demo.deadline"}},
		{Name: "orphan", Fails: []string{"demo.serves"}},
	}
	criteria := []string{"demo.serves", "demo.deadline", "demo.unused"}
	table := "# Coverage\n\n" +
		"| Clause | Criterion | Check | Mutants |\n" + // line 3
		"|---|---|---|---|\n" +
		"| Replies `OK <id>\\n` | `demo.serves` | byte for byte | `reply-crlf` |\n" + // 5: fine
		"| 1 s deadline | `demo.deadline` | a silent client | `reply-crlf`, `ghost` |\n" + // 6: wrong criterion, missing mutant
		"| Stdlib only | not graded | short |  |\n" + // 7: no reason
		"| Logs on stderr | not graded | nothing the kernel or a client sees depends on it | `no-deadline` |\n" + // 8: ungraded with a mutant
		"| Flags | `demo.flags` | exit status | |\n" + // 9: unknown criterion, no mutant
		"|  | `demo.serves` | x | `reply-crlf` |\n" // 10: no clause
	got := strings.Join(checkCoverage("fixtures/demo/README.md", []byte(table), "demo", criteria, mutants), "\n")
	for _, want := range []string{
		"fixtures/demo/README.md:6: mutant reply-crlf declares [demo.serves], none of this row's criteria [demo.deadline]",
		"fixtures/demo/README.md:6: mutant ghost does not exist in fixtures/demo/mutants",
		`fixtures/demo/README.md:7: the clause "Stdlib only" is not graded: its Check cell must give the reason`,
		`fixtures/demo/README.md:8: the clause "Logs on stderr" is not graded, yet names mutants ["no-deadline"]`,
		"fixtures/demo/README.md:9: criterion demo.flags is not in rubrics/demo.yaml",
		`fixtures/demo/README.md:9: the clause "Flags" has no mutant that proves its check fails when the clause is broken`,
		"fixtures/demo/README.md:10: a row without its clause",
		"fixtures/demo/README.md:3: criterion demo.unused checks no clause of the table",
		"fixtures/demo/README.md:3: mutant orphan breaks no clause of the table",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q; got:\n%s", want, got)
		}
	}
	if strings.Contains(got, ":5:") {
		t.Errorf("a correct row was reported:\n%s", got)
	}
	if got := checkCoverage("x.md", []byte("| a | b |\n|---|---|\n| 1 | 2 |\n"), "demo", criteria, nil); len(got) != 1 || !strings.Contains(got[0], "no table with the columns Clause, Criterion, Check and Mutants") {
		t.Errorf("without the table: %q", got)
	}
}
