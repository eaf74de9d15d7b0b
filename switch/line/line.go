// Package line keeps the TCP lines to a center up.
//
// A line goes down → connecting → connected → signed_on. This package owns
// the first three: it dials, splits inbound bytes into frames, batches
// outbound frames (see switch/outbox) and, when the connection drops,
// reconnects with exponential backoff plus jitter. Signon is the center's
// logical state and belongs to the caller, which marks a line signed on with
// SetSignedOn after its signon exchange and is told of every state change.
//
//	          Dial ok               SetSignedOn(true)
//	down ───► connecting ───► connected ───────────► signed_on
//	 ▲            │ fail           │ drop                 │ drop
//	 └── backoff ◄┴────────────────┴──────────────────────┘
//
// All lines of a daemon share one gnet client (its event loops); frames are
// handed to OnFrame on the line's event loop as views of gnet's inbound
// buffer: the callback must copy what it keeps.
package line

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"

	"github.com/fxswitch/fxswitch/switch/outbox"
)

// State of a line.
type State int32

// Line states in order.
const (
	Down State = iota
	Connecting
	Connected
	SignedOn
)

func (s State) String() string {
	switch s {
	case Down:
		return "down"
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case SignedOn:
		return "signed_on"
	}
	return fmt.Sprintf("state(%d)", int32(s))
}

var (
	// ErrNotConnected: Send on a line that has no connection.
	ErrNotConnected = errors.New("line: not connected")
	// ErrClosed: the pool was closed.
	ErrClosed = errors.New("line: closed")
)

// SplitFunc finds the first complete frame in buf: payload is a view, total
// the bytes to discard; total 0 and no error means "need more".
type SplitFunc func(buf []byte) (payload []byte, total int, err error)

// Options configure a Pool of lines.
type Options struct {
	Split SplitFunc
	// OnFrame receives each inbound frame payload (a view; copy to keep).
	OnFrame func(l *Line, payload []byte)
	// OnState is told of every state change, from any goroutine.
	OnState func(l *Line, s State)
	// ReconnectMin/Max bound the exponential backoff; jitter is ±20%.
	ReconnectMin, ReconnectMax time.Duration
	DialTimeout                time.Duration
	// MaxQueuedFrames bounds the outbox of one line.
	MaxQueuedFrames int
	Logger          *slog.Logger
	// Rand is injected for deterministic backoff in tests.
	Rand *rand.Rand
	// Dial opens the connection (default: TCP). A TLS line passes a dialer
	// that returns the plaintext end of switch/tlsbridge; it must return a
	// *net.TCPConn or *net.UnixConn, which is all gnet can enroll.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// Network replaces TCP and gnet altogether (nil: real connections). The
	// deterministic simulation of the switch core carries its lines in
	// memory with it; Dial is then unused.
	Network Network
	// AfterFunc schedules the redial after a backoff (default time.AfterFunc);
	// injected with Network so that virtual time drives reconnects.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// Clock stamps LastSend/LastRecv (default time.Now).
	Clock func() time.Time
}

func (o *Options) now() time.Time { return o.Clock() }

// Network carries lines without sockets. Its methods are called with no
// lock of the line held; it reports back through the line's Net* methods,
// from any goroutine but never from inside one of its own methods.
type Network interface {
	// Dial starts connecting l: later l.NetUp() or l.NetDialFailed(err).
	Dial(l *Line)
	// Write sends one frame (header included); frame is only valid during
	// the call.
	Write(l *Line, frame []byte) error
	// Hangup closes l's connection: later l.NetDown(err).
	Hangup(l *Line)
}

// EnsureDefaults fills unset options.
func (o *Options) EnsureDefaults() {
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = 100 * time.Millisecond
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = 10 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 3 * time.Second
	}
	if o.MaxQueuedFrames <= 0 {
		o.MaxQueuedFrames = 1 << 16
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.AfterFunc == nil {
		o.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	if o.Dial == nil {
		d := &net.Dialer{}
		o.Dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
}

// Validate reports missing callbacks.
func (o *Options) Validate() error {
	if o.Split == nil || o.OnFrame == nil || o.OnState == nil {
		return errors.New("line: Split, OnFrame and OnState are required")
	}
	return nil
}

// Pool runs the lines of one center (or several) on one gnet client.
type Pool struct {
	opts   Options
	cli    *gnet.Client
	mu     sync.Mutex
	rndMu  sync.Mutex
	closed bool
	lines  []*Line
}

// Line is one connection slot to a center address.
type Line struct {
	pool  *Pool
	Addr  string
	Index int

	state      atomic.Int32
	InFlight   atomic.Int64 // maintained by the caller (requests sent, unanswered)
	reconnects atomic.Int64
	mu         sync.Mutex
	conn       gnet.Conn
	box        *outbox.Box
	backoff    time.Duration
	stopTimer  func() bool
	stopped    bool
	netUp      bool         // Options.Network: the connection is open
	lastRecv   atomic.Int64 // unix nanos of the last inbound frame
	lastSend   atomic.Int64
}

// NewPool starts the shared event loops.
func NewPool(opts Options) (*Pool, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	p := &Pool{opts: opts}
	if opts.Network != nil {
		return p, nil
	}
	cli, err := gnet.NewClient(&handler{p: p}, gnet.WithMulticore(true), gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReadBufferCap(1<<16), gnet.WithWriteBufferCap(1<<16))
	if err != nil {
		return nil, fmt.Errorf("line: %w", err)
	}
	if err := cli.Start(); err != nil {
		return nil, fmt.Errorf("line: %w", err)
	}
	p.cli = cli
	return p, nil
}

// Add creates a line to addr and starts connecting.
func (p *Pool) Add(addr string) *Line {
	p.mu.Lock()
	l := &Line{pool: p, Addr: addr, Index: len(p.lines)}
	p.lines = append(p.lines, l)
	p.mu.Unlock()
	if p.opts.Network != nil {
		l.dial()
	} else {
		go l.dial()
	}
	return l
}

// Close stops every line and the event loops.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	lines := append([]*Line(nil), p.lines...)
	p.mu.Unlock()
	for _, l := range lines {
		l.stop()
	}
	if p.cli == nil {
		return nil
	}
	return p.cli.Stop()
}

// State reports the line's state.
func (l *Line) State() State { return State(l.state.Load()) }

// Reconnects counts the connections lost since start.
func (l *Line) Reconnects() int64 { return l.reconnects.Load() }

// LastRecv is when the last frame arrived (zero time if never).
func (l *Line) LastRecv() time.Time { return time.Unix(0, l.lastRecv.Load()) }

// LastSend is when the last frame was queued.
func (l *Line) LastSend() time.Time { return time.Unix(0, l.lastSend.Load()) }

func (l *Line) setState(s State) {
	if State(l.state.Swap(int32(s))) != s {
		l.pool.opts.OnState(l, s)
	}
}

// SetSignedOn moves a connected line to signed_on (true) or back to connected.
func (l *Line) SetSignedOn(on bool) {
	l.mu.Lock()
	connected := l.conn != nil || l.netUp
	l.mu.Unlock()
	if !connected {
		return
	}
	if on {
		l.setState(SignedOn)
	} else {
		l.setState(Connected)
	}
}

// Send queues one frame (header included) and takes ownership of b.
func (l *Line) Send(b *bytebufferpool.ByteBuffer) error {
	if nw := l.pool.opts.Network; nw != nil {
		return l.netSend(nw, b)
	}
	l.mu.Lock()
	box := l.box
	l.mu.Unlock()
	if box == nil {
		outbox.Put(b)
		return ErrNotConnected
	}
	if err := box.Push(b); err != nil {
		return fmt.Errorf("line %s: %w", l.Addr, err)
	}
	l.lastSend.Store(l.pool.opts.now().UnixNano())
	return nil
}

// Drop closes the current connection (it will reconnect), e.g. after a
// framing error from the center.
func (l *Line) Drop() {
	if nw := l.pool.opts.Network; nw != nil {
		nw.Hangup(l)
		return
	}
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

func (l *Line) stop() {
	l.mu.Lock()
	l.stopped = true
	if l.stopTimer != nil {
		l.stopTimer()
	}
	c, up := l.conn, l.netUp
	l.mu.Unlock()
	if nw := l.pool.opts.Network; nw != nil && up {
		nw.Hangup(l)
	}
	if c != nil {
		_ = c.Close()
	}
}

func (l *Line) dial() {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.setState(Connecting)
	opts := &l.pool.opts
	if opts.Network != nil {
		opts.Network.Dial(l)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.DialTimeout)
	nc, err := opts.Dial(ctx, l.Addr)
	cancel()
	if err == nil {
		// EnrollContext returns once OnOpen has run on the event loop.
		if _, err = l.pool.cli.EnrollContext(nc, l); err == nil {
			return
		}
	}
	l.dialFailed(err)
}

// The transitions below are shared by gnet connections and Options.Network.

func (l *Line) dialFailed(err error) {
	l.pool.opts.Logger.Debug("line dial failed", "addr", l.Addr, "err", err)
	l.setState(Down)
	l.scheduleRedial()
}

func (l *Line) connected() {
	l.pool.opts.Logger.Info("line connected", "addr", l.Addr)
	l.setState(Connected)
}

func (l *Line) lost(err error) {
	l.reconnects.Add(1)
	l.pool.opts.Logger.Warn("line down", "addr", l.Addr, "err", err)
	l.setState(Down)
	l.scheduleRedial()
}

func (l *Line) received(payload []byte) {
	l.lastRecv.Store(l.pool.opts.now().UnixNano())
	l.pool.opts.OnFrame(l, payload)
}

func (l *Line) scheduleRedial() {
	opts := &l.pool.opts
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	if l.backoff == 0 {
		l.backoff = opts.ReconnectMin
	} else {
		l.backoff *= 2
		if l.backoff > opts.ReconnectMax {
			l.backoff = opts.ReconnectMax
		}
	}
	l.pool.rndMu.Lock()
	jitter := 0.8 + 0.4*opts.Rand.Float64()
	l.pool.rndMu.Unlock()
	d := time.Duration(float64(l.backoff) * jitter)
	l.stopTimer = opts.AfterFunc(d, l.dial)
}

// netSend is Send over Options.Network.
func (l *Line) netSend(nw Network, b *bytebufferpool.ByteBuffer) error {
	defer outbox.Put(b)
	l.mu.Lock()
	up := l.netUp
	l.mu.Unlock()
	if !up {
		return ErrNotConnected
	}
	if err := nw.Write(l, b.B); err != nil {
		return fmt.Errorf("line %s: %w", l.Addr, err)
	}
	l.lastSend.Store(l.pool.opts.now().UnixNano())
	return nil
}

// NetUp tells the line its Network connection is open (Options.Network).
func (l *Line) NetUp() {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		l.pool.opts.Network.Hangup(l)
		return
	}
	l.netUp = true
	l.backoff = 0
	l.mu.Unlock()
	l.connected()
}

// NetDialFailed tells the line its Network dial failed; it redials after
// the backoff.
func (l *Line) NetDialFailed(err error) { l.dialFailed(err) }

// NetFrame delivers one inbound frame payload (Options.Network).
func (l *Line) NetFrame(payload []byte) { l.received(payload) }

// NetDown tells the line its Network connection closed; it redials after
// the backoff.
func (l *Line) NetDown(err error) {
	l.mu.Lock()
	was := l.netUp
	l.netUp = false
	l.mu.Unlock()
	if was {
		l.lost(err)
	}
}

type handler struct {
	gnet.BuiltinEventEngine
	p *Pool
}

func (h *handler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	l, ok := c.Context().(*Line)
	if !ok {
		return nil, gnet.Close
	}
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return nil, gnet.Close
	}
	l.conn = c
	l.box = outbox.New(c, h.p.opts.MaxQueuedFrames)
	l.backoff = 0
	l.mu.Unlock()
	l.connected()
	return nil, gnet.None
}

func (h *handler) OnClose(c gnet.Conn, err error) gnet.Action {
	l, ok := c.Context().(*Line)
	if !ok {
		return gnet.None
	}
	l.mu.Lock()
	if l.conn == c {
		l.conn = nil
		if l.box != nil {
			l.box.Close()
		}
		l.box = nil
	}
	l.mu.Unlock()
	l.lost(err)
	return gnet.None
}

func (h *handler) OnTraffic(c gnet.Conn) gnet.Action {
	l, ok := c.Context().(*Line)
	if !ok {
		return gnet.Close
	}
	l.mu.Lock()
	box := l.box
	l.mu.Unlock()
	if box != nil {
		if err := box.Flush(); err != nil {
			return gnet.Close
		}
	}
	n := c.InboundBuffered()
	if n == 0 {
		return gnet.None
	}
	buf, _ := c.Peek(n)
	consumed := 0
	for consumed < len(buf) {
		payload, total, err := h.p.opts.Split(buf[consumed:])
		if err != nil {
			h.p.opts.Logger.Error("line framing error, dropping connection", "addr", l.Addr, "err", err)
			return gnet.Close
		}
		if total == 0 {
			break
		}
		consumed += total
		l.received(payload)
	}
	if consumed > 0 {
		_, _ = c.Discard(consumed)
	}
	return gnet.None
}
