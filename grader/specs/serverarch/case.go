// Package serverarch holds the hidden specs of case 05-server-arch (socket
// server architecture choice). Each spec starts the student's server in the
// sandbox's network namespace with one -model, drives it over loopback with
// real clients (idle ones by the thousand, CPU-heavy ones, a slow reader, a
// probe that PINGs), and judges the architecture by what the kernel shows of
// it: threads, child processes and zombies, resident memory, CPU ticks while
// idle, open descriptors, and the interest list of the server's own epoll
// instance in /proc/<pid>/fdinfo. The student's word for what it is counts
// for nothing.
package serverarch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/wirelab/wirelab/grader/suite"
)

// CaseLabel is the case's label: the sandbox child runs the specs carrying it.
const CaseLabel = "05-server-arch"

// Sysctls of the case's namespace: a listen backlog up to 4096 (the brief
// asks for at least 1024, and 1,200 clients connect at once), and client
// ports above the servers' seeded ones, so that a listener never collides
// with a client socket of an earlier check.
var Sysctls = map[string]string{
	"net.core.somaxconn":           "4096",
	"net.ipv4.tcp_max_syn_backlog": "4096",
	"net.ipv4.ip_local_port_range": "32768 60999",
}

// The models, as the -model flag names them.
const (
	epoll   = "epoll"
	thread  = "thread"
	process = "process"
)

// modelNames name the models for students.
var modelNames = map[string]string{
	epoll:   "the epoll model",
	thread:  "the thread model",
	process: "the process model",
}

// must fails the spec on a grader-side error (not the student's doing).
func must(err error) {
	if err != nil {
		suite.GraderFailf("%v", err)
	}
}

// work is one WORK request and the answer the brief defines for it: x₀ the
// seed's bytes, xᵢ₊₁ = SHA-256(xᵢ), the hex of x_rounds.
type work struct {
	rounds int
	seed   string
}

func (w work) request() string { return fmt.Sprintf("WORK %d %s", w.rounds, w.seed) }

// answer computes the expected answer line.
func (w work) answer() string {
	x := []byte(w.seed)
	for range w.rounds {
		sum := sha256.Sum256(x)
		x = sum[:]
	}
	return "DONE " + hex.EncodeToString(x)
}

// seedAlphabet is what the specs' WORK seeds are made of (the brief allows
// any bytes but spaces).
const seedAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:"

// seedToken draws a seed of n characters from the stream's random source.
func seedToken(stream string, n int) string {
	r := suite.Rand(stream)
	b := make([]byte, n)
	for i := range b {
		b[i] = seedAlphabet[r.IntN(len(seedAlphabet))]
	}
	return string(b)
}

// roundsFor returns how many rounds of SHA-256 take about d on this machine,
// measured here (the student's server hashes on the same cores): the scenes
// are sized in time, not in rounds, so that they mean the same on a fast and
// a slow machine. The fastest of a few short probes counts: a probe that was
// preempted measures the machine's load, not its speed.
func roundsFor(d time.Duration) int {
	const probe, probes = 5000, 7
	x := []byte("calibrate")
	fastest := time.Duration(1<<63 - 1)
	for range probes {
		start := time.Now()
		for range probe {
			sum := sha256.Sum256(x)
			x = sum[:]
		}
		fastest = min(fastest, time.Since(start))
	}
	per := max(fastest/probe, time.Nanosecond)
	return max(1000, int(d/per))
}
