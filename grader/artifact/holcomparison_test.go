package artifact

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// holBadSamples are artifacts that must fail hol-comparison, each with the finding that
// says why: its line and pieces of its message.
var holBadSamples = []badSample{
	{"empty.md", 0, []string{"empty.md is empty", "one row each for HTTP/1.1, HTTP/2 and HTTP/3"}},
	{"blank.md", 0, []string{"blank.md is empty"}},
	{"no-table.md", 0, []string{"no comparison table found", "| Protocol | Connections | Streams stalled | Longest stall (ms) | Why |"}},
	{"only-other-table.md", 0, []string{"no comparison table found", "(the table at line 5 has fewer than three of these columns)"}},
	{"missing-column.md", 5, []string{"the comparison table has no Longest stall column", "in milliseconds"}},
	{"missing-row.md", 5, []string{"the table has no HTTP/3 row", "over one QUIC connection"}},
	{"duplicate-row.md", 9, []string{"a second HTTP/2 row (the first is at line 8)", "one row per protocol"}},
	{"unknown-protocol.md", 8, []string{"this row's Protocol cell (`SPDY`) names none of the three protocols compared"}},
	{"placeholder-row.md", 9, []string{"the HTTP/3 row is still a placeholder", "your own measured figures for HTTP/3"}},
	{"todo-in-cell.md", 8, []string{"a TODO is left in the Why cell of the HTTP/2 row"}},
	{"empty-cell.md", 7, []string{"the Longest stall cell of the HTTP/1.1 row is empty: write the longest stall your client measured, in milliseconds"}},
	{"todo-in-text.md", 11, []string{"a TODO is left in the text", "`TODO: say which stream"}},
	{"no-command.md", 0, []string{"say how you measured", "-proto h2", "outside the table"}},
	{"command-without-proto.md", 3, []string{"say how you measured", "no client command with its -proto flag"}},
	{"command-only-in-table.md", 0, []string{"say how you measured"}},
	{"unterminated-fence.md", 3, []string{"fence is never closed"}},
}

// holGoodSamples are artifacts that must pass.
var holGoodSamples = []goodSample{{"lenient.md", nil}, {"per-protocol-commands.md", nil}}

func TestHOLSamples(t *testing.T) {
	testSamples(t, "hol-comparison", "holcomparison", holBadSamples, holGoodSamples)
}

func TestHOLRegistered(t *testing.T) {
	if !slices.Contains(Checks(), "hol-comparison") {
		t.Errorf("Checks() = %v, want hol-comparison among them", Checks())
	}
}

// TestHOLTemplateFails: the student's starting point fails, and its findings say what to
// do: every TODO line is named, each of the three rows is a placeholder for its
// protocol, the command is asked for, and the template's table itself is well formed (all
// five columns, the three protocols, no findings in its prose but the Measured with line).
func TestHOLTemplateFails(t *testing.T) {
	const path = "../../skeletons/04-hol-quic/hol-comparison.md"
	res := checkFile(t, "hol-comparison", path)
	if res.Passed {
		t.Fatal("the template passes; it must fail until the student fills in the table")
	}
	content, _ := os.ReadFile(path)
	at := map[int][]string{}
	for _, f := range res.Findings {
		at[f.Line] = append(at[f.Line], f.Message)
		for _, invalid := range []string{"no comparison table", "has no", "the table has", "never closed", "names none", "a second"} {
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
		if !strings.Contains(strings.Join(at[l.N], "\n"), "TODO") {
			t.Errorf("line %d holds a TODO but no finding mentions it", l.N)
		}
	}
	if todos != 4 {
		t.Errorf("the template has %d TODO lines, want 4: the Measured with line and three placeholder rows", todos)
	}
	for _, want := range []string{"the HTTP/1.1 row is still a placeholder", "the HTTP/2 row is still a placeholder",
		"the HTTP/3 row is still a placeholder", "say how you measured"} {
		if !strings.Contains(dump(res), want) {
			t.Errorf("no finding says %q; findings:\n%s", want, dump(res))
		}
	}
	if len(res.Findings) != 5 {
		t.Errorf("%d findings, want 5 (the Measured with TODO, the command, three placeholder rows):\n%s", len(res.Findings), dump(res))
	}
}

// TestHOLReferencePasses: the reference answer passes with nothing to add.
func TestHOLReferencePasses(t *testing.T) {
	res := checkFile(t, "hol-comparison", "../../fixtures/04-hol-quic/reference/hol-comparison.md")
	if !res.Passed {
		t.Fatalf("the reference fails; findings:\n%s", dump(res))
	}
	if len(res.Notes) != 0 {
		t.Errorf("notes = %q, want none", res.Notes)
	}
}

// TestHOLInline covers the rules on small tables: each case is the rows of a table under
// a Measured with line (line 3) and a header (line 5), so the rows are on lines 7, 8 and
// 9. A case gives the three rows, or nil for the good ones.
func TestHOLInline(t *testing.T) {
	const (
		header  = "| Protocol | Connections | Streams stalled | Longest stall (ms) | Why |"
		h1      = "| HTTP/1.1 | 4 | 1 of 4 | 61 | the lost segment belonged to one stream's own TCP connection; the others never saw it |"
		h2      = "| HTTP/2 | 1 | 4 of 4 | 55 | every stream shares one TCP byte stream, delivered in order, so all of them waited |"
		h3      = "| HTTP/3 | 1 | 1 of 4 | 46 | QUIC orders bytes per stream: only the stream whose frame was lost waits |"
		h2Why   = "every stream shares one TCP byte stream, delivered in order, so all of them waited"
		h1Why   = "the lost segment belonged to one stream's own TCP connection; the others never saw it"
		h3Why   = "QUIC orders bytes per stream: only the stream whose frame was lost waits"
		command = "Measured with: `client -addr 198.19.0.1:24000 -proto h2 -streams 4`"
	)
	row := func(cells ...string) string { return "| " + strings.Join(cells, " | ") + " |" }
	tests := []struct {
		name   string
		header string // "" for the template's
		rows   []string
		line   int    // of the wanted finding
		want   string // "" when the table must pass
	}{
		{"good", "", []string{h1, h2, h3}, 0, ""},
		{"rows in another order", "", []string{h3, h1, h2}, 0, ""},
		{"column names with units, any case", "| PROTOCOL | Connections (count) | Streams stalled (S of K) | Longest stall (ms) | Why? |", []string{h1, h2, h3}, 0, ""},
		{"stalled streams and max stall", "| Protocol | Conns | Stalled streams | Max stall | Why |", []string{h1, h2, h3}, 0, ""},
		{"lenient figures", "", []string{
			row("HTTP/1.1", "4 (one per stream)", "1/4", "61.4 ms", h1Why),
			row("HTTP/2 over TCP", "1", "3/4", "55ms", h2Why),
			row("HTTP/3 over QUIC", "1", "1 out of 4", "46,2 ms", h3Why)}, 0, ""},
		{"short names", "", []string{
			row("h1", "4", "1 of 4", "61", h1Why), row("h2", "1", "4 of 4", "55", h2Why), row("h3", "1", "1 of 4", "46", h3Why)}, 0, ""},
		{"HTTP/3 over UDP", "", []string{h1, h2, row("HTTP/3 (QUIC over UDP)", "1", "1 of 4", "46", h3Why)}, 0, ""},
		{"HTTP/1.1 stall under the interval is allowed", "", []string{row("HTTP/1.1", "4", "1 of 4", "12", h1Why), h2, h3}, 0, ""},

		// rows
		{"missing HTTP/1.1", "", []string{h2, h3}, 5, "the table has no HTTP/1.1 row: add one (`| HTTP/1.1 | ... |`) with your own figures for HTTP/1.1 over a TCP connection per stream"},
		{"missing HTTP/2", "", []string{h1, h3}, 5, "the table has no HTTP/2 row"},
		{"duplicate", "", []string{h1, h3, h3}, 9, "a second HTTP/3 row (the first is at line 8)"},
		{"unknown protocol", "", []string{h1, h2, h3, row("HTTP/1.0", "4", "1 of 4", "61", h1Why)}, 10, "(`HTTP/1.0`) names none of the three protocols compared: write `HTTP/1.1`"},
		{"HTTP/2 over QUIC", "", []string{h1, row("HTTP/2 over QUIC", "1", "4 of 4", "55", h2Why), h3}, 8, "puts HTTP/2 on QUIC, which is not one of the setups compared: HTTP/2 runs over one TCP connection here"},
		{"HTTP/3 over TCP", "", []string{h1, h2, row("HTTP/3 over TCP", "1", "1 of 4", "46", h3Why)}, 9, "puts HTTP/3 on TCP"},
		{"a whole row of TODO", "", []string{h1, h2, "| TODO | TODO | TODO | TODO | TODO |"}, 9, "this row is still a placeholder: every cell holds a TODO; fill it in for one protocol"},
		{"a whole row of TODO leaves its protocol missing", "", []string{h1, h2, "| TODO | TODO | TODO | TODO | TODO |"}, 5, "the table has no HTTP/3 row"},

		// cells
		{"two TODO cells", "", []string{h1, row("HTTP/2", "1", "TODO", "55", "TODO"), h3}, 8, "TODO markers are left in the Streams stalled and Why cells of the HTTP/2 row"},
		{"TODO figure is not read", "", []string{h1, row("HTTP/2", "1", "TODO 1 of 4", "55", h2Why), h3}, 8, "a TODO is left in the Streams stalled cell of the HTTP/2 row"},
		{"two empty cells", "", []string{h1, h2, row("HTTP/3", "", "1 of 4", "?", h3Why)}, 9, "the HTTP/3 row leaves the Connections and Longest stall cells empty; fill each in (Connections: how many connections"},
		{"short row", "", []string{h1, h2, "| HTTP/3 | 1 | 1 of 4 |"}, 9, "the HTTP/3 row leaves the Longest stall and Why cells empty"},

		// connections
		{"HTTP/2 on many connections", "", []string{h1, row("HTTP/2", "4", "4 of 4", "55", h2Why), h3}, 8, "the HTTP/2 row says 4 connections, but HTTP/2 multiplexes all its streams over one TCP connection"},
		{"HTTP/3 on two connections", "", []string{h1, h2, row("HTTP/3", "2", "1 of 4", "46", h3Why)}, 9, "over one QUIC connection: that shared connection is what the comparison is about; if your client used more, it did not multiplex"},
		{"HTTP/1.1 on one connection", "", []string{row("HTTP/1.1", "1", "1 of 4", "61", h1Why), h2, h3}, 7, "the HTTP/1.1 row says 1 connection for 4 streams, but HTTP/1.1 carries one stream per connection at a time"},
		{"HTTP/1.1 connections against another row's K", "", []string{row("HTTP/1.1", "2", "some", "61", h1Why), h2, h3}, 7, "says 2 connections for 4 streams"},
		{"connections not a number", "", []string{h1, row("HTTP/2", "one", "4 of 4", "55", h2Why), h3}, 8, "the HTTP/2 row's Connections cell (`one`) is not a number"},
		{"connections not whole", "", []string{h1, row("HTTP/2", "1.5", "4 of 4", "55", h2Why), h3}, 8, "(`1.5`) is not a whole number of at least 1"},
		{"no connections", "", []string{h1, row("HTTP/2", "0", "4 of 4", "55", h2Why), h3}, 8, "(`0`) is not a whole number of at least 1"},

		// streams stalled
		{"stalled not S of K", "", []string{h1, row("HTTP/2", "1", "all", "55", h2Why), h3}, 8, "the HTTP/2 row's Streams stalled cell (`all`) is not of the form `S of K`"},
		{"stalled more than K", "", []string{h1, row("HTTP/2", "1", "5 of 4", "55", h2Why), h3}, 8, "says 5 of 4: more streams stalled than there were"},
		{"one stream", "", []string{row("HTTP/1.1", "1", "1 of 1", "61", h1Why), h2, h3}, 7, "with one stream there is no other stream for a loss to block"},
		{"different K", "", []string{h1, h2, row("HTTP/3", "1", "1 of 8", "46", h3Why)}, 9, "the HTTP/3 row counts 8 streams, but the HTTP/1.1 row counts 4: measure every protocol with the same number of streams"},

		// physics
		{"HTTP/1.1 stalls two", "", []string{row("HTTP/1.1", "4", "2 of 4", "61", h1Why), h2, h3}, 7, "one lost packet belongs to one connection: only that connection's stream waits"},
		{"HTTP/1.1 stalls none", "", []string{row("HTTP/1.1", "4", "0 of 4", "61", h1Why), h2, h3}, 7, "so expect 1 of 4; 0 means the lost packet carried no stream data"},
		{"HTTP/2 stalls one", "", []string{h1, row("HTTP/2", "1", "1 of 4", "55", h2Why), h3}, 8, "TCP delivers one ordered byte stream: the bytes after the hole wait for the retransmission whichever stream they belong to"},
		{"HTTP/2 no worse than HTTP/3", "", []string{h1, row("HTTP/2", "1", "2 of 4", "55", h2Why), row("HTTP/3", "1", "2 of 4", "46", h3Why)}, 8, "the HTTP/2 row says 2 of 4 streams stalled, no more than HTTP/3's 2 of 4"},
		{"HTTP/3 stalls all", "", []string{h1, h2, row("HTTP/3", "1", "4 of 4", "46", h3Why)}, 9, "but QUIC orders bytes per stream: a lost packet stalls only the stream(s) whose frames it carried"},
		{"HTTP/3 stalls none", "", []string{h1, h2, row("HTTP/3", "1", "0 of 4", "46", h3Why)}, 9, "the lost packet carried no stream data"},

		// longest stall
		{"stall not a number", "", []string{h1, row("HTTP/2", "1", "4 of 4", "long", h2Why), h3}, 8, "the HTTP/2 row's Longest stall cell (`long`) is not a number"},
		{"stall zero", "", []string{row("HTTP/1.1", "4", "1 of 4", "0 ms", h1Why), h2, h3}, 7, "is not more than 0 ms"},
		{"stall too long", "", []string{h1, row("HTTP/2", "1", "4 of 4", "12000", h2Why), h3}, 8, "says 12000 ms, 10 seconds or more"},
		{"stall in seconds", "", []string{h1, row("HTTP/2", "1", "4 of 4", "0.055 s", h2Why), h3}, 8, "(`0.055 s`) is in seconds: give it in milliseconds"},
		{"HTTP/2 stall under the interval", "", []string{h1, row("HTTP/2", "1", "4 of 4", "12", h2Why), h3}, 8, "is under 20 ms, the interval between two chunks of a stream"},
		{"HTTP/3 stall under the interval", "", []string{h1, h2, row("HTTP/3", "1", "1 of 4", "19.9 ms", h3Why)}, 9, "is under 20 ms"},

		// why
		{"why too short", "", []string{row("HTTP/1.1", "4", "1 of 4", "61", "separate connections"), h2, h3}, 7, "the HTTP/1.1 row's Why cell (`separate connections`) is too short to explain anything"},
		{"HTTP/1.1 why without connections", "", []string{row("HTTP/1.1", "4", "1 of 4", "61", "only one stream was hit by the loss, the rest went on"), h2, h3}, 7, "the HTTP/1.1 row's Why cell does not mention connections"},
		{"HTTP/2 why without order", "", []string{h1, row("HTTP/2", "1", "4 of 4", "55", "all streams share one TCP connection, so they all waited"), h3}, 8, "does not say that TCP delivers its bytes in order"},
		{"HTTP/2 why without TCP", "", []string{h1, row("HTTP/2", "1", "4 of 4", "55", "the bytes are delivered in order, so they all waited"), h3}, 8, "the HTTP/2 row's Why cell does not name TCP"},
		{"HTTP/2 why with neither", "", []string{h1, row("HTTP/2", "1", "4 of 4", "55", "they all share one connection, so they all waited"), h3}, 8, "names neither TCP nor its in-order delivery"},
		{"HTTP/2 why with sequence", "", []string{h1, row("HTTP/2", "1", "4 of 4", "55", "one TCP connection hands over its bytes in sequence only"), h3}, 0, ""},
		{"HTTP/3 why without QUIC or streams", "", []string{h1, h2, row("HTTP/3", "1", "1 of 4", "46", "the others were not held up by the lost packet")}, 9, "the HTTP/3 row's Why cell names neither QUIC nor its streams"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := tc.header
			if head == "" {
				head = header
			}
			content := "# HOL\n\n" + command + "\n\n" + head + "\n|---|---|---|---|---|\n" + strings.Join(tc.rows, "\n") + "\n"
			res, err := Check("hol-comparison", "hol-comparison.md", []byte(content))
			if err != nil {
				t.Fatal(err)
			}
			assertWellFormed(t, res, []byte(content))
			if tc.want == "" {
				if !res.Passed {
					t.Fatalf("failed, want a pass; findings:\n%s", dump(res))
				}
				return
			}
			for _, f := range res.Findings {
				if f.Line == tc.line && strings.Contains(f.Message, tc.want) {
					return
				}
			}
			t.Errorf("no finding at line %d containing %q; findings:\n%s", tc.line, tc.want, dump(res))
		})
	}
}

// TestHOLCommand: the command counts in a code span or block outside the table, never in
// the table, and the finding points at the Measured with line when there is one.
func TestHOLCommand(t *testing.T) {
	const table = "| Protocol | Connections | Streams stalled | Longest stall (ms) | Why |\n|---|---|---|---|---|\n"
	tests := []struct {
		name    string
		content string
		line    int // of the finding; -1 for none
	}{
		{"code span", "Measured with: `client -proto h2`\n\n" + table, -1},
		{"fenced block", "```\nclient --proto=h3\n```\n\n" + table, -1},
		{"indented block", "Measured with:\n\n    client -proto h1\n\n" + table, -1},
		{"plain text", "Measured with: client -proto h2\n\n" + table, 1},
		{"placeholder", "Intro.\n\nMeasured with: `client -proto TODO`\n\n" + table, -1},
		{"in the table only", table + "| HTTP/2 | `-proto h2` | | | |\n", 0},
		{"other code", "Measured with: `make grade`\n\n" + table, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check("hol-comparison", "hol-comparison.md", []byte(tc.content))
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

func TestProtocolOf(t *testing.T) {
	tests := []struct {
		text  string
		want  httpVersion
		wrong string
	}{
		{"HTTP/1.1", http1, ""},
		{"http/1.1 (a connection per stream)", http1, ""},
		{"HTTP/1", http1, ""},
		{"HTTP 1.1 over TCP", http1, ""},
		{"h1", http1, ""},
		{"HTTP/2", http2, ""},
		{"HTTP/2 over TCP", http2, ""},
		{"HTTP2", http2, ""},
		{"**HTTP/2**", http2, ""},
		{"h2 (HTTP/2)", http2, ""},
		{"HTTP/3", http3, ""},
		{"HTTP/3 over QUIC", http3, ""},
		{"HTTP/3 (QUIC over UDP)", http3, ""},
		{"HTTP/3 (QUIC, not TCP)", http3, ""},
		{"HTTP/2 over QUIC", http2, "QUIC"},
		{"HTTP/1.1 over UDP", http1, "UDP"},
		{"HTTP/3 over TCP", http3, "TCP"},
		{"HTTP/1.0", noHTTP, ""},
		{"SPDY", noHTTP, ""},
		{"QUIC", noHTTP, ""},
		{"h4", noHTTP, ""},
	}
	for _, tc := range tests {
		got, wrong := protocolOf(tc.text)
		if got != tc.want || wrong != tc.wrong {
			t.Errorf("protocolOf(%q) = %v, %q; want %v, %q", tc.text, got, wrong, tc.want, tc.wrong)
		}
	}
}

func TestStalledOf(t *testing.T) {
	tests := []struct {
		text string
		s, k int
		ok   bool
	}{
		{"1 of 4", 1, 4, true},
		{"1/4", 1, 4, true},
		{"3 / 4", 3, 4, true},
		{"1 out of 4", 1, 4, true},
		{"4 OF 4 (all)", 4, 4, true},
		{"stream 2: 1 of 4", 1, 4, true},
		{"0 of 4", 0, 4, true},
		{"all", 0, 0, false},
		{"1", 0, 0, false},
		{"1 off 4", 0, 0, false},
	}
	for _, tc := range tests {
		s, k, ok := stalledOf(tc.text)
		if s != tc.s || k != tc.k || ok != tc.ok {
			t.Errorf("stalledOf(%q) = %d, %d, %v; want %d, %d, %v", tc.text, s, k, ok, tc.s, tc.k, tc.ok)
		}
	}
}

func TestStallOf(t *testing.T) {
	tests := []struct {
		text string
		ms   float64
		unit string
		ok   bool
	}{
		{"61", 61, "", true},
		{"61 ms", 61, "", true},
		{"61ms", 61, "", true},
		{"61.4 ms", 61.4, "", true},
		{"61,4 ms", 61.4, "", true},
		{"~61 ms (stream 2)", 61, "", true},
		{"61 milliseconds", 61, "", true},
		{"61 on stream 2", 61, "", true},
		{"0.061 s", 0.061, "seconds", true},
		{"0.061 sec", 0.061, "seconds", true},
		{"61000 µs", 61000, "microseconds", true},
		{"61000us", 61000, "microseconds", true},
		{"-5", -5, "", true},
		{"long", 0, "", false},
	}
	for _, tc := range tests {
		ms, unit, ok := stallOf(tc.text)
		if ms != tc.ms || unit != tc.unit || ok != tc.ok {
			t.Errorf("stallOf(%q) = %v, %q, %v; want %v, %q, %v", tc.text, ms, unit, ok, tc.ms, tc.unit, tc.ok)
		}
	}
}
