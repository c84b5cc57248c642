// Package holquic holds the hidden specs of case 04-hol-quic (head-of-line
// blocking and QUIC). Every spec runs across the lab's wire with a fixed
// one-way delay, where one packet can be dropped at a chosen moment: the
// student's server on the server side with the grader's client
// (grader_client.go) measuring every chunk, the grader's server
// (grader_server.go) with the student's client, or the student's two programs
// together. Chunks carry their send time (chunk.go), so a chunk's delay and a
// stream's stalls are measured, not inferred.
package holquic

import (
	"fmt"
	"time"

	"github.com/wirelab/wirelab/grader/suite"
)

// CaseLabel is the case's label: the sandbox child runs the specs carrying it.
const CaseLabel = "04-hol-quic"

// Sysctls of the sandbox's own namespace: none; the wire makes the server side.
var Sysctls = map[string]string{}

// The scene every spec shares, after the spike in LAB-NOTES.md ("Head-of-line
// blocking over the wire"): paced streams of small chunks, a one-way delay
// long enough that one loss's recovery (about one RTT) stands out from the
// scheduling noise of a busy machine, and streams staggered so that a packet
// carries one stream's chunk.
const (
	oneWay    = 20 * time.Millisecond // each direction of the wire
	interval  = 20 * time.Millisecond // between two chunks of a stream
	chunkSize = 1024                  // one chunk fits one packet
	stagger   = 5 * time.Millisecond  // between the starts of two streams
	// wireMTU keeps every chunk in one packet, and makes quic-go's path-MTU
	// probes (larger than 1280 bytes) fail at the sender instead of being
	// the packet a drop rule takes.
	wireMTU = 1280
)

// Ports: the server's port is seeded in [20000, 32000).
const (
	portBase = 20000
	portSpan = 12000
)

// port draws a spec's server port.
func port(stream string) uint16 {
	return uint16(portBase + suite.Rand(stream+"/port").IntN(portSpan))
}

// must fails the spec on a grader-side error (not the student's doing).
func must(err error) {
	if err != nil {
		suite.GraderFailf("%v", err)
	}
}

// ms renders a duration in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", millis(d)) }
