package line

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/switch/outbox"
)

// echoServer accepts connections and echoes bytes back; conns lets the test
// drop them.
type echoServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newEchoServer(t *testing.T) *echoServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go io.Copy(c, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); s.dropAll() })
	return s
}

func (s *echoServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

type recorder struct {
	mu     sync.Mutex
	frames []string
	states []State
	cond   chan struct{}
}

func (r *recorder) frame(_ *Line, p []byte) {
	r.mu.Lock()
	r.frames = append(r.frames, string(p))
	r.mu.Unlock()
	r.cond <- struct{}{}
}

func (r *recorder) state(_ *Line, s State) {
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
	r.cond <- struct{}{}
}

func waitFor(t *testing.T, r *recorder, ok func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		done := ok()
		r.mu.Unlock()
		if done {
			return
		}
		select {
		case <-r.cond:
		case <-deadline:
			t.Fatalf("condition not reached; states %v frames %d", r.states, len(r.frames))
		}
	}
}

func frame(t *testing.T, payload string) []byte {
	b, err := codec.FrameBin2.AppendFrame(nil, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLineFramesAndReconnect(t *testing.T) {
	srv := newEchoServer(t)
	r := &recorder{cond: make(chan struct{}, 1024)}
	p, err := NewPool(Options{
		Split:        func(b []byte) ([]byte, int, error) { return codec.FrameBin2.Split(b, 4096) },
		OnFrame:      r.frame,
		OnState:      r.state,
		ReconnectMin: 10 * time.Millisecond,
		ReconnectMax: 50 * time.Millisecond,
		Rand:         rand.New(rand.NewPCG(1, 2)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l := p.Add(srv.ln.Addr().String())
	waitFor(t, r, func() bool { return l.State() == Connected })

	// Many frames queued from several goroutines arrive whole.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				b := outbox.Get()
				b.B = append(b.B[:0], frame(t, string(rune('a'+g))+"-payload")...)
				if err := l.Send(b); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	waitFor(t, r, func() bool { return len(r.frames) == 200 })
	for _, f := range r.frames {
		if len(f) != len("a-payload") {
			t.Fatalf("frame %q split or merged", f)
		}
	}

	// SetSignedOn moves the state; a dropped connection goes down and comes back.
	l.SetSignedOn(true)
	if l.State() != SignedOn {
		t.Fatalf("state %v", l.State())
	}
	srv.dropAll()
	waitFor(t, r, func() bool {
		n := len(r.states)
		return n >= 3 && r.states[n-1] == Connected && l.Reconnects() >= 1
	})
	sawDown := false
	for _, s := range r.states {
		if s == Down {
			sawDown = true
		}
	}
	if !sawDown {
		t.Fatalf("states %v: never down", r.states)
	}
}

func TestSendWithoutConnection(t *testing.T) {
	// A port nobody listens on: the line keeps retrying and refuses Send.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &recorder{cond: make(chan struct{}, 1024)}
	p, err := NewPool(Options{
		Split:        func(b []byte) ([]byte, int, error) { return codec.FrameBin2.Split(b, 4096) },
		OnFrame:      r.frame,
		OnState:      r.state,
		ReconnectMin: 5 * time.Millisecond,
		ReconnectMax: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l := p.Add(addr)
	waitFor(t, r, func() bool { return len(r.states) >= 4 })
	if err := l.Send(outbox.Get()); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send: %v, want ErrNotConnected", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	if _, err := NewPool(Options{}); err == nil {
		t.Fatal("missing callbacks accepted")
	}
}
