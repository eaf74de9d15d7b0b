package tlsbridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Sentinel errors, testable with errors.Is.
var (
	ErrInvalidConfig = errors.New("tlsbridge: invalid config")
	ErrCertificate   = errors.New("tlsbridge: certificate")
	ErrCertExpired   = errors.New("tlsbridge: certificate expired or not yet valid")
	ErrHandshake     = errors.New("tlsbridge: handshake failed")
	ErrSocketpair    = errors.New("tlsbridge: socketpair")
	ErrClosed        = errors.New("tlsbridge: closed")
)

// Defaults.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxHandshakes    = 64
	DefaultMaxConns         = 4096
	DefaultBufferBytes      = 32 << 10
	DefaultWriteTimeout     = 30 * time.Second
)

// ServerConfig configures the terminating side (IPC TCP listener, admin).
type ServerConfig struct {
	// CertFile and KeyFile are PEM files (chain first); re-read by Reload.
	CertFile, KeyFile string
	// ClientCAFile, when set, requires and verifies a client certificate
	// issued by one of its PEM CAs (mutual TLS).
	ClientCAFile string
	// MinVersion is tls.VersionTLS12 or tls.VersionTLS13; 0: TLS 1.3.
	MinVersion uint16
	// HandshakeTimeout bounds one handshake; 0: DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxHandshakes bounds concurrent handshakes; a connection arriving
	// beyond it is closed at once and counted (Stats.Refused).
	MaxHandshakes int
	// MaxConns bounds bridged connections (handshakes included).
	MaxConns int
	// BufferBytes is each direction's copy buffer.
	BufferBytes int
	// WriteTimeout bounds one write to the TLS peer; a peer that reads
	// nothing for this long is disconnected. 0: DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Logger receives handshake failures and reloads; nil: discarded.
	Logger *slog.Logger
	// Now is the clock used to check certificate validity; nil: time.Now.
	Now func() time.Time
}

// EnsureDefaults fills zero fields.
func (c *ServerConfig) EnsureDefaults() {
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS13
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MaxHandshakes == 0 {
		c.MaxHandshakes = DefaultMaxHandshakes
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.BufferBytes == 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

func validVersion(v uint16) bool { return v == tls.VersionTLS12 || v == tls.VersionTLS13 }

// Validate checks the config after EnsureDefaults.
func (c *ServerConfig) Validate() error {
	switch {
	case c.CertFile == "" || c.KeyFile == "":
		return fmt.Errorf("%w: cert_file and key_file are required", ErrInvalidConfig)
	case !validVersion(c.MinVersion):
		return fmt.Errorf("%w: min version %#x (TLS 1.2 or 1.3)", ErrInvalidConfig, c.MinVersion)
	case c.HandshakeTimeout < 0:
		return fmt.Errorf("%w: handshake timeout %v", ErrInvalidConfig, c.HandshakeTimeout)
	case c.WriteTimeout < 0:
		return fmt.Errorf("%w: write timeout %v", ErrInvalidConfig, c.WriteTimeout)
	case c.MaxHandshakes < 1 || c.MaxHandshakes > 1<<16:
		return fmt.Errorf("%w: max handshakes %d out of [1, 65536]", ErrInvalidConfig, c.MaxHandshakes)
	case c.MaxConns < c.MaxHandshakes || c.MaxConns > 1<<20:
		return fmt.Errorf("%w: max conns %d out of [max handshakes, 1M]", ErrInvalidConfig, c.MaxConns)
	case c.BufferBytes < 4096 || c.BufferBytes > 1<<20:
		return fmt.Errorf("%w: buffer %d out of [4 KiB, 1 MiB]", ErrInvalidConfig, c.BufferBytes)
	}
	return nil
}

// Stats are a Server's counters.
type Stats struct {
	Handshakes       int64 // completed handshakes, handed off
	HandshakeFailure int64 // failed or timed out handshakes (bad certificate, old version, ...)
	Refused          int64 // closed on arrival: a bound was reached or the server was closed
	Active           int64 // connections held (in handshake or bridged)
	Reloads          int64 // successful Reloads
}

// Peer describes the far end of a bridged connection.
type Peer struct {
	// Addr is the remote TCP address (plain's own address is the socketpair's).
	Addr net.Addr
	// TLS is the negotiated state: version, cipher suite, client certificates.
	TLS tls.ConnectionState
}

// Server terminates TLS and hands plaintext connections on.
type Server struct {
	cfg     ServerConfig
	cert    atomic.Pointer[tls.Certificate]
	tlsConf *tls.Config
	hsSem   chan struct{}
	connSem chan struct{}
	wg      sync.WaitGroup

	handshakes, failures, refused, reloads atomic.Int64
	lastFailureLog                         atomic.Int64 // unix nanoseconds
	unlogged                               atomic.Int64 // failures not logged since

	mu      sync.Mutex
	closed  bool
	lns     map[net.Listener]struct{}
	conns   map[net.Conn]struct{} // raw conns in handshake
	bridges map[*bridge]struct{}
}

// NewServer loads the certificate (and client CAs) and prepares the server.
func NewServer(cfg ServerConfig) (*Server, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, hsSem: make(chan struct{}, cfg.MaxHandshakes), connSem: make(chan struct{}, cfg.MaxConns),
		lns: make(map[net.Listener]struct{}), conns: make(map[net.Conn]struct{}), bridges: make(map[*bridge]struct{})}
	if err := s.load(); err != nil {
		return nil, err
	}
	s.tlsConf = &tls.Config{
		MinVersion: cfg.MinVersion,
		// Only the pointer is read per handshake: Reload swaps it without
		// touching connections already established.
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil },
		Time:           cfg.Now,
	}
	if cfg.ClientCAFile != "" {
		pool, err := loadPool(cfg.ClientCAFile)
		if err != nil {
			return nil, err
		}
		s.tlsConf.ClientCAs = pool
		s.tlsConf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return s, nil
}

// load reads and checks the certificate and key files.
func (s *Server) load() error {
	c, err := loadKeyPair(s.cfg.CertFile, s.cfg.KeyFile, s.cfg.Now())
	if err != nil {
		return err
	}
	s.cert.Store(c)
	return nil
}

func loadKeyPair(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %s, %s: %w", ErrCertificate, certFile, keyFile, err)
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCertificate, certFile, err)
		}
		c.Leaf = leaf
	}
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("%w: %s valid %s to %s", ErrCertExpired, certFile,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return &c, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%w: %s: no PEM certificate", ErrCertificate, path)
	}
	return pool, nil
}

// Reload re-reads the certificate and key (on SIGHUP). New handshakes use
// the new pair; established connections keep theirs. On error the current
// pair stays in force.
func (s *Server) Reload() error {
	if err := s.load(); err != nil {
		s.cfg.Logger.Warn("tlsbridge: reload failed, keeping the current certificate", "err", err)
		return err
	}
	s.reloads.Add(1)
	s.cfg.Logger.Info("tlsbridge: certificate reloaded", "cert", s.cfg.CertFile,
		"not_after", s.cert.Load().Leaf.NotAfter)
	return nil
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Handshakes: s.handshakes.Load(), HandshakeFailure: s.failures.Load(), Refused: s.refused.Load(),
		Active: int64(len(s.connSem)), Reloads: s.reloads.Load()}
}

// Accept serves ln until it is closed (or Close is called): each connection
// is handshaken in its own goroutine within HandshakeTimeout, then bridged,
// and handoff receives the plaintext end (a *net.UnixConn: register it with
// a gnet engine). handoff owns plain: closing it closes the TLS connection
// (after close_notify). handoff runs on the handshake goroutine; it should
// not block for long. Accept returns nil after Close, else ln's error.
func (s *Server) Accept(ln net.Listener, handoff func(plain net.Conn, peer *Peer)) error {
	if !s.track(func() { s.lns[ln] = struct{}{} }) {
		return ErrClosed
	}
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || isTemporary(err) {
				// EMFILE and the like: wait instead of spinning.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.serve(c, handoff)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// serve takes the bounds for c, or closes it at once.
func (s *Server) serve(c net.Conn, handoff func(net.Conn, *Peer)) {
	select {
	case s.connSem <- struct{}{}:
	default:
		s.refused.Add(1)
		_ = c.Close()
		return
	}
	select {
	case s.hsSem <- struct{}{}:
	default:
		<-s.connSem
		s.refused.Add(1)
		_ = c.Close()
		return
	}
	if !s.track(func() { s.conns[c] = struct{}{} }) {
		<-s.hsSem
		<-s.connSem
		s.refused.Add(1)
		_ = c.Close()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.handshake(c, handoff)
	}()
}

func (s *Server) handshake(c net.Conn, handoff func(net.Conn, *Peer)) {
	tc := tls.Server(c, s.tlsConf)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	<-s.hsSem
	var plain, inner *net.UnixConn
	if err == nil {
		plain, inner, err = socketpair()
	} else {
		err = fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	b := &bridge{tc: tc, inner: inner, bufSz: s.cfg.BufferBytes, writeTimeout: s.cfg.WriteTimeout, done: s.untrack}
	ok := err == nil && s.track(func() {
		delete(s.conns, c)
		s.bridges[b] = struct{}{}
	})
	if !ok {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = tc.Close()
		if plain != nil {
			_ = plain.Close()
			_ = inner.Close()
		}
		if err != nil {
			// Counted after it is logged (or counted as not logged): whoever
			// sees the count also sees the log line.
			s.logFailure(c.RemoteAddr(), err)
			s.failures.Add(1)
		} else {
			s.refused.Add(1)
		}
		<-s.connSem
		return
	}
	s.handshakes.Add(1)
	b.start(&s.wg)
	handoff(plain, &Peer{Addr: c.RemoteAddr(), TLS: tc.ConnectionState()})
}

// logFailure logs a failed handshake, at most one a second: a flood of bad
// handshakes must not become a flood of log lines (Stats counts them all).
func (s *Server) logFailure(remote net.Addr, err error) {
	now := s.cfg.Now().UnixNano()
	last := s.lastFailureLog.Load()
	if now-last < int64(time.Second) || !s.lastFailureLog.CompareAndSwap(last, now) {
		s.unlogged.Add(1)
		return
	}
	s.cfg.Logger.Warn("tlsbridge: handshake failed", "remote", remote.String(), "err", err,
		"failures_not_logged", s.unlogged.Swap(0))
}

// untrack forgets a bridge whose connections are closed.
func (s *Server) untrack(b *bridge) {
	s.mu.Lock()
	_, ok := s.bridges[b]
	delete(s.bridges, b)
	s.mu.Unlock()
	if ok {
		<-s.connSem
	}
}

// track runs add under the lock unless the server is closed.
func (s *Server) track(add func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	add()
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close closes the listeners given to Accept, every connection in
// handshake and every bridged connection, and waits for the goroutines.
// Plain ends already handed off see their peer close.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	lns := make([]net.Listener, 0, len(s.lns))
	for ln := range s.lns {
		lns = append(lns, ln)
	}
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	bridges := make([]*bridge, 0, len(s.bridges))
	for b := range s.bridges {
		bridges = append(bridges, b)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		_ = ln.Close()
	}
	for _, c := range conns {
		_ = c.Close()
	}
	for _, b := range bridges {
		b.closeAll()
	}
	s.wg.Wait()
	return nil
}
