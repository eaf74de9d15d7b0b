package tlsbridge

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"
)

// ClientConfig configures the originating side (a center line).
type ClientConfig struct {
	// CAFile holds the PEM CAs that may issue the center's certificate;
	// empty: the system roots.
	CAFile string
	// CertFile and KeyFile, when set, are the client certificate presented
	// to the center (mutual TLS, as leased-line and VPN links often require).
	CertFile, KeyFile string
	// ServerName is checked against the center's certificate; empty: the
	// host part of the address.
	ServerName string
	// MinVersion is tls.VersionTLS12 or tls.VersionTLS13; 0: TLS 1.3.
	MinVersion uint16
	// HandshakeTimeout bounds dial plus handshake; 0: DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// BufferBytes is each direction's copy buffer.
	BufferBytes int
	// WriteTimeout bounds one write to the TLS peer; a peer that reads
	// nothing for this long is disconnected. 0: DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Now is the clock used to check certificate validity; nil: time.Now.
	Now func() time.Time
}

// EnsureDefaults fills zero fields.
func (c *ClientConfig) EnsureDefaults() {
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS13
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.BufferBytes == 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate checks the config after EnsureDefaults.
func (c *ClientConfig) Validate() error {
	switch {
	case (c.CertFile == "") != (c.KeyFile == ""):
		return fmt.Errorf("%w: cert_file and key_file go together", ErrInvalidConfig)
	case !validVersion(c.MinVersion):
		return fmt.Errorf("%w: min version %#x (TLS 1.2 or 1.3)", ErrInvalidConfig, c.MinVersion)
	case c.HandshakeTimeout < 0:
		return fmt.Errorf("%w: handshake timeout %v", ErrInvalidConfig, c.HandshakeTimeout)
	case c.WriteTimeout < 0:
		return fmt.Errorf("%w: write timeout %v", ErrInvalidConfig, c.WriteTimeout)
	case c.BufferBytes < 4096 || c.BufferBytes > 1<<20:
		return fmt.Errorf("%w: buffer %d out of [4 KiB, 1 MiB]", ErrInvalidConfig, c.BufferBytes)
	}
	return nil
}

// TLSConfig builds the crypto/tls client configuration for addr (files
// are read now).
func (c *ClientConfig) TLSConfig(addr string) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: c.MinVersion, ServerName: c.ServerName, Time: c.Now}
	if conf.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("%w: address %q: %w", ErrInvalidConfig, addr, err)
		}
		conf.ServerName = host
	}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := loadKeyPair(c.CertFile, c.KeyFile, c.Now())
		if err != nil {
			return nil, err
		}
		conf.Certificates = []tls.Certificate{*cert}
	}
	return conf, nil
}

// DialTLS connects to addr, completes the TLS handshake within
// HandshakeTimeout (and ctx), and returns the plaintext end of the bridge
// (a *net.UnixConn: enroll it with a gnet client, Client.EnrollContext).
// Closing plain sends close_notify and closes the TCP connection; the
// center closing its side makes plain read EOF. Files are re-read on every
// dial, so a renewed client certificate takes effect at the next reconnect.
func DialTLS(ctx context.Context, addr string, cfg ClientConfig) (net.Conn, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conf, err := cfg.TLSConfig(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.HandshakeTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tlsbridge: dial %s: %w", addr, err)
	}
	tc := tls.Client(raw, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrHandshake, addr, err)
	}
	plain, inner, err := socketpair()
	if err != nil {
		_ = tc.Close()
		return nil, err
	}
	b := &bridge{tc: tc, inner: inner, bufSz: cfg.BufferBytes, writeTimeout: cfg.WriteTimeout}
	// The pumps end with the connection; nothing waits for them.
	b.start(&sync.WaitGroup{})
	return plain, nil
}
