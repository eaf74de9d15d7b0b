package tlsbridge

import (
	"context"
	"github.com/fxswitch/fxswitch/switch/tlsbridge/tlstest"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// echoEngine is a gnet server that echoes, like the daemon's IPC engine
// would answer; its own listener is not used by the test.
type echoEngine struct {
	gnet.BuiltinEventEngine
	booted chan gnet.Engine
	opened chan struct{}
}

func (e *echoEngine) OnOpen(gnet.Conn) ([]byte, gnet.Action) {
	select {
	case e.opened <- struct{}{}:
	default:
	}
	return nil, gnet.None
}

func (e *echoEngine) OnBoot(eng gnet.Engine) gnet.Action {
	e.booted <- eng
	return gnet.None
}

func (e *echoEngine) OnTraffic(c gnet.Conn) gnet.Action {
	b, _ := c.Next(-1)
	_, _ = c.Write(b)
	return gnet.None
}

// lineHandler is a gnet client handler collecting what arrives.
type lineHandler struct {
	gnet.BuiltinEventEngine
	got    chan []byte
	closed chan struct{}
}

func (h *lineHandler) OnTraffic(c gnet.Conn) gnet.Action {
	b, _ := c.Next(-1)
	h.got <- append([]byte(nil), b...)
	return gnet.None
}

func (h *lineHandler) OnClose(gnet.Conn, error) gnet.Action {
	close(h.closed)
	return gnet.None
}

// TestGnetBothSides runs the bridge the way fxd will: the server side's
// plain end registered with a gnet engine, the client side's enrolled with
// a gnet client; bytes go line → TLS → engine and back.
func TestGnetBothSides(t *testing.T) {
	ca := tlstest.New(t, "ca")
	cert, key := ca.Valid(t, "fxd", true)

	ee := &echoEngine{booted: make(chan gnet.Engine, 1), opened: make(chan struct{}, 1)}
	runDone := make(chan error, 1)
	sock := filepath.Join(t.TempDir(), "ipc.sock")
	go func() {
		runDone <- gnet.Run(ee, "unix://"+sock, gnet.WithNumEventLoop(1), gnet.WithLogger(quiet{}))
	}()
	var eng gnet.Engine
	select {
	case eng = <-ee.booted:
	case err := <-runDone:
		t.Fatal(err)
	}
	// OnBoot runs before the event loops are set up; one connection through
	// the engine's own listener shows they are serving (and orders the
	// engine's setup before Register).
	probe, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	<-ee.opened
	probe.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioDeadline)
		defer cancel()
		_ = eng.Stop(ctx)
		<-runDone
	}()

	registered := make(chan error, 1)
	_, addr := startServer(t, ServerConfig{CertFile: cert, KeyFile: key}, func(plain net.Conn, _ *Peer) {
		res, err := eng.Register(gnet.NewNetConnContext(context.Background(), plain))
		if err == nil {
			r := <-res
			err = r.Err
		}
		registered <- err
	})

	h := &lineHandler{got: make(chan []byte, 16), closed: make(chan struct{})}
	cli, err := gnet.NewClient(h, gnet.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	defer cli.Stop()

	plain, err := DialTLS(context.Background(), addr, ClientConfig{CAFile: ca.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	gc, err := cli.EnrollContext(plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-registered; err != nil {
		t.Fatalf("register with the engine: %v", err)
	}
	want := "0200 through TLS and gnet"
	if err := gc.AsyncWrite([]byte(want), nil); err != nil {
		t.Fatal(err)
	}
	var got []byte
	deadline := time.After(ioDeadline)
	for len(got) < len(want) {
		select {
		case b := <-h.got:
			got = append(got, b...)
		case <-deadline:
			t.Fatalf("echo through gnet: got %q", got)
		}
	}
	if string(got) != want {
		t.Fatalf("echo %q", got)
	}
	// Closing the line's gnet connection reaches the engine, whose close
	// comes back: the client's OnClose runs.
	if err := gc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.closed:
	case <-time.After(ioDeadline):
		t.Fatal("gnet line never closed")
	}
}

type quiet struct{}

func (quiet) Debugf(string, ...any) {}
func (quiet) Infof(string, ...any)  {}
func (quiet) Warnf(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(string, ...any) {}
