package lab

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Match selects packets on the wire. A zero field matches anything.
type Match struct {
	Proto      uint8    // ProtoTCP, ProtoUDP, ...
	SrcPort    uint16   // source port
	DstPort    uint16   // destination port
	Flags      TCPFlags // TCP: all these flags set
	NoFlags    TCPFlags // TCP: none of these flags set
	MinPayload int      // at least this many payload bytes (1: data segments, not bare ACKs)
	// AfterHandshake: only packets past the handshake (see Packet.AfterHandshake):
	// TCP segments that are neither a SYN nor the ACK completing one, and UDP
	// datagrams that open with a QUIC 1-RTT packet.
	AfterHandshake bool
	// AfterQuiet: only a packet that comes at least this long after the
	// previous packet matching the rest of the Match: the first of each burst,
	// so that "the 5th match" is the first packet of the 5th burst (of a
	// paced sender's rounds, say). A rule keeps the time of the previous one.
	AfterQuiet time.Duration
}

func (m Match) matches(p Packet) bool {
	return (m.Proto == 0 || p.Proto == m.Proto) &&
		(m.SrcPort == 0 || p.Src.Port() == m.SrcPort) &&
		(m.DstPort == 0 || p.Dst.Port() == m.DstPort) &&
		p.Flags&m.Flags == m.Flags && p.Flags&m.NoFlags == 0 &&
		p.Payload >= m.MinPayload && (!m.AfterHandshake || p.AfterHandshake)
}

func (m Match) String() string {
	var parts []string
	switch m.Proto {
	case 0:
	case ProtoTCP:
		parts = append(parts, "TCP")
	case ProtoUDP:
		parts = append(parts, "UDP")
	default:
		parts = append(parts, fmt.Sprintf("proto %d", m.Proto))
	}
	if m.SrcPort != 0 {
		parts = append(parts, fmt.Sprintf("src port %d", m.SrcPort))
	}
	if m.DstPort != 0 {
		parts = append(parts, fmt.Sprintf("dst port %d", m.DstPort))
	}
	if m.Flags != 0 {
		parts = append(parts, "flags "+m.Flags.String())
	}
	if m.NoFlags != 0 {
		parts = append(parts, "without "+m.NoFlags.String())
	}
	if m.MinPayload > 0 {
		parts = append(parts, fmt.Sprintf("payload ≥ %d", m.MinPayload))
	}
	if m.AfterQuiet > 0 {
		parts = append(parts, fmt.Sprintf("first after %v quiet", m.AfterQuiet))
	}
	if m.AfterHandshake {
		parts = append(parts, "after the handshake")
	}
	if len(parts) == 0 {
		return "every packet"
	}
	return strings.Join(parts, ", ")
}

// Action is what a rule does to the packets it chooses.
type Action int

const (
	// Drop discards the packet.
	Drop Action = iota
	// Duplicate forwards the packet twice.
	Duplicate
	// Reorder holds the packet back until HoldBack later packets have passed.
	Reorder
	// Mark lets the packet pass unchanged and records it as an event: a spec
	// learns when a packet it cares about crossed (a retransmission). A mark
	// never keeps another rule from acting on the same packet, and records
	// nothing when another rule drops it.
	Mark
)

func (a Action) String() string {
	return [...]string{"drop", "duplicate", "reorder", "mark"}[a]
}

// Rule acts on some of the packets that match it, chosen by their 1-based
// index among the matching packets (Nth), or at random with a seeded
// probability. Every rule counts every packet it matches, whatever the other
// rules do; when several choose the same packet, the first one installed acts.
type Rule struct {
	Match       Match
	Action      Action
	Nth         []int   // indexes among matching packets, e.g. {3} for the third
	Probability float64 // used when Nth is empty: act on each matching packet with this probability
	Seed        uint64  // seeds Probability
	HoldBack    int     // Reorder: later packets to let pass first (default 1)
}

// DropNth drops the nth packet (1-based) that matches m.
func DropNth(m Match, n int) Rule { return Rule{Match: m, Action: Drop, Nth: []int{n}} }

// DropIndexes drops the matching packets at these 1-based indexes.
func DropIndexes(m Match, indexes ...int) Rule {
	return Rule{Match: m, Action: Drop, Nth: slices.Clone(indexes)}
}

// DropRandom drops each matching packet with probability p, from a seeded source.
func DropRandom(m Match, p float64, seed uint64) Rule {
	return Rule{Match: m, Action: Drop, Probability: p, Seed: seed}
}

// DuplicateNth sends the nth matching packet twice.
func DuplicateNth(m Match, n int) Rule { return Rule{Match: m, Action: Duplicate, Nth: []int{n}} }

// MarkAll records every packet that matches m as an event, and lets it pass.
func MarkAll(m Match) Rule { return Rule{Match: m, Action: Mark} }

// ReorderNth holds the nth matching packet back until k later packets have passed.
func ReorderNth(m Match, n, k int) Rule {
	return Rule{Match: m, Action: Reorder, Nth: []int{n}, HoldBack: k}
}

func (r Rule) String() string {
	which := "every packet"
	switch {
	case len(r.Nth) == 1:
		which = fmt.Sprintf("match #%d", r.Nth[0])
	case len(r.Nth) > 1:
		which = fmt.Sprintf("%d chosen matches", len(r.Nth))
	case r.Probability > 0:
		which = fmt.Sprintf("each with probability %.3g (seed %d)", r.Probability, r.Seed)
	}
	s := fmt.Sprintf("%s %s of [%s]", r.Action, which, r.Match)
	if r.Action == Reorder {
		s += fmt.Sprintf(" behind %d later packet(s)", max(1, r.HoldBack))
	}
	return s
}

// ruleState is a rule installed on one direction of the wire.
type ruleState struct {
	Rule
	matched int
	chosen  map[int]bool
	rng     *rand.Rand
	seen    time.Time // the previous packet that matched (AfterQuiet)
}

func newRuleState(r Rule) *ruleState {
	rs := &ruleState{Rule: r, chosen: map[int]bool{}}
	for _, n := range r.Nth {
		rs.chosen[n] = true
	}
	if len(r.Nth) == 0 && r.Probability > 0 {
		rs.rng = rand.New(rand.NewPCG(r.Seed, 0x77697265))
	}
	return rs
}

// choose counts p, which the wire took at now, if it matches and reports
// whether the rule acts on it, and the packet's index among the rule's matches.
func (rs *ruleState) choose(p Packet, now time.Time) (bool, int) {
	if !rs.Match.matches(p) {
		return false, 0
	}
	if q := rs.Match.AfterQuiet; q > 0 {
		quiet := rs.seen.IsZero() || now.Sub(rs.seen) >= q
		rs.seen = now
		if !quiet {
			return false, 0
		}
	}
	rs.matched++
	switch {
	case len(rs.chosen) > 0:
		return rs.chosen[rs.matched], rs.matched
	case rs.rng != nil:
		return rs.rng.Float64() < rs.Probability, rs.matched
	}
	return true, rs.matched
}

// handshakes follows the TCP handshakes in one direction of the wire, to tell
// which packets are past them: a SYN without ACK marks its connection as
// opening, and the opener's next packet, when it is a bare ACK, completes the
// handshake. Connections whose SYN the wire never saw are past it.
type handshakes struct {
	opening map[[2]netip.AddrPort]bool
}

// maxOpening bounds the handshakes remembered (SYNs never answered stay).
const maxOpening = 1 << 16

// mark sets p.AfterHandshake for a TCP packet.
func (hs *handshakes) mark(p *Packet) {
	if p.Proto != ProtoTCP {
		return
	}
	key := [2]netip.AddrPort{p.Src, p.Dst}
	switch {
	case p.Flags&SYN != 0:
		if p.Flags&ACK == 0 {
			if hs.opening == nil || len(hs.opening) >= maxOpening {
				hs.opening = map[[2]netip.AddrPort]bool{}
			}
			hs.opening[key] = true
		}
	case hs.opening[key]:
		delete(hs.opening, key)
		p.AfterHandshake = p.Flags&(FIN|RST) != 0 || p.Payload > 0
	default:
		p.AfterHandshake = true
	}
}
