package timewait

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wirelab/wirelab/grader/lab"
)

// A procTree is a /proc tree the grader writes for sockstat's -proc flag: the
// two socket tables in the kernel's exact format, process directories with fd
// links and comm files, and the ephemeral port range. Fixture trees reach
// what a live scene cannot hold still: every state code, addresses that are
// not loopback (so that a reversed byte order shows), and damaged input.
type procTree struct {
	sockets   []treeSocket
	procs     []treeProc
	ephemeral [2]int
}

type treeSocket struct {
	state         lab.TCPState
	local, remote netip.AddrPort
	v6            bool
	inode         uint32 // 0 for TIME_WAIT, as the kernel writes it
}

type treeProc struct {
	pid  int
	comm string
	fds  []string // link targets, "socket:[N]" among others
}

// seededTree makes a tree with every state code at least once, in both
// tables, owned by three processes.
func seededTree(r *rand.Rand) procTree {
	t := procTree{}
	low := 30000 + r.IntN(5000)
	t.ephemeral = [2]int{low, low + 9000 + r.IntN(1000)}
	ephemeralPort := func() uint16 { return uint16(t.ephemeral[0] + r.IntN(t.ephemeral[1]-t.ephemeral[0])) }
	// Server ports below the range, with two different bytes (a swapped
	// byte order shows), never a palindrome.
	serverPort := func() uint16 {
		for {
			p := uint16(1024 + r.IntN(t.ephemeral[0]-1024))
			if p>>8 != p&0xff {
				return p
			}
		}
	}
	v4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(1 + r.IntN(250)), byte(r.IntN(256)), byte(2 + r.IntN(250))})
	}
	v6 := func() netip.Addr {
		var b [16]byte
		copy(b[:], []byte{0x20, 0x01, 0x0d, 0xb8})
		for i := 4; i < 16; i++ {
			b[i] = byte(r.IntN(256))
		}
		return netip.AddrFrom16(b)
	}
	mapped := func() netip.Addr { return netip.AddrFrom16(v4().As16()) }
	inode := uint32(20000 + r.IntN(10000))
	next := func() uint32 { inode += uint32(1 + r.IntN(40)); return inode }

	srv4, srv6, srvDual := v4(), v6(), netip.IPv6Unspecified()
	p4, p6, pDual := serverPort(), serverPort(), serverPort()
	add := func(st lab.TCPState, isV6 bool, l, rem netip.AddrPort) {
		s := treeSocket{state: st, local: l, remote: rem, v6: isV6}
		if st != lab.TimeWait {
			s.inode = next()
		}
		t.sockets = append(t.sockets, s)
	}
	ap := netip.AddrPortFrom
	add(lab.Listen, false, ap(srv4, p4), ap(netip.IPv4Unspecified(), 0))
	add(lab.Listen, true, ap(srv6, p6), ap(netip.IPv6Unspecified(), 0))
	add(lab.Listen, true, ap(srvDual, pDual), ap(netip.IPv6Unspecified(), 0))
	for st := lab.Established; st <= lab.Closing; st++ {
		if st == lab.Listen {
			continue
		}
		add(st, false, ap(srv4, p4), ap(v4(), ephemeralPort()))
		add(st, true, ap(srv6, p6), ap(v6(), ephemeralPort()))
	}
	// An IPv4 client of the dual-stack listener, seen in tcp6.
	add(lab.Established, true, ap(mapped(), pDual), ap(mapped(), ephemeralPort()))
	// Client-side TIME_WAIT: this host connected out and closed first.
	out := serverPort()
	for range 2 + r.IntN(3) {
		add(lab.TimeWait, false, ap(v4(), ephemeralPort()), ap(v4(), out))
	}
	// A server-side TIME_WAIT on a port nobody listens on any more.
	gone := serverPort()
	add(lab.TimeWait, true, ap(srv6, gone), ap(v6(), ephemeralPort()))

	pids := r.Perm(30000)[:3]
	comms := []string{"api-gateway", "loadgen", "metrics"}
	for i, pid := range pids {
		t.procs = append(t.procs, treeProc{pid: 100 + pid, comm: comms[i], fds: []string{"/dev/null", "pipe:[" + strconv.Itoa(int(next())) + "]", "anon_inode:[eventpoll]"}})
	}
	for i, s := range t.sockets {
		if s.inode != 0 && s.state != lab.SynRecv && s.state != lab.FinWait2 {
			p := &t.procs[i%len(t.procs)]
			p.fds = append(p.fds, fmt.Sprintf("socket:[%d]", s.inode))
		}
	}
	return t
}

const (
	tcpHeader  = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
	tcp6Header = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
)

// write writes the tree under dir.
func (t procTree) write(dir string) error {
	var v4, v6 []string
	v4 = append(v4, tcpHeader)
	v6 = append(v6, tcp6Header)
	for _, s := range t.sockets {
		if s.v6 {
			v6 = append(v6, kernelLine(len(v6)-1, s))
		} else {
			v4 = append(v4, kernelLine(len(v4)-1, s))
		}
	}
	files := map[string]string{
		"net/tcp":                          strings.Join(v4, "\n") + "\n",
		"net/tcp6":                         strings.Join(v6, "\n") + "\n",
		"sys/net/ipv4/ip_local_port_range": fmt.Sprintf("%d\t%d\n", t.ephemeral[0], t.ephemeral[1]),
	}
	for _, p := range t.procs {
		files[fmt.Sprintf("%d/comm", p.pid)] = p.comm + "\n"
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, p := range t.procs {
		fdDir := filepath.Join(dir, strconv.Itoa(p.pid), "fd")
		if err := os.MkdirAll(fdDir, 0o755); err != nil {
			return err
		}
		for i, target := range p.fds {
			if err := os.Symlink(target, filepath.Join(fdDir, strconv.Itoa(i))); err != nil {
				return err
			}
		}
	}
	return nil
}

// kernelLine formats a socket as the kernel does in /proc/net/tcp{,6}
// (net/ipv4/tcp_ipv4.c, net/ipv6/tcp_ipv6.c): TIME_WAIT rows are shorter.
func kernelLine(sl int, s treeSocket) string {
	addr := hexAddr4
	if s.v6 {
		addr = hexAddr6
	}
	head := fmt.Sprintf("%4d: %s:%04X %s:%04X %02X %08X:%08X", sl, addr(s.local.Addr()), s.local.Port(), addr(s.remote.Addr()), s.remote.Port(), uint8(s.state), 0, 0)
	if s.state == lab.TimeWait {
		return head + fmt.Sprintf(" 03:%08X %08X %5d %8d %d %d %016x", 0x1770, 0, 0, 0, 0, 3, uint64(0xffff8a2b4c5d6e00))
	}
	return head + fmt.Sprintf(" 00:%08X %08X %5d %8d %d 1 %016x 20 4 30 10 -1", 0, 0, 1000, 0, s.inode, uint64(0xffff8a2b4c5d7f00))
}

// hexAddr4 writes an IPv4 address as the kernel does: the 32-bit value, as
// stored (little-endian on this machine), in hex.
func hexAddr4(a netip.Addr) string {
	b := a.As4()
	return fmt.Sprintf("%08X", binary.LittleEndian.Uint32(b[:]))
}

// hexAddr6 writes an IPv6 address as four such 32-bit words.
func hexAddr6(a netip.Addr) string {
	b := a.As16()
	var out strings.Builder
	for i := 0; i < 16; i += 4 {
		fmt.Fprintf(&out, "%08X", binary.LittleEndian.Uint32(b[i:i+4]))
	}
	return out.String()
}

// asSockets is the tree's table as the lab reads a live one.
func (t procTree) asSockets() []lab.Socket {
	out := make([]lab.Socket, len(t.sockets))
	for i, s := range t.sockets {
		out[i] = lab.Socket{State: s.state, Local: unmap(s.local), Remote: unmap(s.remote), Inode: s.inode, V6: s.v6}
	}
	return out
}
