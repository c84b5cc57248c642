// Package timewait holds the hidden specs of case 03-time-wait (TIME_WAIT
// misdiagnosed as a leak). Each spec builds its scenario in a network
// namespace of its own, so that the kernel's socket table holds exactly what
// the spec made: the student's sockstat is held to that table (read through
// inet_diag, owners from /proc/*/fd), the student's server to its CLOSE_WAIT
// count and open descriptors after clients hang up, and the student's client
// to the kernel's counters (active opens, resets) and the TIME_WAIT it leaves
// through a narrow ephemeral port range.
package timewait

import (
	"time"

	"github.com/wirelab/wirelab/grader/suite"
)

// CaseLabel is the case's label: the sandbox child runs the specs carrying it.
const CaseLabel = "03-time-wait"

// Sysctls of the sandbox's own namespace: none. Every spec makes a namespace
// of its own (newScene) and sets what it needs there.
var Sysctls = map[string]string{}

// Ports. Servers listen in [20000, 32000); a scene's ephemeral range starts
// above it, so a listening port is never a client's port, and a TIME_WAIT on a
// server's port lies outside the ephemeral range (the contract's side rule).
const (
	serverPortBase  = 20000
	serverPortSpan  = 12000
	ephemeralLow    = 41000
	ephemeralHigh   = 48999
	ephemeralRange  = "41000 48999"
	programDeadline = 10 * time.Second // a sockstat run, a client run
)

// highServerPort draws a server port above the scene's ephemeral range: a
// server's port is not always the lower one of a connection.
func highServerPort(stream string) uint16 {
	return uint16(ephemeralHigh + 1000 + suite.Rand(stream).IntN(10000))
}

// seededPort draws a server port for one stream of a spec.
func seededPort(stream string) uint16 {
	return uint16(serverPortBase + suite.Rand(stream).IntN(serverPortSpan))
}

// distinctPorts draws n different server ports.
func distinctPorts(stream string, n int) []uint16 {
	r := suite.Rand(stream)
	seen := map[uint16]bool{}
	var out []uint16
	for len(out) < n {
		p := uint16(serverPortBase + r.IntN(serverPortSpan))
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// must fails the spec on a grader-side error (not the student's doing).
func must(err error) {
	if err != nil {
		suite.GraderFailf("%v", err)
	}
}
