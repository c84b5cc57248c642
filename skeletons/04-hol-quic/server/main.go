// Command server streams paced chunks to clients.
//
// This is the starting point of case study 04: it speaks HTTP/1.1 only, and it
// writes each stream's chunks without flushing them, so they leave in bursts
// whenever the response buffer fills, not one by one when they are due. The
// brief, assignments/04-hol-quic/README.md, says what it must become.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "", "HOST:PORT to serve on")
	// TODO(Task 3): HTTP/3 over QUIC on the UDP port, with this certificate and key.
	cert := flag.String("cert", "", "TLS certificate (PEM) for HTTP/3")
	key := flag.String("key", "", "TLS private key (PEM) for HTTP/3")
	flag.Parse()
	if *addr == "" || *cert == "" || *key == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: server -addr HOST:PORT -cert FILE -key FILE")
		os.Exit(2)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream/{id}", serveStream)
	// TODO(Task 2): cleartext HTTP/2 (prior knowledge) on the same TCP port.
	server := &http.Server{Handler: mux}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
		<-sigs
		server.Close()
	}()
	if err := server.Serve(ln); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// serveStream sends the chunks of GET /stream/{id}?chunks=N&size=S&interval=D.
func serveStream(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	chunks, _ := strconv.Atoi(r.URL.Query().Get("chunks"))
	size, _ := strconv.Atoi(r.URL.Query().Get("size"))
	interval, _ := time.ParseDuration(r.URL.Query().Get("interval"))
	// TODO(Task 1): reject bad parameters with 400, and check the chunk format.
	for i := range chunks {
		stamp := fmt.Sprintf("stream=%d chunk=%d sent=%d", id, i, time.Now().UnixMicro())
		w.Write([]byte(stamp + strings.Repeat(".", max(0, size-1-len(stamp))) + "\n"))
		// TODO(Task 1): each chunk must leave when it is due, not when the buffer fills.
		time.Sleep(interval)
	}
}
