package wal

import (
	"encoding/binary"
	"hash/crc32"
	"sync"
)

// Every stored value is | version (1) | body | CRC-32C of version+body (4, BE) |.
// Pebble checksums its blocks too; ours catches a value decoded with the
// wrong layout and names the key (ErrCorrupt) instead of returning garbage.
const recordVersion = 1

// resolutionVersion marks a resolution whose totals effects are stored in
// it alone. Version 1 resolutions, written by earlier builds, have a twin
// e/ record for each effect, and the totals fold reads those instead (doc.go,
// "Totals and their fold").
const resolutionVersion = 2

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func beginValue(dst []byte) []byte { return append(dst, recordVersion) }

func endValue(v []byte) []byte {
	return binary.BigEndian.AppendUint32(v, crc32.Checksum(v, castagnoli))
}

// openValue checks version and checksum and returns the body.
func openValue(key, v []byte) ([]byte, error) {
	ver, body, err := openVersioned(key, v, recordVersion)
	if err == nil && ver != recordVersion {
		err = corrupt(key, "unknown record version %d", ver)
	}
	return body, err
}

// openVersioned checks the checksum and that the version is at most
// newest, and returns both.
func openVersioned(key, v []byte, newest byte) (byte, []byte, error) {
	if len(v) < 5 {
		return 0, nil, corrupt(key, "value of %d bytes is too short", len(v))
	}
	body, sum := v[:len(v)-4], binary.BigEndian.Uint32(v[len(v)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return 0, nil, corrupt(key, "checksum mismatch")
	}
	if body[0] == 0 || body[0] > newest {
		return 0, nil, corrupt(key, "unknown record version %d", body[0])
	}
	return body[0], body[1:], nil
}

func appendStr8(b []byte, s string) []byte {
	b = append(b, byte(len(s)))
	return append(b, s...)
}

// dec reads a body; any overrun sets bad and yields zero values, checked once at the end.
type dec struct {
	b   []byte
	bad bool
}

func (d *dec) take(n int) []byte {
	if d.bad || n < 0 || len(d.b) < n {
		d.bad = true
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) u8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *dec) u16() uint16 {
	if p := d.take(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *dec) u32() uint32 {
	if p := d.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *dec) u64() uint64 {
	if p := d.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (d *dec) str8() string { return string(d.take(int(d.u8()))) }

func (d *dec) bytes32() []byte { return d.take(int(d.u32())) }

// done reports whether the body was consumed exactly.
func (d *dec) done() bool { return !d.bad && len(d.b) == 0 }

// ---- request: r/<id> ----
//
//	id u64 | center s8 | date s8 | appID s8 | appRef s8 | key u32 | op u8 | category u8 |
//	amount i64 | session u64 | digest [16] | origID u64 | line u16 | flags u8 (1=advice) |
//	time i64 | sealed u32-len blob of ( uvarint len(PAN) | PAN | Msg )
//
// The cleartext head (id .. appRef) lets Prune and the reference index work
// without the key.

func encodeRequest(dst []byte, s *sealer, ns *nonceSource, key []byte, r *Request) []byte {
	v := beginValue(dst)
	v = binary.BigEndian.AppendUint64(v, r.ID)
	v = appendStr8(v, r.Center)
	v = appendStr8(v, r.Date)
	v = appendStr8(v, r.AppID)
	v = appendStr8(v, r.AppRef)
	v = binary.BigEndian.AppendUint32(v, r.Key)
	v = append(v, r.Op, byte(r.Category))
	v = binary.BigEndian.AppendUint64(v, uint64(r.Amount))
	v = binary.BigEndian.AppendUint64(v, r.Session)
	v = append(v, r.Digest[:]...)
	v = binary.BigEndian.AppendUint64(v, r.OrigID)
	v = binary.BigEndian.AppendUint16(v, r.Line)
	var flags byte
	if r.Advice {
		flags |= 1
	}
	v = append(v, flags)
	v = binary.BigEndian.AppendUint64(v, uint64(r.TimeUnixNano))
	bp := plainPool.Get().(*[]byte)
	plain := binary.AppendUvarint((*bp)[:0], uint64(len(r.PAN)))
	plain = append(plain, r.PAN...)
	plain = append(plain, r.Msg...)
	v = appendSealed32(v, s, ns, key, plain)
	clear(plain) // it held the clear PAN
	if cap(plain) <= maxPooledPlain {
		*bp = plain[:0]
		plainPool.Put(bp)
	}
	return endValue(v)
}

// plainPool holds the scratch buffers a request's sealed fields are
// gathered in before sealing; they are cleared before they go back.
var plainPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooledPlain = 16 << 10

// appendSealed32 appends | u32 length | sealed blob of plain | to v, sealing
// straight into v rather than into a buffer copied afterwards.
func appendSealed32(v []byte, s *sealer, ns *nonceSource, key, plain []byte) []byte {
	at := len(v)
	v = append(v, 0, 0, 0, 0)
	v = s.seal(v, ns, key, plain)
	binary.BigEndian.PutUint32(v[at:], uint32(len(v)-at-4))
	return v
}

// requestHead is the cleartext part of a request record.
type requestHead struct {
	ID                          uint64
	Center, Date, AppID, AppRef string
}

func decodeRequestHead(key, v []byte) (requestHead, error) {
	body, err := openValue(key, v)
	if err != nil {
		return requestHead{}, err
	}
	d := dec{b: body}
	h := requestHead{ID: d.u64(), Center: d.str8(), Date: d.str8(), AppID: d.str8(), AppRef: d.str8()}
	if d.bad {
		return requestHead{}, corrupt(key, "request head truncated")
	}
	return h, nil
}

func decodeRequest(s *sealer, key, v []byte) (*Request, error) {
	body, err := openValue(key, v)
	if err != nil {
		return nil, err
	}
	d := dec{b: body}
	r := &Request{}
	r.ID = d.u64()
	r.Center = d.str8()
	r.Date = d.str8()
	r.AppID = d.str8()
	r.AppRef = d.str8()
	r.Key = d.u32()
	r.Op = d.u8()
	r.Category = Category(d.u8())
	r.Amount = int64(d.u64())
	r.Session = d.u64()
	copy(r.Digest[:], d.take(16))
	r.OrigID = d.u64()
	r.Line = d.u16()
	r.Advice = d.u8()&1 != 0
	r.TimeUnixNano = int64(d.u64())
	sealed := d.bytes32()
	if !d.done() {
		return nil, corrupt(key, "request record malformed")
	}
	plain, err := s.open(key, sealed)
	if err != nil {
		return nil, err
	}
	n, w := binary.Uvarint(plain)
	if w <= 0 || n > uint64(len(plain)-w) {
		return nil, corrupt(key, "sealed request fields malformed")
	}
	rest := plain[w:]
	r.PAN = rest[:n:n]
	r.Msg = rest[n:]
	if len(r.PAN) == 0 {
		r.PAN = nil
	}
	if len(r.Msg) == 0 {
		r.Msg = nil
	}
	return r, nil
}

// ---- resolution: s/<id> ----  version 2 (1 from earlier builds: same body)
//
//	id u64 | status u8 | respCode s8 | authCode s8 | time i64 |
//	n u8 | n × ( date s8 | category u8 | amount i64 ) | sealed u32-len blob of Msg

func encodeResolution(dst []byte, s *sealer, ns *nonceSource, key []byte, r *Resolution) []byte {
	v := append(dst, resolutionVersion)
	v = binary.BigEndian.AppendUint64(v, r.RequestID)
	v = append(v, byte(r.Status))
	v = appendStr8(v, r.RespCode)
	v = appendStr8(v, r.AuthCode)
	v = binary.BigEndian.AppendUint64(v, uint64(r.TimeUnixNano))
	v = append(v, byte(len(r.Effects)))
	for _, e := range r.Effects {
		v = appendStr8(v, e.Date)
		v = append(v, byte(e.Category))
		v = binary.BigEndian.AppendUint64(v, uint64(e.Amount))
	}
	v = appendSealed32(v, s, ns, key, r.Msg)
	return endValue(v)
}

func decodeResolution(s *sealer, key, v []byte) (*Resolution, error) {
	_, body, err := openVersioned(key, v, resolutionVersion)
	if err != nil {
		return nil, err
	}
	d := dec{b: body}
	r := &Resolution{}
	r.RequestID = d.u64()
	r.Status = Status(d.u8())
	r.RespCode = d.str8()
	r.AuthCode = d.str8()
	r.TimeUnixNano = int64(d.u64())
	n := int(d.u8())
	if n > MaxEffects {
		return nil, corrupt(key, "%d effects", n)
	}
	if n > 0 {
		r.Effects = make([]Effect, n)
		for i := range r.Effects {
			e := Effect{Date: d.str8(), Category: Category(d.u8()), Amount: int64(d.u64())}
			if e.Category == CategoryNone || e.Category >= numCategories {
				return nil, corrupt(key, "effect category %d", e.Category)
			}
			r.Effects[i] = e
		}
	}
	sealed := d.bytes32()
	if !d.done() {
		return nil, corrupt(key, "resolution record malformed")
	}
	msg, err := s.open(key, sealed)
	if err != nil {
		return nil, err
	}
	if len(msg) > 0 {
		r.Msg = msg
	}
	return r, nil
}

// foldResolution adds to t the effects of the resolution value v dated
// date, without opening its sealed part. It reports the record's version
// and whether any effect was dated date; with version 1 it adds nothing
// (those effects are folded from their e/ twins).
func foldResolution(key, v []byte, date string, t *Totals) (ver byte, matched bool, err error) {
	ver, body, err := openVersioned(key, v, resolutionVersion)
	if err != nil {
		return 0, false, err
	}
	d := dec{b: body}
	d.take(8 + 1) // id, status
	d.take(int(d.u8()))
	d.take(int(d.u8()))
	d.take(8) // time
	n := int(d.u8())
	if n > MaxEffects {
		return 0, false, corrupt(key, "%d effects", n)
	}
	for i := 0; i < n; i++ {
		day := d.take(int(d.u8()))
		c, a := Category(d.u8()), int64(d.u64())
		if c == CategoryNone || c >= numCategories {
			return 0, false, corrupt(key, "effect category %d", c)
		}
		if string(day) == date {
			matched = true
			if ver == resolutionVersion {
				t.add(c, a) // on error the whole fold is discarded
			}
		}
	}
	d.bytes32()
	if !d.done() {
		return 0, false, corrupt(key, "resolution record malformed")
	}
	return ver, matched, nil
}

// ---- cancel attempt: C/<id> ----
//
//	id u64 | kind u8 | attempt u32 | key u32 | time i64 | sealed u32-len blob of Msg

func encodeCancel(dst []byte, s *sealer, ns *nonceSource, key []byte, a *CancelAttempt) []byte {
	v := beginValue(dst)
	v = binary.BigEndian.AppendUint64(v, a.RequestID)
	v = append(v, a.Kind)
	v = binary.BigEndian.AppendUint32(v, a.Attempt)
	v = binary.BigEndian.AppendUint32(v, a.Key)
	v = binary.BigEndian.AppendUint64(v, uint64(a.TimeUnixNano))
	v = appendSealed32(v, s, ns, key, a.Msg)
	return endValue(v)
}

func decodeCancel(s *sealer, key, v []byte) (*CancelAttempt, error) {
	body, err := openValue(key, v)
	if err != nil {
		return nil, err
	}
	d := dec{b: body}
	a := &CancelAttempt{RequestID: d.u64(), Kind: d.u8(), Attempt: d.u32(), Key: d.u32(), TimeUnixNano: int64(d.u64())}
	sealed := d.bytes32()
	if !d.done() {
		return nil, corrupt(key, "cancel record malformed")
	}
	msg, err := s.open(key, sealed)
	if err != nil {
		return nil, err
	}
	if len(msg) > 0 {
		a.Msg = msg
	}
	return a, nil
}

// ---- advice queue entry: A/<center>\0<id> ----  attempts u32 | last attempt i64

func encodeAdvice(attempts uint32, last int64) []byte {
	v := beginValue(make([]byte, 0, 18))
	v = binary.BigEndian.AppendUint32(v, attempts)
	v = binary.BigEndian.AppendUint64(v, uint64(last))
	return endValue(v)
}

func decodeAdvice(key, v []byte) (attempts uint32, last int64, err error) {
	body, err := openValue(key, v)
	if err != nil {
		return 0, 0, err
	}
	d := dec{b: body}
	attempts, last = d.u32(), int64(d.u64())
	if !d.done() {
		return 0, 0, corrupt(key, "advice entry malformed")
	}
	return attempts, last, nil
}

// ---- totals: T/<center>\0<date> ----  8 × i64 | reconciliation s8

func encodeTotals(t *Totals) []byte {
	v := beginValue(make([]byte, 0, 80))
	for _, x := range []int64{t.DebitsCount, t.CreditsCount, t.DebitReversalsCount, t.CreditReversalsCount,
		t.DebitsAmount, t.CreditsAmount, t.DebitReversalsAmount, t.CreditReversalsAmount} {
		v = binary.BigEndian.AppendUint64(v, uint64(x))
	}
	v = appendStr8(v, t.Reconciliation)
	return endValue(v)
}

func decodeTotals(key, v []byte) (Totals, error) {
	body, err := openValue(key, v)
	if err != nil {
		return Totals{}, err
	}
	d := dec{b: body}
	var t Totals
	for _, p := range []*int64{&t.DebitsCount, &t.CreditsCount, &t.DebitReversalsCount, &t.CreditReversalsCount,
		&t.DebitsAmount, &t.CreditsAmount, &t.DebitReversalsAmount, &t.CreditReversalsAmount} {
		*p = int64(d.u64())
	}
	t.Reconciliation = d.str8()
	if !d.done() {
		return Totals{}, corrupt(key, "totals record malformed")
	}
	return t, nil
}

// ---- effect: e/<center>\0<date><id><n> ----  category u8 | amount i64
//
// Written by earlier builds only, next to version 1 resolutions; read by
// VerifyTotals and deleted by Prune.

func decodeEffect(key, v []byte) (Category, int64, error) {
	body, err := openValue(key, v)
	if err != nil {
		return 0, 0, err
	}
	d := dec{b: body}
	c, a := Category(d.u8()), int64(d.u64())
	if !d.done() || c == CategoryNone || c >= numCategories {
		return 0, 0, corrupt(key, "effect record malformed")
	}
	return c, a, nil
}

// ---- business-date ranges: D/<center>\0<date> ----
//
//	min id u64 | max id u64 | effects min id u64 | effects max id u64 | [flags u8]
//
// The first pair bounds the IDs of the requests of that date, the second
// the IDs of the requests whose version 2 resolutions carry an effect dated
// that date. An empty pair is min > max. flags (present only when set):
// 1 = Prune has deleted the date's totals and is deleting its records.
// Earlier builds wrote only the first pair; their effects are all in e/
// records.

type idRange struct {
	min, max, emin, emax uint64
	pruning              bool
}

// noRange is the empty range: every ID lowers min and raises max.
const noRange = ^uint64(0)

func emptyRange() idRange { return idRange{min: noRange, emin: noRange} }

func (r idRange) hasRequests() bool { return r.min <= r.max }
func (r idRange) hasEffects() bool  { return r.emin <= r.emax }

func (r *idRange) addRequest(id uint64) { r.min, r.max = min(r.min, id), max(r.max, id) }
func (r *idRange) addEffect(id uint64)  { r.emin, r.emax = min(r.emin, id), max(r.emax, id) }

func encodeRange(r idRange) []byte {
	v := beginValue(make([]byte, 0, 37))
	v = binary.BigEndian.AppendUint64(v, r.min)
	v = binary.BigEndian.AppendUint64(v, r.max)
	v = binary.BigEndian.AppendUint64(v, r.emin)
	v = binary.BigEndian.AppendUint64(v, r.emax)
	if r.pruning {
		v = append(v, 1)
	}
	return endValue(v)
}

func decodeRange(key, v []byte) (idRange, error) {
	body, err := openValue(key, v)
	if err != nil {
		return idRange{}, err
	}
	d := dec{b: body}
	r := emptyRange()
	r.min, r.max = d.u64(), d.u64()
	if len(d.b) > 0 { // written by this build; 16-byte bodies by earlier ones
		r.emin, r.emax = d.u64(), d.u64()
	}
	if len(d.b) > 0 {
		switch d.u8() {
		case 1:
			r.pruning = true
		default:
			d.bad = true
		}
	}
	if !d.done() {
		return idRange{}, corrupt(key, "range record malformed")
	}
	return r, nil
}

// ---- metadata: M/... ----  opaque bytes

func encodeMeta(p []byte) []byte {
	v := beginValue(make([]byte, 0, 6+len(p)))
	v = append(v, p...)
	return endValue(v)
}

func decodeMeta(key, v []byte) ([]byte, error) { return openValue(key, v) }

// idValueLen is the size of a metadata value holding one ID.
const idValueLen = 1 + 8 + 4

// appendIDValue appends the metadata value holding id (M/seq, x/...).
func appendIDValue(dst []byte, id uint64) []byte { return endValue(appendID(beginValue(dst), id)) }
