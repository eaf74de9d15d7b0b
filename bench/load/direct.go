package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/ipc"
)

// Direct mode talks to the center simulator itself, the way fxd's lines do
// but without the switch: no IPC, no WAL, no matching table beyond a map per
// line. What it measures is the cost of the codec, the loopback and the
// simulator, the floor under whatever the switch adds.

// errLineDown: the line to the center failed; the run cannot go on on it.
var errLineDown = errors.New("load: line to the center is down")

// directTarget holds the lines and the key allocator of a direct run.
type directTarget struct {
	o       *Options
	lines   []*dline
	nextKey atomic.Uint32 // last key handed out
	date    string        // business date YYYYMMDD (CAFIS cut-target date)
	mmdd    string        // DE15
	term    string        // DE41, fixed per run
	iso     *codec.ISOSpec
	cafis   *codec.CafisSpec
	cf      cafisFields
}

// cafisFields are the body field indexes the load uses.
type cafisFields struct {
	op, pan, expiry, amount, currency, terminal int
	cnlSerial, cnlDate, cnlAmount, cnlPAN       int
}

func newDirect(ctx context.Context, o *Options) (*directTarget, error) {
	now := time.Now()
	t := &directTarget{o: o, date: now.Format("20060102"), mmdd: now.Format("0102"),
		term: "D" + fmt.Sprintf("%07d", now.UnixNano()/int64(time.Millisecond)%10_000_000)}
	t.nextKey.Store(o.FirstKey - 1)
	framing := codec.FrameBin2
	if o.Center == CenterCafis {
		framing = codec.FrameASCII4
		s := codec.CafisBuiltin()
		f := s.MustFieldIndex
		t.cafis = s
		t.cf = cafisFields{
			op: f(codec.KindSalesReq, "op"), pan: f(codec.KindSalesReq, "pan"), expiry: f(codec.KindSalesReq, "expiry"),
			amount: f(codec.KindSalesReq, "amount"), currency: f(codec.KindSalesReq, "currency"),
			terminal:  f(codec.KindSalesReq, "terminal_id"),
			cnlSerial: f(codec.KindCancelReq, "orig_serial"), cnlDate: f(codec.KindCancelReq, "orig_date"),
			cnlAmount: f(codec.KindCancelReq, "amount"), cnlPAN: f(codec.KindCancelReq, "pan"),
		}
	} else {
		t.iso = codec.CardnetSpec()
	}
	var d net.Dialer
	for i := 0; i < o.Conns; i++ {
		c, err := d.DialContext(ctx, "tcp", o.Addr)
		if err != nil {
			t.close()
			return nil, fmt.Errorf("%w: dial center %s: %w", ErrSetup, o.Addr, err)
		}
		l := newDline(c, framing, t)
		t.lines = append(t.lines, l)
	}
	// Sign every line on (CARDNET 0800 DE70 001, CAFIS 0010 開局): the
	// center answers financial traffic on a line that has not with 91.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i, l := range t.lines {
		w := &directWorker{t: t, line: l, ch: make(chan reply, 1)}
		if err := w.signon(sctx); err != nil {
			t.close()
			return nil, fmt.Errorf("%w: signon of line %d: %w", ErrSetup, i, err)
		}
	}
	return t, nil
}

func (t *directTarget) allocKey() (uint32, error) {
	k := t.nextKey.Add(1)
	if k > maxKey {
		return 0, ErrKeysExhausted
	}
	return k, nil
}

func (t *directTarget) worker(i int) worker {
	return &directWorker{t: t, line: t.lines[i%len(t.lines)], ch: make(chan reply, 1)}
}

func (t *directTarget) close() error {
	for _, l := range t.lines {
		l.shut()
	}
	return nil
}

// reply is the part of an answer a worker needs.
type reply struct {
	code [3]byte // CARDNET DE39 (2 characters), CAFIS result (3)
	n    int     // length of code
}

// dline is one TCP line to the center: workers append frames to wbuf under
// mu and wake the writer, which sends everything pending in one Write; the
// reader splits answers and hands each to the worker waiting on its key.
type dline struct {
	t       *directTarget
	conn    net.Conn
	framing codec.Framing

	mu      sync.Mutex
	wbuf    []byte
	pending map[uint32]chan reply
	err     error

	wake chan struct{} // cap 1
	quit chan struct{}
	once sync.Once
}

// maxLineBuffer bounds the bytes waiting for the writer; a worker beyond it
// gets an error instead of growing the buffer (the center stopped reading).
const maxLineBuffer = 16 << 20

func newDline(c net.Conn, f codec.Framing, t *directTarget) *dline {
	l := &dline{t: t, conn: c, framing: f, pending: map[uint32]chan reply{}, wake: make(chan struct{}, 1), quit: make(chan struct{})}
	go l.writeLoop()
	go l.readLoop()
	return l
}

func (l *dline) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	pend := l.pending
	l.pending = map[uint32]chan reply{}
	l.mu.Unlock()
	for _, ch := range pend {
		close(ch)
	}
	l.shut()
}

func (l *dline) shut() {
	l.once.Do(func() {
		close(l.quit)
		l.conn.Close()
	})
}

// send queues one framed message and registers ch for its key's answer.
func (l *dline) send(key uint32, payload []byte, ch chan reply) error {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return fmt.Errorf("%w: %w", errLineDown, l.err)
	}
	if len(l.wbuf) > maxLineBuffer {
		l.mu.Unlock()
		return fmt.Errorf("load: line buffer above %d bytes", maxLineBuffer)
	}
	var err error
	if l.wbuf, err = l.framing.AppendFrame(l.wbuf, payload); err != nil {
		l.mu.Unlock()
		return err
	}
	l.pending[key] = ch
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// forget drops a key whose worker stopped waiting; a late answer is discarded.
func (l *dline) forget(key uint32) {
	l.mu.Lock()
	delete(l.pending, key)
	l.mu.Unlock()
}

func (l *dline) writeLoop() {
	var out []byte
	for {
		select {
		case <-l.wake:
		case <-l.quit:
			return
		}
		l.mu.Lock()
		out, l.wbuf = l.wbuf, out[:0]
		l.mu.Unlock()
		if len(out) == 0 {
			continue
		}
		if _, err := l.conn.Write(out); err != nil {
			l.fail(err)
			return
		}
	}
}

func (l *dline) readLoop() {
	sp := codec.NewSplitter(l.framing, 0)
	buf := make([]byte, 256<<10)
	var iso codec.ISOMessage
	var rec codec.CafisRecord
	for {
		n, err := l.conn.Read(buf)
		if n > 0 {
			sp.Feed(buf[:n])
			for {
				p, err := sp.Next()
				if err != nil {
					l.fail(fmt.Errorf("load: framing from the center: %w", err))
					return
				}
				if p == nil {
					break
				}
				var key uint32
				var r reply
				if l.t.iso != nil {
					// Only answers (MTI function digit 1 or 3) match a worker:
					// a request from the center (a timed cutover 0800) could
					// carry a STAN equal to one of ours.
					if err := l.t.iso.Decode(&iso, p); err != nil || iso.MTI()[2]&1 == 0 {
						continue // not ours to judge; the worker times out
					}
					stan, _ := iso.Uint(11)
					key = uint32(stan)
					r.n = copy(r.code[:], iso.Get(39))
				} else {
					// Response kinds end in an odd digit (0101 answers 0100).
					if err := l.t.cafis.Decode(&rec, p); err != nil || rec.Kind()[3]&1 == 0 {
						continue
					}
					key = rec.Serial()
					r.n = copy(r.code[:], rec.Result())
				}
				l.mu.Lock()
				ch := l.pending[key]
				delete(l.pending, key)
				l.mu.Unlock()
				if ch != nil {
					ch <- r
				}
			}
		}
		if err != nil {
			l.fail(err)
			return
		}
	}
}

// directWorker encodes one request at a time into its own buffer.
type directWorker struct {
	t    *directTarget
	line *dline
	ch   chan reply
	buf  []byte
	isoF codec.ISOFields
	cfF  codec.CafisFields
	de7  [10]byte
	rrn  [12]byte
	d90  [42]byte
}

// roundTrip sends payload under key and waits for its answer.
func (w *directWorker) roundTrip(ctx context.Context, key uint32) (reply, error) {
	if err := w.line.send(key, w.buf, w.ch); err != nil {
		return reply{}, err
	}
	select {
	case r, ok := <-w.ch:
		if !ok {
			w.ch = make(chan reply, 1) // closed by a failing line
			return reply{}, errLineDown
		}
		return r, nil
	case <-ctx.Done():
		w.line.forget(key)
		// The reader may hold the channel already: a fresh one keeps a
		// late answer away from the next request.
		w.ch = make(chan reply, 1)
		return reply{}, ctx.Err()
	}
}

func (w *directWorker) signon(ctx context.Context) error {
	key, err := w.t.allocKey()
	if err != nil {
		return err
	}
	now := time.Now()
	if w.t.iso != nil {
		w.isoF.Reset()
		w.isoF.Set(7, appendDE7(w.de7[:0], now))
		w.isoF.SetUint(11, uint64(key))
		w.isoF.SetString(15, w.t.mmdd)
		w.isoF.SetString(70, "001")
		if w.buf, err = w.t.iso.Append(w.buf[:0], "0800", &w.isoF); err != nil {
			return err
		}
	} else {
		h := w.cafisHeader(codec.KindSignonReq, key, now)
		w.cfF.Reset()
		if w.buf, err = w.t.cafis.Append(w.buf[:0], &h, nil); err != nil {
			return err
		}
	}
	r, err := w.roundTrip(ctx, key)
	if err != nil {
		return err
	}
	if c := string(r.code[:r.n]); c != "00" && c != codec.ResultApproved {
		return fmt.Errorf("load: signon answered %s", c)
	}
	return nil
}

func (w *directWorker) cafisHeader(kind string, key uint32, now time.Time) codec.CafisHeader {
	var h codec.CafisHeader
	h.SetKind(kind)
	h.SetMerchant(w.t.o.Merchant)
	h.Serial = key
	copy(h.Date[:], w.t.date)
	hms := now.Hour()*10000 + now.Minute()*100 + now.Second()
	for i := 5; i >= 0; i-- {
		h.Time[i] = byte('0' + hms%10)
		hms /= 10
	}
	return h
}

func (w *directWorker) do(ctx context.Context, t *txn) (answer, error) {
	key, err := w.t.allocKey()
	if err != nil {
		return answer{}, err
	}
	now := time.Now()
	if w.t.iso != nil {
		err = w.encodeCardnet(t, key, now)
	} else {
		err = w.encodeCafis(t, key, now)
	}
	if err != nil {
		return answer{}, fmt.Errorf("%w: encode: %w", errStopWorker, err)
	}
	r, err := w.roundTrip(ctx, key)
	if err != nil {
		if errors.Is(err, errLineDown) {
			return answer{}, fmt.Errorf("%w: %w", errStopWorker, err)
		}
		return answer{}, err
	}
	code := string(r.code[:r.n])
	switch code {
	case "00", codec.ResultApproved:
		if t.op == ipc.OpCancel {
			return answer{out: outCancelled}, nil
		}
		return answer{out: outApproved, orig: original{key: key, de7: w.de7, amount: t.amount}}, nil
	case "05", "51", "25", codec.ResultDoNotHonor, codec.ResultInsufficientFunds, codec.ResultNothingToCancel:
		return answer{out: outDeclined}, nil
	}
	return answer{}, fmt.Errorf("load: center answered %s", code)
}

func (w *directWorker) encodeCardnet(t *txn, key uint32, now time.Time) error {
	f := &w.isoF
	f.Reset()
	de7 := appendDE7(w.de7[:0], now)
	acq := w.t.o.AcquirerID
	mti := "0200"
	switch t.op {
	case ipc.OpAuthorize:
		mti = "0100"
		f.SetString(3, "000000")
	case ipc.OpSale:
		f.SetString(3, "000000")
	case ipc.OpRefund:
		f.SetString(3, "200000")
	case ipc.OpCancel:
		// 0400 reversal with the original's data in DE90.
		mti = "0400"
		f.SetString(3, "000000")
		f.Set(90, codec.AppendDE90(w.d90[:0], []byte("0200"), t.orig.key, t.orig.de7[:], []byte(acq)))
	default:
		return fmt.Errorf("load: op %s", t.op)
	}
	f.SetString(2, benchPAN)
	f.SetUint(4, uint64(t.amount))
	f.Set(7, de7)
	f.SetUint(11, uint64(key))
	f.SetUint(12, uint64(now.Hour()*10000+now.Minute()*100+now.Second()))
	f.SetUint(13, uint64(int(now.Month())*100+now.Day()))
	f.SetString(14, benchExpiry)
	f.SetString(15, w.t.mmdd)
	f.SetString(18, "5999")
	f.SetString(22, "012")
	f.SetString(25, "00")
	f.SetString(32, acq)
	rrn := append(w.rrn[:0], w.t.mmdd...)
	rrn = append(rrn, '0', '0')
	f.Set(37, appendDigits(rrn, uint64(key), 6))
	f.SetString(41, w.t.term)
	f.SetString(42, benchMerchant)
	f.SetString(49, benchCurrency)
	var err error
	w.buf, err = w.t.iso.Append(w.buf[:0], mti, f)
	return err
}

func (w *directWorker) encodeCafis(t *txn, key uint32, now time.Time) error {
	f := &w.cfF
	f.Reset()
	cf := &w.t.cf
	var h codec.CafisHeader
	if t.op == ipc.OpCancel {
		h = w.cafisHeader(codec.KindCancelReq, key, now)
		f.SetUint(cf.cnlSerial, uint64(t.orig.key))
		f.SetString(cf.cnlDate, w.t.date)
		f.SetUint(cf.cnlAmount, uint64(t.orig.amount))
		f.SetString(cf.cnlPAN, benchPAN)
	} else {
		h = w.cafisHeader(codec.KindSalesReq, key, now)
		op := uint64(10)
		switch t.op {
		case ipc.OpRefund:
			op = 20
		case ipc.OpAuthorize:
			op = 30
		}
		f.SetUint(cf.op, op)
		f.SetString(cf.pan, benchPAN)
		f.SetString(cf.expiry, benchExpiry)
		f.SetUint(cf.amount, uint64(t.amount))
		f.SetString(cf.currency, benchCurrency)
		f.SetString(cf.terminal, w.t.term)
	}
	var err error
	w.buf, err = w.t.cafis.Append(w.buf[:0], &h, f)
	return err
}

// appendDE7 writes the transmission date and time MMDDhhmmss in UTC.
func appendDE7(dst []byte, now time.Time) []byte {
	now = now.UTC()
	v := uint64(int(now.Month())*100_000_000 + now.Day()*1_000_000 + now.Hour()*10_000 + now.Minute()*100 + now.Second())
	return appendDigits(dst, v, 10)
}

// appendDigits writes v zero-padded to width digits.
func appendDigits(dst []byte, v uint64, width int) []byte {
	var b [20]byte
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:width]...)
}
