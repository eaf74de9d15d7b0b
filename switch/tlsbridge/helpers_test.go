package tlsbridge

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// ioDeadline bounds every blocking read of a test: a safety net against a
// hang, not a timing assertion.
const ioDeadline = 10 * time.Second

// startServer runs a Server on a loopback listener; handoff gets each plain end.
func startServer(t *testing.T, cfg ServerConfig, handoff func(net.Conn, *Peer)) (*Server, string) {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Accept(ln, handoff) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; err != nil {
			t.Errorf("Accept: %v", err)
		}
	})
	return s, ln.Addr().String()
}

// echo is a handoff that echoes until EOF, then closes.
func echo(plain net.Conn, _ *Peer) {
	go func() {
		_, _ = io.Copy(plain, plain)
		_ = plain.Close()
	}()
}

// roundTrip writes msg and reads the same number of bytes back.
func roundTrip(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	_ = c.SetReadDeadline(time.Now().Add(ioDeadline))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo %q, want %q", got, msg)
	}
}

// expectEOF reads until the connection ends; data first is an error.
func expectEOF(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(ioDeadline))
	var b [64]byte
	n, err := c.Read(b[:])
	if n != 0 || err == nil {
		t.Fatalf("read %q, %v; want the connection ended", b[:n], err)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open: %v", err)
	}
}

// eventually polls cond (bounded): for effects that happen on another goroutine.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(ioDeadline); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never: %s", what)
}

func goroutines() int { return runtime.NumGoroutine() }

func tlsClient(t *testing.T, addr string, conf *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: ioDeadline}
	return tls.DialWithDialer(d, "tcp", addr, conf)
}
