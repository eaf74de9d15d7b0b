// Package tlstest issues throw-away certificates for tests and demos of TLS links:
// a CA, server certificates for 127.0.0.1/localhost, client certificates,
// valid or expired, as PEM files in a temp dir.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throw-away certificate authority writing PEM files into a dir.
type PKI struct {
	Dir    string
	CAFile string
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	serial int64
}

// Create makes a CA named name whose files go into dir (tests use New; the
// demo uses Create for its own throw-away certificates).
func Create(dir, name string) (*PKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	p := &PKI{Dir: dir, cert: cert, key: key, serial: 1}
	p.CAFile = filepath.Join(p.Dir, name+"-ca.pem")
	return p, writePEM(p.CAFile, "CERTIFICATE", der)
}

// New creates a CA named name in a temp dir of t.
func New(t testing.TB, name string) *PKI {
	t.Helper()
	p, err := Create(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// IssueFiles writes a leaf certificate and key valid over [from, to];
// server certificates name 127.0.0.1 and localhost.
func (p *PKI) IssueFiles(cn string, server bool, from, to time.Time) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile = filepath.Join(p.Dir, cn+".pem")
	keyFile = filepath.Join(p.Dir, cn+"-key.pem")
	if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
		return "", "", err
	}
	return certFile, keyFile, writePEM(keyFile, "PRIVATE KEY", kder)
}

// Issue is IssueFiles failing t on error.
func (p *PKI) Issue(t testing.TB, cn string, server bool, from, to time.Time) (certFile, keyFile string) {
	t.Helper()
	c, k, err := p.IssueFiles(cn, server, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

// Valid issues a certificate valid for the next hour.
func (p *PKI) Valid(t testing.TB, cn string, server bool) (string, string) {
	return p.Issue(t, cn, server, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

// Expired issues a certificate that expired yesterday.
func (p *PKI) Expired(t testing.TB, cn string, server bool) (string, string) {
	return p.Issue(t, cn, server, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
}

// Pool is a certificate pool holding the CA.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.cert)
	return pool
}
