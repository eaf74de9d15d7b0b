package codec

import (
	"errors"
	"strings"
	"testing"
)

type fv struct {
	de int
	v  string
}

// cardnetSamples are realistic messages of every CARDNET MTI of DESIGN §2,
// with values already in wire form (padded) so they compare byte for byte.
var cardnetSamples = []struct {
	mti    string
	fields []fv
}{
	{"0100", auth(nil)},
	{"0110", []fv{{2, "4111111111111111"}, {3, "000000"}, {4, "000000012345"}, {7, "1123104500"}, {11, "000123"}, {15, "1123"}, {37, "632710000123"}, {38, "A1B2C3"}, {39, "00"}, {41, "TERM0001"}, {49, "392"}}},
	{"0200", fin("000000", []fv{{64, "0123456789ABCDEF"}})},
	{"0210", []fv{{3, "000000"}, {4, "000000012345"}, {7, "1123104500"}, {11, "000124"}, {15, "1123"}, {37, "632710000124"}, {38, "XYZ123"}, {39, "00"}, {41, "TERM0001"}, {49, "392"}}},
	{"0220", fin("200000", nil)},
	{"0221", fin("200000", nil)},
	{"0230", []fv{{3, "200000"}, {4, "000000012345"}, {7, "1123104500"}, {11, "000124"}, {15, "1123"}, {39, "00"}, {41, "TERM0001"}}},
	{"0400", rev(nil)},
	{"0401", rev(nil)},
	{"0410", []fv{{3, "000000"}, {4, "000000012345"}, {7, "1123104600"}, {11, "000125"}, {15, "1123"}, {39, "25"}, {41, "TERM0001"}, {90, "020000012411231045000000001234500000000000"}}},
	{"0420", rev(nil)},
	{"0421", rev(nil)},
	{"0430", []fv{{3, "000000"}, {4, "000000012345"}, {7, "1123104600"}, {11, "000125"}, {15, "1123"}, {39, "00"}, {41, "TERM0001"}, {90, "020000012411231045000000001234500000000000"}}},
	{"0500", recon(nil)},
	{"0510", recon([]fv{{39, "00"}, {66, "1"}})},
	{"0800", []fv{{7, "1123080000"}, {11, "000001"}, {70, "001"}}},
	{"0810", []fv{{7, "1123080000"}, {11, "000001"}, {39, "00"}, {70, "001"}}},
}

func auth(extra []fv) []fv {
	return append([]fv{{2, "4111111111111111"}, {3, "000000"}, {4, "000000012345"}, {7, "1123104500"}, {11, "000123"},
		{12, "194500"}, {13, "1123"}, {14, "2812"}, {15, "1123"}, {18, "5411"}, {22, "051"}, {25, "00"}, {32, "12345"},
		{37, "632710000123"}, {41, "TERM0001"}, {42, "MERCHANT0000001"}, {49, "392"}}, extra...)
}

func fin(pc string, extra []fv) []fv {
	f := auth(extra)
	f[1].v = pc
	return f
}

func rev(extra []fv) []fv {
	return append([]fv{{2, "4111111111111111"}, {3, "000000"}, {4, "000000012345"}, {7, "1123104600"}, {11, "000125"},
		{15, "1123"}, {32, "12345"}, {41, "TERM0001"}, {42, "MERCHANT0000001"}, {49, "392"},
		{90, "020000012411231045000000001234500000000000"}}, extra...)
}

func recon(extra []fv) []fv {
	f := []fv{{7, "1124000500"}, {11, "000900"}, {15, "1123"}, {32, "12345"}}
	f = append(f, extra...)
	return append(f, []fv{{74, "0000000001"}, {75, "0000000000"}, {76, "0000000012"}, {77, "0000000001"},
		{86, "0000000000000500"}, {87, "0000000000000000"}, {88, "0000000000120000"}, {89, "0000000000010000"},
		{97, "C0000000000109500"}, {128, "FEDCBA9876543210"}}...)
}

// bench0100 is the message of BenchmarkCodec0100 (DE 2,3,4,7,11,12,13,14,18,22,25,32,37,41,42,49).
var bench0100 = []fv{{2, "4111111111111111"}, {3, "000000"}, {4, "000000012345"}, {7, "1123104500"}, {11, "000123"},
	{12, "194500"}, {13, "1123"}, {14, "2812"}, {18, "5411"}, {22, "051"}, {25, "00"}, {32, "12345"},
	{37, "632710000123"}, {41, "TERM0001"}, {42, "MERCHANT0000001"}, {49, "392"}}

func setAll(f *ISOFields, fields []fv) {
	f.Reset()
	for _, x := range fields {
		f.SetString(x.de, x.v)
	}
}

func mustEncode(t tb, mti string, fields []fv) []byte {
	t.Helper()
	var f ISOFields
	setAll(&f, fields)
	b, err := CardnetSpec().Append(nil, mti, &f)
	if err != nil {
		t.Fatalf("encode %s: %v", mti, err)
	}
	return b
}

// wantErr checks errors.Is and, when field >= 0, the FieldError's Field.
func wantErr(t *testing.T, err, sentinel error, field int) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("got error %v, want %v", err, sentinel)
	}
	if !strings.HasPrefix(err.Error(), "codec: ") {
		t.Fatalf("error %q lacks the codec: prefix", err)
	}
	if field < 0 {
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FieldError", err)
	}
	if fe.Field != field {
		t.Fatalf("error %v: Field = %d, want %d", err, fe.Field, field)
	}
}

// tb is what the helpers need from *testing.T, *testing.B and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}
