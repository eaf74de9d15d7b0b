package ctl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"
)

// ServerOptions configure Serve. The zero value is usable: EnsureDefaults
// fills every unset field.
type ServerOptions struct {
	// AllowedUIDs are the peer uids (SO_PEERCRED) allowed to issue commands.
	// Default: the daemon's own uid and root. A non-empty list is used as
	// given (root is not added).
	AllowedUIDs []uint32
	// MaxConns bounds concurrent control connections; one more is answered
	// busy and closed. Default 16.
	MaxConns int
	// RequestTimeout caps every request's deadline, whatever the client asked
	// for. Default 10 minutes (a CARDNET cutover waits for the closed date to
	// drain and for the 0500/0510 exchange).
	RequestTimeout time.Duration
	// IdleTimeout closes a connection that sends nothing for this long while
	// no request of it is running. Default 5 minutes.
	IdleTimeout time.Duration
	// WriteTimeout bounds writing one response to a client that does not
	// read. Default 10 seconds.
	WriteTimeout time.Duration
	// MaxRequestBytes bounds one request line, newline included; a longer
	// line is answered bad_request and the connection closed. Default
	// DefaultMaxRequestBytes.
	MaxRequestBytes int
	// Logger receives one line per request and every refusal. Default: discard.
	Logger *slog.Logger
}

// EnsureDefaults fills unset fields with their defaults.
func (o *ServerOptions) EnsureDefaults() {
	if len(o.AllowedUIDs) == 0 {
		o.AllowedUIDs = []uint32{uint32(os.Getuid())}
		if os.Getuid() != 0 {
			o.AllowedUIDs = append(o.AllowedUIDs, 0)
		}
	}
	if o.MaxConns == 0 {
		o.MaxConns = 16
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 10 * time.Minute
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first out-of-range field, wrapping ErrOptions.
func (o *ServerOptions) Validate() error {
	switch {
	case o.MaxConns < 1 || o.MaxConns > 1024:
		return fmt.Errorf("%w: MaxConns %d not in 1..1024", ErrOptions, o.MaxConns)
	case o.RequestTimeout < 0:
		return fmt.Errorf("%w: RequestTimeout %v is negative", ErrOptions, o.RequestTimeout)
	case o.IdleTimeout < 0:
		return fmt.Errorf("%w: IdleTimeout %v is negative", ErrOptions, o.IdleTimeout)
	case o.WriteTimeout < 0:
		return fmt.Errorf("%w: WriteTimeout %v is negative", ErrOptions, o.WriteTimeout)
	case o.MaxRequestBytes < 256 || o.MaxRequestBytes > 1<<20:
		return fmt.Errorf("%w: MaxRequestBytes %d not in 256..1MiB", ErrOptions, o.MaxRequestBytes)
	}
	return nil
}

// Listen creates the control socket at path with mode 0600. A socket file
// left behind by a daemon that died is removed, but only when connecting to
// it is refused (nobody answers); a live daemon gives ErrSocketInUse and a
// file that is not a socket gives ErrNotSocket. Between bind and chmod the
// socket briefly has the umask's mode; the SO_PEERCRED check in Serve covers
// that window.
func Listen(path string) (net.Listener, error) {
	// sockaddr_un holds 108 bytes including the terminating NUL; the kernel's
	// own error for a longer path ("invalid argument") explains nothing.
	if len(path) > 107 {
		return nil, fmt.Errorf("ctl: socket path is %d bytes, the limit is 107: %s", len(path), path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNotSocket, path)
		}
		c, derr := net.DialTimeout("unix", path, time.Second)
		if derr == nil {
			c.Close()
			return nil, fmt.Errorf("%w: %s", ErrSocketInUse, path)
		}
		if !errors.Is(derr, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("ctl: probing existing socket %s: %w", path, derr)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("ctl: removing stale socket: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ctl: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("ctl: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("ctl: %w", err)
	}
	return ln, nil
}

// Serve answers control requests on ln until ctx is done, then closes ln and
// returns nil once every connection has finished: a response already
// decided (the answer to shutdown, say) is written before Serve returns.
// Handler contexts derive from ctx. Only Unix-socket peers whose uid is in
// AllowedUIDs are served; others get one permission_denied line and are
// closed. Serve returns an error for invalid options or a listener failure.
func Serve(ctx context.Context, ln net.Listener, h Handler, opts ServerOptions) error {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return err
	}
	// sctx also ends when Serve returns on a listener failure, so that idle
	// connections do not keep Serve waiting for their IdleTimeout.
	sctx, cancel := context.WithCancel(ctx)
	s := &server{h: h, opts: opts, ctx: sctx, slots: make(chan struct{}, opts.MaxConns)}
	stop := context.AfterFunc(sctx, func() { ln.Close() })
	defer stop()
	defer s.wg.Wait()
	defer cancel() // runs before the Wait above

	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporaryAccept(err) {
				// Out of descriptors and the like: wait instead of spinning.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				opts.Logger.Warn("ctl: accept", "err", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
					return nil
				}
				continue
			}
			ln.Close()
			return fmt.Errorf("ctl: accept: %w", err)
		}
		backoff = 0
		select {
		case s.slots <- struct{}{}:
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() { <-s.slots }()
				s.serveConn(conn)
			}()
		default:
			// Answered inline, not in a goroutine, so a connection flood
			// cannot grow memory: one short line into a fresh socket buffer.
			opts.Logger.Warn("ctl: connection refused", "reason", "busy", "max_conns", opts.MaxConns)
			s.refuse(conn, NewError(CodeBusy, "too many control connections (%d)", opts.MaxConns), time.Second)
		}
	}
}

func isTemporaryAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
}

type server struct {
	h     Handler
	opts  ServerOptions
	ctx   context.Context
	slots chan struct{} // one per live connection: the MaxConns bound
	wg    sync.WaitGroup
}

// refuse answers one error line with id 0 and closes the connection.
func (s *server) refuse(conn net.Conn, e *Error, timeout time.Duration) {
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(timeout))
	conn.Write(encodeResponse(0, nil, e))
}

// peer identifies the client process for the allow list and the log.
type peer struct {
	uid uint32
	pid int32
}

func (s *server) authorize(conn net.Conn) (peer, *Error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return peer{}, NewError(CodePermissionDenied, "control is served on a Unix socket only")
	}
	uid, pid, err := peerCred(uc)
	if err != nil {
		return peer{}, NewError(CodePermissionDenied, "peer credentials unavailable: %v", err)
	}
	p := peer{uid: uid, pid: pid}
	if !slices.Contains(s.opts.AllowedUIDs, uid) {
		return p, NewError(CodePermissionDenied, "uid %d may not control this daemon", uid)
	}
	return p, nil
}

func (s *server) serveConn(conn net.Conn) {
	p, perr := s.authorize(conn)
	if perr != nil {
		s.opts.Logger.Warn("ctl: connection refused", "uid", p.uid, "pid", p.pid, "reason", perr.Message)
		s.refuse(conn, perr, s.opts.WriteTimeout)
		return
	}
	defer conn.Close()
	s.lineLoop(conn, p)
}

// lineLoop reads one request line at a time, runs it and writes its answer
// before reading the next: one command in flight per connection, so a
// connection holds at most MaxRequestBytes of input.
//
// Closing the connection does not cancel a running command: operator
// procedures (cutover, recovery) run to completion or to their deadline, so a
// lost terminal never leaves one half done. Serve's context ending does
// cancel it.
func (s *server) lineLoop(conn net.Conn, p peer) {
	// stopping interrupts a blocked read when Serve's context ends. The
	// mutex keeps the per-line deadline from overwriting that interruption.
	var mu sync.Mutex
	stopping := false
	stop := context.AfterFunc(s.ctx, func() {
		mu.Lock()
		stopping = true
		conn.SetReadDeadline(time.Now())
		mu.Unlock()
	})
	defer stop()

	br := bufio.NewReaderSize(conn, s.opts.MaxRequestBytes)
	for {
		mu.Lock()
		if stopping {
			mu.Unlock()
			return
		}
		conn.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		mu.Unlock()

		line, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			s.opts.Logger.Warn("ctl: oversize request line", "uid", p.uid, "pid", p.pid, "limit_bytes", s.opts.MaxRequestBytes)
			s.write(conn, encodeResponse(0, nil, NewError(CodeBadRequest, "request line longer than %d bytes", s.opts.MaxRequestBytes)))
			return
		case err != nil && (!errors.Is(err, io.EOF) || len(bytes.TrimSpace(line)) == 0):
			// Idle timeout, shutdown or a reset (a partial line is dropped,
			// never run), or EOF with nothing left to answer.
			return
		}
		// A last line without its newline (err == io.EOF) is still answered:
		// `printf '{...}' | socat - UNIX-CONNECT:ctl.sock` works.
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			if !s.write(conn, s.handleLine(line, p)) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *server) write(conn net.Conn, b []byte) bool {
	conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	_, err := conn.Write(b)
	return err == nil
}

// handleLine decodes one request, runs it and renders the response line.
func (s *server) handleLine(line []byte, p peer) []byte {
	req, derr := decodeRequest(line)
	if derr != nil {
		s.opts.Logger.Warn("ctl: bad request", "uid", p.uid, "pid", p.pid, "code", derr.Code, "err", derr.Message)
		return encodeResponse(req.ID, nil, derr)
	}
	start := time.Now()
	result, err := s.run(req)
	var werr *Error
	if err != nil {
		werr = toWire(err, s.ctx)
	}
	level, code := slog.LevelInfo, "ok"
	if werr != nil {
		code = werr.Code
		if werr.Code == CodeInternal || werr.Code == CodeOutOfBalance {
			level = slog.LevelError
		} else {
			level = slog.LevelWarn
		}
	}
	attrs := []any{"cmd", req.Cmd, "uid", p.uid, "pid", p.pid, "code", code, "ms", time.Since(start).Milliseconds()}
	if req.Center != "" {
		attrs = append(attrs, "center", req.Center)
	}
	if req.Date != "" {
		attrs = append(attrs, "date", req.Date)
	}
	if req.Force {
		attrs = append(attrs, "force", true)
	}
	if werr != nil {
		attrs = append(attrs, "err", werr.Message)
	}
	s.opts.Logger.Log(s.ctx, level, "ctl: request", attrs...)
	return encodeResponse(req.ID, result, werr)
}

// run calls the Handler under the request's deadline. A panicking Handler
// costs that request (code internal), not the daemon.
func (s *server) run(req request) (result any, err error) {
	timeout := s.opts.RequestTimeout
	if req.TimeoutMs > 0 {
		timeout = min(timeout, time.Duration(req.TimeoutMs)*time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			s.opts.Logger.Error("ctl: handler panic", "cmd", req.Cmd, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			result, err = nil, NewError(CodeInternal, "%s failed inside the daemon", req.Cmd)
		}
	}()
	switch req.Cmd {
	case CmdSignon:
		return nil, s.h.Signon(ctx, req.Center)
	case CmdSignoff:
		return nil, s.h.Signoff(ctx, req.Center)
	case CmdShutdown:
		return nil, s.h.Shutdown(ctx, req.Force)
	case CmdCutreq:
		res, err := s.h.Cutreq(ctx, req.Center, req.Date)
		if res == nil {
			return nil, orNoResult(err, req.Cmd)
		}
		if res.Reconciliation != nil {
			normalizeReconcile(res.Reconciliation)
			if err == nil {
				err = outOfBalance(res.Reconciliation)
			}
		}
		return res, err
	case CmdRecovery:
		res, err := s.h.Recovery(ctx, req.Center)
		if res == nil {
			return nil, orNoResult(err, req.Cmd)
		}
		return res, err
	case CmdStatus:
		res, err := s.h.Status(ctx)
		if res == nil {
			return nil, orNoResult(err, req.Cmd)
		}
		if res.Recovery == "" {
			res.Recovery = RecoveryNone
		}
		for i := range res.Centers {
			if r := res.Centers[i].LastReconciliation; r != nil {
				normalizeReconcile(r)
			}
		}
		return res, err
	case CmdTotals:
		rows, err := s.h.Totals(ctx, req.Center, req.Date)
		if err != nil {
			return nil, err
		}
		if rows == nil {
			rows = []TotalsRow{}
		}
		for i := range rows {
			normalizeRow(&rows[i])
		}
		return totalsResult{Totals: rows}, nil
	case CmdReconcile:
		res, err := s.h.Reconcile(ctx, req.Center, req.Date)
		if res == nil {
			return nil, orNoResult(err, req.Cmd)
		}
		normalizeReconcile(res)
		if err == nil {
			err = outOfBalance(res)
		}
		return res, err
	}
	// decodeRequest admits only the commands above.
	return nil, NewError(CodeInternal, "command %q has no handler", req.Cmd)
}

// normalizeRow writes an unset reconciliation state as "none", so that
// `fxctl totals --json` always shows one of the three states of DESIGN §5.
func normalizeRow(t *TotalsRow) {
	if t.Reconciliation == "" {
		t.Reconciliation = ReconcileNone
	}
}

func normalizeReconcile(r *ReconcileResult) {
	normalizeRow(&r.Ours)
	normalizeRow(&r.Theirs)
}

func orNoResult(err error, cmd string) error {
	if err != nil {
		return err
	}
	return NewError(CodeInternal, "%s returned no result", cmd)
}

// outOfBalance turns a completed but differing reconciliation into the
// out_of_balance error, so every client sees the command fail.
func outOfBalance(r *ReconcileResult) error {
	if r.Result != ReconcileOutOfBalance {
		return nil
	}
	return NewError(CodeOutOfBalance, "%s %s: our totals differ from the center's (net ours %d, theirs %d)",
		r.Center, r.Date, r.Ours.Net(), r.Theirs.Net())
}
