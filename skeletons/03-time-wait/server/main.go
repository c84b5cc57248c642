// Command server is the starting point of the server side of case study
// 03-time-wait, "TIME_WAIT misdiagnosed as a leak". Read
// assignments/03-time-wait/README.md first.
//
//	server -addr HOST:PORT -idle DURATION
//
// It answers the protocol correctly: persistent connections, one request per line,
// PING, ECHO <text> and QUIT, pipelined requests answered in order. Under real
// traffic, though, its CLOSE_WAIT count grows: on some of the ways a connection
// can end, it returns without closing the socket. Finding which ones, with your
// sockstat, is Task 7.
//
// You may split the program into several files; keep it package main, standard
// library only (plus golang.org/x/sys/unix if you want it).
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
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// config holds the command-line flags.
type config struct {
	addr string
	idle time.Duration
}

// maxLine is the longest request line the server reads, newline included. A longer
// one gets "ERR line too long" and the connection ends.
const maxLine = 4096

func main() {
	log.SetPrefix("server: ") // logs go to stderr

	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "server: %v\n", err)
			fmt.Fprintln(os.Stderr, "usage: server -addr HOST:PORT -idle DURATION")
		}
		os.Exit(2)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	log.Printf("listening on %s", ln.Addr())

	s := &server{idle: cfg.idle, conns: make(map[net.Conn]struct{})}
	go s.acceptLoop(ln)

	<-sigs
	log.Printf("shutting down")
	ln.Close()
	s.closeAll()
}

// server keeps every open connection in a set, so that a shutdown can close them.
type server struct {
	idle time.Duration

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (s *server) acceptLoop(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Printf("accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		go s.handle(conn)
	}
}

// forget closes conn and removes it from the set of open connections.
func (s *server) forget(conn net.Conn) {
	conn.Close()
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
}

// closeAll closes every open connection (at shutdown).
func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for conn := range s.conns {
		conn.Close()
	}
}

// handle serves one connection: read a request line, answer it, until QUIT or
// the client goes away.
//
// TODO(task 7): this handler has several ways out. What happens to the socket on
// the paths that return early? Hang up on the server in the various ways a client
// can (between requests, in the middle of a line, by going quiet, by a reset) and
// watch its sockets with your sockstat.
func (s *server) handle(conn net.Conn) {
	r := bufio.NewReaderSize(conn, maxLine)
	conn.SetReadDeadline(time.Now().Add(s.idle))
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			switch {
			case errors.Is(err, io.EOF) && len(line) == 0:
				// The client said goodbye between two requests.
				s.forget(conn)
			case errors.Is(err, bufio.ErrBufferFull):
				log.Printf("%s: line too long", conn.RemoteAddr())
				conn.Write([]byte("ERR line too long\n"))
			default:
				log.Printf("%s: read: %v", conn.RemoteAddr(), err)
			}
			return
		}

		req := string(line[:len(line)-1])
		var reply string
		switch {
		case req == "PING":
			reply = "PONG"
		case strings.HasPrefix(req, "ECHO "):
			reply = req[len("ECHO "):]
		case req == "QUIT":
			reply = "BYE"
		default:
			reply = "ERR unknown request"
		}
		if _, err := conn.Write([]byte(reply + "\n")); err != nil {
			log.Printf("%s: write: %v", conn.RemoteAddr(), err)
			return
		}
		if req == "QUIT" {
			s.forget(conn)
			return
		}
		// The client has -idle from its last reply to send the next request.
		conn.SetReadDeadline(time.Now().Add(s.idle))
	}
}

// parseFlags parses and validates the command line.
func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", "", "address to listen on, HOST:PORT (required)")
	fs.DurationVar(&cfg.idle, "idle", 0, "close a connection that sends no complete request line for this long (required, positive)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.addr == "":
		return cfg, errors.New("-addr is required")
	case cfg.idle <= 0:
		return cfg, fmt.Errorf("-idle must be a positive duration, got %v", cfg.idle)
	}
	return cfg, nil
}
