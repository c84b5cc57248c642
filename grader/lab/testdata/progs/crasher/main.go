// Command crasher writes "boom" to stderr and exits with status 2 at once.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "starting up")
	fmt.Fprintln(os.Stderr, "boom")
	os.Exit(2)
}
