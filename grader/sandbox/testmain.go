package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// RunTests runs a test binary's tests inside a fresh network namespace, the
// way the grader runs specs: called from TestMain, it re-executes the binary
// (same flags) in a namespace and returns its exit code; inside, it calls
// Enter(sysctls) and m.Run. Where no namespace can be made, it calls
// unavailable with the reason and runs the tests here, so that the tests that
// need none still run and the others can skip with that reason.
func RunTests(m *testing.M, sysctls map[string]string, unavailable func(reason string)) int {
	if os.Getenv(EnvSandboxed) == "1" {
		if err := Enter(sysctls); err != nil {
			fmt.Fprintln(os.Stderr, "tests:", err)
			return 1
		}
		return m.Run()
	}
	mode := CurrentMode()
	cmd := Command(mode, os.Args[0], os.Args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := Start(mode, cmd); err != nil {
		var u *UnavailableError
		if !errors.As(err, &u) {
			fmt.Fprintln(os.Stderr, "tests:", err)
			return 1
		}
		fmt.Printf("SKIP: the tests that need a network namespace are skipped: %s\n", u)
		unavailable(u.Error())
		return m.Run()
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	default: // killed by a signal
		fmt.Fprintf(os.Stderr, "tests: the sandboxed test binary %v\n", err)
		return 1
	}
}
