package lab

import (
	"net/netip"
	"testing"
)

// TestHandshakesTellWhatIsPastTheHandshake follows one connection through both
// directions of a wire: the SYN, the SYN-ACK and the opener's bare ACK belong
// to the handshake; data, later ACKs and FINs are past it, and so is every
// packet of a connection whose SYN the wire never saw.
func TestHandshakesTellWhatIsPastTheHandshake(t *testing.T) {
	client := netip.MustParseAddrPort("198.18.0.1:40000")
	server := netip.MustParseAddrPort("198.19.0.1:20000")
	var toServer, toClient handshakes
	steps := []struct {
		name    string
		shakes  *handshakes
		from    netip.AddrPort
		to      netip.AddrPort
		flags   TCPFlags
		payload int
		want    bool
	}{
		{"SYN", &toServer, client, server, SYN, 0, false},
		{"SYN-ACK", &toClient, server, client, SYN | ACK, 0, false},
		{"the ACK completing it", &toServer, client, server, ACK, 0, false},
		{"the request", &toServer, client, server, ACK | PSH, 22, true},
		{"the server's ACK", &toClient, server, client, ACK, 0, true},
		{"a later bare ACK", &toServer, client, server, ACK, 0, true},
		{"FIN", &toServer, client, server, FIN | ACK, 0, true},
		{"a connection the wire saw no SYN of", &toServer, netip.MustParseAddrPort("198.18.0.1:40001"), server, ACK, 0, true},
	}
	for _, s := range steps {
		p := Packet{Proto: ProtoTCP, Src: s.from, Dst: s.to, Flags: s.flags, Payload: s.payload}
		s.shakes.mark(&p)
		if p.AfterHandshake != s.want {
			t.Errorf("%s %v: AfterHandshake = %v, want %v", s.name, s.flags, p.AfterHandshake, s.want)
		}
	}
	// A connection whose opener sends data with the completing ACK: that
	// segment is past the handshake.
	var hs handshakes
	syn := Packet{Proto: ProtoTCP, Src: client, Dst: server, Flags: SYN}
	hs.mark(&syn)
	data := Packet{Proto: ProtoTCP, Src: client, Dst: server, Flags: ACK | PSH, Payload: 100}
	if hs.mark(&data); !data.AfterHandshake {
		t.Error("data riding on the completing ACK should be past the handshake")
	}
}
