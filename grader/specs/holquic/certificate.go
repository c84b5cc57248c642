package holquic

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
)

// certificate is a self-signed certificate for the server's addresses, as
// files a student's program reads (-cert, -key, -ca) and as the grader's own
// TLS configurations.
type certificate struct {
	certFile, keyFile string // paths as the student's programs see them
	server            *tls.Config
	client            *tls.Config // trusts exactly this certificate
}

// newCertificate makes a fresh key and certificate, valid for an hour, for the
// wire's server address and loopback, and writes them where the student's
// programs can read them.
func newCertificate() (*certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "wirelab hol-quic server"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{lab.ServerAddr.AsSlice(), net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	dir, err := lab.MkdirWritable("wl-tls-")
	if err != nil {
		return nil, err
	}
	cert, keyFile := dir.File("cert.pem"), dir.File("key.pem")
	if err := os.WriteFile(cert.Outside, certPEM, 0o644); err != nil {
		return nil, err
	}
	// The student's server runs as another user: the key must be readable to it.
	if err := os.WriteFile(keyFile.Outside, keyPEM, 0o644); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return &certificate{
		certFile: cert.Path,
		keyFile:  keyFile.Path,
		server:   &tls.Config{Certificates: []tls.Certificate{pair}},
		client:   &tls.Config{RootCAs: pool},
	}, nil
}
