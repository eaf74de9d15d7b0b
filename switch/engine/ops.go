package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/fxswitch/fxswitch/ctl"
	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/switch/config"
	"github.com/fxswitch/fxswitch/switch/line"
	"github.com/fxswitch/fxswitch/wal"
)

var _ ctl.Handler = (*Engine)(nil)

func (e *Engine) center(name string) (*center, error) {
	c := e.centers[name]
	if c == nil {
		return nil, ctl.NewError(ctl.CodeUnknownCenter, "unknown center %q (configured: %v)", name, e.order)
	}
	return c, nil
}

func (e *Engine) refuseWhileStopping() error {
	if e.shutting.Load() {
		return ctl.ErrShuttingDown
	}
	return nil
}

// Signon signs every connected line of the center on (開局). Lines that
// connect later are signed on by themselves while the center is signed on.
func (e *Engine) Signon(ctx context.Context, name string) error {
	c, err := e.center(name)
	if err != nil {
		return err
	}
	if err := e.refuseWhileStopping(); err != nil {
		return err
	}
	// Lines dial at start; give them until the center timeout to connect.
	deadline := time.Now().Add(c.cfg.Timeout.D())
	for !anyLine(c, line.Connected) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	var lastErr error
	ok := 0
	for _, l := range c.lines {
		switch l.State() {
		case line.SignedOn:
			ok++
		case line.Connected:
			if err := c.signonLine(ctx, l); err != nil {
				lastErr = err
				continue
			}
			ok++
		}
	}
	if ok == 0 {
		if lastErr == nil {
			lastErr = fmt.Errorf("no line to %s is connected", name)
		}
		return ctl.NewError(ctl.CodeNotSignedOn, "signon %s failed: %v", name, lastErr)
	}
	if err := e.wal.SetSignedOn(name, true); err != nil {
		return ctl.NewError(ctl.CodeInternal, "signon %s: %v", name, err)
	}
	c.call(func() {
		c.wantOn = true
		c.updateSignedOn()
	})
	c.log.Info("signed on", "lines", ok)
	return nil
}

func anyLine(c *center, min line.State) bool {
	for _, l := range c.lines {
		if l.State() >= min {
			return true
		}
	}
	return false
}

// Signoff signs the center off (閉局) on every signed-on line.
func (e *Engine) Signoff(ctx context.Context, name string) error {
	c, err := e.center(name)
	if err != nil {
		return err
	}
	if err := e.wal.SetSignedOn(name, false); err != nil {
		return ctl.NewError(ctl.CodeInternal, "signoff %s: %v", name, err)
	}
	c.call(func() { c.wantOn = false })
	var lastErr error
	for _, l := range c.lines {
		if l.State() != line.SignedOn {
			continue
		}
		in, err := c.exchange(ctx, l, func(dst []byte, key uint32) ([]byte, matchKey, error) {
			return c.model.encodeNetwork(dst, netSignoff, key, c.currentDate(), c.now())
		})
		if err == nil && !in.approved {
			err = fmt.Errorf("center refused signoff (code %s)", in.codeString())
		}
		if err != nil {
			lastErr = err
		}
		l.SetSignedOn(false)
	}
	c.call(c.updateSignedOn)
	if lastErr != nil {
		return ctl.NewError(ctl.CodeInternal, "signoff %s: %v", name, lastErr)
	}
	c.log.Info("signed off")
	return nil
}

func nextDay(d string) string {
	t, err := time.Parse("20060102", d)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, 1).Format("20060102")
}

// Cutreq closes the current business date. CAFIS: the local cut-target date
// moves (no exchange with the center). CARDNET: cutover request → response,
// the date moves, sessions are told, the closed date drains, then the
// reconciliation (精査) of the closed date runs.
func (e *Engine) Cutreq(ctx context.Context, name, date string) (*ctl.CutoverResult, error) {
	c, err := e.center(name)
	if err != nil {
		return nil, err
	}
	if err := e.refuseWhileStopping(); err != nil {
		return nil, err
	}
	closed := c.currentDate()
	if date == "" {
		date = nextDay(closed)
	}
	if date <= closed {
		return nil, ctl.NewError(ctl.CodeInvalidArgument, "cutreq %s: date %s is not after the current business date %s", name, date, closed)
	}
	res := &ctl.CutoverResult{Center: name, ClosedDate: closed, NewDate: date}
	if name == config.CenterCardnet {
		var l *line.Line
		c.call(func() { l = c.pickLine() })
		if l == nil {
			return nil, ctl.NewError(ctl.CodeNotSignedOn, "cutreq %s: no signed-on line", name)
		}
		in, err := c.exchange(ctx, l, func(dst []byte, key uint32) ([]byte, matchKey, error) {
			return c.model.encodeNetwork(dst, netCutover, key, date, c.now())
		})
		if err != nil {
			return nil, ctl.NewError(ctl.CodeInternal, "cutreq %s: %v", name, err)
		}
		if !in.approved {
			return nil, ctl.NewError(ctl.CodeInternal, "cutreq %s: center refused the cutover (code %s)", name, in.codeString())
		}
	}
	if err := e.moveDate(c, closed, date); err != nil {
		return nil, err
	}
	if name != config.CenterCardnet {
		return res, nil
	}
	rr, err := e.reconcile(ctx, c, closed)
	if rr != nil {
		res.Reconciliation = rr
	}
	if err != nil {
		return res, err
	}
	return res, nil
}

// moveDate persists the new business date, switches the center to it and
// tells every session of the center.
func (e *Engine) moveDate(c *center, closed, date string) error {
	if err := e.wal.SetBusinessDate(c.name, date); err != nil {
		return ctl.NewError(ctl.CodeInternal, "cutover %s: %v", c.name, err)
	}
	c.call(func() { c.openDate(date) })
	c.log.Info("cutover", "closed", closed, "new", date)
	e.notify(c.name, "cutover", date)
	return nil
}

// reconcile waits (bounded) until nothing carrying date is in flight, then
// sends the 0500 with our totals and compares with the center's 0510.
func (e *Engine) reconcile(ctx context.Context, c *center, date string) (*ctl.ReconcileResult, error) {
	if c.name != config.CenterCardnet {
		return nil, ctl.NewError(ctl.CodeInvalidArgument, "%s has no reconciliation message; compare `fxctl totals` with the center's report", c.name)
	}
	deadline := time.Now().Add(c.cfg.DrainTimeout.D())
	for {
		n := 0
		c.call(func() { n = c.inflightOn(date) })
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			c.log.Warn("reconciling with requests of the closed date still in flight", "date", date, "in_flight", n)
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	ours, err := e.wal.Totals(c.name, date)
	if err != nil {
		return nil, ctl.NewError(ctl.CodeInternal, "reconcile %s %s: %v", c.name, date, err)
	}
	var l *line.Line
	c.call(func() { l = c.pickLine() })
	if l == nil {
		return nil, ctl.NewError(ctl.CodeNotSignedOn, "reconcile %s: no signed-on line", c.name)
	}
	in, err := c.exchange(ctx, l, func(dst []byte, key uint32) ([]byte, matchKey, error) {
		return c.model.encodeReconcile(dst, key, date, ours, c.now())
	})
	if err != nil {
		return nil, ctl.NewError(ctl.CodeInternal, "reconcile %s %s: %v", c.name, date, err)
	}
	ok := in.reconIn && sameTotals(ours, in.theirs)
	result := ctl.ReconcileOutOfBalance
	if ok {
		result = ctl.ReconcileInBalance
	}
	if err := e.wal.SetReconciliation(c.name, date, result); err != nil {
		return nil, ctl.NewError(ctl.CodeInternal, "reconcile %s: %v", c.name, err)
	}
	ours.Reconciliation = result
	rr := &ctl.ReconcileResult{Center: c.name, Date: date, Result: result, Ours: row(c.name, date, ours), Theirs: row(c.name, date, in.theirs)}
	rr.Theirs.Reconciliation = result
	c.lastRecon.Store(&reconResult{date: date, inBalance: ok, ours: ours, theirs: in.theirs})
	if !ok {
		c.log.Error("reconciliation out of balance", "date", date, "ours", ours, "theirs", in.theirs)
		return rr, ctl.NewError(ctl.CodeOutOfBalance, "%s %s out of balance", c.name, date)
	}
	c.log.Info("reconciliation in balance", "date", date)
	e.retain(c, date)
	return rr, nil
}

// retain deletes the records of reconciled dates older than retention_days
// before date. Pruning pauses appends while it runs, so it runs right after
// a reconciliation, when the closed date has drained.
func (e *Engine) retain(c *center, date string) {
	days := e.cfg.RetentionDays
	if days == 0 {
		return
	}
	t, err := time.Parse("20060102", date)
	if err != nil {
		return
	}
	before := t.AddDate(0, 0, -days).Format("20060102")
	n, err := e.wal.Prune(c.name, before)
	if err != nil {
		c.log.Error("retention: prune failed", "before", before, "err", err)
		return
	}
	if n > 0 {
		c.log.Info("retention: old business dates deleted", "before", before, "requests", n)
	}
}

func sameTotals(a, b wal.Totals) bool {
	a.Reconciliation, b.Reconciliation = "", ""
	return a == b
}

func row(center, date string, t wal.Totals) ctl.TotalsRow {
	r := ctl.TotalsRow{
		Center: center, Date: date,
		CreditsCount: t.CreditsCount, CreditsAmount: t.CreditsAmount,
		CreditReversalsCount: t.CreditReversalsCount, CreditReversalsAmount: t.CreditReversalsAmount,
		DebitsCount: t.DebitsCount, DebitsAmount: t.DebitsAmount,
		DebitReversalsCount: t.DebitReversalsCount, DebitReversalsAmount: t.DebitReversalsAmount,
		Reconciliation: t.Reconciliation,
	}
	if r.Reconciliation == "" {
		r.Reconciliation = ctl.ReconcileNone
	}
	return r
}

// Reconcile runs the reconciliation of one date ("" = the last closed date).
func (e *Engine) Reconcile(ctx context.Context, name, date string) (*ctl.ReconcileResult, error) {
	c, err := e.center(name)
	if err != nil {
		return nil, err
	}
	if date == "" {
		date = e.lastClosed(c)
		if date == "" {
			return nil, ctl.NewError(ctl.CodeInvalidArgument, "reconcile %s: no closed business date yet", name)
		}
	}
	return e.reconcile(ctx, c, date)
}

func (e *Engine) lastClosed(c *center) string {
	dates, err := e.wal.TotalsDates(c.name)
	if err != nil {
		return ""
	}
	return lastClosedOf(dates, c.currentDate())
}

// lastClosedOf is the latest of dates before the current date cur.
func lastClosedOf(dates []string, cur string) string {
	last := ""
	for _, d := range dates {
		if d < cur && d > last {
			last = d
		}
	}
	return last
}

// Totals reports totals per center and date; without a date: the current
// date, every unreconciled date and the last closed date.
func (e *Engine) Totals(ctx context.Context, name, date string) ([]ctl.TotalsRow, error) {
	names := e.order
	if name != "" {
		if _, err := e.center(name); err != nil {
			return nil, err
		}
		names = []string{name}
	}
	rows := []ctl.TotalsRow{}
	read := func(n, d string) error {
		t, err := e.wal.Totals(n, d)
		if err != nil {
			return ctl.NewError(ctl.CodeInternal, "totals %s %s: %v", n, d, err)
		}
		rows = append(rows, row(n, d, t))
		return nil
	}
	for _, n := range names {
		if date != "" {
			if err := read(n, date); err != nil {
				return nil, err
			}
			continue
		}
		all, err := e.wal.TotalsDates(n)
		if err != nil {
			return nil, ctl.NewError(ctl.CodeInternal, "totals %s: %v", n, err)
		}
		cur := e.centers[n].currentDate()
		last := lastClosedOf(all, cur)
		seen := false
		for _, d := range all {
			t, err := e.wal.Totals(n, d)
			if err != nil {
				return nil, ctl.NewError(ctl.CodeInternal, "totals %s %s: %v", n, d, err)
			}
			if d == cur || d == last || t.Reconciliation == "" || t.Reconciliation == ctl.ReconcileOutOfBalance {
				rows = append(rows, row(n, d, t))
				seen = seen || d == cur
			}
		}
		if !seen {
			if err := read(n, cur); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}

// Status reports centers, lines, sessions and recovery.
func (e *Engine) Status(ctx context.Context) (*ctl.Status, error) {
	st := &ctl.Status{Sessions: int(e.sessionCount.Load()), Recovery: ctl.RecoveryNone, StartedAt: e.startedAt, ShuttingDown: e.shutting.Load()}
	for _, n := range e.order {
		c := e.centers[n]
		cs := ctl.CenterStatus{
			Name: n, SignedOn: c.signedOnPub.Load(), BusinessDate: c.currentDate(),
			Sessions: int(c.sessions.Load()), InFlight: int(c.inflightPub.Load()), RecoveryRequired: c.recoveryPub.Load(),
		}
		if cs.RecoveryRequired {
			st.Recovery = ctl.RecoveryRequired
		}
		for _, l := range c.lines {
			cs.Lines = append(cs.Lines, ctl.LineStatus{Addr: l.Addr, State: l.State().String(), InFlight: int(l.InFlight.Load()), Reconnects: int(l.Reconnects())})
		}
		if adv, err := e.wal.Advices(n); err == nil {
			cs.AdviceDepth = len(adv)
		}
		if lr := c.lastRecon.Load(); lr != nil {
			res := ctl.ReconcileOutOfBalance
			if lr.inBalance {
				res = ctl.ReconcileInBalance
			}
			cs.LastReconciliation = &ctl.ReconcileResult{Center: n, Date: lr.date, Result: res, Ours: row(n, lr.date, lr.ours), Theirs: row(n, lr.date, lr.theirs)}
		}
		st.Centers = append(st.Centers, cs)
	}
	return st, nil
}

// Shutdown stops the daemon. Clean: refuse new sessions and requests, drain
// what is in flight (bounded), write the clean-shutdown marker, exit 0.
// Force: exit at once without the marker; recovery is then required.
func (e *Engine) Shutdown(ctx context.Context, force bool) error {
	if force {
		e.log.Warn("forced shutdown: no clean-shutdown marker; recovery will be required")
		go e.exitAfter(false, 3)
		return nil
	}
	e.shutting.Store(true)
	for _, n := range e.order {
		c := e.centers[n]
		c.call(func() { c.shutting = true })
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		busy := 0
		for _, n := range e.order {
			busy += int(e.centers[n].inflightPub.Load())
		}
		if busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			e.log.Error("in-flight requests did not drain; stopping without the clean-shutdown marker", "in_flight", busy)
			go e.exitAfter(false, 1)
			return ctl.NewError(ctl.CodeBusy, "%d requests still in flight after 30s; stopping without the clean marker (recovery will be required)", busy)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	e.log.Info("clean shutdown")
	go e.exitAfter(true, 0)
	return nil
}

// exitAfter lets the control answer reach fxctl, then stops.
func (e *Engine) exitAfter(clean bool, code int) {
	time.Sleep(50 * time.Millisecond)
	e.exitCode = code
	e.stop(clean)
	if e.opts.Exit != nil {
		e.opts.Exit(code)
	}
}

// ---------------------------------------------------------------- recovery

// recoveryRun tracks one center's recovery sweep. Owned by the center loop.
type recoveryRun struct {
	report  ctl.RecoveryReport
	pending map[*txn]struct{}
	done    chan struct{}
}

func (r *recoveryRun) settled(t *txn, res *wal.Resolution) {
	if _, ok := r.pending[t]; !ok {
		return
	}
	delete(r.pending, t)
	switch {
	case res.Status == wal.StatusCancelled:
		r.report.Cancelled++
	default:
		r.report.Stood++
	}
	if len(r.pending) == 0 {
		close(r.done)
	}
}

// Recovery settles whatever an unclean stop left in flight (リカバリ処理):
// CARDNET system cancel (0401) of each in-flight request and resend of each
// unacknowledged advice (0221); CAFIS cancel command (retransmission), or
// cancel confirmation (retransmission) where a cancel was already under way.
// Idempotent: running it again, also after a crash during recovery, repeats
// the same flagged messages and the center deduplicates them.
func (e *Engine) Recovery(ctx context.Context, name string) (*ctl.RecoveryReport, error) {
	c, err := e.center(name)
	if err != nil {
		return nil, err
	}
	if !c.recoveryPub.Load() {
		return &ctl.RecoveryReport{Center: name, Done: true}, nil
	}
	if !c.signedOnPub.Load() {
		return nil, ctl.NewError(ctl.CodeNotSignedOn, "recovery %s: sign on first (fxctl signon --center %s)", name, name)
	}
	entries, err := e.wal.InFlight(name)
	if err != nil {
		return nil, ctl.NewError(ctl.CodeInternal, "recovery %s: %v", name, err)
	}
	var run *recoveryRun
	var startErr error
	c.call(func() { run, startErr = c.startRecovery(entries) })
	if startErr != nil {
		return nil, ctl.NewError(ctl.CodeInternal, "recovery %s: %v", name, startErr)
	}
	select {
	case <-run.done:
	case <-ctx.Done():
		var rep ctl.RecoveryReport
		c.call(func() { rep = run.report; rep.Failed = len(run.pending) })
		return &rep, ctl.NewError(ctl.CodeTimeout, "recovery %s: %d messages still unsettled; run recovery again", name, rep.Failed)
	}
	if err := e.wal.SetRecoveryRequired(name, false); err != nil {
		return nil, ctl.NewError(ctl.CodeInternal, "recovery %s: %v", name, err)
	}
	var rep ctl.RecoveryReport
	c.call(func() { rep = c.endRecovery(run) })
	c.log.Info("recovery finished", "in_flight", rep.InFlight, "cancelled", rep.Cancelled, "stood", rep.Stood, "advices", rep.AdvicesResent)
	e.notify(name, "recovery", name+" done")
	return &rep, nil
}

// startRecovery sends the flagged cancel, confirmation or advice of every
// in-flight entry of a previous run (on the center loop). A sweep already
// under way is returned as it is.
func (c *center) startRecovery(entries []wal.Entry) (*recoveryRun, error) {
	if c.recovery != nil {
		return c.recovery, nil
	}
	run := &recoveryRun{report: ctl.RecoveryReport{Center: c.name, InFlight: len(entries)}, pending: map[*txn]struct{}{}, done: make(chan struct{})}
	for i := range entries {
		t, err := c.recoveredTxn(&entries[i])
		if err != nil {
			return nil, err
		}
		run.pending[t] = struct{}{}
		if t.op == ipc.OpAdvice {
			run.report.AdvicesResent++
			t.state = stSent
			t.timeout = c.now().Add(c.cfg.CancelRetry.D())
			c.inflight[t.key] = t
			c.timeouts = append(c.timeouts, t)
			c.resendAdvice(t)
			continue
		}
		if t.confirming {
			run.report.ConfirmationsSent++
		} else {
			run.report.CancelsSent++
		}
		t.state = stCancelling
		c.cancels[t] = struct{}{}
		c.sendCancel(t)
	}
	c.inflightPub.Store(int64(len(c.inflight)))
	if len(run.pending) == 0 {
		close(run.done)
	}
	c.recovery = run
	return run, nil
}

// endRecovery reopens business once the sweep is done and its end is
// durable (on the center loop).
func (c *center) endRecovery(run *recoveryRun) ctl.RecoveryReport {
	rep := run.report
	c.recovery = nil
	c.recoveryPub.Store(false)
	rep.Done = true
	return rep
}

// recoveredTxn rebuilds an in-flight request of a previous run.
func (c *center) recoveredTxn(en *wal.Entry) (*txn, error) {
	r := &en.Req
	t := &txn{id: r.ID, op: ipc.Op(r.Op), appID: r.AppID, ref: r.AppRef, digest: r.Digest, amount: r.Amount,
		cat: r.Category, date: r.Date, msg: r.Msg, recovered: true, timedOut: true}
	mk, err := c.model.requestKey(r.Msg)
	if err != nil {
		return nil, fmt.Errorf("request %d: %w", r.ID, err)
	}
	t.key = mk
	if r.OrigID != 0 {
		oreq, _, err := c.e.wal.Lookup(r.OrigID)
		if err != nil {
			return nil, fmt.Errorf("original of request %d: %w", r.ID, err)
		}
		t.orig = oreq
	}
	// A cancel was under way: its reversal counts in the date its messages
	// carry. CAFIS asks for the outcome (取消確認指令, retransmission) under a
	// new 通番 of today; if the business date has moved since, a new 通番
	// would carry another date than the cancel, so the last message is sent
	// again as it was (retransmission).
	t.cancelSentDay = c.date
	if en.Cancel != nil {
		d, err := c.model.messageDate(en.Cancel.Msg, c.date)
		if err != nil {
			return nil, fmt.Errorf("cancel attempt of request %d: %w", r.ID, err)
		}
		t.cancelSentDay = d
		if c.model.cancelUsesNewKey() {
			t.cancelMsgDay = d
			if d == c.date {
				t.confirming = true
			} else {
				t.cancelSerial = en.Cancel.Key
				t.cancelKey = matchKey{class: msgClass(en.Cancel.Kind), key: en.Cancel.Key, day: digitsDay([]byte(d))}
				t.confirming = t.cancelKey.class == classConfirm
			}
		}
	}
	c.byRef[refKey{t.appID, t.ref}] = t
	return t, nil
}
