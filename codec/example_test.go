package codec_test

import (
	"fmt"

	"github.com/fxswitch/fxswitch/codec"
)

// A CARDNET echo test (0800, DE70 = 301), framed with its 2-byte length.
func ExampleISOSpec_Append() {
	spec := codec.CardnetSpec()
	var f codec.ISOFields
	f.SetString(codec.DETransmissionTime, "1123080000")
	f.SetUint(codec.DESTAN, 1)
	f.SetString(codec.DENetMgmtCode, codec.NetEcho)
	buf := codec.FrameBin2.ReserveHeader(nil)
	buf, err := spec.Append(buf, codec.MTINetworkMgmtReq, &f)
	if err != nil {
		panic(err)
	}
	if err := codec.FrameBin2.PutHeader(buf, len(buf)-2); err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", buf)
	// Output: "\x0070800822000000000000004000000000000001123080000000001301"
}

func ExampleISOSpec_Decode() {
	spec := codec.CardnetSpec()
	var m codec.ISOMessage
	payload := []byte("0110" + "7220000002000000" + "164111111111111111" + "000000" + "000000012345" + "1123104500" + "000123" + "00")
	if err := spec.Decode(&m, payload); err != nil {
		panic(err)
	}
	amount, _ := m.Uint(codec.DEAmount)
	fmt.Printf("MTI %s PAN %s amount %d STAN %s response %s\n",
		m.MTI(), codec.MaskPAN(nil, m.Get(codec.DEPAN)), amount, m.Get(codec.DESTAN), m.Get(codec.DEResponseCode))
	// Output: MTI 0110 PAN 411111******1111 amount 12345 STAN 000123 response 00
}

// A CAFIS sales request; field indexes are resolved once, at init.
func ExampleCafisSpec_Append() {
	spec := codec.CafisBuiltin()
	var (
		op     = spec.MustFieldIndex(codec.KindSalesReq, "op")
		pan    = spec.MustFieldIndex(codec.KindSalesReq, "pan")
		expiry = spec.MustFieldIndex(codec.KindSalesReq, "expiry")
		amount = spec.MustFieldIndex(codec.KindSalesReq, "amount")
		cur    = spec.MustFieldIndex(codec.KindSalesReq, "currency")
		tid    = spec.MustFieldIndex(codec.KindSalesReq, "terminal_id")
	)
	var h codec.CafisHeader
	h.SetKind(codec.KindSalesReq)
	h.SetMerchant("M000000000001")
	h.Serial = 42
	copy(h.Date[:], "20261123")
	copy(h.Time[:], "104500")
	var f codec.CafisFields
	f.SetString(op, codec.OpSale)
	f.SetString(pan, "4111111111111111")
	f.SetString(expiry, "2812")
	f.SetUint(amount, 12345)
	f.SetString(cur, "392")
	f.SetString(tid, "TERM0001")
	buf := codec.FrameASCII4.ReserveHeader(nil)
	buf, err := spec.Append(buf, &h, &f)
	if err != nil {
		panic(err)
	}
	_ = codec.FrameASCII4.PutHeader(buf, len(buf)-4)
	fmt.Printf("%q\n", buf)
	// Output: "009601000M00000000000100004220261123104500000       104111111111111111   2812000000012345392TERM0001"
}

// Bytes arrive in arbitrary pieces; complete frames come out as views.
func ExampleSplitter() {
	stream := []byte("0005hello0005world00")
	s := codec.NewSplitter(codec.FrameASCII4, 0)
	for _, piece := range [][]byte{stream[:7], stream[7:13], stream[13:]} {
		s.Feed(piece)
		for {
			p, err := s.Next()
			if err != nil {
				panic(err)
			}
			if p == nil {
				break
			}
			fmt.Printf("%s\n", p)
		}
	}
	fmt.Println("buffered:", s.Buffered())
	// Output:
	// hello
	// world
	// buffered: 2
}

func ExampleMaskPANString() {
	fmt.Println(codec.MaskPANString("4111111111111111"))
	// Output: 411111******1111
}
