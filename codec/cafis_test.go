package codec

import (
	"fmt"
	"strings"
	"testing"
)

// cafisSamples holds body values for every built-in kind, in layout order.
var cafisSamples = map[string][]string{
	KindSignonReq: nil, KindSignonResp: nil, KindSignoffReq: nil, KindSignoffResp: nil, KindEchoReq: nil, KindEchoResp: nil,
	KindSalesReq:          {"10", "4111111111111111", "2812", "12345", "392", "TERM0001"},
	KindSalesResp:         {"10", "12345", "A1B2C3"},
	KindCancelReq:         {"42", "20261123", "12345", "4111111111111111"},
	KindCancelResp:        {"42", "20261123", "12345"},
	KindCancelCommand:     {"42", "20261123", "12345"},
	KindCancelCommandResp: {"42", "20261123", "12345"},
	KindCancelConfirm:     {"42", "20261123"},
	KindCancelConfirmResp: {"42", "20261123", "C", "12345"},
}

// cafisPadded is what the sample values become on the wire.
func cafisPadded(t tb, s *CafisSpec, kind string, vals []string) []string {
	names := s.FieldNames(kind)
	out := make([]string, len(vals))
	for i, v := range vals {
		k := s.kindPos([]byte(kind))
		f := s.kinds[k].fields[i]
		if f.name != names[i] {
			t.Fatal("FieldNames order")
		}
		if f.content == contentN {
			out[i] = strings.Repeat("0", f.length-len(v)) + v
		} else {
			out[i] = v + strings.Repeat(" ", f.length-len(v))
		}
	}
	return out
}

func cafisHeader(kind string, serial uint32) CafisHeader {
	var h CafisHeader
	h.SetKind(kind)
	h.SetMerchant("MERCHANT01")
	h.Serial = serial
	copy(h.Date[:], "20261123")
	copy(h.Time[:], "104500")
	return h
}

func encodeCafis(t tb, s *CafisSpec, h *CafisHeader, vals []string) []byte {
	t.Helper()
	var f CafisFields
	kind := string(h.Kind[:])
	for i, name := range s.FieldNames(kind) {
		f.SetString(s.MustFieldIndex(kind, name), vals[i])
	}
	b, err := s.Append(nil, h, &f)
	if err != nil {
		t.Fatalf("encode %s: %v", kind, err)
	}
	return b
}

func TestCafisSalesRequestBytes(t *testing.T) {
	s := CafisBuiltin()
	h := cafisHeader(KindSalesReq, 42)
	b := encodeCafis(t, s, &h, cafisSamples[KindSalesReq])
	want := "0100" + "0" + "MERCHANT01   " + "000042" + "20261123" + "104500" + "000" + "       " +
		"10" + "4111111111111111   " + "2812" + "000000012345" + "392" + "TERM0001"
	if string(b) != want {
		t.Fatalf("\n%q\n%q", b, want)
	}
	if len(b) != 48+48 || s.RecordLen(KindSalesReq) != len(b) {
		t.Fatalf("length %d", len(b))
	}
}

func TestCafisKinds(t *testing.T) {
	s := CafisBuiltin()
	if got := len(s.Kinds()); got != len(cafisSamples) {
		t.Fatalf("%d kinds, want %d", got, len(cafisSamples))
	}
	for _, kind := range s.Kinds() {
		t.Run(kind, func(t *testing.T) {
			vals, ok := cafisSamples[kind]
			if !ok {
				t.Fatalf("no sample for kind %s", kind)
			}
			h := cafisHeader(kind, 999999)
			h.Retrans = true
			h.SetResult(ResultNothingToCancel)
			b := encodeCafis(t, s, &h, vals)
			var r CafisRecord
			if err := s.Decode(&r, b); err != nil {
				t.Fatal(err)
			}
			if !r.KindIs(kind) || string(r.Kind()) != kind || !r.Retrans() || r.Serial() != 999999 ||
				string(r.Date()) != "20261123" || string(r.Time()) != "104500" || string(r.Result()) != "025" ||
				string(r.Merchant()) != "MERCHANT01   " || string(r.Raw()) != string(b) {
				t.Fatalf("header %q", b[:48])
			}
			if r.Header() != h {
				t.Fatalf("Header() = %+v, want %+v", r.Header(), h)
			}
			padded := cafisPadded(t, s, kind, vals)
			for i, name := range s.FieldNames(kind) {
				idx := s.MustFieldIndex(kind, name)
				if string(r.Field(idx)) != padded[i] {
					t.Fatalf("%s = %q, want %q", name, r.Field(idx), padded[i])
				}
				trim := string(r.FieldTrim(idx))
				if trim != strings.TrimRight(padded[i], " ") {
					t.Fatalf("FieldTrim(%s) = %q", name, trim)
				}
			}
		})
	}
	if s.ResponseKind(KindSalesReq) != KindSalesResp || s.ResponseKind(KindSalesResp) != "" ||
		s.ResponseKind(KindCancelConfirm) != KindCancelConfirmResp || s.KindName(KindCancelCommand) != "cancel command" ||
		s.KindName("9999") != "" || s.RecordLen("9999") != -1 || s.FieldNames("9999") != nil || s.Name() == "" {
		t.Fatal("spec introspection")
	}
}

func TestCafisFieldAccessors(t *testing.T) {
	s := CafisBuiltin()
	h := cafisHeader(KindCancelConfirmResp, 7)
	b := encodeCafis(t, s, &h, cafisSamples[KindCancelConfirmResp])
	var r CafisRecord
	if err := s.Decode(&r, b); err != nil {
		t.Fatal(err)
	}
	amount := s.MustFieldIndex(KindCancelConfirmResp, "amount")
	if v, ok := r.FieldUint(amount); !ok || v != 12345 {
		t.Fatal(v, ok)
	}
	status := s.MustFieldIndex(KindCancelConfirmResp, "status")
	if r.Field(status)[0] != StatusCancelled {
		t.Fatal("status")
	}
	// An index of another kind reads nothing, even at the same position.
	salesAmount := s.MustFieldIndex(KindSalesReq, "op")
	if r.Field(salesAmount) != nil || r.FieldTrim(salesAmount) != nil {
		t.Fatal("field of another kind must be nil")
	}
	if _, ok := r.FieldUint(salesAmount); ok {
		t.Fatal("FieldUint of another kind")
	}
	if r.Field(0) != nil || r.Field(-1) != nil || r.Field(1<<20) != nil {
		t.Fatal("invalid index")
	}
	if _, err := s.FieldIndex(KindSalesReq, "nope"); err == nil {
		t.Fatal("unknown field")
	} else {
		wantErr(t, err, ErrUnknownField, 0)
	}
	if _, err := s.FieldIndex("0999", "op"); err == nil {
		t.Fatal("unknown kind")
	}
	var zero CafisRecord
	if zero.Kind() != nil || zero.Retrans() || zero.Field(amount) != nil || zero.Header() != (CafisHeader{}) || zero.KindIs("0100") {
		t.Fatal("zero record must be empty")
	}
	// SetUint right-aligns; zero Result encodes as 000.
	var f CafisFields
	f.SetUint(s.MustFieldIndex(KindCancelConfirm, "orig_serial"), 42)
	f.SetUint(s.MustFieldIndex(KindCancelConfirm, "orig_date"), 20261123)
	h = CafisHeader{Serial: 1}
	h.SetKind(KindCancelConfirm)
	copy(h.Date[:], "20261123")
	copy(h.Time[:], "000000")
	out, err := s.Append(nil, &h, &f)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "04000             00000120261123000000000       00004220261123" {
		t.Fatalf("%q", out)
	}
}

func TestCafisDecodeErrors(t *testing.T) {
	s := CafisBuiltin()
	h := cafisHeader(KindSalesReq, 1)
	good := string(encodeCafis(t, s, &h, cafisSamples[KindSalesReq]))
	at := func(off int, c string) string { return good[:off] + c + good[off+len(c):] }
	opIdx := s.MustFieldIndex(KindSalesReq, "op")
	panIdx := s.MustFieldIndex(KindSalesReq, "pan")
	for _, tc := range []struct {
		name     string
		in       string
		sentinel error
		field    int
		offset   int
	}{
		{"short header", good[:47], ErrShortFrame, 0, 47},
		{"unknown kind", at(0, "0999"), ErrUnknownField, 0, 0},
		{"retrans flag", at(4, "2"), ErrBadValue, 0, 4},
		{"merchant char", at(7, "#"), ErrBadCharacter, 0, 7},
		{"serial", at(20, "x"), ErrNotNumeric, 0, 18},
		{"date", at(30, " "), ErrNotNumeric, 0, 30},
		{"time", at(33, "A"), ErrNotNumeric, 0, 33},
		{"result", at(40, "-"), ErrNotNumeric, 0, 40},
		{"short body", good[:len(good)-1], ErrShortFrame, 0, len(good) - 1},
		{"long body", good + " ", ErrBadLength, 0, len(good)},
		{"op not numeric", at(49, "X"), ErrNotNumeric, opIdx, 49},
		{"pan bad char", at(55, "*"), ErrBadCharacter, panIdx, 55},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r CafisRecord
			err := s.Decode(&r, []byte(tc.in))
			wantErr(t, err, tc.sentinel, tc.field)
			if fe := err.(*FieldError); fe.Offset != tc.offset {
				t.Fatalf("offset %d, want %d (%v)", fe.Offset, tc.offset, err)
			}
			if r.Raw() != nil || r.Kind() != nil {
				t.Fatal("failed decode must leave the record empty")
			}
		})
	}
	// The reserved bytes are not interpreted.
	var r CafisRecord
	if err := s.Decode(&r, []byte(at(41, "XXXXXXX"))); err != nil {
		t.Fatal(err)
	}
}

func TestCafisEncodeErrors(t *testing.T) {
	s := CafisBuiltin()
	kind := KindSalesReq
	idx := func(name string) int { return s.MustFieldIndex(kind, name) }
	full := func(f *CafisFields) {
		for i, name := range s.FieldNames(kind) {
			f.SetString(idx(name), cafisSamples[kind][i])
		}
	}
	for _, tc := range []struct {
		name     string
		hdr      func(h *CafisHeader)
		set      func(f *CafisFields)
		sentinel error
		field    int
	}{
		{"unknown kind", func(h *CafisHeader) { h.SetKind("0999") }, full, ErrUnknownField, 0},
		{"merchant char", func(h *CafisHeader) { h.Merchant[0] = '\n' }, full, ErrBadCharacter, 0},
		{"serial too big", func(h *CafisHeader) { h.Serial = 1000000 }, full, ErrFieldTooLong, 0},
		{"date unset", func(h *CafisHeader) { h.Date = [8]byte{} }, full, ErrNotNumeric, 0},
		{"time", func(h *CafisHeader) { h.Time[0] = 'x' }, full, ErrNotNumeric, 0},
		{"result", func(h *CafisHeader) { h.SetResult("0A0") }, full, ErrNotNumeric, 0},
		{"missing field", nil, func(f *CafisFields) { full(f); f.Reset(); f.SetString(idx("op"), "10") }, ErrMissingField, idx("pan")},
		{"too long", nil, func(f *CafisFields) { full(f); f.SetString(idx("pan"), strings.Repeat("4", 20)) }, ErrFieldTooLong, idx("pan")},
		{"uint too long", nil, func(f *CafisFields) { full(f); f.SetUint(idx("op"), 100) }, ErrFieldTooLong, idx("op")},
		{"not numeric", nil, func(f *CafisFields) { full(f); f.Set(idx("amount"), []byte("12a")) }, ErrNotNumeric, idx("amount")},
		{"an symbol", nil, func(f *CafisFields) { full(f); f.SetString(idx("terminal_id"), "T-1") }, ErrBadCharacter, idx("terminal_id")},
		{"field of another kind", nil, func(f *CafisFields) { f.SetString(s.MustFieldIndex(KindSalesResp, "op"), "10") }, ErrUnknownField, 0},
		{"mixed kinds", nil, func(f *CafisFields) { full(f); f.SetString(s.MustFieldIndex(KindSalesResp, "op"), "10") }, ErrUnknownField, s.MustFieldIndex(KindSalesResp, "op")},
		{"bad index", nil, func(f *CafisFields) { full(f); f.SetUint(0, 1) }, ErrUnknownField, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := cafisHeader(kind, 1)
			if tc.hdr != nil {
				tc.hdr(&h)
			}
			var f CafisFields
			tc.set(&f)
			out, err := s.Append([]byte("keep"), &h, &f)
			wantErr(t, err, tc.sentinel, tc.field)
			if string(out) != "keep" {
				t.Fatalf("dst changed on error: %q", out)
			}
		})
	}
	// Kinds without a body take nil fields; a kind with a body does not.
	h := cafisHeader(KindEchoReq, 3)
	if b, err := s.Append(nil, &h, nil); err != nil || len(b) != 48 {
		t.Fatal(err)
	}
	h = cafisHeader(KindSalesResp, 3)
	_, err := s.Append(nil, &h, nil)
	wantErr(t, err, ErrMissingField, s.MustFieldIndex(KindSalesResp, "op"))
}

// The record lengths documented in doc.go.
func TestCafisRecordLengths(t *testing.T) {
	s := CafisBuiltin()
	for kind, want := range map[string]int{
		KindSignonReq: 48, KindSignonResp: 48, KindSignoffReq: 48, KindSignoffResp: 48, KindEchoReq: 48, KindEchoResp: 48,
		KindSalesReq: 96, KindSalesResp: 68, KindCancelReq: 93, KindCancelResp: 74,
		KindCancelCommand: 74, KindCancelCommandResp: 74, KindCancelConfirm: 62, KindCancelConfirmResp: 75,
	} {
		if got := s.RecordLen(kind); got != want {
			t.Errorf("%s: record length %d, doc says %d", kind, got, want)
		}
	}
}

func TestCafisErrorNamesKindAndField(t *testing.T) {
	s := CafisBuiltin()
	h := cafisHeader(KindSalesReq, 1)
	b := encodeCafis(t, s, &h, cafisSamples[KindSalesReq])
	b[49] = 'X'
	var r CafisRecord
	err := s.Decode(&r, b)
	want := fmt.Sprintf("codec: not numeric: field %d (0100.op) at offset 49", s.MustFieldIndex(KindSalesReq, "op"))
	if err == nil || err.Error() != want {
		t.Fatalf("%v, want %q", err, want)
	}
}
