// Command stubborn ignores SIGTERM, then listens on the address given as its
// only argument (so a LISTEN socket means SIGTERM is already ignored) and
// runs until it is killed.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	signal.Ignore(syscall.SIGTERM)
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer ln.Close()
	for {
		time.Sleep(time.Hour)
	}
}
