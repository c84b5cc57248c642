// Command client measures how paced streams arrive.
//
// This is the starting point of case study 04: it fetches the streams one after
// another over HTTP/1.1, and prints only how long each took. The brief,
// assignments/04-hol-quic/README.md, says what it must become.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "", "the server's HOST:PORT")
	// TODO(Task 4): h2 on one TCP connection, h3 on one QUIC connection trusting only -ca.
	proto := flag.String("proto", "h1", "h1, h2 or h3")
	streams := flag.Int("streams", 4, "streams to open at once")
	chunks := flag.Int("chunks", 50, "chunks per stream")
	size := flag.Int("size", 1024, "bytes per chunk")
	interval := flag.Duration("interval", 20*time.Millisecond, "time between two chunks of a stream")
	flag.String("ca", "", "certificate (PEM) to trust for h3")
	flag.Duration("stall", 25*time.Millisecond, "a gap this much longer than -interval is a stall")
	flag.Parse()
	if *addr == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: client -addr HOST:PORT -proto h1|h2|h3 -streams K -chunks N -size S -interval D [-ca FILE] [-stall D]")
		os.Exit(2)
	}

	// TODO(Task 4): open every stream at once. TODO(Task 5): time each chunk as it arrives.
	type stream struct {
		ID     int     `json:"id"`
		Chunks int     `json:"chunks"`
		TookMS float64 `json:"took_ms"`
	}
	var out []stream
	for id := range *streams {
		start := time.Now()
		url := fmt.Sprintf("http://%s/stream/%d?chunks=%d&size=%d&interval=%s", *addr, id, *chunks, *size, *interval)
		resp, err := http.Get(url)
		if err != nil {
			log.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, stream{ID: id, Chunks: int(n) / *size, TookMS: float64(time.Since(start).Microseconds()) / 1000})
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"proto": *proto, "streams": out})
}
