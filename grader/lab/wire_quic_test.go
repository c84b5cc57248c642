package lab

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// selfSignedTLS makes a server certificate for the wire's server address.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{ServerAddr.AsSlice()},
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   []string{"wirelab-test"},
	}
}

// TestWireQUICRecoversOneDroppedDatagram: a quic-go transfer across the wire,
// with one datagram dropped after the handshake, completes intact, and the
// handshake's datagrams were not counted by the rule. quic-go runs with its
// defaults, UDP GSO included: the TUN devices do not offer UDP segmentation,
// so the sending kernel cuts GSO batches into datagrams before the wire, and
// rules see single datagrams.
func TestWireQUICRecoversOneDroppedDatagram(t *testing.T) {
	w := newTestWire(t, WireOptions{})
	_, pc := listenServer(t, w, "udp")
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	// No path-MTU probes: the dropped datagram must be one that carries data.
	conf := &quic.Config{DisablePathMTUDiscovery: true, HandshakeIdleTimeout: 5 * time.Second, MaxIdleTimeout: 10 * time.Second}
	ln, err := quic.Listen(pc, selfSignedTLS(t), conf)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	digest := make(chan [32]byte, 1)
	go func() {
		conn, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		str, err := conn.AcceptStream(ctx)
		if err != nil {
			return
		}
		h := sha256.New()
		io.Copy(h, str)
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		str.Write(sum[:])
		str.Close()
		digest <- sum
	}()

	// Installed before the connection: the handshake's long-header packets
	// do not count, the 8th datagram of 1-RTT packets is dropped.
	w.Add(ToServer, DropNth(Match{Proto: ProtoUDP, DstPort: port, AfterHandshake: true}, 8))
	clientTLS := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"wirelab-test"}}
	conn, err := quic.DialAddr(ctx, netip.AddrPortFrom(ServerAddr, port).String(), clientTLS, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")

	payload := make([]byte, 256<<10)
	crand.Read(payload)
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := str.Write(payload); err != nil {
		t.Fatal(err)
	}
	str.Close()
	echoed, err := io.ReadAll(str)
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(payload); string(echoed) != string(want[:]) {
		t.Fatalf("the server's digest of what it received differs from the payload's")
	}
	<-digest
	if ev := w.PacketEvents(); len(ev) != 1 || ev[0].Action != Drop {
		t.Errorf("events %v, want exactly one drop", ev)
	} else if t.Logf("dropped: %v", ev[0]); ev[0].Index-ev[0].MatchIndex < 1 {
		t.Errorf("the dropped datagram is the %dth of the direction and the %dth after the handshake: the handshake's datagrams were counted",
			ev[0].Index, ev[0].MatchIndex)
	}
}
