package sim

import (
	"fmt"
	"sync"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/sim/journal"
)

// CAFIS result codes beyond those of package codec.
const cfSystemFailure = "096" // the center's own bound was hit

// cafisIdx holds the body field indexes of the built-in CAFIS spec,
// resolved once.
type cafisIdx struct {
	salesOp, salesPAN, salesAmount                               int
	salesRespOp, salesRespAmount, salesRespAuth                  int
	cancelSerial, cancelDate, cancelAmount                       int
	cancelRespSerial, cancelRespDate, cancelRespAmount           int
	cmdSerial, cmdDate, cmdAmount                                int
	cmdRespSerial, cmdRespDate, cmdRespAmount                    int
	confSerial, confDate                                         int
	confRespSerial, confRespDate, confRespStatus, confRespAmount int
}

func resolveCafis(s *codec.CafisSpec) (cafisIdx, error) {
	var x cafisIdx
	var firstErr error
	idx := func(kind, name string) int {
		i, err := s.FieldIndex(kind, name)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("sim: cafis spec: %w", err)
		}
		return i
	}
	x.salesOp, x.salesPAN, x.salesAmount = idx(codec.KindSalesReq, "op"), idx(codec.KindSalesReq, "pan"), idx(codec.KindSalesReq, "amount")
	x.salesRespOp, x.salesRespAmount, x.salesRespAuth = idx(codec.KindSalesResp, "op"), idx(codec.KindSalesResp, "amount"), idx(codec.KindSalesResp, "auth_code")
	x.cancelSerial, x.cancelDate, x.cancelAmount = idx(codec.KindCancelReq, "orig_serial"), idx(codec.KindCancelReq, "orig_date"), idx(codec.KindCancelReq, "amount")
	x.cancelRespSerial, x.cancelRespDate, x.cancelRespAmount = idx(codec.KindCancelResp, "orig_serial"), idx(codec.KindCancelResp, "orig_date"), idx(codec.KindCancelResp, "amount")
	x.cmdSerial, x.cmdDate, x.cmdAmount = idx(codec.KindCancelCommand, "orig_serial"), idx(codec.KindCancelCommand, "orig_date"), idx(codec.KindCancelCommand, "amount")
	x.cmdRespSerial, x.cmdRespDate, x.cmdRespAmount = idx(codec.KindCancelCommandResp, "orig_serial"), idx(codec.KindCancelCommandResp, "orig_date"), idx(codec.KindCancelCommandResp, "amount")
	x.confSerial, x.confDate = idx(codec.KindCancelConfirm, "orig_serial"), idx(codec.KindCancelConfirm, "orig_date")
	x.confRespSerial, x.confRespDate = idx(codec.KindCancelConfirmResp, "orig_serial"), idx(codec.KindCancelConfirmResp, "orig_date")
	x.confRespStatus, x.confRespAmount = idx(codec.KindCancelConfirmResp, "status"), idx(codec.KindCancelConfirmResp, "amount")
	return x, firstErr
}

// cfKey is the deduplication key: request kind, 通番 serial and cut-target date.
type cfKey struct {
	kind   uint32
	serial uint32
	date   uint32
}

// cfOrigKey names a sales record for cancels: serial and date.
type cfOrigKey struct {
	serial uint32
	date   uint32
}

// cfTxn is a request the center answered: first answer and content for
// retransmissions and, for sales records, the state cancels act on.
type cfTxn struct {
	content   uint64
	amount    int64
	date      string // shared with the day's other records
	op        string
	cat       journal.Category
	status    journal.Status
	result    string
	serial    uint32
	auth      uint32
	cancelled bool
}

type cfDay struct {
	date  string
	dedup map[cfKey]*cfTxn
	orig  map[cfOrigKey]*cfTxn
}

// cafis is the CAFIS center model; one mutex guards its state.
type cafis struct {
	s    *Sim
	srv  *centerServer
	spec *codec.CafisSpec
	x    cafisIdx

	mu     sync.Mutex
	date   string // latest cut-target date (カット対象日付) seen or set
	days   map[string]*cfDay
	totals totalsBook
	ntx    int
}

func newCafis(s *Sim) (*cafis, error) {
	c := &cafis{s: s, spec: codec.CafisBuiltin(), date: s.opts.Date,
		days: make(map[string]*cfDay), totals: totalsBook{}}
	x, err := resolveCafis(c.spec)
	if err != nil {
		return nil, err
	}
	c.x = x
	c.srv = newCenterServer(s, CenterCafis, codec.FrameASCII4)
	c.srv.proto = c
	return c, nil
}

type cfOutcome struct {
	result  string
	dedup   string
	auth    uint32
	amount  int64
	status  byte
	changes [2]journal.Change
	nch     int
	event   string
}

func (o *cfOutcome) change(ch journal.Change) {
	if o.nch < len(o.changes) {
		o.changes[o.nch] = ch
		o.nch++
	}
}

func (c *cafis) serve(ln *line, payload []byte) {
	r := &ln.cafis
	if err := c.spec.Decode(r, payload); err != nil {
		c.s.event(CenterCafis, ln.id, "malformed", err.Error())
		c.formatError(ln, payload)
		return
	}
	kind := r.Kind()
	if kind[3] == '1' {
		// A response from the daemon: the CAFIS model never asks the daemon anything.
		if c.s.journalOn() {
			c.s.write(c.record(ln, r, &cfOutcome{}, ""))
		}
		return
	}
	d := c.s.faults.decide(CenterCafis, kind, payload[18:24], r.Date())
	switch d.action {
	case ActDropRequest, ActDisconnect:
		if c.s.journalOn() {
			c.s.write(c.record(ln, r, &cfOutcome{}, string(d.action)))
		}
		if d.action == ActDisconnect {
			ln.closing = true
		}
		return
	}
	var oc cfOutcome
	oc.auth = noAuth
	f := &ln.cafOut
	f.Reset()
	respKind := c.process(ln, r, f, &oc)
	h := codec.CafisHeader{Retrans: r.Retrans(), Serial: r.Serial()}
	h.SetKind(respKind)
	copy(h.Merchant[:], r.Merchant())
	copy(h.Date[:], r.Date())
	copy(h.Time[:], c.s.opts.Clock.Now().Format("150405"))
	h.SetResult(oc.result)
	start := c.srv.reserve(ln)
	var err error
	ln.out, err = c.spec.Append(ln.out, &h, f)
	if !c.srv.finish(ln, start, err) {
		// Processed but not answerable: the state change still goes on record.
		if c.s.journalOn() {
			c.s.write(c.record(ln, r, &oc, "encode_error"))
		}
		return
	}
	fault := c.srv.applyFault(ln, d, start)
	if c.s.journalOn() {
		c.s.write(c.record(ln, r, &oc, fault))
		out := &journal.Record{Type: journal.TypeMessage, Center: CenterCafis, Line: ln.id, Dir: "out",
			MTI: respKind, Key: fmt.Sprintf("%06d", r.Serial()), Date: string(r.Date()), Code: oc.result, Fault: fault}
		if oc.auth != noAuth {
			out.Fields = map[string]string{"auth_code": fmt.Sprintf("%06d", oc.auth)}
		}
		if oc.status != 0 {
			out.Fields = map[string]string{"status": string(oc.status)}
		}
		c.s.write(out)
		if oc.event != "" {
			c.s.event(CenterCafis, ln.id, oc.event, "")
		}
	}
}

// formatError answers a record whose header names a known request kind but
// whose content does not decode: the response kind with result 030.
func (c *cafis) formatError(ln *line, p []byte) {
	if len(p) < codec.CafisHeaderLen {
		return
	}
	resp := c.spec.ResponseKind(string(p[0:4]))
	if resp == "" {
		return
	}
	h := codec.CafisHeader{}
	h.SetKind(resp)
	for i := range h.Merchant {
		h.Merchant[i] = ' '
	}
	if s, ok := digitsU64(p[18:24]); ok {
		h.Serial = uint32(s)
	}
	if _, ok := digitsU64(p[24:32]); ok {
		copy(h.Date[:], p[24:32])
	} else {
		copy(h.Date[:], c.businessDate())
	}
	copy(h.Time[:], c.s.opts.Clock.Now().Format("150405"))
	h.SetResult(codec.ResultFormatError)
	f := &ln.cafOut
	f.Reset()
	c.zeroBody(resp, f)
	start := c.srv.reserve(ln)
	var err error
	ln.out, err = c.spec.Append(ln.out, &h, f)
	c.srv.finish(ln, start, err)
}

// zeroBody sets every body field of a response kind to its empty value.
func (c *cafis) zeroBody(kind string, f *codec.CafisFields) {
	for _, name := range c.spec.FieldNames(kind) {
		if i, err := c.spec.FieldIndex(kind, name); err == nil {
			f.SetString(i, "")
		}
	}
}

func (c *cafis) process(ln *line, r *codec.CafisRecord, f *codec.CafisFields, oc *cfOutcome) string {
	kind := string(r.Kind())
	resp := c.spec.ResponseKind(kind)
	switch kind {
	case codec.KindSignonReq:
		ln.signedOn.Store(true)
		oc.result, oc.event = codec.ResultApproved, "signon"
		return resp
	case codec.KindSignoffReq:
		ln.signedOn.Store(false)
		oc.result, oc.event = codec.ResultApproved, "signoff"
		return resp
	case codec.KindEchoReq:
		oc.result = codec.ResultApproved
		return resp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	dy, result := c.day(r.Date())
	if dy == nil {
		oc.result = result
		c.fillResponse(kind, r, f, oc)
		return resp
	}
	date := dy.date
	if date > c.date {
		c.advanceLocked(date)
	}
	switch {
	case !ln.signedOn.Load():
		oc.result = codec.ResultNotSignedOn
	case kind == codec.KindSalesReq:
		c.sales(r, date, oc)
	case kind == codec.KindCancelReq:
		c.cancel(r, date, c.x.cancelSerial, c.x.cancelDate, c.x.cancelAmount, oc)
	case kind == codec.KindCancelCommand:
		c.cancel(r, date, c.x.cmdSerial, c.x.cmdDate, c.x.cmdAmount, oc)
	case kind == codec.KindCancelConfirm:
		c.confirm(r, oc)
	default:
		oc.result = codec.ResultFormatError
	}
	c.fillResponse(kind, r, f, oc)
	return resp
}

// fillResponse writes the response body: echoes of the request plus the outcome.
func (c *cafis) fillResponse(kind string, r *codec.CafisRecord, f *codec.CafisFields, oc *cfOutcome) {
	x := &c.x
	switch kind {
	case codec.KindSalesReq:
		f.Set(x.salesRespOp, r.Field(x.salesOp))
		f.SetUint(x.salesRespAmount, uint64(oc.amount))
		if oc.auth != noAuth {
			f.SetUint(x.salesRespAuth, uint64(oc.auth))
		} else {
			f.SetString(x.salesRespAuth, "")
		}
	case codec.KindCancelReq:
		f.Set(x.cancelRespSerial, r.Field(x.cancelSerial))
		f.Set(x.cancelRespDate, r.Field(x.cancelDate))
		f.SetUint(x.cancelRespAmount, uint64(oc.amount))
	case codec.KindCancelCommand:
		f.Set(x.cmdRespSerial, r.Field(x.cmdSerial))
		f.Set(x.cmdRespDate, r.Field(x.cmdDate))
		f.SetUint(x.cmdRespAmount, uint64(oc.amount))
	case codec.KindCancelConfirm:
		f.Set(x.confRespSerial, r.Field(x.confSerial))
		f.Set(x.confRespDate, r.Field(x.confDate))
		if oc.status == 0 {
			oc.status = codec.StatusNotKnown
		}
		f.Set(x.confRespStatus, []byte{oc.status})
		f.SetUint(x.confRespAmount, uint64(oc.amount))
	}
}

// maxDays bounds the cut-target dates a center holds state for.
const maxDays = 1000

// day returns the state of a cut-target date; its date string is shared by
// every record of the day, so records do not each allocate one. A date that
// is not a calendar date gets nil and 030; one more date than maxDays, nil
// and 096.
func (c *cafis) day(d []byte) (*cfDay, string) {
	dy := c.days[string(d)]
	if dy == nil {
		ds := string(d)
		if _, err := parseDate(ds); err != nil {
			return nil, codec.ResultFormatError
		}
		if len(c.days) >= maxDays {
			return nil, cfSystemFailure
		}
		dy = &cfDay{date: ds, dedup: make(map[cfKey]*cfTxn), orig: make(map[cfOrigKey]*cfTxn)}
		c.days[ds] = dy
	}
	return dy, ""
}

// resultOf turns a two-digit rules code into a CAFIS result code.
func resultOf(code string) string {
	switch code {
	case cnApproved:
		return codec.ResultApproved
	case "05":
		return codec.ResultDoNotHonor
	case "51":
		return codec.ResultInsufficientFunds
	}
	return "0" + code
}

func (c *cafis) count(d string, cat journal.Category, amount int64) { c.totals.count(d, cat, amount) }

// bodyHash covers the body and the merchant: a retransmission repeats both.
func bodyHash(r *codec.CafisRecord) uint64 {
	h := uint64(14695981039346656037)
	raw := r.Raw()
	for _, b := range raw[codec.CafisHeaderLen:] {
		h ^= uint64(b)
		h *= 1099511628211
	}
	for _, b := range r.Merchant() {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return h
}

func (c *cafis) dedup(dy *cfDay, k cfKey, content uint64, oc *cfOutcome) bool {
	e := dy.dedup[k]
	if e == nil {
		oc.dedup = journal.DedupNew
		return false
	}
	if e.content != content {
		oc.dedup = journal.DedupConflict
		oc.result = codec.ResultDuplicateSerial
		return true
	}
	oc.dedup = journal.DedupRepeat
	oc.result, oc.auth, oc.amount = e.result, e.auth, e.amount
	return true
}

func (c *cafis) txnKey(date string, serial uint32) journal.TxnKey {
	return journal.TxnKey{Center: CenterCafis, Date: date, Key: fmt.Sprintf("%06d", serial)}
}

func (c *cafis) sales(r *codec.CafisRecord, date string, oc *cfOutcome) {
	x := &c.x
	amount, _ := r.FieldUint(x.salesAmount)
	oc.amount = int64(amount)
	k := cfKey{kind: code32(r.Kind()), serial: r.Serial(), date: dateU32(date)}
	dy := c.days[date]
	content := bodyHash(r)
	if c.dedup(dy, k, content, oc) {
		return
	}
	if c.ntx >= c.s.opts.MaxTransactions {
		oc.result = cfSystemFailure
		return
	}
	op := string(r.Field(x.salesOp))
	var cat journal.Category
	switch op {
	case codec.OpSale:
		cat = journal.CatDebit
	case codec.OpRefund:
		cat = journal.CatCredit
	case codec.OpAuthOnly:
		cat = journal.CatAuthorization
	default:
		oc.result = codec.ResultFormatError
		return
	}
	code := c.s.opts.Rules.Decide(string(r.FieldTrim(x.salesPAN)), int64(amount))
	t := &cfTxn{content: content, date: date, serial: r.Serial(), op: op, cat: cat, amount: int64(amount),
		result: resultOf(code), auth: noAuth}
	counted := false
	if code == cnApproved {
		t.status = journal.StatusApproved
		t.auth = authCode(r.Serial(), date)
		if cat != journal.CatAuthorization {
			c.count(date, cat, t.amount)
			counted = true
		}
	} else {
		t.status = journal.StatusDeclined
	}
	dy.orig[cfOrigKey{t.serial, k.date}] = t
	dy.dedup[k] = t
	c.ntx++
	oc.result, oc.auth = t.result, t.auth
	oc.change(journal.Change{TxnKey: c.txnKey(date, t.serial), MTI: codec.KindSalesReq, Status: t.status,
		Category: cat, Amount: t.amount, Code: t.result, Counted: counted})
}

// cancel handles the app cancel (0200) and the cancel command 取消指令 (0300).
func (c *cafis) cancel(r *codec.CafisRecord, date string, serialIdx, dateIdx, amountIdx int, oc *cfOutcome) {
	amount, _ := r.FieldUint(amountIdx)
	oc.amount = int64(amount)
	k := cfKey{kind: code32(r.Kind()), serial: r.Serial(), date: dateU32(date)}
	dy := c.days[date]
	content := bodyHash(r)
	if c.dedup(dy, k, content, oc) {
		return
	}
	origSerial, _ := r.FieldUint(serialIdx)
	origDate := r.Field(dateIdx)
	var o *cfTxn
	if ody := c.days[string(origDate)]; ody != nil {
		o = ody.orig[cfOrigKey{uint32(origSerial), dateU32b(origDate)}]
	}
	kind := string(r.Kind())
	self := c.txnKey(date, r.Serial())
	e := &cfTxn{content: content, date: date, serial: r.Serial(), auth: noAuth, amount: int64(amount)}
	switch {
	case o == nil || o.status == journal.StatusDeclined || (amount != 0 && int64(amount) != o.amount):
		// Nothing to cancel: unknown, declined, or not the amount that was approved.
		e.result = codec.ResultNothingToCancel
		oc.change(journal.Change{TxnKey: self, MTI: kind, Status: journal.StatusNoOriginal,
			Amount: int64(amount), Code: e.result})
	case o.cancelled:
		// Cancelled earlier by a different message: nothing is left to
		// cancel (025) and nothing counts. (A retransmission of that same
		// message is answered by dedup above, like the first time.)
		e.result = codec.ResultNothingToCancel
		ok := c.txnKey(o.date, o.serial)
		oc.change(journal.Change{TxnKey: self, MTI: kind, Status: journal.StatusNoOriginal,
			Amount: int64(amount), Code: e.result, Original: &ok})
	default:
		e.result, e.amount = codec.ResultApproved, o.amount
		o.cancelled = true
		o.status = journal.StatusCancelled
		cat := reversalCat(o.cat)
		counted := cat != journal.CatNone
		if counted {
			c.count(date, cat, o.amount)
		}
		ok := c.txnKey(o.date, o.serial)
		oc.change(journal.Change{TxnKey: ok, MTI: codec.KindSalesReq, Status: journal.StatusCancelled,
			Category: o.cat, Amount: o.amount, Code: o.result})
		oc.change(journal.Change{TxnKey: self, MTI: kind, Status: journal.StatusAccepted,
			Category: cat, Amount: o.amount, Code: e.result, Counted: counted, Original: &ok})
	}
	dy.dedup[k] = e
	c.ntx++
	oc.result, oc.amount = e.result, e.amount
}

// confirm answers the cancel-confirmation command 取消確認指令 from the
// current state: it changes nothing, so a retransmission simply asks again.
func (c *cafis) confirm(r *codec.CafisRecord, oc *cfOutcome) {
	origSerial, _ := r.FieldUint(c.x.confSerial)
	origDate := r.Field(c.x.confDate)
	oc.result = codec.ResultApproved
	oc.status = codec.StatusNotKnown
	if ody := c.days[string(origDate)]; ody != nil {
		if o := ody.orig[cfOrigKey{uint32(origSerial), dateU32b(origDate)}]; o != nil {
			switch o.status {
			case journal.StatusCancelled:
				oc.status, oc.amount = codec.StatusCancelled, o.amount
			case journal.StatusApproved:
				oc.status, oc.amount = codec.StatusStands, o.amount
			}
		}
	}
}

func (c *cafis) advanceLocked(nd string) {
	c.date = nd
	cur, _ := parseDate(nd)
	limit := cur.AddDate(0, 0, -c.s.opts.RetainDates).Format("20060102")
	for d, dy := range c.days {
		if d < limit {
			c.ntx -= len(dy.dedup)
			delete(c.days, d)
		}
	}
}

// cutover moves the CAFIS model to the next cut-target date; CAFIS has no
// cutover exchange, so this only closes the date's totals in the journal.
func (c *cafis) cutover() string {
	c.mu.Lock()
	old := c.date
	nd := nextDate(old)
	c.advanceLocked(nd)
	c.mu.Unlock()
	c.s.event(CenterCafis, 0, "cutover", old+"->"+nd)
	c.s.writeTotals(CenterCafis, old, c.Totals(old), "cutover")
	return nd
}

func (c *cafis) record(ln *line, r *codec.CafisRecord, oc *cfOutcome, fault string) *journal.Record {
	kind := string(r.Kind())
	rec := &journal.Record{Type: journal.TypeMessage, Center: CenterCafis, Line: ln.id, Dir: "in",
		MTI: kind, Key: fmt.Sprintf("%06d", r.Serial()), Date: string(r.Date()), Code: oc.result,
		Dedup: oc.dedup, Fault: fault}
	rec.Fields = map[string]string{"merchant": string(r.Merchant()), "time": string(r.Time()), "result": string(r.Result())}
	if r.Retrans() {
		rec.Fields["retrans"] = "1"
	} else {
		rec.Fields["retrans"] = "0"
	}
	for _, name := range c.spec.FieldNames(kind) {
		i, err := c.spec.FieldIndex(kind, name)
		if err != nil {
			continue
		}
		v := r.FieldTrim(i)
		if name == "pan" {
			v = codec.MaskPAN(nil, v)
		}
		rec.Fields[name] = string(v)
	}
	if oc.nch > 0 {
		rec.Changes = append([]journal.Change(nil), oc.changes[:oc.nch]...)
	}
	return rec
}

// Totals returns the totals of one cut-target date.
func (c *cafis) Totals(date string) journal.Totals {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.totals.get(date)
}

func (c *cafis) businessDate() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.date
}

func (c *cafis) allTotals() map[string]journal.Totals {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.totals.snapshot(c.date)
}

func code32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
