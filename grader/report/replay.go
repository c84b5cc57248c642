package report

import "fmt"

// replayMake is how a student replays a run with the same hidden parameters.
func replayMake(seed int64) string {
	return fmt.Sprintf(`make grade ARGS="--seed %d"`, seed)
}

// replayGrade is the same replay through the grade binary directly.
func replayGrade(seed int64) string {
	return fmt.Sprintf("grade --seed %d", seed)
}
