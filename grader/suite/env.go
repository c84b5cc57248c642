package suite

import (
	"math/rand/v2"

	"github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
)

// Env is what the grader handed this sandbox child: where the student's built
// programs are, and the seed of the hidden parameters. Outside the sandbox
// child it fails the spec with the reason.
func Env() *lab.Env {
	e, err := lab.CurrentEnv()
	if err != nil {
		ginkgo.Fail(err.Error(), 1)
	}
	return e
}

// Rand is a spec's own stream of hidden parameters: the same stream name
// draws the same values for the same seed, whatever ran before it.
func Rand(stream string) *rand.Rand { return Env().Rand(stream) }

// Program is the path of the student's built program name. When it did not
// compile, the spec fails with the compiler's message: a case with several
// programs still grades the ones that built.
func Program(name string) string {
	e := Env()
	if msg := e.CompileError(name); msg != "" {
		ginkgo.Fail(msg, 1)
	}
	return e.Program(name)
}
