package codec

import (
	"testing"

	"github.com/moov-io/iso8583"
)

// BenchmarkCodec0100 compares fxswitch with moov-io v0.22.0 on the same
// typical 0100 (DE 2,3,4,7,11,12,13,14,18,22,25,32,37,41,42,49):
//
//	go test ./codec -run '^$' -bench BenchmarkCodec0100 -benchmem
//
// encode/fxswitch sets all 16 elements and appends the message into a reused
// buffer each iteration; encode/moov packs a message whose fields were set
// once (so it measures less work than ours). decode/moov is NewMessage +
// Unpack with the unmodified iso8583.Spec87, as an application would do.
func BenchmarkCodec0100(b *testing.B) {
	s := CardnetSpec()
	raw := mustEncode(b, "0100", bench0100)
	if theirs := moovPack(b, "0100", bench0100); string(theirs) != string(raw) {
		b.Fatalf("moov and fxswitch disagree:\n%q\n%q", theirs, raw)
	}
	pan := []byte("4111111111111111")
	b.Run("encode/fxswitch", func(b *testing.B) {
		var f ISOFields
		buf := make([]byte, 0, 512)
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			f.Reset()
			f.Set(DEPAN, pan)
			f.SetString(DEProcessingCode, "000000")
			f.SetUint(DEAmount, 12345)
			f.SetString(DETransmissionTime, "1123104500")
			f.SetUint(DESTAN, 123)
			f.SetString(DELocalTime, "194500")
			f.SetString(DELocalDate, "1123")
			f.SetString(DEExpiry, "2812")
			f.SetString(DEMerchantType, "5411")
			f.SetString(DEPOSEntryMode, "051")
			f.SetString(DEPOSCondition, "00")
			f.SetString(DEAcquirerID, "12345")
			f.SetString(DERRN, "632710000123")
			f.SetString(DETerminalID, "TERM0001")
			f.SetString(DEMerchantID, "MERCHANT0000001")
			f.SetString(DECurrency, "392")
			var err error
			if buf, err = s.Append(buf[:0], MTIAuthReq, &f); err != nil {
				b.Fatal(err)
			}
		}
		if string(buf) != string(raw) {
			b.Fatalf("encoded %q", buf)
		}
	})
	b.Run("encode/moov", func(b *testing.B) {
		msg := iso8583.NewMessage(moovSpec)
		msg.MTI("0100")
		for _, x := range bench0100 {
			if err := msg.Field(x.de, x.v); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := msg.Pack(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/fxswitch", func(b *testing.B) {
		var m ISOMessage
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Decode(&m, raw); err != nil {
				b.Fatal(err)
			}
		}
		if string(m.Get(DEMerchantID)) != "MERCHANT0000001" {
			b.Fatal("DE42")
		}
	})
	b.Run("decode/moov", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			msg := iso8583.NewMessage(iso8583.Spec87)
			if err := msg.Unpack(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCafisSales: a CAFIS sales request (encode, as the switch sends
// it) and a sales response (decode, as the switch receives it).
func BenchmarkCafisSales(b *testing.B) {
	s := CafisBuiltin()
	op, pan, exp, amt, cur, tid := s.MustFieldIndex(KindSalesReq, "op"), s.MustFieldIndex(KindSalesReq, "pan"),
		s.MustFieldIndex(KindSalesReq, "expiry"), s.MustFieldIndex(KindSalesReq, "amount"),
		s.MustFieldIndex(KindSalesReq, "currency"), s.MustFieldIndex(KindSalesReq, "terminal_id")
	rauth := s.MustFieldIndex(KindSalesResp, "auth_code")
	h := cafisHeader(KindSalesReq, 42)
	req := encodeCafis(b, s, &h, cafisSamples[KindSalesReq])
	rh := cafisHeader(KindSalesResp, 42)
	resp := encodeCafis(b, s, &rh, cafisSamples[KindSalesResp])
	panBytes := []byte("4111111111111111")
	b.Run("encode/fxswitch", func(b *testing.B) {
		var f CafisFields
		buf := make([]byte, 0, 256)
		b.SetBytes(int64(len(req)))
		b.ReportAllocs()
		for b.Loop() {
			f.Reset()
			f.SetString(op, OpSale)
			f.Set(pan, panBytes)
			f.SetString(exp, "2812")
			f.SetUint(amt, 12345)
			f.SetString(cur, "392")
			f.SetString(tid, "TERM0001")
			var err error
			if buf, err = s.Append(buf[:0], &h, &f); err != nil {
				b.Fatal(err)
			}
		}
		if string(buf) != string(req) {
			b.Fatalf("encoded %q", buf)
		}
	})
	b.Run("decode/fxswitch", func(b *testing.B) {
		var r CafisRecord
		b.SetBytes(int64(len(resp)))
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Decode(&r, resp); err != nil {
				b.Fatal(err)
			}
		}
		if string(r.FieldTrim(rauth)) != "A1B2C3" {
			b.Fatal("auth code")
		}
	})
}

// BenchmarkSplitter: 64 CARDNET frames delivered in 1,000-byte pieces.
func BenchmarkSplitter(b *testing.B) {
	raw := mustEncode(b, "0100", bench0100)
	var stream []byte
	for i := 0; i < 64; i++ {
		stream, _ = FrameBin2.AppendFrame(stream, raw)
	}
	s := NewSplitter(FrameBin2, 0)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for off := 0; off < len(stream); off += 1000 {
			s.Feed(stream[off:min(off+1000, len(stream))])
			for {
				p, err := s.Next()
				if err != nil {
					b.Fatal(err)
				}
				if p == nil {
					break
				}
				n++
			}
		}
		if n != 64 {
			b.Fatalf("%d frames", n)
		}
	}
}
