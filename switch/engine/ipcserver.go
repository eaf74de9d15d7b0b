package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/switch/outbox"
	"github.com/fxswitch/fxswitch/wal"
)

// session is one app session (FX_OpenSession): it belongs to one connection
// and one center. Transactions keep a pointer to it; once closed, their
// answers are dropped (the app can ask again by inquiry).
type session struct {
	id       uint64
	c        *center
	conn     *ipcConn
	appID    string
	inflight atomic.Int64
	closed   atomic.Bool
	// sink replaces conn as the destination of replies (the deterministic
	// simulation's apps); nil: conn.
	sink func(enc func(dst []byte) ([]byte, error))
}

// send builds a frame with enc into a pooled buffer and queues it on the
// session's connection. Safe from any goroutine.
func (s *session) send(enc func(dst []byte) ([]byte, error)) {
	if s.closed.Load() {
		return
	}
	if s.sink != nil {
		s.sink(enc)
		return
	}
	s.conn.send(enc)
}

// release frees the request slot taken at admission.
func (s *session) release() { s.inflight.Add(-1) }

// ipcConn is the state of one app connection.
type ipcConn struct {
	e        *Engine
	gc       gnet.Conn
	box      *outbox.Box
	sessions map[uint64]*session // touched only on the connection's event loop
	wbuf     []byte              // replies written synchronously from OnTraffic
	// closeAfter: the connection is closed once this batch of replies is written
	closeAfter bool
	// invalidStreak counts invalid requests in a row (reset by a valid one)
	invalidStreak int
	// app and appCounted: the connection holds a slot of app's connections
	app        string
	appCounted bool
	// read by the reaper (another goroutine)
	lastRead     atomic.Int64 // unix nanos of the last bytes received
	partialSince atomic.Int64 // unix nanos since an unfinished frame waits, 0 if none
	nSessions    atomic.Int64
}

func (ic *ipcConn) send(enc func(dst []byte) ([]byte, error)) {
	buf := outbox.Get()
	out, err := enc(buf.B[:0])
	if err != nil {
		outbox.Put(buf)
		return
	}
	buf.B = out
	_ = ic.box.Push(buf)
}

type ipcHandler struct {
	gnet.BuiltinEventEngine
	e *Engine
}

func (h *ipcHandler) OnBoot(eng gnet.Engine) gnet.Action {
	h.e.ipcEngine.Store(&eng)
	return gnet.None
}

func (h *ipcHandler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	h.e.loopsOnce.Do(func() { close(h.e.loopsReady) })
	if int(h.e.conns.Load()) >= h.e.cfg.Limits.MaxConnections {
		h.e.refusedConns.Add(1)
		return ipc.AppendError(nil, 0, 0, ipc.CodeBusy, "connection limit reached"), gnet.Close
	}
	ic := &ipcConn{e: h.e, gc: c, box: outbox.New(c, 1<<16), sessions: map[uint64]*session{}}
	ic.lastRead.Store(time.Now().UnixNano())
	c.SetContext(ic)
	h.e.conns.Add(1)
	h.e.liveConns.Store(ic, struct{}{})
	return nil, gnet.None
}

func (h *ipcHandler) OnClose(c gnet.Conn, _ error) gnet.Action {
	ic, ok := c.Context().(*ipcConn)
	if !ok {
		return gnet.None
	}
	ic.box.Close()
	for _, s := range ic.sessions {
		h.e.closeSession(s)
	}
	ic.sessions = nil
	ic.nSessions.Store(0)
	if ic.appCounted {
		h.e.appConns.give(ic.app)
	}
	h.e.conns.Add(-1)
	h.e.liveConns.Delete(ic)
	return gnet.None
}

func (h *ipcHandler) OnTraffic(c gnet.Conn) gnet.Action {
	ic, ok := c.Context().(*ipcConn)
	if !ok {
		return gnet.Close
	}
	if err := ic.box.Flush(); err != nil {
		h.e.log.Warn("closing app connection: write failed", "peer", peer(c), "err", err)
		return gnet.Close
	}
	n := c.InboundBuffered()
	if n == 0 {
		return gnet.None
	}
	now := time.Now().UnixNano()
	ic.lastRead.Store(now)
	buf, _ := c.Peek(n)
	consumed := 0
	action := gnet.None
	ic.wbuf = ic.wbuf[:0]
	var f ipc.Frame
	for consumed < len(buf) {
		frame, total, err := ipc.Split(buf[consumed:])
		if err != nil {
			ic.wbuf = ipc.AppendError(ic.wbuf, 0, 0, ipc.CodeMalformed, errText(err))
			action = gnet.Close
			break
		}
		if total == 0 {
			break
		}
		consumed += total
		if err := f.Parse(frame); err != nil {
			// A whole frame of another version or an unknown kind keeps the
			// stream in step: answer its code (2, 3) to its session and
			// correlation and go on. Only a malformed frame (1) closes.
			var ie *ipc.Error
			if errors.As(err, &ie) && (ie.Code == ipc.CodeUnsupportedVersion || ie.Code == ipc.CodeUnknownKind) {
				ic.wbuf = ipc.AppendError(ic.wbuf, f.Session(), f.Correlation(), ie.Code, ie.Text)
				continue
			}
			ic.wbuf = ipc.AppendError(ic.wbuf, 0, 0, ipc.CodeMalformed, errText(err))
			action = gnet.Close
			break
		}
		h.e.handleFrame(ic, &f)
		if ic.closeAfter {
			action = gnet.Close
			consumed = len(buf)
			break
		}
	}
	if consumed > 0 {
		_, _ = c.Discard(consumed)
	}
	switch {
	case consumed == len(buf):
		ic.partialSince.Store(0)
	case ic.partialSince.Load() == 0:
		ic.partialSince.Store(now)
	}
	if len(ic.wbuf) > 0 {
		_, _ = c.Write(ic.wbuf)
	}
	return action
}

// errText is the text of an error frame: an *ipc.Error's own text (its code
// travels in the frame), anything else as it prints.
func errText(err error) string {
	var ie *ipc.Error
	if errors.As(err, &ie) {
		return ie.Text
	}
	return err.Error()
}

// handleFrame dispatches one parsed frame on the connection's event loop.
func (e *Engine) handleFrame(ic *ipcConn, f *ipc.Frame) {
	corr := f.Correlation()
	if f.Version() != ipc.Version {
		ic.wbuf = ipc.AppendError(ic.wbuf, f.Session(), corr, ipc.CodeUnsupportedVersion, "version 1 only")
		return
	}
	switch f.Kind() {
	case ipc.KindOpenSession:
		e.openSession(ic, f)
	case ipc.KindCloseSession:
		s := ic.sessions[f.Session()]
		if s == nil {
			ic.wbuf = ipc.AppendError(ic.wbuf, f.Session(), corr, ipc.CodeUnknownSession, "unknown or closed session")
			return
		}
		delete(ic.sessions, s.id)
		e.closeSession(s)
		b := ipc.Begin(ic.wbuf, ipc.KindSessionClosed, s.id, corr)
		ic.wbuf, _ = b.Finish()
	case ipc.KindRequest:
		e.request(ic, f)
	case ipc.KindPing:
		b := ipc.Begin(ic.wbuf, ipc.KindPong, f.Session(), corr)
		ic.wbuf, _ = b.Finish()
	default:
		ic.wbuf = ipc.AppendError(ic.wbuf, f.Session(), corr, ipc.CodeUnknownKind, "unknown kind "+f.Kind().String())
	}
}

func (e *Engine) openSession(ic *ipcConn, f *ipc.Frame) {
	corr := f.Correlation()
	fail := func(code ipc.Code, text string) {
		ic.wbuf = ipc.AppendError(ic.wbuf, 0, corr, code, text)
	}
	name := string(f.Field(ipc.TagCenter))
	c := e.centers[name]
	switch {
	case c == nil:
		fail(ipc.CodeUnknownCenter, "unknown center "+quote(name))
		return
	case c.recoveryPub.Load():
		fail(ipc.CodeRecoveryRequired, "recovery required for "+name+": run fxctl recovery --center "+name)
		return
	case e.shutting.Load():
		fail(ipc.CodeShuttingDown, "shutting down")
		return
	case int(e.sessionCount.Load()) >= e.cfg.Limits.MaxSessions:
		fail(ipc.CodeBusy, "session limit reached")
		return
	}
	appID := ""
	if e.tokens != nil {
		id, err := e.tokens.Check(f.Field(ipc.TagAppToken))
		if err != nil {
			e.authFailures.Add(1)
			e.log.Warn("session refused: bad app credential", "center", name, "peer", peer(ic.gc), "err", err)
			fail(ipc.CodeUnauthorized, "unauthorized: a valid app token is required")
			ic.closeAfter = true
			return
		}
		appID = id
	}
	if max := e.cfg.Limits.MaxConnectionsPerApp; max > 0 && !ic.appCounted {
		// A connection counts for the app of its first session.
		if !e.appConns.take(appID, max) {
			fail(ipc.CodeBusy, "connection limit of this app reached")
			return
		}
		ic.appCounted, ic.app = true, appID
	}
	if max := e.cfg.Limits.MaxSessionsPerApp; max > 0 && !e.appSessions.take(appID, max) {
		fail(ipc.CodeBusy, "session limit of this app reached")
		return
	}
	s := &session{id: e.nextSession.Add(1), c: c, conn: ic, appID: appID}
	ic.sessions[s.id] = s
	ic.nSessions.Add(1)
	e.sessionCount.Add(1)
	c.sessions.Add(1)
	e.registerSession(s)
	b := ipc.Begin(ic.wbuf, ipc.KindSessionOpened, s.id, corr)
	b.Str(ipc.TagCenter, name)
	b.Str(ipc.TagBusinessDate, c.currentDate())
	ic.wbuf, _ = b.Finish()
}

func (e *Engine) closeSession(s *session) {
	if s.closed.Swap(true) {
		return
	}
	s.conn.nSessions.Add(-1)
	if e.cfg.Limits.MaxSessionsPerApp > 0 {
		e.appSessions.give(s.appID)
	}
	e.sessionCount.Add(-1)
	s.c.sessions.Add(-1)
	e.unregisterSession(s)
}

func quote(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return "\"" + s + "\""
}

// request validates an app request on the event loop and hands a copy of it
// to the center's loop; nothing here waits for disk.
func (e *Engine) request(ic *ipcConn, f *ipc.Frame) {
	corr := f.Correlation()
	s := ic.sessions[f.Session()]
	if s == nil {
		ic.wbuf = ipc.AppendError(ic.wbuf, f.Session(), corr, ipc.CodeUnknownSession, "unknown or closed session")
		return
	}
	var v ipc.RequestView
	if err := v.Parse(f); err != nil {
		code, text := ipc.CodeInvalidField, err.Error()
		if ie, ok := err.(*ipc.Error); ok {
			code, text = ie.Code, ie.Text
		}
		ic.wbuf = ipc.AppendError(ic.wbuf, s.id, corr, code, text)
		// An app that sends nothing but invalid requests is broken or hostile:
		// after maxInvalidStreak in a row its connection is closed, so it
		// cannot keep the event loop busy answering it.
		if ic.invalidStreak++; ic.invalidStreak >= maxInvalidStreak {
			e.invalidClosed.Add(1)
			e.log.Warn("closing app connection: too many invalid requests in a row", "peer", peer(ic.gc), "count", ic.invalidStreak)
			ic.closeAfter = true
		}
		return
	}
	ic.invalidStreak = 0
	if e.shutting.Load() {
		ic.wbuf = ipc.AppendError(ic.wbuf, s.id, corr, ipc.CodeShuttingDown, "shutting down")
		return
	}
	if s.inflight.Add(1) > int64(e.cfg.Limits.MaxInFlightPerSession) {
		s.inflight.Add(-1)
		ic.wbuf = ipc.AppendError(ic.wbuf, s.id, corr, ipc.CodeBusy, "session in-flight limit reached")
		return
	}
	t := newTxn(s, corr, &v)
	select {
	case s.c.appCh <- t:
	default:
		s.inflight.Add(-1)
		ic.wbuf = ipc.AppendError(ic.wbuf, s.id, corr, ipc.CodeBusy, s.c.name+": admission queue full")
	}
}

// newTxn copies the request out of the event loop's buffer into one
// allocation and computes the content digest used for idempotency.
func newTxn(s *session, corr uint64, v *ipc.RequestView) *txn {
	n := len(v.PAN) + len(v.Expiry) + len(v.Currency) + len(v.Terminal) + len(v.Merchant)
	b := make([]byte, 0, n)
	cp := func(x []byte) []byte {
		if x == nil {
			return nil
		}
		start := len(b)
		b = append(b, x...)
		return b[start:len(b):len(b)]
	}
	t := &txn{sess: s, corr: corr, op: v.Op, appID: s.appID, ref: string(v.Ref), amount: int64(v.AmountMinor), start: time.Now()}
	t.pan = cp(v.PAN)
	t.expiry = cp(v.Expiry)
	t.currency = cp(v.Currency)
	t.terminal = cp(v.Terminal)
	t.merchant = cp(v.Merchant)
	if v.OrigRef != nil {
		t.origRef = string(v.OrigRef)
	}
	t.digest = digest(v)
	return t
}

// digest fingerprints the request content (everything but the reference) so
// that a reused reference with different content is refused (code 18).
func digest(v *ipc.RequestView) [16]byte {
	h := sha256.New()
	var lb [2]byte
	for _, x := range [][]byte{{byte(v.Op)}, v.PAN, v.Expiry, v.Amount, v.Currency, v.Terminal, v.Merchant, v.OrigRef} {
		binary.BigEndian.PutUint16(lb[:], uint16(len(x)))
		h.Write(lb[:])
		h.Write(x)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	var d [16]byte
	copy(d[:], sum[:16])
	return d
}

// buildError encodes an Error frame.
func buildError(dst []byte, session, corr uint64, code ipc.Code, text string) ([]byte, error) {
	return ipc.AppendError(dst, session, corr, code, text), nil
}

// buildResponse encodes the Response frame of a resolved request.
func buildResponse(dst []byte, session, corr uint64, ref string, res *wal.Resolution, key uint32, date string, rrn []byte) ([]byte, error) {
	b := ipc.Begin(dst, ipc.KindResponse, session, corr)
	b.Str(ipc.TagRef, ref)
	b.Str(ipc.TagResult, string(resultOf(res.Status)))
	if res.RespCode != "" {
		b.Str(ipc.TagRespCode, res.RespCode)
	}
	if res.AuthCode != "" {
		b.Str(ipc.TagAuthCode, res.AuthCode)
	}
	if key != 0 {
		b.Uint(ipc.TagSTAN, uint64(key))
	}
	if date != "" {
		b.Str(ipc.TagBusinessDate, date)
	}
	if rrn != nil {
		b.Bytes(ipc.TagRRN, rrn)
	}
	return b.Finish()
}

func resultOf(st wal.Status) ipc.Result {
	switch st {
	case wal.StatusApproved:
		return ipc.ResultApproved
	case wal.StatusDeclined:
		return ipc.ResultDeclined
	case wal.StatusCancelled:
		return ipc.ResultCancelled
	}
	return ipc.ResultFailed
}

// sessionRegistry lets notices reach every open session of a center.
type sessionRegistry struct {
	mu sync.Mutex
	m  map[*session]struct{}
}

func (e *Engine) registerSession(s *session) {
	e.reg.mu.Lock()
	e.reg.m[s] = struct{}{}
	e.reg.mu.Unlock()
}

func (e *Engine) unregisterSession(s *session) {
	e.reg.mu.Lock()
	delete(e.reg.m, s)
	e.reg.mu.Unlock()
}

// notify sends a Notice to every open session of center (all when "").
func (e *Engine) notify(center, kind, detail string) {
	e.reg.mu.Lock()
	targets := make([]*session, 0, len(e.reg.m))
	for s := range e.reg.m {
		if center == "" || s.c.name == center {
			targets = append(targets, s)
		}
	}
	e.reg.mu.Unlock()
	for _, s := range targets {
		s.send(func(dst []byte) ([]byte, error) {
			return ipc.AppendNotice(dst, s.id, kind, detail)
		})
	}
}

// maxInvalidStreak invalid requests in a row close an app connection.
const maxInvalidStreak = 1000

// appCounts counts open sessions per app id.
type appCounts struct {
	mu sync.Mutex
	m  map[string]int
}

func (a *appCounts) take(app string, max int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string]int{}
	}
	if a.m[app] >= max {
		return false
	}
	a.m[app]++
	return true
}

func (a *appCounts) give(app string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m[app]--; a.m[app] <= 0 {
		delete(a.m, app)
	}
}

// reapConns closes app connections that hold resources without using them:
// one that started a frame and did not finish it within read_timeout (a slow
// sender), and one without sessions that sent nothing for idle_timeout.
func (e *Engine) reapConns(now time.Time) {
	readTO, idleTO := e.cfg.Limits.ReadTimeout.D(), e.cfg.Limits.IdleTimeout.D()
	e.liveConns.Range(func(k, _ any) bool {
		ic := k.(*ipcConn)
		reason := ""
		if p := ic.partialSince.Load(); p != 0 && now.Sub(time.Unix(0, p)) > readTO {
			reason = "unfinished frame past read_timeout"
		} else if ic.nSessions.Load() == 0 && now.Sub(time.Unix(0, ic.lastRead.Load())) > idleTO {
			reason = "idle without a session past idle_timeout"
		}
		if reason != "" {
			e.reapedConns.Add(1)
			e.log.Warn("closing app connection", "peer", peer(ic.gc), "reason", reason)
			_ = ic.gc.Close()
		}
		return true
	})
}

// peer names the remote end of an app connection for logs; a connection
// being torn down may no longer have an address.
func peer(c gnet.Conn) string {
	if a := c.RemoteAddr(); a != nil {
		if s := a.String(); s != "" {
			return s
		}
	}
	return "?"
}
