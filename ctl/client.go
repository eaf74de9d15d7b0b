package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Client speaks the control protocol to one daemon over its Unix socket. Its
// methods mirror Handler (a *Client is itself a Handler) and are safe for
// concurrent use; requests on one Client run one at a time, in call order.
// Errors from the daemon are *Error (match with errors.Is against the Err*
// sentinels). Cutreq and Reconcile return their result together with
// ErrOutOfBalance when the reconciliation came out of balance.
//
// A Client may be kept for a long time: a connection the daemon closed while
// idle, or one abandoned after an interrupted request, is replaced by a new
// one at the next call. A request is never sent twice.
type Client struct {
	path string
	// turn admits one request at a time; waiting for it honours the
	// caller's context, so a status call does not hang behind a long cutover.
	turn   chan struct{}
	br     *bufio.Reader // owned by the holder of turn
	nextID uint64        // owned by the holder of turn

	mu     sync.Mutex
	conn   net.Conn // nil between an abandoned connection and the next call
	closed bool
}

var _ Handler = (*Client)(nil)

// Dial connects to the control socket at path.
func Dial(ctx context.Context, path string) (*Client, error) {
	c := &Client{path: path, turn: make(chan struct{}, 1)}
	if err := c.redial(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) redial(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		return fmt.Errorf("ctl: dial %s: %w", c.path, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		conn.Close()
		return ErrClosed
	}
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, 64<<10)
	return nil
}

// Close closes the connection; a call waiting for its answer returns
// ErrClosed, and so does every later call. A command already running in the
// daemon is not cancelled by it (see the package documentation).
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// current returns the connection to use, or ErrClosed.
func (c *Client) current() (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	return c.conn, nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// abandon drops the connection after an exchange went wrong: the next line
// on it could belong to the old request. The next call dials anew.
func (c *Client) abandon(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn.Close()
	if c.conn == conn {
		c.conn = nil
	}
}

// ready returns a live connection for the next request: it dials when
// there is none, and replaces one the daemon has closed (idle timeout, a
// restarted daemon). The probe never waits, and a line already waiting (a
// refusal) is left for the request to read.
func (c *Client) ready(ctx context.Context) (net.Conn, error) {
	conn, err := c.current()
	if err != nil {
		return nil, err
	}
	if conn != nil {
		if c.br.Buffered() > 0 || !peerClosed(conn) {
			return conn, nil
		}
		c.abandon(conn)
	}
	if err := c.redial(ctx); err != nil {
		return nil, err
	}
	return c.current()
}

// Signon signs the center on (開局). Already signed on is success.
func (c *Client) Signon(ctx context.Context, center string) error {
	return c.call(ctx, request{Cmd: CmdSignon, Center: center}, nil)
}

// Signoff signs the center off (閉局).
func (c *Client) Signoff(ctx context.Context, center string) error {
	return c.call(ctx, request{Cmd: CmdSignoff, Center: center}, nil)
}

// Cutreq runs the cutover (カットオーバー) of center; date "" is the next day.
func (c *Client) Cutreq(ctx context.Context, center, date string) (*CutoverResult, error) {
	var res CutoverResult
	ok, err := c.callResult(ctx, request{Cmd: CmdCutreq, Center: center, Date: date}, &res)
	if !ok {
		return nil, err
	}
	return &res, err
}

// Recovery runs the recovery (リカバリ処理) of center.
func (c *Client) Recovery(ctx context.Context, center string) (*RecoveryReport, error) {
	var res RecoveryReport
	ok, err := c.callResult(ctx, request{Cmd: CmdRecovery, Center: center}, &res)
	if !ok {
		return nil, err
	}
	return &res, err
}

// Shutdown stops the daemon (the seeds' FX_CtrlShutdown); force skips the
// drain and the clean-shutdown marker.
func (c *Client) Shutdown(ctx context.Context, force bool) error {
	return c.call(ctx, request{Cmd: CmdShutdown, Force: force}, nil)
}

// Status reports the daemon's state.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var res Status
	ok, err := c.callResult(ctx, request{Cmd: CmdStatus}, &res)
	if !ok {
		return nil, err
	}
	return &res, err
}

// Totals reports settlement totals; center and date "" as in Handler.Totals.
func (c *Client) Totals(ctx context.Context, center, date string) ([]TotalsRow, error) {
	var res totalsResult
	ok, err := c.callResult(ctx, request{Cmd: CmdTotals, Center: center, Date: date}, &res)
	if !ok {
		return nil, err
	}
	return res.Totals, err
}

// Reconcile runs the reconciliation (精査) of center's date ("" = last closed).
func (c *Client) Reconcile(ctx context.Context, center, date string) (*ReconcileResult, error) {
	var res ReconcileResult
	ok, err := c.callResult(ctx, request{Cmd: CmdReconcile, Center: center, Date: date}, &res)
	if !ok {
		return nil, err
	}
	return &res, err
}

func (c *Client) call(ctx context.Context, req request, result any) error {
	_, err := c.callResult(ctx, req, result)
	return err
}

// callResult sends one request and waits for its answer. hasResult reports
// whether the answer carried a result (decoded into result), which may come
// with an error (out_of_balance).
func (c *Client) callResult(ctx context.Context, req request, result any) (hasResult bool, err error) {
	select {
	case c.turn <- struct{}{}:
		defer func() { <-c.turn }()
	case <-ctx.Done():
		return false, fmt.Errorf("ctl: %s: waiting for an earlier request on this client: %w", req.Cmd, ctx.Err())
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("ctl: %s: %w", req.Cmd, err)
	}
	conn, err := c.ready(ctx)
	if err != nil {
		return false, err
	}
	c.nextID++
	req.V, req.ID = ProtocolVersion, c.nextID

	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		// Ask the daemon to give up slightly before we do, so that its
		// timeout answer arrives instead of our own.
		remaining := time.Until(deadline)
		req.TimeoutMs = max((remaining - min(remaining/10, time.Second)).Milliseconds(), 1)
	}
	conn.SetDeadline(deadline) // zero when ctx has none
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	line, err := json.Marshal(req)
	if err != nil {
		return false, fmt.Errorf("ctl: %s: %w", req.Cmd, err)
	}
	_, werr := conn.Write(append(line, '\n'))
	// Even when the write failed, a refusal (permission_denied, busy) may be
	// waiting to be read: the daemon answers those before reading anything.
	resp, rerr := c.readResponse()
	if rerr != nil {
		c.abandon(conn)
		switch {
		case c.isClosed():
			return false, fmt.Errorf("ctl: %s: %w", req.Cmd, ErrClosed)
		case ctx.Err() != nil:
			return false, fmt.Errorf("ctl: %s: no answer from the daemon: %w", req.Cmd, ctx.Err())
		case hasDeadline && !time.Now().Before(deadline):
			// The socket deadline can fire a hair before ctx's own timer.
			return false, fmt.Errorf("ctl: %s: no answer from the daemon: %w", req.Cmd, context.DeadlineExceeded)
		case werr != nil:
			return false, fmt.Errorf("ctl: %s: %w", req.Cmd, werr)
		}
		return false, fmt.Errorf("ctl: %s: %w", req.Cmd, rerr)
	}
	if resp.ID != req.ID {
		c.abandon(conn)
		if resp.ID == 0 && resp.Error != nil {
			// A refusal of the connection as a whole; the daemon closes it.
			return false, resp.Error
		}
		return false, fmt.Errorf("%w: answer to request %d while waiting for %d", ErrProtocol, resp.ID, req.ID)
	}
	if len(resp.Result) > 0 && string(resp.Result) != "null" && result != nil {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			return false, fmt.Errorf("%w: %s result: %v", ErrProtocol, req.Cmd, err)
		}
		hasResult = true
	}
	if !resp.OK {
		if resp.Error == nil {
			return hasResult, fmt.Errorf("%w: failure without an error", ErrProtocol)
		}
		return hasResult, resp.Error
	}
	if result != nil && !hasResult {
		return false, fmt.Errorf("%w: %s answered without a result", ErrProtocol, req.Cmd)
	}
	return hasResult, nil
}

// readResponse reads one response line of at most MaxResponseBytes.
func (c *Client) readResponse() (response, error) {
	var buf []byte
	for {
		chunk, err := c.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(buf)+len(chunk) > MaxResponseBytes {
				return response{}, fmt.Errorf("%w: response longer than %d bytes", ErrProtocol, MaxResponseBytes)
			}
			buf = append(buf, chunk...)
			continue
		}
		if err != nil {
			return response{}, err
		}
		if buf != nil {
			chunk = append(buf, chunk...)
		}
		var resp response
		if err := json.Unmarshal(chunk, &resp); err != nil {
			return response{}, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		if resp.V != ProtocolVersion {
			return response{}, fmt.Errorf("%w: response version %d", ErrProtocol, resp.V)
		}
		return resp, nil
	}
}
