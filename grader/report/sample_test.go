package report

import "time"

// sampleReport is a realistic student-mode run over two cases:
//   - 01-backlog: one criterion of each status, a redacted hidden criterion, and an
//     artifact with findings;
//   - 05-server-arch: the server does not compile, so every criterion failed; its
//     artifact passed and counts for the completion standard.
func sampleReport() *Report {
	r := &Report{
		Schema:     SchemaVersion,
		Submission: ".",
		Seed:       1234567,
		StartedAt:  time.Date(2026, 3, 2, 14, 5, 9, 0, time.UTC),
		Duration:   48.7,
		Cases: []Case{
			{
				Slug:      "01-backlog",
				Title:     "TCP handshake backlog saturation",
				Points:    15,
				MaxPoints: 80,
				Duration:  41.2,
				Criteria: []Criterion{
					{
						ID:         "backlog.listen-backlog",
						Title:      "Listens with the backlog it was asked for",
						Concept:    "listen backlog",
						Visibility: "visible",
						Status:     Passed,
						Points:     10,
						MaxPoints:  10,
						Duration:   0.8,
						Evidence: []Evidence{{
							Name: "listen socket",
							Text: "LISTEN 127.0.0.1:40123 Send-Q 128 (asked for -backlog 128)",
						}},
						Hint: "Go's net.Listen takes its backlog from somaxconn; see the brief, task 1.",
					},
					{
						ID:         "backlog.sheds-load",
						Title:      "Sheds load with BUSY before the accept queue overflows",
						Concept:    "load shedding",
						Visibility: "visible",
						Status:     Failed,
						Points:     0,
						MaxPoints:  20,
						Duration:   6.4,
						Evidence: []Evidence{
							{
								Name: "failure",
								Text: "37 of 256 clients got no answer within 2s (sent REQ <id>, wanted OK <id> or BUSY <id>).\n" +
									"A full accept queue drops the SYN silently, so the client sees a timeout, not a refusal.",
							},
							{
								Name: "kernel counters (delta during the burst)",
								Text: "TcpExtListenOverflows   0 -> 37\nTcpExtListenDrops       0 -> 37\nTcpExtTCPReqQFullDrop   0 -> 0",
							},
							{
								Name: "client latencies (256 requests)",
								Text: "p50 12ms  p90 1.04s  p99 3.02s  max 3.11s\nOK 181  BUSY 38  no answer 37",
							},
							{
								Name: "server stderr (last 2 lines)",
								Text: "2026/03/02 14:05:31 accepted conn 219\n2026/03/02 14:05:31 worker queue full, waiting",
							},
						},
						Hint: "Answer BUSY <id> at once when every worker is busy and the queue is full; never block the accept loop on the queue.",
					},
					{
						ID:         "backlog.syn-retransmit",
						Title:      "Recovers when the wire drops the first SYN",
						Concept:    "SYN retransmission",
						Visibility: "visible",
						Status:     Skipped,
						Points:     0,
						MaxPoints:  10,
						Duration:   0.01,
						Evidence: []Evidence{{
							Name: "skipped",
							Text: "needs the lab wire (a TUN device); /dev/net/tun is not available to the grader here",
						}},
						Hint: "The client retries its SYN after 1s; nothing to do in the server.",
					},
					{
						ID:         "backlog.graceful-shutdown",
						Title:      "Finishes in-flight requests on SIGTERM and reports its counts",
						Concept:    "graceful shutdown",
						Visibility: "visible",
						Status:     Error,
						Points:     0,
						MaxPoints:  10,
						Duration:   30,
						Evidence: []Evidence{{
							Name: "grader error",
							Text: "the case's sandbox process was killed (signal: killed) after 30s; this is the grader's problem, not yours\nlast spec running: sends SIGTERM during 8 in-flight requests",
						}},
						Hint: "Stop accepting, wait for the workers, then print the JSON line.",
					},
					{
						ID:         "backlog.accounting",
						Title:      "Server and client counts reconcile",
						Concept:    "observability",
						Visibility: "after_due_date",
						Status:     Failed,
						Points:     0,
						MaxPoints:  15,
						Duration:   2.3,
						Redacted:   true,
					},
				},
				Artifact: &Artifact{
					File:      "handshake.md",
					Status:    Failed,
					Points:    5,
					MaxPoints: 15,
					Findings: []Finding{
						{Line: 14, Message: "no note marks where a saturated accept queue drops or delays the handshake"},
						{Line: 0, Message: "accept() never appears between the accept queue and the server"},
					},
				},
			},
			{
				Slug:      "05-server-arch",
				Title:     "Socket server architecture choice",
				Points:    15,
				MaxPoints: 55,
				Duration:  0.9,
				Problem:   "skeletons/05-server-arch/server does not compile, so its behaviour could not be checked. The compiler said:\nskeletons/05-server-arch/server/main.go:12:2: undefined: foo",
				Criteria: []Criterion{
					{
						ID:         "arch.idle-clients",
						Title:      "Holds 1,000 idle clients with few threads",
						Concept:    "event loop",
						Visibility: "visible",
						Status:     Failed,
						MaxPoints:  15,
						Hint:       "With -model epoll, one goroutine waits on epoll_wait for every connection.",
					},
					{
						ID:         "arch.ping-under-load",
						Title:      "Answers PING quickly while WORK runs",
						Concept:    "CPU offload",
						Visibility: "visible",
						Status:     Failed,
						MaxPoints:  15,
						Hint:       "Hand WORK to the worker pool; the loop only reads and writes.",
					},
					{
						ID:         "arch.slow-reader",
						Title:      "A slow reader does not stall the loop",
						Concept:    "partial writes",
						Visibility: "visible",
						Status:     Failed,
						MaxPoints:  10,
						Hint:       "Keep unwritten bytes per connection and wait for EPOLLOUT.",
					},
				},
				Artifact: &Artifact{
					File:      "architecture.md",
					Status:    Passed,
					Points:    15,
					MaxPoints: 15,
					Tags:      []string{"architecture-comparison"},
				},
			},
		},
		Points:    30,
		MaxPoints: 135,
		Completion: Completion{
			Met:       false,
			Completed: []string{"architecture.md"},
			Requirements: []Requirement{
				{ID: "three-artifacts", Text: "At least three artifacts are completed.", Have: 1, Need: 3,
					Missing: "two more artifacts that pass their checks (handshake.md has findings to fix)"},
				{ID: "tcp-state-transitions", Text: "At least one artifact includes TCP state transitions.", Have: 0, Need: 1,
					Missing: "a state diagram whose transitions are valid RFC 9293 transitions (close-states.md in 03-time-wait)"},
				{ID: "comparison", Text: "At least one artifact compares TCP/UDP/QUIC or server architectures.", Met: true, Have: 1, Need: 1},
			},
		},
		Environment: []string{"user namespace + network namespace (not root)", "no /dev/net/tun"},
	}
	return r
}
