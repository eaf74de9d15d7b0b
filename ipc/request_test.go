package ipc

import (
	"errors"
	"strings"
	"testing"
)

type kv struct {
	tag Tag
	val string
}

func buildRequest(t testing.TB, fields ...kv) *Frame {
	t.Helper()
	b := Begin(nil, KindRequest, 1, 2)
	for _, f := range fields {
		b.Str(f.tag, f.val)
	}
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	if err := f.Parse(out); err != nil {
		t.Fatal(err)
	}
	return &f
}

func sale() []kv {
	return []kv{{TagOp, "sale"}, {TagRef, "R-0001"}, {TagPAN, "4999990000000001"}, {TagExpiry, "2812"},
		{TagAmount, "1500"}, {TagCurrency, "392"}, {TagTerminal, "T0000001"}, {TagMerchant, "M00000000000001"}}
}

// with replaces (or, with drop, removes) a tag in a field list.
func with(fields []kv, tag Tag, val string, drop bool) []kv {
	var out []kv
	found := false
	for _, f := range fields {
		if f.tag == tag {
			found = true
			if drop {
				continue
			}
			f.val = val
		}
		out = append(out, f)
	}
	if !found && !drop {
		out = append(out, kv{tag, val})
	}
	return out
}

func TestRequestViewValid(t *testing.T) {
	var v RequestView
	if err := v.Parse(buildRequest(t, sale()...)); err != nil {
		t.Fatal(err)
	}
	if v.Op != OpSale || string(v.Ref) != "R-0001" || string(v.PAN) != "4999990000000001" ||
		string(v.Expiry) != "2812" || string(v.Amount) != "1500" || v.AmountMinor != 1500 ||
		string(v.Currency) != "392" || string(v.Terminal) != "T0000001" ||
		string(v.Merchant) != "M00000000000001" || v.OrigRef != nil || v.Center != nil {
		t.Fatalf("%+v", v)
	}

	cases := map[string][]kv{
		"authorize zero amount":      with(with(sale(), TagOp, "authorize", false), TagAmount, "0", false),
		"refund no terminal":         with(with(sale(), TagOp, "refund", false), TagTerminal, "", true),
		"advice no merchant":         with(with(sale(), TagOp, "advice", false), TagMerchant, "", true),
		"cancel":                     {{TagOp, "cancel"}, {TagRef, "R-2"}, {TagOrigRef, "R-0001"}},
		"inquiry":                    {{TagOp, "inquiry"}, {TagRef, "R-0001"}},
		"PAN 12":                     with(sale(), TagPAN, "123456789012", false),
		"PAN 19":                     with(sale(), TagPAN, "1234567890123456789", false),
		"ref 32 with space":          with(sale(), TagRef, strings.Repeat("a", 31)+" ", false),
		"amount 12 digits":           with(sale(), TagAmount, "999999999999", false),
		"center ignored":             with(sale(), TagCenter, "anything", false),
		"unknown tag ignored":        append(sale(), kv{500, "\x00\xff"}),
		"repeated tag: first counts": append(sale(), kv{TagPAN, "bad"}),
		"expiry month 01":            with(sale(), TagExpiry, "0001", false),
	}
	for name, fields := range cases {
		t.Run(name, func(t *testing.T) {
			var v RequestView
			if err := v.Parse(buildRequest(t, fields...)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRequestViewErrors(t *testing.T) {
	cancel := []kv{{TagOp, "cancel"}, {TagRef, "R-2"}, {TagOrigRef, "R-0001"}}
	tests := []struct {
		name   string
		fields []kv
		text   string
	}{
		{"op missing", with(sale(), TagOp, "", true), "field op: missing"},
		{"op unknown", with(sale(), TagOp, "void", false), "field op: unknown"},
		{"op empty", with(sale(), TagOp, "", false), "field op: unknown"},
		{"ref missing", with(sale(), TagRef, "", true), "field ref: missing"},
		{"ref empty", with(sale(), TagRef, "", false), "field ref: must be"},
		{"ref 33", with(sale(), TagRef, strings.Repeat("a", 33), false), "field ref: must be"},
		{"ref control char", with(sale(), TagRef, "a\nb", false), "field ref: must be"},
		{"ref non-ASCII", with(sale(), TagRef, "参照", false), "field ref: must be"},
		{"pan missing", with(sale(), TagPAN, "", true), "field pan: missing"},
		{"pan 11", with(sale(), TagPAN, "12345678901", false), "field pan: must be"},
		{"pan 20", with(sale(), TagPAN, "12345678901234567890", false), "field pan: must be"},
		{"pan letter", with(sale(), TagPAN, "49999900000000x1", false), "field pan: must be"},
		{"pan on cancel checked", with(cancel, TagPAN, "12", false), "field pan: must be"},
		{"expiry missing", with(sale(), TagExpiry, "", true), "field expiry: missing"},
		{"expiry 3", with(sale(), TagExpiry, "281", false), "field expiry: must be"},
		{"expiry month 13", with(sale(), TagExpiry, "2813", false), "field expiry: must be"},
		{"expiry month 00", with(sale(), TagExpiry, "2800", false), "field expiry: must be"},
		{"expiry letter", with(sale(), TagExpiry, "28A2", false), "field expiry: must be"},
		{"amount missing", with(sale(), TagAmount, "", true), "field amount: missing"},
		{"amount empty", with(sale(), TagAmount, "", false), "field amount: must be"},
		{"amount 13", with(sale(), TagAmount, "1000000000000", false), "field amount: must be"},
		{"amount negative", with(sale(), TagAmount, "-5", false), "field amount: must be"},
		{"amount decimal", with(sale(), TagAmount, "1.50", false), "field amount: must be"},
		{"currency missing", with(sale(), TagCurrency, "", true), "field currency: missing"},
		{"currency alpha", with(sale(), TagCurrency, "JPY", false), "field currency: must be"},
		{"currency 4", with(sale(), TagCurrency, "0392", false), "field currency: must be"},
		{"terminal 9", with(sale(), TagTerminal, "T00000001", false), "field terminal: must be"},
		{"terminal empty", with(sale(), TagTerminal, "", false), "field terminal: must be"},
		{"merchant 16", with(sale(), TagMerchant, strings.Repeat("M", 16), false), "field merchant: must be"},
		{"merchant tab", with(sale(), TagMerchant, "M\t1", false), "field merchant: must be"},
		{"cancel without orig", with(cancel, TagOrigRef, "", true), "field orig_ref: missing"},
		{"orig ref 33", with(cancel, TagOrigRef, strings.Repeat("o", 33), false), "field orig_ref: must be"},
		{"inquiry without ref", []kv{{TagOp, "inquiry"}}, "field ref: missing"},
		{"authorize without pan", with(with(sale(), TagOp, "authorize", false), TagPAN, "", true), "field pan: missing"},
		{"refund without currency", with(with(sale(), TagOp, "refund", false), TagCurrency, "", true), "field currency: missing"},
		{"advice without expiry", with(with(sale(), TagOp, "advice", false), TagExpiry, "", true), "field expiry: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v RequestView
			err := v.Parse(buildRequest(t, tt.fields...))
			if !errors.Is(err, ErrInvalidField) {
				t.Fatalf("got %v, want code 15", err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("error %q does not contain %q", err, tt.text)
			}
		})
	}
}

func TestResponseView(t *testing.T) {
	b := Begin(nil, KindResponse, 1, 2)
	b.Str(TagResult, "approved")
	b.Str(TagRespCode, "00")
	b.Str(TagAuthCode, "123456")
	b.Str(TagSTAN, "000042")
	b.Str(TagBusinessDate, "20261123")
	b.Str(TagRRN, "633100000042")
	b.Str(99, "future")
	out, _ := b.Finish()
	var f Frame
	if err := f.Parse(out); err != nil {
		t.Fatal(err)
	}
	var v ResponseView
	if err := v.Parse(&f); err != nil {
		t.Fatal(err)
	}
	if v.Result != ResultApproved || string(v.RespCode) != "00" || string(v.AuthCode) != "123456" ||
		string(v.STAN) != "000042" || string(v.BusinessDate) != "20261123" || string(v.RRN) != "633100000042" {
		t.Fatalf("%+v", v)
	}
	for _, res := range []*string{nil, ptr("ok")} {
		b := Begin(nil, KindResponse, 1, 2)
		if res != nil {
			b.Str(TagResult, *res)
		}
		out, _ := b.Finish()
		_ = f.Parse(out)
		if err := v.Parse(&f); !errors.Is(err, ErrMalformed) {
			t.Fatalf("result %v: %v", res, err)
		}
	}
}

func ptr(s string) *string { return &s }

func TestAppendNotice(t *testing.T) {
	out, err := AppendNotice(nil, 7, NoticeCutover, "20261124")
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	if err := f.Parse(out); err != nil {
		t.Fatal(err)
	}
	if f.Kind() != KindNotice || f.Session() != 7 || f.Correlation() != 0 ||
		string(f.Field(TagNoticeKind)) != "cutover" || string(f.Field(TagNoticeDetail)) != "20261124" {
		t.Fatal("notice")
	}
}

func TestZeroAllocs(t *testing.T) {
	f := buildRequest(t, sale()...)
	raw := f.Bytes()
	bad := buildRequest(t, with(sale(), TagPAN, "x", false)...).Bytes()
	dst := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		var fr Frame
		var v RequestView
		if _, _, err := Split(raw); err != nil {
			t.Fatal(err)
		}
		if err := fr.Parse(raw); err != nil {
			t.Fatal(err)
		}
		if err := v.Parse(&fr); err != nil {
			t.Fatal(err)
		}
		_ = fr.Parse(bad)
		if err := v.Parse(&fr); err == nil {
			t.Fatal("bad PAN accepted")
		}
		_ = fr.Parse(raw[:30])
		out := appendResponse(dst[:0], 1, 2)
		out = AppendError(out, 1, 2, CodeBusy, "in-flight bound of the session reached")
		_, _ = AppendNotice(out, 1, NoticeLine, "cardnet 127.0.0.1:7700 signed_on")
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}

// appendResponse builds the Response the daemon sends for an approval.
func appendResponse(dst []byte, session, corr uint64) []byte {
	b := Begin(dst, KindResponse, session, corr)
	b.Str(TagResult, string(ResultApproved))
	b.Str(TagRespCode, "00")
	b.Str(TagAuthCode, "A12345")
	b.Uint(TagSTAN, 123456)
	b.Str(TagBusinessDate, "20261123")
	b.Str(TagRRN, "633100123456")
	out, _ := b.Finish()
	return out
}

func BenchmarkParseRequest(b *testing.B) {
	raw := buildRequest(b, sale()...).Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var f Frame
	var v RequestView
	for b.Loop() {
		frame, _, err := Split(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Parse(frame); err != nil {
			b.Fatal(err)
		}
		if err := v.Parse(&f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildResponse(b *testing.B) {
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		dst = appendResponse(dst[:0], 42, 4242)
		n = len(dst)
	}
	b.SetBytes(int64(n))
}
