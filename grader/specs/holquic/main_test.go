package holquic

import (
	"os"
	"testing"

	"github.com/wirelab/wirelab/grader/sandbox"
)

var noNetns string

func TestMain(m *testing.M) {
	os.Exit(sandbox.RunTests(m, nil, func(reason string) { noNetns = reason }))
}
