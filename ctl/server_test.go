package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

type testServer struct {
	path   string
	cancel context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, h Handler, opts ServerOptions) *testServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{path: path, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- Serve(ctx, ln, h, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ts.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRoundTripEveryCommand(t *testing.T) {
	h := newFake()
	ts := startServer(t, h, ServerOptions{})
	c := dial(t, ts.path)
	ctx := ctxT(t)

	if err := c.Signon(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
	if err := c.Signoff(ctx, "cafis"); err != nil {
		t.Fatal(err)
	}
	cut, err := c.Cutreq(ctx, "cafis", "20261125")
	if err != nil {
		t.Fatal(err)
	}
	if want := (CutoverResult{Center: "cafis", ClosedDate: "20261123", NewDate: "20261125"}); !reflect.DeepEqual(*cut, want) {
		t.Errorf("cutreq cafis = %+v, want %+v", *cut, want)
	}
	cut, err = c.Cutreq(ctx, "cardnet", "")
	if err != nil {
		t.Fatal(err)
	}
	if cut.NewDate != "20261124" || cut.Reconciliation == nil || cut.Reconciliation.Result != ReconcileInBalance ||
		cut.Reconciliation.Ours != ourRow {
		t.Errorf("cutreq cardnet = %+v", cut)
	}
	rep, err := c.Recovery(ctx, "cafis")
	if err != nil {
		t.Fatal(err)
	}
	if want := (RecoveryReport{Center: "cafis", InFlight: 3, CancelsSent: 2, ConfirmationsSent: 1,
		AdvicesResent: 4, Cancelled: 1, Stood: 2, Done: true}); *rep != want {
		t.Errorf("recovery = %+v, want %+v", *rep, want)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantSt, _ := h.Status(ctx)
	if !reflect.DeepEqual(st, wantSt) {
		t.Errorf("status = %+v\nwant %+v", st, wantSt)
	}
	rows, err := c.Totals(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, []TotalsRow{cafisRow, ourRow}) {
		t.Errorf("totals = %+v", rows)
	}
	rows, err = c.Totals(ctx, "cardnet", "20261122")
	if err != nil {
		t.Fatal(err)
	}
	if rows == nil || len(rows) != 0 {
		t.Errorf("totals of an empty selection = %#v, want an empty non-nil slice", rows)
	}
	rec, err := c.Reconcile(ctx, "cardnet", "20261123")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result != ReconcileInBalance || rec.Date != "20261123" || rec.Theirs != ourRow {
		t.Errorf("reconcile = %+v", rec)
	}
	if err := c.Shutdown(ctx, true); err != nil {
		t.Fatal(err)
	}

	// The second "status" is the test's own call to h.Status for the expected value.
	want := []string{
		"signon cardnet", "signoff cafis", "cutreq cafis 20261125", "cutreq cardnet ",
		"recovery cafis", "status", "status", "totals  ", "totals cardnet 20261122",
		"reconcile cardnet 20261123", "shutdown true",
	}
	got := h.Calls()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %q\nwant    %q", got, want)
	}
}

func TestTotalsJSONShape(t *testing.T) {
	// DESIGN §5: the result of totals is exactly {"totals":[{...}]} with these names.
	b := encodeResponse(1, totalsResult{Totals: []TotalsRow{ourRow}}, nil)
	var resp struct {
		Result map[string][]map[string]any `json:"result"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range resp.Result["totals"][0] {
		keys = append(keys, k)
	}
	want := []string{"center", "date", "credits_count", "credits_amount", "credit_reversals_count",
		"credit_reversals_amount", "debits_count", "debits_amount", "debit_reversals_count",
		"debit_reversals_amount", "reconciliation"}
	if len(keys) != len(want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	for _, k := range want {
		if _, ok := resp.Result["totals"][0][k]; !ok {
			t.Errorf("missing key %q in %s", k, b)
		}
	}
}

func TestHandlerErrorsTravel(t *testing.T) {
	h := newFake()
	ts := startServer(t, h, ServerOptions{})
	c := dial(t, ts.path)
	ctx := ctxT(t)

	cases := []struct {
		cmd      string
		err      error
		sentinel error
		message  string
	}{
		{"signon", NewError(CodeUnknownCenter, "center %q is not configured", "jcb"), ErrUnknownCenter, `center "jcb" is not configured`},
		{"signoff", fmt.Errorf("cardnet: %w", ErrNotSignedOn), ErrNotSignedOn, "cardnet: center not signed on"},
		{"cutreq", NewError(CodeInvalidArgument, "date 20261120 is not later than 20261123"), ErrInvalidArgument, "date 20261120 is not later than 20261123"},
		{"recovery", ErrBusy, ErrBusy, "busy, retry later"},
		{"status", errors.New("disk on fire"), ErrInternal, "disk on fire"},
		{"totals", context.DeadlineExceeded, ErrTimeout, "did not finish within the deadline: context deadline exceeded"},
		{"reconcile", ErrRecoveryRequired, ErrRecoveryRequired, "recovery required"},
		{"shutdown", ErrShuttingDown, ErrShuttingDown, "shutting down"},
	}
	for _, tc := range cases {
		h.setErr(tc.cmd, tc.err)
		var err error
		switch tc.cmd {
		case "signon":
			err = c.Signon(ctx, "jcb")
		case "signoff":
			err = c.Signoff(ctx, "cardnet")
		case "cutreq":
			_, err = c.Cutreq(ctx, "cafis", "20261120")
		case "recovery":
			_, err = c.Recovery(ctx, "cafis")
		case "status":
			_, err = c.Status(ctx)
		case "totals":
			_, err = c.Totals(ctx, "", "")
		case "reconcile":
			_, err = c.Reconcile(ctx, "cardnet", "")
		case "shutdown":
			err = c.Shutdown(ctx, false)
		}
		var ce *Error
		if !errors.As(err, &ce) || !errors.Is(err, tc.sentinel) || ce.Message != tc.message {
			t.Errorf("%s: err = %v, want code of %v with message %q", tc.cmd, err, tc.sentinel, tc.message)
		}
	}
}

func TestHandlerPanicIsInternal(t *testing.T) {
	h := newFake()
	h.panicOn = "status"
	ts := startServer(t, h, ServerOptions{})
	c := dial(t, ts.path)
	if _, err := c.Status(ctxT(t)); !errors.Is(err, ErrInternal) {
		t.Fatalf("status with a panicking handler: %v", err)
	}
	// The connection and the daemon survive.
	if err := c.Signon(ctxT(t), "cafis"); err != nil {
		t.Fatal(err)
	}
}

func TestOutOfBalanceFailsWithResult(t *testing.T) {
	h := newFake()
	h.outOfBalance = true
	ts := startServer(t, h, ServerOptions{})
	c := dial(t, ts.path)
	ctx := ctxT(t)

	cut, err := c.Cutreq(ctx, "cardnet", "")
	if !errors.Is(err, ErrOutOfBalance) {
		t.Fatalf("cutreq err = %v, want out_of_balance", err)
	}
	if cut == nil || cut.Reconciliation == nil || cut.Reconciliation.Theirs.DebitsCount != ourRow.DebitsCount+1 {
		t.Fatalf("cutreq result with the error = %+v", cut)
	}
	rec, err := c.Reconcile(ctx, "cardnet", "20261123")
	if !errors.Is(err, ErrOutOfBalance) || rec == nil || rec.Result != ReconcileOutOfBalance {
		t.Fatalf("reconcile = %+v, %v", rec, err)
	}
	if !strings.Contains(err.Error(), "net ours 109500, theirs 110200") {
		t.Errorf("message %q does not show both nets", err)
	}
	// CAFIS has no reconciliation: its cutover succeeds.
	if _, err := c.Cutreq(ctx, "cafis", ""); err != nil {
		t.Fatal(err)
	}
}

// rawConn sends lines and reads answers without the client, for malformed input.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, path string) *rawConn {
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(line string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(line)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) recv() (response, error) {
	r.t.Helper()
	line, err := r.br.ReadBytes('\n')
	if err != nil {
		return response{}, err
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		r.t.Fatalf("answer %q is not JSON: %v", line, err)
	}
	return resp, nil
}

func TestMalformedLines(t *testing.T) {
	h := newFake()
	ts := startServer(t, h, ServerOptions{})
	r := dialRaw(t, ts.path)

	cases := []struct {
		line   string
		id     uint64
		code   string
		substr string
	}{
		{"hello\n", 0, CodeBadRequest, "not a request object"},
		{"{\n", 0, CodeBadRequest, "not a request object"},
		{`[1,2,3]` + "\n", 0, CodeBadRequest, "not a request object"},
		{`null` + "\n", 0, CodeBadRequest, "version 0"},
		{`{"v":1,"id":5,"cmd":"status"} {"v":1}` + "\n", 5, CodeBadRequest, "trailing data"},
		{`{"v":2,"id":6,"cmd":"status"}` + "\n", 6, CodeBadRequest, "version 2"},
		{`{"v":1,"id":7,"cmd":"format_disk"}` + "\n", 7, CodeBadRequest, "unknown command"},
		{`{"v":1,"id":8,"cmd":"status","colour":"red"}` + "\n", 8, CodeBadRequest, "unknown field"},
		{`{"v":1,"id":9,"cmd":"signon"}` + "\n", 9, CodeInvalidArgument, "needs a center"},
		{`{"v":1,"id":10,"cmd":"status","center":"cafis"}` + "\n", 10, CodeInvalidArgument, "takes no center"},
		{`{"v":1,"id":11,"cmd":"signon","center":"cafis","date":"20261124"}` + "\n", 11, CodeInvalidArgument, "takes no date"},
		{`{"v":1,"id":12,"cmd":"status","force":true}` + "\n", 12, CodeInvalidArgument, "takes no force"},
		{`{"v":1,"id":13,"cmd":"cutreq","center":"cafis","date":"20261131"}` + "\n", 13, CodeInvalidArgument, "not a calendar date"},
		{`{"v":1,"id":14,"cmd":"cutreq","center":"cafis","date":"2026-11-24"}` + "\n", 14, CodeInvalidArgument, "not a calendar date"},
		{`{"v":1,"id":15,"cmd":"signon","center":"CAFIS"}` + "\n", 15, CodeInvalidArgument, "not a center name"},
		{`{"v":1,"id":16,"cmd":"signon","center":"../../etc/passwd"}` + "\n", 16, CodeInvalidArgument, "not a center name"},
		{`{"v":1,"id":17,"cmd":"status","timeout_ms":-1}` + "\n", 17, CodeBadRequest, "negative"},
		{`{"v":1,"id":-1,"cmd":"status"}` + "\n", 0, CodeBadRequest, "not a request object"},
		{`{"v":1,"id":18,"cmd":"status","v":"1"}` + "\n", 18, CodeBadRequest, "not a request object"},
		{"\xff\xfe\x00garbage\n", 0, CodeBadRequest, "not a request object"},
	}
	for _, tc := range cases {
		r.send(tc.line)
		resp, err := r.recv()
		if err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if resp.OK || resp.Error == nil || resp.ID != tc.id || resp.Error.Code != tc.code ||
			!strings.Contains(resp.Error.Message, tc.substr) {
			t.Errorf("%q: answer %+v %+v, want id %d code %s containing %q", tc.line, resp, resp.Error, tc.id, tc.code, tc.substr)
		}
	}
	// Blank lines are skipped; CRLF is accepted; the connection still serves.
	r.send("\n   \r\n" + `{"v":1,"id":99,"cmd":"status"}` + "\r\n")
	resp, err := r.recv()
	if err != nil || !resp.OK || resp.ID != 99 {
		t.Fatalf("status after bad lines: %+v %v", resp, err)
	}
	if calls := h.Calls(); len(calls) != 1 || calls[0] != "status" {
		t.Errorf("bad requests reached the handler: %q", calls)
	}
}

func TestOversizeLineClosesConnection(t *testing.T) {
	h := newFake()
	ts := startServer(t, h, ServerOptions{MaxRequestBytes: 1024})
	r := dialRaw(t, ts.path)
	// Write in the background: the daemon stops reading at the limit.
	go r.c.Write([]byte(`{"v":1,"id":1,"cmd":"status","center":"` + strings.Repeat("a", 64<<10) + "\"}\n"))
	resp, err := r.recv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID != 0 || resp.Error == nil || resp.Error.Code != CodeBadRequest || !strings.Contains(resp.Error.Message, "longer than 1024") {
		t.Fatalf("answer to an oversize line: %+v %+v", resp, resp.Error)
	}
	if _, err := r.recv(); err == nil {
		t.Fatal("connection still open after an oversize line")
	}
	if len(h.Calls()) != 0 {
		t.Errorf("oversize request reached the handler: %q", h.Calls())
	}
	// Other connections are unaffected.
	if _, err := dial(t, ts.path).Status(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestLastLineWithoutNewlineIsAnswered(t *testing.T) {
	ts := startServer(t, newFake(), ServerOptions{})
	r := dialRaw(t, ts.path)
	r.send(`{"v":1,"id":3,"cmd":"status"}`)
	r.c.(*net.UnixConn).CloseWrite()
	resp, err := r.recv()
	if err != nil || !resp.OK || resp.ID != 3 {
		t.Fatalf("%+v %v", resp, err)
	}
}

func TestConcurrentClients(t *testing.T) {
	h := newFake()
	ts := startServer(t, h, ServerOptions{MaxConns: 8})
	ctx := ctxT(t)
	const clients, perClient = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	shared := dial(t, ts.path) // one client used by several goroutines too
	for i := range clients {
		wg.Go(func() {
			c := shared
			if i%2 == 0 {
				var err error
				if c, err = Dial(ctx, ts.path); err != nil {
					errs <- err
					return
				}
				defer c.Close()
			}
			for j := range perClient {
				center := []string{"cafis", "cardnet"}[j%2]
				if err := c.Signon(ctx, center); err != nil {
					errs <- err
					return
				}
				rows, err := c.Totals(ctx, center, "")
				if err != nil || len(rows) != 1 || rows[0].Center != center {
					errs <- fmt.Errorf("totals %s: %v %v", center, rows, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(h.Calls()); n != clients*perClient*2 {
		t.Errorf("%d handler calls, want %d", n, clients*perClient*2)
	}
}

func TestPeerCredentialRefusal(t *testing.T) {
	h := newFake()
	other := uint32(os.Getuid()) + 4242
	ts := startServer(t, h, ServerOptions{AllowedUIDs: []uint32{other}})
	c := dial(t, ts.path)
	err := c.Signon(ctxT(t), "cardnet")
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != CodePermissionDenied || !strings.Contains(ce.Message, fmt.Sprintf("uid %d", os.Getuid())) {
		t.Fatalf("signon from a uid not allowed: %v", err)
	}
	if _, err := c.Status(ctxT(t)); !errors.Is(err, ErrPermissionDenied) {
		t.Errorf("second call on a refused client: %v", err)
	}
	if calls := h.Calls(); len(calls) != 0 {
		t.Errorf("refused peer reached the handler: %q", calls)
	}
}

func TestPeerCredentialDefaultAllowsOwnUID(t *testing.T) {
	var o ServerOptions
	o.EnsureDefaults()
	found := false
	for _, u := range o.AllowedUIDs {
		found = found || u == uint32(os.Getuid())
	}
	if !found {
		t.Fatalf("default allow list %v lacks our uid %d", o.AllowedUIDs, os.Getuid())
	}
}

func TestListenSocketModeAndStaleFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ctl.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want socket 0600", fi.Mode())
	}
	// A live listener is not taken over.
	if _, err := Listen(path); !errors.Is(err, ErrSocketInUse) {
		t.Fatalf("Listen on a live socket: %v", err)
	}
	// A socket file nobody answers on (a daemon that died) is replaced.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket should still exist for this test: %v", err)
	}
	ln2, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln2.Close()
	// A regular file is never removed.
	file := filepath.Join(dir, "notes.txt")
	os.WriteFile(file, []byte("keep me"), 0o644)
	if _, err := Listen(file); !errors.Is(err, ErrNotSocket) {
		t.Fatalf("Listen on a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatal("regular file was touched")
	}
}

func TestMaxConnsAnswersBusy(t *testing.T) {
	h := newFake()
	ts := startServer(t, h, ServerOptions{MaxConns: 1})
	first := dial(t, ts.path)
	if _, err := first.Status(ctxT(t)); err != nil { // the slot is now held
		t.Fatal(err)
	}
	second := dial(t, ts.path)
	if _, err := second.Status(ctxT(t)); !errors.Is(err, ErrBusy) {
		t.Fatalf("second connection over MaxConns: %v", err)
	}
	first.Close()
	// The slot frees once the first connection is gone; retry until it has.
	ctx := ctxT(t)
	for {
		c, err := Dial(ctx, ts.path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Status(ctx)
		c.Close()
		if err == nil {
			break
		}
		if !errors.Is(err, ErrBusy) {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("slot never freed")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestClientDeadlineBecomesTimeout(t *testing.T) {
	h := newFake()
	h.block = make(chan struct{})
	defer close(h.block)
	ts := startServer(t, h, ServerOptions{})
	c := dial(t, ts.path)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Cutreq(ctx, "cardnet", "")
	// Normally the daemon's own timeout answer arrives first; on a loaded
	// machine the client's deadline may win. Either is a timeout.
	if !errors.Is(err, ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cutreq past its deadline: %v", err)
	}
}

func TestServeStopDeliversShutdownAnswer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &stoppingHandler{fakeHandler: newFake(), stop: cancel}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, ServerOptions{}) }()

	idle := dial(t, path) // an idle connection must not hold Serve open
	if _, err := idle.Status(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	c := dial(t, path)
	if err := c.Shutdown(ctxT(t), false); err != nil {
		t.Fatalf("shutdown answer lost: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after its context ended: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket file left after Serve returned: %v", err)
	}
}

// stoppingHandler ends Serve's context from inside Shutdown, as the daemon does.
type stoppingHandler struct {
	*fakeHandler
	stop context.CancelFunc
}

func (s *stoppingHandler) Shutdown(ctx context.Context, force bool) error {
	s.stop()
	return nil
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []ServerOptions{
		{MaxConns: -1}, {MaxConns: 5000}, {RequestTimeout: -time.Second},
		{IdleTimeout: -1}, {WriteTimeout: -1}, {MaxRequestBytes: 10}, {MaxRequestBytes: 1 << 30},
	} {
		o.EnsureDefaults()
		if err := o.Validate(); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: Validate = %v", o, err)
		}
	}
	var o ServerOptions
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	h := newFake()
	if err := Serve(context.Background(), nil, h, ServerOptions{MaxConns: -1}); !errors.Is(err, ErrOptions) {
		t.Fatalf("Serve with bad options: %v", err)
	}
}

func TestNonUnixConnRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h := newFake()
	go func() { done <- Serve(ctx, ln, h, ServerOptions{}) }()
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil || !strings.Contains(string(line), CodePermissionDenied) {
		t.Fatalf("TCP peer got %q, %v", line, err)
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	ts := startServer(t, newFake(), ServerOptions{IdleTimeout: 20 * time.Millisecond})
	r := dialRaw(t, ts.path)
	r.send(`{"v":1,"id":1,"cmd":"status"}` + "\n")
	if resp, err := r.recv(); err != nil || !resp.OK {
		t.Fatalf("%+v %v", resp, err)
	}
	// Then silence: the daemon hangs up (the raw connection's own deadline is 30 s).
	if _, err := r.recv(); err == nil {
		t.Fatal("idle connection got an answer instead of being closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("idle connection was never closed")
	}
}

func TestServeStopCancelsRunningCommand(t *testing.T) {
	h := newFake()
	h.block = make(chan struct{}) // never closed: only the context ends the cutover
	ts := startServer(t, h, ServerOptions{})
	c := dial(t, ts.path)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Cutreq(ctxT(t), "cardnet", "")
		errc <- err
	}()
	// Wait until the handler is running, then stop the server.
	for deadline := time.Now().Add(30 * time.Second); len(h.Calls()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("cutreq never reached the handler")
		}
	}
	ts.cancel()
	if err := <-errc; !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("cutreq cut short by Serve stopping: %v", err)
	}
}

func TestClientQueueHonoursContextAndClose(t *testing.T) {
	h := newFake()
	h.block = make(chan struct{})
	defer close(h.block)
	ts := startServer(t, h, ServerOptions{})
	c := dial(t, ts.path)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Cutreq(ctxT(t), "cardnet", "")
		errc <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); len(h.Calls()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("cutreq never reached the handler")
		}
	}
	// A second call on the same client waits its turn, but only as long as its context allows.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Status(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for an earlier request") {
		t.Fatalf("status behind a running cutreq: %v", err)
	}
	// Close interrupts the waiting cutreq on this side.
	c.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("cutreq after Close: %v", err)
	}
	if _, err := c.Status(ctxT(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
}

// BenchmarkRoundTrip measures one status request and answer over the Unix
// socket (client encode, peer-checked server, handler, decode).
func BenchmarkRoundTrip(b *testing.B) {
	path := filepath.Join(b.TempDir(), "ctl.sock")
	ln, err := Listen(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, newFake(), ServerOptions{}) }()
	defer func() { cancel(); <-done }()
	c, err := Dial(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Totals(ctx, "cardnet", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// blankStates answers totals and status without reconciliation/recovery states set.
type blankStates struct{ *fakeHandler }

func (b blankStates) Totals(ctx context.Context, center, date string) ([]TotalsRow, error) {
	return []TotalsRow{{Center: "cafis", Date: "20261123", DebitsCount: 1, DebitsAmount: 100}}, nil
}

func (b blankStates) Status(ctx context.Context) (*Status, error) {
	return &Status{Centers: []CenterStatus{{Name: "cardnet",
		LastReconciliation: &ReconcileResult{Center: "cardnet", Date: "20261122", Result: ReconcileInBalance}}}}, nil
}

func TestUnsetStatesAreSentAsNone(t *testing.T) {
	ts := startServer(t, blankStates{newFake()}, ServerOptions{})
	c := dial(t, ts.path)
	rows, err := c.Totals(ctxT(t), "", "")
	if err != nil || len(rows) != 1 || rows[0].Reconciliation != ReconcileNone {
		t.Fatalf("totals = %+v, %v", rows, err)
	}
	st, err := c.Status(ctxT(t))
	if err != nil || st.Recovery != RecoveryNone || st.Centers[0].LastReconciliation.Ours.Reconciliation != ReconcileNone {
		t.Fatalf("status = %+v, %v", st, err)
	}
}

func TestListenPathTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("d", 120), "ctl.sock")
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "limit is 107") {
		t.Fatalf("Listen on a %d-byte path: %v", len(path), err)
	}
}

func TestUnterminatedLineAtIdleTimeoutIsNotRun(t *testing.T) {
	h := newFake()
	ts := startServer(t, h, ServerOptions{IdleTimeout: 20 * time.Millisecond})
	r := dialRaw(t, ts.path)
	r.send(`{"v":1,"id":1,"cmd":"shutdown","force":true}`) // no newline, connection kept open
	if resp, err := r.recv(); err == nil {
		t.Fatalf("unterminated line answered: %+v", resp)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("idle connection was never closed")
	}
	if calls := h.Calls(); len(calls) != 0 {
		t.Fatalf("unterminated line reached the handler: %q", calls)
	}
}

func TestClientReplacesDeadConnection(t *testing.T) {
	h := newFake()
	ts := startServer(t, h, ServerOptions{IdleTimeout: 20 * time.Millisecond})
	c := dial(t, ts.path)
	if _, err := c.Status(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// Idle well past the daemon's IdleTimeout: the next call works all the same.
	time.Sleep(200 * time.Millisecond)
	if _, err := c.Status(ctxT(t)); err != nil {
		t.Fatalf("call after the daemon closed an idle connection: %v", err)
	}

	// A request abandoned at its deadline does not poison the client.
	h.block = make(chan struct{})
	defer close(h.block)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Cutreq(ctx, "cardnet", ""); err == nil {
		t.Fatal("blocked cutreq returned no error")
	}
	if err := c.Signon(ctxT(t), "cafis"); err != nil {
		t.Fatalf("call after an abandoned request: %v", err)
	}
	want := []string{"status", "status", "cutreq cardnet ", "signon cafis"}
	if got := h.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls %q, want %q (no request sent twice)", got, want)
	}
}
