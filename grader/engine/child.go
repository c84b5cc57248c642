package engine

import (
	"fmt"
	"os"
	"syscall"

	"github.com/wirelab/wirelab/grader/sandbox"
	"github.com/wirelab/wirelab/grader/suite"
)

// ChildCommand is the hidden first argument that makes the grade binary act
// as the sandbox child of one case.
const ChildCommand = "__sandbox-child"

// eventsFD is the child's file descriptor for spec events (ExtraFiles[0]).
const eventsFD = 3

// RunChild is the sandbox child's whole life: prepare the namespaces and the
// jail, run the case's specs, stream their outcomes on fd 3. It returns the
// exit code.
func RunChild(slug string) int {
	def, ok := lookup(slug)
	if !ok {
		fmt.Fprintf(os.Stderr, "sandbox child: unknown case %q\n", slug)
		return 2
	}
	if err := sandbox.Enter(def.Sysctls); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox child: %v\n", err)
		return 3
	}
	if err := confine(def, os.Getenv(sandbox.EnvSandboxed) == "shared"); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox child: confine the student's programs: %v\n", err)
		return 3
	}
	events := os.NewFile(eventsFD, "events")
	if events == nil {
		fmt.Fprintln(os.Stderr, "sandbox child: no events pipe on fd 3")
		return 2
	}
	defer events.Close()
	syscall.CloseOnExec(eventsFD) // the student's programs must not hold the pipe open
	if err := suite.Run(def.Label, events); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox child: %v\n", err)
		return 4
	}
	return 0
}
