package lab

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// tcpPacket builds an IPv4/TCP packet with gopacket, checksums computed by
// gopacket: the oracle the forwarder's own segmentation is compared with.
func tcpPacket(t *testing.T, id uint16, seq uint32, flags TCPFlags, cwr bool, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: id, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP,
		SrcIP: net.IP(ClientAddr.AsSlice()), DstIP: net.IP(ServerAddr.AsSlice())}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 20000, Seq: seq, Ack: 777, Window: 512,
		FIN: flags&FIN != 0, PSH: flags&PSH != 0, ACK: flags&ACK != 0, CWR: cwr,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}}}}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSegmentsCutsLikeTheKernel: a TCP super-packet of 4,000 payload bytes
// with an MSS of 1,448 becomes the three segments gopacket builds for the same
// bytes, checksums included: sequence numbers advanced, IP ids counted up,
// FIN and PSH only on the last, CWR only on the first.
func TestSegmentsCutsLikeTheKernel(t *testing.T) {
	payload := make([]byte, 4000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	super := tcpPacket(t, 100, 5000, ACK|PSH|FIN, true, payload)
	h := vnetHdr{flags: vnetNeedsCsum, gsoType: vnetGSOTCPv4 | vnetGSOECN, gsoSize: 1448, csumStart: 20, csumOffset: 16}
	// The kernel leaves the checksum for the device: only the pseudo-header sum is there.
	binary.BigEndian.PutUint16(super[36:], 0x1234)

	if n, b := segmentCount(h, super); n != 3 || b != 4000+3*52 {
		t.Errorf("segmentCount = %d packets, %d bytes; want 3, %d", n, b, 4000+3*52)
	}
	frames, err := segments(h, super)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{
		tcpPacket(t, 100, 5000, ACK, true, payload[:1448]),
		tcpPacket(t, 101, 6448, ACK, false, payload[1448:2896]),
		tcpPacket(t, 102, 7896, ACK|PSH|FIN, false, payload[2896:]),
	}
	if len(frames) != len(want) {
		t.Fatalf("%d segments, want %d", len(frames), len(want))
	}
	for i, f := range frames {
		if !bytes.Equal(f[:vnetHdrLen], make([]byte, vnetHdrLen)) {
			t.Errorf("segment %d: virtio-net header %x, want zeros (nothing left for the device)", i, f[:vnetHdrLen])
		}
		if got := f[vnetHdrLen:]; !bytes.Equal(got, want[i]) {
			t.Errorf("segment %d:\n got %x\nwant %x", i, got[:60], want[i][:60])
		}
	}
}

// TestSegmentsCompletesALeftChecksum: a single UDP packet whose checksum the
// kernel left for the device (NEEDS_CSUM, pseudo-header sum in the field)
// leaves the forwarder with the checksum gopacket computes.
func TestSegmentsCompletesALeftChecksum(t *testing.T) {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IP(ClientAddr.AsSlice()), DstIP: net.IP(ServerAddr.AsSlice())}
	udp := &layers.UDP{SrcPort: 5000, DstPort: 6000}
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		ip, udp, gopacket.Payload("metric:1|c")); err != nil {
		t.Fatal(err)
	}
	want := buf.Bytes()
	partial := bytes.Clone(want)
	pseudo := pseudoHeaderSum(partial[12:16], partial[16:20], ProtoUDP, len(partial)-20)
	binary.BigEndian.PutUint16(partial[26:], fold(pseudo))

	frames, err := segments(vnetHdr{flags: vnetNeedsCsum, csumStart: 20, csumOffset: 6}, partial)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 1 || !bytes.Equal(frames[0][vnetHdrLen:], want) {
		t.Errorf("got %x\nwant %x", frames[0][vnetHdrLen:], want)
	}
}

// TestSegmentsRefusesWhatIsNotTCP: a super-packet that is not IPv4/TCP is an
// error, not a panic.
func TestSegmentsRefusesWhatIsNotTCP(t *testing.T) {
	h := vnetHdr{flags: vnetNeedsCsum, gsoType: vnetGSOTCPv4, gsoSize: 1448, csumStart: 20, csumOffset: 16}
	for _, pkt := range [][]byte{nil, make([]byte, 19), append([]byte{0x60}, make([]byte, 60)...)} {
		if _, err := segments(h, pkt); err == nil {
			t.Errorf("segments(% x...) accepted a packet that is not IPv4/TCP", pkt[:min(4, len(pkt))])
		}
	}
}
