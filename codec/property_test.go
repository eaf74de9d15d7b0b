package codec

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// Encode → decode returns every value (padded as the spec says); re-encoding
// the decoded values reproduces the bytes; SetUint and SetString agree.
func TestISORoundTripProperty(t *testing.T) {
	s := CardnetSpec()
	rapid.Check(t, func(t *rapid.T) {
		mti, fields := genMessage(t)
		var f ISOFields
		want := map[int]string{}
		for _, x := range fields {
			e, _ := s.Element(x.de)
			v := x.v
			switch {
			case e.Length == "fixed" && e.Pad != "none" && rapid.Bool().Draw(t, "short"):
				// A shorter value is padded on encode.
				cut := rapid.IntRange(0, len(v)).Draw(t, "cut")
				if e.Pad == "zero-left" {
					v = v[cut:]
					want[x.de] = strings.Repeat("0", cut) + v
				} else {
					v = strings.TrimRight(v[:len(v)-cut], " ")
					want[x.de] = v + strings.Repeat(" ", e.Max-len(v))
				}
			case e.Content == "n" && len(v) <= 19 && len(v) > 0 && rapid.Bool().Draw(t, "uint"):
				u, _ := parseDigits([]byte(v))
				f.SetUint(x.de, u)
				if e.Length == "fixed" {
					want[x.de] = fmt.Sprintf("%0*d", e.Max, u)
				} else {
					want[x.de] = fmt.Sprint(u)
				}
				continue
			default:
				want[x.de] = v
			}
			if rapid.Bool().Draw(t, "bytes") {
				f.Set(x.de, []byte(v))
			} else {
				f.SetString(x.de, v)
			}
		}
		b, err := s.Append(nil, mti, &f)
		if err != nil {
			t.Fatal(err)
		}
		var m ISOMessage
		if err := s.Decode(&m, b); err != nil {
			t.Fatalf("decode %q: %v", b, err)
		}
		if string(m.MTI()) != mti {
			t.Fatalf("MTI %q", m.MTI())
		}
		n := 0
		for de, v := range m.Fields() {
			n++
			if string(v) != want[de] {
				t.Fatalf("DE%d = %q, want %q", de, v, want[de])
			}
		}
		if n != len(want) {
			t.Fatalf("%d elements, want %d", n, len(want))
		}
		var g ISOFields
		for de, v := range m.Fields() {
			g.Set(de, v)
		}
		again, err := s.Append(nil, mti, &g)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encode: %v\n%q\n%q", err, again, b)
		}
	})
}

func genCafisValue(t *rapid.T, content string, length int, label string) string {
	alphabet := "0123456789"
	switch content {
	case "an":
		alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 "
	case "ans":
		alphabet = " !#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~"
	}
	idx := rapid.SliceOfN(rapid.IntRange(0, len(alphabet)-1), 0, length).Draw(t, label)
	b := make([]byte, len(idx))
	for i, j := range idx {
		b[i] = alphabet[j]
	}
	return string(b)
}

func TestCafisRoundTripProperty(t *testing.T) {
	s := CafisBuiltin()
	digits := func(t *rapid.T, n int, label string) []byte {
		return []byte(fmt.Sprintf("%0*d", n, rapid.Uint64Range(0, 99999999).Draw(t, label)))[:n]
	}
	rapid.Check(t, func(t *rapid.T) {
		kind := rapid.SampledFrom(s.Kinds()).Draw(t, "kind")
		var h CafisHeader
		h.SetKind(kind)
		h.Retrans = rapid.Bool().Draw(t, "retrans")
		h.SetMerchant(genCafisValue(t, "an", 13, "merchant"))
		h.Serial = rapid.Uint32Range(0, MaxCafisSerial).Draw(t, "serial")
		copy(h.Date[:], digits(t, 8, "date"))
		copy(h.Time[:], digits(t, 6, "time"))
		copy(h.Result[:], digits(t, 3, "result"))
		var f CafisFields
		k := s.kindPos([]byte(kind))
		want := make([]string, len(s.kinds[k].fields))
		for i, fd := range s.kinds[k].fields {
			idx := s.MustFieldIndex(kind, fd.name)
			v := genCafisValue(t, contentName(fd.content), fd.length, fd.name)
			if fd.content == contentN {
				want[i] = strings.Repeat("0", fd.length-len(v)) + v
				if len(v) > 0 && rapid.Bool().Draw(t, "uint") {
					u, _ := parseDigits([]byte(v))
					f.SetUint(idx, u)
					continue
				}
			} else {
				want[i] = v + strings.Repeat(" ", fd.length-len(v))
			}
			f.SetString(idx, v)
		}
		b, err := s.Append(nil, &h, &f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != s.RecordLen(kind) {
			t.Fatalf("length %d, want %d", len(b), s.RecordLen(kind))
		}
		var r CafisRecord
		if err := s.Decode(&r, b); err != nil {
			t.Fatalf("decode %q: %v", b, err)
		}
		if r.Header() != h {
			t.Fatalf("header %+v, want %+v", r.Header(), h)
		}
		for i, fd := range s.kinds[k].fields {
			if got := string(r.Field(s.MustFieldIndex(kind, fd.name))); got != want[i] {
				t.Fatalf("%s = %q, want %q", fd.name, got, want[i])
			}
		}
	})
}

// The splitter yields the same frames whatever the piece sizes.
func TestSplitterProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := rapid.SampledFrom([]Framing{FrameBin2, FrameASCII4}).Draw(t, "framing")
		payloads := rapid.SliceOfN(rapid.StringN(1, 300, -1), 0, 20).Draw(t, "payloads")
		var stream []byte
		for _, p := range payloads {
			stream, _ = f.AppendFrame(stream, []byte(p))
		}
		sp := NewSplitter(f, 0)
		var got []string
		for len(stream) > 0 {
			n := rapid.IntRange(1, len(stream)).Draw(t, "piece")
			sp.Feed(stream[:n])
			stream = stream[n:]
			var err error
			if got, err = drain(sp, got); err != nil {
				t.Fatal(err)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(payloads) || len(got) != len(payloads) {
			t.Fatalf("got %q, want %q", got, payloads)
		}
	})
}
