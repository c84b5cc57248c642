package main

import (
	"bufio"
	"errors"
	"io"
	"log"
	"net"
	"syscall"
	"time"
)

// The toy iterative server: it accepts a client, serves it until it leaves, and
// only then accepts the next. While one client is connected, every other one
// waits in the kernel's accept queue: connected, as far as its connect() can
// tell, and never answered. Each model (main.go) has to do better.

// serveOneAtATime serves addr, one client at a time. It returns only when it
// cannot go on.
func serveOneAtATime(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("listening on %s, one client at a time", ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Printf("accept: %v", err)
			time.Sleep(10 * time.Millisecond) // for example EMFILE: do not spin
			continue
		}
		if err := serveConn(conn); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			log.Printf("%s: %v", conn.RemoteAddr(), err)
		}
		conn.Close()
	}
}

// serveConn answers the requests of one connection, in order, until the client
// closes its side or sends a line that is too long. It does not close conn.
func serveConn(conn net.Conn) error {
	// ReadSlice returns a line only once its "\n" has arrived, reading as
	// often as it takes; with room for maxLine bytes and the "\n", a line that
	// does not fit is too long.
	// TODO(Task 1): this reading is tied to blocking reads. Cut lines out of
	// the bytes received so far in a function of their own, which the epoll
	// model can use as well.
	r := bufio.NewReaderSize(conn, maxLine+1)
	w := bufio.NewWriter(conn)
	for {
		line, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			w.WriteString(answerLineTooLong)
			err := w.Flush()
			// A FIN before the close: the client may still be sending, and a
			// close with unread bytes sends a RST, which would destroy the
			// ERR before the client reads it.
			conn.(*net.TCPConn).CloseWrite()
			return err
		case errors.Is(err, io.EOF):
			return nil // the client has closed its side; a partial last line gets no answer
		case err != nil:
			return err
		}
		// WORK is computed right here: nobody else is served meanwhile anyway.
		if err := parseRequest(line[:len(line)-1]).answer().write(w); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}
