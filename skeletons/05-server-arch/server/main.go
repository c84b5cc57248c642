// Command server is the starting point of case study 05-server-arch, "Socket
// server architecture choice": a toy iterative server.
//
//	server [-model epoll|thread|process] -addr HOST:PORT [-workers N]
//
// It speaks the whole protocol (protocol.go: reuse it), but serves one client at
// a time (iterative.go), whatever -model says: a second client waits until the
// first one leaves. The brief, assignments/05-server-arch/README.md, says what
// each model must become.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
)

const usage = "usage: server [-model epoll|thread|process] -addr HOST:PORT [-workers N]"

func main() {
	log.SetFlags(log.Lmicroseconds)
	log.SetPrefix("server: ")

	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	model := fs.String("model", "epoll", "server architecture: epoll, thread or process")
	addr := fs.String("addr", "", "HOST:PORT to listen on (required)")
	workers := fs.Int("workers", 2, "goroutines that compute WORK in the epoll model, 1 to 64")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2) // the flag package has written the reason and the usage
	}
	if err := check(*model, *addr, *workers, fs.Args()); err != nil {
		fmt.Fprintf(fs.Output(), "server: %v\n", err)
		fs.Usage()
		os.Exit(2)
	}

	var err error
	switch *model {
	case "epoll":
		err = serveEpoll(*addr, *workers)
	case "thread":
		err = serveThreads(*addr)
	case "process":
		err = serveProcesses(*addr)
	}
	log.Print(err)
	os.Exit(1)
}

func check(model, addr string, workers int, rest []string) error {
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q", rest[0])
	}
	switch model {
	case "epoll", "thread", "process":
	default:
		return fmt.Errorf("-model: want epoll, thread or process, not %q", model)
	}
	if addr == "" {
		return errors.New("-addr is required")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("-addr: %v", err)
	}
	if workers < 1 || workers > 64 {
		return fmt.Errorf("-workers: want 1 to 64, not %d", workers)
	}
	return nil
}

// serveEpoll is the epoll model: one goroutine, one epoll instance, raw
// non-blocking sockets (golang.org/x/sys/unix), never the net package.
func serveEpoll(addr string, workers int) error {
	log.Print("-model epoll is not written yet: serving one client at a time (Task 2)")
	// TODO(Task 2: the epoll model): a listening socket made with unix.Socket,
	// non-blocking, with a backlog of at least 1024; one epoll for it and every
	// client; per connection an input buffer and an output queue, so that
	// partial reads, pipelined requests and partial writes (EPOLLOUT) work; on
	// EOF or an error, remove the fd from the epoll and close it.
	// TODO(Task 3: offload WORK): hand WORK to a fixed pool of workers
	// goroutines and get each answer back through an eventfd (or a pipe) in the
	// same epoll; the loop blocks only in epoll_wait.
	_ = workers
	return serveOneAtATime(addr)
}

// serveThreads is the thread model: one OS thread per connection.
func serveThreads(addr string) error {
	log.Print("-model thread is not written yet: serving one client at a time (Task 4)")
	// TODO(Task 4: the thread model): per accepted connection, a goroutine that
	// calls runtime.LockOSThread and serves it with blocking reads; WORK runs
	// on that thread.
	return serveOneAtATime(addr)
}

// serveProcesses is the process model: one process per connection.
func serveProcesses(addr string) error {
	log.Print("-model process is not written yet: serving one client at a time (Task 5)")
	// TODO(Task 5: the process model): per accepted connection, start this
	// executable again with the socket as an inherited fd (exec.Cmd.ExtraFiles)
	// and a way to tell the child what it is; the child serves that connection
	// and exits when the client closes; the parent closes its copy of the
	// socket and reaps every child.
	return serveOneAtATime(addr)
}
