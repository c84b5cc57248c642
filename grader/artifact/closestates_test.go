package artifact

import (
	"os"
	"strings"
	"testing"
)

// closeBadSamples are artifacts that must fail close-states, each with the finding that
// says why: its line and pieces of its message.
var closeBadSamples = []badSample{
	{"empty.md", 0, []string{"empty.md is empty", "stateDiagram-v2"}},
	{"blank.md", 0, []string{"blank.md is empty"}},
	{"no-mermaid-block.md", 0, []string{"no ```mermaid block with a stateDiagram-v2 found; start from the template's two blocks"}},
	{"flowchart-instead.md", 0, []string{"the block at line 4 is a flowchart", "which is what a state diagram draws"}},
	{"todo-left.md", 19, []string{"a TODO is left in the diagram (`TODO check the server's labels`)"}},
	{"time-wait-on-passive-side.md", 17, []string{"TIME_WAIT sits on the active closer", "the server receives the peer's FIN first (CLOSE_WAIT, line 15)"}},
	{"skipped-state.md", 9, []string{"ESTABLISHED → TIME_WAIT is not a TCP transition (it skips states: the connection goes ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT"}},
	{"close-wait-to-fin-wait-2.md", 17, []string{"CLOSE_WAIT → FIN_WAIT_2 is not a TCP transition", "from CLOSE_WAIT, RFC 9293 allows only CLOSE_WAIT → LAST_ACK (close() / send FIN)"}},
	{"reversed-transition.md", 10, []string{"FIN_WAIT_2 → FIN_WAIT_1 is not a TCP transition (it runs backwards: RFC 9293 has FIN_WAIT_1 → FIN_WAIT_2"}},
	{"missing-label.md", 31, []string{"FIN_WAIT_2 → TIME_WAIT has no event label", "`S_FIN_WAIT_2 --> S_TIME_WAIT : receive FIN / send ACK`"}},
	{"wrong-event-label.md", 16, []string{"ESTABLISHED → CLOSE_WAIT is labelled `send FIN`, but this transition happens when the peer's FIN arrives"}},
	{"label-without-event.md", 12, []string{"the label `done` of TIME_WAIT → CLOSED does not name the event", "2·MSL timer"}},
	{"server-active-missing.md", 0, []string{"the server-active close is missing"}},
	{"client-active-without-server.md", 7, []string{"the client-active close lacks the server's side"}},
	{"no-time-wait-note.md", 11, []string{"no note says why TIME_WAIT exists", "note right of C_TIME_WAIT"}},
	{"note-without-reason.md", 20, []string{"this note is about TIME_WAIT but does not say why TIME_WAIT exists"}},
	{"garbage-line.md", 18, []string{"Mermaid reads `then the server sends its FIN` as 6 states of their own"}},
	{"unterminated-fence.md", 25, []string{"fence is never closed"}},
	{"hyphen-in-state-name.md", 11, []string{"`TIME-WAIT`: Mermaid state names cannot hold -", "write TIME_WAIT"}},
	{"same-state-both-sides.md", 8, []string{"`ESTABLISHED` is used inside both the client's and the server's composite state"}},
	{"cross-side-transition.md", 20, []string{"this transition goes from the client's FIN_WAIT_1 to the server's CLOSE_WAIT"}},
	{"misspelt-header.md", 6, []string{"write the first line as `stateDiagram-v2`, spelled exactly so"}},
	{"second-colon-in-label.md", 12, []string{"a transition's label cannot hold a second colon"}},
	{"unclosed-composite.md", 14, []string{"the composite state Server is never closed"}},
	{"states-without-sides.md", 6, []string{"these states stand on neither side", "state Client { ... }"}},
	{"incomplete-passive-side.md", 14, []string{"the server's close is incomplete in this diagram: CLOSE_WAIT → LAST_ACK (close() / send FIN) and LAST_ACK → CLOSED (receive ACK of FIN) are not drawn"}},
	{"not-a-tcp-state.md", 17, []string{"`S_Waiting` names no TCP state"}},
	{"established-to-closed.md", 18, []string{"ESTABLISHED → CLOSED is not a TCP transition", "only on a reset"}},
}

// closeGoodSamples are artifacts that must pass, with the encouraging notes they earn.
var closeGoodSamples = []goodSample{
	{"composite-per-side.md", nil},
	{"display-names-and-multiline-notes.md", nil},
	{"simultaneous-close.md", []string{"simultaneous close"}},
	{"with-opening-handshake.md", []string{"opening of the connection"}},
	{"diagram-per-side.md", nil},
}

func TestCloseStatesSamples(t *testing.T) {
	testSamples(t, "close-states", "close-states", closeBadSamples, closeGoodSamples)
}

// TestCloseStatesTemplateFails: the student's starting point fails, and its findings say
// what to do: every TODO line is named, both closes and the note on TIME_WAIT are asked
// for, and the template itself is valid Mermaid.
func TestCloseStatesTemplateFails(t *testing.T) {
	const path = "../../skeletons/03-time-wait/close-states.md"
	res := checkFile(t, "close-states", path)
	if res.Passed {
		t.Fatal("the template passes; it must fail until the student draws the diagrams")
	}
	content, _ := os.ReadFile(path)
	at := map[int][]string{}
	for _, f := range res.Findings {
		at[f.Line] = append(at[f.Line], f.Message)
		for _, invalid := range []string{"cannot read", "reads `", "never closed", "cannot hold", "is not a TCP transition", "names no TCP state"} {
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
		if !strings.Contains(strings.Join(at[l.N], "\n"), "TODO is left") {
			t.Errorf("line %d holds a TODO but has no finding", l.N)
		}
	}
	if todos < 3 {
		t.Errorf("the template has %d TODO lines, want markers in both diagrams and in the prose", todos)
	}
	for _, want := range []string{"the client-active close is missing", "the server-active close is missing", "no note says why TIME_WAIT exists"} {
		if !strings.Contains(dump(res), want) {
			t.Errorf("no finding says %q; findings:\n%s", want, dump(res))
		}
	}
}

// TestCloseStatesReferencePasses: the reference answer passes with nothing to add.
func TestCloseStatesReferencePasses(t *testing.T) {
	res := checkFile(t, "close-states", "../../fixtures/03-time-wait/reference/close-states.md")
	if !res.Passed {
		t.Fatalf("the reference fails; findings:\n%s", dump(res))
	}
}

// TestCloseStatesInline covers rules the samples do not: each case is one diagram whose
// other side and scenario do not matter, so only findings containing want are looked at.
func TestCloseStatesInline(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		line  int    // of the wanted finding
		want  string // "" when no finding may mention the transitions
	}{
		{"FIN_WAIT without a number", []string{"state Client {", "C_EST --> C_FIN_WAIT : close()", "}", "state \"ESTABLISHED\" as C_EST"}, 4, "could be FIN_WAIT_1 or FIN_WAIT_2"},
		{"reset accepted when labelled", []string{"state Server {", "S_ESTABLISHED --> S_CLOSED : receive RST", "}"}, 0, ""},
		{"retransmitted FIN in TIME_WAIT stays", []string{"state Client {", "C_TIME_WAIT --> C_TIME_WAIT : FIN again", "}"}, 0, ""},
		{"opening transition without label", []string{"state Server {", "S_LISTEN --> S_SYN_RCVD", "}"}, 0, ""},
		{"invalid opening", []string{"state Server {", "S_LISTEN --> S_ESTABLISHED : handshake", "}"}, 4, "LISTEN → ESTABLISHED is not a TCP transition (it skips states: the connection goes LISTEN → SYN_RECEIVED → ESTABLISHED"},
		{"TIME_WAIT to CLOSE_WAIT", []string{"state Client {", "C_TIME_WAIT --> C_CLOSE_WAIT : FIN", "}"}, 4, "from TIME_WAIT, RFC 9293 allows only TIME_WAIT → CLOSED (2·MSL timer expires)"},
		{"FIN_WAIT_1 lists three", []string{"C_FIN_WAIT_1 --> C_LAST_ACK : FIN"}, 3, "FIN_WAIT_1 → FIN_WAIT_2 (receive ACK of FIN), FIN_WAIT_1 → CLOSING (receive FIN / send ACK) and FIN_WAIT_1 → TIME_WAIT"},
		{"shortcut with FIN+ACK", []string{"state Client {", "C_FIN_WAIT_1 --> C_TIME_WAIT : receive FIN+ACK / send ACK", "}"}, 0, ""},
		{"shortcut labelled with the ACK only", []string{"state Client {", "C_FIN_WAIT_1 --> C_TIME_WAIT : receive ACK", "}"}, 4, "is labelled `receive ACK`, but this transition happens when one segment brings the peer's FIN"},
		{"state keyword as a name", []string{"State --> S_CLOSED"}, 3, "Mermaid reads `State` as a keyword"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			content := "```mermaid\nstateDiagram-v2\n" + strings.Join(tc.lines, "\n") + "\n```\n"
			res, err := Check("close-states", "close-states.md", []byte(content))
			if err != nil {
				t.Fatal(err)
			}
			assertWellFormed(t, res, []byte(content))
			if tc.want == "" {
				for _, f := range res.Findings {
					incidental := false // what a one-diagram fragment lacks anyway
					for _, p := range []string{"incomplete", "lacks", "is missing", "no note says"} {
						incidental = incidental || strings.Contains(f.Message, p)
					}
					if !incidental {
						t.Errorf("unexpected finding at line %d: %s", f.Line, f.Message)
					}
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

func TestLabelEvents(t *testing.T) {
	tests := []struct {
		label string
		has   event // every one of these
		not   event // none of these
	}{
		{"close() / send FIN", evClose | evSendFIN, evRecvFIN},
		{"close() / FIN", evClose | evSendFIN, evRecvFIN},
		{"app closes", evClose, evRecvFIN},
		{"shutdown(SHUT_WR)", evClose, 0},
		{"receive FIN / send ACK", evRecvFIN | evSendACK, evSendFIN | evRecvACK},
		{"rcv FIN / snd ACK", evRecvFIN | evSendACK, evSendFIN},
		{"FIN / ACK", evRecvFIN | evSendACK, evSendFIN | evRecvACK},
		{"FIN received, ACK sent", evRecvFIN | evSendACK, evSendFIN | evRecvACK},
		{"got FIN, sent ACK", evRecvFIN | evSendACK, evSendFIN},
		{"FIN from the server arrives", evRecvFIN, evSendFIN},
		{"peer's FIN", evRecvFIN, evSendFIN},
		{"peer closes", evRecvFIN, evClose},
		{"send FIN", evSendFIN, evRecvFIN},
		{"FIN", evSendFIN | evRecvFIN, 0},
		{"receive ACK of FIN", evRecvACK, evRecvFIN | evSendFIN},
		{"ACK for our FIN", evRecvACK, evRecvFIN | evSendFIN},
		{"our FIN is ACKed", evRecvACK, evRecvFIN | evSendFIN},
		{"receive FIN+ACK / send ACK", evRecvFIN | evRecvACK | evSendACK, evSendFIN},
		{"rcv FIN/ACK", evRecvFIN | evRecvACK, evSendFIN},
		{"2MSL", evTimer, 0},
		{"2*MSL", evTimer, 0},
		{"2·MSL timer expires", evTimer, 0},
		{"timeout", evTimer, 0},
		{"time out after 60 s", evTimer, 0},
		{"60s", evTimer, 0},
		{"receive RST", evRST, 0},
		{"enter CLOSE_WAIT", 0, evClose},
		{"receive SYN-ACK / send ACK", evRecvSYNACK | evSendACK, evRecvSYN},
		{"FIN<br/>ACK sent", evSendACK, 0},
		{"next step", 0, ^event(0)},
		{"", 0, ^event(0)},
	}
	for _, tc := range tests {
		got := labelEvents(tc.label)
		if got&tc.has != tc.has || got&tc.not != 0 {
			t.Errorf("labelEvents(%q) = %016b, want all of %016b and none of %016b", tc.label, got, tc.has, tc.not)
		}
	}
}

// TestTransitionExamples: the label every message suggests is one the check accepts.
func TestTransitionExamples(t *testing.T) {
	for _, r := range tcpTransitions {
		if labelEvents(r.event)&r.needs == 0 {
			t.Errorf("%s → %s: the example label %q does not name the event it needs", r.from, r.to, r.event)
		}
		if r.close && r.when == "" {
			t.Errorf("%s → %s: a close transition needs a `when` for its messages", r.from, r.to)
		}
	}
}

func TestTCPStateIn(t *testing.T) {
	tests := []struct {
		name    string
		want    tcpState
		finWait bool
	}{
		{"ESTABLISHED", stEstablished, false},
		{"ESTAB", stEstablished, false},
		{"FIN_WAIT_1", stFinWait1, false},
		{"FIN_WAIT1", stFinWait1, false},
		{"FIN-WAIT-1", stFinWait1, false},
		{"FinWait1", stFinWait1, false},
		{"C_FIN_WAIT_1", stFinWait1, false},
		{"S_FIN_WAIT_2", stFinWait2, false},
		{"CLOSING", stClosing, false},
		{"TIME_WAIT", stTimeWait, false},
		{"TimeWait", stTimeWait, false},
		{"client_TIME_WAIT2", stTimeWait, false},
		{"CLOSE_WAIT", stCloseWait, false},
		{"CloseWait", stCloseWait, false},
		{"LAST_ACK", stLastAck, false},
		{"LAST-ACK", stLastAck, false},
		{"CLOSED", stClosed, false},
		{"C_CLOSED_START", stClosed, false},
		{"LISTEN", stListen, false},
		{"SYN_SENT", stSynSent, false},
		{"SYN_RECEIVED", stSynReceived, false},
		{"SYN_RCVD", stSynReceived, false},
		{"SYN-RECV", stSynReceived, false},
		{"C_FIN_WAIT", noState, true},
		{"cfw1", noState, false},
		{"Waiting", noState, false},
	}
	for _, tc := range tests {
		got, fw := tcpStateIn(tc.name)
		if got != tc.want || fw != tc.finWait {
			t.Errorf("tcpStateIn(%q) = %v, %v; want %v, %v", tc.name, got, fw, tc.want, tc.finWait)
		}
	}
}

func TestSideOfStateName(t *testing.T) {
	tests := []struct {
		id, label string
		want      side
	}{
		{"Client", "Client", clientSide},
		{"client", "Client (active closer)", clientSide},
		{"A", "Client (active closer)", clientSide},
		{"Server", "Server", serverSide},
		{"C_FIN_WAIT_1", "C_FIN_WAIT_1", clientSide},
		{"S_CLOSE_WAIT", "S_CLOSE_WAIT", serverSide},
		{"srv_TW", "TIME_WAIT", serverSide},
		{"Client_TIME_WAIT", "Client_TIME_WAIT", clientSide},
		{"CLOSE_WAIT", "CLOSE_WAIT", unknownSide},
		{"SYN_SENT", "SYN_SENT", unknownSide},
		{"C", "C", unknownSide},
		{"Both", "Client and server", unknownSide},
	}
	for _, tc := range tests {
		if got := sideOfStateName(tc.id, tc.label); got != tc.want {
			t.Errorf("sideOfStateName(%q, %q) = %v, want %v", tc.id, tc.label, got, tc.want)
		}
	}
}

func TestSaysWhyTimeWait(t *testing.T) {
	yes := []string{
		"a delayed segment of the old connection must not be taken for data of a new one",
		"old duplicate packets die out",
		"so that a new connection on the same four-tuple is safe",
		"ports cannot be reused by a new connection too early",
		"protects the next incarnation of the connection",
		"if the last ACK is lost, the peer retransmits its FIN",
		"the peer may send its FIN again",
		"the final ACK may get lost",
	}
	no := []string{
		"TIME_WAIT lasts 60 s",
		"why does TIME_WAIT exist?",
		"the kernel owns the socket, not the process",
		"send FIN, receive ACK",
		"A socket that stays here is a leak.",
	}
	for _, s := range yes {
		if !saysWhyTimeWait(s) {
			t.Errorf("saysWhyTimeWait(%q) = false", s)
		}
	}
	for _, s := range no {
		if saysWhyTimeWait(s) {
			t.Errorf("saysWhyTimeWait(%q) = true", s)
		}
	}
}

func TestUsualPath(t *testing.T) {
	if got := joinStates(usualPath(stEstablished, stTimeWait)); got != "ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT" {
		t.Errorf("usualPath(ESTABLISHED, TIME_WAIT) = %s", got)
	}
	if got := usualPath(stLastAck, stTimeWait); got != nil {
		t.Errorf("usualPath(LAST_ACK, TIME_WAIT) = %v, want none: CLOSED ends the connection", got)
	}
}
