// Command collector receives metrics and audit events from agents.
//
// This is the starting point of case study 02: it counts datagrams and writes
// audit events as they come. It cannot tell which metrics are missing, ignores
// its socket's drops, and never acknowledges an audit event. The brief,
// assignments/02-udp-metrics/README.md, says what it must become.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
)

// report is the JSON document the collector prints on SIGTERM.
type report struct {
	Streams       []stream `json:"streams"`
	Datagrams     uint64   `json:"datagrams"`
	Malformed     uint64   `json:"malformed"`
	LocalDrops    uint64   `json:"local_drops"`
	AuditRecorded uint64   `json:"audit_recorded"`
}

// stream is what the collector knows of one agent and epoch.
type stream struct {
	Agent      uint32      `json:"agent"`
	Epoch      uint32      `json:"epoch"`
	Highest    uint64      `json:"highest"`
	Received   uint64      `json:"received"`
	Missing    [][2]uint64 `json:"missing"`
	Reordered  uint64      `json:"reordered"`
	Duplicates uint64      `json:"duplicates"`
}

func main() {
	metricsAddr := flag.String("metrics", "", "the UDP address to receive metrics on, HOST:PORT")
	auditAddr := flag.String("audit", "", "the address of the audit channel, HOST:PORT")
	auditLog := flag.String("audit-log", "", "the audit log file")
	// TODO(Task 6): set SO_RCVBUF, turn SO_RXQ_OVFL on and report local_drops.
	flag.Int("rcvbuf", 0, "the metrics socket's receive buffer in bytes (0: the system's default)")
	flag.Parse()
	if *metricsAddr == "" || *auditAddr == "" || *auditLog == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: collector -metrics HOST:PORT -audit HOST:PORT -audit-log FILE [-rcvbuf BYTES]")
		os.Exit(2)
	}
	metrics, err := net.ListenPacket("udp", *metricsAddr)
	if err != nil {
		log.Fatal(err)
	}
	// TODO(Task 7): a reliable audit channel that acknowledges what it has written and synced.
	audits, err := net.ListenPacket("udp", *auditAddr)
	if err != nil {
		log.Fatal(err)
	}
	logFile, err := os.OpenFile(*auditLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		log.Fatal(err)
	}

	var mu sync.Mutex
	r := report{Streams: []stream{}}
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := metrics.ReadFrom(buf); err != nil {
				return
			}
			mu.Lock()
			// TODO(Tasks 3 to 5): parse the header, keep one stream per agent and
			// epoch, and track exactly which sequence numbers arrived.
			r.Datagrams++
			mu.Unlock()
		}
	}()
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := audits.ReadFrom(buf)
			if err != nil {
				return
			}
			f := strings.SplitN(string(buf[:n]), " ", 3)
			if len(f) < 3 {
				continue
			}
			rec, _ := json.Marshal(map[string]any{"agent": 0, "id": f[1], "text": f[2]})
			mu.Lock()
			logFile.Write(append(rec, '\n'))
			r.AuditRecorded++
			mu.Unlock()
		}
	}()

	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	<-term
	mu.Lock()
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}
