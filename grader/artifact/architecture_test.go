package artifact

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// archBadSamples are artifacts that must fail the architecture check, each with the
// finding that says why: its line and pieces of its message.
var archBadSamples = []badSample{
	{"empty.md", 0, []string{"empty.md is empty", "`## 1,000 idle clients` and `## 100 CPU-heavy clients`"}},
	{"blank.md", 0, []string{"blank.md is empty"}},
	{"no-tables.md", 0, []string{"no table for 1,000 idle clients", "a heading that names this workload (`## 1,000 idle clients`)", "| Architecture | Clients | Threads |"}},
	{"no-heading.md", 0, []string{"no table for 100 CPU-heavy clients", "(the tables at lines 9 and 15 have no heading above them that names one workload"}},
	{"heading-names-both.md", 0, []string{"no table for 1,000 idle clients", "(the tables at lines 11 and 17 have no heading above them"}},
	{"heading-without-table.md", 17, []string{"the 100 CPU-heavy clients section holds no table of your figures", "WORK per second |`"}},
	{"missing-column.md", 19, []string{"the 100 CPU-heavy clients table has no WORK per second column", "WORK answers came back per second"}},
	{"missing-row.md", 11, []string{"the 1,000 idle clients table has no thread per connection row", "(`| thread per connection | ... |`)"}},
	{"duplicate-row.md", 16, []string{"a second epoll event loop + workers row in the 1,000 idle clients table (the first is at line 15)"}},
	{"unknown-architecture.md", 16, []string{"(`iterative (one client at a time)`) names none of the three architectures compared"}},
	{"placeholder-row.md", 23, []string{"the epoll event loop + workers row (100 CPU-heavy clients) is still a placeholder"}},
	{"todo-in-cell.md", 14, []string{"a TODO is left in the RSS (MiB) cell of the thread per connection row (1,000 idle clients)"}},
	{"empty-cell.md", 13, []string{"the CPU seconds cell of the process per connection row (1,000 idle clients) is empty: write the CPU time"}},
	{"not-a-number.md", 14, []string{"the Threads cell of the thread per connection row (1,000 idle clients) (`many`) is not a number"}},
	{"todo-in-text.md", 9, []string{"a TODO is left in the text", "`TODO: explain why only 100.`"}},
	{"no-command.md", 0, []string{"say how you measured", "make grade ARGS=", "outside the tables"}},
	{"command-without-model.md", 5, []string{"say how you measured", "no command that produced your figures"}},
	{"no-recommendation.md", 25, []string{"no recommendation for 1,000 idle clients", "the label `**1,000 idle clients:**`"}},
	{"placeholder-recommendation.md", 31, []string{"the recommendation for 100 CPU-heavy clients is still a placeholder"}},
	{"short-recommendation.md", 27, []string{"the recommendation for 1,000 idle clients (`epoll, clearly.`) is too short"}},
	{"idle-recommends-threads.md", 27, []string{"names a thread per connection and not the event loop", "your own table shows 1006 threads for the thread per connection model against the event loop's 6 threads and 6.1 MiB"}},
	{"heavy-without-workers.md", 31, []string{"the recommendation for 100 CPU-heavy clients does not say where the CPU work runs", "your event loop's PING p99 was 6.4 ms"}},
	{"unterminated-fence.md", 27, []string{"fence is never closed"}},
}

// archGoodSamples are artifacts that must pass.
var archGoodSamples = []goodSample{{"measured.md", nil}, {"lenient.md", nil}}

func TestArchSamples(t *testing.T) {
	testSamples(t, "architecture", "architecture", archBadSamples, archGoodSamples)
}

func TestArchRegistered(t *testing.T) {
	if !slices.Contains(Checks(), "architecture") {
		t.Errorf("Checks() = %v, want architecture among them", Checks())
	}
}

// TestArchTemplateFails: the student's starting point fails, and its findings say what
// to do: every TODO line is named, each of the six rows is a placeholder for its
// architecture, both recommendations are placeholders, the command is asked for, and the
// template itself is well formed (both tables with all their columns and rows, both
// labels, no findings in its prose but the Measured with line).
func TestArchTemplateFails(t *testing.T) {
	const path = "../../skeletons/05-server-arch/architecture.md"
	res := checkFile(t, "architecture", path)
	if res.Passed {
		t.Fatal("the template passes; it must fail until the student fills it in")
	}
	content, _ := os.ReadFile(path)
	at := map[int][]string{}
	for _, f := range res.Findings {
		at[f.Line] = append(at[f.Line], f.Message)
		for _, invalid := range []string{"no table", "holds no table", "has no", "never closed", "names none", "a second", "no recommendation"} {
			if strings.Contains(f.Message, invalid) {
				t.Errorf("the template is not valid: line %d: %s", f.Line, f.Message)
			}
		}
	}
	todos := 0
	for _, l := range splitLines(content) {
		if !hasTODO(l.Text) {
			continue
		}
		todos++
		msgs := strings.Join(at[l.N], "\n")
		if !strings.Contains(msgs, "TODO") && !strings.Contains(msgs, "placeholder") {
			t.Errorf("line %d holds a TODO but no finding mentions it", l.N)
		}
	}
	if todos != 9 {
		t.Errorf("the template has %d TODO lines, want 9: the Measured with line, six placeholder rows and two recommendations", todos)
	}
	for _, want := range []string{
		"the process per connection row (1,000 idle clients) is still a placeholder",
		"the thread per connection row (1,000 idle clients) is still a placeholder",
		"the epoll event loop + workers row (1,000 idle clients) is still a placeholder",
		"the process per connection row (100 CPU-heavy clients) is still a placeholder",
		"the thread per connection row (100 CPU-heavy clients) is still a placeholder",
		"the epoll event loop + workers row (100 CPU-heavy clients) is still a placeholder",
		"the recommendation for 1,000 idle clients is still a placeholder",
		"the recommendation for 100 CPU-heavy clients is still a placeholder",
		"say how you measured",
	} {
		if !strings.Contains(dump(res), want) {
			t.Errorf("no finding says %q; findings:\n%s", want, dump(res))
		}
	}
	if len(res.Findings) != 10 {
		t.Errorf("%d findings, want 10 (the Measured with TODO, the command, six placeholder rows, two recommendations):\n%s",
			len(res.Findings), dump(res))
	}
}

// The rows and recommendations of TestArchInline's good artifact.
const (
	archIdleHeader  = "| Architecture | Clients | Threads | Processes | RSS (MiB) | CPU seconds | PING p50 (ms) | PING p99 (ms) |"
	archHeavyHeader = "| Architecture | Clients | Threads | Processes | RSS (MiB) | CPU seconds | PING p50 (ms) | PING p99 (ms) | WORK per second |"
	idleProcess     = "| process per connection | 100 | 705 | 101 | 812 | 0.04 | 0.21 | 0.9 |"
	idleThread      = "| thread per connection | 1000 | 1006 | 1 | 24.5 | 0.02 | 0.18 | 1.4 |"
	idleEpoll       = "| epoll event loop + workers | 1000 | 6 | 1 | 6.1 | 0 | 0.09 | 0.35 |"
	heavyProcess    = "| process per connection | 100 | 705 | 101 | 830 | 3.95 | 21 | 96 | 97 |"
	heavyThread     = "| thread per connection | 100 | 106 | 1 | 9.8 | 3.9 | 18.5 | 83 | 99 |"
	heavyEpoll      = "| epoll event loop + workers | 100 | 7 | 1 | 7.2 | 2.0 | 1.1 | 6.4 | 49 |"
	idleRec         = "**1,000 idle clients:** the epoll event loop, whose 6 threads and 6.1 MiB do not grow with the clients."
	heavyRec        = "**100 CPU-heavy clients:** the event loop with the hashing offloaded to a fixed pool of workers, PING p99 6.4 ms."
)

// archDoc is an artifact for TestArchInline: the Measured with line, the two tables
// under their headings, and the Recommendation section with the given lines.
type archDoc struct {
	idleHeader, heavyHeader string // "" for the template's
	idle, heavy             []string
	recs                    []string // nil for idleRec and heavyRec
}

func (d archDoc) content() string {
	if d.idleHeader == "" {
		d.idleHeader = archIdleHeader
	}
	if d.heavyHeader == "" {
		d.heavyHeader = archHeavyHeader
	}
	if d.idle == nil {
		d.idle = []string{idleProcess, idleThread, idleEpoll}
	}
	if d.heavy == nil {
		d.heavy = []string{heavyProcess, heavyThread, heavyEpoll}
	}
	if d.recs == nil {
		d.recs = []string{idleRec, "", heavyRec}
	}
	delimiter := func(header string) string {
		return strings.Repeat("|---", strings.Count(header, "|")-1) + "|"
	}
	return "# Architectures\n\nMeasured with: `make grade ARGS=\"--case 05-server-arch --out reports\"`\n\n" +
		"## 1,000 idle clients\n\n" + d.idleHeader + "\n" + delimiter(d.idleHeader) + "\n" + strings.Join(d.idle, "\n") + "\n\n" +
		"## 100 CPU-heavy clients\n\n" + d.heavyHeader + "\n" + delimiter(d.heavyHeader) + "\n" + strings.Join(d.heavy, "\n") + "\n\n" +
		"## Recommendation\n\n" + strings.Join(d.recs, "\n") + "\n"
}

// TestArchInline covers the rules on small artifacts: each case changes the good one
// (archDoc's defaults), and names the line of the wanted finding by its whole text ("" for
// the whole file).
func TestArchInline(t *testing.T) {
	row := func(cells ...string) string { return "| " + strings.Join(cells, " | ") + " |" }
	tests := []struct {
		name string
		doc  archDoc
		at   string // the wanted finding's line, by its text
		want string // "" when the artifact must pass
	}{
		{"good", archDoc{}, "", ""},
		{"rows in another order", archDoc{idle: []string{idleEpoll, idleProcess, idleThread}}, "", ""},
		{"other names for the rows", archDoc{idle: []string{
			row("Fork per connection (pre-fork: no)", "100", "705", "101", "812", "0.04", "0.21", "0.9"),
			row("Threads, one per connection", "1000", "1006", "1", "24.5", "0.02", "0.18", "1.4"),
			row("readiness loop with worker threads", "1000", "6", "1", "6.1", "0", "0.09", "0.35")}}, "", ""},
		{"lenient figures", archDoc{idle: []string{
			row("process per connection", "100", "~705", "101 (100 children + the parent)", "812 MiB", "0,04 s", "0.21 ms", "0.9 ms"),
			row("thread per connection", "1,000", "1 006", "1", "24.5 MB", "0.02", "0.18", "1,4"),
			row("epoll event loop + workers", "1,200 (all answered)", "6", "1", "6.1", "0.00", "0.09", "0.35")}}, "", ""},
		{"other header names", archDoc{
			idleHeader:  "| Model | Clients connected | Threads | Procs | Memory (MiB) | CPU (s) | Median PING (ms) | p99 (ms) |",
			heavyHeader: "| ARCHITECTURE | CLIENTS | THREADS | PROCESSES | RSS | CPU | PING P50 | PING P99 | Work/s |"}, "", ""},
		{"a thread per client at 90%", archDoc{idle: []string{idleProcess, row("thread per connection", "1000", "900", "1", "24.5", "0.02", "0.18", "1.4"), idleEpoll}}, "", ""},
		{"64 threads in the loop", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "64", "1", "6.1", "0", "0.09", "0.35")}}, "", ""},
		{"a process per client, no parent", archDoc{idle: []string{row("process per connection", "100", "700", "100", "812", "0.04", "0.21", "0.9"), idleThread, idleEpoll}}, "", ""},
		{"p50 equals p99", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "6", "1", "6.1", "0", "0.3", "0.3")}}, "", ""},

		// tables and rows
		{"no WORK column under load", archDoc{heavyHeader: archIdleHeader}, archIdleHeader + "\n", "the 100 CPU-heavy clients table has no WORK per second column"},
		{"no Threads column", archDoc{idleHeader: "| Architecture | Clients | Tasks | Processes | RSS (MiB) | CPU seconds | PING p50 (ms) | PING p99 (ms) |"},
			"| Architecture | Clients | Tasks | Processes | RSS (MiB) | CPU seconds | PING p50 (ms) | PING p99 (ms) |", "the 1,000 idle clients table has no Threads column: add it to the header"},
		{"no epoll row under load", archDoc{heavy: []string{heavyProcess, heavyThread}}, archHeavyHeader, "the 100 CPU-heavy clients table has no epoll event loop + workers row"},
		{"second thread row", archDoc{heavy: []string{heavyProcess, heavyThread, heavyEpoll, row("threads", "100", "106", "1", "9.8", "3.9", "18.5", "83", "99")}},
			row("threads", "100", "106", "1", "9.8", "3.9", "18.5", "83", "99"), "a second thread per connection row in the 100 CPU-heavy clients table"},
		{"a whole row of TODO", archDoc{idle: []string{idleProcess, idleThread, idleEpoll, "| TODO | TODO | TODO | TODO | TODO | TODO | TODO | TODO |"}},
			"| TODO | TODO | TODO | TODO | TODO | TODO | TODO | TODO |", "this row is still a placeholder: every cell holds a TODO"},
		{"two TODO cells", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "TODO", "1", "6.1", "0", "TODO", "0.35")}},
			row("epoll event loop + workers", "1000", "TODO", "1", "6.1", "0", "TODO", "0.35"), "TODO markers are left in the Threads and PING p50 (ms) cells of the epoll event loop + workers row"},
		{"a short row", archDoc{heavy: []string{heavyProcess, heavyThread, "| epoll event loop + workers | 100 | 7 | 1 | 7.2 | 2.0 | 1.1 |"}},
			"| epoll event loop + workers | 100 | 7 | 1 | 7.2 | 2.0 | 1.1 |", "leaves the PING p99 (ms) and WORK per second cells empty"},

		// numbers
		{"clients not whole", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000.5", "6", "1", "6.1", "0", "0.09", "0.35")}},
			row("epoll event loop + workers", "1000.5", "6", "1", "6.1", "0", "0.09", "0.35"), "the Clients cell of the epoll event loop + workers row (1,000 idle clients) (`1000.5`) is not a whole number of at least 1"},
		{"no processes", archDoc{idle: []string{idleProcess, row("thread per connection", "1000", "1006", "0", "24.5", "0.02", "0.18", "1.4"), idleEpoll}},
			row("thread per connection", "1000", "1006", "0", "24.5", "0.02", "0.18", "1.4"), "the Processes cell of the thread per connection row (1,000 idle clients) (`0`) is not a whole number"},
		{"RSS zero", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "6", "1", "0", "0", "0.09", "0.35")}},
			row("epoll event loop + workers", "1000", "6", "1", "0", "0", "0.09", "0.35"), "(`0`) is not more than 0: a running server holds some memory"},
		{"RSS in KiB", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "6", "1", "6200 KiB", "0", "0.09", "0.35")}},
			row("epoll event loop + workers", "1000", "6", "1", "6200 KiB", "0", "0.09", "0.35"), "(`6200 KiB`) is in KiB: give it in MiB"},
		{"RSS in GB", archDoc{idle: []string{row("process per connection", "100", "705", "101", "0.8 GB", "0.04", "0.21", "0.9"), idleThread, idleEpoll}},
			row("process per connection", "100", "705", "101", "0.8 GB", "0.04", "0.21", "0.9"), "is in GiB: give it in MiB"},
		{"CPU negative", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "6", "1", "6.1", "-0.01", "0.09", "0.35")}},
			row("epoll event loop + workers", "1000", "6", "1", "6.1", "-0.01", "0.09", "0.35"), "the CPU seconds cell of the epoll event loop + workers row (1,000 idle clients) (`-0.01`) is negative"},
		{"CPU in ms", archDoc{heavy: []string{heavyProcess, heavyThread, row("epoll event loop + workers", "100", "7", "1", "7.2", "2000 ms", "1.1", "6.4", "49")}},
			row("epoll event loop + workers", "100", "7", "1", "7.2", "2000 ms", "1.1", "6.4", "49"), "(`2000 ms`) is in milliseconds: give it in seconds"},
		{"CPU in ticks", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "6", "1", "6.1", "1 tick", "0.09", "0.35")}},
			row("epoll event loop + workers", "1000", "6", "1", "6.1", "1 tick", "0.09", "0.35"), "is in clock ticks: give it in seconds"},
		{"PING in seconds", archDoc{heavy: []string{heavyProcess, row("thread per connection", "100", "106", "1", "9.8", "3.9", "18.5", "0.083 s", "99"), heavyEpoll}},
			row("thread per connection", "100", "106", "1", "9.8", "3.9", "18.5", "0.083 s", "99"), "the PING p99 (ms) cell of the thread per connection row (100 CPU-heavy clients) (`0.083 s`) is in seconds: give it in milliseconds"},
		{"PING in microseconds", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "6", "1", "6.1", "0", "90 µs", "350 µs")}},
			row("epoll event loop + workers", "1000", "6", "1", "6.1", "0", "90 µs", "350 µs"), "(`90 µs`) is in microseconds"},
		{"PING negative", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "6", "1", "6.1", "0", "-1", "0.35")}},
			row("epoll event loop + workers", "1000", "6", "1", "6.1", "0", "-1", "0.35"), "(`-1`) is negative: a latency is the time from a PING sent to its PONG read"},
		{"threads not a number", archDoc{idle: []string{idleProcess, row("thread per connection", "1000", "one each", "1", "24.5", "0.02", "0.18", "1.4"), idleEpoll}},
			row("thread per connection", "1000", "one each", "1", "24.5", "0.02", "0.18", "1.4"), "(`one each`) is not a number: write how many threads the server had"},

		// the physics of 1,000 idle clients
		{"thread model on the netpoller", archDoc{idle: []string{idleProcess, row("thread per connection", "1000", "5", "1", "24.5", "0.02", "0.18", "1.4"), idleEpoll}},
			row("thread per connection", "1000", "5", "1", "24.5", "0.02", "0.18", "1.4"), "the thread per connection row says 5 threads for 1000 clients, but this model gives every connection an OS thread of its own"},
		{"threads just under 90%", archDoc{idle: []string{idleProcess, row("thread per connection", "1000", "899", "1", "24.5", "0.02", "0.18", "1.4"), idleEpoll}},
			row("thread per connection", "1000", "899", "1", "24.5", "0.02", "0.18", "1.4"), "expect about one thread per client (at least 900)"},
		{"too many loop threads", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "65", "1", "6.1", "0", "0.09", "0.35")}},
			row("epoll event loop + workers", "1000", "65", "1", "6.1", "0", "0.09", "0.35"), "the epoll event loop row says 65 threads, but an event loop serves every connection from one thread"},
		{"loop threads not a tenth of the thread model's", archDoc{idle: []string{idleProcess,
			row("thread per connection", "1000", "500", "1", "24.5", "0.02", "0.18", "1.4"), row("epoll event loop + workers", "1000", "50", "1", "6.1", "0", "0.09", "0.35")}},
			row("epoll event loop + workers", "1000", "50", "1", "6.1", "0", "0.09", "0.35"), "the epoll event loop row says 50 threads, not fewer than a tenth of the thread per connection row's 500"},
		{"fewer processes than clients", archDoc{idle: []string{row("process per connection", "100", "705", "99", "812", "0.04", "0.21", "0.9"), idleThread, idleEpoll}},
			row("process per connection", "100", "705", "99", "812", "0.04", "0.21", "0.9"), "the process per connection row says 99 processes for 100 clients, but this model serves every connection in a child process of its own"},
		{"two processes in the loop", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "6", "2", "6.1", "0", "0.09", "0.35")}},
			row("epoll event loop + workers", "1000", "6", "2", "6.1", "0", "0.09", "0.35"), "the epoll event loop + workers row says 2 processes, but epoll event loop + workers serves every connection inside one process"},
		{"too few idle clients for the loop", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "999", "6", "1", "6.1", "0", "0.09", "0.35")}},
			row("epoll event loop + workers", "999", "6", "1", "6.1", "0", "0.09", "0.35"), "the epoll event loop + workers row counts 999 clients, fewer than 1,000"},
		{"too few idle clients for the threads", archDoc{idle: []string{idleProcess, row("thread per connection", "100", "106", "1", "24.5", "0.02", "0.18", "1.4"), idleEpoll}},
			row("thread per connection", "100", "106", "1", "24.5", "0.02", "0.18", "1.4"), "the thread per connection row counts 100 clients, fewer than 1,000"},
		{"p50 over p99", archDoc{idle: []string{idleProcess, idleThread, row("epoll event loop + workers", "1000", "6", "1", "6.1", "0", "0.35", "0.09")}},
			row("epoll event loop + workers", "1000", "6", "1", "6.1", "0", "0.35", "0.09"), "says PING p50 0.35 ms but p99 0.09 ms"},

		// 100 CPU-heavy clients
		{"fewer heavy clients", archDoc{heavy: []string{heavyProcess, row("thread per connection", "50", "56", "1", "9.8", "3.9", "18.5", "83", "99"), heavyEpoll}},
			row("thread per connection", "50", "56", "1", "9.8", "3.9", "18.5", "83", "99"), "the thread per connection row counts 50 clients, but this table compares the three architectures under the same 100 CPU-heavy clients"},
		{"no WORK answered", archDoc{heavy: []string{heavyProcess, heavyThread, row("epoll event loop + workers", "100", "7", "1", "7.2", "2.0", "1.1", "6.4", "0")}},
			row("epoll event loop + workers", "100", "7", "1", "7.2", "2.0", "1.1", "6.4", "0"), "the WORK per second cell of the epoll event loop + workers row (100 CPU-heavy clients) (`0`) is not more than 0"},
		{"p50 over p99 under load", archDoc{heavy: []string{heavyProcess, heavyThread, row("epoll event loop + workers", "100", "7", "1", "7.2", "2.0", "6.4", "1.1", "49")}},
			row("epoll event loop + workers", "100", "7", "1", "7.2", "2.0", "6.4", "1.1", "49"), "says PING p50 6.4 ms but p99 1.1 ms"},
		{"the process model under load is not held to the idle rules", archDoc{heavy: []string{row("process per connection", "100", "5", "1", "830", "3.95", "21", "96", "97"), heavyThread, heavyEpoll}}, "", ""},

		// the recommendation
		{"recommendations as a list", archDoc{recs: []string{
			"- **For 1,000 idle clients**: epoll, because idle sockets then cost an entry in one interest list, not a thread each.",
			"- **For 100 CPU-heavy clients**: an event loop that offloads the hashing, so the PINGs never wait behind it."}}, "", ""},
		{"a recommendation over two lines", archDoc{recs: []string{"**1,000 idle clients:** epoll:",
			"one thread and one interest list for every idle socket, 6 threads in all.", "", heavyRec}}, "", ""},
		{"the idle recommendation weighs threads and picks the loop", archDoc{recs: []string{
			"**1,000 idle clients:** not a thread per connection (1006 threads for nothing): the epoll event loop.", "", heavyRec}}, "", ""},
		{"a thread pool under load", archDoc{recs: []string{idleRec, "",
			"**100 CPU-heavy clients:** a thread pool as large as the cores, so that 100 hashes queue instead of fighting."}}, "", ""},
		{"no recommendation under load", archDoc{recs: []string{idleRec}}, "## Recommendation", "no recommendation for 100 CPU-heavy clients"},
		{"the idle recommendation names a process per connection", archDoc{recs: []string{
			"**1,000 idle clients:** a process per connection, for the isolation between the clients it gives.", "", heavyRec}},
			"**1,000 idle clients:** a process per connection, for the isolation between the clients it gives.",
			"names a process per connection and not the event loop, but each idle client then holds a whole process, its memory and a scheduler entry: your own table shows 812 MiB for the process per connection model at 100 clients"},
		{"the idle recommendation names a threaded server", archDoc{recs: []string{
			"**1,000 idle clients:** a threaded server with blocking reads, simple to write and to read.", "", heavyRec}},
			"**1,000 idle clients:** a threaded server with blocking reads, simple to write and to read.",
			"names a thread per connection and not the event loop"},
		{"the idle recommendation forks", archDoc{recs: []string{
			"**1,000 idle clients:** fork for every client, so that a crash takes one client down, not all.", "", heavyRec}},
			"**1,000 idle clients:** fork for every client, so that a crash takes one client down, not all.",
			"names a process per connection and not the event loop"},
		{"the idle recommendation names nothing", archDoc{recs: []string{
			"**1,000 idle clients:** whichever uses the least memory and threads of the three measured.", "", heavyRec}},
			"**1,000 idle clients:** whichever uses the least memory and threads of the three measured.", "does not name the event loop (epoll)"},
		{"a TODO on the recommendation's second line", archDoc{recs: []string{"**1,000 idle clients:** the epoll event loop, because",
			"TODO finish", "", heavyRec}}, "**1,000 idle clients:** the epoll event loop, because", "the recommendation for 1,000 idle clients is still a placeholder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			content := tc.doc.content()
			res, err := Check("architecture", "architecture.md", []byte(content))
			if err != nil {
				t.Fatal(err)
			}
			assertWellFormed(t, res, []byte(content))
			if tc.want == "" {
				if !res.Passed {
					t.Fatalf("failed, want a pass; findings:\n%s\n%s", dump(res), content)
				}
				return
			}
			line := lineOf(t, content, tc.at)
			for _, f := range res.Findings {
				if f.Line == line && strings.Contains(f.Message, tc.want) {
					return
				}
			}
			t.Errorf("no finding at line %d containing %q; findings:\n%s", line, tc.want, dump(res))
		})
	}
}

// lineOf returns the line of content whose text is at (a trailing newline stands for the
// last such line), 0 for "".
func lineOf(t *testing.T, content, at string) int {
	t.Helper()
	if at == "" {
		return 0
	}
	last := strings.HasSuffix(at, "\n")
	at = strings.TrimSuffix(at, "\n")
	found := 0
	for _, l := range splitLines([]byte(content)) {
		if l.Text == at {
			found = l.N
			if !last {
				break
			}
		}
	}
	if found == 0 {
		t.Fatalf("no line %q in the artifact", at)
	}
	return found
}

// TestArchCommand: the command counts in a code span or block outside the tables, never in
// a table, and the finding points at the Measured with line when there is one.
func TestArchCommand(t *testing.T) {
	tests := []struct {
		name    string
		content string
		line    int // of the finding; -1 for none
	}{
		{"make grade", "Measured with: `make grade ARGS=\"--case 05-server-arch\"`\n", -1},
		{"server commands", "Measured with: `server -model thread -addr 127.0.0.1:9000`\n", -1},
		{"fenced block", "```sh\n./server -model epoll -addr 127.0.0.1:9000 -workers 1\n```\n", -1},
		{"indented block", "Measured with:\n\n    make grade\n", -1},
		{"plain text", "Intro.\n\nMeasured with: make grade\n", 3},
		{"other code", "Measured with: `go build ./server`\n", 1},
		{"in a table only", "| Architecture | Command |\n|---|---|\n| epoll | `server -model epoll` |\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check("architecture", "architecture.md", []byte(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			assertWellFormed(t, res, []byte(tc.content))
			found := -1
			for _, f := range res.Findings {
				if strings.Contains(f.Message, "say how you measured") {
					found = f.Line
				}
			}
			if found != tc.line {
				t.Errorf("command finding at line %d, want %d; findings:\n%s", found, tc.line, dump(res))
			}
		})
	}
}

// TestArchRecommendationPick: of several lines labelled for a workload, the first after the
// Recommendation heading is judged; without the heading, the first in the file.
func TestArchRecommendationPick(t *testing.T) {
	intro := "**1,000 idle clients:** each client connects, answers a PING and stays silent."
	doc := archDoc{recs: []string{idleRec, "", heavyRec}}
	withIntro := strings.Replace(doc.content(), "## 1,000 idle clients\n", intro+"\n\n## 1,000 idle clients\n", 1)
	if res, _ := Check("architecture", "architecture.md", []byte(withIntro)); !res.Passed {
		t.Errorf("the labelled line under the Recommendation heading was not the one judged; findings:\n%s", dump(res))
	}
	noHeading := strings.Replace(withIntro, "## Recommendation\n", "", 1)
	res, _ := Check("architecture", "architecture.md", []byte(noHeading))
	assertWellFormed(t, res, []byte(noHeading))
	if !strings.Contains(dump(res), "the recommendation for 1,000 idle clients does not name the event loop") {
		t.Errorf("without a Recommendation heading, the first labelled line should be judged; findings:\n%s", dump(res))
	}
}

func TestArchitectureOf(t *testing.T) {
	tests := []struct {
		text string
		want architecture
	}{
		{"process per connection", processArch},
		{"Fork per connection", processArch},
		{"multi-process (pre-fork)", processArch},
		{"thread per connection", threadArch},
		{"Threads", threadArch},
		{"epoll event loop + workers", epollArch},
		{"epoll + worker threads", epollArch},
		{"Event-loop (epoll)", epollArch},
		{"EventLoop", epollArch},
		{"readiness loop", epollArch},
		{"iterative", noArch},
		{"goroutine per connection", noArch},
	}
	for _, tc := range tests {
		if got := architectureOf(tc.text); got != tc.want {
			t.Errorf("architectureOf(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestWorkloadOf(t *testing.T) {
	tests := []struct {
		text string
		want workload
		ok   bool
	}{
		{"1,000 idle clients", idleLoad, true},
		{"Idle", idleLoad, true},
		{"100 CPU-heavy clients", heavyLoad, true},
		{"CPU bound", heavyLoad, true},
		{"Heavy clients", heavyLoad, true},
		{"Idle and CPU-heavy clients", idleLoad, false},
		{"Recommendation", idleLoad, false},
		{"Middle", idleLoad, false},
	}
	for _, tc := range tests {
		got, ok := workloadOf(tc.text)
		if got != tc.want || ok != tc.ok {
			t.Errorf("workloadOf(%q) = %v, %v; want %v, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFigureOf(t *testing.T) {
	tests := []struct {
		text  string
		v     float64
		rest  string // the text after the number
		ok    bool
		whole bool
	}{
		{"1000", 1000, "", true, true},
		{"1,000", 1000, "", true, true},
		{"1 000", 1000, "", true, true},
		{"1\u00a0200 clients", 1200, " clients", true, true},
		{"12,345,678", 12345678, "", true, true},
		{"1,000.5", 1000.5, "", true, false},
		{"1,250ms", 1250, "ms", true, true},
		{"0.5", 0.5, "", true, false},
		{"0,5", 0.5, "", true, false},
		{"5,5 MiB", 5.5, " MiB", true, false},
		{"0,005", 0.005, "", true, false},
		{"1,0005", 1.0005, "", true, false},
		{"~5", 5, "", true, true},
		{"101 (100 children)", 101, " (100 children)", true, true},
		{"-0.01", -0.01, "", true, false},
		{"many", 0, "", false, false},
	}
	for _, tc := range tests {
		v, end, ok, whole := figureOf(tc.text)
		rest := ""
		if ok {
			rest = tc.text[end:]
		}
		if v != tc.v || ok != tc.ok || whole != tc.whole || rest != tc.rest {
			t.Errorf("figureOf(%q) = %v, rest %q, %v, %v; want %v, rest %q, %v, %v", tc.text, v, rest, ok, whole, tc.v, tc.rest, tc.ok, tc.whole)
		}
	}
}

func TestLabelOf(t *testing.T) {
	tests := []struct {
		line, label string
		ok          bool
	}{
		{"**1,000 idle clients:** epoll", "1 000 idle clients", true},
		{"**100 CPU-heavy clients**: a pool", "100 cpu heavy clients", true},
		{"- For idle clients: epoll", "for idle clients", true},
		{"> 1. *Idle*: epoll", "idle", true},
		{"Measured with: `make grade`", "measured with", true},
		{"the event loop, because with 1,000 idle clients and no work at all: epoll", "", false},
		{"no colon here", "", false},
	}
	for _, tc := range tests {
		label, _, ok := labelOf(tc.line)
		if label != tc.label || ok != tc.ok {
			t.Errorf("labelOf(%q) = %q, %v; want %q, %v", tc.line, label, ok, tc.label, tc.ok)
		}
	}
}

// TestArchitectureReferencePasses: the reference answer passes with nothing to add.
func TestArchitectureReferencePasses(t *testing.T) {
	res := checkFile(t, "architecture", "../../fixtures/05-server-arch/reference/architecture.md")
	if !res.Passed {
		t.Fatalf("the reference fails; findings:\n%s", dump(res))
	}
	if len(res.Notes) != 0 {
		t.Errorf("notes = %q, want none", res.Notes)
	}
}
