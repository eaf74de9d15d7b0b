package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/valyala/bytebufferpool"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/switch/config"
	"github.com/fxswitch/fxswitch/switch/line"
	"github.com/fxswitch/fxswitch/switch/outbox"
	"github.com/fxswitch/fxswitch/wal"
)

// txnState is where a transaction is in its life.
type txnState uint8

const (
	stAdmitted   txnState = iota // request record appended, not yet durable/sent
	stSent                       // on the wire (or about to be), waiting for the answer
	stCancelling                 // timed out or indeterminate: the cancel path runs
	stResolving                  // resolution appended, waiting for durability
	stDone
)

// txn is one app request (or a recovered in-flight request) inside a center.
// Owned by the center loop except the fields written before admission.
type txn struct {
	id      uint64
	sess    *session
	corr    uint64
	op      ipc.Op
	appID   string
	ref     string
	digest  [16]byte
	amount  int64
	cat     wal.Category
	date    string
	key     matchKey
	line    *line.Line
	state   txnState
	timeout time.Time
	msg     []byte // the encoded center message (payload, no frame header)

	// request fields, copied out of the IPC frame
	pan, expiry, currency, terminal, merchant []byte
	origRef                                   string
	orig                                      *wal.Request

	// cancel path
	timedOut      bool // the app was told "timeout"
	cancelKey     matchKey
	cancelSerial  uint32
	cancelTries   int
	nextRetry     time.Time
	confirming    bool // CAFIS: next attempt is a confirmation
	lateApproved  bool
	recovered     bool
	cancelSentDay string    // the date the reversal counts in (see sendCancel)
	cancelMsgDay  string    // CAFIS: the date of the current cancel serial's messages
	start         time.Time // when the app's request arrived (latency metrics)
	waiters       []*txn    // same reference and content, arrived while in flight
	deferred      []*txn    // cancels of this request that arrived while its outcome was being made durable
}

type refKey struct{ app, ref string }

// center is one center module (CAFIS or CARDNET): its lines, business date,
// matching keys and in-flight requests. Everything below "owned by loop" is
// touched only by the center's goroutine; other goroutines post closures.
type center struct {
	e     *Engine
	name  string
	cfg   config.Center
	model model
	log   *slog.Logger
	pool  *line.Pool
	lines []*line.Line

	appCh   chan *txn
	frameCh chan inFrame
	evCh    chan func()
	quit    chan struct{}
	done    chan struct{}

	// admit's scratch records: the encoder and the WAL take them by
	// pointer (the encoder through an interface), so locals would be
	// allocated per request. Only the loop goroutine uses them, each
	// during one call (AppendRequest copies what it keeps).
	out    outReq
	walReq wal.Request

	// published for status and OpenSession (read from other goroutines)
	signedOnPub   atomic.Bool
	recoveryPub   atomic.Bool
	datePub       atomic.Pointer[string]
	inflightPub   atomic.Int64
	unmatched     atomic.Int64
	lateResponses atomic.Int64
	sessions      atomic.Int64
	lastRecon     atomic.Pointer[reconResult]

	// owned by loop
	date     string
	wantOn   bool // persisted logical signon state
	shutting bool
	keys     *keyAlloc // requests, cancels and network messages share one key space
	refs     refFilter // references admitted in the current business date
	inflight map[matchKey]*txn
	byRef    map[refKey]*txn
	timeouts []*txn // FIFO by deadline (uniform timeout per center)
	cancels  map[*txn]struct{}
	admin    map[matchKey]*adminWait
	signonAt []time.Time // per line index: earliest next automatic re-signon
	// keys of requests settled by their cancel, for telling late answers from duplicates
	timedOutKeys map[matchKey]struct{}
	timedOutRing []matchKey
	recovery     *recoveryRun
}

type inFrame struct {
	l *line.Line
	b *bytebufferpool.ByteBuffer
}

type reconResult struct {
	date         string
	inBalance    bool
	ours, theirs wal.Totals
}

func (c *center) post(fn func()) { c.evCh <- fn }

// call runs fn on the center loop and waits for it.
func (c *center) call(fn func()) {
	done := make(chan struct{})
	c.evCh <- func() { fn(); close(done) }
	<-done
}

func (c *center) run() {
	defer close(c.done)
	tick := time.NewTicker(c.e.opts.Tick)
	defer tick.Stop()
	for {
		select {
		case t := <-c.appCh:
			c.admit(t)
		case f := <-c.frameCh:
			c.onFrame(f)
		case fn := <-c.evCh:
			fn()
		case <-tick.C:
			c.onTick()
		case <-c.quit:
			return
		}
	}
}

func (c *center) now() time.Time { return c.e.opts.Clock() }

// ---------------------------------------------------------------- admission

func (c *center) admit(t *txn) {
	if t.op == ipc.OpInquiry {
		c.inquire(t)
		return
	}
	switch {
	case c.recoveryPub.Load():
		c.replyErr(t, ipc.CodeRecoveryRequired, "recovery required: run fxctl recovery")
		return
	case c.shutting:
		c.replyErr(t, ipc.CodeShuttingDown, "shutting down")
		return
	case !c.signedOnPub.Load():
		c.replyErr(t, ipc.CodeNotSignedOn, c.name+" is not signed on")
		return
	case !c.model.supports(t.op):
		c.replyErr(t, ipc.CodeInvalidField, "field op: "+t.op.String()+" is not supported by "+c.name)
		return
	}
	rk := refKey{t.appID, t.ref}
	if prev := c.byRef[rk]; prev != nil {
		if prev.digest != t.digest {
			c.replyErr(t, ipc.CodeReferenceReused, "reference "+t.ref+" reused with different content")
			return
		}
		if len(prev.waiters) >= 16 {
			c.replyErr(t, ipc.CodeBusy, "too many repeats of reference "+t.ref)
			return
		}
		prev.waiters = append(prev.waiters, t)
		return
	}
	// A reference is unique per app and business date (DESIGN §5): one used
	// on an earlier date starts a new transaction.
	var prev *wal.Request
	var res *wal.Resolution
	err := wal.ErrNotFound
	if c.refs.mayHave(t.appID, t.ref) {
		prev, res, err = c.e.wal.LookupRef(c.name, t.appID, t.ref)
	}
	switch {
	case err == nil && prev.Date == c.date:
		if prev.Digest != t.digest {
			c.replyErr(t, ipc.CodeReferenceReused, "reference "+t.ref+" reused with different content")
			return
		}
		if res == nil {
			c.replyErr(t, ipc.CodeBusy, "reference "+t.ref+" is still being settled")
			return
		}
		c.replyResolution(t.sess, t.corr, t.ref, prev, res)
		return
	case err != nil && !errors.Is(err, wal.ErrNotFound):
		c.replyErr(t, ipc.CodeInternal, err.Error())
		return
	}
	origMsg, origDate := []byte(nil), ""
	if t.op == ipc.OpCancel {
		if o := c.byRef[refKey{t.appID, t.origRef}]; o != nil {
			if o.state == stResolving && len(o.deferred) < 16 {
				// Settled, its outcome on its way to disk: look again once durable.
				o.deferred = append(o.deferred, t)
				return
			}
			c.replyErr(t, ipc.CodeInvalidField, "field original reference: "+t.origRef+" is still in flight")
			return
		}
		oreq, ores, err := c.e.wal.LookupRef(c.name, t.appID, t.origRef)
		if errors.Is(err, wal.ErrNotFound) {
			c.replyErr(t, ipc.CodeUnknownReference, "unknown original reference "+t.origRef)
			return
		} else if err != nil {
			c.replyErr(t, ipc.CodeInternal, err.Error())
			return
		}
		if ores == nil || ores.Status != wal.StatusApproved || oreq.Op == uint8(ipc.OpCancel) {
			c.replyErr(t, ipc.CodeInvalidField, "field original reference: "+t.origRef+" is not an approved transaction")
			return
		}
		t.orig = oreq
		t.amount = oreq.Amount
		origMsg, origDate = oreq.Msg, oreq.Date
	}
	if len(c.inflight) >= c.e.cfg.Limits.MaxInFlightPerCenter {
		c.replyErr(t, ipc.CodeBusy, c.name+": in-flight limit reached")
		return
	}
	l := c.pickLine()
	if l == nil {
		c.replyErr(t, ipc.CodeNotSignedOn, c.name+": no signed-on line")
		return
	}
	key, err := c.keys.alloc()
	if err != nil {
		c.replyErr(t, ipc.CodeBusy, err.Error())
		return
	}
	origCat := wal.CategoryNone
	if t.orig != nil {
		origCat = t.orig.Category
	}
	t.cat = c.model.category(t.op, origCat)
	t.date = c.date
	now := c.now()
	buf := outbox.Get()
	r := &c.out
	*r = outReq{op: t.op, key: key, date: t.date, now: now, pan: t.pan, expiry: t.expiry, amount: t.amount,
		currency: t.currency, terminal: t.terminal, merchant: t.merchant, origMsg: origMsg, origDate: origDate}
	var mk matchKey
	buf.B, mk, err = c.encodeFramed(buf.B[:0], func(dst []byte) ([]byte, matchKey, error) {
		return c.model.encodeRequest(dst, r)
	})
	*r = outReq{} // drop the references to this request's fields
	if err != nil {
		outbox.Put(buf)
		c.replyErr(t, ipc.CodeInvalidField, err.Error())
		return
	}
	t.key = mk
	t.msg = append([]byte(nil), buf.B[c.model.framing().HeaderLen():]...)
	t.line = l
	req := &c.walReq
	*req = wal.Request{
		Center: c.name, Key: key, Date: t.date, Op: uint8(t.op), Category: t.cat, Amount: t.amount,
		AppID: t.appID, AppRef: t.ref, Digest: t.digest, Line: uint16(l.Index), Advice: t.op == ipc.OpAdvice,
		PAN: t.pan, Msg: t.msg, TimeUnixNano: now.UnixNano(),
	}
	if t.sess != nil {
		req.Session = t.sess.id
	}
	if t.orig != nil {
		req.OrigID = t.orig.ID
	}
	err = c.e.wal.AppendRequest(req, func(err error) {
		if err != nil {
			outbox.Put(buf)
			c.post(func() { c.failAdmitted(t, err) })
			return
		}
		// I1: the request is durable; only now may its bytes reach the line.
		if err := l.Send(buf); err != nil {
			c.post(func() { c.indeterminate(t) })
		}
		if t.op == ipc.OpAdvice {
			// Store-and-forward: durable is the app's answer (DESIGN §5).
			c.replyAdviceAccepted(t)
		}
	})
	id := req.ID
	*req = wal.Request{} // drop the references to this request's fields
	if err != nil {
		outbox.Put(buf)
		c.replyErr(t, ipc.CodeBusy, err.Error())
		return
	}
	t.id = id
	c.refs.add(t.appID, t.ref)
	t.state = stSent
	t.timeout = now.Add(c.cfg.Timeout.D())
	c.inflight[mk] = t
	c.byRef[rk] = t
	c.timeouts = append(c.timeouts, t)
	l.InFlight.Add(1)
	c.inflightPub.Store(int64(len(c.inflight)))
}

// encodeFramed reserves the frame header, lets enc append the message and
// patches the header with the payload length.
func (c *center) encodeFramed(dst []byte, enc func([]byte) ([]byte, matchKey, error)) ([]byte, matchKey, error) {
	f := c.model.framing()
	h := f.HeaderLen()
	dst = append(dst[:0], make([]byte, h)...)
	out, mk, err := enc(dst)
	if err != nil {
		return dst[:0], mk, err
	}
	if err := f.PutHeader(out[:h], len(out)-h); err != nil {
		return dst[:0], mk, err
	}
	return out, mk, nil
}

func (c *center) pickLine() *line.Line {
	var best *line.Line
	for _, l := range c.lines {
		if l.State() != line.SignedOn {
			continue
		}
		if best == nil || l.InFlight.Load() < best.InFlight.Load() {
			best = l
		}
	}
	return best
}

func (c *center) failAdmitted(t *txn, err error) {
	c.log.Error("request not durable; refusing traffic", "ref", t.ref, "err", err)
	c.forget(t)
	c.replyErr(t, ipc.CodeInternal, "write-ahead log failure: "+err.Error())
	c.e.fatal(err)
}

func (c *center) forget(t *txn) {
	if c.inflight[t.key] == t {
		delete(c.inflight, t.key)
		if t.line != nil {
			t.line.InFlight.Add(-1)
		}
	}
	if t.cancelKey != (matchKey{}) && c.inflight[t.cancelKey] == t {
		delete(c.inflight, t.cancelKey)
	}
	delete(c.cancels, t)
	c.inflightPub.Store(int64(len(c.inflight)))
}

// ---------------------------------------------------------------- responses

func (c *center) onFrame(f inFrame) {
	defer outbox.Put(f.b)
	var in inbound
	if err := c.model.decode(f.b.B, &in); err != nil {
		c.unmatched.Add(1)
		c.e.rec.BadFrame(c.name)
		c.log.Warn("undecodable frame from center", "line", f.l.Addr, "err", err)
		return
	}
	switch in.kind {
	case inCenterEcho:
		c.replyNetwork(f.l, f.b.B)
		return
	case inCenterCutover:
		c.replyNetwork(f.l, f.b.B)
		c.centerCutover(yearFor(in.date, c.date))
		return
	}
	if w, ok := c.admin[in.key]; ok {
		delete(c.admin, in.key)
		if w.done != nil {
			w.done(&in, nil)
		}
		return
	}
	t := c.inflight[in.key]
	if t == nil {
		if _, ok := c.timedOutKeys[in.key]; ok {
			// The original's answer after its timeout and after the cancel
			// settled it: logged and counted, never forwarded.
			c.lateResponses.Add(1)
			c.e.rec.LateResponse(c.name)
			c.log.Warn("late response for a request already settled by its cancel", "key", in.key.key, "approved", in.approved)
			return
		}
		c.unmatched.Add(1)
		c.e.rec.DuplicateResponse(c.name)
		c.log.Warn("response matches nothing in flight (duplicate or unknown)", "line", f.l.Addr, "class", in.key.class, "key", in.key.key)
		return
	}
	if t.state == stSent && in.key == t.key {
		c.e.rec.CenterRoundTrip(c.name, time.Since(t.start))
		c.resolveAnswer(t, &in)
		return
	}
	if t.state == stCancelling && in.key == t.cancelKey {
		// Checked before the late-answer case: a CARDNET app cancel is
		// repeated (0401) under its own key, so the answer to the repeat
		// carries the original's key and settles it.
		c.onCancelAnswer(t, &in)
		return
	}
	if in.key == t.key {
		// The original's answer after its timeout: never forwarded as a success.
		c.lateResponses.Add(1)
		c.e.rec.LateResponse(c.name)
		if in.approved {
			t.lateApproved = true
		}
		c.log.Warn("late response after timeout; cancel continues", "ref", t.ref, "approved", in.approved)
		return
	}
	if in.key == t.cancelKey {
		c.onCancelAnswer(t, &in)
	}
}

func (c *center) replyNetwork(l *line.Line, req []byte) {
	buf := outbox.Get()
	out, _, err := c.encodeFramed(buf.B[:0], func(dst []byte) ([]byte, matchKey, error) {
		b, err := c.model.encodeNetworkReply(dst, req, c.now())
		return b, matchKey{}, err
	})
	if err != nil {
		outbox.Put(buf)
		c.log.Error("cannot answer center request", "err", err)
		return
	}
	buf.B = out
	_ = l.Send(buf)
}

// resolveAnswer settles a request from its own answer.
func (c *center) resolveAnswer(t *txn, in *inbound) {
	st := wal.StatusDeclined
	var effects []wal.Effect
	switch {
	case t.op == ipc.OpCancel:
		if in.cancel == cancelReversed {
			st = wal.StatusCancelled
			effects = effectOne(t.date, t.cat, t.amount)
		}
	case in.approved:
		st = wal.StatusApproved
		effects = effectOne(t.date, t.cat, t.amount)
	}
	c.resolve(t, st, in.codeString(), in.authString(), effects)
}

func effectOne(date string, cat wal.Category, amount int64) []wal.Effect {
	if cat == wal.CategoryNone {
		return nil
	}
	return []wal.Effect{{Date: date, Category: cat, Amount: amount}}
}

func reversalOf(cat wal.Category) wal.Category {
	switch cat {
	case wal.CategoryDebit:
		return wal.CategoryDebitReversal
	case wal.CategoryCredit:
		return wal.CategoryCreditReversal
	}
	return wal.CategoryNone
}

// resolve appends the final outcome; the app hears it once it is durable (I2).
func (c *center) resolve(t *txn, st wal.Status, code, auth string, effects []wal.Effect) {
	c.forget(t)
	t.state = stResolving
	res := &wal.Resolution{RequestID: t.id, Status: st, RespCode: code, AuthCode: auth, Effects: effects, TimeUnixNano: c.now().UnixNano()}
	tell := !t.timedOut && t.op != ipc.OpAdvice
	err := c.e.wal.AppendResolution(res, func(first *wal.Resolution, dup bool, err error) {
		if err != nil {
			c.post(func() { c.failResolution(t, err) })
			return
		}
		if first == nil {
			first = res
		}
		if tell {
			c.sendResult(t.sess, t.corr, t.ref, first, t.key.key, t.date)
			c.e.rec.Request(c.name, t.op.String(), string(resultOf(first.Status)), time.Since(t.start))
		}
		if t.cancelTries > 0 && !t.recovered {
			c.e.rec.CancelConfirmed(c.name)
		}
		c.post(func() { c.finish(t, first) })
	})
	switch {
	case err == nil:
	case errors.Is(err, wal.ErrBusy):
		// The WAL's queue is full: try again a tick later rather than lose the
		// outcome. The retry is posted from a timer, never by the loop to
		// itself (evCh could be full). Until then the request stays
		// unresolved: any further answer for it is counted as a duplicate.
		c.log.Warn("resolution not queued; retrying", "ref", t.ref, "err", err)
		time.AfterFunc(c.e.opts.Tick, func() { c.post(func() { c.resolve(t, st, code, auth, effects) }) })
	default:
		c.failResolution(t, err)
	}
}

func (c *center) failResolution(t *txn, err error) {
	c.log.Error("resolution not durable", "ref", t.ref, "err", err)
	c.e.fatal(err)
}

// rememberTimedOut keeps the keys of the last maxTimedOutKeys requests that
// were settled by a cancel, so their late answers are told from duplicates.
func (c *center) rememberTimedOut(k matchKey) {
	if len(c.timedOutRing) >= maxTimedOutKeys {
		delete(c.timedOutKeys, c.timedOutRing[0])
		c.timedOutRing = c.timedOutRing[1:]
	}
	c.timedOutRing = append(c.timedOutRing, k)
	c.timedOutKeys[k] = struct{}{}
}

const maxTimedOutKeys = 4096

// finish runs once the resolution is durable.
func (c *center) finish(t *txn, res *wal.Resolution) {
	t.state = stDone
	if t.timedOut {
		c.rememberTimedOut(t.key)
	}
	rk := refKey{t.appID, t.ref}
	if c.byRef[rk] == t {
		delete(c.byRef, rk)
	}
	for _, w := range t.waiters {
		c.sendResult(w.sess, w.corr, w.ref, res, t.key.key, t.date)
		w.sess.release()
	}
	t.waiters = nil
	if t.sess != nil {
		t.sess.release()
	}
	for _, d := range t.deferred {
		c.admit(d)
	}
	t.deferred = nil
	if c.recovery != nil {
		c.recovery.settled(t, res)
	}
}

// indeterminate: the request may or may not have reached the center (the
// line dropped under it): cancel it as if it had timed out.
func (c *center) indeterminate(t *txn) {
	if t.state == stSent {
		c.startCancel(t)
	}
}

// ---------------------------------------------------------------- timeouts and cancels

func (c *center) onTick() {
	now := c.now()
	n := 0
	for _, t := range c.timeouts {
		if t.state != stSent {
			n++
			continue
		}
		if t.timeout.After(now) {
			break
		}
		n++
		c.startCancel(t)
	}
	c.timeouts = c.timeouts[n:]
	// Due repeats go out in request order, so that a run is reproducible.
	var due []*txn
	for t := range c.cancels {
		if !now.Before(t.nextRetry) {
			due = append(due, t)
		}
	}
	slices.SortFunc(due, byID)
	for _, t := range due {
		c.sendCancel(t)
	}
	c.expireAdmin(now)
	if c.wantOn {
		for _, l := range c.lines {
			if l.State() == line.Connected && !now.Before(c.signonAt[l.Index]) {
				c.resignon(l, now)
			}
		}
	}
	c.echoIdle(now)
}

func byID(a, b *txn) int { return cmp.Compare(a.id, b.id) }

// startCancel moves a request to the cancel path: the app hears "timeout"
// (once the first cancel attempt is durable) and the center is asked to
// cancel until it answers.
func (c *center) startCancel(t *txn) {
	if t.state != stSent {
		return
	}
	t.state = stCancelling
	if t.op == ipc.OpAdvice {
		// An advice is not cancelled: it is repeated (0221) until acknowledged.
		t.state = stSent
		t.timeout = c.now().Add(c.cfg.CancelRetry.D())
		c.timeouts = append(c.timeouts, t)
		c.resendAdvice(t)
		return
	}
	c.cancels[t] = struct{}{}
	c.e.rec.Timeout(c.name)
	c.e.rec.CancelStarted(c.name)
	c.e.rec.Request(c.name, t.op.String(), string(ipc.ResultTimeout), time.Since(t.start))
	c.sendCancel(t)
}

func (c *center) resendAdvice(t *txn) {
	l := c.pickLine()
	if l == nil {
		return
	}
	buf := outbox.Get()
	out, _, err := c.encodeFramed(buf.B[:0], func(dst []byte) ([]byte, matchKey, error) {
		return c.model.encodeRequest(dst, &outReq{op: ipc.OpAdvice, key: t.key.key, date: t.date, now: c.now(), repeat: true, origMsg: t.msg})
	})
	if err != nil {
		outbox.Put(buf)
		return
	}
	buf.B = out
	_ = c.e.wal.AppendAdviceAttempt(t.id, func(err error) {
		if err == nil {
			_ = l.Send(buf)
		} else {
			outbox.Put(buf)
		}
	})
}

// sendCancel sends the next cancel attempt of t: CARDNET 0400 then 0401
// repeats; CAFIS 取消指令, then 取消確認指令 (retransmission) until the
// outcome is known.
func (c *center) sendCancel(t *txn) {
	now := c.now()
	t.nextRetry = now.Add(c.cfg.CancelRetry.D())
	l := t.line
	if l == nil || l.State() != line.SignedOn {
		l = c.pickLine()
	}
	if l == nil {
		return // no line: retried on a later tick, once a line is signed on again
	}
	repeat := t.cancelTries > 0 || t.recovered
	confirm := false
	// CARDNET reversals (0400/0401, 0420/0421) reuse the original's STAN,
	// which is unique only within its business date: they carry the
	// original's date, also after a cutover, and the center counts the
	// reversal in that date, as the totals effects do.
	msgDay := t.date
	if c.model.cancelUsesNewKey() {
		// CAFIS: an unanswered 取消指令 is followed by 取消確認指令 until the
		// outcome is known; an app cancel is settled by confirming its original.
		// Across a change of business date the command is retransmitted
		// instead: a confirmation needs a new 通番, of the new date, and a
		// confirmation must carry its command's date.
		if t.cancelTries > 0 && t.cancelKey.class == classCancelCmd && t.cancelMsgDay == c.date {
			t.confirming = true
		}
		confirm = t.confirming || t.op == ipc.OpCancel
		if t.cancelSerial == 0 || t.cancelKey.class != classFor(confirm) {
			k, err := c.keys.alloc()
			if err != nil {
				c.log.Error("no key for cancel", "err", err)
				return
			}
			// A new 通番 belongs to today's key space and carries today's
			// date; the center counts a cancel in the date of the command
			// (取消指令) that made it.
			t.cancelSerial = k
			t.cancelMsgDay = c.date
			if !confirm {
				t.cancelSentDay = c.date
			}
		}
		if t.cancelSentDay == "" {
			t.cancelSentDay = c.date
		}
		msgDay = t.cancelMsgDay
	} else {
		t.cancelSentDay = t.date
	}
	target := t.msg
	if t.op == ipc.OpCancel && c.model.cancelUsesNewKey() && t.orig != nil {
		target = t.orig.Msg
	}
	buf := outbox.Get()
	out, mk, err := c.encodeFramed(buf.B[:0], func(dst []byte) ([]byte, matchKey, error) {
		if t.op == ipc.OpCancel && !c.model.cancelUsesNewKey() {
			return c.model.encodeRequest(dst, &outReq{op: ipc.OpCancel, key: t.key.key, date: t.date, now: now, repeat: true, origMsg: t.msg})
		}
		return c.model.encodeCancel(dst, target, t.cancelSerial, msgDay, now, repeat, confirm)
	})
	if err != nil {
		outbox.Put(buf)
		c.log.Error("cannot encode cancel", "ref", t.ref, "err", err)
		return
	}
	buf.B = out
	if t.cancelKey != (matchKey{}) && c.inflight[t.cancelKey] == t {
		delete(c.inflight, t.cancelKey)
	}
	t.cancelKey = mk
	// Always (re)registered: a recovered app cancel whose repeat uses its
	// own key was not in the table yet.
	c.inflight[mk] = t
	t.cancelTries++
	kind := uint8(mk.class)
	a := &wal.CancelAttempt{RequestID: t.id, Kind: kind, Attempt: uint32(t.cancelTries), Key: mk.key, Msg: out[c.model.framing().HeaderLen():], TimeUnixNano: now.UnixNano()}
	tellApp := !t.timedOut && !t.recovered
	t.timedOut = true
	err = c.e.wal.AppendCancelAttempt(a, func(err error) {
		if err != nil {
			outbox.Put(buf)
			c.post(func() { c.failResolution(t, err) })
			return
		}
		_ = l.Send(buf)
		if tellApp {
			c.sendErr(t.sess, t.corr, ipc.CodeTimeout, "timeout: no answer from "+c.name+"; a cancel toward the center was started")
		}
	})
	if err != nil {
		outbox.Put(buf)
		t.timedOut = !tellApp
	}
}

func classFor(confirm bool) msgClass {
	if confirm {
		return classConfirm
	}
	return classCancelCmd
}

// onCancelAnswer settles a request from the answer to its cancel.
func (c *center) onCancelAnswer(t *txn, in *inbound) {
	amt := t.amount
	switch {
	case t.op == ipc.OpCancel && !c.model.cancelUsesNewKey():
		// the repeated reversal's own answer
		c.resolveAnswer(t, in)
	case t.op == ipc.OpCancel:
		// CAFIS confirmation about the original of an app cancel
		switch in.cancel {
		case cancelReversed:
			c.resolve(t, wal.StatusCancelled, in.codeString(), "", effectOne(t.date, t.cat, amt))
		case cancelStands, cancelNothing:
			c.resolve(t, wal.StatusDeclined, in.codeString(), "", nil)
		default:
			c.log.Warn("unexpected confirmation answer", "ref", t.ref)
		}
	default:
		switch in.cancel {
		case cancelReversed:
			// The center had approved the original and has now cancelled it:
			// both count, each in the date its message carried.
			eff := effectOne(t.date, t.cat, amt)
			eff = append(eff, effectOne(t.cancelSentDay, reversalOf(t.cat), amt)...)
			c.resolve(t, wal.StatusCancelled, in.codeString(), "", eff)
		case cancelNothing:
			c.resolve(t, wal.StatusCancelled, in.codeString(), "", nil)
		case cancelStands:
			// The cancel command did not take: send it again.
			t.confirming = false
			t.nextRetry = time.Time{}
		default:
			c.log.Warn("cancel answer without outcome", "ref", t.ref, "code", in.codeString())
		}
	}
}

// ---------------------------------------------------------------- replies to apps

func (c *center) replyErr(t *txn, code ipc.Code, text string) {
	c.e.rec.Request(c.name, t.op.String(), "error", time.Since(t.start))
	c.sendErr(t.sess, t.corr, code, text)
	if t.sess != nil {
		t.sess.release()
	}
}

func (c *center) sendErr(s *session, corr uint64, code ipc.Code, text string) {
	if s == nil {
		return
	}
	s.send(func(dst []byte) ([]byte, error) {
		return buildError(dst, s.id, corr, code, text)
	})
}

func (c *center) replyAdviceAccepted(t *txn) {
	if t.sess == nil {
		return
	}
	res := &wal.Resolution{Status: wal.StatusApproved}
	c.sendResult(t.sess, t.corr, t.ref, res, t.key.key, t.date)
	c.e.rec.Request(c.name, t.op.String(), string(ipc.ResultApproved), time.Since(t.start))
}

func (c *center) sendResult(s *session, corr uint64, ref string, res *wal.Resolution, key uint32, date string) {
	if s == nil {
		return
	}
	s.send(func(dst []byte) ([]byte, error) {
		var rb [12]byte
		return buildResponse(dst, s.id, corr, ref, res, key, date, c.model.rrn(rb[:0], date, key))
	})
}

func (c *center) replyResolution(s *session, corr uint64, ref string, req *wal.Request, res *wal.Resolution) {
	c.sendResult(s, corr, ref, res, req.Key, req.Date)
	if s != nil {
		s.release()
	}
}

func (c *center) inquire(t *txn) {
	if p := c.byRef[refKey{t.appID, t.ref}]; p != nil {
		c.replyErr(t, ipc.CodeBusy, "reference "+t.ref+" is still in flight")
		return
	}
	req, res, err := c.e.wal.LookupRef(c.name, t.appID, t.ref)
	switch {
	case errors.Is(err, wal.ErrNotFound):
		c.replyErr(t, ipc.CodeUnknownReference, "unknown reference "+t.ref)
	case err != nil:
		c.replyErr(t, ipc.CodeInternal, err.Error())
	case res == nil:
		c.replyErr(t, ipc.CodeBusy, "reference "+t.ref+" is still being settled")
	default:
		c.replyResolution(t.sess, t.corr, t.ref, req, res)
	}
}

// ---------------------------------------------------------------- network management

// adminWait is a network-management exchange waiting for its answer; done
// is nil for an echo test, whose answer only proves the line alive.
type adminWait struct {
	done     func(in *inbound, err error)
	deadline time.Time
}

// exchangeAsync sends one network-management message on l from the center
// loop; done runs on the loop with the answer, or with an error when the
// send fails or no answer came within the center's timeout (onTick).
func (c *center) exchangeAsync(l *line.Line, enc func(dst []byte, key uint32) ([]byte, matchKey, error), done func(*inbound, error)) (matchKey, bool) {
	key, err := c.keys.alloc()
	if err != nil {
		done(nil, err)
		return matchKey{}, false
	}
	buf := outbox.Get()
	out, mk, err := c.encodeFramed(buf.B[:0], func(dst []byte) ([]byte, matchKey, error) { return enc(dst, key) })
	if err != nil {
		outbox.Put(buf)
		done(nil, err)
		return matchKey{}, false
	}
	buf.B = out
	c.admin[mk] = &adminWait{done: done, deadline: c.now().Add(c.cfg.Timeout.D())}
	if err := l.Send(buf); err != nil {
		delete(c.admin, mk)
		done(nil, err)
		return matchKey{}, false
	}
	return mk, true
}

// expireAdmin fails the exchanges whose answer is overdue, in key order.
func (c *center) expireAdmin(now time.Time) {
	var due []matchKey
	for mk, w := range c.admin {
		if !now.Before(w.deadline) {
			due = append(due, mk)
		}
	}
	if len(due) == 0 {
		return
	}
	slices.SortFunc(due, func(a, b matchKey) int { return cmp.Compare(a.key, b.key) })
	for _, mk := range due {
		w := c.admin[mk]
		delete(c.admin, mk)
		if w.done != nil {
			w.done(nil, fmt.Errorf("%s: no answer within %v", c.name, c.cfg.Timeout.D()))
		}
	}
}

// exchange sends one network-management message on l and waits for its
// answer. Called from a control goroutine, never from the center loop.
func (c *center) exchange(ctx context.Context, l *line.Line, enc func(dst []byte, key uint32) ([]byte, matchKey, error)) (*inbound, error) {
	type answer struct {
		in  *inbound
		err error
	}
	ch := make(chan answer, 1)
	var mk matchKey
	var pending bool
	c.call(func() {
		mk, pending = c.exchangeAsync(l, enc, func(in *inbound, err error) { ch <- answer{in, err} })
	})
	select {
	case a := <-ch:
		return a.in, a.err
	case <-ctx.Done():
		if pending {
			c.call(func() { delete(c.admin, mk) })
		}
		return nil, ctx.Err()
	}
}

func (c *center) echoIdle(now time.Time) {
	iv := c.cfg.EchoInterval.D()
	for _, l := range c.lines {
		if l.State() != line.SignedOn {
			continue
		}
		if now.Sub(l.LastSend()) < iv || now.Sub(l.LastRecv()) < iv {
			continue
		}
		key, err := c.keys.alloc()
		if err != nil {
			return
		}
		buf := outbox.Get()
		out, _, err := c.encodeFramed(buf.B[:0], func(dst []byte) ([]byte, matchKey, error) {
			return c.model.encodeNetwork(dst, netEcho, key, c.date, now)
		})
		if err != nil {
			outbox.Put(buf)
			continue
		}
		buf.B = out
		mk := matchKey{classNetwork, 0, key, 0}
		if l.Send(buf) == nil {
			c.admin[mk] = &adminWait{deadline: now.Add(c.cfg.Timeout.D())}
		}
	}
}

// signonLine signs one connected line on; used by signon and by automatic
// re-signon after a reconnect.
func (c *center) signonLine(ctx context.Context, l *line.Line) error {
	in, err := c.exchange(ctx, l, c.signonMsg)
	if err != nil {
		return err
	}
	if !in.approved {
		return fmt.Errorf("%s refused signon on %s (code %s)", c.name, l.Addr, in.codeString())
	}
	l.SetSignedOn(true)
	return nil
}

// resignon signs a connected line on by itself while the center is in the
// signed-on state (after a reconnect or a restart), at most one attempt per
// line per timeout; onTick repeats it until the center accepts.
func (c *center) resignon(l *line.Line, now time.Time) {
	c.signonAt[l.Index] = now.Add(c.cfg.Timeout.D())
	c.exchangeAsync(l, c.signonMsg, func(in *inbound, err error) {
		if err == nil && !in.approved {
			err = fmt.Errorf("%s refused signon on %s (code %s)", c.name, l.Addr, in.codeString())
		}
		if err != nil {
			c.log.Warn("automatic re-signon failed; trying again", "line", l.Addr, "err", err)
			return
		}
		l.SetSignedOn(true)
	})
}

// signonMsg encodes a signon request (0800 001 / CAFIS 開局) under key.
func (c *center) signonMsg(dst []byte, key uint32) ([]byte, matchKey, error) {
	return c.model.encodeNetwork(dst, netSignon, key, c.currentDate(), c.now())
}

func (c *center) currentDate() string { return *c.datePub.Load() }

func (c *center) setDate(d string) {
	c.date = d
	c.datePub.Store(&d)
}

// openDate switches the loop to a business date already made durable:
// matching keys restart and the reference filter empties.
func (c *center) openDate(d string) {
	c.setDate(d)
	c.keys.newDate(d)
	c.refs.reset()
}

// centerCutover handles a center-initiated cutover (CARDNET 24-hour
// operation): the answer is already sent; move the date, tell the sessions,
// and reconcile the closed date after the configured delay.
func (c *center) centerCutover(newDate string) {
	if newDate == "" || newDate <= c.date {
		c.log.Warn("center cutover to a date not after the current one; ignored", "current", c.date, "new", newDate)
		return
	}
	closed := c.date
	if err := c.e.wal.SetBusinessDate(c.name, newDate); err != nil {
		c.e.fatal(err)
		return
	}
	c.openDate(newDate)
	c.log.Info("cutover by the center", "closed", closed, "new", newDate)
	c.e.notify(c.name, "cutover", newDate)
	if c.e.opts.NoAutoReconcile {
		return
	}
	delay := c.cfg.ReconcileDelay.D()
	time.AfterFunc(delay, func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DrainTimeout.D()+c.cfg.Timeout.D()*2)
		defer cancel()
		if _, err := c.e.reconcile(ctx, c, closed); err != nil {
			c.log.Error("reconciliation after center cutover failed", "date", closed, "err", err)
		}
	})
}

// inflightOn counts requests still unresolved that carry date d.
func (c *center) inflightOn(d string) int {
	n := 0
	seen := map[*txn]bool{}
	for _, t := range c.inflight {
		if !seen[t] && t.date == d {
			seen[t] = true
			n++
		}
	}
	return n
}
