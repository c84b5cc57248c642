package lab

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Packet is what the wire knows of one IP packet: enough to match rules and
// describe it in evidence. The forwarder parses these few header fields by hand
// (IPv4, TCP, UDP) instead of decoding full layers with gopacket: it runs for
// every packet on the hot path, and nothing else is needed.
type Packet struct {
	Data     []byte
	Proto    uint8 // 6 TCP, 17 UDP, 1 ICMP; 0 when not IPv4
	Src, Dst netip.AddrPort
	Flags    TCPFlags // TCP only
	Seq      uint32   // TCP only
	Payload  int      // bytes of TCP/UDP payload
	// AfterHandshake: for TCP, the packet is not part of a handshake (not a
	// SYN, not the opener's bare ACK that completes it; the wire tracks this
	// per connection). For UDP, the datagram starts with a QUIC short-header
	// (1-RTT) packet, which only follows a QUIC handshake; QUIC protects the
	// rest of its header, but not the header form bit.
	AfterHandshake bool
	// Fragment: the packet is a piece of an IP datagram the sender cut to fit
	// the MTU. Only the first piece holds the ports; the others match no
	// port, and their Payload counts the bytes after the IP header.
	Fragment bool
}

// TransportPayload is the packet's TCP or UDP payload (the bytes after the
// transport header; for a non-first fragment, after the IP header).
func (p Packet) TransportPayload() []byte {
	if p.Payload > len(p.Data) {
		return nil
	}
	return p.Data[len(p.Data)-p.Payload:]
}

// IP protocol numbers.
const (
	ProtoICMP uint8 = 1
	ProtoTCP  uint8 = 6
	ProtoUDP  uint8 = 17
)

// TCPFlags are the flag bits of a TCP header.
type TCPFlags uint8

// The TCP flags, as in the header.
const (
	FIN TCPFlags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

func (f TCPFlags) String() string {
	s := ""
	for _, x := range []struct {
		bit  TCPFlags
		name string
	}{{SYN, "S"}, {FIN, "F"}, {RST, "R"}, {PSH, "P"}, {URG, "U"}, {ECE, "E"}, {CWR, "W"}, {ACK, "."}} {
		if f&x.bit != 0 {
			s += x.name
		}
	}
	return "[" + s + "]"
}

// parsePacket reads the IPv4 header and, for TCP and UDP, the ports.
// Anything it cannot parse is left with Proto 0 and still forwarded.
func parsePacket(data []byte) Packet {
	p := Packet{Data: data}
	if len(data) < 20 || data[0]>>4 != 4 {
		return p
	}
	ihl := int(data[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(data[2:4]))
	if ihl < 20 || total < ihl || total > len(data) {
		return p
	}
	p.Proto = data[9]
	src := netip.AddrFrom4([4]byte(data[12:16]))
	dst := netip.AddrFrom4([4]byte(data[16:20]))
	l4 := data[ihl:total]
	frag := binary.BigEndian.Uint16(data[6:8])
	p.Fragment = frag&0x3fff != 0 // more fragments, or an offset
	if frag&0x1fff != 0 {
		p.Src = netip.AddrPortFrom(src, 0)
		p.Dst = netip.AddrPortFrom(dst, 0)
		p.Payload = len(l4)
		return p
	}
	switch p.Proto {
	case ProtoTCP:
		if len(l4) < 20 {
			return p
		}
		off := int(l4[12]>>4) * 4
		p.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4[0:2]))
		p.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:4]))
		p.Seq = binary.BigEndian.Uint32(l4[4:8])
		p.Flags = TCPFlags(l4[13])
		p.Payload = max(0, len(l4)-off)
	case ProtoUDP:
		if len(l4) < 8 {
			return p
		}
		p.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4[0:2]))
		p.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:4]))
		p.Payload = len(l4) - 8
		p.AfterHandshake = p.Payload > 0 && l4[8]&0x80 == 0
	default:
		p.Src = netip.AddrPortFrom(src, 0)
		p.Dst = netip.AddrPortFrom(dst, 0)
	}
	return p
}

// String describes the packet like tcpdump would, briefly.
func (p Packet) String() string {
	if p.Fragment && p.Src.Port() == 0 && p.Dst.Port() == 0 && p.Proto != 0 {
		return fmt.Sprintf("IP fragment (proto %d) %v > %v, %d bytes", p.Proto, p.Src.Addr(), p.Dst.Addr(), p.Payload)
	}
	switch p.Proto {
	case ProtoTCP:
		return fmt.Sprintf("TCP %v > %v %v seq %d len %d", p.Src, p.Dst, p.Flags, p.Seq, p.Payload)
	case ProtoUDP:
		return fmt.Sprintf("UDP %v > %v len %d", p.Src, p.Dst, p.Payload)
	case 0:
		return fmt.Sprintf("non-IPv4 packet, %d bytes", len(p.Data))
	default:
		return fmt.Sprintf("IP proto %d %v > %v, %d bytes", p.Proto, p.Src.Addr(), p.Dst.Addr(), len(p.Data))
	}
}
