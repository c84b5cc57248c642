package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// ErrNoTUN means the wire cannot be built here: /dev/net/tun is missing or not
// ours to open. Specs that need the wire report themselves skipped with it.
var ErrNoTUN = errors.New("no TUN device")

// Direction is one way across the wire.
type Direction int

const (
	// ToServer is from the client side to the server side.
	ToServer Direction = iota
	// ToClient is from the server side to the client side.
	ToClient
)

func (d Direction) String() string {
	if d == ToServer {
		return "client→server"
	}
	return "server→client"
}

// The wire's addresses, inside 198.18.0.0/15 (RFC 2544's benchmarking range),
// used only inside namespaces the lab made.
var (
	ClientAddr = netip.MustParseAddr("198.18.0.1")
	ServerAddr = netip.MustParseAddr("198.19.0.1")
	clientNet  = net.IPNet{IP: net.IPv4(198, 18, 0, 0), Mask: net.CIDRMask(16, 32)}
	serverNet  = net.IPNet{IP: net.IPv4(198, 19, 0, 0), Mask: net.CIDRMask(16, 32)}
)

// WireOptions shapes a wire.
type WireOptions struct {
	MTU          int // default 1500
	CaptureLimit int // bytes of pcap kept; default 16 MiB
	// InitCwnd, when set, is the initial congestion window (in segments) of
	// TCP connections across the wire, both ways (the routes' initcwnd):
	// with the kernel's 10, a connection's first round trips are limited by
	// slow start, which holds back small paced writes a spec may want to see
	// arrive on their own.
	InitCwnd int
}

// Wire joins the calling namespace (the client side) to a fresh namespace
// (the server side, Server) through two TUN devices and a forwarder in this
// process. Real kernel TCP and UDP run on both sides; the forwarder can delay,
// rate-limit, drop, reorder and duplicate exactly the packets a spec names,
// records what it did as events, and captures everything that entered it.
//
//	client side (this namespace)                 server side (w.Server)
//	  198.18.0.1 ── wlc0 ⇄ [forwarder: rules, delay, rate, pcap] ⇄ wls0 ── 198.19.0.1
type Wire struct {
	Server *Netns
	start  time.Time
	links  [2]*link
	cap    *capture

	mu            sync.Mutex
	events        []WireEvent
	eventsNotKept int
	wg            sync.WaitGroup
	closed        bool
}

// maxEvents bounds the events a wire keeps (a random-drop rule on a long
// transfer makes many); later ones are counted.
const maxEvents = 10000

// EventKind says what a WireEvent records.
type EventKind int

const (
	// RuleActed: a rule dropped, duplicated or held back a packet.
	RuleActed EventKind = iota
	// QueueFull: a packet found the rate limit's queue or the delay line
	// full and was dropped, as a real link's full queue would.
	QueueFull
	// SettingChanged: a rule was added or cleared, a delay or a rate set.
	SettingChanged
)

// WireEvent is one thing the wire did, to one packet or to its own settings:
// the story of a spec's impairments, told as evidence.
type WireEvent struct {
	At         time.Duration // since the wire was made
	Dir        Direction
	Kind       EventKind
	Index      int    // the packet's 1-based index in its direction (not for SettingChanged)
	MatchIndex int    // RuleActed: its index among the rule's matches
	Action     Action // RuleActed: what the rule did
	Rule       string // the rule that acted, why the queue was full, or the new setting
	Packet     string // the packet (not for SettingChanged)
	Seq        uint32 // TCP: the packet's sequence number (RuleActed)
}

func (e WireEvent) String() string {
	at := fmt.Sprintf("%8.3fms %s", float64(e.At.Microseconds())/1000, e.Dir)
	switch e.Kind {
	case QueueFull:
		return fmt.Sprintf("%s packet #%d: dropped, %s: %s", at, e.Index, e.Rule, e.Packet)
	case SettingChanged:
		return fmt.Sprintf("%s: %s", at, e.Rule)
	}
	return fmt.Sprintf("%s packet #%d (match #%d of %s): %s: %s", at, e.Index, e.MatchIndex, e.Rule, e.Action, e.Packet)
}

// NewWire builds the wire. Its error wraps ErrNoTUN when TUN devices cannot be made.
func NewWire(opt WireOptions) (*Wire, error) {
	if opt.MTU == 0 {
		opt.MTU = 1500
	}
	if opt.CaptureLimit == 0 {
		opt.CaptureLimit = 16 << 20
	}
	server, err := NewNetns("wire-server")
	if err != nil {
		return nil, err
	}
	w := &Wire{Server: server, start: time.Now(), cap: newCapture(opt.CaptureLimit)}
	clientTUN, err := openTUN(tunConfig{name: "wlc0", mtu: opt.MTU, local: ClientAddr.AsSlice(), remote: serverNet, initCwnd: opt.InitCwnd})
	if err != nil {
		server.Close()
		return nil, fmt.Errorf("lab: wire: %w", err)
	}
	var serverTUN *os.File
	err = server.Do(func() (err error) {
		serverTUN, err = openTUN(tunConfig{name: "wls0", mtu: opt.MTU, local: ServerAddr.AsSlice(), remote: clientNet, initCwnd: opt.InitCwnd})
		return err
	})
	if err != nil {
		clientTUN.Close()
		server.Close()
		return nil, fmt.Errorf("lab: wire: %w", err)
	}
	w.links[ToServer] = newLink(w, ToServer, clientTUN, serverTUN, opt.MTU)
	w.links[ToClient] = newLink(w, ToClient, serverTUN, clientTUN, opt.MTU)
	for _, l := range w.links {
		w.wg.Add(2)
		go func() { defer w.wg.Done(); l.read() }()
		go func() { defer w.wg.Done(); l.deliver() }()
	}
	return w, nil
}

// Add installs a rule on one direction; it applies to packets from now on.
func (w *Wire) Add(dir Direction, r Rule) {
	w.links[dir].addRule(r)
	w.setting(dir, "rule added: "+r.String())
}

// ClearRules removes every rule of one direction.
func (w *Wire) ClearRules(dir Direction) {
	w.links[dir].clearRules()
	w.setting(dir, "rules cleared")
}

// SetDelay sets a fixed one-way delay, plus a seeded uniform jitter in
// [0, jitter), for one direction. Packets keep their order.
func (w *Wire) SetDelay(dir Direction, delay, jitter time.Duration, seed uint64) {
	w.links[dir].setDelay(delay, jitter, seed)
	what := fmt.Sprintf("delay set to %v", delay)
	if jitter > 0 {
		what += fmt.Sprintf(" plus a jitter below %v (seed %d)", jitter, seed)
	}
	w.setting(dir, what)
}

// SetRate limits one direction to bytesPerSecond (0: no limit), queueing at
// most queueBytes behind the limit; packets beyond that are dropped.
func (w *Wire) SetRate(dir Direction, bytesPerSecond, queueBytes int) {
	w.links[dir].setRate(bytesPerSecond, queueBytes)
	what := "rate limit removed"
	if bytesPerSecond > 0 {
		what = fmt.Sprintf("rate limited to %d bytes/s, at most %d bytes queued", bytesPerSecond, queueBytes)
	}
	w.setting(dir, what)
}

func (w *Wire) setting(dir Direction, what string) {
	w.record(WireEvent{At: time.Since(w.start), Dir: dir, Kind: SettingChanged, Rule: what})
}

// Started returns when the wire was made: a WireEvent's At counts from it,
// so At plus Started is the event's time on the machine's clock.
func (w *Wire) Started() time.Time { return w.start }

// Counters returns one direction's counters.
func (w *Wire) Counters(dir Direction) LinkCounters { return w.links[dir].snapshot() }

// Events returns what the wire did so far, in order: the settings a spec
// changed, and what rules and full queues did to packets.
func (w *Wire) Events() []WireEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]WireEvent(nil), w.events...)
}

// EventsNotKept returns how many events came after the first maxEvents.
func (w *Wire) EventsNotKept() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.eventsNotKept
}

// PacketEvents returns the events about packets: what rules and full queues did.
func (w *Wire) PacketEvents() []WireEvent {
	var out []WireEvent
	for _, e := range w.Events() {
		if e.Kind != SettingChanged {
			out = append(out, e)
		}
	}
	return out
}

func (w *Wire) record(e WireEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.events) >= maxEvents {
		w.eventsNotKept++
		return
	}
	w.events = append(w.events, e)
}

// WritePcap writes what entered the wire (both directions) to path, a pcap
// file tcpdump -r reads. It returns how many packets did not fit the limit.
func (w *Wire) WritePcap(path string) (skipped int, err error) { return w.cap.writeFile(path) }

// Close stops the forwarder, removes the TUN devices and ends the server-side
// namespace. Stop the programs started in w.Server first: any still running
// are killed when the namespace's thread ends.
func (w *Wire) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	for _, l := range w.links {
		l.close()
	}
	w.wg.Wait()
	for _, l := range w.links {
		l.in.Close()
	}
	w.Server.Close()
}
