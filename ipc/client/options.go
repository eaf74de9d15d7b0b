package client

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/fxswitch/fxswitch/ipc"
)

// Options configure a Client. The zero value is usable: EnsureDefaults fills
// in the defaults below.
type Options struct {
	// Token is the app credential sent (tag 11) with every OpenSession.
	Token string
	// TLS, when set, wraps a TCP connection in TLS. If ServerName is empty it
	// is taken from the dialled address.
	TLS *tls.Config
	// MaxOutstanding bounds the requests in flight on the connection
	// (default 4096). A caller beyond it waits for a free slot or its context.
	MaxOutstanding int
	// NoticeBuffer is the capacity of each session's notice channel
	// (default 64). When the app does not read, the oldest notice is dropped
	// and counted (Session.DroppedNotices).
	NoticeBuffer int
	// ReadBufferBytes is the size of the receive buffer (default 256 KiB;
	// at least two maximal frames).
	ReadBufferBytes int
}

// Defaults.
const (
	DefaultMaxOutstanding  = 4096
	DefaultNoticeBuffer    = 64
	DefaultReadBufferBytes = 256 << 10
	minReadBufferBytes     = 2 * (ipc.MaxFrame + 4)
	maxMaxOutstanding      = 1 << 20
)

// ErrOptions is wrapped by every Validate error.
var ErrOptions = errors.New("ipc/client: invalid options")

// EnsureDefaults sets unset fields to their defaults.
func (o *Options) EnsureDefaults() {
	if o.MaxOutstanding == 0 {
		o.MaxOutstanding = DefaultMaxOutstanding
	}
	if o.NoticeBuffer == 0 {
		o.NoticeBuffer = DefaultNoticeBuffer
	}
	if o.ReadBufferBytes == 0 {
		o.ReadBufferBytes = DefaultReadBufferBytes
	}
}

// Validate checks the options after EnsureDefaults.
func (o *Options) Validate() error {
	switch {
	case o.MaxOutstanding < 1 || o.MaxOutstanding > maxMaxOutstanding:
		return fmt.Errorf("%w: MaxOutstanding %d not in 1..%d", ErrOptions, o.MaxOutstanding, maxMaxOutstanding)
	case o.NoticeBuffer < 1:
		return fmt.Errorf("%w: NoticeBuffer %d below 1", ErrOptions, o.NoticeBuffer)
	case o.ReadBufferBytes < minReadBufferBytes:
		return fmt.Errorf("%w: ReadBufferBytes %d below %d (two maximal frames)", ErrOptions, o.ReadBufferBytes, minReadBufferBytes)
	case len(o.Token) > ipc.MaxFieldValue:
		return fmt.Errorf("%w: Token longer than %d bytes", ErrOptions, ipc.MaxFieldValue)
	}
	return nil
}

// Option changes Options; pass them to Dial.
type Option func(*Options)

// WithOptions replaces all options at once.
func WithOptions(o Options) Option { return func(p *Options) { *p = o } }

// WithToken sets the app token sent on OpenSession.
func WithToken(token string) Option { return func(o *Options) { o.Token = token } }

// WithTLS enables TLS on a TCP connection.
func WithTLS(cfg *tls.Config) Option { return func(o *Options) { o.TLS = cfg } }

// WithMaxOutstanding bounds the requests in flight on the connection.
func WithMaxOutstanding(n int) Option { return func(o *Options) { o.MaxOutstanding = n } }

// WithNoticeBuffer sets the capacity of each session's notice channel.
func WithNoticeBuffer(n int) Option { return func(o *Options) { o.NoticeBuffer = n } }
