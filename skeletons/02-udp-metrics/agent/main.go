// Command agent forwards the events it reads on stdin to a collector.
//
// This is the starting point of case study 02: it sends every input line as a
// datagram of text, metrics and audit events alike, with no sequence number, no
// batching and no acknowledgement. Nobody can tell what it lost. The brief,
// assignments/02-udp-metrics/README.md, says what it must become.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// summary is the JSON line the agent prints at the end.
type summary struct {
	Epoch          uint32 `json:"epoch"`
	MetricsRead    uint64 `json:"metrics_read"`
	MetricsSent    uint64 `json:"metrics_sent"`
	MetricsDropped uint64 `json:"metrics_dropped"`
	Datagrams      uint64 `json:"datagrams"`
	AuditRead      uint64 `json:"audit_read"`
	AuditAcked     uint64 `json:"audit_acked"`
	BadLines       uint64 `json:"bad_lines"`
}

func main() {
	collector := flag.String("collector", "", "the collector's metrics address, HOST:PORT (UDP)")
	audit := flag.String("audit", "", "the collector's audit address, HOST:PORT")
	id := flag.Uint("id", 0, "this agent's id, 1 to 4294967295")
	// TODO(Task 2): batch metrics up to -mtu, and send a batch once its oldest metric has waited -flush.
	flag.Int("mtu", 1500, "the path MTU in bytes")
	flag.Duration("flush", 100*time.Millisecond, "the longest a metric waits in a batch")
	// TODO(Task 8): keep at most -audit-queue audit events waiting for an acknowledgement.
	flag.Int("audit-queue", 1000, "the most audit events kept unacknowledged")
	flag.Parse()
	if *collector == "" || *audit == "" || *id == 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: agent -collector HOST:PORT -audit HOST:PORT -id N [-mtu BYTES] [-flush DURATION] [-audit-queue N]")
		os.Exit(2)
	}

	// TODO(Task 1): a random non-zero epoch, and the brief's datagram format.
	metrics, err := net.Dial("udp", *collector)
	if err != nil {
		log.Fatal(err)
	}
	// TODO(Task 7): audit events need a reliable channel: acknowledgements, retries, an idempotency key.
	audits, err := net.Dial("udp", *audit)
	if err != nil {
		log.Fatal(err)
	}

	var s summary
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		print(s)
		os.Exit(0)
	}()

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := in.Text()
		fields := strings.Fields(line)
		switch {
		case len(fields) == 3 && fields[0] == "metric":
			s.MetricsRead++
			// One datagram per metric, as text: no sequence number, no batch.
			if _, err := metrics.Write([]byte(line)); err != nil {
				log.Printf("send: %v", err)
			}
			s.MetricsSent++
			s.Datagrams++
		case len(fields) >= 3 && fields[0] == "audit":
			s.AuditRead++
			// Fire and forget: if this datagram is lost, nobody will ever know.
			audits.Write([]byte(line))
			s.AuditAcked++
		default:
			log.Printf("bad line %q", line)
			s.BadLines++
		}
	}
	print(s)
}

func print(s summary) {
	b, _ := json.Marshal(s)
	fmt.Println(string(b))
}
