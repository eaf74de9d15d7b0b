package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
)

// rawConn speaks IPC frames by hand, to send what the client never would.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	rb []byte
}

func dialRaw(t *testing.T, sock string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c}
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	_ = r.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// read returns the next frame, or the read error (io.EOF once the daemon
// closed the connection).
func (r *rawConn) read() (*ipc.Frame, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	for {
		frame, n, err := ipc.Split(r.rb)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			b := append([]byte(nil), frame...)
			r.rb = r.rb[n:]
			var f ipc.Frame
			if err := f.Parse(b); err != nil {
				return nil, err
			}
			return &f, nil
		}
		m, err := r.c.Read(buf)
		r.rb = append(r.rb, buf[:m]...)
		if err != nil && m == 0 {
			return nil, err
		}
	}
}

// expectError reads the next frame and checks it is an Error with code.
func (r *rawConn) expectError(code ipc.Code, corr uint64) *ipc.Error {
	r.t.Helper()
	f, err := r.read()
	if err != nil {
		r.t.Fatalf("want error %d, read: %v", code, err)
	}
	if f.Kind() != ipc.KindError {
		r.t.Fatalf("want error %d, got kind %s", code, f.Kind())
	}
	e := ipc.ErrorOf(f)
	if e.Code != code || f.Correlation() != corr {
		r.t.Fatalf("got error %d %q (correlation %d), want code %d (correlation %d)", e.Code, e.Text, f.Correlation(), code, corr)
	}
	return e
}

// expectClosed checks that the daemon closed the connection.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	f, err := r.read()
	if err == nil {
		r.t.Fatalf("connection still open: got kind %s", f.Kind())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		r.t.Fatal("connection not closed by the daemon")
	}
}

// ping checks that the connection is still served.
func (r *rawConn) ping(corr uint64) {
	r.t.Helper()
	b := ipc.Begin(nil, ipc.KindPing, 0, corr)
	frame, _ := b.Finish()
	r.write(frame)
	f, err := r.read()
	if err != nil || f.Kind() != ipc.KindPong || f.Correlation() != corr {
		r.t.Fatalf("ping: %v %v", f, err)
	}
}

func frame(kind ipc.Kind, session, corr uint64, fields ...string) []byte {
	b := ipc.Begin(nil, kind, session, corr)
	for i := 0; i+1 < len(fields); i += 2 {
		b.Str(ipc.Tag(fields[i][0]), fields[i+1])
	}
	out, err := b.Finish()
	if err != nil {
		panic(err)
	}
	return out
}

func wantCode(t *testing.T, err error, code ipc.Code) *ipc.Error {
	t.Helper()
	var ie *ipc.Error
	if !errors.As(err, &ie) || ie.Code != code {
		t.Fatalf("error %v, want code %d (%s)", err, code, code)
	}
	return ie
}

// TestBadInput sends a running fxd what a broken or hostile app would, each
// on its own connection, and checks every answer's code and that a good
// session on another connection is served before and after each.
func TestBadInput(t *testing.T) {
	w, ctx := newWorld(t, Options{})
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	good, err := client.Dial(rctx, "unix", w.IPCSock)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()

	// Request before signon (開局 not done): 11.
	s, err := good.OpenSession(rctx, "cafis")
	if err == nil {
		_, err = s.Do(rctx, Request(ipc.OpSale, "early-1", 1000, "T0000001"))
	}
	wantCode(t, err, ipc.CodeNotSignedOn)

	ctlOK(t, ctx, w, "signon")
	gs, err := good.OpenSession(rctx, "cardnet")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	served := func(step string) {
		t.Helper()
		n++
		res, err := gs.Do(rctx, Request(ipc.OpSale, "good-"+strings.ReplaceAll(step, " ", "-")+"-"+string(rune('a'+n%26)), 1200, "T0000001"))
		if err != nil || res.Result != ipc.ResultApproved {
			t.Fatalf("after %s the good session got %+v, %v", step, res, err)
		}
	}
	served("start")

	// Unknown center: 10.
	_, err = good.OpenSession(rctx, "visa")
	wantCode(t, err, ipc.CodeUnknownCenter)
	served("unknown center")

	// Invalid fields: 15, the text naming the field.
	cases := []struct {
		field string
		req   *client.Request
	}{
		{"pan", &client.Request{Op: ipc.OpSale, Ref: "bad-pan", PAN: "41111111x1111111", Expiry: "2912", Amount: 100, Currency: "392", Terminal: "T1", Merchant: "M1"}},
		{"currency", &client.Request{Op: ipc.OpSale, Ref: "bad-currency", PAN: "4111111111111111", Expiry: "2912", Amount: 100, Currency: "39A", Terminal: "T1", Merchant: "M1"}},
		{"op", &client.Request{Op: ipc.Op(77), Ref: "bad-op"}},
		{"expiry", &client.Request{Op: ipc.OpSale, Ref: "bad-expiry", PAN: "4111111111111111", Expiry: "2913", Amount: 100, Currency: "392", Terminal: "T1", Merchant: "M1"}},
		{"ref", &client.Request{Op: ipc.OpSale, Ref: strings.Repeat("r", 40), PAN: "4111111111111111", Expiry: "2912", Amount: 100, Currency: "392", Terminal: "T1", Merchant: "M1"}},
	}
	for _, c := range cases {
		_, err := gs.Do(rctx, c.req)
		t.Logf("invalid %s: %v", c.field, err)
		ie := wantCode(t, err, ipc.CodeInvalidField)
		if !strings.Contains(strings.ToLower(ie.Text), c.field) {
			t.Fatalf("invalid %s: text %q does not name the field", c.field, ie.Text)
		}
	}
	served("invalid fields")

	// Unknown session: 12, the connection stays.
	r := dialRaw(t, w.IPCSock)
	r.write(frame(ipc.KindRequest, 987654321, 7, "\x02", "sale", "\x03", "ghost-1"))
	r.expectError(ipc.CodeUnknownSession, 7)
	r.write(frame(ipc.KindCloseSession, 987654321, 8))
	r.expectError(ipc.CodeUnknownSession, 8)
	r.ping(9)
	served("unknown session")

	// Unknown kind: 3, the connection stays.
	r = dialRaw(t, w.IPCSock)
	f := frame(ipc.KindPing, 0, 11)
	f[5] = 99
	r.write(f)
	r.expectError(ipc.CodeUnknownKind, 11)
	r.ping(12)
	served("unknown kind")

	// Unsupported version: 2, the connection stays.
	r = dialRaw(t, w.IPCSock)
	f = frame(ipc.KindPing, 0, 21)
	f[4] = 2
	r.write(f)
	r.expectError(ipc.CodeUnsupportedVersion, 21)
	r.ping(22)
	served("bad version")

	// Malformed: a field longer than the frame: 1, then the connection is closed.
	r = dialRaw(t, w.IPCSock)
	f = frame(ipc.KindOpenSession, 0, 31, "\x01", "cardnet")
	binary.BigEndian.PutUint16(f[ipc.HeaderSize+2:], 500)
	r.write(f)
	r.expectError(ipc.CodeMalformed, 0)
	r.expectClosed()
	served("malformed frame")

	// Malformed: a length below the header: 1, closed.
	r = dialRaw(t, w.IPCSock)
	r.write([]byte{0, 0, 0, 3, 1, 2, 3})
	r.expectError(ipc.CodeMalformed, 0)
	r.expectClosed()
	served("short frame")

	// Oversize: a length prefix beyond the 65,536 limit is refused as soon
	// as the prefix arrives: 1, closed.
	r = dialRaw(t, w.IPCSock)
	big := make([]byte, 4+1024)
	binary.BigEndian.PutUint32(big, ipc.MaxFrame+1)
	r.write(big)
	r.expectError(ipc.CodeMalformed, 0)
	r.expectClosed()
	served("oversize frame")

	if err := good.Ping(rctx); err != nil {
		t.Fatalf("good connection: %v", err)
	}
	if err := gs.CloseSession(rctx); err != nil {
		t.Fatal(err)
	}
	// A closed session is unknown: 12.
	_, err = gs.Do(rctx, Request(ipc.OpSale, "after-close", 100, "T0000001"))
	wantCode(t, err, ipc.CodeUnknownSession)
}
