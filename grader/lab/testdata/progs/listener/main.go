// Command listener listens on the address given as its first argument (TCP,
// or UDP when the second argument is "udp") until it gets SIGTERM, then prints
// "bye" and exits 0. The handler is installed before the socket is made, so a
// LISTEN (or bound) socket means SIGTERM is handled.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	var sock io.Closer
	var err error
	if len(os.Args) > 2 && os.Args[2] == "udp" {
		sock, err = net.ListenPacket("udp", os.Args[1])
	} else {
		sock, err = net.Listen("tcp", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	<-term
	sock.Close()
	fmt.Println("bye")
}
