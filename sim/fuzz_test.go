package sim

import (
	"testing"

	"github.com/fxswitch/fxswitch/codec"
)

// fuzzCenter builds a simulator whose centers are driven directly, without
// listeners: serve is the whole per-message path after framing.
func fuzzCenter(f *testing.F) (*Sim, *line, *line) {
	s, err := New(Options{CardnetAddr: "127.0.0.1:0", CafisAddr: "127.0.0.1:0", Date: testDate, MaxTransactions: 1000})
	if err != nil {
		f.Fatal(err)
	}
	cn := &line{id: 1, srv: s.cardnet.srv}
	cf := &line{id: 2, srv: s.cafis.srv}
	cn.signedOn.Store(true)
	cf.signedOn.Store(true)
	return s, cn, cf
}

func FuzzCardnetServe(f *testing.F) {
	spec := codec.CardnetSpec()
	for _, mti := range []string{"0200", "0400", "0500", "0800", "0220"} {
		fs := fin(1, "000000", testPAN, 1000, "1123")
		if mti == "0400" {
			fs = reversalOf(2, 1, "0200", 1000, "1123")
		}
		if mti == "0800" {
			fs.SetString(70, nmCutover)
		}
		b, err := spec.Append(nil, mti, fs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s, ln, _ := fuzzCenter(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		ln.out = ln.out[:0]
		s.cardnet.serve(ln, payload)
		// Whatever came in, what goes out is whole frames of valid messages.
		for rest := ln.out; len(rest) > 0; {
			p, total, err := codec.FrameBin2.Split(rest, 0)
			if err != nil || total == 0 {
				t.Fatalf("answer is not a whole frame: %v", err)
			}
			var m codec.ISOMessage
			if err := spec.Decode(&m, p); err != nil {
				t.Fatalf("answer does not decode: %v", err)
			}
			rest = rest[total:]
		}
	})
}

func FuzzCafisServe(f *testing.F) {
	spec := codec.CafisBuiltin()
	x, _ := resolveCafis(spec)
	var fs codec.CafisFields
	fs.SetUint(x.cmdSerial, 1)
	fs.SetString(x.cmdDate, testDate)
	fs.SetUint(x.cmdAmount, 100)
	b, err := spec.Append(nil, cfHeader(codec.KindCancelCommand, 2, testDate, true), &fs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	b, _ = spec.Append(nil, cfHeader(codec.KindSignonReq, 1, testDate, false), nil)
	f.Add(b)
	s, _, ln := fuzzCenter(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		ln.out = ln.out[:0]
		s.cafis.serve(ln, payload)
		for rest := ln.out; len(rest) > 0; {
			p, total, err := codec.FrameASCII4.Split(rest, 0)
			if err != nil || total == 0 {
				t.Fatalf("answer is not a whole frame: %v", err)
			}
			var r codec.CafisRecord
			if err := spec.Decode(&r, p); err != nil {
				t.Fatalf("answer does not decode: %v", err)
			}
			rest = rest[total:]
		}
	})
}
