package codec

import "testing"

// The hot path allocates nothing (DESIGN §7): decode a typical 0100/0110,
// encode 0100/0200/0400 and CAFIS sales records into a reused buffer.
func TestHotPathAllocs(t *testing.T) {
	s := CardnetSpec()
	c := CafisBuiltin()
	var m ISOMessage
	var f ISOFields
	buf := make([]byte, 0, 1024)
	msgs := map[string][]byte{}
	for _, tc := range cardnetSamples {
		msgs[tc.mti] = mustEncode(t, tc.mti, tc.fields)
	}
	var r CafisRecord
	var cf CafisFields
	salesHdr := cafisHeader(KindSalesReq, 1)
	respHdr := cafisHeader(KindSalesResp, 1)
	salesReq := encodeCafis(t, c, &salesHdr, cafisSamples[KindSalesReq])
	salesResp := encodeCafis(t, c, &respHdr, cafisSamples[KindSalesResp])
	op, pan, exp, amt, cur, tid := c.MustFieldIndex(KindSalesReq, "op"), c.MustFieldIndex(KindSalesReq, "pan"),
		c.MustFieldIndex(KindSalesReq, "expiry"), c.MustFieldIndex(KindSalesReq, "amount"),
		c.MustFieldIndex(KindSalesReq, "currency"), c.MustFieldIndex(KindSalesReq, "terminal_id")
	rop, ramt, rauth := c.MustFieldIndex(KindSalesResp, "op"), c.MustFieldIndex(KindSalesResp, "amount"), c.MustFieldIndex(KindSalesResp, "auth_code")
	panBytes := []byte("4111111111111111")
	de90 := make([]byte, 0, DE90Len)
	encodeISO := func(mti string, fields []fv) func() {
		return func() {
			f.Reset()
			for _, x := range fields {
				f.SetString(x.de, x.v)
			}
			f.SetUint(11, 123)
			f.Set(2, panBytes)
			var err error
			if buf, err = s.Append(buf[:0], mti, &f); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, fn := range map[string]func(){
		"decode 0100": func() {
			if err := s.Decode(&m, msgs["0100"]); err != nil {
				t.Fatal(err)
			}
			_, _ = m.Uint(4)
			_ = m.Get(2)
		},
		"decode 0110": func() {
			if err := s.Decode(&m, msgs["0110"]); err != nil {
				t.Fatal(err)
			}
			_ = m.Get(39)
		},
		"encode 0100": encodeISO("0100", cardnetSamples[0].fields),
		"encode 0200": encodeISO("0200", cardnetSamples[2].fields),
		"encode 0400": func() {
			f.Reset()
			for _, x := range rev(nil) {
				f.SetString(x.de, x.v)
			}
			// The DE90 scratch buffer lives with the reusable fields, as in the switch.
			f.Set(90, AppendDE90(de90[:0], []byte("0200"), 124, []byte("1123104500"), []byte("12345")))
			var err error
			if buf, err = s.Append(buf[:0], "0400", &f); err != nil {
				t.Fatal(err)
			}
		},
		"framing": func() {
			buf = FrameBin2.ReserveHeader(buf[:0])
			buf = append(buf, msgs["0800"]...)
			if err := FrameBin2.PutHeader(buf, len(buf)-2); err != nil {
				t.Fatal(err)
			}
			if _, _, err := FrameBin2.Split(buf, 0); err != nil {
				t.Fatal(err)
			}
		},
		"cafis encode sales request": func() {
			cf.Reset()
			cf.SetString(op, OpSale)
			cf.Set(pan, panBytes)
			cf.SetString(exp, "2812")
			cf.SetUint(amt, 12345)
			cf.SetString(cur, "392")
			cf.SetString(tid, "TERM0001")
			var err error
			if buf, err = c.Append(buf[:0], &salesHdr, &cf); err != nil {
				t.Fatal(err)
			}
		},
		"cafis encode sales response": func() {
			cf.Reset()
			cf.SetString(rop, OpSale)
			cf.SetUint(ramt, 12345)
			cf.SetString(rauth, "A1B2C3")
			var err error
			if buf, err = c.Append(buf[:0], &respHdr, &cf); err != nil {
				t.Fatal(err)
			}
		},
		"cafis decode sales request": func() {
			if err := c.Decode(&r, salesReq); err != nil {
				t.Fatal(err)
			}
			_ = r.FieldTrim(pan)
			_, _ = r.FieldUint(amt)
			_ = r.Header()
		},
		"cafis decode sales response": func() {
			if err := c.Decode(&r, salesResp); err != nil {
				t.Fatal(err)
			}
			_ = r.Result()
		},
		"mask": func() {
			var out [32]byte
			_ = MaskPAN(out[:0], panBytes)
		},
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", name, n)
		}
	}
}
