package sim

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/sim/journal"
	"github.com/fxswitch/fxswitch/switch/mac"
)

// CARDNET response codes (DE39) the model uses.
const (
	cnApproved      = "00"
	cnNoOriginal    = "25" // reversal: no approved original
	cnFormatError   = "30"
	cnNotSignedOn   = "91"
	cnDuplicate     = "94" // same key, different content
	cnSystemFailure = "96" // the center's own bound was hit
)

// Network management codes (DE70).
const (
	nmSignon  = "001"
	nmSignoff = "002"
	nmCutover = "201"
	nmEcho    = "301"
)

// cnKey is the deduplication key of a request: MTI class (repeat digit
// cleared), STAN, terminal and the business date the message carries.
type cnKey struct {
	class uint16
	stan  uint32
	term  [8]byte
	date  uint32
}

// cnOrigKey is how a reversal finds its original through DE90: original STAN
// and transmission date/time DE7. The acquirer id is checked afterwards,
// when both sides carry one.
type cnOrigKey struct {
	stan uint32
	de7  uint64
}

// cnTxn is a request the center answered, as it stands now. The same
// record serves deduplication (first answer, content) and, for originals,
// reversal matching: one allocation per request.
type cnTxn struct {
	content  uint64
	amount   int64
	acq      uint64
	date     string // shared with every transaction of the date
	class    string // constant
	cat      journal.Category
	status   journal.Status
	code     string // constant or from the rules
	stan     uint32
	auth     uint32
	hasAcq   bool
	reversed bool
}

// cnDay holds what the center remembers of one business date.
type cnDay struct {
	dedup map[cnKey]*cnTxn
	orig  map[cnOrigKey]*cnTxn
}

// cardnet is the CARDNET center model. One mutex guards its state: the event
// loops of all lines share it, and every operation under it is short.
type cardnet struct {
	s    *Sim
	srv  *centerServer
	spec *codec.ISOSpec

	mu      sync.Mutex
	date    string // current business date YYYYMMDD
	days    map[string]*cnDay
	totals  totalsBook
	ntx     int
	mmdd    map[[4]byte]string // DE15 → full date cache, relative to date
	stan    uint32             // STAN of center-initiated messages
	waiters map[uint32]chan string
}

func newCardnet(s *Sim) *cardnet {
	c := &cardnet{s: s, spec: codec.CardnetSpec(), date: s.opts.Date,
		days: make(map[string]*cnDay), totals: totalsBook{},
		mmdd: make(map[[4]byte]string), waiters: make(map[uint32]chan string)}
	c.srv = newCenterServer(s, CenterCardnet, codec.FrameBin2)
	c.srv.proto = c
	return c
}

func mtiClass(mti []byte) uint16 {
	return uint16(mti[0]-'0')*1000 + uint16(mti[1]-'0')*100 + uint16(mti[2]-'0')*10
}

func digitsU64(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

func dateU32(d string) uint32 {
	var v uint32
	for i := 0; i < len(d); i++ {
		v = v*10 + uint32(d[i]-'0')
	}
	return v
}

func dateU32b(d []byte) uint32 {
	v, _ := digitsU64(d)
	return uint32(v)
}

// businessDateOf expands DE15 (MMDD) to YYYYMMDD relative to the current
// date; without DE15 the message counts in the current date. Caller holds mu.
func (c *cardnet) businessDateOf(de15 []byte) (string, error) {
	if len(de15) == 0 {
		return c.date, nil
	}
	if len(de15) != 4 {
		return "", fmt.Errorf("%w: DE15 %q", ErrBadDate, de15)
	}
	k := [4]byte(de15)
	if d, ok := c.mmdd[k]; ok {
		return d, nil
	}
	ref, _ := parseDate(c.date)
	d, err := dateFromMMDD(string(de15), ref)
	if err != nil {
		return "", err
	}
	if len(c.mmdd) < 1024 {
		c.mmdd[k] = d
	}
	return d, nil
}

func (c *cardnet) day(d string) *cnDay {
	dy := c.days[d]
	if dy == nil {
		dy = &cnDay{dedup: make(map[cnKey]*cnTxn), orig: make(map[cnOrigKey]*cnTxn)}
		c.days[d] = dy
	}
	return dy
}

func (c *cardnet) count(d string, cat journal.Category, amount int64) { c.totals.count(d, cat, amount) }

// contentHash covers what must be identical in a repeat: PAN, processing
// code, amount, currency and original data. DE7 is left out on purpose: a
// repeat may carry a new transmission time.
func contentHash(m *codec.ISOMessage) uint64 {
	h := uint64(14695981039346656037)
	for _, de := range [...]int{2, 3, 4, 49, 90} {
		for _, b := range m.Get(de) {
			h ^= uint64(b)
			h *= 1099511628211
		}
		h ^= uint64(de) | 0x100
		h *= 1099511628211
	}
	return h
}

// authCode derives DE38 from the STAN and date, so that tests and a repeat
// get the same code without state.
func authCode(stan uint32, date string) uint32 {
	return uint32(mix(uint64(stan)<<32|uint64(dateU32(date))) % 1000000)
}

// cnOutcome is what processing one request produced, for the journal.
type cnOutcome struct {
	code    string
	dedup   string
	date    string
	auth    uint32
	changes [2]journal.Change
	nch     int
	event   string
	detail  string
}

func (o *cnOutcome) change(ch journal.Change) {
	if o.nch < len(o.changes) {
		o.changes[o.nch] = ch
		o.nch++
	}
}

func (c *cardnet) serve(ln *line, payload []byte) {
	m := &ln.iso
	if err := c.spec.Decode(m, payload); err != nil {
		c.s.event(CenterCardnet, ln.id, "malformed", err.Error())
		return
	}
	if !c.verifyMAC(ln, m, payload) {
		return
	}
	mti := m.MTI()
	if mti[2]%2 == 1 {
		c.response(ln, m)
		return
	}
	d := c.s.faults.decide(CenterCardnet, mti, m.Get(11), m.Get(15))
	switch d.action {
	case ActDropRequest, ActDisconnect:
		if c.s.journalOn() {
			c.s.write(c.record(ln, m, "in", &cnOutcome{}, string(d.action)))
		}
		if d.action == ActDisconnect {
			ln.closing = true
		}
		return
	}
	f := &ln.isoOut
	f.Reset()
	var oc cnOutcome
	respMTI := c.process(ln, m, f, &oc)
	start := c.srv.reserve(ln)
	var err error
	if c.s.opts.MACKey != nil {
		f.SetString(128, mac.MACPlaceholder)
	}
	ln.out, err = c.spec.Append(ln.out, respMTI, f)
	if err == nil && c.s.opts.MACKey != nil {
		err = c.s.opts.MACKey.Sign(ln.out[start+c.srv.framing.HeaderLen():])
	}
	if !c.srv.finish(ln, start, err) {
		// Processed but not answerable: the state change still goes on record.
		if c.s.journalOn() {
			c.s.write(c.record(ln, m, "in", &oc, "encode_error"))
		}
		return
	}
	fault := c.srv.applyFault(ln, d, start)
	if c.s.journalOn() {
		c.s.write(c.record(ln, m, "in", &oc, fault))
		out := &journal.Record{Type: journal.TypeMessage, Center: CenterCardnet, Line: ln.id, Dir: "out",
			MTI: respMTI, Key: string(m.Get(11)), Date: oc.date, Code: oc.code, Fault: fault}
		if oc.auth != noAuth {
			out.Fields = map[string]string{"38": fmt.Sprintf("%06d", oc.auth)}
		}
		c.s.write(out)
		if oc.event != "" {
			c.s.event(CenterCardnet, ln.id, oc.event, oc.detail)
		}
	}
}

const noAuth = ^uint32(0)

// verifyMAC enforces DE128 when a MAC key is configured. A message without a
// valid MAC is not processed (no state change), journaled as event bad_mac
// with its line, counted, and not answered: an answer would tell a forger
// that the message reached the center, and the genuine sender times out
// and repeats or cancels as it would for a lost message.
func (c *cardnet) verifyMAC(ln *line, m *codec.ISOMessage, payload []byte) bool {
	k := c.s.opts.MACKey
	if k == nil {
		return true
	}
	err := k.Verify(payload)
	if err == nil {
		return true
	}
	c.s.badMAC.Add(1)
	if c.s.journalOn() {
		c.s.event(CenterCardnet, ln.id, "bad_mac", fmt.Sprintf("%s STAN %s: %v", m.MTI(), m.Get(11), err))
	}
	return false
}

// process applies one request to the center's state and fills the answer.
func (c *cardnet) process(ln *line, m *codec.ISOMessage, f *codec.ISOFields, oc *cnOutcome) string {
	mti := m.MTI()
	class := mtiClass(mti)
	oc.auth = noAuth
	for _, de := range [...]int{2, 3, 4, 7, 11, 32, 37, 41, 49} {
		if v := m.Get(de); v != nil {
			f.Set(de, v)
		}
	}
	respMTI := responseMTI(class)
	if class == 800 {
		c.networkManagement(ln, m, f, oc)
		return respMTI
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	date, err := c.businessDateOf(m.Get(15))
	if err != nil {
		oc.code = cnFormatError
		f.SetString(39, oc.code)
		return respMTI
	}
	oc.date = date
	f.SetString(15, date[4:])
	switch {
	case !ln.signedOn.Load():
		oc.code = cnNotSignedOn
	case class == 100 || class == 200 || class == 220:
		c.financial(m, class, date, oc)
	case class == 400 || class == 420:
		c.reversal(m, class, date, oc)
		if v := m.Get(90); v != nil {
			f.Set(90, v)
		}
	case class == 500:
		c.reconcile(m, date, f, oc)
	default:
		oc.code = cnFormatError
	}
	f.SetString(39, oc.code)
	if oc.auth != noAuth {
		f.SetUint(38, uint64(oc.auth))
	}
	return respMTI
}

func responseMTI(class uint16) string {
	switch class {
	case 100:
		return "0110"
	case 200:
		return "0210"
	case 220:
		return "0230"
	case 400:
		return "0410"
	case 420:
		return "0430"
	case 500:
		return "0510"
	case 800:
		return "0810"
	}
	return fmt.Sprintf("%04d", class+10)
}

// classMTI names an MTI class without allocating for the classes the model knows.
func classMTI(class uint16) string {
	switch class {
	case 100:
		return codec.MTIAuthReq
	case 200:
		return codec.MTIFinancialReq
	case 220:
		return codec.MTIAdvice
	case 400:
		return codec.MTIReversalReq
	case 420:
		return codec.MTIReversalAdvice
	}
	return fmt.Sprintf("%04d", class)
}

func (c *cardnet) key(m *codec.ISOMessage, class uint16, date string) (cnKey, bool) {
	stan, ok := digitsU64(m.Get(11))
	if !ok {
		return cnKey{}, false
	}
	k := cnKey{class: class, stan: uint32(stan), date: dateU32(date)}
	copy(k.term[:], m.Get(41))
	return k, true
}

// dedup looks the key up; it returns the entry to repeat, or nil for a new
// request. A conflict sets oc.code. Caller holds mu.
func (c *cardnet) dedup(dy *cnDay, k cnKey, content uint64, oc *cnOutcome) (e *cnTxn, done bool) {
	if e = dy.dedup[k]; e == nil {
		oc.dedup = journal.DedupNew
		return nil, false
	}
	if e.content != content {
		oc.dedup = journal.DedupConflict
		oc.code = cnDuplicate
		return e, true
	}
	oc.dedup = journal.DedupRepeat
	oc.code = e.code
	oc.auth = e.auth
	return e, true
}

func (c *cardnet) financial(m *codec.ISOMessage, class uint16, date string, oc *cnOutcome) {
	k, ok := c.key(m, class, date)
	amount, okAmt := digitsU64(m.Get(4))
	if !ok || !okAmt || amount > 999999999999 {
		oc.code = cnFormatError
		return
	}
	dy := c.day(date)
	content := contentHash(m)
	if _, done := c.dedup(dy, k, content, oc); done {
		return
	}
	if c.ntx >= c.s.opts.MaxTransactions {
		oc.code = cnSystemFailure
		return
	}
	cat := journal.CatAuthorization
	if class != 100 {
		cat = journal.CatDebit
		if p := m.Get(3); len(p) >= 2 && p[0] == '2' && p[1] == '0' {
			cat = journal.CatCredit
		}
	}
	code := cnApproved
	if class != 220 {
		// An advice reports a transaction already completed (stand-in,
		// offline): the center records it, it does not decide it.
		code = c.s.opts.Rules.Decide(string(m.Get(2)), int64(amount))
	}
	t := &cnTxn{content: content, date: date, stan: k.stan, class: classMTI(class), cat: cat,
		amount: int64(amount), code: code, auth: noAuth}
	if acq, ok := digitsU64(m.Get(32)); ok {
		t.acq, t.hasAcq = acq, true
	}
	counted := false
	if code == cnApproved {
		t.status = journal.StatusApproved
		t.auth = authCode(k.stan, date)
		if cat != journal.CatAuthorization {
			c.count(date, cat, t.amount)
			counted = true
		}
	} else {
		t.status = journal.StatusDeclined
	}
	if de7, ok := digitsU64(m.Get(7)); ok {
		dy.orig[cnOrigKey{k.stan, de7}] = t
	}
	dy.dedup[k] = t
	c.ntx++
	oc.code, oc.auth = code, t.auth
	oc.change(journal.Change{TxnKey: c.txnKey(date, k.stan), MTI: t.class, Status: t.status,
		Category: cat, Amount: t.amount, Code: code, Counted: counted})
}

func (c *cardnet) txnKey(date string, stan uint32) journal.TxnKey {
	return journal.TxnKey{Center: CenterCardnet, Date: date, Key: fmt.Sprintf("%06d", stan)}
}

// de90 splits DE90: original MTI(4) STAN(6) DE7(10) acquirer(11) forwarder(11).
func de90(v []byte) (stan uint32, de7 uint64, acq uint64, ok bool) {
	_, stan, t, a, err := codec.ParseDE90(v)
	if err != nil {
		return 0, 0, 0, false
	}
	de7, _ = digitsU64(t)
	acq, _ = digitsU64(a)
	return stan, de7, acq, true
}

// findOriginal searches the retained dates for the original named by DE90.
func (c *cardnet) findOriginal(v []byte) *cnTxn {
	stan, de7, acq, ok := de90(v)
	if !ok {
		return nil
	}
	// Most recent date first, and in a fixed order: STAN and DE7 name one
	// message only within a day, and a replayed run must match the same way.
	var best *cnTxn
	for d, dy := range c.days {
		if t := dy.orig[cnOrigKey{stan, de7}]; t != nil && (!t.hasAcq || acq == 0 || t.acq == acq) {
			if best == nil || d > best.date {
				best = t
			}
		}
	}
	return best
}

func (c *cardnet) reversal(m *codec.ISOMessage, class uint16, date string, oc *cnOutcome) {
	k, ok := c.key(m, class, date)
	if !ok || m.Get(90) == nil {
		oc.code = cnFormatError
		return
	}
	dy := c.day(date)
	if _, done := c.dedup(dy, k, contentHash(m), oc); done {
		return
	}
	amount, _ := digitsU64(m.Get(4))
	e := &cnTxn{content: contentHash(m), auth: noAuth, date: date, stan: k.stan, class: classMTI(class),
		amount: int64(amount), status: journal.StatusNoOriginal}
	self := c.txnKey(date, k.stan)
	o := c.findOriginal(m.Get(90))
	switch {
	case o == nil || o.status == journal.StatusDeclined:
		e.code = cnNoOriginal
		oc.change(journal.Change{TxnKey: self, MTI: classMTI(class), Status: journal.StatusNoOriginal,
			Amount: int64(amount), Code: cnNoOriginal})
	case o.reversed:
		// Already reversed by an earlier, different reversal: there is no
		// approved original left to reverse (25), and nothing counts. (A
		// repeat of that same reversal is answered by dedup above, as 00.)
		e.code = cnNoOriginal
		ok := c.txnKey(o.date, o.stan)
		oc.change(journal.Change{TxnKey: self, MTI: classMTI(class), Status: journal.StatusNoOriginal,
			Amount: int64(amount), Code: cnNoOriginal, Original: &ok})
		oc.detail = "original already reversed"
	default:
		e.code, e.status = cnApproved, journal.StatusAccepted
		o.reversed = true
		o.status = journal.StatusReversed
		cat := reversalCat(o.cat)
		counted := cat != journal.CatNone
		if counted {
			c.count(date, cat, o.amount)
		}
		ok := c.txnKey(o.date, o.stan)
		oc.change(journal.Change{TxnKey: ok, MTI: o.class, Status: journal.StatusReversed,
			Category: o.cat, Amount: o.amount, Code: o.code})
		oc.change(journal.Change{TxnKey: self, MTI: classMTI(class), Status: journal.StatusAccepted,
			Category: cat, Amount: o.amount, Code: cnApproved, Counted: counted, Original: &ok})
	}
	dy.dedup[k] = e
	c.ntx++
	oc.code = e.code
}

func reversalCat(c journal.Category) journal.Category {
	switch c {
	case journal.CatDebit:
		return journal.CatDebitReversal
	case journal.CatCredit:
		return journal.CatCreditReversal
	}
	return journal.CatNone
}

// reconcile answers 0500 (精査) with the center's own figures for DE15's date.
func (c *cardnet) reconcile(m *codec.ISOMessage, date string, f *codec.ISOFields, oc *cnOutcome) {
	own := c.totals.get(date)
	theirs, ok := totalsFromISO(m)
	in := ok && theirs == own
	putTotalsISO(f, own)
	oc.code = cnApproved
	oc.event = "reconciliation"
	if in {
		f.SetString(66, "1")
		oc.detail = date + " in_balance"
	} else {
		f.SetString(66, "2")
		oc.detail = date + " out_of_balance"
	}
}

func totalsFromISO(m *codec.ISOMessage) (journal.Totals, bool) {
	var t journal.Totals
	ok := true
	get := func(de int) int64 {
		v, good := digitsU64(m.Get(de))
		ok = ok && good
		return int64(v)
	}
	t.CreditsCount, t.CreditReversalsCount = get(74), get(75)
	t.DebitsCount, t.DebitReversalsCount = get(76), get(77)
	t.CreditsAmount, t.CreditReversalsAmount = get(86), get(87)
	t.DebitsAmount, t.DebitReversalsAmount = get(88), get(89)
	if v := m.Get(codec.DENetSettlement); v != nil {
		net, err := codec.ParseDE97(v)
		ok = ok && err == nil && net == t.Net()
	}
	return t, ok
}

func putTotalsISO(f *codec.ISOFields, t journal.Totals) {
	f.SetUint(74, uint64(t.CreditsCount))
	f.SetUint(75, uint64(t.CreditReversalsCount))
	f.SetUint(76, uint64(t.DebitsCount))
	f.SetUint(77, uint64(t.DebitReversalsCount))
	f.SetUint(86, uint64(t.CreditsAmount))
	f.SetUint(87, uint64(t.CreditReversalsAmount))
	f.SetUint(88, uint64(t.DebitsAmount))
	f.SetUint(89, uint64(t.DebitReversalsAmount))
	f.SetString(97, string(codec.AppendDE97(nil, t.Net())))
}

func (c *cardnet) networkManagement(ln *line, m *codec.ISOMessage, f *codec.ISOFields, oc *cnOutcome) {
	code := string(m.Get(70))
	f.SetString(70, code)
	if v := m.Get(15); v != nil {
		f.Set(15, v)
	}
	oc.code = cnApproved
	switch code {
	case nmSignon:
		ln.signedOn.Store(true)
		oc.event = "signon"
	case nmSignoff:
		ln.signedOn.Store(false)
		oc.event = "signoff"
	case nmEcho:
	case nmCutover:
		// Cutover requested by the daemon (daily operation): adopt its date.
		c.mu.Lock()
		nd, err := c.businessDateOf(m.Get(15))
		if err != nil || m.Get(15) == nil {
			c.mu.Unlock()
			oc.code = cnFormatError
			break
		}
		old := c.date
		c.advanceLocked(nd)
		c.mu.Unlock()
		oc.date = nd
		oc.event = "cutover"
		oc.detail = old + "->" + nd + " (daemon)"
		if old != nd {
			c.s.writeTotals(CenterCardnet, old, c.Totals(old), "cutover")
		}
	default:
		oc.code = cnFormatError
	}
	f.SetString(39, oc.code)
}

// advanceLocked moves the business date and forgets dates beyond retention.
func (c *cardnet) advanceLocked(nd string) {
	c.date = nd
	clear(c.mmdd)
	cur, _ := parseDate(nd)
	limit := cur.AddDate(0, 0, -c.s.opts.RetainDates).Format("20060102")
	for d, dy := range c.days {
		if d < limit {
			c.ntx -= len(dy.dedup)
			delete(c.days, d)
		}
	}
}

// response handles an answer from the daemon (0810 to a center cutover).
func (c *cardnet) response(ln *line, m *codec.ISOMessage) {
	stan, _ := digitsU64(m.Get(11))
	code := string(m.Get(39))
	c.mu.Lock()
	w := c.waiters[uint32(stan)]
	delete(c.waiters, uint32(stan))
	c.mu.Unlock()
	if w != nil {
		w <- code
	}
	if c.s.journalOn() {
		rec := c.record(ln, m, "in", &cnOutcome{code: code}, "")
		c.s.write(rec)
	}
}

// deNames are the journal's field names of the data elements ("2" ... "128").
var deNames = func() (n [129]string) {
	for i := range n {
		n[i] = strconv.Itoa(i)
	}
	return
}()

// record builds the journal record of a received message.
func (c *cardnet) record(ln *line, m *codec.ISOMessage, dir string, oc *cnOutcome, fault string) *journal.Record {
	r := &journal.Record{Type: journal.TypeMessage, Center: CenterCardnet, Line: ln.id, Dir: dir,
		MTI: string(m.MTI()), Key: string(m.Get(11)), Date: oc.date, Code: oc.code, Dedup: oc.dedup, Fault: fault}
	r.Fields = make(map[string]string, 12)
	for de, v := range m.Fields() {
		if de == codec.DEPAN {
			v = codec.MaskPAN(nil, v)
		}
		r.Fields[deNames[de]] = string(v)
	}
	if oc.nch > 0 {
		r.Changes = append([]journal.Change(nil), oc.changes[:oc.nch]...)
	}
	return r
}

// Totals returns the center's totals for one date.
func (c *cardnet) Totals(date string) journal.Totals {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.totals.get(date)
}

func (c *cardnet) businessDate() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.date
}

func (c *cardnet) allTotals() map[string]journal.Totals {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.totals.snapshot(c.date)
}

// cutover is the center-initiated cutover (24-hour operation): the center
// moves to the next business date, then sends 0800 DE70 201 with the new date
// on one signed-on line and waits for the 0810. The date moves even when no
// line is signed on or the daemon does not answer: the center's clock rules.
// cutoverFrame moves the center to the next business date and builds the
// 0800 (DE70 201) telling the daemon, for ln or, if nil, the oldest
// signed-on line; the message is journaled as sent.
func (c *cardnet) cutoverFrame(ln *line) (nd string, stan uint32, _ *line, frame []byte, err error) {
	c.mu.Lock()
	old := c.date
	nd = nextDate(old)
	c.advanceLocked(nd)
	c.stan = c.stan%999999 + 1
	stan = c.stan
	c.mu.Unlock()
	c.s.event(CenterCardnet, 0, "cutover", old+"->"+nd+" (center)")
	c.s.writeTotals(CenterCardnet, old, c.Totals(old), "cutover")

	if ln == nil {
		ln = c.srv.signedOnLine()
	}
	if ln == nil {
		c.s.event(CenterCardnet, 0, "cutover_unsent", "no signed-on line")
		return nd, stan, nil, nil, ErrNotSignedOn
	}
	var f codec.ISOFields
	f.SetString(7, c.s.opts.Clock.Now().UTC().Format("0102150405"))
	f.SetUint(11, uint64(stan))
	f.SetString(15, nd[4:])
	f.SetString(70, nmCutover)
	if c.s.opts.MACKey != nil {
		f.SetString(128, mac.MACPlaceholder)
	}
	frame = c.srv.framing.ReserveHeader(nil)
	frame, err = c.spec.Append(frame, "0800", &f)
	if err == nil && c.s.opts.MACKey != nil {
		err = c.s.opts.MACKey.Sign(frame[c.srv.framing.HeaderLen():])
	}
	if err == nil {
		err = c.srv.framing.PutHeader(frame[:2], len(frame)-2)
	}
	if err != nil {
		return nd, stan, ln, nil, fmt.Errorf("sim: cardnet: encode cutover: %w", err)
	}
	if c.s.journalOn() {
		c.s.write(&journal.Record{Type: journal.TypeMessage, Center: CenterCardnet, Line: ln.id, Dir: "out",
			MTI: "0800", Key: fmt.Sprintf("%06d", stan), Date: nd, Fields: map[string]string{"15": nd[4:], "70": nmCutover}})
	}
	return nd, stan, ln, frame, nil
}

func (c *cardnet) cutover(ctx context.Context) (string, error) {
	nd, stan, ln, frame, err := c.cutoverFrame(nil)
	if err != nil {
		return nd, err
	}
	w := make(chan string, 1)
	c.mu.Lock()
	c.waiters[stan] = w
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, stan)
		c.mu.Unlock()
	}()
	if err := ln.conn.AsyncWrite(frame, nil); err != nil {
		return nd, fmt.Errorf("sim: cardnet: send cutover: %w", err)
	}
	timeout := time.NewTimer(c.s.opts.CutoverAnswerTimeout)
	defer timeout.Stop()
	select {
	case code := <-w:
		if code != cnApproved {
			return nd, fmt.Errorf("sim: cardnet: cutover answered %q", code)
		}
		return nd, nil
	case <-timeout.C:
		c.s.event(CenterCardnet, ln.id, "cutover_unanswered", nd)
		return nd, ErrCutoverTimeout
	case <-ctx.Done():
		return nd, ctx.Err()
	}
}
