package report

import "fmt"

// replayMake is how a student replays a run with the same hidden parameters.
// A report of one case replays that case only (it was graded with --case).
func replayMake(r *Report) string {
	return fmt.Sprintf(`make grade ARGS="%s--seed %d"`, caseFlag(r), r.Seed)
}

// replayGrade is the same replay through the grade binary directly.
func replayGrade(r *Report) string {
	return fmt.Sprintf("grade %s--seed %d", caseFlag(r), r.Seed)
}

func caseFlag(r *Report) string {
	if len(r.Cases) == 1 {
		return "--case " + r.Cases[0].Slug + " "
	}
	return ""
}
