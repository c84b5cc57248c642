package lab

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Environment variables through which the grader hands a case's inputs to the
// sandbox child (and so to the specs).
const (
	EnvBinDir       = "WIRELAB_BIN_DIR"       // directory holding the student's built programs
	EnvSeed         = "WIRELAB_SEED"          // seed of every randomized hidden parameter
	EnvTimeoutScale = "WIRELAB_TIMEOUT_SCALE" // multiplies every timeout (default 1)
	EnvArtifactDir  = "WIRELAB_ARTIFACT_DIR"  // where specs keep files for the student (pcaps); empty: nowhere
)

// Env is what the grader gave this sandbox child.
type Env struct {
	BinDir string
	Seed   uint64
}

// CurrentEnv reads the environment the grader set for this child.
func CurrentEnv() (*Env, error) {
	dir := os.Getenv(EnvBinDir)
	if dir == "" {
		return nil, fmt.Errorf("lab: %s is not set (specs run only inside the grader's sandbox child)", EnvBinDir)
	}
	seed, err := strconv.ParseUint(os.Getenv(EnvSeed), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("lab: %s: %w", EnvSeed, err)
	}
	return &Env{BinDir: dir, Seed: seed}, nil
}

// Program is the path of the student's built program called name.
func (e *Env) Program(name string) string { return filepath.Join(e.BinDir, name) }

// CompileErrorSuffix names the file beside a program's place in BinDir that
// holds, instead of the program, what the compiler said about it.
const CompileErrorSuffix = ".compile-error"

// CompileError is the grader's message for a program of the submission that
// did not compile, or "" when it was built.
func (e *Env) CompileError(name string) string {
	msg, err := os.ReadFile(e.Program(name) + CompileErrorSuffix)
	if err != nil {
		return ""
	}
	return string(msg)
}

// Rand returns a random source for one named stream of hidden parameters.
// Streams are independent of each other and of spec order, so focusing on one
// spec replays exactly the parameters it had in the full run.
func (e *Env) Rand(stream string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(stream))
	return rand.New(rand.NewPCG(e.Seed, h.Sum64()))
}

// Scaled stretches a timeout by WIRELAB_TIMEOUT_SCALE (a positive number,
// default 1). Every timeout in the lab and in the specs goes through it.
func Scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * timeoutScale())
}

func timeoutScale() float64 {
	s, err := strconv.ParseFloat(os.Getenv(EnvTimeoutScale), 64)
	if err != nil || s <= 0 {
		return 1
	}
	return s
}
