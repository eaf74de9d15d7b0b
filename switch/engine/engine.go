package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/panjf2000/gnet/v2"

	"github.com/fxswitch/fxswitch/ctl"
	"github.com/fxswitch/fxswitch/switch/admin"
	"github.com/fxswitch/fxswitch/switch/auth"
	"github.com/fxswitch/fxswitch/switch/config"
	"github.com/fxswitch/fxswitch/switch/line"
	"github.com/fxswitch/fxswitch/switch/mac"
	"github.com/fxswitch/fxswitch/switch/metrics"
	"github.com/fxswitch/fxswitch/switch/outbox"
	"github.com/fxswitch/fxswitch/switch/tlsbridge"
	"github.com/fxswitch/fxswitch/wal"
)

// Options configure an Engine. Config is required; the rest have defaults.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	// Clock is injected so tests control time; default time.Now.
	Clock func() time.Time
	// Tick is how often timeouts, cancel repeats and echo tests are checked.
	Tick time.Duration
	// WALFS replaces the WAL's filesystem (crash tests); nil: the real disk.
	WALFS vfs.FS
	// Exit is called after shutdown (fxd passes os.Exit); nil: nothing.
	Exit func(code int)
	// LineNetwork carries the center lines in memory instead of TCP, and
	// AfterFunc schedules their redials: the deterministic simulation of
	// the core (dst_test.go) injects both. nil: TCP and time.AfterFunc.
	LineNetwork line.Network
	AfterFunc   func(d time.Duration, f func()) (stop func() bool)
	// Rand draws the lines' reconnect jitter; nil: seeded from the clock.
	Rand *rand.Rand
	// WALDeliver runs the WAL's completion callbacks (wal.Options.Deliver):
	// the simulation runs them on its own goroutine. nil: the committer.
	WALDeliver func(run func())
	// NoAutoReconcile leaves the reconciliation after a center-initiated
	// cutover to the caller (the simulation sends it itself); false: it
	// runs reconcile_delay after the cutover, as fxd does.
	NoAutoReconcile bool
}

// EnsureDefaults fills unset options.
func (o *Options) EnsureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = 20 * time.Millisecond
	}
}

// Validate checks the options and the configuration.
func (o *Options) Validate() error {
	if o.Config == nil {
		return errors.New("engine: Options.Config is required")
	}
	return o.Config.Validate()
}

// Engine is the daemon: WAL, centers, IPC listeners and the control socket.
type Engine struct {
	opts Options
	cfg  *config.Config
	log  *slog.Logger
	wal  *wal.WAL

	centers map[string]*center
	order   []string

	ipcEngine     atomic.Pointer[gnet.Engine]
	ipcDone       chan error
	ctlLn         net.Listener
	ctlCancel     context.CancelFunc
	ctlDone       chan error
	conns         atomic.Int64
	sessionCount  atomic.Int64
	nextSession   atomic.Uint64
	reg           sessionRegistry
	tokens        *auth.Tokens     // nil: sessions open without a credential
	metrics       *metrics.Metrics // nil when metrics: false
	rec           recorder         // the hot path's recorder: metrics, or nothing
	ipcTLS        *tlsbridge.Server
	loopsReady    chan struct{} // closed at the first OnOpen on an IPC loop
	loopsOnce     sync.Once
	adminDone     chan error
	adminCancel   context.CancelFunc
	authFailures  atomic.Int64
	refusedConns  atomic.Int64
	reapedConns   atomic.Int64
	invalidClosed atomic.Int64
	liveConns     sync.Map // *ipcConn → struct{}
	appSessions   appCounts
	appConns      appCounts
	shutting      atomic.Bool
	startedAt     time.Time

	// Addresses actually bound (port 0 resolved), for tests and fxd's output.
	IPCUnix, IPCTCP, CtlPath, AdminAddr string

	fatalOnce sync.Once
	stopOnce  sync.Once
	stopped   chan struct{}
	exitCode  int
}

// New opens the WAL, restores each center's persisted state and prepares
// the listeners; Start begins serving.
func New(opts Options) (*Engine, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cfg := opts.Config
	e := &Engine{opts: opts, cfg: cfg, log: opts.Logger, centers: map[string]*center{}, stopped: make(chan struct{}), loopsReady: make(chan struct{})}
	e.reg.m = map[*session]struct{}{}
	if err := wal.MkdirDurable(vfs.Default, cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("engine: data dir: %w", err)
	}
	names := make([]string, 0, len(cfg.Centers))
	for name := range cfg.Centers {
		names = append(names, name)
	}
	sort.Strings(names)
	e.rec = noRecorder{}
	var onSync func(int, time.Duration)
	if cfg.MetricsEnabled() {
		m, err := metrics.New(metrics.Options{Centers: names})
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		e.metrics, e.rec, onSync = m, m, m.WALSync
	}
	w, err := wal.Open(filepath.Join(cfg.DataDir, "wal"), wal.Options{
		FS: opts.WALFS, KeyFile: cfg.Path(cfg.KeyFile), Clock: opts.Clock, Logger: opts.Logger, OnSync: onSync,
		Deliver: opts.WALDeliver,
	})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e.wal = w
	if cfg.AppTokens != "" {
		if e.tokens, err = auth.Load(cfg.Path(cfg.AppTokens)); err != nil {
			w.Close()
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	e.order = names
	unclean := !w.WasClean()
	for _, name := range names {
		c, err := e.newCenter(name, cfg.Centers[name], unclean)
		if err != nil {
			e.closePools()
			w.Close()
			return nil, err
		}
		e.centers[name] = c
	}
	return e, nil
}

func (e *Engine) newCenter(name string, cc config.Center, unclean bool) (*center, error) {
	var m model
	switch name {
	case config.CenterCardnet:
		var key *mac.Key
		if cc.MACKeyFile != "" {
			k, err := mac.LoadKey(e.cfg.Path(cc.MACKeyFile))
			if err != nil {
				return nil, fmt.Errorf("engine: centers.%s.mac_key_file: %w", name, err)
			}
			key = k
		}
		m = newCardnetModel(e.cfg.AcquirerID, cc.CancelMode == "advice", key)
	case config.CenterCafis:
		m = newCafisModel(e.cfg.MerchantCode)
	default:
		return nil, fmt.Errorf("engine: unknown center %q", name)
	}
	c := &center{
		e: e, name: name, cfg: cc, model: m, log: e.log.With("center", name),
		appCh:    make(chan *txn, e.cfg.Limits.MaxInFlightPerCenter), // every request that may be in flight may wait here
		frameCh:  make(chan inFrame, 65536),
		evCh:     make(chan func(), 4*e.cfg.Limits.MaxInFlightPerCenter+4096),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		inflight: map[matchKey]*txn{},
		byRef:    map[refKey]*txn{},
		cancels:  map[*txn]struct{}{},
		admin:    map[matchKey]*adminWait{},

		timedOutKeys: map[matchKey]struct{}{},
	}
	date, err := e.wal.BusinessDate(name)
	if err != nil {
		return nil, err
	}
	fresh := date == ""
	if fresh {
		date = e.opts.Clock().Format("20060102")
		if err := e.wal.SetBusinessDate(name, date); err != nil {
			return nil, err
		}
	}
	c.setDate(date)
	// A date first seen now has no earlier references to look up; otherwise
	// (a restart within the date) every reference is looked up in the WAL.
	c.refs.complete = fresh
	on, err := e.wal.SignedOn(name)
	if err != nil {
		return nil, err
	}
	c.wantOn = on
	required, err := e.wal.RecoveryRequired(name)
	if err != nil {
		return nil, err
	}
	if unclean && !fresh && !required {
		// The previous run did not end with a clean shutdown: whatever it had
		// in flight must be settled before business resumes (seeds 2.3.3, 2.4.3).
		if err := e.wal.SetRecoveryRequired(name, true); err != nil {
			return nil, err
		}
		required = true
	}
	c.recoveryPub.Store(required)
	kdate, upTo, err := e.wal.KeyReservation(name)
	if err != nil {
		return nil, err
	}
	base := uint32(0)
	if kdate == date {
		base = upTo
	}
	reserve := func(d string, up uint32) error { return e.wal.ReserveKeys(name, d, up) }
	c.keys = newKeyAlloc(date, base, 10000, reserve)
	maxFrame := e.cfg.Limits.MaxFrameBytes
	var dial func(context.Context, string) (net.Conn, error)
	if t := cc.TLS; t != nil {
		minV, _ := config.TLSVersion(t.MinVersion)
		tc := tlsbridge.ClientConfig{CAFile: e.cfg.Path(t.CAFile), CertFile: e.cfg.Path(t.CertFile), KeyFile: e.cfg.Path(t.KeyFile),
			ServerName: t.ServerName, MinVersion: minV}
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return tlsbridge.DialTLS(ctx, addr, tc) }
	}
	c.pool, err = line.NewPool(line.Options{
		Dial:         dial,
		Split:        func(b []byte) ([]byte, int, error) { return m.framing().Split(b, maxFrame) },
		OnFrame:      c.onLineFrame,
		OnState:      c.onLineState,
		ReconnectMin: cc.ReconnectMin.D(),
		ReconnectMax: cc.ReconnectMax.D(),
		Logger:       c.log,
		Network:      e.opts.LineNetwork,
		Rand:         e.opts.Rand,
		AfterFunc:    e.opts.AfterFunc,
		Clock:        e.opts.Clock,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Start opens the listeners, dials the lines and starts the center loops.
func (e *Engine) Start() error {
	e.startLines()
	for _, name := range e.order {
		go e.centers[name].run()
	}
	if err := e.startIPC(); err != nil {
		return err
	}
	go e.reaper()
	if e.metrics != nil {
		e.metrics.SetStateFunc(e.metricsState)
	}
	if e.cfg.Admin != "" {
		if err := e.startAdmin(); err != nil {
			return err
		}
	}
	if e.cfg.Ctl.Unix != "" {
		path := e.cfg.Path(e.cfg.Ctl.Unix)
		ln, err := ctl.Listen(path)
		if err != nil {
			return fmt.Errorf("engine: ctl: %w", err)
		}
		e.ctlLn = ln
		e.CtlPath = path
		ctx, cancel := context.WithCancel(context.Background())
		e.ctlCancel = cancel
		e.ctlDone = make(chan error, 1)
		go func() {
			e.ctlDone <- ctl.Serve(ctx, ln, e, ctl.ServerOptions{AllowedUIDs: e.cfg.Ctl.AllowedUIDs, Logger: e.log})
		}()
	}
	return nil
}

// startLines creates every center's lines, which start dialing. The line
// list is complete before a center loop starts: it is read-only afterwards.
// State callbacks posted meanwhile wait in evCh.
func (e *Engine) startLines() {
	e.startedAt = e.opts.Clock()
	for _, name := range e.order {
		c := e.centers[name]
		lines := make([]*line.Line, 0, len(c.cfg.Lines))
		for _, addr := range c.cfg.Lines {
			lines = append(lines, c.pool.Add(addr))
		}
		c.lines = lines
		c.signonAt = make([]time.Time, len(lines))
	}
}

func (c *center) onLineFrame(l *line.Line, payload []byte) {
	b := outbox.Get()
	b.B = append(b.B[:0], payload...)
	select {
	case c.frameCh <- inFrame{l: l, b: b}:
	default:
		outbox.Put(b)
		c.unmatched.Add(1)
		c.log.Error("inbound queue full; frame dropped", "line", l.Addr)
	}
}

func (c *center) onLineState(l *line.Line, s line.State) {
	c.log.Info("line state", "line", l.Addr, "state", s.String())
	c.e.notify(c.name, "line", c.name+" "+l.Addr+" "+s.String())
	switch s {
	case line.Connected:
		c.post(func() {
			c.updateSignedOn()
			if !c.wantOn {
				return
			}
			// The center is in the signed-on state: sign the new line on by
			// itself, now and again every timeout until the center accepts.
			c.resignon(l, c.now())
		})
	case line.Down:
		c.e.rec.Reconnect(c.name, l.Addr)
		c.post(func() {
			c.updateSignedOn()
			var lost []*txn
			for _, t := range c.inflight {
				if t.line == l && t.state == stSent {
					lost = append(lost, t)
				}
			}
			slices.SortFunc(lost, byID)
			for _, t := range lost {
				c.indeterminate(t)
			}
		})
	case line.SignedOn:
		c.post(c.updateSignedOn)
	}
}

// updateSignedOn publishes whether any line is signed on.
func (c *center) updateSignedOn() {
	on := false
	for _, l := range c.lines {
		if l.State() == line.SignedOn {
			on = true
		}
	}
	c.signedOnPub.Store(on)
}

func (e *Engine) startIPC() error {
	var addrs []string
	if e.cfg.IPC.Unix != "" {
		p := e.cfg.Path(e.cfg.IPC.Unix)
		_ = os.Remove(p)
		addrs = append(addrs, "unix://"+p)
		e.IPCUnix = p
	}
	tlsTCP := e.cfg.IPC.TCP != "" && e.cfg.IPC.TLS != nil
	if e.cfg.IPC.TCP != "" {
		if !loopback(e.cfg.IPC.TCP) && (!tlsTCP || e.tokens == nil) {
			// An application listener reachable from the network needs TLS
			// and app tokens.
			return fmt.Errorf("engine: ipc.tcp %s is not a loopback address: that needs ipc.tls and app_tokens", e.cfg.IPC.TCP)
		}
		addr, err := resolvePort(e.cfg.IPC.TCP)
		if err != nil {
			return err
		}
		if !tlsTCP {
			addrs = append(addrs, "tcp://"+addr)
		}
		e.IPCTCP = addr
	}
	probe := e.IPCUnix
	if len(addrs) == 0 {
		// gnet needs a listener of its own; TLS connections are registered
		// into its event loops, so give it a private Unix socket.
		probe = e.cfg.Path("ipc-internal.sock")
		_ = os.Remove(probe)
		addrs = append(addrs, "unix://"+probe)
	}
	e.ipcDone = make(chan error, 1)
	h := &ipcHandler{e: e}
	booted := make(chan struct{})
	go func() {
		e.ipcDone <- gnet.Rotate(&bootSignal{ipcHandler: h, booted: booted}, addrs,
			gnet.WithMulticore(true), gnet.WithReuseAddr(true), gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			// Register (TLS connections) needs a balancer other than round robin.
			gnet.WithLoadBalancing(gnet.LeastConnections),
			gnet.WithReadBufferCap(1<<16), gnet.WithWriteBufferCap(1<<16))
	}()
	select {
	case <-booted:
	case err := <-e.ipcDone:
		return fmt.Errorf("engine: ipc listeners: %w", err)
	case <-time.After(10 * time.Second):
		return errors.New("engine: ipc listeners did not start")
	}
	if e.IPCUnix != "" {
		_ = os.Chmod(e.IPCUnix, 0o660)
	}
	if tlsTCP {
		if err := e.awaitLoops(probe); err != nil {
			return err
		}
		return e.startIPCTLS()
	}
	return nil
}

// awaitLoops makes sure the IPC event loops run before connections are
// registered into them from other goroutines: gnet fills its load balancer
// before it starts any loop, so one OnOpen seen on a loop orders every
// registration (Register right after OnBoot is a data race in gnet).
func (e *Engine) awaitLoops(unixPath string) error {
	if unixPath == "" {
		return errors.New("engine: ipc.tls needs a Unix listener to probe the event loops")
	}
	c, err := net.Dial("unix", unixPath)
	if err != nil {
		return fmt.Errorf("engine: probing the IPC event loops: %w", err)
	}
	defer c.Close()
	select {
	case <-e.loopsReady:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("engine: IPC event loops did not start")
	}
}

// startIPCTLS accepts TLS on ipc.tcp: switch/tlsbridge terminates TLS and
// hands the plaintext end to the IPC event loops, so the protocol code is the
// same for every listener.
func (e *Engine) startIPCTLS() error {
	t := e.cfg.IPC.TLS
	minV, _ := config.TLSVersion(t.MinVersion)
	srv, err := tlsbridge.NewServer(tlsbridge.ServerConfig{
		CertFile: e.cfg.Path(t.CertFile), KeyFile: e.cfg.Path(t.KeyFile), ClientCAFile: e.cfg.Path(t.ClientCAFile),
		MinVersion: minV, Logger: e.log,
	})
	if err != nil {
		return fmt.Errorf("engine: ipc.tls: %w", err)
	}
	ln, err := net.Listen("tcp", e.IPCTCP)
	if err != nil {
		srv.Close()
		return fmt.Errorf("engine: ipc.tcp: %w", err)
	}
	e.IPCTCP = ln.Addr().String()
	e.ipcTLS = srv
	eng := e.ipcEngine.Load()
	go func() {
		_ = srv.Accept(ln, func(plain net.Conn, peer *tlsbridge.Peer) {
			ch, err := eng.Register(gnet.NewNetConnContext(context.Background(), plain))
			if err == nil {
				err = (<-ch).Err
			}
			if err != nil {
				e.log.Warn("TLS connection not registered", "peer", peer.Addr.String(), "err", err)
				plain.Close()
			}
		})
	}()
	return nil
}

// ReloadTLS re-reads the certificates of the TLS listeners (SIGHUP);
// established connections are kept.
func (e *Engine) ReloadTLS() error {
	if e.ipcTLS == nil {
		return nil
	}
	return e.ipcTLS.Reload()
}

type bootSignal struct {
	*ipcHandler
	booted chan struct{}
}

func (b *bootSignal) OnBoot(eng gnet.Engine) gnet.Action {
	b.ipcHandler.OnBoot(eng)
	close(b.booted)
	return gnet.None
}

// reaper runs reapConns until the engine stops.
func (e *Engine) reaper() {
	iv := min(e.cfg.Limits.ReadTimeout.D(), e.cfg.Limits.IdleTimeout.D()) / 4
	t := time.NewTicker(max(iv, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-e.stopped:
			return
		case now := <-t.C:
			e.reapConns(now)
		}
	}
}

// startAdmin serves /metrics, /healthz and /readyz on the admin address.
func (e *Engine) startAdmin() error {
	addr, err := resolvePort(e.cfg.Admin)
	if err != nil {
		return fmt.Errorf("engine: admin: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("engine: admin: %w", err)
	}
	e.AdminAddr = ln.Addr().String()
	if t := e.cfg.AdminTLS; t != nil {
		cert, err := tls.LoadX509KeyPair(e.cfg.Path(t.CertFile), e.cfg.Path(t.KeyFile))
		if err != nil {
			ln.Close()
			return fmt.Errorf("engine: admin_tls: %w", err)
		}
		minV, _ := config.TLSVersion(t.MinVersion)
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: minV})
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.adminCancel = cancel
	e.adminDone = make(chan error, 1)
	go func() {
		var mh http.Handler
		if e.metrics != nil {
			mh = e.metrics.Handler()
		}
		e.adminDone <- admin.Serve(ctx, ln, admin.Options{Metrics: mh, Ready: e.ready, Logger: e.log})
	}()
	return nil
}

// ready is /readyz: the WAL is healthy, no center needs recovery, and every
// configured center has at least one signed-on line.
func (e *Engine) ready() (bool, []string) {
	var reasons []string
	if err := e.wal.Err(); err != nil {
		reasons = append(reasons, "wal failed: "+err.Error())
	}
	if e.shutting.Load() {
		reasons = append(reasons, "shutting down")
	}
	for _, n := range e.order {
		c := e.centers[n]
		if c.recoveryPub.Load() {
			reasons = append(reasons, n+": recovery required (fxctl recovery --center "+n+")")
		}
		if !anyLine(c, line.SignedOn) {
			reasons = append(reasons, n+": no signed-on line")
		}
	}
	return len(reasons) == 0, reasons
}

// metricsState feeds the observable gauges at scrape time.
func (e *Engine) metricsState() metrics.State {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := e.Status(ctx)
	if err != nil {
		return metrics.State{}
	}
	return metrics.StateFromStatus(st)
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// resolvePort turns "host:0" into a concrete free port so the bound address
// can be printed; the short window between probing and binding is accepted
// (tests and the demo use it, production configs name their port).
func resolvePort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	a := ln.Addr().String()
	ln.Close()
	return a, nil
}

// fatal stops taking traffic after a WAL failure: the switch must not answer
// anything it cannot make durable.
func (e *Engine) fatal(err error) {
	e.fatalOnce.Do(func() {
		e.log.Error("write-ahead log failed; refusing all traffic", "err", err)
		e.shutting.Store(true)
	})
}

// Wait blocks until the engine has stopped and returns the exit code.
func (e *Engine) Wait() int {
	<-e.stopped
	return e.exitCode
}

// Stopped is closed once the engine has stopped.
func (e *Engine) Stopped() <-chan struct{} { return e.stopped }

// stop tears everything down; clean writes the clean-shutdown marker last.
func (e *Engine) stop(clean bool) {
	e.stopOnce.Do(func() {
		e.shutting.Store(true)
		if e.ipcTLS != nil {
			_ = e.ipcTLS.Close()
		}
		if eng := e.ipcEngine.Load(); eng != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = eng.Stop(ctx)
			cancel()
		}
		e.closePools()
		for _, name := range e.order {
			c := e.centers[name]
			close(c.quit)
			<-c.done
		}
		if clean {
			if err := e.wal.MarkClean(); err != nil {
				e.log.Error("clean-shutdown marker not written", "err", err)
				e.exitCode = 1
			}
		}
		if err := e.wal.Close(); err != nil && clean {
			e.log.Error("closing the WAL", "err", err)
		}
		if e.adminCancel != nil {
			e.adminCancel()
			<-e.adminDone
		}
		if e.metrics != nil {
			_ = e.metrics.Close()
		}
		if e.ctlCancel != nil {
			// Serve writes every answer already decided (the shutdown's own)
			// and removes the socket before it returns.
			e.ctlCancel()
			select {
			case <-e.ctlDone:
			case <-time.After(5 * time.Second):
			}
		}
		close(e.stopped)
	})
}

func (e *Engine) closePools() {
	for _, c := range e.centers {
		if c.pool != nil {
			_ = c.pool.Close()
		}
	}
}

// Close stops the engine without the clean-shutdown marker (as a crash
// would leave it, but with everything synced so far kept).
func (e *Engine) Close() { e.stop(false) }

// WAL exposes the log for tests and tools.
func (e *Engine) WAL() *wal.WAL { return e.wal }

// recorder is what the hot path records; *metrics.Metrics implements it.
type recorder interface {
	Request(center, op, result string, appLatency time.Duration)
	CenterRoundTrip(center string, d time.Duration)
	Timeout(center string)
	CancelStarted(center string)
	CancelConfirmed(center string)
	LateResponse(center string)
	DuplicateResponse(center string)
	BadFrame(center string)
	Reconnect(center, line string)
}

// noRecorder records nothing (metrics: false), to measure what recording costs.
type noRecorder struct{}

func (noRecorder) Request(string, string, string, time.Duration) {}
func (noRecorder) CenterRoundTrip(string, time.Duration)         {}
func (noRecorder) Timeout(string)                                {}
func (noRecorder) CancelStarted(string)                          {}
func (noRecorder) CancelConfirmed(string)                        {}
func (noRecorder) LateResponse(string)                           {}
func (noRecorder) DuplicateResponse(string)                      {}
func (noRecorder) BadFrame(string)                               {}
func (noRecorder) Reconnect(string, string)                      {}
