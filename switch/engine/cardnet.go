package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/switch/mac"
	"github.com/fxswitch/fxswitch/wal"
)

// cardnetModel maps app operations onto the CARDNET model (DESIGN §2):
//
//	authorize → 0100 DE3 000000        sale   → 0200 DE3 000000
//	refund    → 0200 DE3 200000        advice → 0220 DE3 000000 (repeat 0221)
//	cancel    → 0400 with DE90 of the original (repeat 0401)
//	timeout   → 0400 system cancel with the original's STAN (repeats 0401),
//	            or with cancel_mode "advice" a 0420 reversal advice (repeats 0421)
//
// Every message carries the business date in DE15 (MMDD). STANs are
// allocated per center; the matching key is (class, DE41, DE11) as in DESIGN §2.
type cardnetModel struct {
	spec *codec.ISOSpec
	// mac, when set, signs every message with DE128 and refuses inbound
	// messages whose DE128 does not verify (switch/mac).
	mac *mac.Key
	acq []byte // DE32 acquiring institution id
	// reversalAdvice: system cancels go as 0420/0421 reversal advices
	// (store-and-forward) instead of 0400/0401 reversals.
	reversalAdvice bool
}

func newCardnetModel(acquirerID string, reversalAdvice bool, key *mac.Key) *cardnetModel {
	return &cardnetModel{spec: codec.CardnetSpec(), acq: []byte(acquirerID), reversalAdvice: reversalAdvice, mac: key}
}

// macPlaceholder is DE128 before signing overwrites it.
const macPlaceholder = "0000000000000000"

// append encodes the message and, with a MAC key, signs it in place.
func (m *cardnetModel) append(dst []byte, mti string, f *codec.ISOFields) ([]byte, error) {
	if m.mac == nil {
		return m.spec.Append(dst, mti, f)
	}
	f.SetString(128, macPlaceholder)
	start := len(dst)
	out, err := m.spec.Append(dst, mti, f)
	if err != nil {
		return out, err
	}
	return out, m.mac.Sign(out[start:])
}

func (m *cardnetModel) framing() codec.Framing  { return codec.FrameBin2 }
func (m *cardnetModel) cancelUsesNewKey() bool  { return false }
func (m *cardnetModel) supports(op ipc.Op) bool { return op != ipc.OpInquiry }

func (m *cardnetModel) category(op ipc.Op, origCat wal.Category) wal.Category {
	switch op {
	case ipc.OpSale, ipc.OpAdvice:
		return wal.CategoryDebit
	case ipc.OpRefund:
		return wal.CategoryCredit
	case ipc.OpCancel:
		return reversalOf(origCat)
	}
	return wal.CategoryNone
}

// termKey packs DE41 (8 characters, space padded) into the matching key.
func (m *cardnetModel) termKey(terminal []byte) uint64 {
	var b [8]byte
	n := copy(b[:], terminal)
	for ; n < 8; n++ {
		b[n] = ' '
	}
	return binary.BigEndian.Uint64(b[:])
}

func appendN(dst []byte, v int, width int) []byte {
	var b [10]byte
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:width]...)
}

// de7 is the transmission date and time MMDDhhmmss (UTC).
func de7(dst []byte, now time.Time) []byte {
	now = now.UTC()
	dst = appendN(dst, int(now.Month()), 2)
	dst = appendN(dst, now.Day(), 2)
	dst = appendN(dst, now.Hour(), 2)
	dst = appendN(dst, now.Minute(), 2)
	return appendN(dst, now.Second(), 2)
}

// mmdd takes MMDD out of a YYYYMMDD business date.
func mmdd(date string) string {
	if len(date) != 8 {
		return "0000"
	}
	return date[4:]
}

func classOfMTI(mti []byte) msgClass {
	switch mti[1] {
	case '1', '2':
		// Function digit 2 is the advice (0220/0221), 3 its answer (0230):
		// both belong to the advice's key space.
		if mti[1] == '2' && (mti[2] == '2' || mti[2] == '3') {
			return classAdvice
		}
		return classFinancial
	case '4':
		return classReversal
	case '5':
		return classReconcile
	case '8':
		return classNetwork
	}
	return 0
}

func (m *cardnetModel) encodeRequest(dst []byte, r *outReq) ([]byte, matchKey, error) {
	if r.repeat && r.origMsg != nil {
		// 0221 / 0401: the same message with the repeat MTI.
		start := len(dst)
		dst = append(dst, r.origMsg...)
		if len(dst)-start < 4 {
			return dst, matchKey{}, errors.New("cardnet: stored message too short to repeat")
		}
		dst[start+3] = '1'
		if m.mac != nil {
			if err := m.mac.Sign(dst[start:]); err != nil {
				return dst, matchKey{}, err
			}
		}
		var msg codec.ISOMessage
		if err := m.spec.Decode(&msg, dst[start:]); err != nil {
			return dst, matchKey{}, err
		}
		return dst, matchKey{classOfMTI(msg.MTI()), m.termKey(msg.Get(41)), uint32(r.key), digitsDay(msg.Get(15))}, nil
	}
	var f codec.ISOFields
	var tbuf [10]byte
	var mti string
	switch r.op {
	case ipc.OpAuthorize:
		mti = "0100"
		f.SetString(3, "000000")
	case ipc.OpSale:
		mti = "0200"
		f.SetString(3, "000000")
	case ipc.OpRefund:
		mti = "0200"
		f.SetString(3, "200000")
	case ipc.OpAdvice:
		mti = "0220"
		f.SetString(3, "000000")
	case ipc.OpCancel:
		return m.encodeReversal(dst, r.origMsg, r.key, r.date, r.now, false, true, false)
	default:
		return dst, matchKey{}, fmt.Errorf("cardnet: operation %s has no message", r.op)
	}
	f.Set(2, r.pan)
	f.SetUint(4, uint64(r.amount))
	f.Set(7, de7(tbuf[:0], r.now))
	f.SetUint(11, uint64(r.key))
	local := r.now.Local()
	f.SetUint(12, uint64(local.Hour()*10000+local.Minute()*100+local.Second()))
	f.SetUint(13, uint64(int(local.Month())*100+local.Day()))
	if r.expiry != nil {
		f.Set(14, r.expiry)
	}
	f.SetString(15, mmdd(r.date))
	f.SetString(18, "5999")
	f.SetString(22, "012")
	f.SetString(25, "00")
	f.Set(32, m.acq)
	var rrn [12]byte
	f.Set(37, appendRRN(rrn[:0], r.date, r.key))
	term := r.terminal
	if len(term) == 0 {
		term = []byte("00000000")
	}
	f.Set(41, term)
	if len(r.merchant) > 0 {
		f.Set(42, r.merchant)
	}
	if r.currency != nil {
		f.Set(49, r.currency)
	} else {
		f.SetString(49, "392")
	}
	out, err := m.append(dst, mti, &f)
	if err != nil {
		return dst, matchKey{}, err
	}
	return out, matchKey{classOfMTI([]byte(mti)), m.termKey(term), r.key, digitsDay([]byte(mmdd(r.date)))}, nil
}

func (m *cardnetModel) rrn(dst []byte, date string, key uint32) []byte {
	if key == 0 {
		return nil
	}
	return appendRRN(dst, date, key)
}

// appendRRN builds the retrieval reference number: business date MMDD, then
// "00", then the STAN (12 characters).
func appendRRN(dst []byte, date string, key uint32) []byte {
	dst = append(dst, mmdd(date)...)
	dst = append(dst, '0', '0')
	return appendN(dst, int(key), 6)
}

// encodeReversal builds a 0400 (0401 when repeat) that reverses orig.
// System cancels reuse the original's STAN; an app cancel has its own.
func (m *cardnetModel) encodeReversal(dst []byte, origMsg []byte, key uint32, date string, now time.Time, repeat, ownKey, advice bool) ([]byte, matchKey, error) {
	var o codec.ISOMessage
	if err := m.spec.Decode(&o, origMsg); err != nil {
		return dst, matchKey{}, fmt.Errorf("cardnet: original message: %w", err)
	}
	stan, _ := o.Uint(11)
	if !ownKey {
		key = uint32(stan)
	}
	var f codec.ISOFields
	var tbuf [10]byte
	for _, de := range [...]int{2, 3, 4, 12, 13, 14, 18, 22, 25, 32, 37, 41, 42, 49} {
		if v := o.Get(de); v != nil {
			f.Set(de, v)
		}
	}
	f.Set(7, de7(tbuf[:0], now))
	f.SetUint(11, uint64(key))
	f.SetString(15, mmdd(date))
	var d90 [42]byte
	f.Set(90, codec.AppendDE90(d90[:0], o.MTI(), uint32(stan), o.Get(7), m.acq))
	mti := "0400"
	switch {
	case advice && repeat:
		mti = "0421"
	case advice:
		mti = "0420"
	case repeat:
		mti = "0401"
	}
	out, err := m.append(dst, mti, &f)
	if err != nil {
		return dst, matchKey{}, err
	}
	return out, matchKey{classReversal, m.termKey(o.Get(41)), key, digitsDay([]byte(mmdd(date)))}, nil
}

func (m *cardnetModel) encodeCancel(dst []byte, origMsg []byte, key uint32, date string, now time.Time, repeat, confirm bool) ([]byte, matchKey, error) {
	return m.encodeReversal(dst, origMsg, key, date, now, repeat, false, m.reversalAdvice)
}

// requestKey recomputes the matching key of a stored request.
func (m *cardnetModel) requestKey(msg []byte) (matchKey, error) {
	var o codec.ISOMessage
	if err := m.spec.Decode(&o, msg); err != nil {
		return matchKey{}, err
	}
	stan, _ := o.Uint(11)
	return matchKey{classOfMTI(o.MTI()), m.termKey(o.Get(41)), uint32(stan), digitsDay(o.Get(15))}, nil
}

func (m *cardnetModel) messageDate(msg []byte, ref string) (string, error) {
	var o codec.ISOMessage
	if err := m.spec.Decode(&o, msg); err != nil {
		return "", err
	}
	md := o.Get(15)
	if len(md) != 4 {
		return "", fmt.Errorf("DE15 %q", md)
	}
	return yearFor(string(md), ref), nil
}

var netCodes = [...]string{netSignon: "001", netSignoff: "002", netEcho: "301", netCutover: "201"}

func (m *cardnetModel) encodeNetwork(dst []byte, code netCode, key uint32, date string, now time.Time) ([]byte, matchKey, error) {
	var f codec.ISOFields
	var tbuf [10]byte
	f.Set(7, de7(tbuf[:0], now))
	f.SetUint(11, uint64(key))
	f.SetString(15, mmdd(date))
	f.SetString(70, netCodes[code])
	out, err := m.append(dst, "0800", &f)
	if err != nil {
		return dst, matchKey{}, err
	}
	return out, matchKey{classNetwork, 0, key, 0}, nil
}

// encodeNetworkReply answers a center-initiated 0800 (echo or cutover) with
// 0810 DE39 00, echoing DE7, DE11, DE15 and DE70.
func (m *cardnetModel) encodeNetworkReply(dst []byte, req []byte, now time.Time) ([]byte, error) {
	var o codec.ISOMessage
	if err := m.spec.Decode(&o, req); err != nil {
		return dst, err
	}
	var f codec.ISOFields
	for _, de := range [...]int{7, 11, 15, 70} {
		if v := o.Get(de); v != nil {
			f.Set(de, v)
		}
	}
	f.SetString(39, "00")
	return m.append(dst, "0810", &f)
}

func (m *cardnetModel) encodeReconcile(dst []byte, key uint32, date string, t wal.Totals, now time.Time) ([]byte, matchKey, error) {
	var f codec.ISOFields
	var tbuf [10]byte
	f.Set(7, de7(tbuf[:0], now))
	f.SetUint(11, uint64(key))
	f.SetString(15, mmdd(date))
	f.Set(32, m.acq)
	f.SetUint(74, uint64(t.CreditsCount))
	f.SetUint(75, uint64(t.CreditReversalsCount))
	f.SetUint(76, uint64(t.DebitsCount))
	f.SetUint(77, uint64(t.DebitReversalsCount))
	f.SetUint(86, uint64(t.CreditsAmount))
	f.SetUint(87, uint64(t.CreditReversalsAmount))
	f.SetUint(88, uint64(t.DebitsAmount))
	f.SetUint(89, uint64(t.DebitReversalsAmount))
	var d97 [17]byte
	net := t.DebitsAmount - t.DebitReversalsAmount - t.CreditsAmount + t.CreditReversalsAmount
	f.Set(97, codec.AppendDE97(d97[:0], net))
	out, err := m.append(dst, "0500", &f)
	if err != nil {
		return dst, matchKey{}, err
	}
	return out, matchKey{classReconcile, 0, key, 0}, nil
}

func (m *cardnetModel) decode(payload []byte, in *inbound) error {
	if m.mac != nil {
		// Never process a message that does not authenticate (I1 of trust).
		if err := m.mac.Verify(payload); err != nil {
			return fmt.Errorf("cardnet: %w", err)
		}
	}
	var msg codec.ISOMessage
	if err := m.spec.Decode(&msg, payload); err != nil {
		return err
	}
	mti := msg.MTI()
	stan, _ := msg.Uint(11)
	if mti[2] == '0' || mti[2] == '2' && mti[3] == '1' {
		// A request from the center: only network management is expected.
		if string(mti) != "0800" {
			return fmt.Errorf("cardnet: unexpected request MTI %s from the center", mti)
		}
		switch string(msg.Get(70)) {
		case "301":
			in.kind = inCenterEcho
		case "201":
			in.kind = inCenterCutover
			in.date = string(msg.Get(15))
		default:
			return fmt.Errorf("cardnet: unexpected 0800 DE70 %q from the center", msg.Get(70))
		}
		return nil
	}
	in.kind = inResponse
	cls := classOfMTI(mti)
	var term uint64
	var day uint32
	if cls == classFinancial || cls == classAdvice || cls == classReversal {
		term = m.termKey(msg.Get(41))
		day = digitsDay(msg.Get(15))
	}
	in.key = matchKey{cls, term, uint32(stan), day}
	code := msg.Get(39)
	in.codeLen = uint8(copy(in.code[:], code))
	in.approved = string(code) == "00"
	in.authLen = uint8(copy(in.auth[:], msg.Get(38)))
	switch cls {
	case classReversal:
		switch string(code) {
		case "00":
			in.cancel = cancelReversed
		case "25":
			in.cancel = cancelNothing
		}
	case classNetwork:
		in.date = string(msg.Get(15))
	case classReconcile:
		in.reconIn = string(msg.Get(66)) == "1"
		u := func(de int) int64 { v, _ := msg.Uint(de); return int64(v) }
		in.theirs = wal.Totals{
			CreditsCount: u(74), CreditReversalsCount: u(75), DebitsCount: u(76), DebitReversalsCount: u(77),
			CreditsAmount: u(86), CreditReversalsAmount: u(87), DebitsAmount: u(88), DebitReversalsAmount: u(89),
		}
	}
	return nil
}

// yearFor turns MMDD into YYYYMMDD, choosing the year that puts it closest
// to ref (a cutover on 31 Dec announces 0101 of the next year).
func yearFor(md string, ref string) string {
	if len(md) != 4 || len(ref) != 8 {
		return ""
	}
	rt, err := time.Parse("20060102", ref)
	if err != nil {
		return ""
	}
	best, bestDiff := "", time.Duration(1<<62)
	for _, y := range []int{rt.Year() - 1, rt.Year(), rt.Year() + 1} {
		cand := fmt.Sprintf("%04d%s", y, md)
		ct, err := time.Parse("20060102", cand)
		if err != nil {
			continue
		}
		d := ct.Sub(rt)
		if d < 0 {
			d = -d
		}
		if d < bestDiff {
			best, bestDiff = cand, d
		}
	}
	return best
}
