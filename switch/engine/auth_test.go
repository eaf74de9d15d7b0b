package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
	"github.com/fxswitch/fxswitch/sim"
	"github.com/fxswitch/fxswitch/switch/auth"
	"github.com/fxswitch/fxswitch/switch/config"
)

func TestAppTokens(t *testing.T) {
	tok, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, sim.Options{}, func(c *config.Config) { useTokens(t, c, "pos", hash) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.e.Signon(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "not-the-token"} {
		var opts []client.Option
		if bad != "" {
			opts = append(opts, client.WithToken(bad))
		}
		cl, err := client.Dial(ctx, "unix", h.e.IPCUnix, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.OpenSession(ctx, "cardnet")
		wantCode(t, err, ipc.CodeUnauthorized)
		// The connection is closed after the refusal.
		if _, err := cl.OpenSession(ctx, "cardnet"); err == nil {
			t.Fatal("connection still usable after an unauthorized OpenSession")
		}
		cl.Close()
	}
	if n := h.e.authFailures.Load(); n != 2 {
		t.Fatalf("auth failures counted %d, want 2", n)
	}
	cl, err := client.Dial(ctx, "unix", h.e.IPCUnix, client.WithToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	s, err := cl.OpenSession(ctx, "cardnet")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Do(ctx, sale("P1", 1000)); err != nil || res.Result != ipc.ResultApproved {
		t.Fatalf("sale: %+v %v", res, err)
	}
	// The app id is recorded with the request.
	req, _, err := h.e.wal.LookupRef("cardnet", "pos", "P1")
	if err != nil || req.AppID != "pos" {
		t.Fatalf("WAL record: %+v %v", req, err)
	}
}

// useTokens makes c require app tokens, with one app whose token hashes to hash.
func useTokens(t *testing.T, c *config.Config, app, hash string) {
	t.Helper()
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.DataDir, "apps.yaml"), []byte("apps:\n  "+app+": \""+hash+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.AppTokens = "apps.yaml"
}

func TestNonLoopbackTCPRefused(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.IPC = config.IPC{TCP: "0.0.0.0:0"}
	cfg.Ctl = config.Ctl{}
	e, err := New(Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Start(); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("Start: %v, want a refusal naming loopback", err)
	}
}

func TestConnectionsPerApp(t *testing.T) {
	tok, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, sim.Options{}, func(c *config.Config) {
		useTokens(t, c, "pos", hash)
		c.Limits.MaxConnectionsPerApp = 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, err := client.Dial(ctx, "unix", h.e.IPCUnix, client.WithToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.OpenSession(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
	// More sessions on the same connection are fine; another connection is not.
	if _, err := first.OpenSession(ctx, "cafis"); err != nil {
		t.Fatal(err)
	}
	second, err := client.Dial(ctx, "unix", h.e.IPCUnix, client.WithToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_, err = second.OpenSession(ctx, "cardnet")
	wantCode(t, err, ipc.CodeBusy)
	first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = second.OpenSession(ctx, "cardnet")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not given back after the first connection closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
