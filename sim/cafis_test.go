package sim

import (
	"testing"

	"github.com/fxswitch/fxswitch/codec"
)

func TestCafisSalesAndSignon(t *testing.T) {
	s := startSim(t, nil)
	c := dialCafis(t, s)

	expectResult(t, c.sales(1, testDate, codec.OpSale, testPAN, 1000, false), codec.KindSalesResp, codec.ResultNotSignedOn)
	c.simple(codec.KindEchoReq)
	c.simple(codec.KindSignonReq)

	r := c.sales(2, testDate, codec.OpSale, testPAN, 1000, false)
	expectResult(t, r, codec.KindSalesResp, codec.ResultApproved)
	if r.Serial() != 2 || string(r.Date()) != testDate || string(r.Merchant()) != "MERCHANT0001 " {
		t.Fatalf("header not echoed: serial %d date %s merchant %q", r.Serial(), r.Date(), r.Merchant())
	}
	if got := string(r.FieldTrim(c.x.salesRespAuth)); got != pad6(authCode(2, testDate)) {
		t.Fatalf("auth code %q", got)
	}
	if v, _ := r.FieldUint(c.x.salesRespAmount); v != 1000 {
		t.Fatalf("amount %d", v)
	}
	expectResult(t, c.sales(3, testDate, codec.OpSale, testPAN, 2051, false), codec.KindSalesResp, codec.ResultInsufficientFunds)
	expectResult(t, c.sales(4, testDate, codec.OpSale, DefaultBlockedPAN, 100, false), codec.KindSalesResp, codec.ResultDoNotHonor)
	expectResult(t, c.sales(5, testDate, codec.OpRefund, testPAN, 300, false), codec.KindSalesResp, codec.ResultApproved)
	expectResult(t, c.sales(6, testDate, codec.OpAuthOnly, testPAN, 9000, false), codec.KindSalesResp, codec.ResultApproved)
	// Totals go by the header's cut-target date.
	expectResult(t, c.sales(7, "20261124", codec.OpSale, testPAN, 50, false), codec.KindSalesResp, codec.ResultApproved)

	if tot, _ := s.Totals(CenterCafis, testDate); tot != (Totals{DebitsCount: 1, DebitsAmount: 1000, CreditsCount: 1, CreditsAmount: 300}) {
		t.Fatalf("23: %+v", tot)
	}
	if tot, _ := s.Totals(CenterCafis, "20261124"); tot != (Totals{DebitsCount: 1, DebitsAmount: 50}) {
		t.Fatalf("24: %+v", tot)
	}
	if d, _ := s.BusinessDate(CenterCafis); d != "20261124" {
		t.Fatalf("business date %s", d)
	}
	c.simple(codec.KindSignoffReq)
	expectResult(t, c.sales(8, testDate, codec.OpSale, testPAN, 1000, false), codec.KindSalesResp, codec.ResultNotSignedOn)
}

func TestCafisRetransmissionDedup(t *testing.T) {
	s := startSim(t, nil)
	c := dialCafis(t, s)
	c.simple(codec.KindSignonReq)
	first := c.sales(10, testDate, codec.OpSale, testPAN, 1000, false)
	again := c.sales(10, testDate, codec.OpSale, testPAN, 1000, true)
	expectResult(t, again, codec.KindSalesResp, codec.ResultApproved)
	if !again.Retrans() || string(again.FieldTrim(c.x.salesRespAuth)) != string(first.FieldTrim(c.x.salesRespAuth)) {
		t.Fatalf("retransmission not answered like the first")
	}
	expectResult(t, c.sales(10, testDate, codec.OpSale, testPAN, 1001, true), codec.KindSalesResp, codec.ResultDuplicateSerial)
	// The same serial on another date is another transaction.
	expectResult(t, c.sales(10, "20261124", codec.OpSale, testPAN, 1001, false), codec.KindSalesResp, codec.ResultApproved)
	if tot, _ := s.Totals(CenterCafis, testDate); tot.DebitsCount != 1 || tot.DebitsAmount != 1000 {
		t.Fatalf("%+v", tot)
	}
}

func TestCafisCancels(t *testing.T) {
	s := startSim(t, nil)
	c := dialCafis(t, s)
	c.simple(codec.KindSignonReq)
	expectResult(t, c.sales(1, testDate, codec.OpSale, testPAN, 1000, false), codec.KindSalesResp, codec.ResultApproved)
	expectResult(t, c.sales(2, testDate, codec.OpRefund, testPAN, 200, false), codec.KindSalesResp, codec.ResultApproved)
	expectResult(t, c.sales(3, testDate, codec.OpSale, testPAN, 351, false), codec.KindSalesResp, codec.ResultInsufficientFunds)
	expectResult(t, c.sales(4, testDate, codec.OpSale, testPAN, 700, false), codec.KindSalesResp, codec.ResultApproved)

	confirm := func(serial, orig uint32, want byte, amount uint64) {
		t.Helper()
		r := c.cancel(codec.KindCancelConfirm, serial, "20261124", orig, testDate, 0, false)
		expectResult(t, r, codec.KindCancelConfirmResp, codec.ResultApproved)
		if st := r.Field(c.x.confRespStatus); st[0] != want {
			t.Fatalf("confirm %d: status %c, want %c", orig, st[0], want)
		}
		if a, _ := r.FieldUint(c.x.confRespAmount); a != amount {
			t.Fatalf("confirm %d: amount %d, want %d", orig, a, amount)
		}
	}
	confirm(50, 1, codec.StatusStands, 1000)
	confirm(51, 3, codec.StatusNotKnown, 0) // declined: nothing stands
	confirm(52, 99, codec.StatusNotKnown, 0)

	// App cancel of the sale, dated after the cut-target date moved: counts on the 24th.
	r := c.cancel(codec.KindCancelReq, 60, "20261124", 1, testDate, 1000, false)
	expectResult(t, r, codec.KindCancelResp, codec.ResultApproved)
	if v, _ := r.FieldUint(c.x.cancelRespSerial); v != 1 {
		t.Fatalf("orig serial %d", v)
	}
	confirm(53, 1, codec.StatusCancelled, 1000)
	// Retransmission of the cancel: same answer, uncounted.
	expectResult(t, c.cancel(codec.KindCancelReq, 60, "20261124", 1, testDate, 1000, true), codec.KindCancelResp, codec.ResultApproved)
	// A cancel command for the already-cancelled sale: nothing left to cancel, uncounted.
	expectResult(t, c.cancel(codec.KindCancelCommand, 61, "20261124", 1, testDate, 1000, true), codec.KindCancelCommandResp, codec.ResultNothingToCancel)
	// Cancel command of the refund: a credit reversal.
	expectResult(t, c.cancel(codec.KindCancelCommand, 62, "20261124", 2, testDate, 200, false), codec.KindCancelCommandResp, codec.ResultApproved)
	// Nothing to cancel: declined original, unknown original, wrong amount.
	expectResult(t, c.cancel(codec.KindCancelCommand, 63, "20261124", 3, testDate, 351, false), codec.KindCancelCommandResp, codec.ResultNothingToCancel)
	expectResult(t, c.cancel(codec.KindCancelReq, 64, "20261124", 98, testDate, 10, false), codec.KindCancelResp, codec.ResultNothingToCancel)
	expectResult(t, c.cancel(codec.KindCancelReq, 65, "20261124", 4, testDate, 1, false), codec.KindCancelResp, codec.ResultNothingToCancel)
	confirm(54, 4, codec.StatusStands, 700)

	t23, _ := s.Totals(CenterCafis, testDate)
	t24, _ := s.Totals(CenterCafis, "20261124")
	if want := (Totals{DebitsCount: 2, DebitsAmount: 1700, CreditsCount: 1, CreditsAmount: 200}); t23 != want {
		t.Fatalf("23: %+v", t23)
	}
	if want := (Totals{DebitReversalsCount: 1, DebitReversalsAmount: 1000, CreditReversalsCount: 1, CreditReversalsAmount: 200}); t24 != want {
		t.Fatalf("24: %+v", t24)
	}
}

func TestCafisFormatError(t *testing.T) {
	s := startSim(t, nil)
	c := dialCafis(t, s)
	c.simple(codec.KindSignonReq)
	// A sales record with letters in its amount: answered 030, header echoed.
	b, err := c.spec.Append(nil, cfHeader(codec.KindSalesReq, 5, testDate, false), salesFields(c, 100))
	if err != nil {
		t.Fatal(err)
	}
	amountAt := codec.CafisHeaderLen + 2 + 19 + 4
	copy(b[amountAt:], "ABC")
	c.writeFrame(b)
	r := c.recv()
	expectResult(t, r, codec.KindSalesResp, codec.ResultFormatError)
	if r.Serial() != 5 {
		t.Fatalf("serial %d", r.Serial())
	}
	// A cut-target date that is no calendar date: 030 as well.
	expectResult(t, c.sales(6, "20261399", codec.OpSale, testPAN, 100, false), codec.KindSalesResp, codec.ResultFormatError)
	// A bad ASCII length header closes the line.
	if _, err := c.conn.Write([]byte("12x4")); err != nil {
		t.Fatal(err)
	}
	c.expectClosed()
}

func salesFields(c *cfClient, amount uint64) *codec.CafisFields {
	var f codec.CafisFields
	f.SetString(c.x.salesOp, codec.OpSale)
	f.SetString(c.x.salesPAN, testPAN)
	f.SetString(c.spec.MustFieldIndex(codec.KindSalesReq, "expiry"), "2812")
	f.SetUint(c.x.salesAmount, amount)
	f.SetString(c.spec.MustFieldIndex(codec.KindSalesReq, "currency"), "392")
	f.SetString(c.spec.MustFieldIndex(codec.KindSalesReq, "terminal_id"), "TERM0001")
	return &f
}
