package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
)

func unixServer(t testing.TB) (*testServer, string) {
	path := filepath.Join(t.TempDir(), "fxd.sock")
	return newTestServer(t, "unix", path), path
}

func dial(t testing.TB, addr string, opts ...Option) *Client {
	t.Helper()
	c, err := Dial(context.Background(), "unix", addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func open(t testing.TB, c *Client, center string) *Session {
	t.Helper()
	s, err := c.OpenSession(context.Background(), center)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sale(ref string, amount int64) *Request {
	return &Request{Op: ipc.OpSale, Ref: ref, PAN: "4999990000000001", Expiry: "2812",
		Amount: amount, Currency: "392", Terminal: "T0000001", Merchant: "M00000000000001"}
}

func TestSessionLifecycle(t *testing.T) {
	_, addr := unixServer(t)
	c := dial(t, addr)
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	s := open(t, c, "cardnet")
	s2 := open(t, c, "cafis")
	if s.ID() == 0 || s2.ID() == s.ID() {
		t.Fatalf("session ids %d %d", s.ID(), s2.ID())
	}
	if s.Center() != "cardnet" || s2.Center() != "cafis" || s.BusinessDate() != "20261123" {
		t.Fatalf("SessionOpened fields: %q %q %q", s.Center(), s2.Center(), s.BusinessDate())
	}

	r, err := s.Do(ctx, sale("R-1", 1500))
	if err != nil {
		t.Fatal(err)
	}
	if r.Result != ipc.ResultApproved || r.RespCode != "00" || r.AuthCode != "A1500" ||
		r.STAN == "" || r.BusinessDate != "20261123" || r.RRN != "R-1" {
		t.Fatalf("%+v", r)
	}
	r, err = s2.Do(ctx, sale("R-2", 100000))
	if err != nil || r.Result != ipc.ResultDeclined || r.RespCode != "51" || r.AuthCode != "" {
		t.Fatalf("%+v %v", r, err)
	}

	got, err := s.Inquire(ctx, "R-1")
	if err != nil || got.Result != ipc.ResultApproved || got.RRN != "R-1" || got.AuthCode != "A1500" {
		t.Fatalf("inquiry: %+v %v", got, err)
	}
	_, err = s.Inquire(ctx, "never-sent")
	if !errors.Is(err, ipc.ErrUnknownReference) {
		t.Fatalf("inquiry of an unknown reference: %v", err)
	}

	if err := s2.CloseSession(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-s2.Notices(); ok {
		t.Fatal("notices of a closed session must be closed")
	}
	if _, err := s2.Do(ctx, sale("R-3", 1)); !errors.Is(err, ipc.ErrUnknownSession) {
		t.Fatalf("Do on a closed session: %v", err)
	}
	if err := s2.CloseSession(ctx); !errors.Is(err, ipc.ErrUnknownSession) {
		t.Fatalf("second CloseSession: %v", err)
	}
	if _, err := s.Do(ctx, sale("R-4", 1)); err != nil {
		t.Fatalf("the other session is unaffected: %v", err)
	}
}

func TestErrorFrames(t *testing.T) {
	_, addr := unixServer(t)
	c := dial(t, addr)
	ctx := context.Background()

	if _, err := c.OpenSession(ctx, "visa"); !errors.Is(err, ipc.ErrUnknownCenter) {
		t.Fatalf("unknown center: %v", err)
	}
	s := open(t, c, "cardnet")
	tests := []struct {
		name string
		req  *Request
		want *ipc.Error
		text string
	}{
		{"bad PAN", &Request{Op: ipc.OpSale, Ref: "x", PAN: "12", Expiry: "2812", Amount: 1, Currency: "392"}, ipc.ErrInvalidField, "field pan"},
		{"no op", &Request{Ref: "x"}, ipc.ErrInvalidField, "field op"},
		{"cancel without original", &Request{Op: ipc.OpCancel, Ref: "x"}, ipc.ErrInvalidField, "field orig_ref"},
		{"negative amount, refused locally", &Request{Op: ipc.OpSale, Ref: "x", Amount: -1}, ipc.ErrInvalidField, "field amount: negative"},
		{"busy", sale("busy-1", 1), ipc.ErrBusy, "bound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Do(ctx, tt.req)
			var e *ipc.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &e) || !strings.Contains(e.Text, tt.text) {
				t.Fatalf("got %v, want code %d with %q", err, tt.want.Code, tt.text)
			}
		})
	}
	// The connection survives every error but code 1.
	if _, err := s.Do(ctx, sale("ok", 1)); err != nil {
		t.Fatal(err)
	}
}

func TestCancelOrRefundAndAdvice(t *testing.T) {
	_, addr := unixServer(t)
	c := dial(t, addr)
	s := open(t, c, "cafis")
	ctx := context.Background()
	for _, req := range []*Request{
		{Op: ipc.OpCancel, Ref: "C-1", OrigRef: "R-1"},
		{Op: ipc.OpRefund, Ref: "F-1", PAN: "4999990000000001", Expiry: "2812", Amount: 0, Currency: "392"},
		{Op: ipc.OpAdvice, Ref: "V-1", PAN: "4999990000000001", Expiry: "2812", Amount: 300, Currency: "392"},
		{Op: ipc.OpAuthorize, Ref: "Z-1", PAN: "4999990000000001", Expiry: "2812", Amount: 0, Currency: "392"},
	} {
		if r, err := s.Do(ctx, req); err != nil || r.RRN != req.Ref {
			t.Fatalf("%s: %+v %v", req.Op, r, err)
		}
	}
}

// Many goroutines share one connection; every reply reaches its caller.
func TestPipelining(t *testing.T) {
	_, addr := unixServer(t)
	c := dial(t, addr, WithMaxOutstanding(128))
	sessions := []*Session{open(t, c, "cardnet"), open(t, c, "cafis")}
	const workers, each = 32, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sessions[w%2]
			for i := range each {
				ref := fmt.Sprintf("W%d-%d", w, i)
				r, err := s.Do(context.Background(), sale(ref, int64(i)))
				if err != nil {
					errs <- err
					return
				}
				if r.RRN != ref || r.AuthCode != "A"+strconv.Itoa(i) {
					errs <- fmt.Errorf("request %s got the reply of %s (%s)", ref, r.RRN, r.AuthCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A cancelled Do frees its slot; the reply that comes later is dropped.
func TestContextCancel(t *testing.T) {
	srv, addr := unixServer(t)
	c := dial(t, addr, WithMaxOutstanding(1))
	s := open(t, c, "cardnet")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Do(ctx, sale("hold-1", 5))
		done <- err
	}()
	// Wait until the server holds the request, so the cancel hits an
	// outstanding call rather than the slot wait. (Ping would need the
	// only slot.)
	for srv.heldCount() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Do: %v", err)
	}

	// With MaxOutstanding 1 this succeeds only if the slot was freed.
	if r, err := s.Do(context.Background(), sale("after", 7)); err != nil || r.RRN != "after" {
		t.Fatalf("%+v %v", r, err)
	}
	srv.release()
	// The server wrote the held reply before this Pong, and the reader
	// handles frames in order: by now the late reply has been dropped.
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := c.LateReplies(); n != 1 {
		t.Fatalf("late replies %d, want 1", n)
	}

	// A context already done never takes a slot.
	if _, err := s.Do(ctx, sale("x", 1)); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	// Waiting for a slot honours the context too.
	go func() {
		_, err := s.Do(context.Background(), sale("hold-2", 1))
		done <- err
	}()
	// The slot is taken by hold-2; Ping cannot help here, so wait for the
	// server to see it.
	for srv.heldCount() == 0 {
		time.Sleep(time.Millisecond)
	}
	// The only slot is held, so this Do waits in the slot queue until its
	// deadline; it never reaches the wire.
	ctx3, cancel3 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel3()
	if _, err := s.Do(ctx3, sale("y", 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slot wait: %v", err)
	}
	srv.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNotices(t *testing.T) {
	srv, addr := unixServer(t)
	c := dial(t, addr, WithNoticeBuffer(2))
	s := open(t, c, "cardnet")
	other := open(t, c, "cafis")
	ctx := context.Background()

	// Five notices arrive before the response; nobody reads: the two
	// newest are kept, three dropped.
	if _, err := s.Do(ctx, sale("notice-5-a", 1)); err != nil {
		t.Fatal(err)
	}
	if d := s.DroppedNotices(); d != 3 {
		t.Fatalf("dropped %d, want 3", d)
	}
	for _, want := range []string{"20261127", "20261128"} {
		n := <-s.Notices()
		if n.Kind != ipc.NoticeCutover || n.Detail != want {
			t.Fatalf("notice %+v, want cutover %s", n, want)
		}
	}
	if len(other.Notices()) != 0 {
		t.Fatal("a notice for one session reached another")
	}

	// Session 0: for every session of the connection.
	srv.notifyAll(ipc.NoticeLine, "cardnet 127.0.0.1:7700 signed_on")
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ss := range []*Session{s, other} {
		if n := <-ss.Notices(); n.Kind != ipc.NoticeLine || n.Detail != "cardnet 127.0.0.1:7700 signed_on" {
			t.Fatalf("%+v", n)
		}
	}
}

// The daemon says why (code 1) and closes: outstanding and later calls fail
// with ErrClosed wrapping its reason; notice channels close.
func TestServerCloses(t *testing.T) {
	srv, addr := unixServer(t)
	c := dial(t, addr)
	s := open(t, c, "cardnet")
	ctx := context.Background()

	held := make(chan error, 1)
	go func() {
		_, err := s.Do(ctx, sale("hold-1", 1))
		held <- err
	}()
	for srv.heldCount() == 0 {
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Do(ctx, sale("close-1", 1))
	if !errors.Is(err, ErrClosed) || !errors.Is(err, ipc.ErrMalformed) {
		t.Fatalf("Do when the server closes: %v", err)
	}
	if err := <-held; !errors.Is(err, ErrClosed) {
		t.Fatalf("outstanding Do: %v", err)
	}
	if _, err := s.Do(ctx, sale("later", 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after close: %v", err)
	}
	if _, ok := <-s.Notices(); ok {
		t.Fatal("notice channel open after the connection ended")
	}
	if err := c.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

func TestClientClose(t *testing.T) {
	srv, addr := unixServer(t)
	c := dial(t, addr)
	s := open(t, c, "cardnet")
	held := make(chan error, 1)
	go func() {
		_, err := s.Do(context.Background(), sale("hold-1", 1))
		held <- err
	}()
	for srv.heldCount() == 0 {
		if err := c.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if err := <-held; !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if _, err := s.Do(context.Background(), sale("x", 1)); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	c.Close() // idempotent
}

// A peer that sends garbage ends the connection with code 1.
func TestMalformedFromPeer(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "bad.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 1024)
		conn.Read(buf)
		conn.Write([]byte{0xff, 0xff, 0xff, 0xff})
		conn.Read(buf) // until the client hangs up
	}()
	c := dial(t, ln.Addr().String())
	err = c.Ping(context.Background())
	if !errors.Is(err, ErrClosed) || !errors.Is(err, ipc.ErrMalformed) {
		t.Fatalf("%v", err)
	}
}

func TestTokenAndTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	srv := serveOn(t, ln)
	srv.token = "s3cret"
	ctx := context.Background()

	if _, err := Dial(ctx, "tcp", ln.Addr().String()); err != nil {
		// A plain client against a TLS listener fails at the first exchange, not at dial.
		t.Fatal(err)
	}
	if _, err := Dial(ctx, "tcp", ln.Addr().String(), WithTLS(&tls.Config{})); err == nil {
		t.Fatal("a certificate from an unknown CA was accepted")
	}

	tcfg := &tls.Config{RootCAs: pool}
	c, err := Dial(ctx, "tcp", ln.Addr().String(), WithTLS(tcfg))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.OpenSession(ctx, "cardnet"); !errors.Is(err, ipc.ErrUnauthorized) {
		t.Fatalf("without token: %v", err)
	}
	c2, err := Dial(ctx, "tcp", ln.Addr().String(), WithTLS(tcfg), WithToken("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	s, err := c2.OpenSession(ctx, "cardnet")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Do(ctx, sale("tls-1", 10)); err != nil || r.Result != ipc.ResultApproved {
		t.Fatalf("%+v %v", r, err)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fxd test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestOptions(t *testing.T) {
	var o Options
	o.EnsureDefaults()
	if err := o.Validate(); err != nil || o.MaxOutstanding != DefaultMaxOutstanding || o.NoticeBuffer != DefaultNoticeBuffer {
		t.Fatalf("%+v %v", o, err)
	}
	for _, bad := range []Options{
		{MaxOutstanding: -1, NoticeBuffer: 1, ReadBufferBytes: DefaultReadBufferBytes},
		{MaxOutstanding: 1, NoticeBuffer: -1, ReadBufferBytes: DefaultReadBufferBytes},
		{MaxOutstanding: 1, NoticeBuffer: 1, ReadBufferBytes: 1000},
		{MaxOutstanding: 1, NoticeBuffer: 1, ReadBufferBytes: DefaultReadBufferBytes, Token: strings.Repeat("t", 70000)},
	} {
		if err := bad.Validate(); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := Dial(context.Background(), "unix", "/nonexistent", WithMaxOutstanding(-5)); !errors.Is(err, ErrOptions) {
		t.Fatal(err)
	}
	if _, err := Dial(context.Background(), "unix", filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Fatal("dial of a missing socket")
	}
}

// BenchmarkClientDo: 64 goroutines per core pipelining sales on one
// connection to the in-test server (which shares the machine), over a Unix
// socket and over loopback TCP.
func BenchmarkClientDo(b *testing.B) {
	for _, network := range []string{"unix", "tcp"} {
		b.Run(network, func(b *testing.B) {
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(b.TempDir(), "fxd.sock")
			}
			srv := newTestServer(b, network, addr)
			srv.forget = true
			c, err := Dial(context.Background(), network, srv.ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			s := open(b, c, "cardnet")
			b.ReportAllocs()
			b.SetParallelism(64)
			b.RunParallel(func(pb *testing.PB) {
				req := sale("bench", 1500)
				for pb.Next() {
					if _, err := s.Do(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// A request that cannot be framed fails locally; the connection carries on.
func TestOversizeRequest(t *testing.T) {
	_, addr := unixServer(t)
	c := dial(t, addr)
	s := open(t, c, "cardnet")
	ctx := context.Background()
	huge := sale("big", 1)
	huge.Merchant = strings.Repeat("m", ipc.MaxFieldValue+1)
	if _, err := s.Do(ctx, huge); !errors.Is(err, ipc.ErrFieldTooLarge) {
		t.Fatalf("field too large: %v", err)
	}
	huge.Merchant = strings.Repeat("m", ipc.MaxFieldValue)
	huge.Terminal = strings.Repeat("t", ipc.MaxFieldValue)
	if _, err := s.Do(ctx, huge); !errors.Is(err, ipc.ErrFrameTooLarge) {
		t.Fatalf("frame too large: %v", err)
	}
	if r, err := s.Do(ctx, sale("small", 1)); err != nil || r.RRN != "small" {
		t.Fatalf("after a refused frame: %+v %v", r, err)
	}
}

// Daemon-side validation errors pass through unchanged for every field.
func TestInvalidFieldsPassThrough(t *testing.T) {
	_, addr := unixServer(t)
	c := dial(t, addr)
	s := open(t, c, "cardnet")
	for field, mutate := range map[string]func(*Request){
		"ref":      func(r *Request) { r.Ref = strings.Repeat("r", 33) },
		"expiry":   func(r *Request) { r.Expiry = "2899" },
		"currency": func(r *Request) { r.Currency = "JPY" },
		"terminal": func(r *Request) { r.Terminal = "TOOLONG01" },
		"amount":   func(r *Request) { r.Amount = 1_000_000_000_000 },
	} {
		req := sale("inv-"+field, 1)
		mutate(req)
		_, err := s.Do(context.Background(), req)
		var e *ipc.Error
		if !errors.As(err, &e) || e.Code != ipc.CodeInvalidField || !strings.HasPrefix(e.Text, "field "+field+":") {
			t.Errorf("%s: %v", field, err)
		}
	}
}

// scriptedPeer answers each frame the client sends with what reply returns,
// written one byte at a time, so the reader sees every possible split.
func scriptedPeer(t *testing.T, reply func(f *ipc.Frame) []byte) string {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "peer.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		var buf []byte
		tmp := make([]byte, 4096)
		for {
			n, err := conn.Read(tmp)
			if err != nil {
				return
			}
			buf = append(buf, tmp[:n]...)
			for {
				frame, fn, err := ipc.Split(buf)
				if err != nil || frame == nil {
					break
				}
				var f ipc.Frame
				if f.Parse(frame) == nil {
					for _, c := range reply(&f) {
						if _, err := conn.Write([]byte{c}); err != nil {
							return
						}
					}
				}
				buf = buf[fn:]
			}
		}
	}()
	return ln.Addr().String()
}

func TestReaderEdgeCases(t *testing.T) {
	addr := scriptedPeer(t, func(f *ipc.Frame) []byte {
		var out []byte
		// A reply nobody waits for, and a kind from a newer version.
		b := ipc.Begin(nil, ipc.KindPong, 0, 999999)
		out, _ = b.Finish()
		b = ipc.Begin(out, 42, 0, f.Correlation())
		out, _ = b.Finish()
		switch string(f.Field(ipc.TagRef)) {
		case "wrong-kind":
			b = ipc.Begin(out, ipc.KindPong, f.Session(), f.Correlation())
		case "no-result":
			b = ipc.Begin(out, ipc.KindResponse, f.Session(), f.Correlation())
		default:
			switch f.Kind() {
			case ipc.KindOpenSession:
				b = ipc.Begin(out, ipc.KindSessionOpened, 77, f.Correlation())
			case ipc.KindPing:
				b = ipc.Begin(out, ipc.KindPong, 0, f.Correlation())
			default:
				b = ipc.Begin(out, ipc.KindResponse, f.Session(), f.Correlation())
				b.Str(ipc.TagResult, "approved")
				b.Str(ipc.TagRRN, strings.Repeat("9", 200)) // longer than the reader's scratch
			}
		}
		out, _ = b.Finish()
		return out
	})
	c := dial(t, addr)
	ctx := context.Background()
	s := open(t, c, "cardnet")
	if s.ID() != 77 {
		t.Fatalf("session %d", s.ID())
	}
	if _, err := s.Do(ctx, sale("wrong-kind", 1)); !errors.Is(err, ErrUnexpectedReply) {
		t.Fatalf("wrong kind: %v", err)
	}
	if _, err := s.Do(ctx, sale("no-result", 1)); !errors.Is(err, ipc.ErrMalformed) {
		t.Fatalf("response without result: %v", err)
	}
	r, err := s.Do(ctx, sale("ok", 1))
	if err != nil || r.Result != ipc.ResultApproved || len(r.RRN) != 200 {
		t.Fatalf("%+v %v", r, err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.LateReplies(); n != 5 {
		t.Fatalf("late replies %d, want 5 (one per exchange)", n)
	}
}
