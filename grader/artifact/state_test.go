package artifact

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseStateDiagram(t *testing.T) {
	d := ParseStateDiagram(block(
		"stateDiagram-v2 %% the close", // line 2
		"    direction LR",
		"    %% a comment",
		"    accTitle: TCP close",                      // 5
		"    accDescr {",                               // 6
		"        both sides; one diagram",              // 7
		"    }",                                        // 8
		"    classDef waiting fill:#fe9",               // 9
		"    state Client {",                           // 10
		"        state \"FIN-WAIT-1\" as cfw1",         // 11
		"        [*] --> C_EST",                        // 12
		"        C_EST --> cfw1 : close() / send FIN",  // 13
		"        cfw1-->C_TW:receive FIN+ACK #59; ACK", // 14
		"        state Inner {",                        // 15
		"            [*] --> deep",                     // 16
		"        }",                                    // 17
		"        --",                                   // 18
		"        C_TW : waits 2·MSL",                   // 19
		"    }",                                        // 20
		"    state \"Server (passive)\" as srv { S_EST --> S_CW }", // 21
		"    state pick <<choice>>",                                // 22
		"    class C_TW, S_CW waiting",                             // 23
		"    C_TW:::waiting --> [*]",                               // 24
		"    note right of C_TW : old segments die out",            // 25
		"    note left of S_CW",                                    // 26
		"        the app must call close(): then FIN",              // 27
		"    end note",                                             // 28
		"    note \"floating text\" as N1",                         // 29
		"    hide empty description",                               // 30
		"    state X",                                              // 31
		"    {",                                                    // 32
		"        x1 --> x2",                                        // 33
		"    }",                                                    // 34
	))
	if len(d.Problems) > 0 {
		t.Fatalf("problems: %v", d.Problems)
	}
	if d.Line != 2 {
		t.Errorf("Line = %d, want 2", d.Line)
	}
	type st struct {
		id, label, kind, parents, desc string
		line, end                      int
	}
	var got []st
	for _, s := range d.States {
		got = append(got, st{s.ID, s.Label, s.Kind, strings.Join(s.Parents, ","), strings.Join(s.Descriptions, "|"), s.Line, s.End})
	}
	want := []st{
		{"Client", "Client", CompositeState, "", "", 10, 20},
		{"cfw1", "FIN-WAIT-1", "", "Client", "", 11, 0},
		{"C_EST", "C_EST", "", "Client", "", 12, 0},
		{"C_TW", "C_TW", "", "Client,", "waits 2·MSL", 14, 0},
		{"Inner", "Inner", CompositeState, "Client", "", 15, 17},
		{"deep", "deep", "", "Inner", "", 16, 0},
		{"srv", "Server (passive)", CompositeState, "", "", 21, 21},
		{"S_EST", "S_EST", "", "srv", "", 21, 0},
		{"S_CW", "S_CW", "", "srv,", "", 21, 0},
		{"pick", "pick", ChoiceState, "", "", 22, 0},
		{"X", "X", CompositeState, "", "", 31, 34},
		{"x1", "x1", "", "X", "", 33, 0},
		{"x2", "x2", "", "X", "", 33, 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("states:\n got %+v\nwant %+v", got, want)
	}
	wantT := []Transition{
		{From: StartEnd, To: "C_EST", Parent: "Client", Line: 12},
		{From: "C_EST", To: "cfw1", Label: "close() / send FIN", Parent: "Client", Line: 13},
		{From: "cfw1", To: "C_TW", Label: "receive FIN+ACK #59; ACK", Parent: "Client", Line: 14},
		{From: StartEnd, To: "deep", Parent: "Inner", Line: 16},
		{From: "S_EST", To: "S_CW", Parent: "srv", Line: 21},
		{From: "C_TW", To: StartEnd, Line: 24},
		{From: "x1", To: "x2", Parent: "X", Line: 33},
	}
	if !reflect.DeepEqual(d.Transitions, wantT) {
		t.Errorf("transitions:\n got %+v\nwant %+v", d.Transitions, wantT)
	}
	wantN := []StateNote{
		{Placement: "right of", State: "C_TW", Text: "old segments die out", Line: 25},
		{Placement: "left of", State: "S_CW", Text: "the app must call close(): then FIN", Line: 26},
		{State: "N1", Text: "floating text", Line: 29},
	}
	if !reflect.DeepEqual(d.Notes, wantN) {
		t.Errorf("notes:\n got %+v\nwant %+v", d.Notes, wantN)
	}
}

func TestParseStateDiagramProblems(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		line  int
		want  string
	}{
		{"words that become states", []string{"stateDiagram-v2", "A --> B", "the client sends FIN"}, 4, "Mermaid reads `the client sends FIN` as 4 states of their own"},
		{"unreadable line", []string{"stateDiagram-v2", "A --> B", "client {sends} FIN-ACK"}, 4, "Mermaid cannot read `client {sends} FIN-ACK`"},
		{"dash in a name", []string{"stateDiagram-v2", "ESTABLISHED --> FIN-WAIT-1"}, 3, "`FIN-WAIT-1`: Mermaid state names cannot hold -"},
		{"spaces in a name", []string{"stateDiagram-v2", "ESTABLISHED --> FIN WAIT 1 : close()"}, 3, "`FIN WAIT 1` holds spaces"},
		{"quoted name in a transition", []string{"stateDiagram-v2", "A --> \"FIN WAIT\""}, 3, "cannot be quoted where it is used"},
		{"second colon in a label", []string{"stateDiagram-v2", "A --> B : timeout: 2MSL"}, 3, "a transition's label cannot hold a second colon"},
		{"semicolon in a label", []string{"stateDiagram-v2", "A --> B : FIN; ACK"}, 3, "cannot hold a ;"},
		{"nothing after the colon", []string{"stateDiagram-v2", "A --> B :"}, 3, "nothing follows the colon"},
		{"second colon in a one-line note", []string{"stateDiagram-v2", "note right of A : why: old segments"}, 3, "a one-line note cannot hold a second colon"},
		{"single arrow", []string{"stateDiagram-v2", "A -> B : x"}, 3, "two dashes and >"},
		{"long arrow", []string{"stateDiagram-v2", "A ---> B"}, 3, "exactly -->"},
		{"chained arrows", []string{"stateDiagram-v2", "A --> B --> C"}, 3, "one transition per line"},
		{"missing target", []string{"stateDiagram-v2", "A --> : x"}, 3, "a state on each side"},
		{"brace closing nothing", []string{"stateDiagram-v2", "A --> B", "}"}, 4, "closes nothing"},
		{"composite never closed", []string{"stateDiagram-v2", "state Client {", "A --> B"}, 3, "the composite state Client is never closed"},
		{"end instead of a brace", []string{"stateDiagram-v2", "state Client {", "A --> B", "end", "}"}, 5, "`end` closes nothing in a state diagram"},
		{"note never ended", []string{"stateDiagram-v2", "note right of A", "text"}, 3, "`end note` that never comes"},
		{"note without a place", []string{"stateDiagram-v2", "note A : x"}, 3, "a note needs a place"},
		{"separator outside a composite", []string{"stateDiagram-v2", "A --> B", "--"}, 4, "separates concurrent regions"},
		{"display name without as", []string{"stateDiagram-v2", "state \"FIN_WAIT_1\" fw1"}, 3, "needs a short name after as"},
		{"display name without closing quote", []string{"stateDiagram-v2", "state \"FIN_WAIT_1 as fw1"}, 3, "no closing quote"},
		{"bad direction", []string{"stateDiagram-v2", "direction TD"}, 3, "direction takes TB, BT, LR or RL"},
		{"keyword as a state", []string{"stateDiagram-v2", "state --> A"}, 3, "as a keyword"},
		{"keyword misspelt", []string{"statediagram-v2", "A --> B"}, 2, "spelled exactly so"},
		{"not a state diagram", []string{"sequenceDiagram", "A->>B: x"}, 2, "this block is a sequenceDiagram"},
		{"empty block", nil, 1, "block is empty"},
		{"accDescr never closed", []string{"stateDiagram-v2", "accDescr {", "x"}, 3, "never closed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := ParseStateDiagram(block(tc.lines...))
			for _, p := range d.Problems {
				if p.Line == tc.line && strings.Contains(p.Message, tc.want) {
					return
				}
			}
			t.Errorf("no problem at line %d containing %q; problems: %+v", tc.line, tc.want, d.Problems)
		})
	}
}

// TestParseStateDiagramOneProblemPerLine: a line with several faults gets one finding.
func TestParseStateDiagramOneProblemPerLine(t *testing.T) {
	d := ParseStateDiagram(block("stateDiagram-v2", "FIN-WAIT-1 --> TIME-WAIT : a: b; c"))
	if len(d.Problems) != 1 {
		t.Errorf("problems = %+v, want one", d.Problems)
	}
}

// TestStateHeader: Mermaid recognises a state diagram only by its keyword spelled exactly.
func TestStateHeader(t *testing.T) {
	for in, ok := range map[string]bool{
		"stateDiagram-v2": true, "stateDiagram": true, "  stateDiagram-v2  %% x": true, "stateDiagram-v2 A --> B": true,
		"StateDiagram-v2": false, "statediagram": false, "stateDiagramv2": false, "stateDiagram-v3": false, "": false,
	} {
		if _, got := stateHeader(in); got != ok {
			t.Errorf("stateHeader(%q) = %v, want %v", in, got, ok)
		}
	}
}

// FuzzParseStateDiagram: the parser, the Markdown reader and the check never panic, and
// what they report points inside the input.
func FuzzParseStateDiagram(f *testing.F) {
	seeds := []string{
		"stateDiagram-v2\n[*] --> A\nA --> B : x\nB --> [*]",
		"stateDiagram-v2\nstate Client {\nstate Inner {\n[*] --> A\n}\n--\n}\n}\n}",
		"stateDiagram\nstate \"x\" as y { a --> b }\nnote right of y\nz\nend note\nnote \"f\" as n",
		"stateDiagram-v2\nstate \"unclosed\nstate \"a\" as\nstate\nnote\nnote left of\n-->\n : \n[*]:x",
		"---\ntitle: t\n---\nstateDiagram-v2\nA:::c --> B:::d : #59; #quot;\nstate p <<fork>>\nstate {\n{\n",
		"",
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "close-states", "*", "*.md"))
	files = append(files, "../../fixtures/03-time-wait/reference/close-states.md", "../../skeletons/03-time-wait/close-states.md")
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
		d := ParseStateDiagram(b)
		for _, p := range d.Problems {
			if p.Line < 1 || p.Line > last || p.Message == "" {
				t.Fatalf("problem out of range or empty: %+v (lines 1..%d)", p, last)
			}
		}
		for _, tr := range d.Transitions {
			if tr.Line < 2 || tr.Line > last || tr.From == "" || tr.To == "" {
				t.Fatalf("bad transition %+v", tr)
			}
		}
		for _, content := range []string{s, "```mermaid\n" + s + "\n```\n"} {
			res, err := Check("close-states", "close-states.md", []byte(content))
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
