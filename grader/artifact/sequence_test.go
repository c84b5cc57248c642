package artifact

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseSequence(t *testing.T) {
	seq := ParseSequence(block(
		"sequenceDiagram", // line 2
		"    autonumber",
		"    %% a comment",
		"    actor C as The client", // 5
		"    box Aqua Server host",  // 6
		"        participant TCP-stack as Kernel, TCP stack",
		"        participant App",                             // 8
		"    end",                                             // 9
		"    C->>+TCP-stack: SYN",                             // 10
		"    TCP-stack-->>-C: SYN-ACK",                        // 11
		"    C-)TCP-stack: ACK ; C--)App: hi",                 // 12
		"    Note left of C: waits",                           // 13
		"    Note over TCP-stack,App: queue #59; with entity", // 14
		"    loop every conn",                                 // 15
		"        alt room",                                    // 16
		"            App->>TCP-stack: accept()",               // 17
		"        else full",                                   // 18
		"            C-xTCP-stack: wrap:SYN # comment",        // 19
		"            C--xTCP-stack: SYN",                      // 20
		"        end",                                         // 21
		"    end",                                             // 22
		"    Worker->TCP-stack: implicit",                     // 23
		"    TCP-stack-->Worker: back",                        // 24
		"    activate App",                                    // 25
		"    deactivate App",                                  // 26
		"    C<<->>App: both ways",                            // 27
		"    title Handshake",                                 // 28
		"    accTitle: the handshake",                         // 29
		"    accDescr {",                                      // 30
		"       long; description",                            // 31
		"    }",                                               // 32
		"    Note right of App",                               // 33
		"      a note over two lines",                         // 34
		"    end",                                             // 35
		"    critical connect",                                // 36
		"        C->>App: x",                                  // 37
		"    option timeout",                                  // 38
		"        C->>App: y",                                  // 39
		"    end",                                             // 40
	))
	if len(seq.Problems) > 0 {
		t.Fatalf("problems: %v", seq.Problems)
	}
	if seq.Line != 2 {
		t.Errorf("Line = %d, want 2", seq.Line)
	}
	wantP := []Participant{
		{ID: "C", Label: "The client", Actor: true, Declared: true, Line: 5},
		{ID: "TCP-stack", Label: "Kernel, TCP stack", Declared: true, Line: 7},
		{ID: "App", Label: "App", Declared: true, Line: 8},
		{ID: "Worker", Label: "Worker", Line: 23},
	}
	if !reflect.DeepEqual(seq.Participants, wantP) {
		t.Errorf("participants:\n got %+v\nwant %+v", seq.Participants, wantP)
	}
	type msg struct {
		from, arrow, to, text string
		line                  int
		act, deact            bool
		ctx                   string
	}
	var got []msg
	for _, m := range seq.Messages {
		got = append(got, msg{m.From, m.Arrow, m.To, m.Text, m.Line, m.Activate, m.Deactivate, strings.Join(m.Context, "/")})
	}
	want := []msg{
		{"C", "->>", "TCP-stack", "SYN", 10, true, false, ""},
		{"TCP-stack", "-->>", "C", "SYN-ACK", 11, false, true, ""},
		{"C", "-)", "TCP-stack", "ACK", 12, false, false, ""},
		{"C", "--)", "App", "hi", 12, false, false, ""},
		{"App", "->>", "TCP-stack", "accept()", 17, false, false, "every conn/room"},
		{"C", "-x", "TCP-stack", "SYN", 19, false, false, "every conn/full"},
		{"C", "--x", "TCP-stack", "SYN", 20, false, false, "every conn/full"},
		{"Worker", "->", "TCP-stack", "implicit", 23, false, false, ""},
		{"TCP-stack", "-->", "Worker", "back", 24, false, false, ""},
		{"C", "<<->>", "App", "both ways", 27, false, false, ""},
		{"C", "->>", "App", "x", 37, false, false, "connect"},
		{"C", "->>", "App", "y", 39, false, false, "timeout"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("messages:\n got %+v\nwant %+v", got, want)
	}
	wantN := []Note{
		{Placement: "left of", Over: []string{"C"}, Text: "waits", Line: 13},
		{Placement: "over", Over: []string{"TCP-stack", "App"}, Text: "queue #59; with entity", Line: 14},
		{Placement: "right of", Over: []string{"App"}, Text: "a note over two lines", Line: 33},
	}
	if !reflect.DeepEqual(seq.Notes, wantN) {
		t.Errorf("notes:\n got %+v\nwant %+v", seq.Notes, wantN)
	}
	var frames []string
	for _, f := range seq.Frames {
		s := f.Kind + ":" + f.Label
		for _, sec := range f.Sections {
			s += "|" + sec.Kind + ":" + sec.Label
		}
		frames = append(frames, s)
		if f.End == 0 {
			t.Errorf("frame %s at line %d has no end", f.Kind, f.Line)
		}
	}
	wantF := []string{"box:Aqua Server host", "loop:every conn", "alt:room|else:full", "critical:connect|option:timeout"}
	if !reflect.DeepEqual(frames, wantF) {
		t.Errorf("frames = %q, want %q", frames, wantF)
	}
}

func TestParseSequenceProblems(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		line  int
		want  string
	}{
		{"unknown line", []string{"sequenceDiagram", "A->>B: x", "A sends B a SYN"}, 4, "Mermaid cannot read `A sends B a SYN`"},
		{"text after a semicolon", []string{"sequenceDiagram", "A->>B: SYN; then wait"}, 3, "reads ; as the end of a line"},
		{"message without colon", []string{"sequenceDiagram", "A->>B"}, 3, "a message needs a colon"},
		{"end closing nothing", []string{"sequenceDiagram", "A->>B: x", "end"}, 4, "closes nothing"},
		{"frame never closed", []string{"sequenceDiagram", "opt maybe", "A->>B: x"}, 3, "this opt is never closed"},
		{"else outside alt", []string{"sequenceDiagram", "loop x", "else y", "end"}, 4, "else belongs inside a alt block"},
		{"deactivating an inactive participant", []string{"sequenceDiagram", "A->>B: x", "B-->>-A: y"}, 4, "B is deactivated here but is not active"},
		{"message inside a box", []string{"sequenceDiagram", "box Host", "A->>B: x", "end"}, 4, "inside a box only participant"},
		{"note without a place", []string{"sequenceDiagram", "Note A: x"}, 3, "a note needs a place"},
		{"note beside two", []string{"sequenceDiagram", "Note left of A,B: x"}, 3, "over one or two"},
		{"multi-line note never ended", []string{"sequenceDiagram", "Note over A", "text"}, 3, "this note has no colon"},
		{"participant without name", []string{"sequenceDiagram", "participant"}, 3, "is not a participant name"},
		{"participant name with colon", []string{"sequenceDiagram", "participant Kernel: TCP"}, 3, "is not a participant name"},
		{"bad autonumber", []string{"sequenceDiagram", "autonumber yes please"}, 3, "autonumber takes"},
		{"not a sequence diagram", []string{"stateDiagram-v2", "[*] --> LISTEN"}, 2, "this block is a stateDiagram-v2"},
		{"keyword misspelt", []string{"SequenceDiagram", "A->>B: x"}, 2, "spelled exactly so"},
		{"empty block", nil, 1, "block is empty"},
		{"create without participant", []string{"sequenceDiagram", "create Worker"}, 3, "create must be followed"},
		{"a cross arrow inside a name", []string{"sequenceDiagram", "A->>B-xC: x"}, 3, "Mermaid cannot read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seq := ParseSequence(block(tc.lines...))
			for _, p := range seq.Problems {
				if p.Line == tc.line && strings.Contains(p.Message, tc.want) {
					return
				}
			}
			t.Errorf("no problem at line %d containing %q; problems: %+v", tc.line, tc.want, seq.Problems)
		})
	}
}

// TestParseSequenceOneProblemPerLine: a line with several faults gets one finding, so
// the student is not buried.
func TestParseSequenceOneProblemPerLine(t *testing.T) {
	seq := ParseSequence(block("sequenceDiagram", "foo; bar; baz"))
	if len(seq.Problems) != 1 {
		t.Errorf("problems = %+v, want one", seq.Problems)
	}
}

// FuzzParseSequence: the parser, the Markdown reader and the check never panic, and
// what they report points inside the input.
func FuzzParseSequence(f *testing.F) {
	seeds := []string{
		"sequenceDiagram\nA->>B: SYN\nB-->>A: SYN-ACK\nA->>B: ACK",
		"sequenceDiagram\nloop x\nalt y\nelse z\nend\nend\nend",
		"sequenceDiagram\nparticipant A as B\nNote over A,B: x\nA->>+B: y\nB-->>-A: z\nactivate A\ndeactivate A\ndeactivate A",
		"sequenceDiagram\nNote over A\nmulti\nend\naccDescr {\nx\n}\nA-x;B--x:C",
		"---\ntitle: t\n---\nsequenceDiagram\n%%{init: {}}%%\nA->>B: #59; #35 x\n",
		"sequenceDiagram\nbox\nparticipant İ\nend\ncreate actor K as\ndestroy K\n<<->>: x\n->>B:\nA->>: y",
		"",
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "handshake", "*", "*.md"))
	files = append(files, "../../fixtures/01-backlog/reference/handshake.md", "../../skeletons/01-backlog/handshake.md")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			seeds = append(seeds, string(b))
		}
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines := splitLines([]byte(s))
		b := Block{Lang: "mermaid", Line: 1, Lines: lines}
		for i := range b.Lines {
			b.Lines[i].N++ // content starts below the fence
		}
		last := len(lines) + 1
		seq := ParseSequence(b)
		for _, p := range seq.Problems {
			if p.Line < 1 || p.Line > last || p.Message == "" {
				t.Fatalf("problem out of range or empty: %+v (lines 1..%d)", p, last)
			}
		}
		for _, m := range seq.Messages {
			if m.Line < 2 || m.Line > last || m.From == "" || m.To == "" {
				t.Fatalf("bad message %+v", m)
			}
		}
		for _, content := range []string{s, "```mermaid\n" + s + "\n```\n"} {
			res, err := Check("handshake-sequence", "handshake.md", []byte(content))
			if err != nil {
				t.Fatal(err)
			}
			if res.Passed != (len(res.Findings) == 0) {
				t.Fatalf("Passed=%v with findings %v", res.Passed, res.Findings)
			}
			n := len(splitLines([]byte(content)))
			for _, f := range res.Findings {
				if f.Line < 0 || f.Line > n || f.Message == "" {
					t.Fatalf("finding out of range or empty: %+v (%d lines)", f, n)
				}
			}
		}
	})
}
