package lab

import (
	"fmt"
	"net/netip"

	"github.com/prometheus/procfs"
)

// UDPSocket is one row of the kernel's UDP socket table: what waits in the
// socket's receive queue and how many datagrams the kernel dropped for it,
// mostly because that queue (the receive buffer) was full. The drops are the
// socket's own share of the namespace's Udp.RcvbufErrors counter.
type UDPSocket struct {
	Local  netip.AddrPort
	Remote netip.AddrPort // unspecified unless the socket is connected
	RecvQ  uint64         // bytes waiting to be read
	Drops  uint64
	Inode  uint64
}

func (s UDPSocket) String() string {
	return fmt.Sprintf("UDP %v: %d bytes waiting, %d datagrams dropped", s.Local, s.RecvQ, s.Drops)
}

// UDPSockets reads every UDP socket (IPv4 and IPv6) of the calling thread's
// network namespace, from /proc/thread-self/net/udp{,6} through
// prometheus/procfs (inet_diag does not report a UDP socket's drops).
func UDPSockets() ([]UDPSocket, error) {
	fs, err := procfs.NewFS("/proc/thread-self")
	if err != nil {
		return nil, fmt.Errorf("lab: UDP sockets: %w", err)
	}
	var out []UDPSocket
	for _, read := range []func() (procfs.NetUDP, error){fs.NetUDP, fs.NetUDP6} {
		rows, err := read()
		if err != nil {
			return nil, fmt.Errorf("lab: UDP sockets: %w", err)
		}
		for _, r := range rows {
			s := UDPSocket{Local: addrPort(r.LocalAddr, uint16(r.LocalPort)), Remote: addrPort(r.RemAddr, uint16(r.RemPort)),
				RecvQ: r.RxQueue, Inode: r.Inode}
			if r.Drops != nil {
				s.Drops = *r.Drops
			}
			out = append(out, s)
		}
	}
	return out, nil
}
