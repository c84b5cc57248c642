package timewait

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/suite"
)

// busyScene is the scene the table, owner and filter specs read: four
// listening ports of a peer process (IPv4, IPv6 on [::1], and dual-stack on
// [::], whose IPv4 clients show up in tcp6 as IPv4-mapped addresses), a second
// process holding connections, and the grader's own connections, ended in
// every way that leaves a different state behind.
type busyScene struct {
	*scene
	peer, client *lab.Process
	port         struct{ passive, leak, active, dual uint16 }
	kept         []net.Conn // the grader's ESTABLISHED connections to port.passive
	want         map[lab.TCPState]int
	recipe       string
}

func buildBusyScene(ctx SpecContext, stream string) *busyScene {
	sc := &busyScene{scene: newScene("wl-" + stream)}
	ports := distinctPorts(stream+"/ports", 4)
	sc.port.passive, sc.port.leak, sc.port.active, sc.port.dual = ports[0], ports[1], ports[2], ports[3]
	r := suite.Rand(stream + "/sizes")
	keptV4 := 2 + r.IntN(3)       // grader → 127.0.0.1:passive, kept open
	closedV4 := 3 + r.IntN(4)     // grader → 127.0.0.1:passive, closed by the grader: TIME_WAIT on the grader's side
	keptV6 := 1 + r.IntN(3)       // grader → [::1]:leak, kept open
	leaked := 2 + r.IntN(3)       // grader → [::1]:leak, closed by the grader: CLOSE_WAIT in the peer, FIN_WAIT2 orphans here
	serverClosed := 3 + r.IntN(3) // peer closes at once, grader closes after: TIME_WAIT on the peer's port
	halfClosed := 1 + r.IntN(2)   // peer closes at once, grader never: CLOSE_WAIT here, FIN_WAIT2 orphans there
	held := 2 + r.IntN(2)         // wl-client → 127.0.0.1:dual (a dual-stack listener), kept open

	addr := func(host string, port uint16) string { return net.JoinHostPort(host, strconv.Itoa(int(port))) }
	sc.peer = sc.startHelper(ctx, peerName, ports,
		"-listen", addr("127.0.0.1", sc.port.passive)+"="+closeOnEOFMode,
		"-listen", addr("::1", sc.port.leak)+"="+holdMode,
		"-listen", addr("127.0.0.1", sc.port.active)+"="+closeAtOnceMode,
		"-listen", addr("::", sc.port.dual)+"="+closeOnEOFMode)
	sc.client = sc.startHelper(ctx, peerClientName, nil, "-connect", fmt.Sprintf("%s=%d", addr("127.0.0.1", sc.port.dual), held))

	sc.kept = sc.dialN(addr("127.0.0.1", sc.port.passive), keptV4)
	for _, c := range sc.dialN(addr("127.0.0.1", sc.port.passive), closedV4) {
		c.Close()
	}
	sc.dialN(addr("::1", sc.port.leak), keptV6)
	for _, c := range sc.dialN(addr("::1", sc.port.leak), leaked) {
		c.Close()
	}
	// The connections the grader leaves half-closed are opened first: once the
	// peer has closed first, the grader's end of a connection is gone at once,
	// and a later connect to the same port could reuse its port number, whose
	// SYN the kernel lets replace the peer's TIME_WAIT (LAB-NOTES.md).
	sc.dialN(addr("127.0.0.1", sc.port.active), halfClosed)
	for _, c := range sc.dialN(addr("127.0.0.1", sc.port.active), serverClosed) {
		closeAfterEOF(c)
	}

	sc.want = map[lab.TCPState]int{
		lab.Listen:      4,
		lab.Established: 2 * (keptV4 + keptV6 + held),
		lab.TimeWait:    closedV4 + serverClosed,
		lab.CloseWait:   leaked + halfClosed,
		lab.FinWait2:    leaked + halfClosed,
	}
	sc.recipe = fmt.Sprintf("a peer process (%s, pid %d) listening on 127.0.0.1:%d, [::1]:%d, 127.0.0.1:%d and [::]:%d; "+
		"a second process (%s, pid %d) with %d connections to the dual-stack port; the grader's %d+%d connections kept open, "+
		"%d closed by the grader first, the peer closing after it (TIME_WAIT on the grader's side), %d closed by the grader while the peer never closes (CLOSE_WAIT in the peer), "+
		"%d closed by the peer first (TIME_WAIT on the peer's port), %d closed by the peer that the grader leaves open (CLOSE_WAIT in the grader)",
		peerName, sc.peer.Pid(), sc.port.passive, sc.port.leak, sc.port.active, sc.port.dual,
		peerClientName, sc.client.Pid(), held, keptV4, keptV6, closedV4, leaked, serverClosed, halfClosed)
	sc.awaitCounts(ctx, sc.want)
	suite.Evidence("scene", "%s", sc.recipe)
	return sc
}

// readWithSockstat runs the student's sockstat on the scene and reads the
// kernel's truth before and after it (the scene holds still meanwhile).
func (sc *busyScene) readWithSockstat(ctx SpecContext, args ...string) (truth, sockstatRun) {
	before := sc.readTruth()
	run := runSockstat(ctx, sc.scene, args...)
	stableAround(before.sockets, sc.sockets())
	return before, run
}

var _ = Describe("03-time-wait: sockstat reads the kernel's socket table", Label(CaseLabel), func() {
	It("lists every TCP socket of its namespace, IPv4 and IPv6, with the right state and addresses", Label("timewait.sockstat-table"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		sc := buildBusyScene(ctx, "table")
		t, run := sc.readWithSockstat(ctx)
		doc := requireDocument(run)
		suite.Evidence("states", "%s", stateCounts(t.sockets, doc.States))
		if problems := compareTable(t.sockets, doc, inNamespace); len(problems) > 0 {
			suite.Failf("sockstat's table is not the kernel's: %s. Read both tables of the namespace sockstat runs in (/proc/net/tcp and /proc/net/tcp6, Task 1): every row is a socket, with hex addresses (each 32-bit word in the machine's byte order) and a hex state code.",
				strings.Join(problems, "; "))
		}
	})

	It("names the process that owns each socket, and none for TIME_WAIT", Label("timewait.sockstat-owners"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		sc := buildBusyScene(ctx, "owners")
		t, run := sc.readWithSockstat(ctx)
		doc := requireDocument(run)
		problems, evidence := compareOwners(t, doc)
		suite.Evidence("owners", "%s", evidence)
		if len(problems) > 0 {
			suite.Failf("sockstat's owners are not the kernel's: %s. A process owns a socket when one of the links in /proc/<pid>/fd points to socket:[<inode>] with the row's inode (Task 2); /proc/<pid>/comm is its command. A TIME_WAIT row has inode 0: no process owns it any more.",
				strings.Join(problems, "; "))
		}
	})

	It("keeps only the sockets with the -port as local or remote port", Label("timewait.sockstat-filter"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		sc := buildBusyScene(ctx, "filter")
		clientPort := uint16(sc.kept[0].LocalAddr().(*net.TCPAddr).Port)
		var problems []string
		for _, port := range []uint16{sc.port.passive, clientPort} {
			t, run := sc.readWithSockstat(ctx, "-port", strconv.Itoa(int(port)))
			doc := requireDocument(run)
			var kept []lab.Socket
			for _, so := range t.sockets {
				if so.Local.Port() == port || so.Remote.Port() == port {
					kept = append(kept, so)
				}
			}
			suite.Evidence(run.command(), "%s", stateCounts(kept, doc.States))
			for _, p := range compareTable(kept, doc, fmt.Sprintf("among the kernel's sockets with local or remote port %d", port)) {
				problems = append(problems, fmt.Sprintf("with -port %d: %s", port, p))
			}
		}
		if len(problems) > 0 {
			suite.Failf("%s. -port N keeps exactly the sockets whose local or remote port is N, whichever side they are on (Task 3), and the counts describe what is kept.",
				strings.Join(problems, "; "))
		}
	})
})

// compareTable holds a listing to the kernel's sockets: the same sockets
// (state and addresses), the same inodes, the same counts per state.
func compareTable(kernel []lab.Socket, doc *sockstatDoc, scope string) []string {
	listed, problems := parseListed(doc)
	want := map[socketKey][]lab.Socket{}
	for _, so := range kernel {
		want[keyOf(so)] = append(want[keyOf(so)], so)
	}
	var extra []string
	var wrongInode []string
	for _, ls := range listed {
		ks := want[ls.key]
		if len(ks) == 0 {
			extra = append(extra, ls.key.String())
			continue
		}
		if ks[0].Inode != ls.Inode {
			wrongInode = append(wrongInode, fmt.Sprintf("%s has inode %d, listed %d", ls.key, ks[0].Inode, ls.Inode))
		}
		want[ls.key] = ks[1:]
	}
	var missing []string
	missingV6 := 0
	for _, ks := range want {
		for _, so := range ks {
			missing = append(missing, keyOf(so).String())
			if so.V6 {
				missingV6++
			}
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		p := fmt.Sprintf("%d of the kernel's %d sockets are not listed (%s)", len(missing), len(kernel), sample(missing, 4))
		if missingV6 == len(missing) {
			p += fmt.Sprintf("; every one of them is in the IPv6 table, /proc/net/tcp6 (IPv4 clients of a dual-stack listener show up there too, as ::ffff:a.b.c.d)")
		}
		problems = append(problems, p)
	}
	if len(extra) > 0 {
		problems = append(problems, fmt.Sprintf("%d listed sockets are not %s (%s)%s", len(extra), scope, sample(extra, 4), byteOrderHint(extra)))
	}
	if len(wrongInode) > 0 {
		problems = append(problems, fmt.Sprintf("%d inodes differ (%s)", len(wrongInode), sample(wrongInode, 3)))
	}
	k := counts(kernel)
	var off []string
	for st := lab.Established; st <= lab.Closing; st++ {
		if k[st] != doc.States[st.String()] {
			off = append(off, fmt.Sprintf("%s: kernel %d, sockstat %d", st, k[st], doc.States[st.String()]))
		}
	}
	for name, n := range doc.States {
		if _, known := stateByName[name]; !known && n != 0 {
			off = append(off, fmt.Sprintf("%q is not a state name of the contract", name))
		}
	}
	if len(off) > 0 {
		problems = append(problems, "the counts per state are wrong: "+strings.Join(off, ", "))
	}
	return problems
}

// inNamespace is where the sockets of a table comparison should be.
const inNamespace = "in the kernel's table of this namespace"

// stateByName maps the contract's state names to the kernel's numbers.
var stateByName = func() map[string]lab.TCPState {
	m := map[string]lab.TCPState{}
	for st := lab.Established; st <= lab.Closing; st++ {
		m[st.String()] = st
	}
	return m
}()

// byteOrderHint says what listed addresses that the kernel does not have
// have in common, when it is a classic reading mistake.
func byteOrderHint(extra []string) string {
	for _, e := range extra {
		if strings.Contains(e, "1.0.0.127") {
			return "; 1.0.0.127 is 127.0.0.1 with its bytes reversed: the hex in the table is the address as a 32-bit number in the machine's (little-endian) byte order"
		}
	}
	return ""
}

// sample shows the first n items of a list, and how many more there are.
func sample(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:n], "; "), len(items)-n)
}

// compareOwners holds the owners sockstat names to the kernel's. Sockets are
// matched by inode, not by address, so that a socket listed with wrong
// addresses (the table spec's business) is still judged for its owner: each
// listed socket's pid and command, and the per-process and unowned counts,
// tallied over the sockets sockstat listed. A listed inode the scene's table
// does not have is left to the table spec too.
func compareOwners(t truth, doc *sockstatDoc) ([]string, string) {
	var problems []string
	inScene := map[uint32]bool{}
	for _, so := range t.sockets {
		inScene[so.Inode] = true // inode 0 included: TIME_WAIT and orphans
	}
	type tally struct {
		command string
		states  map[string]int
	}
	wantProcs := map[int]*tally{}
	wantUnowned := map[string]int{}
	var wrong []string
	judged := 0
	for _, ls := range doc.Sockets {
		if !inScene[ls.Inode] {
			continue
		}
		judged++
		var o lab.Owner
		if ls.Inode != 0 {
			o = t.owners[ls.Inode]
		}
		if o.Pid == 0 {
			wantUnowned[ls.State]++
		} else {
			if wantProcs[o.Pid] == nil {
				wantProcs[o.Pid] = &tally{command: o.Command, states: map[string]int{}}
			}
			wantProcs[o.Pid].states[ls.State]++
		}
		what := fmt.Sprintf("%s %s -> %s (inode %d)", ls.State, ls.Local, ls.Remote, ls.Inode)
		switch {
		case ls.Pid != o.Pid:
			wrong = append(wrong, fmt.Sprintf("%s belongs to %s, listed as %s", what, ownerName(o), ownerName(lab.Owner{Pid: ls.Pid, Command: ls.Command})))
		case o.Pid != 0 && ls.Command != o.Command:
			wrong = append(wrong, fmt.Sprintf("%s: pid %d's command is %q, listed %q", what, o.Pid, o.Command, ls.Command))
		}
	}
	if judged == 0 {
		return []string{"none of the inodes sockstat listed is in the kernel's table of this namespace, so there is no owner to check (see the table criterion first)"}, ""
	}
	if len(wrong) > 0 {
		problems = append(problems, fmt.Sprintf("%d sockets have the wrong owner (%s)", len(wrong), sample(wrong, 4)))
	}

	var ev strings.Builder
	fmt.Fprintf(&ev, "%-28s %-36s %s\n", "process", "kernel", "sockstat")
	gotProcs := map[int]listedProcess{}
	for _, p := range doc.Processes {
		gotProcs[p.Pid] = p
	}
	pids := slices.Sorted(maps.Keys(gotProcs))
	for pid := range wantProcs {
		if _, ok := gotProcs[pid]; !ok {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	for _, pid := range pids {
		w, g := wantProcs[pid], gotProcs[pid]
		wantStates := map[string]int{}
		name := fmt.Sprintf("pid %d (%s)", pid, g.Command)
		if w != nil {
			wantStates = w.states
			name = fmt.Sprintf("pid %d (%s)", pid, w.command)
		}
		fmt.Fprintf(&ev, "%-28s %-36s %s\n", name, formatNamed(wantStates), formatNamed(g.States))
		_, listed := gotProcs[pid]
		switch {
		case w == nil:
			problems = append(problems, fmt.Sprintf("processes lists pid %d, which owns none of the listed sockets", pid))
		case !listed:
			problems = append(problems, fmt.Sprintf("processes has no entry for pid %d (%s), which owns %s", pid, w.command, formatNamed(w.states)))
		case !sameNamed(w.states, g.States):
			problems = append(problems, fmt.Sprintf("processes says pid %d owns %s; of the listed sockets it owns %s", pid, formatNamed(g.States), formatNamed(w.states)))
		case g.Command != w.command:
			problems = append(problems, fmt.Sprintf("processes names pid %d %q; its command is %q", pid, g.Command, w.command))
		}
	}
	fmt.Fprintf(&ev, "%-28s %-36s %s\n", "unowned", formatNamed(wantUnowned), formatNamed(doc.Unowned))
	if !sameNamed(wantUnowned, doc.Unowned) {
		problems = append(problems, fmt.Sprintf("unowned is %s; the listed sockets without an owner are %s", formatNamed(doc.Unowned), formatNamed(wantUnowned)))
	}
	return problems, ev.String()
}

func ownerName(o lab.Owner) string {
	if o.Pid == 0 {
		return "no process"
	}
	return fmt.Sprintf("pid %d (%s)", o.Pid, o.Command)
}

// sameNamed compares per-state counts, a missing state counting as 0.
func sameNamed(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// formatNamed writes per-state counts in the kernel's state order.
func formatNamed(c map[string]int) string {
	var parts []string
	for st := lab.Established; st <= lab.Closing; st++ {
		if n := c[st.String()]; n != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", st, n))
		}
	}
	for name, n := range c {
		if _, known := stateByName[name]; !known && n != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", name, n))
		}
	}
	if len(parts) == 0 {
		return "no sockets"
	}
	return strings.Join(parts, ", ")
}
