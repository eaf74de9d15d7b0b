package codec

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// One row per element type of the model: what a value becomes on the wire.
func TestISOElementTypes(t *testing.T) {
	s := CardnetSpec()
	for _, tc := range []struct {
		name string
		de   int
		set  func(f *ISOFields)
		wire string // element bytes including LL/LLL prefix
		get  string // ISOMessage.Get
	}{
		{"fixed n zero-left", 4, func(f *ISOFields) { f.SetString(4, "12345") }, "000000012345", "000000012345"},
		{"fixed n from uint", 11, func(f *ISOFields) { f.SetUint(11, 42) }, "000042", "000042"},
		{"fixed n exact", 3, func(f *ISOFields) { f.Set(3, []byte("200000")) }, "200000", "200000"},
		{"fixed n1", 66, func(f *ISOFields) { f.SetUint(66, 2) }, "2", "2"},
		{"fixed n42", 90, func(f *ISOFields) { f.SetString(90, strings.Repeat("7", 42)) }, strings.Repeat("7", 42), strings.Repeat("7", 42)},
		{"fixed an space-right", 38, func(f *ISOFields) { f.SetString(38, "AB1") }, "AB1   ", "AB1   "},
		{"fixed ans space-right", 41, func(f *ISOFields) { f.SetString(41, "T-1") }, "T-1     ", "T-1     "},
		{"LL n", 2, func(f *ISOFields) { f.SetString(2, "4111111111111111") }, "164111111111111111", "4111111111111111"},
		{"LL n from uint", 32, func(f *ISOFields) { f.SetUint(32, 12345) }, "0512345", "12345"},
		{"LL n empty", 32, func(f *ISOFields) { f.SetString(32, "") }, "00", ""},
		{"LL ans", 35, func(f *ISOFields) { f.SetString(35, "4111111111111111=2812") }, "214111111111111111=2812", "4111111111111111=2812"},
		{"LLL ans", 48, func(f *ISOFields) { f.SetString(48, "hello, world") }, "012hello, world", "hello, world"},
		{"LLL ans max", 48, func(f *ISOFields) { f.SetString(48, strings.Repeat("x", 999)) }, "999" + strings.Repeat("x", 999), strings.Repeat("x", 999)},
		{"b as hex", 64, func(f *ISOFields) { f.SetString(64, "0123456789ABCDEF") }, "0123456789ABCDEF", "0123456789ABCDEF"},
		{"b secondary", 128, func(f *ISOFields) { f.SetString(128, "00000000FFFFFFFF") }, "00000000FFFFFFFF", "00000000FFFFFFFF"},
		{"x+n credit", 97, func(f *ISOFields) { f.Set(97, AppendDE97(nil, 1500)) }, "C0000000000001500", "C0000000000001500"},
		{"x+n debit", 97, func(f *ISOFields) { f.Set(97, AppendDE97(nil, -7)) }, "D0000000000000007", "D0000000000000007"},
		{"x+n fee", 28, func(f *ISOFields) { f.SetString(28, "D00000100") }, "D00000100", "D00000100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f ISOFields
			tc.set(&f)
			b, err := s.Append(nil, "0100", &f)
			if err != nil {
				t.Fatal(err)
			}
			bmLen := 16
			if tc.de > 64 {
				bmLen = 32
			}
			if got := string(b[4+bmLen:]); got != tc.wire {
				t.Fatalf("wire %q, want %q", got, tc.wire)
			}
			var m ISOMessage
			if err := s.Decode(&m, b); err != nil {
				t.Fatal(err)
			}
			if got := string(m.Get(tc.de)); got != tc.get || !m.Has(tc.de) {
				t.Fatalf("Get(%d) = %q, want %q", tc.de, got, tc.get)
			}
		})
	}
}

func bitmapHex(fields []fv) string {
	var bm [2]uint64
	for _, x := range fields {
		bm[(x.de-1)/64] |= 1 << uint(63-(x.de-1)%64)
	}
	if bm[1] != 0 {
		bm[0] |= 1 << 63
		return fmt.Sprintf("%016X%016X", bm[0], bm[1])
	}
	return fmt.Sprintf("%016X", bm[0])
}

// Every CARDNET MTI of DESIGN §2: encode, check the layout, decode, compare.
func TestISOMessages(t *testing.T) {
	s := CardnetSpec()
	for _, tc := range cardnetSamples {
		t.Run(tc.mti, func(t *testing.T) {
			b := mustEncode(t, tc.mti, tc.fields)
			// Independently built expectation: MTI, bitmap, elements in order.
			want := tc.mti + bitmapHex(tc.fields)
			for de := 2; de <= 128; de++ {
				for _, x := range tc.fields {
					if x.de != de {
						continue
					}
					e, _ := s.Element(de)
					switch e.Length {
					case "LL":
						want += fmt.Sprintf("%02d", len(x.v))
					case "LLL":
						want += fmt.Sprintf("%03d", len(x.v))
					}
					want += x.v
				}
			}
			if string(b) != want {
				t.Fatalf("encoded\n%q\nwant\n%q", b, want)
			}
			var m ISOMessage
			if err := s.Decode(&m, b); err != nil {
				t.Fatal(err)
			}
			if string(m.MTI()) != tc.mti || !bytes.Equal(m.Raw(), b) {
				t.Fatalf("MTI %q", m.MTI())
			}
			n := 0
			for de, v := range m.Fields() {
				n++
				found := false
				for _, x := range tc.fields {
					if x.de == de {
						found = true
						if string(v) != x.v {
							t.Fatalf("DE%d = %q, want %q", de, v, x.v)
						}
					}
				}
				if !found {
					t.Fatalf("unexpected DE%d", de)
				}
			}
			if n != len(tc.fields) {
				t.Fatalf("%d fields decoded, want %d", n, len(tc.fields))
			}
			if m.Has(1) {
				t.Fatal("DE1 (secondary bitmap) must not be reported as a data element")
			}
		})
	}
}

func TestISOSecondaryBitmapOnlyWhenNeeded(t *testing.T) {
	b := mustEncode(t, "0800", []fv{{7, "1123080000"}, {11, "000001"}})
	if !bytes.HasPrefix(b, []byte("08000220000000000000")) || len(b) != 4+16+10+6 {
		t.Fatalf("primary-only message %q", b)
	}
	b = mustEncode(t, "0800", []fv{{7, "1123080000"}, {11, "000001"}, {70, "301"}})
	if !bytes.HasPrefix(b, []byte("0800"+"8220000000000000"+"0400000000000000")) {
		t.Fatalf("secondary bitmap missing: %q", b)
	}
}

func TestISOUint(t *testing.T) {
	var m ISOMessage
	if err := CardnetSpec().Decode(&m, mustEncode(t, "0500", recon(nil))); err != nil {
		t.Fatal(err)
	}
	if v, ok := m.Uint(88); !ok || v != 120000 {
		t.Fatalf("Uint(88) = %d %v", v, ok)
	}
	if _, ok := m.Uint(97); ok {
		t.Fatal("Uint of an x+n element must fail")
	}
	if _, ok := m.Uint(2); ok {
		t.Fatal("Uint of an absent element must fail")
	}
	if m.Get(3) != nil || m.Has(0) || m.Has(129) || m.Get(-5) != nil {
		t.Fatal("absent or out-of-range elements must be nil/false")
	}
	net, err := ParseDE97(m.Get(97))
	if err != nil || net != 109500 {
		t.Fatalf("ParseDE97 = %d, %v", net, err)
	}
}

// A reused ISOMessage shows nothing of the previous message, also after a failed decode.
func TestISOMessageReuse(t *testing.T) {
	s := CardnetSpec()
	var m ISOMessage
	if err := s.Decode(&m, mustEncode(t, "0100", auth(nil))); err != nil {
		t.Fatal(err)
	}
	if err := s.Decode(&m, mustEncode(t, "0800", []fv{{7, "1123080000"}, {11, "000001"}, {70, "001"}})); err != nil {
		t.Fatal(err)
	}
	if m.Has(2) || m.Get(41) != nil || string(m.MTI()) != "0800" {
		t.Fatal("stale fields after reuse")
	}
	if err := s.Decode(&m, []byte("0100XYZ")); err == nil {
		t.Fatal("want error")
	}
	if m.Has(7) || m.MTI() != nil || m.Raw() != nil {
		t.Fatal("failed decode must leave the message empty")
	}
	var zero ISOMessage
	if zero.Has(2) || zero.Get(2) != nil || zero.MTI() != nil {
		t.Fatal("zero message must be empty")
	}
}

func TestISOFieldsResetAndDel(t *testing.T) {
	var f ISOFields
	setAll(&f, auth(nil))
	f.Del(2)
	f.Del(0)
	if f.Has(2) || !f.Has(3) || f.Has(200) {
		t.Fatal("Del/Has")
	}
	f.Reset()
	f.SetString(70, "301")
	b, err := CardnetSpec().Append(nil, "0800", &f)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "0800"+"8000000000000000"+"0400000000000000"+"301" {
		t.Fatalf("after Reset: %q", b)
	}
	f.SetString(1, "x") // DE1 is the bitmap, never settable
	if _, err := CardnetSpec().Append(nil, "0800", &f); err == nil {
		t.Fatal("DE1 must be rejected")
	}
}

func TestISODecodeErrors(t *testing.T) {
	s := CardnetSpec()
	good := mustEncode(t, "0100", auth(nil)) // 0100 7238...
	for _, tc := range []struct {
		name     string
		in       string
		sentinel error
		field    int
	}{
		{"empty", "", ErrShortFrame, 0},
		{"short MTI", "01", ErrShortFrame, 0},
		{"MTI not digits", "01A0" + "0000000000000000", ErrBadMTI, 0},
		{"short bitmap", "01007238", ErrShortFrame, 0},
		{"bitmap not hex", "0100G000000000000000", ErrBadBitmap, 0},
		{"empty secondary", "0100" + "8000000000000000" + "0000000000000000", ErrBadBitmap, 0},
		{"short secondary", "0100" + "8000000000000000" + "04", ErrShortFrame, 0},
		{"DE65 tertiary", "0100" + "8000000000000000" + "8000000000000000", ErrUnknownField, 65},
		{"undefined DE", "0100" + "8000000000000000" + "0000000000000001", ErrUnknownField, 128}, // 128 defined: short
		{"undefined DE67", "0100" + "8000000000000000" + "2000000000000000", ErrUnknownField, 67},
		{"LL prefix not digits", "0100" + "4000000000000000" + "1X4111", ErrBadLength, 2},
		{"LL over max", "0100" + "4000000000000000" + "20" + strings.Repeat("4", 20), ErrFieldTooLong, 2},
		{"LL prefix cut", "0100" + "4000000000000000" + "1", ErrShortFrame, 2},
		{"LL value cut", "0100" + "4000000000000000" + "16411111", ErrShortFrame, 2},
		{"n not numeric", "0100" + "2000000000000000" + "00A000", ErrNotNumeric, 3},
		{"an bad char", "0100" + "0000000004000000" + "A1B2C#", ErrBadCharacter, 38},
		{"ans control char", "0100" + "0000000000800000" + "TERM\x00012", ErrBadCharacter, 41},
		{"b not hex", "0100" + "0000000000000001" + "0123456789ABCDEG", ErrBadCharacter, 64},
		{"x+n bad sign", "0100" + "0000001000000000" + "X00000100", ErrBadValue, 28},
		{"x+n not numeric", "0100" + "0000001000000000" + "C0000010A", ErrNotNumeric, 28},
		{"fixed cut", "0100" + "1000000000000000" + "0000001", ErrShortFrame, 4},
		{"trailing bytes", string(good) + "0", ErrBadLength, 0},
		{"too large", "0100" + "0000000000000000" + strings.Repeat("0", 70000), ErrFrameTooLarge, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m ISOMessage
			err := s.Decode(&m, []byte(tc.in))
			if tc.name == "undefined DE" {
				tc.sentinel = ErrShortFrame // 128 is defined; the value is missing
			}
			wantErr(t, err, tc.sentinel, tc.field)
		})
	}
}

func TestISODecodeErrorOffsets(t *testing.T) {
	var m ISOMessage
	err := CardnetSpec().Decode(&m, []byte("0100"+"2000000000000000"+"00A000"))
	fe := err.(*FieldError)
	if fe.Offset != 22 || fe.Name == "" {
		t.Fatalf("offset %d name %q", fe.Offset, fe.Name)
	}
	want := "codec: not numeric: field 3 (processing code) at offset 22"
	if err.Error() != want {
		t.Fatalf("%q, want %q", err.Error(), want)
	}
}

func TestISOEncodeErrors(t *testing.T) {
	s := CardnetSpec()
	for _, tc := range []struct {
		name     string
		mti      string
		set      func(f *ISOFields)
		sentinel error
		field    int
	}{
		{"MTI short", "010", func(f *ISOFields) {}, ErrBadMTI, 0},
		{"MTI letters", "01X0", func(f *ISOFields) {}, ErrBadMTI, 0},
		{"DE out of range", "0100", func(f *ISOFields) { f.SetUint(129, 1) }, ErrUnknownField, 129},
		{"DE undefined", "0100", func(f *ISOFields) { f.SetString(67, "1") }, ErrUnknownField, 67},
		{"fixed too long", "0100", func(f *ISOFields) { f.SetString(3, "0000000") }, ErrFieldTooLong, 3},
		{"uint too long", "0100", func(f *ISOFields) { f.SetUint(11, 1000000) }, ErrFieldTooLong, 11},
		{"LL too long", "0100", func(f *ISOFields) { f.SetString(2, strings.Repeat("4", 20)) }, ErrFieldTooLong, 2},
		{"LL uint too long", "0100", func(f *ISOFields) { f.SetUint(32, 123456789012) }, ErrFieldTooLong, 32},
		{"n letters", "0100", func(f *ISOFields) { f.SetString(4, "12a") }, ErrNotNumeric, 4},
		{"an symbol", "0110", func(f *ISOFields) { f.SetString(39, "0!") }, ErrBadCharacter, 39},
		{"b not hex", "0100", func(f *ISOFields) { f.SetString(64, "XYZ") }, ErrBadCharacter, 64},
		{"b short, no padding", "0100", func(f *ISOFields) { f.SetString(64, "ABCD") }, ErrBadLength, 64},
		{"x+n no sign", "0500", func(f *ISOFields) { f.SetString(97, "00000000000000001") }, ErrBadValue, 97},
		{"x+n uint", "0500", func(f *ISOFields) { f.SetUint(97, 1) }, ErrBadValue, 97},
		{"x+n short", "0500", func(f *ISOFields) { f.SetString(97, "C1") }, ErrBadLength, 97},
		{"x+n digits", "0500", func(f *ISOFields) { f.SetString(97, "C000000000000000X") }, ErrNotNumeric, 97},
		{"DE97 overflow", "0500", func(f *ISOFields) { f.Set(97, AppendDE97(nil, -1<<63)) }, ErrFieldTooLong, 97},
		{"DE90 part too long", "0400", func(f *ISOFields) {
			f.Set(90, AppendDE90(nil, []byte("0200"), 1, []byte("11231045001"), []byte("1")))
		}, ErrFieldTooLong, 90},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f ISOFields
			tc.set(&f)
			dst := []byte("keep")
			out, err := s.Append(dst, tc.mti, &f)
			wantErr(t, err, tc.sentinel, tc.field)
			if string(out) != "keep" {
				t.Fatalf("dst changed on error: %q", out)
			}
		})
	}
}

func TestDE90(t *testing.T) {
	v := AppendDE90(nil, []byte("0200"), 124, []byte("1123104500"), []byte("12345"))
	if string(v) != "0200"+"000124"+"1123104500"+"00000012345"+"00000000000" {
		t.Fatalf("%q", v)
	}
	mti, stan, de7, acq, err := ParseDE90(v)
	if err != nil || string(mti) != "0200" || stan != 124 || string(de7) != "1123104500" || string(acq) != "00000012345" {
		t.Fatalf("%q %d %q %q %v", mti, stan, de7, acq, err)
	}
	_, _, _, _, err = ParseDE90(v[:41])
	wantErr(t, err, ErrBadLength, DEOriginalData)
	bad := bytes.Clone(v)
	bad[7] = 'x'
	_, _, _, _, err = ParseDE90(bad)
	wantErr(t, err, ErrNotNumeric, DEOriginalData)
}

func TestDE97(t *testing.T) {
	for _, n := range []int64{0, 1, -1, 109500, -109500, MaxDE97, -MaxDE97} {
		v := AppendDE97(nil, n)
		if len(v) != 17 {
			t.Fatalf("%d: %q", n, v)
		}
		got, err := ParseDE97(v)
		if err != nil || got != n {
			t.Fatalf("%d: %q -> %d %v", n, v, got, err)
		}
	}
	if string(AppendDE97(nil, 0)) != "C0000000000000000" || string(AppendDE97(nil, -5)) != "D0000000000000005" {
		t.Fatal("sign convention: C >= 0, D < 0")
	}
	_, err := ParseDE97([]byte("C1"))
	wantErr(t, err, ErrBadLength, DENetSettlement)
	_, err = ParseDE97([]byte("X0000000000000001"))
	wantErr(t, err, ErrBadValue, DENetSettlement)
	_, err = ParseDE97([]byte("C00000000000000-1"))
	wantErr(t, err, ErrNotNumeric, DENetSettlement)
}

func TestMaskPAN(t *testing.T) {
	for in, want := range map[string]string{
		"4111111111111111":    "411111******1111",
		"4111111111111111   ": "411111******1111",
		"4111111111111":       "411111***1111",
		"1234567890123456789": "123456*********6789",
		"411111111111":        "********1111",
		"41111111":            "****1111",
		"4111111":             "*******",
		"":                    "",
		"   ":                 "",
		"4":                   "*",
	} {
		if got := MaskPANString(in); got != want {
			t.Errorf("MaskPANString(%q) = %q, want %q", in, got, want)
		}
		if got := string(MaskPAN([]byte("x"), []byte(in))); got != "x"+want {
			t.Errorf("MaskPAN appends: %q", got)
		}
	}
}

// The built-in spec cannot exceed a 2-byte frame; a user spec with many
// large elements can, and Append refuses to produce such a message.
func TestISOEncodeTooLarge(t *testing.T) {
	var y strings.Builder
	y.WriteString("name: big\nmti: {encoding: ascii, length: 4}\nbitmap: {encoding: hex}\nelements:\n")
	for de := 2; de <= 128; de++ {
		if de != 65 {
			fmt.Fprintf(&y, "  - {de: %d, name: e%d, length: LLL, content: ans, max: 999}\n", de, de)
		}
	}
	s, err := LoadISOSpec([]byte(y.String()))
	if err != nil {
		t.Fatal(err)
	}
	var f ISOFields
	big := strings.Repeat("x", 999)
	for de := 2; de <= 80; de++ {
		if de != 65 {
			f.SetString(de, big)
		}
	}
	_, err = s.Append(nil, "0100", &f)
	wantErr(t, err, ErrFrameTooLarge, 0)
}
