// Package udpmetrics holds the hidden specs of case 02-udp-metrics (UDP
// metrics lost under load). Most specs run across the lab's wire: the agent
// on the client side, the collector on the server side, and every loss,
// reordering and duplicate made by the wire on purpose and recorded as an
// event, so that the collector's gap report is held to exactly what the wire
// did. The grader plays either peer through the fixed datagram format
// (datagram.go): its own agent (grader_agent.go) against the student's
// collector, its own collector (grader_collector.go) against the student's
// agent. Only the audit channel, whose transport the student chooses, is
// checked with the student's two programs together.
package udpmetrics

import (
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/wirelab/wirelab/grader/suite"
)

// CaseLabel is the case's label: the sandbox child runs the specs carrying it.
const CaseLabel = "02-udp-metrics"

// Sysctls of the sandbox's own namespace: none; the wire makes the server side.
var Sysctls = map[string]string{}

// Ports: the collector's metrics and audit ports are seeded in [20000, 32000).
const (
	portBase = 20000
	portSpan = 12000
)

// ports draws the metrics port and a different audit port for one spec.
func ports(stream string) (metrics, audit uint16) {
	r := suite.Rand(stream + "/ports")
	metrics = uint16(portBase + r.IntN(portSpan))
	audit = metrics + 1 + uint16(r.IntN(100))
	return metrics, audit
}

// hostPort renders addr:port for a program's flag.
func hostPort(addr netip.Addr, port uint16) string {
	return net.JoinHostPort(addr.String(), strconv.Itoa(int(port)))
}

// Deadlines of the programs' work (scaled by lab.Scaled where they are used).
const (
	readyTimeout = 5 * time.Second  // a program binds its sockets
	settleTime   = 10 * time.Second // what was sent reaches a program and is handled
	agentEnd     = 20 * time.Second // an agent finishes after the end of its input
)

// must fails the spec on a grader-side error (not the student's doing).
func must(err error) {
	if err != nil {
		suite.GraderFailf("%v", err)
	}
}

// loopback is the address of specs that need no wire.
var loopback = netip.MustParseAddr("127.0.0.1")

func netipAddrPort(addr netip.Addr, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(addr, port)
}
