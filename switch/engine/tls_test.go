package engine

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
	"github.com/fxswitch/fxswitch/sim"
	"github.com/fxswitch/fxswitch/switch/auth"
	"github.com/fxswitch/fxswitch/switch/config"
	"github.com/fxswitch/fxswitch/switch/tlsbridge"
	"github.com/fxswitch/fxswitch/switch/tlsbridge/tlstest"
)

// tlsFront terminates TLS (with client certificates) in front of a plain
// center address, as a network's TLS gateway would.
func tlsFront(t *testing.T, backend string, cert, key, clientCA string) string {
	t.Helper()
	srv, err := tlsbridge.NewServer(tlsbridge.ServerConfig{CertFile: cert, KeyFile: key, ClientCAFile: clientCA})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Accept(ln, func(plain net.Conn, _ *tlsbridge.Peer) {
		up, err := net.Dial("tcp", backend)
		if err != nil {
			plain.Close()
			return
		}
		go func() { io.Copy(up, plain); up.Close() }()
		go func() { io.Copy(plain, up); plain.Close() }()
	})
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestTLSOnIPCAndLines(t *testing.T) {
	ca := tlstest.New(t, "fxswitch-test")
	srvCert, srvKey := ca.Valid(t, "localhost", true)
	cliCert, cliKey := ca.Valid(t, "fxd", false)
	tok, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	var front string
	h := newHarness(t, sim.Options{}, func(c *config.Config) {
		useTokens(t, c, "pos", hash)
		c.IPC.TCP = "127.0.0.1:0"
		c.IPC.TLS = &config.TLSServer{CertFile: srvCert, KeyFile: srvKey}
		cc := c.Centers["cardnet"]
		front = tlsFront(t, cc.Lines[0], srvCert, srvKey, ca.CAFile)
		cc.Lines = []string{front}
		cc.TLS = &config.TLSClient{CAFile: ca.CAFile, CertFile: cliCert, KeyFile: cliKey, ServerName: "localhost"}
		c.Centers["cardnet"] = cc
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.e.Signon(ctx, "cardnet"); err != nil {
		t.Fatalf("signon over a TLS line: %v", err)
	}
	cl, err := client.Dial(ctx, "tcp", h.e.IPCTCP, client.WithToken(tok),
		client.WithTLS(&tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS13}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	s, err := cl.OpenSession(ctx, "cardnet")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Do(ctx, sale("TLS1", 1000)); err != nil || res.Result != ipc.ResultApproved {
		t.Fatalf("sale over TLS: %+v %v", res, err)
	}
	// Plain TCP to the TLS listener gets nowhere.
	if plain, err := client.Dial(ctx, "tcp", h.e.IPCTCP); err == nil {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		if _, err := plain.OpenSession(pctx, "cardnet"); err == nil {
			t.Fatal("a plaintext client opened a session on the TLS listener")
		}
		pcancel()
		plain.Close()
	}
	if err := h.e.ReloadTLS(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if res, err := s.Do(ctx, sale("TLS2", 1000)); err != nil || res.Result != ipc.ResultApproved {
		t.Fatalf("sale after reload on the same connection: %+v %v", res, err)
	}
}

func TestTLSLineRefusesExpiredCenterCertificate(t *testing.T) {
	ca := tlstest.New(t, "fxswitch-test")
	oldCert, oldKey := ca.Expired(t, "localhost", true)
	pair, err := tls.LoadX509KeyPair(oldCert, oldKey)
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
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	h := newHarness(t, sim.Options{}, func(c *config.Config) {
		cc := c.Centers["cardnet"]
		cc.Lines = []string{ln.Addr().String()}
		cc.TLS = &config.TLSClient{CAFile: ca.CAFile, ServerName: "localhost"}
		cc.Timeout = config.Duration(500 * time.Millisecond)
		c.Centers["cardnet"] = cc
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.e.Signon(ctx, "cardnet"); err == nil {
		t.Fatal("signed on through a center presenting an expired certificate")
	}
}

func TestAdminOverTLS(t *testing.T) {
	ca := tlstest.New(t, "fxswitch-test")
	cert, key := ca.Valid(t, "localhost", true)
	h := newHarness(t, sim.Options{}, func(c *config.Config) {
		c.Admin = "127.0.0.1:0"
		c.AdminTLS = &config.TLSServer{CertFile: cert, KeyFile: key}
	})
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}}}
	resp, err := cl.Get("https://" + h.e.AdminAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
		t.Fatalf("/healthz over TLS: %d %+v", resp.StatusCode, resp.TLS)
	}
	// Plain HTTP gets nowhere.
	if resp, err := http.Get("http://" + h.e.AdminAddr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served on the TLS admin listener")
		}
	}
}

func TestIPCTLSRefusesExpiredCertificate(t *testing.T) {
	ca := tlstest.New(t, "fxswitch-test")
	cert, key := ca.Expired(t, "localhost", true)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.IPC = config.IPC{TCP: "127.0.0.1:0", TLS: &config.TLSServer{CertFile: cert, KeyFile: key}}
	cfg.Ctl = config.Ctl{}
	e, err := New(Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Start(); err == nil || !strings.Contains(err.Error(), "ipc.tls") {
		t.Fatalf("Start with an expired IPC certificate: %v", err)
	}
}
