package lab

import (
	"encoding/binary"
	"errors"
)

// The wire's TUN devices carry a virtio-net header in front of every packet
// (IFF_VNET_HDR) and offer TCP segmentation and checksum offload to their
// kernel (TUNSETOFFLOAD). The sending kernel then hands the forwarder TCP
// "super-packets" of up to 64 KiB, one read for dozens of segments, just as it
// hands them to a veth pair, and the receiving kernel accepts them whole. An
// unimpaired wire forwards them as they are; when a rule, a delay or a rate
// limit must act on single packets, the forwarder cuts them into the segments
// a link of the device's MTU would carry (segments below), so rule indexes,
// counters and the capture always speak of the packets a real link would see.

// vnetHdrLen is the size of struct virtio_net_hdr (include/uapi/linux/virtio_net.h).
const vnetHdrLen = 10

// maxFrame is the largest read from a TUN device with offloads: the header and
// an IPv4 packet of at most 64 KiB.
const maxFrame = vnetHdrLen + 1<<16

// virtio_net_hdr flags and GSO types.
const (
	vnetNeedsCsum = 1    // VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum is left for the device
	vnetGSONone   = 0    // VIRTIO_NET_HDR_GSO_NONE
	vnetGSOTCPv4  = 1    // VIRTIO_NET_HDR_GSO_TCPV4
	vnetGSOECN    = 0x80 // VIRTIO_NET_HDR_GSO_ECN: may be or-ed into the type
)

// TUNSETOFFLOAD flags (include/uapi/linux/if_tun.h); golang.org/x/sys does not
// define them.
const (
	tunOffloadCsum   = 0x01 // TUN_F_CSUM
	tunOffloadTSO4   = 0x02 // TUN_F_TSO4
	tunOffloadTSOECN = 0x08 // TUN_F_TSO_ECN
)

// vnetHdr is a decoded virtio_net_hdr. A TUN device uses the machine's byte
// order for it unless told otherwise (TUNSETVNETLE/BE).
type vnetHdr struct {
	flags      uint8
	gsoType    uint8
	hdrLen     uint16
	gsoSize    uint16
	csumStart  uint16
	csumOffset uint16
}

func decodeVnetHdr(b []byte) vnetHdr {
	return vnetHdr{
		flags:      b[0],
		gsoType:    b[1],
		hdrLen:     binary.NativeEndian.Uint16(b[2:]),
		gsoSize:    binary.NativeEndian.Uint16(b[4:]),
		csumStart:  binary.NativeEndian.Uint16(b[6:]),
		csumOffset: binary.NativeEndian.Uint16(b[8:]),
	}
}

// isTCPSegmentable reports whether the frame is a TCP super-packet to be cut.
func (h vnetHdr) isTCPSegmentable() bool {
	return h.gsoType&^vnetGSOECN == vnetGSOTCPv4 && h.gsoSize > 0
}

var errBadFrame = errors.New("malformed offloaded packet")

// tcpHeaderLen returns the length of the IPv4 and TCP headers of a TCP packet.
func tcpHeaderLen(pkt []byte) (int, error) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 || pkt[9] != ProtoTCP {
		return 0, errBadFrame
	}
	ihl := int(pkt[0]&0x0f) * 4
	if ihl < 20 || len(pkt) < ihl+20 {
		return 0, errBadFrame
	}
	n := ihl + int(pkt[ihl+12]>>4)*4
	if n < ihl+20 || n > len(pkt) {
		return 0, errBadFrame
	}
	return n, nil
}

// segmentCount returns how many packets a frame carries and their total
// bytes as they cross a link: each segment repeats the headers.
func segmentCount(h vnetHdr, pkt []byte) (packets, bytes int) {
	if !h.isTCPSegmentable() {
		return 1, len(pkt)
	}
	hl, err := tcpHeaderLen(pkt)
	if err != nil || len(pkt) == hl {
		return 1, len(pkt)
	}
	payload, mss := len(pkt)-hl, int(h.gsoSize)
	packets = (payload + mss - 1) / mss
	return packets, payload + packets*hl
}

// segments returns the packets a frame carries, each as a frame of its own
// (a zero virtio-net header, then a complete IPv4 packet with its checksums
// filled in), ready to be written to a TUN device. A TCP super-packet is cut
// the way the kernel's TCP segmentation does it: gsoSize bytes of payload per
// segment, sequence numbers advanced, IP ids counted up, FIN and PSH only on
// the last segment, CWR only on the first.
func segments(h vnetHdr, pkt []byte) ([][]byte, error) {
	hl := len(pkt)
	if h.isTCPSegmentable() {
		var err error
		if hl, err = tcpHeaderLen(pkt); err != nil {
			return nil, err
		}
	}
	if hl == len(pkt) || int(h.gsoSize) >= len(pkt)-hl { // one packet
		f := make([]byte, vnetHdrLen+len(pkt))
		copy(f[vnetHdrLen:], pkt)
		if h.flags&vnetNeedsCsum != 0 {
			if err := completeChecksum(f[vnetHdrLen:], int(h.csumStart), int(h.csumOffset)); err != nil {
				return nil, err
			}
		}
		return [][]byte{f}, nil
	}
	ihl := int(pkt[0]&0x0f) * 4
	header, payload, mss := pkt[:hl], pkt[hl:], int(h.gsoSize)
	seq := binary.BigEndian.Uint32(header[ihl+4:])
	id := binary.BigEndian.Uint16(header[4:])
	flags := header[ihl+13]
	var out [][]byte
	for off := 0; off < len(payload); off += mss {
		chunk := payload[off:min(off+mss, len(payload))]
		f := make([]byte, vnetHdrLen+hl+len(chunk))
		seg := f[vnetHdrLen:]
		copy(seg, header)
		copy(seg[hl:], chunk)
		binary.BigEndian.PutUint16(seg[2:], uint16(len(seg)))
		binary.BigEndian.PutUint16(seg[4:], id+uint16(len(out)))
		binary.BigEndian.PutUint32(seg[ihl+4:], seq+uint32(off))
		segFlags := TCPFlags(flags)
		if off+mss < len(payload) {
			segFlags &^= FIN | PSH
		}
		if off > 0 {
			segFlags &^= CWR
		}
		seg[ihl+13] = uint8(segFlags)
		setIPv4Checksum(seg[:ihl])
		tcp := seg[ihl:]
		binary.BigEndian.PutUint16(tcp[16:], 0)
		sum := pseudoHeaderSum(seg[12:16], seg[16:20], ProtoTCP, len(tcp))
		binary.BigEndian.PutUint16(tcp[16:], ^fold(checksumAdd(sum, tcp)))
		out = append(out, f)
	}
	return out, nil
}

// completeChecksum finishes a checksum the sending kernel left for the device:
// the field at start+offset holds the pseudo-header sum, and the one's
// complement sum from start to the end of the packet completes it.
func completeChecksum(pkt []byte, start, offset int) error {
	at := start + offset
	if start > len(pkt) || at+2 > len(pkt) {
		return errBadFrame
	}
	sum := ^fold(checksumAdd(0, pkt[start:]))
	if sum == 0 && len(pkt) >= 10 && pkt[9] == ProtoUDP {
		sum = 0xffff // UDP sends a computed zero as all ones (RFC 768)
	}
	binary.BigEndian.PutUint16(pkt[at:], sum)
	return nil
}

func setIPv4Checksum(header []byte) {
	binary.BigEndian.PutUint16(header[10:], 0)
	binary.BigEndian.PutUint16(header[10:], ^fold(checksumAdd(0, header)))
}

func pseudoHeaderSum(src, dst []byte, proto uint8, length int) uint64 {
	sum := checksumAdd(0, src)
	sum = checksumAdd(sum, dst)
	return sum + uint64(proto) + uint64(length)
}

// checksumAdd adds b, as big-endian 16-bit words, to a one's complement sum.
// It adds 32-bit words (two 16-bit words at a time): the carries fold back
// to the same 16-bit result.
func checksumAdd(sum uint64, b []byte) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		sum += v>>32 + v&0xffffffff
		b = b[8:]
	}
	if len(b) >= 4 {
		sum += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}

// fold reduces a one's complement sum to 16 bits.
func fold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}
