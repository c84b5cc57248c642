package timewait

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/wirelab/wirelab/grader/lab"
)

// The peer is the lab's helper program on the other end of a scene's
// connections, a process of its own so that the socket table has owners other
// than the grader. Each -listen gives one port a way of ending connections:
//
//	hold           never close: a peer that hangs up leaves CLOSE_WAIT here (a leak)
//	close-on-eof   close when the peer hangs up (a passive close done right)
//	close-at-once  close right after accept (a server-active close: TIME_WAIT here)
//
// and each -connect opens N connections to an address and keeps them open.
// Every connection stays referenced until the peer exits, so that no garbage
// collection closes one behind the scene's back.
const peerName = "wl-peer"

// A second name for the same program, for a scene that needs two owners.
const peerClientName = "wl-client"

func init() {
	lab.RegisterHelper(peerName, runPeer)
	lab.RegisterHelper(peerClientName, runPeer)
}

const (
	holdMode        = "hold"
	closeOnEOFMode  = "close-on-eof"
	closeAtOnceMode = "close-at-once"
)

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

var peerConns struct {
	sync.Mutex
	all []net.Conn
}

func keep(c net.Conn) {
	peerConns.Lock()
	peerConns.all = append(peerConns.all, c)
	peerConns.Unlock()
}

func runPeer(args []string) int {
	flags := flag.NewFlagSet(peerName, flag.ContinueOnError)
	var listens, connects listFlag
	flags.Var(&listens, "listen", "ADDR=MODE (hold, close-on-eof, close-at-once)")
	flags.Var(&connects, "connect", "ADDR=N: open N connections and keep them")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	for _, l := range listens {
		addr, mode, _ := strings.Cut(l, "=")
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", peerName, err)
			return 1
		}
		switch mode {
		case holdMode, closeOnEOFMode, closeAtOnceMode:
		default:
			fmt.Fprintf(os.Stderr, "%s: unknown mode %q\n", peerName, mode)
			return 2
		}
		go acceptLoop(ln, mode)
	}
	for _, c := range connects {
		addr, n, _ := strings.Cut(c, "=")
		count, err := strconv.Atoi(n)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: -connect %s: %v\n", peerName, c, err)
			return 2
		}
		for range count {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", peerName, err)
				return 1
			}
			keep(conn)
		}
	}
	// Wait for the stop signal. Not select {}: in a binary built without cgo
	// (as the release builds grade), a process whose goroutines all block with
	// no listener to poll is "deadlocked" to the runtime, which ends it, and
	// the kernel closes the connections it was holding.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	return 0
}

func acceptLoop(ln net.Listener, mode string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		switch mode {
		case holdMode:
			keep(c)
		case closeOnEOFMode:
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		case closeAtOnceMode:
			c.Close()
		}
	}
}
