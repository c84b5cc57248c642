// Command listener listens on the address given as its only argument until it
// gets SIGTERM, then prints "bye" and exits 0. The handler is installed before
// the socket is made, so a LISTEN socket means SIGTERM is handled.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	<-term
	ln.Close()
	fmt.Println("bye")
}
