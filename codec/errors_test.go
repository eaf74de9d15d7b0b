package codec

import (
	"errors"
	"testing"
)

// Every sentinel is reachable from the public API, and each reaches the
// caller wrapped in a *FieldError with the codec: prefix.
func TestEverySentinelReachable(t *testing.T) {
	iso, cafis := CardnetSpec(), CafisBuiltin()
	decodeISO := func(s string) error { var m ISOMessage; return iso.Decode(&m, []byte(s)) }
	decodeCafis := func(s string) error { var r CafisRecord; return cafis.Decode(&r, []byte(s)) }
	_, _, errTooLarge := FrameBin2.Split([]byte{0xff, 0xff}, 100)
	_, errBadSpec := LoadISOSpec([]byte("name: x"))
	var f ISOFields
	f.SetString(2, "44444444444444444444")
	_, errTooLong := iso.Append(nil, "0100", &f)
	h := CafisHeader{}
	h.SetKind(KindSalesResp)
	copy(h.Date[:], "20261123")
	copy(h.Time[:], "000000")
	_, errMissing := cafis.Append(nil, &h, &CafisFields{})
	got := map[error]error{
		ErrShortFrame:    decodeISO("01"),
		ErrBadLength:     decodeISO("0100" + "4000000000000000" + "AB"),
		ErrFrameTooLarge: errTooLarge,
		ErrFieldTooLong:  errTooLong,
		ErrNotNumeric:    decodeISO("0100" + "2000000000000000" + "12345X"),
		ErrBadCharacter:  decodeISO("0100" + "0000000000800000" + "TERM\x7f001"),
		ErrUnknownField:  decodeCafis("9999" + "0" + "             " + "000001" + "20261123" + "000000" + "000" + "       "),
		ErrBadBitmap:     decodeISO("0100" + "Z000000000000000"),
		ErrBadMTI:        decodeISO("ABCD" + "0000000000000000"),
		ErrMissingField:  errMissing,
		ErrBadValue:      decodeCafis("0010" + "9" + "             " + "000001" + "20261123" + "000000" + "000" + "       "),
		ErrBadSpec:       errBadSpec,
	}
	if len(got) != len(sentinels) {
		t.Fatalf("%d sentinels covered, %d declared", len(got), len(sentinels))
	}
	for sentinel, err := range got {
		var fe *FieldError
		if !errors.Is(err, sentinel) || !errors.As(err, &fe) || fe.Unwrap() != sentinel {
			t.Errorf("want %v, got %v", sentinel, err)
		}
		wantErr(t, err, sentinel, -1)
	}
}
