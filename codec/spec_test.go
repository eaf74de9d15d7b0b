package codec

import (
	"strings"
	"testing"
)

const isoHead = "name: t\nmti: {encoding: ascii, length: 4}\nbitmap: {encoding: hex}\nelements:\n"

func TestLoadISOSpecRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // substrings of the message: the field and the problem
	}{
		{"not yaml", "{", []string{"spec file"}},
		{"unknown key", isoHead + "  - {de: 2, name: pan, length: LL, content: n, max: 19, colour: red}\n", []string{"spec file", "colour"}},
		{"no name", "mti: {encoding: ascii, length: 4}\nbitmap: {encoding: hex}\n", []string{"name", "missing spec name"}},
		{"mti encoding", "name: t\nmti: {encoding: bcd, length: 4}\nbitmap: {encoding: hex}\n", []string{"mti", `"bcd" not supported`}},
		{"mti length", "name: t\nmti: {encoding: ascii, length: 3}\nbitmap: {encoding: hex}\n", []string{"mti", "length must be 4"}},
		{"bitmap encoding", "name: t\nmti: {encoding: ascii, length: 4}\nbitmap: {encoding: binary}\n", []string{"bitmap", `"binary" not supported`}},
		{"no elements", isoHead, []string{"elements", "no data elements"}},
		{"de 1", isoHead + "  - {de: 1, name: bitmap, length: fixed, content: b, max: 16}\n", []string{"field 1 (bitmap)", "2..128"}},
		{"de 129", isoHead + "  - {de: 129, name: x, length: fixed, content: n, max: 1}\n", []string{"field 129 (x)", "2..128"}},
		{"de 65", isoHead + "  - {de: 65, name: tertiary, length: fixed, content: b, max: 16}\n", []string{"field 65", "tertiary"}},
		{"no secondary", "name: t\nmti: {encoding: ascii, length: 4}\nbitmap: {encoding: hex, secondary: false}\nelements:\n  - {de: 70, name: nmic, length: fixed, content: n, max: 3}\n", []string{"field 70 (nmic)", "secondary bitmap"}},
		{"duplicate", isoHead + "  - {de: 2, name: pan, length: LL, content: n, max: 19}\n  - {de: 2, name: pan2, length: LL, content: n, max: 19}\n", []string{"field 2 (pan2)", "defined twice"}},
		{"missing name", isoHead + "  - {de: 3, length: fixed, content: n, max: 6}\n", []string{"field 3 (element #1)", "missing name"}},
		{"length type", isoHead + "  - {de: 3, name: pc, length: LLLL, content: n, max: 6}\n", []string{"field 3 (pc)", `length "LLLL" invalid`}},
		{"content", isoHead + "  - {de: 3, name: pc, length: fixed, content: z, max: 6}\n", []string{"field 3 (pc)", `content "z" invalid`}},
		{"max zero", isoHead + "  - {de: 3, name: pc, length: fixed, content: n}\n", []string{"field 3 (pc)", "max 0 out of range"}},
		{"LL max", isoHead + "  - {de: 2, name: pan, length: LL, content: n, max: 100}\n", []string{"field 2 (pan)", "out of range 1..99"}},
		{"LLL max", isoHead + "  - {de: 48, name: priv, length: LLL, content: ans, max: 1000}\n", []string{"field 48 (priv)", "out of range 1..999"}},
		{"odd b", isoHead + "  - {de: 64, name: mac, length: fixed, content: b, max: 15}\n", []string{"field 64 (mac)", "must be even"}},
		{"x+n variable", isoHead + "  - {de: 97, name: net, length: LL, content: x+n, max: 17}\n", []string{"field 97 (net)", "x+n elements must be fixed"}},
		{"pad value", isoHead + "  - {de: 4, name: amount, length: fixed, content: n, max: 12, pad: zeros}\n", []string{"field 4 (amount)", `pad "zeros" invalid`}},
		{"pad variable", isoHead + "  - {de: 2, name: pan, length: LL, content: n, max: 19, pad: zero-left}\n", []string{"field 2 (pan)", "only applies to fixed"}},
		{"zero pad alpha", isoHead + "  - {de: 41, name: tid, length: fixed, content: ans, max: 8, pad: zero-left}\n", []string{"field 41 (tid)", "needs numeric"}},
		{"space pad numeric", isoHead + "  - {de: 4, name: amount, length: fixed, content: n, max: 12, pad: space-right}\n", []string{"field 4 (amount)", "needs an or ans"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadISOSpec([]byte(tc.yaml))
			wantErr(t, err, ErrBadSpec, -1)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadISOSpecUserFile(t *testing.T) {
	// The embedded file round-trips through the public loader, and a user
	// variant (here: DE41 unpadded) changes the encoding accordingly.
	s, err := LoadISOSpec(CardnetSpecYAML())
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != CardnetSpec().Name() || len(s.Elements()) != len(CardnetSpec().Elements()) {
		t.Fatal("embedded spec differs")
	}
	y := strings.Replace(string(CardnetSpecYAML()), `length: fixed, content: "ans", max: 8}`, `length: fixed, content: "ans", max: 8, pad: none}`, 1)
	u, err := LoadISOSpec([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := u.Element(41); e.Pad != "none" {
		t.Fatalf("DE41 %+v", e)
	}
	var f ISOFields
	f.SetString(41, "T1")
	_, err = u.Append(nil, "0100", &f)
	wantErr(t, err, ErrBadLength, 41)
	if e, ok := CardnetSpec().Element(2); !ok || e.Length != "LL" || e.Content != "n" || e.Max != 19 || e.Pad != "none" {
		t.Fatalf("DE2 %+v", e)
	}
	if _, ok := CardnetSpec().Element(67); ok {
		t.Fatal("DE67 is not in the model")
	}
}

func cafisSpecWith(t *testing.T, kinds string) string {
	t.Helper()
	y := string(CafisSpecYAML())
	i := strings.Index(y, "kinds:\n")
	return y[:i] + "kinds:\n" + kinds
}

func TestLoadCafisSpecRejects(t *testing.T) {
	hdr := string(CafisSpecYAML())
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		{"not yaml", "[", []string{"spec file"}},
		{"no name", strings.Replace(hdr, "name: CAFIS model (fixed-length records)", "", 1), []string{"name", "missing spec name"}},
		{"header count", strings.Replace(hdr, "  - {name: reserved, content: ans, length: 7} # spaces\n", "", 1), []string{"header", "must list the 8 header fields"}},
		{"header field", strings.Replace(hdr, "{name: serial, content: n, length: 6}", "{name: serial, content: n, length: 8}", 1), []string{"header.serial", "must be {name: serial, content: n, length: 6}"}},
		{"no kinds", cafisSpecWith(t, ""), []string{"kinds", "no record kinds"}},
		{"code", cafisSpecWith(t, "  - {code: \"01A0\", name: x, fields: []}\n"), []string{"kind 01A0", "4 decimal digits"}},
		{"duplicate kind", cafisSpecWith(t, "  - {code: \"0010\", name: a, fields: []}\n  - {code: \"0010\", name: b, fields: []}\n"), []string{"kind 0010", "defined twice"}},
		{"kind name", cafisSpecWith(t, "  - {code: \"0010\", fields: []}\n"), []string{"kind 0010", "missing name"}},
		{"field name", cafisSpecWith(t, "  - {code: \"0100\", name: s, fields: [{content: n, length: 2}]}\n"), []string{"0100 field #1", "missing name"}},
		{"field twice", cafisSpecWith(t, "  - {code: \"0100\", name: s, fields: [{name: op, content: n, length: 2}, {name: op, content: n, length: 2}]}\n"), []string{"0100.op", "defined twice"}},
		{"field content", cafisSpecWith(t, "  - {code: \"0100\", name: s, fields: [{name: mac, content: b, length: 16}]}\n"), []string{"0100.mac", `content "b" invalid`}},
		{"field length", cafisSpecWith(t, "  - {code: \"0100\", name: s, fields: [{name: op, content: n, length: 0}]}\n"), []string{"0100.op", "length 0 out of range"}},
		{"record too long", cafisSpecWith(t, "  - {code: \"0100\", name: s, fields: ["+strings.Repeat("{name: a, content: n, length: 999}, ", 0)+"{name: a, content: ans, length: 999}, {name: b, content: ans, length: 999}, {name: c, content: ans, length: 999}, {name: d, content: ans, length: 999}, {name: e, content: ans, length: 999}, {name: f, content: ans, length: 999}, {name: g, content: ans, length: 999}, {name: h, content: ans, length: 999}, {name: i, content: ans, length: 999}, {name: j, content: ans, length: 999}]}\n"), []string{"kind 0100", "longer than a 4-digit frame"}},
		{"too many fields", cafisSpecWith(t, "  - {code: \"0100\", name: s, fields: ["+strings.Repeat("{name: a, content: n, length: 1}, ", 33)+"]}\n"), []string{"kind 0100", "more than 32 fields"}},
		{"response", cafisSpecWith(t, "  - {code: \"0010\", name: signon, response: \"0011\", fields: []}\n"), []string{"kind 0010", `response kind "0011" not defined`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadCafisSpec([]byte(tc.yaml))
			wantErr(t, err, ErrBadSpec, -1)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	s, err := LoadCafisSpec(CafisSpecYAML())
	if err != nil || len(s.Kinds()) != 14 {
		t.Fatal(err)
	}
}
