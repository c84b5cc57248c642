package artifact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// badSamples are artifacts that must fail handshake-sequence, each with the finding that
// says why: its line and a piece of its message.
var badSamples = []badSample{
	{"wrong-order.md", 8, []string{"SYN-ACK comes before SYN (line 9)"}},
	{"ack-before-synack.md", 7, []string{"ACK comes before the SYN-ACK (line 8)"}},
	{"missing-ack.md", 1, []string{"no ACK from the client after the SYN-ACK"}},
	{"synack-client-to-server.md", 7, []string{"SYN-ACK is drawn from Client to Kernel"}},
	{"missing-accept-queue.md", 3, []string{"the accept queue is missing"}},
	{"missing-accept-call.md", 1, []string{"accept() is missing"}},
	{"accept-before-ack.md", 6, []string{"accept() comes before the handshake's ACK (line 9)"}},
	{"missing-saturation-note.md", 1, []string{"no Note says where saturation drops or delays work"}},
	{"saturation-without-effect.md", 11, []string{"says the queue is full but not what that does"}},
	{"todo-left.md", 11, []string{"a TODO is left in the diagram"}},
	{"unterminated-fence.md", 3, []string{"fence is never closed"}},
	{"no-mermaid-block.md", 0, []string{"no ```mermaid block with a sequenceDiagram found; start from the template's block"}},
	{"flowchart-only.md", 0, []string{"the block at line 2 is a flowchart"}},
	{"garbage-line.md", 6, []string{"Mermaid cannot read `Client sends SYN to Kernel`"}},
	{"semicolon-in-text.md", 11, []string{"Mermaid reads ; as the end of a line"}},
	{"unclosed-frame.md", 10, []string{"this loop is never closed"}},
	{"unknown-participants.md", 1, []string{"no participant is recognisable as the client"}},
	{"two-blocks.md", 12, []string{"the most complete one, starting at line 12, is the one judged"}},
	{"empty.md", 0, []string{"empty.md is empty"}},
	{"blank.md", 0, []string{"blank.md is empty"}},
}

// goodSamples are artifacts that must pass; one that draws the SYN queue earns an
// encouraging note.
var goodSamples = []goodSample{
	{"two-participants.md", nil},
	{"activation-and-frames.md", nil},
	{"queues-as-participants.md", []string{"SYN queue"}},
	{"among-other-blocks.md", nil},
}

// checkFile runs the named check on a file and asserts what holds for every result.
func checkFile(t *testing.T, check, path string) Result {
	t.Helper()
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Check(check, path, content)
	if err != nil {
		t.Fatal(err)
	}
	assertWellFormed(t, res, content)
	return res
}

// assertWellFormed checks what holds for every result: findings have a message and a
// line inside the file, and Passed is exactly "no findings".
func assertWellFormed(t *testing.T, res Result, content []byte) {
	t.Helper()
	lines := len(splitLines(content))
	if res.Passed != (len(res.Findings) == 0) {
		t.Errorf("Passed=%v with %d findings", res.Passed, len(res.Findings))
	}
	if res.Tags != nil {
		t.Errorf("Tags = %v, want nil: tags_when_valid come from the rubric", res.Tags)
	}
	for i, f := range res.Findings {
		if strings.TrimSpace(f.Message) == "" {
			t.Errorf("finding %d at line %d has no message", i, f.Line)
		}
		if f.Line < 0 || f.Line > lines {
			t.Errorf("finding at line %d, outside the file's %d lines: %s", f.Line, lines, f.Message)
		}
		if i > 0 && res.Findings[i-1].Line > f.Line {
			t.Errorf("findings not sorted by line: %d after %d", f.Line, res.Findings[i-1].Line)
		}
	}
}

func TestHandshakeSamples(t *testing.T) {
	testSamples(t, "handshake-sequence", "handshake", badSamples, goodSamples)
}

// assertSamplesListed checks that testdata/<dir>/bad and good hold exactly the files a
// test's tables name.
func assertSamplesListed(t *testing.T, dir string, bad, good []string) {
	t.Helper()
	listed := map[string]bool{}
	for _, f := range bad {
		listed[filepath.Join("bad", f)] = true
	}
	for _, f := range good {
		listed[filepath.Join("good", f)] = true
	}
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(filepath.Join("testdata", dir), f)
		if !listed[rel] {
			t.Errorf("%s is in testdata but in no table of the test", f)
		}
		delete(listed, rel)
	}
	for rel := range listed {
		t.Errorf("%s is in a table but not in testdata/%s", rel, dir)
	}
}

// TestHandshakeTemplateFails: the student's starting point fails, and its findings say
// what to do: every TODO line is named, the handshake is asked for, and the template
// itself is valid Mermaid (no "cannot read" findings).
func TestHandshakeTemplateFails(t *testing.T) {
	const path = "../../skeletons/01-backlog/handshake.md"
	res := checkFile(t, "handshake-sequence", path)
	if res.Passed {
		t.Fatal("the template passes; it must fail until the student draws the diagram")
	}
	content, _ := os.ReadFile(path)
	at := map[int][]string{}
	for _, f := range res.Findings {
		at[f.Line] = append(at[f.Line], f.Message)
		if strings.Contains(f.Message, "cannot read") || strings.Contains(f.Message, "never closed") {
			t.Errorf("the template is not valid Mermaid: line %d: %s", f.Line, f.Message)
		}
	}
	todos := 0
	for _, l := range splitLines(content) {
		if !hasTODO(l.Text) {
			continue
		}
		todos++
		if !strings.Contains(strings.Join(at[l.N], "\n"), "TODO is left") {
			t.Errorf("line %d holds a TODO but has no finding", l.N)
		}
	}
	if todos < 2 {
		t.Errorf("the template has %d TODO lines, want markers in the diagram and in the prose", todos)
	}
	for _, want := range []string{"three-way handshake is missing", "accept queue is missing", "accept() is missing", "no Note says where saturation"} {
		if !strings.Contains(dump(res), want) {
			t.Errorf("no finding says %q; findings:\n%s", want, dump(res))
		}
	}
}

// TestHandshakeReferencePasses: the reference answer passes and is praised for its SYN queue.
func TestHandshakeReferencePasses(t *testing.T) {
	res := checkFile(t, "handshake-sequence", "../../fixtures/01-backlog/reference/handshake.md")
	if !res.Passed {
		t.Fatalf("the reference fails; findings:\n%s", dump(res))
	}
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "SYN queue") {
		t.Errorf("notes = %q, want praise for the SYN queue", res.Notes)
	}
}

func TestSegmentOf(t *testing.T) {
	tests := []struct {
		text string
		want segment
	}{
		{"SYN", segSYN},
		{"TCP SYN seq=x", segSYN},
		{"SYN (retransmitted)", segSYN},
		{"syn", segSYN},
		{"SYN-ACK", segSYNACK},
		{"SYN+ACK", segSYNACK},
		{"SYN/ACK", segSYNACK},
		{"SYN ACK", segSYNACK},
		{"SYN_ACK", segSYNACK},
		{"SYNACK", segSYNACK},
		{"SYN and ACK", segSYNACK},
		{"SYN-ACK seq=y ack=x+1", segSYNACK},
		{"seq=y, ack=x+1 (SYN-ACK)", segSYNACK},
		{"ACK", segACK},
		{"ACK ack=y+1", segACK},
		{"final ACK", segACK},
		{"ACK (of the SYN-ACK)", segACK},
		{"keep it in the SYN queue", noSegment},
		{"state SYN_RECV", noSegment},
		{"answers with a SYN cookie", noSegment},
		{"acknowledge", noSegment},
		{"asynchronous accept()", noSegment},
		{"", noSegment},
	}
	for _, tc := range tests {
		if got := segmentOf(tc.text); got != tc.want {
			t.Errorf("segmentOf(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestSideOf(t *testing.T) {
	tests := []struct {
		id, label string
		want      side
	}{
		{"Client", "Client", clientSide},
		{"C", "Client app", clientSide},
		{"CK", "Client kernel", clientSide},
		{"User", "User", clientSide},
		{"B", "Browser", clientSide},
		{"Server", "Server", serverSide},
		{"K", "Kernel (TCP stack)", serverSide},
		{"TCP", "TCP", serverSide},
		{"App", "App", serverSide},
		{"A", "Application (user space)", serverSide},
		{"L", "Listener", serverSide},
		{"AcceptQueue", "AcceptQueue", serverSide},
		{"SQ", "SYN queue", serverSide},
		{"Alice", "Alice", unknownSide},
		{"Bob", "Bob", unknownSide},
	}
	for _, tc := range tests {
		if got := sideOf(Participant{ID: tc.id, Label: tc.label}); got != tc.want {
			t.Errorf("sideOf(%s as %s) = %v, want %v", tc.id, tc.label, got, tc.want)
		}
	}
}

func TestQueueAndAcceptWords(t *testing.T) {
	for _, s := range []string{"accept queue", "AcceptQueue", "Accept-Queue", "the accept backlog", "completed-connection queue", "AcceptQ"} {
		if !mentionsAcceptQueue(s) {
			t.Errorf("mentionsAcceptQueue(%q) = false", s)
		}
	}
	for _, s := range []string{"accept()", "the backlog", "accepted"} {
		if mentionsAcceptQueue(s) {
			t.Errorf("mentionsAcceptQueue(%q) = true", s)
		}
	}
	for _, s := range []string{"SYN queue", "SynQueue", "half-open connections", "SYN backlog"} {
		if !mentionsSYNQueue(s) {
			t.Errorf("mentionsSYNQueue(%q) = false", s)
		}
	}
	for _, tc := range []struct {
		text string
		bare bool
		want bool
	}{
		{"accept()", false, true},
		{"accept(fd)", false, true},
		{"accept4 ()", false, true},
		{"accept", false, false},
		{"accept", true, true},
		{"accept connection", true, true},
		{"accept queue", true, false},
		{"accepted", true, false},
	} {
		if got := namesAcceptCall(tc.text, tc.bare); got != tc.want {
			t.Errorf("namesAcceptCall(%q, %v) = %v, want %v", tc.text, tc.bare, got, tc.want)
		}
	}
	for _, tc := range []struct {
		text         string
		full, effect bool
	}{
		{"accept queue full → SYN dropped", true, true},
		{"ListenOverflows: the backlog overflowed, client retries", true, true},
		{"queue saturated, connect timed out", true, true},
		{"handshake completed successfully", false, false},
		{"the client time-out", false, true},
		{"queue is full", true, false},
	} {
		if got := saysSaturated(tc.text); got != tc.full {
			t.Errorf("saysSaturated(%q) = %v, want %v", tc.text, got, tc.full)
		}
		if got := saysEffect(tc.text); got != tc.effect {
			t.Errorf("saysEffect(%q) = %v, want %v", tc.text, got, tc.effect)
		}
	}
}

// dump lists a result's findings, one per line, for failure messages.
func dump(res Result) string {
	var b strings.Builder
	for _, f := range res.Findings {
		b.WriteString("  ")
		b.WriteString(strings.TrimSpace(f.Location("line")))
		b.WriteString(": ")
		b.WriteString(f.Message)
		b.WriteString("\n")
	}
	return b.String()
}

// TestHandshakeBestBlock: of several sequence diagrams, a readable one is judged before
// one Mermaid cannot read, even if the unreadable one has fewer findings.
func TestHandshakeBestBlock(t *testing.T) {
	content := "```mermaid\nSequenceDiagram\n```\n\n" + // line 1: misspelt keyword, one finding
		"```mermaid\nsequenceDiagram %% comment\n    participant Client\n    Client->>Server: SYN\n```\n" // line 5
	res, err := Check("handshake-sequence", "handshake.md", []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	assertWellFormed(t, res, []byte(content))
	var judged, spelling bool
	for _, f := range res.Findings {
		judged = judged || (f.Line == 5 && strings.Contains(f.Message, "starting at line 5, is the one judged"))
		spelling = spelling || strings.Contains(f.Message, "spelled exactly")
	}
	if !judged || spelling {
		t.Errorf("want the block at line 5 judged (and the misspelt one ignored); findings:\n%s", dump(res))
	}
}
