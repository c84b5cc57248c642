package artifact

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// transportBadSamples are artifacts that must fail transport-decision, each with the
// finding that says why: its line and pieces of its message.
var transportBadSamples = []badSample{
	{"empty.md", 0, []string{"empty.md is empty", "one row per message type"}},
	{"blank.md", 0, []string{"blank.md is empty"}},
	{"no-table.md", 0, []string{"no decision table found", "| Message type | Loss tolerance |"}},
	{"only-choices-table.md", 0, []string{"no decision table found", "(the table at line 3 has fewer than three of these columns)"}},
	{"no-delimiter-row.md", 0, []string{"no decision table found", "`|---|---|---|---|---|---|---|` under it"}},
	{"missing-column.md", 3, []string{"the decision table has no Backpressure column", "what the sender does when the receiver is slow or gone"}},
	{"too-few-rows.md", 3, []string{"the table has 2 rows", "at least 3"}},
	{"empty-cell.md", 6, []string{"the Retry cell of this row is empty: write how a lost message is noticed and sent again (or why it is not)"}},
	{"todo-in-cell.md", 7, []string{"a TODO is left in the Why cell of this row"}},
	{"todo-in-text.md", 9, []string{"a TODO is left in the text", "`TODO: explain why"}},
	{"placeholder-row.md", 8, []string{"this row is still a placeholder: every cell holds a TODO"}},
	{"loss-none.md", 7, []string{"the Loss tolerance cell of `Audit events` (`none: every event must arrive`) says neither `tolerant` nor `not tolerant`"}},
	{"all-tolerant.md", 3, []string{"no row is not loss-tolerant", "audit or payment event"}},
	{"none-tolerant.md", 3, []string{"no row is loss-tolerant", "sampled metric"}},
	{"two-transports.md", 7, []string{"the Transport cell of `Audit events` (`TCP or QUIC`) names more than one transport (TCP and QUIC)"}},
	{"unknown-transport.md", 7, []string{"(`Kafka`) names none of the transports", "`UDP with app reliability`"}},
	{"only-rejected-transport.md", 7, []string{"(`not TCP`) names TCP only to reject it"}},
	{"audit-on-raw-udp.md", 7, []string{"this row's message type (`Audit events`) is not loss-tolerant, but it travels on raw UDP", "lost silently: nothing acknowledges it, nothing resends it"}},
	{"audit-on-udp-with-sequence-numbers.md", 7, []string{"travels on raw UDP", "sequence numbers would only show the gap"}},
	{"audit-on-udp-without-acks.md", 7, []string{"travels on raw UDP"}},
	{"tcp-not-weighed.md", 3, []string{"the table never weighs TCP", "\"QUIC rather than TCP because ...\"", "head-of-line blocking"}},
	{"udp-not-weighed.md", 3, []string{"the table never weighs UDP", "all silent"}},
	{"quic-not-weighed.md", 3, []string{"the table never weighs QUIC", "\"TCP rather than QUIC because ...\""}},
	{"unterminated-fence.md", 3, []string{"fence is never closed"}},
}

// transportGoodSamples are artifacts that must pass, with the encouraging notes they earn.
var transportGoodSamples = []goodSample{
	{"three-rows.md", nil},
	{"quic-and-app-reliability.md", []string{"idempotency key"}},
	{"split-tables.md", nil},
}

func TestTransportSamples(t *testing.T) {
	testSamples(t, "transport-decision", "transport", transportBadSamples, transportGoodSamples)
}

func TestTransportRegistered(t *testing.T) {
	if !slices.Contains(Checks(), "transport-decision") {
		t.Errorf("Checks() = %v, want transport-decision among them", Checks())
	}
}

// TestTransportTemplateFails: the student's starting point fails, and its findings say
// what to do: every placeholder row is named, the table-wide rules are asked for, and the
// template's table itself is well formed (all seven columns, three rows, no findings in
// its prose).
func TestTransportTemplateFails(t *testing.T) {
	const path = "../../skeletons/02-udp-metrics/transport-decision.md"
	res := checkFile(t, "transport-decision", path)
	if res.Passed {
		t.Fatal("the template passes; it must fail until the student fills in the table")
	}
	content, _ := os.ReadFile(path)
	at := map[int][]string{}
	for _, f := range res.Findings {
		at[f.Line] = append(at[f.Line], f.Message)
		for _, invalid := range []string{"no decision table", "has no", "the table has", "never closed", "in the text"} {
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
	if todos < minDecisionRows {
		t.Errorf("the template has %d TODO lines, want at least %d placeholder rows", todos, minDecisionRows)
	}
	for _, want := range []string{"no row is loss-tolerant", "no row is not loss-tolerant",
		"never weighs TCP", "never weighs UDP", "never weighs QUIC"} {
		if !strings.Contains(dump(res), want) {
			t.Errorf("no finding says %q; findings:\n%s", want, dump(res))
		}
	}
}

// TestTransportInline covers the rules on small tables: each case is the body rows of a
// table under the template's header (line 1), so the first row is on line 3.
func TestTransportInline(t *testing.T) {
	const (
		metrics = "| Metrics | tolerant | no | no | drop | UDP | cheap; TCP and QUIC cost a connection |"
		audit   = "| Audit | not tolerant | no | until acked | block | TCP | reliable |"
	)
	tests := []struct {
		name   string
		header string // "" for the template's
		rows   []string
		line   int    // of the wanted finding
		want   string // "" when the table must pass
	}{
		{"good", "", []string{metrics, metrics, audit}, 0, ""},
		{"headers by prefix, any case", "| MESSAGE | loss (tolerant or not) | Order | Retries | Back-pressure | Transport chosen | Why not the others |",
			[]string{metrics, metrics, audit}, 0, ""},
		{"columns in another order", "| Transport | Message type | Why | Loss tolerance | Ordering | Retry | Backpressure |",
			[]string{"| UDP | Metrics | cheap; TCP and QUIC cost a connection | tolerant | no | no | drop |",
				"| UDP | Counters | cheap | tolerant | no | no | drop |",
				"| UDP | Audit | fast | not tolerant | no | no | drop |"}, 5, "this row's message type (`Audit`) is not loss-tolerant, but it travels on raw UDP"},
		{"not tolerant on UDP with app reliability", "", []string{metrics, metrics, "| Audit | not tolerant | no | acked | block | UDP with app reliability | own acks |"}, 0, ""},
		{"not tolerant on reliable UDP", "", []string{metrics, metrics, "| Audit | not tolerant | no | acked | block | reliable UDP | own acks |"}, 0, ""},
		{"not tolerant on UDP + acks", "", []string{metrics, metrics, "| Audit | not tolerant | no | acked | block | UDP + acks | own acks |"}, 0, ""},
		{"not tolerant on QUIC over UDP", "", []string{metrics, metrics, "| Audit | not tolerant | no | acked | block | QUIC (over UDP) | streams |"}, 0, ""},
		{"not tolerant on plain UDP", "", []string{metrics, metrics, "| Audit | not tolerant | no | no | drop | plain UDP | fast |"}, 5, "on raw UDP"},
		{"not tolerant on unreliable UDP", "", []string{metrics, metrics, "| Audit | not tolerant | no | no | drop | unreliable UDP | fast |"}, 5, "on raw UDP"},
		{"UDP and TCP", "", []string{metrics, metrics, "| Audit | not tolerant | no | acked | block | UDP and TCP | both |"}, 5, "more than one transport (UDP and TCP)"},
		{"QUIC and UDP", "", []string{metrics, metrics, "| Audit | not tolerant | no | acked | block | UDP or QUIC | both |"}, 5, "more than one transport (UDP and QUIC)"},
		{"a cell of punctuation is empty", "", []string{metrics, metrics, "| Audit | not tolerant | ? | acked | block | TCP | reliable |"}, 5, "the Ordering cell of this row is empty: write whether order matters, and who restores it"},
		{"two empty cells", "", []string{metrics, metrics, "| Audit | not tolerant |  | acked | block | TCP |  |"}, 5, "this row leaves the Ordering and Why cells empty; fill each in (Ordering: whether order matters, and who restores it; Why: the reason"},
		{"two TODO cells", "", []string{metrics, metrics, "| Audit | not tolerant | TODO | acked | block | TCP | TODO |"}, 5, "TODO markers are left in the Ordering and Why cells of this row"},
		{"TODO loss tolerance is not read", "", []string{metrics, metrics, "| Audit | TODO not tolerant | no | acked | block | TCP | reliable |"}, 1, "no row is not loss-tolerant"},
		{"short row", "", []string{metrics, metrics, "| Audit | not tolerant | no | acked | block |"}, 5, "this row leaves the Transport and Why cells empty"},
		{"low tolerance", "", []string{metrics, metrics, "| Audit | low | no | acked | block | TCP | reliable |"}, 5, "says neither `tolerant` nor `not tolerant`"},
		{"zero rows", "", nil, 1, "the table has 0 rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			header := tc.header
			if header == "" {
				header = strings.Trim(decisionHeader, "`")
			}
			content := header + "\n|---|---|---|---|---|---|---|\n" + strings.Join(tc.rows, "\n") + "\n"
			res, err := Check("transport-decision", "transport-decision.md", []byte(content))
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

func TestLossVerdict(t *testing.T) {
	tests := []struct {
		text string
		want tolerance
	}{
		{"tolerant", tolerantLoss},
		{"Tolerant: one lost sample is a gap the next one fills", tolerantLoss},
		{"loss-tolerant", tolerantLoss},
		{"`tolerant`", tolerantLoss},
		{"**TOLERANT**", tolerantLoss},
		{"mostly tolerant", tolerantLoss},
		{"tolerant: unlike audit events, which are not tolerant", tolerantLoss},
		{"not tolerant", intolerantLoss},
		{"Not tolerant: a lost payment is a lost record", intolerantLoss},
		{"NOT tolerant", intolerantLoss},
		{"not loss-tolerant", intolerantLoss},
		{"not at all tolerant", intolerantLoss},
		{"non-tolerant", intolerantLoss},
		{"intolerant", intolerantLoss},
		{"loss-intolerant", intolerantLoss},
		{"not tolerant: unlike metrics, which are tolerant", intolerantLoss},
		{"none", unknownTolerance},
		{"low", unknownTolerance},
		{"zero tolerance", unknownTolerance},
		{"must never be lost", unknownTolerance},
		{"not sure, tolerant", tolerantLoss}, // "not" is in another clause
	}
	for _, tc := range tests {
		if got := lossVerdict(tc.text); got != tc.want {
			t.Errorf("lossVerdict(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestTransportChoice(t *testing.T) {
	tests := []struct {
		text     string
		want     transport
		chosen   []transport
		rejected []transport
	}{
		{"UDP", rawUDP, []transport{transportUDP}, nil},
		{"`UDP`", rawUDP, []transport{transportUDP}, nil},
		{"raw UDP", rawUDP, []transport{transportUDP}, nil},
		{"UDP (batched, with sequence numbers)", rawUDP, []transport{transportUDP}, nil},
		{"unreliable UDP", rawUDP, []transport{transportUDP}, nil},
		{"UDP, no retries", rawUDP, []transport{transportUDP}, nil},
		{"UDP without acks or retries", rawUDP, []transport{transportUDP}, nil},
		{"UDP with no acknowledgements", rawUDP, []transport{transportUDP}, nil},
		{"UDP with app reliability", transportUDP, []transport{transportUDP}, nil},
		{"UDP with application-level reliability", transportUDP, []transport{transportUDP}, nil},
		{"UDP + acks", transportUDP, []transport{transportUDP}, nil},
		{"UDP with acknowledgements/retries", transportUDP, []transport{transportUDP}, nil},
		{"reliable UDP", transportUDP, []transport{transportUDP}, nil},
		{"UDP with our own ACKs", transportUDP, []transport{transportUDP}, nil},
		{"own acks over UDP", transportUDP, []transport{transportUDP}, nil},
		{"UDP without batching, with acks", transportUDP, []transport{transportUDP}, nil},
		{"TCP", transportTCP, []transport{transportTCP}, nil},
		{"tcp", transportTCP, []transport{transportTCP}, nil},
		{"QUIC", transportQUIC, []transport{transportQUIC}, nil},
		{"QUIC (quic-go)", transportQUIC, []transport{transportQUIC}, nil},
		{"QUIC over UDP", transportQUIC, []transport{transportQUIC}, nil},
		{"QUIC, on top of UDP", transportQUIC, []transport{transportQUIC}, nil},
		{"UDP with acks, not TCP", transportUDP, []transport{transportUDP}, []transport{transportTCP}},
		{"UDP with acks rather than TCP", transportUDP, []transport{transportUDP}, []transport{transportTCP}},
		{"QUIC instead of TCP", transportQUIC, []transport{transportQUIC}, []transport{transportTCP}},
		{"not TCP but QUIC", transportQUIC, []transport{transportQUIC}, []transport{transportTCP}},
		{"TCP or QUIC", noTransport, []transport{transportTCP, transportQUIC}, nil},
		{"UDP or QUIC", noTransport, []transport{transportUDP, transportQUIC}, nil},
		{"not TCP", noTransport, nil, []transport{transportTCP}},
		{"Kafka", noTransport, nil, nil},
		{"SCTP", noTransport, nil, nil},
	}
	for _, tc := range tests {
		got, chosen, rejected := transportChoice(tc.text)
		if got != tc.want || !slices.Equal(chosen, tc.chosen) || !slices.Equal(rejected, tc.rejected) {
			t.Errorf("transportChoice(%q) = %v, chosen %v, rejected %v; want %v, chosen %v, rejected %v",
				tc.text, got, chosen, rejected, tc.want, tc.chosen, tc.rejected)
		}
	}
}
