// Command flood writes numbered lines to stdout and stderr, the given number
// of bytes of each (at least), ends each stream with a recognizable last line
// and exits 0.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
)

func main() {
	outBytes, _ := strconv.Atoi(os.Args[1])
	errBytes, _ := strconv.Atoi(os.Args[2])
	flood(os.Stdout, "stdout", outBytes)
	flood(os.Stderr, "stderr", errBytes)
}

func flood(f *os.File, name string, n int) {
	w := bufio.NewWriterSize(f, 64<<10)
	written := 0
	for i := 0; written < n; i++ {
		k, _ := fmt.Fprintf(w, "%s line %08d of a program that prints far too much\n", name, i)
		written += k
	}
	fmt.Fprintf(w, "%s: last line\n", name)
	w.Flush()
}
