package engine

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
	"github.com/fxswitch/fxswitch/sim"
	"github.com/fxswitch/fxswitch/switch/config"
)

// closedWithin reports whether the daemon closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

func TestHostileConnections(t *testing.T) {
	h := newHarness(t, sim.Options{}, func(c *config.Config) {
		c.Limits.ReadTimeout = config.Duration(300 * time.Millisecond)
		c.Limits.IdleTimeout = config.Duration(300 * time.Millisecond)
		c.Limits.MaxConnections = 4
		c.Limits.MaxSessionsPerApp = 2
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.e.Signon(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
	// A working app with a session, which must keep being served throughout.
	good, err := client.Dial(ctx, "unix", h.e.IPCUnix)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	s, err := good.OpenSession(ctx, "cardnet")
	if err != nil {
		t.Fatal(err)
	}

	// A slow sender: half a header, then nothing.
	slow, err := net.Dial("unix", h.e.IPCUnix)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte{0, 0, 0, 40, 1, 5, 0}); err != nil {
		t.Fatal(err)
	}
	// An idle connection that never opens a session.
	idle, err := net.Dial("unix", h.e.IPCUnix)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if !closedWithin(slow, 10*time.Second) {
		t.Fatal("a connection with an unfinished frame was not closed after read_timeout")
	}
	if !closedWithin(idle, 10*time.Second) {
		t.Fatal("an idle connection without a session was not closed after idle_timeout")
	}
	if n := h.e.reapedConns.Load(); n < 2 {
		t.Fatalf("reaped %d connections", n)
	}
	// The app with a session was idle as long, and is still served.
	if res, err := s.Do(ctx, sale("H1", 1000)); err != nil || res.Result != ipc.ResultApproved {
		t.Fatalf("good app: %+v %v", res, err)
	}

	// Per-app session cap (the default app id "" here): 2 sessions.
	if _, err := good.OpenSession(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
	_, err = good.OpenSession(ctx, "cardnet")
	wantCode(t, err, ipc.CodeBusy)

	// Connection cap: 4 in all; the fifth is refused on arrival.
	var extra []*client.Client
	for i := 0; i < 4; i++ {
		c, err := client.Dial(ctx, "unix", h.e.IPCUnix)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		extra = append(extra, c)
	}
	pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
	defer pcancel()
	for _, c := range extra[:3] {
		if err := c.Ping(pctx); err != nil {
			t.Fatalf("a connection within max_connections: %v", err)
		}
	}
	if err := extra[3].Ping(pctx); err == nil {
		t.Fatal("a connection beyond max_connections was served")
	}
	if h.e.refusedConns.Load() == 0 {
		t.Fatal("refused connection not counted")
	}
	if res, err := s.Do(ctx, sale("H2", 1000)); err != nil || res.Result != ipc.ResultApproved {
		t.Fatalf("good app after the flood: %+v %v", res, err)
	}
}

// An app that sends only invalid requests is cut off after a bound; the
// others are not affected.
func TestInvalidRequestFloodClosed(t *testing.T) {
	h := newHarness(t, sim.Options{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.e.Signon(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
	_, good := h.session("cardnet")
	_, bad := h.session("cardnet")
	bogus := &client.Request{Op: ipc.OpSale, Ref: "B", Amount: 1} // no PAN, expiry, currency
	for i := 0; i < maxInvalidStreak-1; i++ {
		_, err := bad.Do(ctx, bogus)
		wantCode(t, err, ipc.CodeInvalidField)
	}
	// A valid request resets the count; then the bound closes the connection.
	if res, err := bad.Do(ctx, sale("V1", 1000)); err != nil || res.Result != ipc.ResultApproved {
		t.Fatalf("valid request between invalid ones: %+v %v", res, err)
	}
	for i := 0; i < maxInvalidStreak; i++ {
		_, _ = bad.Do(ctx, bogus)
	}
	if _, err := bad.Do(ctx, sale("V2", 1000)); err == nil {
		t.Fatal("the flooding connection is still served")
	}
	if h.e.invalidClosed.Load() != 1 {
		t.Fatalf("closed %d connections for invalid floods", h.e.invalidClosed.Load())
	}
	if res, err := good.Do(ctx, sale("G1", 1000)); err != nil || res.Result != ipc.ResultApproved {
		t.Fatalf("other app: %+v %v", res, err)
	}
}
