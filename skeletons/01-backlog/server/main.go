// Command server is the starting point of case study 01-backlog, "TCP handshake
// backlog saturation". Read assignments/01-backlog/README.md first.
//
//	server -addr HOST:PORT -backlog N -workers N -queue N -work DURATION
//
// As given, this is an iterative server: it accepts one connection, serves it
// (including the -work service time), and only then accepts the next. It speaks
// the protocol correctly, one client at a time. Under a burst it falls over in the
// way the case study describes: while it is busy, finished handshakes pile up in
// the kernel's accept queue, the queue overflows, and clients time out without
// this program ever hearing about them.
//
// The TODO(task N) comments point at the tasks of the brief; task 7, the artifact,
// is the template ../handshake.md. You may split the program into several files;
// keep it package main, standard library only (plus golang.org/x/sys/unix if you
// want it).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"time"
)

// config holds the command-line flags.
type config struct {
	addr    string
	backlog int
	workers int
	queue   int
	work    time.Duration
}

func main() {
	log.SetPrefix("server: ") // log writes to stderr; stdout is for the stats line only

	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "server: %v\n", err)
			fmt.Fprintln(os.Stderr, "usage: server -addr HOST:PORT -backlog N -workers N -queue N -work DURATION")
		}
		os.Exit(2)
	}

	// TODO(task 1): net.Listen does not use cfg.backlog. Which backlog does the
	// LISTEN socket get? Check with `ss -lnt` (the Send-Q column), then make it
	// cfg.backlog.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	log.Printf("listening on %s", ln.Addr())

	// TODO(task 6): there is no signal handling, so SIGTERM kills the process on
	// the spot: requests in progress are cut off and no stats line is printed.

	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Printf("accept: %v", err)
			continue
		}
		// TODO(task 5): count what happens to each connection.

		// TODO(task 2): the accept loop serves the request itself, so nothing is
		// accepted while it works. Where do the next clients wait meanwhile, and
		// what happens to them when that place is full?
		//
		// TODO(task 3): there is no limit and no "BUSY": every client waits,
		// however long the line.
		serve(conn, cfg.work)
	}
}

// serve handles one connection: read "REQ <id>", do the work, answer "OK <id>".
func serve(conn net.Conn, work time.Duration) {
	defer conn.Close()

	// TODO(task 4): a client that connects and never sends anything keeps this
	// read (and, here, the whole server) waiting forever.
	id, err := readRequest(conn)
	if err != nil {
		var perr protocolError
		if errors.As(err, &perr) {
			fmt.Fprintf(conn, "ERR %s\n", perr)
		}
		return
	}

	time.Sleep(work) // the service time: stands in for real work
	fmt.Fprintf(conn, "OK %s\n", id)
}

// protocolError is a malformed request line; its text is the reason sent after "ERR".
type protocolError string

func (e protocolError) Error() string { return string(e) }

// maxLine is the longest valid request line: "REQ " + a 64-character id + "\n".
const maxLine = 4 + 64 + 1

// readRequest reads one "REQ <id>\n" line and returns the id. A malformed line
// gives a protocolError; other errors mean the client went away.
func readRequest(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(r, maxLine).ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", protocolError("line too long")
	case errors.Is(err, io.EOF) && len(line) > 0:
		return "", protocolError("missing newline")
	case err != nil:
		return "", err
	}
	s := string(line[:len(line)-1])
	if len(s) < 4 || s[:4] != "REQ " {
		return "", protocolError("expected REQ <id>")
	}
	id := s[4:]
	if id == "" || len(id) > 64 {
		return "", protocolError("id must be 1 to 64 characters")
	}
	for _, c := range []byte(id) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
		if !ok {
			return "", protocolError("bad character in id")
		}
	}
	return id, nil
}

// parseFlags parses and validates the command line. All five flags are parsed,
// but this version only uses -addr and -work.
func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:9000", "address to listen on, HOST:PORT")
	fs.IntVar(&cfg.backlog, "backlog", 128, "listen backlog: accept-queue limit of the LISTEN socket")
	fs.IntVar(&cfg.workers, "workers", 4, "number of workers serving requests")
	fs.IntVar(&cfg.queue, "queue", 16, "connections allowed to wait for a free worker")
	fs.DurationVar(&cfg.work, "work", 100*time.Millisecond, "service time of one request")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.addr == "":
		return cfg, errors.New("-addr must not be empty")
	case cfg.backlog <= 0:
		return cfg, fmt.Errorf("-backlog must be positive, got %d", cfg.backlog)
	case cfg.workers <= 0:
		return cfg, fmt.Errorf("-workers must be positive, got %d", cfg.workers)
	case cfg.queue <= 0:
		return cfg, fmt.Errorf("-queue must be positive, got %d", cfg.queue)
	case cfg.work < 0:
		return cfg, fmt.Errorf("-work must not be negative, got %v", cfg.work)
	}
	return cfg, nil
}
