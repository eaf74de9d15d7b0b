package ipc

import (
	"bytes"
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

type genField struct {
	tag Tag
	val []byte
}

func genFrame(t *rapid.T) (Kind, uint64, uint64, []genField) {
	kind := Kind(rapid.IntRange(1, 10).Draw(t, "kind"))
	session := rapid.Uint64().Draw(t, "session")
	corr := rapid.Uint64().Draw(t, "corr")
	n := rapid.IntRange(0, 12).Draw(t, "fields")
	fields := make([]genField, n)
	for i := range fields {
		fields[i].tag = Tag(rapid.Uint16().Draw(t, "tag"))
		fields[i].val = rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "val")
	}
	return kind, session, corr, fields
}

func buildGen(kind Kind, session, corr uint64, fields []genField) ([]byte, error) {
	b := Begin(nil, kind, session, corr)
	for _, f := range fields {
		b.Bytes(f.tag, f.val)
	}
	return b.Finish()
}

// Whatever Builder makes, Split and Parse give back unchanged.
func TestPropertyBuildParse(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		kind, session, corr, fields := genFrame(t)
		out, err := buildGen(kind, session, corr, fields)
		if err != nil {
			t.Fatal(err)
		}
		frame, n, err := Split(out)
		if err != nil || n != len(out) {
			t.Fatalf("Split: %d of %d, %v", n, len(out), err)
		}
		var f Frame
		if err := f.Parse(frame); err != nil {
			t.Fatal(err)
		}
		if f.Kind() != kind || f.Session() != session || f.Correlation() != corr || f.Flags() != 0 {
			t.Fatal("header changed")
		}
		it := f.Fields()
		for i := range fields {
			tag, v, ok := it.Next()
			if !ok || tag != fields[i].tag || !bytes.Equal(v, fields[i].val) {
				t.Fatalf("field %d: %d %q, want %d %q", i, tag, v, fields[i].tag, fields[i].val)
			}
			if first := f.Field(tag); first == nil {
				t.Fatalf("Field(%d) nil", tag)
			}
		}
		if _, _, ok := it.Next(); ok {
			t.Fatal("extra field")
		}
	})
}

// A stream of frames is split back into the same frames, whatever the
// chunking of the reads.
func TestPropertyStream(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		count := rapid.IntRange(1, 8).Draw(t, "frames")
		var stream []byte
		var frames [][]byte
		for range count {
			kind, session, corr, fields := genFrame(t)
			out, err := buildGen(kind, session, corr, fields)
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, out)
			stream = append(stream, out...)
		}
		var buf []byte
		var got [][]byte
		for rest := stream; len(rest) > 0; {
			k := rapid.IntRange(1, len(rest)).Draw(t, "chunk")
			buf = append(buf, rest[:k]...)
			rest = rest[k:]
			for {
				frame, n, err := Split(buf)
				if err != nil {
					t.Fatal(err)
				}
				if frame == nil {
					break
				}
				got = append(got, append([]byte(nil), frame...))
				buf = buf[n:]
			}
		}
		if len(buf) != 0 || len(got) != len(frames) {
			t.Fatalf("%d frames, %d bytes left; want %d frames", len(got), len(buf), len(frames))
		}
		for i := range frames {
			if !bytes.Equal(got[i], frames[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
	})
}

// Valid requests built from the API survive the wire; Uint and ParseUint
// are inverse.
func TestPropertyRequest(t *testing.T) {
	digits := func(min, max int) *rapid.Generator[string] {
		return rapid.StringOfN(rapid.RuneFrom([]rune("0123456789")), min, max, -1)
	}
	var ascii []rune
	for r := rune(0x20); r <= 0x7e; r++ {
		ascii = append(ascii, r)
	}
	printable := func(max int) *rapid.Generator[string] {
		return rapid.StringOfN(rapid.RuneFrom(ascii), 1, max, -1)
	}
	rapid.Check(t, func(t *rapid.T) {
		op := Op(rapid.IntRange(int(OpAuthorize), int(OpAdvice)).Draw(t, "op"))
		if op == OpCancel {
			op = OpSale
		}
		ref := printable(MaxRefLen).Draw(t, "ref")
		pan := digits(MinPANLen, MaxPANLen).Draw(t, "pan")
		month := rapid.IntRange(1, 12).Draw(t, "month")
		expiry := digits(2, 2).Draw(t, "yy") + strconv.Itoa(month/10) + strconv.Itoa(month%10)
		amount := rapid.Uint64Range(0, 999999999999).Draw(t, "amount")
		currency := digits(3, 3).Draw(t, "currency")
		terminal := printable(MaxTerminalLen).Draw(t, "terminal")

		b := Begin(nil, KindRequest, 1, 1)
		b.Str(TagOp, op.String())
		b.Str(TagRef, ref)
		b.Str(TagPAN, pan)
		b.Str(TagExpiry, expiry)
		b.Uint(TagAmount, amount)
		b.Str(TagCurrency, currency)
		b.Str(TagTerminal, terminal)
		out, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		var f Frame
		var v RequestView
		if err := f.Parse(out); err != nil {
			t.Fatal(err)
		}
		if err := v.Parse(&f); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		if v.Op != op || string(v.Ref) != ref || string(v.PAN) != pan || string(v.Expiry) != expiry ||
			v.AmountMinor != amount || string(v.Currency) != currency || string(v.Terminal) != terminal {
			t.Fatalf("%+v", v)
		}
	})
}
