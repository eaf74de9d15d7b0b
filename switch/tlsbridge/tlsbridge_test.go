package tlsbridge

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"github.com/fxswitch/fxswitch/switch/tlsbridge/tlstest"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRoundTripAndHalfClose(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Valid(t, "fxd", true)
	peers := make(chan *Peer, 1)
	_, addr := startServer(t, ServerConfig{CertFile: cert, KeyFile: key}, func(plain net.Conn, p *Peer) {
		peers <- p
		echo(plain, p)
	})
	plain, err := DialTLS(context.Background(), addr, ClientConfig{CAFile: ca.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, ok := plain.(*net.UnixConn); !ok {
		t.Fatalf("plain end is %T, want *net.UnixConn (what gnet enrolls)", plain)
	}
	p := <-peers
	if p.TLS.Version != tls.VersionTLS13 || p.Addr == nil {
		t.Fatalf("peer %+v", p)
	}
	roundTrip(t, plain, []byte("0800 signon"))

	// 1 MiB both ways at once: more than the socket and TLS buffers hold.
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = plain.Write(big)
	}()
	got := make([]byte, len(big))
	_ = plain.SetReadDeadline(time.Now().Add(ioDeadline))
	if _, err := io.ReadFull(plain, got); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !bytes.Equal(got, big) {
		t.Fatal("1 MiB echo differs")
	}

	// Client half-close: the server's plain end reads EOF, its echo ends
	// and closes, and that close reaches the client as EOF.
	if err := plain.(*net.UnixConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	expectEOF(t, plain)
}

func TestServerClosePropagates(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Valid(t, "fxd", true)
	serverEOF := make(chan error, 1)
	_, addr := startServer(t, ServerConfig{CertFile: cert, KeyFile: key}, func(plain net.Conn, _ *Peer) {
		go func() {
			var b [16]byte
			n, err := plain.Read(b[:])
			if string(b[:n]) == "close" {
				// Answer, then close: the answer arrives before the EOF.
				_, _ = plain.Write([]byte("bye"))
				_ = plain.Close()
				return
			}
			_, err2 := plain.Read(b[:])
			serverEOF <- errors.Join(err, err2)
			_ = plain.Close()
		}()
	})

	// Server side closes → client plain reads the last bytes, then EOF.
	plain, err := DialTLS(context.Background(), addr, ClientConfig{CAFile: ca.CAFile, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = plain.Write([]byte("close"))
	_ = plain.SetReadDeadline(time.Now().Add(ioDeadline))
	b, err := io.ReadAll(plain)
	if string(b) != "bye" || err != nil {
		t.Fatalf("read %q, %v", b, err)
	}
	plain.Close()

	// The TLS peer closes → the server's plain end reads EOF.
	tc, err := tlsClient(t, addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = tc.Write([]byte("x"))
	_ = tc.Close()
	select {
	case err := <-serverEOF:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("server plain end: %v, want EOF", err)
		}
	case <-time.After(ioDeadline):
		t.Fatal("server plain end never saw the close")
	}
}

func TestTLS12Refused(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Valid(t, "fxd", true)
	s, addr := startServer(t, ServerConfig{CertFile: cert, KeyFile: key}, echo)
	_, err := tlsClient(t, addr, &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS12})
	if err == nil {
		t.Fatal("TLS 1.2 client accepted by a TLS 1.3 server")
	}
	eventually(t, "handshake failure counted", func() bool { return s.Stats().HandshakeFailure == 1 })

	// With MinVersion TLS 1.2 the same client is served.
	_, addr12 := startServer(t, ServerConfig{CertFile: cert, KeyFile: key, MinVersion: tls.VersionTLS12}, echo)
	tc, err := tlsClient(t, addr12, &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	roundTrip(t, tc, []byte("echo"))
	if _, err := NewServer(ServerConfig{CertFile: cert, KeyFile: key, MinVersion: tls.VersionTLS11}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("TLS 1.1 minimum: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	ca := tlstest.New(t, "ca")
	other := tlstest.New(t, "other")
	cert, key := ca.Valid(t, "fxd", true)
	peers := make(chan *Peer, 4)
	s, addr := startServer(t, ServerConfig{CertFile: cert, KeyFile: key, ClientCAFile: ca.CAFile}, func(plain net.Conn, p *Peer) {
		peers <- p
		echo(plain, p)
	})

	lineCert, lineKey := ca.Valid(t, "line1", false)
	plain, err := DialTLS(context.Background(), addr, ClientConfig{CAFile: ca.CAFile, CertFile: lineCert, KeyFile: lineKey})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	roundTrip(t, plain, []byte("mutual"))
	p := <-peers
	if len(p.TLS.PeerCertificates) == 0 || p.TLS.PeerCertificates[0].Subject.CommonName != "line1" {
		t.Fatalf("peer certificates %v", p.TLS.PeerCertificates)
	}

	// Refused: no certificate, one from another CA, an expired one. In TLS
	// 1.3 the client may finish its handshake before the server's verdict
	// arrives; either way the connection ends without data and nothing is
	// handed off.
	refused := func(name string, certs []tls.Certificate) {
		t.Helper()
		tc, err := tlsClient(t, addr, &tls.Config{RootCAs: ca.Pool(), Certificates: certs})
		if err == nil {
			_, _ = tc.Write([]byte("x"))
			expectEOF(t, tc)
			tc.Close()
		}
	}
	before := s.Stats().HandshakeFailure
	refused("none", nil)
	oc, ok := other.Valid(t, "intruder", false)
	pair, err := tls.LoadX509KeyPair(oc, ok)
	if err != nil {
		t.Fatal(err)
	}
	refused("other CA", []tls.Certificate{pair})
	ec, ek := ca.Expired(t, "old-line", false)
	expiredPair, err := tls.LoadX509KeyPair(ec, ek)
	if err != nil {
		t.Fatal(err)
	}
	refused("expired", []tls.Certificate{expiredPair})
	eventually(t, "three handshake failures", func() bool { return s.Stats().HandshakeFailure == before+3 })
	if len(peers) != 0 {
		t.Fatalf("a refused client was handed off: %+v", <-peers)
	}
	// DialTLS itself refuses to present an expired certificate.
	if _, err := DialTLS(context.Background(), addr, ClientConfig{CAFile: ca.CAFile, CertFile: ec, KeyFile: ek}); !errors.Is(err, ErrCertExpired) {
		t.Fatalf("expired client certificate: %v", err)
	}
}

func TestExpiredServerCertificate(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Expired(t, "fxd", true)
	if _, err := NewServer(ServerConfig{CertFile: cert, KeyFile: key}); !errors.Is(err, ErrCertExpired) {
		t.Fatalf("NewServer with an expired certificate: %v", err)
	}
	// A center presenting an expired certificate is refused by DialTLS.
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	_, err = DialTLS(context.Background(), ln.Addr().String(), ClientConfig{CAFile: ca.CAFile})
	var inv x509.CertificateInvalidError
	if !errors.Is(err, ErrHandshake) || !errors.As(err, &inv) || inv.Reason != x509.Expired {
		t.Fatalf("expired center certificate: %v", err)
	}
	// And a certificate for another name.
	good, gkey := ca.Valid(t, "center", true)
	pair2, _ := tls.LoadX509KeyPair(good, gkey)
	ln2, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair2}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	go func() {
		for {
			c, err := ln2.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	if _, err := DialTLS(context.Background(), ln2.Addr().String(), ClientConfig{CAFile: ca.CAFile, ServerName: "cardnet.example"}); !errors.Is(err, ErrHandshake) {
		t.Fatalf("wrong server name: %v", err)
	}
}

func TestReload(t *testing.T) {
	ca := tlstest.New(t, "ca")
	certA, keyA := ca.Valid(t, "fxd-a", true)
	certB, keyB := ca.Valid(t, "fxd-b", true)
	certFile, keyFile := certA+".live", keyA+".live"
	copyFile(t, certA, certFile)
	copyFile(t, keyA, keyFile)
	s, addr := startServer(t, ServerConfig{CertFile: certFile, KeyFile: keyFile}, echo)

	served := func(tc *tls.Conn) string { return tc.ConnectionState().PeerCertificates[0].Subject.CommonName }
	conf := &tls.Config{RootCAs: ca.Pool()}
	c1, err := tlsClient(t, addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	roundTrip(t, c1, []byte("before"))
	if served(c1) != "fxd-a" {
		t.Fatalf("served %s", served(c1))
	}

	copyFile(t, certB, certFile)
	copyFile(t, keyB, keyFile)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	c2, err := tlsClient(t, addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if served(c2) != "fxd-b" {
		t.Fatalf("after reload served %s", served(c2))
	}
	roundTrip(t, c2, []byte("new"))
	roundTrip(t, c1, []byte("established connection still served"))

	// A broken or expired pair leaves the current one in force.
	if err := os.WriteFile(certFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); !errors.Is(err, ErrCertificate) {
		t.Fatalf("reload of garbage: %v", err)
	}
	ec, ek := ca.Expired(t, "fxd-old", true)
	copyFile(t, ec, certFile)
	copyFile(t, ek, keyFile)
	if err := s.Reload(); !errors.Is(err, ErrCertExpired) {
		t.Fatalf("reload of an expired certificate: %v", err)
	}
	c3, err := tlsClient(t, addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if served(c3) != "fxd-b" {
		t.Fatalf("after failed reloads served %s", served(c3))
	}
	if st := s.Stats(); st.Reloads != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestHandshakeBounds(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Valid(t, "fxd", true)
	s, addr := startServer(t, ServerConfig{CertFile: cert, KeyFile: key, MaxHandshakes: 1,
		HandshakeTimeout: 200 * time.Millisecond}, echo)
	// A connection that never speaks holds the only handshake slot ...
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	eventually(t, "idle connection held", func() bool { return s.Stats().Active == 1 })
	// ... so the next one is closed on arrival ...
	next, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	expectEOF(t, next)
	if st := s.Stats(); st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
	// ... and the idle one is dropped when its handshake time is up.
	expectEOF(t, idle)
	eventually(t, "slot released", func() bool { return s.Stats().Active == 0 && s.Stats().HandshakeFailure == 1 })
	tc, err := tlsClient(t, addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	roundTrip(t, tc, []byte("served again"))
}

func TestConfigErrors(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Valid(t, "fxd", true)
	for name, cfg := range map[string]ServerConfig{
		"no cert":       {KeyFile: key},
		"missing file":  {CertFile: cert + ".absent", KeyFile: key},
		"key for cert":  {CertFile: cert, KeyFile: cert},
		"bad CA file":   {CertFile: cert, KeyFile: key, ClientCAFile: key},
		"absent CA":     {CertFile: cert, KeyFile: key, ClientCAFile: cert + ".absent"},
		"handshakes":    {CertFile: cert, KeyFile: key, MaxHandshakes: -1},
		"conns < hs":    {CertFile: cert, KeyFile: key, MaxHandshakes: 10, MaxConns: 5},
		"small buffer":  {CertFile: cert, KeyFile: key, BufferBytes: 10},
		"negative time": {CertFile: cert, KeyFile: key, HandshakeTimeout: -time.Second},
	} {
		_, err := NewServer(cfg)
		if !errors.Is(err, ErrInvalidConfig) && !errors.Is(err, ErrCertificate) {
			t.Errorf("%s: %v", name, err)
		}
	}
	ctx := context.Background()
	if _, err := DialTLS(ctx, "127.0.0.1:1", ClientConfig{CertFile: cert}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("cert without key: %v", err)
	}
	if _, err := DialTLS(ctx, "no-port", ClientConfig{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad address: %v", err)
	}
	if _, err := DialTLS(ctx, "127.0.0.1:1", ClientConfig{CAFile: key}); !errors.Is(err, ErrCertificate) {
		t.Errorf("bad CA file: %v", err)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Valid(t, "fxd", true)
	base := goroutines()
	s, err := NewServer(ServerConfig{CertFile: cert, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	acceptDone := make(chan error, 1)
	go func() {
		acceptDone <- s.Accept(ln, func(plain net.Conn, _ *Peer) {
			mu.Lock()
			held = append(held, plain)
			mu.Unlock()
			// As gnet does: a read of 0 bytes (EOF) closes the connection.
			go func() {
				_, _ = io.Copy(io.Discard, plain)
				_ = plain.Close()
			}()
		})
	}()
	var clients []net.Conn
	for i := 0; i < 8; i++ {
		c, err := DialTLS(context.Background(), ln.Addr().String(), ClientConfig{CAFile: ca.CAFile})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	eventually(t, "all handed off", func() bool { mu.Lock(); defer mu.Unlock(); return len(held) == 8 })
	// Half of the clients close themselves; Close ends the rest from the server side.
	for _, c := range clients[:4] {
		c.Close()
	}
	eventually(t, "closed bridges released", func() bool { return s.Stats().Active == 4 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-acceptDone; err != nil {
		t.Fatal(err)
	}
	for _, c := range clients[4:] {
		expectEOF(t, c)
		c.Close()
	}
	for _, c := range held {
		c.Close()
	}
	if s.Stats().Active != 0 {
		t.Fatalf("stats after close %+v", s.Stats())
	}
	eventually(t, "goroutines back to the baseline", func() bool { return goroutines() <= base })
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Accept(ln, echo); !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}

// TestServerHalfClose: the server side shuts down its writing half; the
// client reads EOF but can still send, and the server still receives.
func TestServerHalfClose(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Valid(t, "fxd", true)
	got := make(chan string, 1)
	_, addr := startServer(t, ServerConfig{CertFile: cert, KeyFile: key}, func(plain net.Conn, _ *Peer) {
		go func() {
			defer plain.Close()
			_, _ = plain.Write([]byte("last answer"))
			_ = plain.(*net.UnixConn).CloseWrite()
			_ = plain.SetReadDeadline(time.Now().Add(ioDeadline))
			b, _ := io.ReadAll(plain)
			got <- string(b)
		}()
	})
	plain, err := DialTLS(context.Background(), addr, ClientConfig{CAFile: ca.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_ = plain.SetReadDeadline(time.Now().Add(ioDeadline))
	b, err := io.ReadAll(plain)
	if string(b) != "last answer" || err != nil {
		t.Fatalf("read %q, %v", b, err)
	}
	if _, err := plain.Write([]byte("still sending")); err != nil {
		t.Fatal(err)
	}
	_ = plain.(*net.UnixConn).CloseWrite()
	if s := <-got; s != "still sending" {
		t.Fatalf("server received %q", s)
	}
}

// TestWriteTimeout: a peer that stops reading is disconnected instead of
// holding the bridge (and the engine's outbound buffer) forever.
func TestWriteTimeout(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Valid(t, "fxd", true)
	writeErr := make(chan error, 1)
	s, addr := startServer(t, ServerConfig{CertFile: cert, KeyFile: key, WriteTimeout: 100 * time.Millisecond},
		func(plain net.Conn, _ *Peer) {
			go func() {
				defer plain.Close()
				chunk := make([]byte, 64<<10)
				_ = plain.SetWriteDeadline(time.Now().Add(ioDeadline))
				for i := 0; i < 1024; i++ { // at most 64 MiB
					if _, err := plain.Write(chunk); err != nil {
						writeErr <- err
						return
					}
				}
				writeErr <- nil
			}()
		})
	tc, err := tlsClient(t, addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close() // never read
	if err := <-writeErr; err == nil {
		t.Fatal("64 MiB written to a peer that reads nothing")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the bridge never gave up: %v", err)
	}
	eventually(t, "bridge released", func() bool { return s.Stats().Active == 0 })
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuf) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestFailureLogRateLimited: a burst of bad handshakes is one log line; the
// counter has them all.
func TestFailureLogRateLimited(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Valid(t, "fxd", true)
	var logs syncBuf
	now := time.Now()
	s, addr := startServer(t, ServerConfig{CertFile: cert, KeyFile: key, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, echo)
	for i := 0; i < 3; i++ {
		if _, err := tlsClient(t, addr, &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS12}); err == nil {
			t.Fatal("TLS 1.2 accepted")
		}
	}
	eventually(t, "three failures counted", func() bool { return s.Stats().HandshakeFailure == 3 })
	if n := strings.Count(logs.String(), "msg=\"tlsbridge: handshake failed\""); n != 1 {
		t.Fatalf("%d log lines:\n%s", n, logs.String())
	}
}
