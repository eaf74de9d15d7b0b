package engine

import (
	"fmt"
	"time"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/wal"
)

// cafisModel maps app operations onto the CAFIS model (DESIGN §2,
// codec/doc.go):
//
//	sale → 0100 op 10    refund → 0100 op 20    authorize → 0100 op 30
//	cancel → 0200 (app-initiated cancel of an approved sales record)
//	timeout → 0300 取消指令, then 0400 取消確認指令 (retransmission) until known
//
// Every record's header carries the cut-target date; 通番 are per center.
// Advices do not exist in the CAFIS model.
type cafisModel struct {
	spec     *codec.CafisSpec
	merchant string

	fOp, fPAN, fExpiry, fAmount, fCurrency, fTerminal int
	fRespAuth                                         int
	fCnlSerial, fCnlDate, fCnlAmount, fCnlPAN         int
	fCmdSerial, fCmdDate, fCmdAmount                  int
	fCfmSerial, fCfmDate                              int
	fCfmStatus                                        int
	fSalesAmount                                      int
}

func newCafisModel(merchant string) *cafisModel {
	s := codec.CafisBuiltin()
	m := &cafisModel{spec: s, merchant: merchant}
	f := s.MustFieldIndex
	m.fOp, m.fPAN, m.fExpiry = f(codec.KindSalesReq, "op"), f(codec.KindSalesReq, "pan"), f(codec.KindSalesReq, "expiry")
	m.fAmount, m.fCurrency, m.fTerminal = f(codec.KindSalesReq, "amount"), f(codec.KindSalesReq, "currency"), f(codec.KindSalesReq, "terminal_id")
	m.fRespAuth = f(codec.KindSalesResp, "auth_code")
	m.fCnlSerial, m.fCnlDate = f(codec.KindCancelReq, "orig_serial"), f(codec.KindCancelReq, "orig_date")
	m.fCnlAmount, m.fCnlPAN = f(codec.KindCancelReq, "amount"), f(codec.KindCancelReq, "pan")
	m.fCmdSerial, m.fCmdDate, m.fCmdAmount = f(codec.KindCancelCommand, "orig_serial"), f(codec.KindCancelCommand, "orig_date"), f(codec.KindCancelCommand, "amount")
	m.fCfmSerial, m.fCfmDate = f(codec.KindCancelConfirm, "orig_serial"), f(codec.KindCancelConfirm, "orig_date")
	m.fCfmStatus = f(codec.KindCancelConfirmResp, "status")
	m.fSalesAmount = f(codec.KindSalesReq, "amount")
	return m
}

func (m *cafisModel) framing() codec.Framing { return codec.FrameASCII4 }
func (m *cafisModel) cancelUsesNewKey() bool { return true }

// rrn: the CAFIS model has no retrieval reference number (its key is the 通番).
func (m *cafisModel) rrn([]byte, string, uint32) []byte { return nil }

func (m *cafisModel) supports(op ipc.Op) bool {
	return op == ipc.OpSale || op == ipc.OpRefund || op == ipc.OpAuthorize || op == ipc.OpCancel
}

func (m *cafisModel) category(op ipc.Op, origCat wal.Category) wal.Category {
	switch op {
	case ipc.OpSale:
		return wal.CategoryDebit
	case ipc.OpRefund:
		return wal.CategoryCredit
	case ipc.OpCancel:
		return reversalOf(origCat)
	}
	return wal.CategoryNone
}

func (m *cafisModel) header(kind string, key uint32, date string, now time.Time, repeat bool) codec.CafisHeader {
	var h codec.CafisHeader
	h.SetKind(kind)
	h.SetMerchant(m.merchant)
	h.Serial = key
	h.Retrans = repeat
	copy(h.Date[:], date)
	local := now.Local()
	appendN(h.Time[:0], local.Hour()*10000+local.Minute()*100+local.Second(), 6)
	return h
}

func (m *cafisModel) encodeRequest(dst []byte, r *outReq) ([]byte, matchKey, error) {
	var f codec.CafisFields
	var h codec.CafisHeader
	switch r.op {
	case ipc.OpSale, ipc.OpRefund, ipc.OpAuthorize:
		h = m.header(codec.KindSalesReq, r.key, r.date, r.now, r.repeat)
		op := uint64(10)
		if r.op == ipc.OpRefund {
			op = 20
		} else if r.op == ipc.OpAuthorize {
			op = 30
		}
		f.SetUint(m.fOp, op)
		f.Set(m.fPAN, r.pan)
		f.Set(m.fExpiry, r.expiry)
		f.SetUint(m.fAmount, uint64(r.amount))
		if r.currency != nil {
			f.Set(m.fCurrency, r.currency)
		} else {
			f.SetString(m.fCurrency, "392")
		}
		f.Set(m.fTerminal, r.terminal)
	case ipc.OpCancel:
		var o codec.CafisRecord
		if err := m.spec.Decode(&o, r.origMsg); err != nil {
			return dst, matchKey{}, fmt.Errorf("cafis: original record: %w", err)
		}
		h = m.header(codec.KindCancelReq, r.key, r.date, r.now, r.repeat)
		f.SetUint(m.fCnlSerial, uint64(o.Serial()))
		f.Set(m.fCnlDate, o.Date())
		f.Set(m.fCnlAmount, o.Field(m.fSalesAmount))
		f.Set(m.fCnlPAN, o.FieldTrim(m.fPAN))
	default:
		return dst, matchKey{}, fmt.Errorf("cafis: operation %s is not supported", r.op)
	}
	out, err := m.spec.Append(dst, &h, &f)
	if err != nil {
		return dst, matchKey{}, err
	}
	return out, matchKey{classFinancial, 0, r.key, digitsDay([]byte(r.date))}, nil
}

// encodeCancel builds the 取消指令 (or, with confirm, the 取消確認指令) about
// the original record origMsg, under the cancel's own 通番 key.
func (m *cafisModel) encodeCancel(dst []byte, origMsg []byte, key uint32, date string, now time.Time, repeat, confirm bool) ([]byte, matchKey, error) {
	var o codec.CafisRecord
	if err := m.spec.Decode(&o, origMsg); err != nil {
		return dst, matchKey{}, fmt.Errorf("cafis: original record: %w", err)
	}
	var f codec.CafisFields
	var h codec.CafisHeader
	cls := classCancelCmd
	if confirm {
		cls = classConfirm
		h = m.header(codec.KindCancelConfirm, key, date, now, repeat)
		f.SetUint(m.fCfmSerial, uint64(o.Serial()))
		f.Set(m.fCfmDate, o.Date())
	} else {
		h = m.header(codec.KindCancelCommand, key, date, now, repeat)
		f.SetUint(m.fCmdSerial, uint64(o.Serial()))
		f.Set(m.fCmdDate, o.Date())
		amt := o.Field(m.fSalesAmount)
		if o.KindIs(codec.KindCancelReq) {
			amt = o.Field(m.fCnlAmount)
		}
		f.Set(m.fCmdAmount, amt)
	}
	out, err := m.spec.Append(dst, &h, &f)
	if err != nil {
		return dst, matchKey{}, err
	}
	return out, matchKey{cls, 0, key, digitsDay([]byte(date))}, nil
}

func (m *cafisModel) requestKey(msg []byte) (matchKey, error) {
	var o codec.CafisRecord
	if err := m.spec.Decode(&o, msg); err != nil {
		return matchKey{}, err
	}
	return matchKey{classFinancial, 0, o.Serial(), digitsDay(o.Date())}, nil
}

func (m *cafisModel) messageDate(msg []byte, _ string) (string, error) {
	var o codec.CafisRecord
	if err := m.spec.Decode(&o, msg); err != nil {
		return "", err
	}
	return string(o.Date()), nil
}

var cafisNetKinds = [...]string{netSignon: codec.KindSignonReq, netSignoff: codec.KindSignoffReq, netEcho: codec.KindEchoReq}

func (m *cafisModel) encodeNetwork(dst []byte, code netCode, key uint32, date string, now time.Time) ([]byte, matchKey, error) {
	if int(code) >= len(cafisNetKinds) || cafisNetKinds[code] == "" {
		return dst, matchKey{}, fmt.Errorf("cafis: no network message for function %d", code)
	}
	h := m.header(cafisNetKinds[code], key, date, now, false)
	var f codec.CafisFields
	out, err := m.spec.Append(dst, &h, &f)
	if err != nil {
		return dst, matchKey{}, err
	}
	return out, matchKey{classNetwork, 0, key, 0}, nil
}

func (m *cafisModel) encodeNetworkReply(dst []byte, req []byte, now time.Time) ([]byte, error) {
	var o codec.CafisRecord
	if err := m.spec.Decode(&o, req); err != nil {
		return dst, err
	}
	h := o.Header()
	h.SetKind(m.spec.ResponseKind(string(o.Kind())))
	h.SetResult(codec.ResultApproved)
	var f codec.CafisFields
	return m.spec.Append(dst, &h, &f)
}

func (m *cafisModel) encodeReconcile([]byte, uint32, string, wal.Totals, time.Time) ([]byte, matchKey, error) {
	return nil, matchKey{}, fmt.Errorf("cafis: the model has no reconciliation message")
}

func (m *cafisModel) decode(payload []byte, in *inbound) error {
	var r codec.CafisRecord
	if err := m.spec.Decode(&r, payload); err != nil {
		return err
	}
	kind := r.Kind()
	res := r.Result()
	in.codeLen = uint8(copy(in.code[:], res))
	in.approved = string(res) == codec.ResultApproved
	var cls msgClass
	switch string(kind) {
	case codec.KindEchoReq:
		in.kind = inCenterEcho
		return nil
	case codec.KindSignonResp, codec.KindSignoffResp, codec.KindEchoResp:
		cls = classNetwork
		in.date = string(r.Date())
	case codec.KindSalesResp:
		cls = classFinancial
		in.authLen = uint8(copy(in.auth[:], r.FieldTrim(m.fRespAuth)))
	case codec.KindCancelResp, codec.KindCancelCommandResp:
		cls = classFinancial
		if string(kind) == codec.KindCancelCommandResp {
			cls = classCancelCmd
		}
		switch string(res) {
		case codec.ResultApproved:
			in.cancel = cancelReversed
		case codec.ResultNothingToCancel:
			in.cancel = cancelNothing
		}
	case codec.KindCancelConfirmResp:
		cls = classConfirm
		switch string(r.Field(m.fCfmStatus)) {
		case "C":
			in.cancel = cancelReversed
		case "S":
			in.cancel = cancelStands
		case "N":
			in.cancel = cancelNothing
		}
	default:
		return fmt.Errorf("cafis: unexpected record kind %s from the center", kind)
	}
	in.kind = inResponse
	var day uint32
	if cls != classNetwork {
		day = digitsDay(r.Date())
	}
	in.key = matchKey{cls, 0, r.Serial(), day}
	return nil
}
