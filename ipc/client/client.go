package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fxswitch/fxswitch/ipc"
)

// Errors of the client itself (protocol errors from the daemon are *ipc.Error).
var (
	// ErrClosed: the connection is finished (Close, a read or write error, or
	// the daemon closed it). When the daemon said why before closing (an
	// Error frame with correlation 0, e.g. code 1), that *ipc.Error is
	// wrapped too, so errors.Is(err, ipc.ErrMalformed) works.
	ErrClosed = errors.New("ipc/client: connection closed")
	// ErrUnexpectedReply: the daemon answered with a kind that does not
	// answer the request sent (a protocol violation).
	ErrUnexpectedReply = errors.New("ipc/client: unexpected reply kind")
)

// errSessionClosed is what a closed Session answers locally; it is code 12,
// exactly what the daemon would answer.
var errSessionClosed = &ipc.Error{Code: ipc.CodeUnknownSession, Text: "session closed on this connection"}

// Request is one app operation. Empty strings are not sent. Amount is in
// minor units; it is sent for authorize, sale, refund and advice, and for
// other ops when not zero.
type Request struct {
	Op       ipc.Op
	Ref      string // app reference, the idempotency key
	PAN      string
	Expiry   string // YYMM
	Amount   int64
	Currency string // ISO 4217 numeric
	Terminal string
	Merchant string
	OrigRef  string // cancel: the reference of the request to cancel
}

// Response is the outcome of a request. Fields the daemon did not send are "".
type Response struct {
	Result       ipc.Result
	RespCode     string
	AuthCode     string
	STAN         string // STAN / 通番 used toward the center
	BusinessDate string // YYYYMMDD
	RRN          string
}

// Notice is a message the daemon pushes to a session.
type Notice struct {
	Kind   string // ipc.NoticeCutover, ipc.NoticeLine, ipc.NoticeRecovery
	Detail string
}

// Client is one connection to fxd. It is safe for concurrent use: requests
// from many goroutines are pipelined, their frames batched into as few
// writes as the writer goroutine can manage, and replies dispatched by
// correlation id by one reader goroutine.
//
// Lock order: Client.mu only; no other lock is held with it.
type Client struct {
	conn  net.Conn
	opts  Options
	slots chan struct{} // one token per outstanding request (MaxOutstanding)

	mu       sync.Mutex
	wbuf     []byte           // frames not yet handed to the writer
	calls    map[uint64]*call // outstanding requests by correlation id
	sessions map[uint64]*Session
	nextCorr uint64
	err      error // set once: why the connection is finished
	connErr  error // an uncorrelated Error frame from the daemon

	wake      chan struct{} // cap 1: wbuf has data
	closing   chan struct{} // closed by fail
	readDone  chan struct{}
	writeDone chan struct{}
	failOnce  sync.Once

	lateReplies atomic.Uint64
}

// call is one outstanding request; pooled.
type call struct {
	kind ipc.Kind // kind sent
	done chan struct{}
	resp *Response
	sess *Session
	err  error
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

// Dial connects to fxd. network is "unix" or "tcp" (any net.Dial network);
// with TLS options a TCP connection is wrapped and the handshake completes
// before Dial returns.
func Dial(ctx context.Context, network, addr string, opts ...Option) (*Client, error) {
	var o Options
	for _, fn := range opts {
		fn(&o)
	}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("ipc/client: dial %s %s: %w", network, addr, err)
	}
	if o.TLS != nil {
		cfg := o.TLS
		if cfg.ServerName == "" && strings.HasPrefix(network, "tcp") {
			cfg = cfg.Clone()
			if host, _, err := net.SplitHostPort(addr); err == nil {
				cfg.ServerName = host
			}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("ipc/client: TLS handshake with %s: %w", addr, err)
		}
		conn = tc
	}
	return newClient(conn, o), nil
}

// NewClient runs the protocol over an established connection, for callers
// that dial (and wrap in TLS) themselves. Options.TLS is not used.
func NewClient(conn net.Conn, opts ...Option) (*Client, error) {
	var o Options
	for _, fn := range opts {
		fn(&o)
	}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return newClient(conn, o), nil
}

func newClient(conn net.Conn, o Options) *Client {
	c := &Client{
		conn:      conn,
		opts:      o,
		slots:     make(chan struct{}, o.MaxOutstanding),
		wbuf:      make([]byte, 0, 64<<10),
		calls:     make(map[uint64]*call, 256),
		sessions:  make(map[uint64]*Session),
		wake:      make(chan struct{}, 1),
		closing:   make(chan struct{}),
		readDone:  make(chan struct{}),
		writeDone: make(chan struct{}),
	}
	go c.readLoop()
	go c.writeLoop()
	return c
}

// Close ends the connection. Outstanding requests fail with ErrClosed; the
// daemon keeps driving them to a final outcome, which Inquire can fetch on
// a new connection. Close waits for the client's goroutines to exit.
func (c *Client) Close() error {
	c.fail(ErrClosed)
	<-c.readDone
	<-c.writeDone
	return nil
}

// LateReplies counts replies that arrived for requests whose context had
// already been cancelled (dropped).
func (c *Client) LateReplies() uint64 { return c.lateReplies.Load() }

// Ping sends a Ping and waits for the Pong.
func (c *Client) Ping(ctx context.Context) error {
	_, _, err := c.roundTrip(ctx, ipc.KindPing, 0, out{})
	return err
}

// OpenSession opens a session on the center ("cafis" or "cardnet"). A
// connection may carry several sessions; the id comes from the daemon.
func (c *Client) OpenSession(ctx context.Context, center string) (*Session, error) {
	_, s, err := c.roundTrip(ctx, ipc.KindOpenSession, 0, out{center: center})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// out carries what a frame needs besides its header.
type out struct {
	center string
	req    *Request
}

var errNegativeAmount = &ipc.Error{Code: ipc.CodeInvalidField, Text: "field amount: negative"}

func (c *Client) encode(b *ipc.Builder, kind ipc.Kind, o out) {
	switch kind {
	case ipc.KindOpenSession:
		b.Str(ipc.TagCenter, o.center)
		if c.opts.Token != "" {
			b.Str(ipc.TagAppToken, c.opts.Token)
		}
	case ipc.KindRequest:
		r := o.req
		b.Str(ipc.TagOp, r.Op.String())
		b.Str(ipc.TagRef, r.Ref)
		str := func(tag ipc.Tag, v string) {
			if v != "" {
				b.Str(tag, v)
			}
		}
		str(ipc.TagPAN, r.PAN)
		str(ipc.TagExpiry, r.Expiry)
		if r.Op.Financial() || r.Amount != 0 {
			b.Uint(ipc.TagAmount, uint64(r.Amount))
		}
		str(ipc.TagCurrency, r.Currency)
		str(ipc.TagTerminal, r.Terminal)
		str(ipc.TagMerchant, r.Merchant)
		str(ipc.TagOrigRef, r.OrigRef)
	}
}

// roundTrip sends one frame and waits for its reply.
func (c *Client) roundTrip(ctx context.Context, kind ipc.Kind, session uint64, o out) (*Response, *Session, error) {
	if o.req != nil && o.req.Amount < 0 {
		return nil, nil, errNegativeAmount
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err // select below would pick a free slot half the time
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	cl := callPool.Get().(*call)
	cl.kind = kind

	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		c.release(cl)
		return nil, nil, err
	}
	c.nextCorr++
	corr := c.nextCorr
	b := ipc.Begin(c.wbuf, kind, session, corr)
	c.encode(&b, kind, o)
	wbuf, err := b.Finish()
	c.wbuf = wbuf
	if err != nil {
		c.mu.Unlock()
		c.release(cl)
		return nil, nil, fmt.Errorf("ipc/client: %s: %w", kind, err)
	}
	c.calls[corr] = cl
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // the writer is already due to run
	}

	select {
	case <-cl.done:
	case <-ctx.Done():
		c.mu.Lock()
		_, pending := c.calls[corr]
		delete(c.calls, corr)
		c.mu.Unlock()
		if pending {
			// The slot is free again; the reply, if it ever comes, is dropped.
			c.release(cl)
			return nil, nil, ctx.Err()
		}
		<-cl.done // the reader took it just now: take the answer
	}
	resp, sess, err := cl.resp, cl.sess, cl.err
	c.release(cl)
	return resp, sess, err
}

func (c *Client) release(cl *call) {
	cl.resp, cl.sess, cl.err = nil, nil, nil
	callPool.Put(cl)
	<-c.slots
}

// fail finishes the connection once with err; outstanding calls get it.
func (c *Client) fail(err error) {
	c.failOnce.Do(func() {
		c.mu.Lock()
		switch {
		case c.connErr != nil: // the daemon's own reason beats EOF
			err = fmt.Errorf("%w: %w", ErrClosed, c.connErr)
		case err != ErrClosed:
			err = fmt.Errorf("%w: %w", ErrClosed, err)
		}
		c.err = err
		calls := c.calls
		c.calls = make(map[uint64]*call)
		c.mu.Unlock()
		close(c.closing)
		c.conn.Close()
		for _, cl := range calls {
			cl.err = err
			cl.done <- struct{}{}
		}
	})
}

func (c *Client) writeLoop() {
	defer close(c.writeDone)
	spare := make([]byte, 0, 64<<10)
	for {
		select {
		case <-c.wake:
		case <-c.closing:
			return
		}
		c.mu.Lock()
		buf := c.wbuf
		c.wbuf = spare[:0]
		c.mu.Unlock()
		if len(buf) == 0 {
			spare = buf
			continue
		}
		// One write carries every frame queued since the last one: under
		// load that is many requests per syscall.
		if _, err := c.conn.Write(buf); err != nil {
			c.fail(err)
			return
		}
		if cap(buf) > 4<<20 {
			buf = make([]byte, 0, 64<<10) // do not keep a burst's buffer forever
		}
		spare = buf
	}
}

func (c *Client) readLoop() {
	defer close(c.readDone)
	buf := make([]byte, 0, c.opts.ReadBufferBytes)
	var err error
	for err == nil {
		var n int
		n, err = c.conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		off := 0
		for {
			frame, fn, serr := ipc.Split(buf[off:])
			if serr != nil {
				err = serr
				break
			}
			if frame == nil {
				break
			}
			if herr := c.handle(frame); herr != nil {
				err = herr
				break
			}
			off += fn
		}
		buf = buf[:copy(buf, buf[off:])]
	}
	c.fail(err)
	c.mu.Lock()
	sessions := c.sessions
	c.sessions = map[uint64]*Session{}
	c.mu.Unlock()
	for _, s := range sessions {
		s.finish()
	}
}

// handle dispatches one frame from the daemon. An error ends the connection.
func (c *Client) handle(frame []byte) error {
	var f ipc.Frame
	if err := f.Parse(frame); err != nil {
		if errors.Is(err, ipc.ErrMalformed) {
			return err
		}
		return nil // a kind or version from a newer daemon: nothing to do with it
	}
	kind := f.Kind()
	if kind == ipc.KindNotice {
		c.notice(&f)
		return nil
	}
	corr := f.Correlation()
	if corr == 0 {
		if kind == ipc.KindError {
			// About the connection as a whole (e.g. code 1 before closing).
			c.mu.Lock()
			c.connErr = ipc.ErrorOf(&f)
			c.mu.Unlock()
		}
		return nil
	}

	var resp *Response
	var rerr error
	switch kind {
	case ipc.KindResponse:
		var v ipc.ResponseView
		if rerr = v.Parse(&f); rerr == nil {
			resp = newResponse(&v)
		}
	case ipc.KindError:
		rerr = ipc.ErrorOf(&f)
	}

	c.mu.Lock()
	cl := c.calls[corr]
	if cl == nil {
		if kind == ipc.KindSessionOpened {
			// Its OpenSession was cancelled: nobody will use the session,
			// so close it rather than leave it open on the daemon.
			c.nextCorr++
			b := ipc.Begin(c.wbuf, ipc.KindCloseSession, f.Session(), c.nextCorr)
			c.wbuf, _ = b.Finish()
			select {
			case c.wake <- struct{}{}:
			default:
			}
		}
		c.mu.Unlock()
		c.lateReplies.Add(1)
		return nil
	}
	delete(c.calls, corr)
	switch {
	case kind == ipc.KindError:
		cl.err = rerr
		if cl.kind == ipc.KindCloseSession && errors.Is(rerr, ipc.ErrUnknownSession) {
			c.dropSessionLocked(f.Session())
		}
	case cl.kind == ipc.KindRequest && kind == ipc.KindResponse:
		cl.resp, cl.err = resp, rerr
	case cl.kind == ipc.KindOpenSession && kind == ipc.KindSessionOpened:
		s := &Session{c: c, id: f.Session(), notices: make(chan Notice, c.opts.NoticeBuffer),
			center: string(f.Field(ipc.TagCenter)), businessDate: string(f.Field(ipc.TagBusinessDate))}
		c.sessions[s.id] = s // before any notice for it can be read
		cl.sess = s
	case cl.kind == ipc.KindCloseSession && kind == ipc.KindSessionClosed:
		c.dropSessionLocked(f.Session())
	case cl.kind == ipc.KindPing && kind == ipc.KindPong:
	default:
		cl.err = fmt.Errorf("%w: %s answering %s", ErrUnexpectedReply, kind, cl.kind)
	}
	c.mu.Unlock()
	cl.done <- struct{}{}
	return nil
}

// dropSessionLocked forgets a session and closes its notice channel. Only
// the reader goroutine calls it, so no notice send can race the close.
func (c *Client) dropSessionLocked(id uint64) {
	if s := c.sessions[id]; s != nil {
		delete(c.sessions, id)
		s.finish()
	}
}

func (c *Client) notice(f *ipc.Frame) {
	n := Notice{Kind: string(f.Field(ipc.TagNoticeKind)), Detail: string(f.Field(ipc.TagNoticeDetail))}
	id := f.Session()
	c.mu.Lock()
	if id != 0 {
		if s := c.sessions[id]; s != nil {
			s.deliver(n)
		}
	} else {
		for _, s := range c.sessions { // session 0: for every session of the connection
			s.deliver(n)
		}
	}
	c.mu.Unlock()
}

// newResponse copies the views into one string allocation shared by all fields.
func newResponse(v *ipc.ResponseView) *Response {
	var tmp [96]byte
	all := append(tmp[:0], v.RespCode...)
	all = append(all, v.AuthCode...)
	all = append(all, v.STAN...)
	all = append(all, v.BusinessDate...)
	all = append(all, v.RRN...)
	s := string(all)
	r := &Response{Result: v.Result}
	i := 0
	next := func(n int) string { i += n; return s[i-n : i] }
	r.RespCode = next(len(v.RespCode))
	r.AuthCode = next(len(v.AuthCode))
	r.STAN = next(len(v.STAN))
	r.BusinessDate = next(len(v.BusinessDate))
	r.RRN = next(len(v.RRN))
	return r
}

// Session is one session of the connection, bound to one center. Its
// methods are safe for concurrent use.
type Session struct {
	c       *Client
	id      uint64
	notices chan Notice
	dropped atomic.Uint64
	closed  atomic.Bool
	// From SessionOpened, when the daemon sent them ("" otherwise).
	center, businessDate string
}

// ID returns the session id the daemon assigned.
func (s *Session) ID() uint64 { return s.id }

// Center returns the center the session is bound to, as the daemon
// confirmed it in SessionOpened ("" if it did not say).
func (s *Session) Center() string { return s.center }

// BusinessDate returns the business date (YYYYMMDD) current when the session
// opened, if the daemon sent it; later changes arrive as cutover notices.
func (s *Session) BusinessDate() string { return s.businessDate }

// Do sends a request and waits for its outcome. Many goroutines may call
// Do at once; their requests are pipelined on the connection. A protocol
// error is an *ipc.Error (errors.Is(err, ipc.ErrBusy), ipc.ErrTimeout, ...).
// If ctx ends first, Do returns ctx.Err() and frees the slot at once; the
// daemon still settles the request, and Inquire gives its outcome.
func (s *Session) Do(ctx context.Context, req *Request) (*Response, error) {
	if s.closed.Load() {
		return nil, s.closedErr()
	}
	resp, _, err := s.c.roundTrip(ctx, ipc.KindRequest, s.id, out{req: req})
	return resp, err
}

// Inquire asks for the final outcome of an earlier request by its app
// reference. An unknown reference is ipc.ErrUnknownReference (code 19).
func (s *Session) Inquire(ctx context.Context, ref string) (*Response, error) {
	return s.Do(ctx, &Request{Op: ipc.OpInquiry, Ref: ref})
}

// CloseSession closes the session on the daemon. Its notice channel is
// closed once the daemon confirms (or says the session is unknown).
func (s *Session) CloseSession(ctx context.Context) error {
	if s.closed.Load() {
		return s.closedErr()
	}
	_, _, err := s.c.roundTrip(ctx, ipc.KindCloseSession, s.id, out{})
	return err
}

// Notices returns the session's notices (cutover, line state, recovery).
// The channel is bounded (Options.NoticeBuffer): an app that does not read
// loses the oldest notices, counted by DroppedNotices; the reader never
// blocks on it. It is closed when the session or the connection ends.
func (s *Session) Notices() <-chan Notice { return s.notices }

// DroppedNotices counts notices dropped because the channel was full.
func (s *Session) DroppedNotices() uint64 { return s.dropped.Load() }

// deliver is called by the reader only: drop the oldest when full.
func (s *Session) deliver(n Notice) {
	for {
		select {
		case s.notices <- n:
			return
		default:
		}
		select {
		case <-s.notices:
			s.dropped.Add(1)
		default:
		}
	}
}

// closedErr: the connection's end if it ended, else code 12.
func (s *Session) closedErr() error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.err != nil {
		return s.c.err
	}
	return errSessionClosed
}

// finish marks the session closed and closes its channel (reader only).
func (s *Session) finish() {
	if s.closed.CompareAndSwap(false, true) {
		close(s.notices)
	}
}
