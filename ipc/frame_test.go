package ipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// rawFrame assembles a frame byte by byte, bypassing Builder, so tests can
// produce frames Builder refuses to make.
func rawFrame(length int, version, kind byte, session, corr uint64, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(length))
	b = append(b, version, kind, 0, 0)
	b = binary.BigEndian.AppendUint64(b, session)
	b = binary.BigEndian.AppendUint64(b, corr)
	return append(b, body...)
}

func rawField(tag Tag, n int, v string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(tag))
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	return append(b, v...)
}

// goodFrame is a frame with a correct length over body.
func goodFrame(kind Kind, session, corr uint64, body []byte) []byte {
	return rawFrame(minLength+len(body), Version, byte(kind), session, corr, body)
}

func codeOf(t *testing.T, err error) Code {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *ipc.Error", err)
	}
	return e.Code
}

func TestSplit(t *testing.T) {
	ping := goodFrame(KindPing, 0, 7, nil)
	twoFields := goodFrame(KindRequest, 1, 2, append(rawField(TagOp, 4, "sale"), rawField(TagRef, 1, "x")...))
	tests := []struct {
		name  string
		buf   []byte
		frame []byte
		code  Code // 0: no error
	}{
		{name: "empty", buf: nil},
		{name: "3 bytes of prefix", buf: ping[:3]},
		{name: "header incomplete", buf: ping[:10]},
		{name: "one byte short", buf: ping[:len(ping)-1]},
		{name: "exact", buf: ping, frame: ping},
		{name: "followed by more", buf: append(append([]byte{}, twoFields...), ping[:5]...), frame: twoFields},
		{name: "length 19", buf: rawFrame(19, 1, 9, 0, 0, nil), code: CodeMalformed},
		{name: "length 0", buf: []byte{0, 0, 0, 0}, code: CodeMalformed},
		{name: "length 65537 refused from the prefix alone", buf: []byte{0, 1, 0, 1}, code: CodeMalformed},
		{name: "length 2^32-1", buf: []byte{0xff, 0xff, 0xff, 0xff}, code: CodeMalformed},
		{name: "length 65536 is legal, incomplete", buf: []byte{0, 1, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, n, err := Split(tt.buf)
			if tt.code != 0 {
				if c := codeOf(t, err); c != tt.code {
					t.Fatalf("code %d, want %d", c, tt.code)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("errors.Is(%v, ErrMalformed) = false", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(frame, tt.frame) || n != len(tt.frame) {
				t.Fatalf("got (%x, %d), want (%x, %d)", frame, n, tt.frame, len(tt.frame))
			}
			if frame != nil && &frame[0] != &tt.buf[0] {
				t.Fatal("frame is a copy, want a view of buf")
			}
		})
	}
}

func TestSplitMaxFrame(t *testing.T) {
	body := rawField(TagErrorText, MaxFrame-minLength-fieldHeader, strings.Repeat("x", MaxFrame-minLength-fieldHeader))
	f := goodFrame(KindError, 0, 0, body)
	frame, n, err := Split(f)
	if err != nil || n != MaxFrame+lenPrefix || len(frame) != n {
		t.Fatalf("Split of a MaxFrame frame: %d %v", n, err)
	}
	var fr Frame
	if err := fr.Parse(frame); err != nil {
		t.Fatal(err)
	}
}

func TestParse(t *testing.T) {
	okBody := append(rawField(TagOp, 4, "sale"), rawField(999, 3, "new")...)
	tests := []struct {
		name string
		b    []byte
		code Code
		text string // substring of the error text
	}{
		{name: "ping", b: goodFrame(KindPing, 0, 1, nil)},
		{name: "fields and unknown tag", b: goodFrame(KindRequest, 3, 4, okBody)},
		{name: "empty value", b: goodFrame(KindRequest, 3, 4, rawField(TagRef, 0, ""))},
		{name: "short", b: goodFrame(KindPing, 0, 1, nil)[:23], code: CodeMalformed, text: "header"},
		{name: "length small", b: rawFrame(19, 1, 9, 0, 0, []byte{0}), code: CodeMalformed, text: "below 20"},
		{name: "length large", b: rawFrame(MaxFrame+1, 1, 9, 0, 0, nil), code: CodeMalformed, text: "above"},
		{name: "length mismatch", b: rawFrame(21, 1, 9, 0, 0, nil), code: CodeMalformed, text: "does not match"},
		{name: "truncated field header", b: goodFrame(KindRequest, 0, 0, []byte{0, 2, 0}), code: CodeMalformed, text: "truncated field header"},
		{name: "value past end", b: goodFrame(KindRequest, 0, 0, rawField(TagRef, 5, "abc")), code: CodeMalformed, text: "beyond"},
		{name: "second field past end", b: goodFrame(KindRequest, 0, 0, append(rawField(TagOp, 4, "sale"), rawField(TagRef, 9, "abc")...)), code: CodeMalformed, text: "beyond"},
		{name: "version 2", b: rawFrame(minLength, 2, 9, 0, 5, nil), code: CodeUnsupportedVersion},
		{name: "version 0", b: rawFrame(minLength, 0, 9, 0, 5, nil), code: CodeUnsupportedVersion},
		{name: "kind 0", b: goodFrame(0, 0, 5, nil), code: CodeUnknownKind},
		{name: "kind 11", b: goodFrame(11, 0, 5, nil), code: CodeUnknownKind},
		{name: "kind 11 with bad field is malformed", b: goodFrame(11, 0, 5, []byte{1}), code: CodeMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Frame
			err := f.Parse(tt.b)
			if tt.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if c := codeOf(t, err); c != tt.code {
				t.Fatalf("code %d (%v), want %d", c, err, tt.code)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("error %q does not contain %q", err, tt.text)
			}
			if tt.code != CodeMalformed && f.Correlation() != 5 {
				t.Fatalf("after code %d the header must stay readable; correlation %d", tt.code, f.Correlation())
			}
		})
	}
}

func TestFrameAccessors(t *testing.T) {
	body := append(rawField(TagOp, 4, "sale"), rawField(77, 2, "zz")...)
	body = append(body, rawField(TagRef, 0, "")...)
	body = append(body, rawField(TagOp, 6, "refund")...)
	b := goodFrame(KindRequest, 0x0102030405060708, 0xfffffffffffffffe, body)
	var f Frame
	if err := f.Parse(b); err != nil {
		t.Fatal(err)
	}
	if f.Version() != 1 || f.Kind() != KindRequest || f.Flags() != 0 ||
		f.Session() != 0x0102030405060708 || f.Correlation() != 0xfffffffffffffffe {
		t.Fatalf("header: v%d %v %d %x %x", f.Version(), f.Kind(), f.Flags(), f.Session(), f.Correlation())
	}
	if got := string(f.Field(TagOp)); got != "sale" {
		t.Fatalf("first occurrence wins: got %q", got)
	}
	if v := f.Field(TagRef); v == nil || len(v) != 0 {
		t.Fatalf("present empty field: %v", v)
	}
	if v := f.Field(TagPAN); v != nil {
		t.Fatalf("absent field: %v", v)
	}
	var tags []Tag
	it := f.Fields()
	for tag, _, ok := it.Next(); ok; tag, _, ok = it.Next() {
		tags = append(tags, tag)
	}
	if want := []Tag{TagOp, 77, TagRef, TagOp}; !equalTags(tags, want) {
		t.Fatalf("tags %v, want %v", tags, want)
	}
	if !bytes.Equal(f.Bytes(), b) {
		t.Fatal("Bytes")
	}
	// A value view must not let append overwrite the next field.
	v := f.Field(TagOp)
	_ = append(v, 'X')
	if string(f.Field(77)) != "zz" {
		t.Fatal("append to a value view overwrote the next field")
	}
}

func equalTags(a, b []Tag) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBuilder(t *testing.T) {
	dst := []byte("prefix")
	b := Begin(dst, KindResponse, 9, 10)
	b.Str(TagResult, "approved")
	b.Bytes(TagAuthCode, []byte("A1B2C3"))
	b.Uint(TagSTAN, 0)
	b.Uint(TagAmount, 18446744073709551615)
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if string(out[:6]) != "prefix" {
		t.Fatal("prefix lost")
	}
	frame, n, err := Split(out[6:])
	if err != nil || n != len(out)-6 {
		t.Fatalf("Split: %d %v", n, err)
	}
	var f Frame
	if err := f.Parse(frame); err != nil {
		t.Fatal(err)
	}
	if f.Kind() != KindResponse || f.Session() != 9 || f.Correlation() != 10 {
		t.Fatal("header")
	}
	for tag, want := range map[Tag]string{TagResult: "approved", TagAuthCode: "A1B2C3", TagSTAN: "0", TagAmount: "18446744073709551615"} {
		if got := string(f.Field(tag)); got != want {
			t.Errorf("tag %d: %q, want %q", tag, got, want)
		}
	}
}

func TestBuilderErrors(t *testing.T) {
	dst := []byte("keep")
	b := Begin(dst, KindError, 0, 0)
	b.Str(TagErrorText, strings.Repeat("x", MaxFieldValue+1))
	b.Str(TagErrorCode, "1") // ignored after the first error
	out, err := b.Finish()
	if !errors.Is(err, ErrFieldTooLarge) || string(out) != "keep" {
		t.Fatalf("field too large: %q %v", out, err)
	}

	b = Begin(dst, KindError, 0, 0)
	b.Str(TagErrorText, strings.Repeat("x", MaxFieldValue))
	b.Str(TagErrorText, "y")
	out, err = b.Finish()
	if !errors.Is(err, ErrFrameTooLarge) || string(out) != "keep" {
		t.Fatalf("frame too large: %q %v", out, err)
	}

	// Exactly MaxFrame builds.
	b = Begin(nil, KindError, 0, 0)
	b.Str(TagErrorText, strings.Repeat("x", MaxFrame-minLength-fieldHeader))
	if out, err = b.Finish(); err != nil || len(out) != MaxFrame+lenPrefix {
		t.Fatalf("MaxFrame: %d %v", len(out), err)
	}
}

func TestAppendError(t *testing.T) {
	out := AppendError(nil, 4, 5, CodeInvalidField, "field pan: must be 12-19 digits")
	var f Frame
	if err := f.Parse(out); err != nil {
		t.Fatal(err)
	}
	e := ErrorOf(&f)
	if f.Kind() != KindError || f.Session() != 4 || f.Correlation() != 5 ||
		e.Code != CodeInvalidField || e.Text != "field pan: must be 12-19 digits" {
		t.Fatalf("%v %d %d %+v", f.Kind(), f.Session(), f.Correlation(), e)
	}
	if !errors.Is(e, ErrInvalidField) || errors.Is(e, ErrBusy) {
		t.Fatal("errors.Is by code")
	}
	if got, want := e.Error(), "ipc: 15 invalid field: field pan: must be 12-19 digits"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}

	long := AppendError(nil, 0, 0, CodeInternal, strings.Repeat("z", 100000))
	if err := f.Parse(long); err != nil || len(f.Field(TagErrorText)) != MaxErrorText {
		t.Fatalf("long text: %v %d", err, len(f.Field(TagErrorText)))
	}
	noText := AppendError(nil, 0, 0, CodeBusy, "")
	if err := f.Parse(noText); err != nil || f.Field(TagErrorText) != nil {
		t.Fatal("empty text must omit tag 31")
	}
	if got := ErrorOf(&f).Error(); got != "ipc: 14 busy: a bound was reached, retry later" {
		t.Fatalf("%q", got)
	}

	for _, body := range [][]byte{nil, rawField(TagErrorCode, 2, "x1"), rawField(TagErrorCode, 1, "0"), rawField(TagErrorCode, 5, "70000")} {
		if err := f.Parse(goodFrame(KindError, 0, 0, body)); err != nil {
			t.Fatal(err)
		}
		if e := ErrorOf(&f); e.Code != CodeMalformed {
			t.Fatalf("bad code field %q: %+v", body, e)
		}
	}
}

func TestCodes(t *testing.T) {
	all := []Code{1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}
	sentinels := []*Error{ErrMalformed, ErrUnsupportedVersion, ErrUnknownKind, ErrUnknownCenter,
		ErrNotSignedOn, ErrUnknownSession, ErrRecoveryRequired, ErrBusy, ErrInvalidField,
		ErrTimeout, ErrShuttingDown, ErrReferenceReused, ErrUnknownReference, ErrUnauthorized, ErrInternal}
	seen := map[string]bool{}
	for i, c := range all {
		if !c.Known() || strings.HasPrefix(c.String(), "code ") || seen[c.String()] {
			t.Errorf("code %d: %q", c, c.String())
		}
		seen[c.String()] = true
		if sentinels[i].Code != c {
			t.Errorf("sentinel %d has code %d", i, sentinels[i].Code)
		}
		if c.ClosesConnection() != (c == CodeMalformed) {
			t.Errorf("code %d ClosesConnection", c)
		}
		err := error(&Error{Code: c, Text: "t"})
		for j, s := range sentinels {
			if errors.Is(err, s) != (i == j) {
				t.Errorf("errors.Is(code %d, sentinel of %d)", c, s.Code)
			}
		}
	}
	if Code(4).Known() || Code(4).String() != "code 4" {
		t.Error("code 4 is not a v1 code")
	}
	if errors.Is(&Error{Code: CodeBusy, Text: "a"}, &Error{Code: CodeBusy, Text: "b"}) {
		t.Error("a target with text matches only that text")
	}
	if errors.Is(ErrBusy, errors.New("x")) {
		t.Error("non-ipc target")
	}
}

func TestKindOpResult(t *testing.T) {
	for k := Kind(0); k < 12; k++ {
		if k.Known() != (k >= 1 && k <= 10) || (k.Known() && k.String() == "Kind(?)") {
			t.Errorf("kind %d", k)
		}
	}
	for o := OpAuthorize; o <= OpInquiry; o++ {
		p, ok := ParseOp([]byte(o.String()))
		if !ok || p != o {
			t.Errorf("op %d %q", o, o.String())
		}
	}
	if _, ok := ParseOp([]byte("Sale")); ok {
		t.Error("ops are lower case")
	}
	if Op(0).String() != "" || Op(9).String() != "" {
		t.Error("invalid op names")
	}
	for _, r := range []Result{ResultApproved, ResultDeclined, ResultCancelled, ResultTimeout, ResultFailed} {
		if p, ok := ParseResult([]byte(r)); !ok || p != r {
			t.Errorf("result %q", r)
		}
	}
	if _, ok := ParseResult([]byte("ok")); ok {
		t.Error("unknown result")
	}
}

func TestParseUint(t *testing.T) {
	for _, tt := range []struct {
		in string
		v  uint64
		ok bool
	}{{"0", 0, true}, {"000123", 123, true}, {"999999999999", 999999999999, true},
		{"", 0, false}, {"-1", 0, false}, {"1 ", 0, false}, {"12345678901234567890", 0, false}} {
		v, ok := ParseUint([]byte(tt.in))
		if v != tt.v || ok != tt.ok {
			t.Errorf("ParseUint(%q) = %d %v", tt.in, v, ok)
		}
	}
}

func TestHeaderAfterMalformed(t *testing.T) {
	var f Frame
	if err := f.Parse(goodFrame(KindRequest, 9, 9, []byte{1})); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	if f.Version() != 0 || f.Kind() != 0 || f.Flags() != 0 || f.Session() != 0 || f.Correlation() != 0 || f.Field(TagOp) != nil || f.Bytes() != nil {
		t.Fatal("a malformed frame must read as empty")
	}
	it := f.Fields()
	if _, _, ok := it.Next(); ok {
		t.Fatal("fields of a malformed frame")
	}
}
