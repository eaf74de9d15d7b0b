package sim

import (
	"context"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/codec"
)

func TestCardnetSignonRulesAndTotals(t *testing.T) {
	s := startSim(t, nil)
	c := dialCardnet(t, s)

	// Financial traffic before signon is refused; echo works regardless.
	expectCode(t, c.rt("0200", fin(1, "000000", testPAN, 1000, "1123")), "0210", "91")
	c.netMgmt(nmEcho)
	c.netMgmt(nmSignon)

	m := c.rt("0200", fin(2, "000000", testPAN, 1000, "1123"))
	expectCode(t, m, "0210", "00")
	if len(m.Get(38)) != 6 {
		t.Fatalf("approval without DE38: %q", m.Get(38))
	}
	for de, want := range map[int]string{2: testPAN, 3: "000000", 4: "000000001000", 7: de7For(2), 11: "000002",
		15: "1123", 37: "RRN000000002", 41: "TERM0001", 49: "392"} {
		if got := string(m.Get(de)); got != want {
			t.Errorf("DE%d echoed %q, want %q", de, got, want)
		}
	}
	// The authorization code is a function of STAN and date.
	if want := authCode(2, testDate); string(m.Get(38)) != pad6(want) {
		t.Errorf("DE38 %q, want %06d", m.Get(38), want)
	}
	expectCode(t, c.rt("0200", fin(3, "000000", testPAN, 1051, "1123")), "0210", "51")
	expectCode(t, c.rt("0200", fin(4, "000000", DefaultBlockedPAN, 1000, "1123")), "0210", "05")
	expectCode(t, c.rt("0200", fin(5, "200000", testPAN, 300, "1123")), "0210", "00")
	expectCode(t, c.rt("0100", fin(6, "000000", testPAN, 7000, "1123")), "0110", "00")
	// Without DE15 the message counts in the current business date.
	m = c.rt("0200", fin(7, "000000", testPAN, 500, ""))
	expectCode(t, m, "0210", "00")
	if string(m.Get(15)) != "1123" {
		t.Fatalf("DE15 %q", m.Get(15))
	}

	tot, _ := s.Totals(CenterCardnet, testDate)
	want := Totals{DebitsCount: 2, DebitsAmount: 1500, CreditsCount: 1, CreditsAmount: 300}
	if tot != want {
		t.Fatalf("totals %+v, want %+v", tot, want)
	}

	c.netMgmt(nmSignoff)
	expectCode(t, c.rt("0200", fin(8, "000000", testPAN, 1000, "1123")), "0210", "91")
}

func pad6(v uint32) string {
	b := []byte("000000")
	for i := 5; i >= 0 && v > 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b)
}

func TestCardnetReversals(t *testing.T) {
	s := startSim(t, nil)
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	expectCode(t, c.rt("0200", fin(10, "000000", testPAN, 1000, "1123")), "0210", "00")
	expectCode(t, c.rt("0200", fin(11, "000000", testPAN, 2051, "1123")), "0210", "51")
	expectCode(t, c.rt("0200", fin(12, "200000", testPAN, 400, "1123")), "0210", "00")

	// Reversal of an approved debit, sent after cutover: counts in the date it carries.
	m := c.rt("0400", reversalOf(20, 10, "0200", 1000, "1124"))
	expectCode(t, m, "0410", "00")
	if len(m.Get(90)) != 42 {
		t.Fatalf("DE90 not echoed: %q", m.Get(90))
	}
	// Its repeat is answered the same and not counted again.
	expectCode(t, c.rt("0401", reversalOf(20, 10, "0200", 1000, "1124")), "0410", "00")
	// The same key with different content is refused.
	expectCode(t, c.rt("0401", reversalOf(20, 12, "0200", 400, "1124")), "0410", "94")
	// A second, different reversal of the same original: nothing left to reverse, not counted.
	expectCode(t, c.rt("0400", reversalOf(21, 10, "0200", 1000, "1124")), "0410", "25")
	// Reversal of a declined original and of an unknown one: nothing to reverse.
	expectCode(t, c.rt("0400", reversalOf(22, 11, "0200", 2051, "1124")), "0410", "25")
	expectCode(t, c.rt("0400", reversalOf(23, 999, "0200", 10, "1124")), "0410", "25")
	// Reversal advice of the credit, and its repeat.
	expectCode(t, c.rt("0420", reversalOf(24, 12, "0200", 400, "1123")), "0430", "00")
	expectCode(t, c.rt("0421", reversalOf(24, 12, "0200", 400, "1123")), "0430", "00")

	t23, _ := s.Totals(CenterCardnet, "20261123")
	t24, _ := s.Totals(CenterCardnet, "20261124")
	if want := (Totals{DebitsCount: 1, DebitsAmount: 1000, CreditsCount: 1, CreditsAmount: 400,
		CreditReversalsCount: 1, CreditReversalsAmount: 400}); t23 != want {
		t.Fatalf("23: %+v want %+v", t23, want)
	}
	if want := (Totals{DebitReversalsCount: 1, DebitReversalsAmount: 1000}); t24 != want {
		t.Fatalf("24: %+v want %+v", t24, want)
	}
}

func TestCardnetAdviceDedup(t *testing.T) {
	s := startSim(t, nil)
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	// An advice is recorded whatever the rules say (the amount ends in 51).
	expectCode(t, c.rt("0220", fin(30, "000000", testPAN, 151, "1123")), "0230", "00")
	expectCode(t, c.rt("0221", fin(30, "000000", testPAN, 151, "1123")), "0230", "00")
	expectCode(t, c.rt("0221", fin(30, "000000", testPAN, 152, "1123")), "0230", "94")
	// A repeat of an advice the center never saw is simply new.
	expectCode(t, c.rt("0221", fin(31, "200000", testPAN, 60, "1123")), "0230", "00")
	// A plain 0200 resent with the same key is deduplicated too.
	expectCode(t, c.rt("0200", fin(32, "000000", testPAN, 10, "1123")), "0210", "00")
	m := c.rt("0200", fin(32, "000000", testPAN, 10, "1123"))
	expectCode(t, m, "0210", "00")
	tot, _ := s.Totals(CenterCardnet, testDate)
	if want := (Totals{DebitsCount: 2, DebitsAmount: 161, CreditsCount: 1, CreditsAmount: 60}); tot != want {
		t.Fatalf("%+v want %+v", tot, want)
	}
}

func reconFields(stan uint32, de15 string, tot Totals) *codec.ISOFields {
	var f codec.ISOFields
	f.SetString(7, de7For(stan))
	f.SetUint(11, uint64(stan))
	f.SetString(15, de15)
	putTotalsISO(&f, tot)
	return &f
}

func TestCardnetReconciliation(t *testing.T) {
	s := startSim(t, nil)
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	expectCode(t, c.rt("0200", fin(1, "000000", testPAN, 1000, "1123")), "0210", "00")
	expectCode(t, c.rt("0200", fin(2, "200000", testPAN, 2500, "1123")), "0210", "00")
	own := Totals{DebitsCount: 1, DebitsAmount: 1000, CreditsCount: 1, CreditsAmount: 2500}

	m := c.rt("0500", reconFields(3, "1123", own))
	expectCode(t, m, "0510", "00")
	if string(m.Get(66)) != "1" {
		t.Fatalf("DE66 %q, want 1", m.Get(66))
	}
	if net, err := codec.ParseDE97(m.Get(97)); err != nil || net != -1500 {
		t.Fatalf("DE97 %q %v", m.Get(97), err)
	}
	off := own
	off.DebitsAmount++
	m = c.rt("0500", reconFields(4, "1123", off))
	if string(m.Get(66)) != "2" {
		t.Fatalf("DE66 %q, want 2", m.Get(66))
	}
	// The answer carries the center's own figures.
	if got, ok := totalsFromISO(m); !ok || got != own {
		t.Fatalf("center figures %+v (%v)", got, ok)
	}
	// An empty date is in balance with zeros.
	if m = c.rt("0500", reconFields(5, "1122", Totals{})); string(m.Get(66)) != "1" {
		t.Fatalf("empty date DE66 %q", m.Get(66))
	}
}

func TestCardnetDaemonCutover(t *testing.T) {
	s := startSim(t, nil)
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	var f codec.ISOFields
	f.SetString(7, "1123235900")
	f.SetUint(11, 77)
	f.SetString(15, "1124")
	f.SetString(70, nmCutover)
	m := c.rt("0800", &f)
	expectCode(t, m, "0810", "00")
	if string(m.Get(15)) != "1124" || string(m.Get(70)) != nmCutover {
		t.Fatalf("0810 DE15 %q DE70 %q", m.Get(15), m.Get(70))
	}
	if d, _ := s.BusinessDate(CenterCardnet); d != "20261124" {
		t.Fatalf("business date %s", d)
	}
	// Now a message without DE15 counts in the new date.
	expectCode(t, c.rt("0200", fin(1, "000000", testPAN, 10, "")), "0210", "00")
	if tot, _ := s.Totals(CenterCardnet, "20261124"); tot.DebitsCount != 1 {
		t.Fatalf("%+v", tot)
	}
}

// answerCutover reads the center's 0800 DE70 201 and answers 0810 00.
func answerCutover(t *testing.T, c *cnClient) string {
	t.Helper()
	m := c.recv()
	if string(m.MTI()) != "0800" || string(m.Get(70)) != nmCutover {
		t.Fatalf("want 0800 201, got %s DE70 %q", m.MTI(), m.Get(70))
	}
	var f codec.ISOFields
	for _, de := range []int{7, 11, 15, 70} {
		f.Set(de, m.Get(de))
	}
	f.SetString(39, "00")
	c.send("0810", &f)
	return string(m.Get(15))
}

func TestCardnetTimedCutover(t *testing.T) {
	s := startSim(t, func(o *Options) { o.CutoverEvery = 20 * time.Millisecond })
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	// Ticks before the signon moved the date without telling anyone; from
	// now on every cutover reaches the line, one day at a time.
	first := answerCutover(t, c)
	second := answerCutover(t, c)
	f, _ := dateFromMMDD(first, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if nextDate(f)[4:] != second {
		t.Fatalf("cutovers %s then %s", first, second)
	}
	if d, _ := s.BusinessDate(CenterCardnet); d < "2026"+second {
		t.Fatalf("business date %s behind the cutover to %s", d, second)
	}
}

func TestCardnetTriggerCutover(t *testing.T) {
	s := startSim(t, nil)
	// No signed-on line: the date moves, the error says nobody heard it.
	if d, err := s.TriggerCutover(context.Background()); d != "20261124" || err != ErrNotSignedOn {
		t.Fatalf("%s %v", d, err)
	}
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	done := make(chan error, 1)
	go func() {
		_, err := s.TriggerCutover(context.Background())
		done <- err
	}()
	if got := answerCutover(t, c); got != "1125" {
		t.Fatalf("DE15 %s", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestCardnetMalformedAndFraming(t *testing.T) {
	s := startSim(t, nil)
	c := dialCardnet(t, s)
	// A payload that is not ISO 8583 is journaled and ignored; the line stays.
	c.writeFrame([]byte("XXXXnot a message"))
	c.netMgmt(nmEcho)
	// A frame longer than the bound cannot be re-synchronised: the line closes.
	if _, err := c.conn.Write([]byte{0xff, 0xff, '0'}); err != nil {
		t.Fatal(err)
	}
	c.expectClosed()
}

func TestCardnetBoundsAndRetention(t *testing.T) {
	s := startSim(t, func(o *Options) { o.MaxTransactions, o.RetainDates = 2, 1 })
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	expectCode(t, c.rt("0200", fin(1, "000000", testPAN, 100, "1123")), "0210", "00")
	expectCode(t, c.rt("0200", fin(2, "000000", testPAN, 100, "1123")), "0210", "00")
	// The center's memory is full: refused with 96, not counted.
	expectCode(t, c.rt("0200", fin(3, "000000", testPAN, 100, "1123")), "0210", "96")
	// A repeat of a remembered request is still answered.
	expectCode(t, c.rt("0200", fin(2, "000000", testPAN, 100, "1123")), "0210", "00")
	if tot, _ := s.Totals(CenterCardnet, testDate); tot.DebitsCount != 2 {
		t.Fatalf("%+v", tot)
	}
	// Two cutovers with one date retained: the 23rd is forgotten for
	// matching (its totals stay), and room is made for new requests.
	for _, d := range []string{"1124", "1125"} {
		var f codec.ISOFields
		f.SetString(7, "1123235900")
		f.SetUint(11, 70)
		f.SetString(15, d)
		f.SetString(70, nmCutover)
		expectCode(t, c.rt("0800", &f), "0810", "00")
	}
	expectCode(t, c.rt("0400", reversalOf(4, 1, "0200", 100, "1125")), "0410", "25")
	if tot, _ := s.Totals(CenterCardnet, testDate); tot.DebitsCount != 2 {
		t.Fatalf("totals of a forgotten date: %+v", tot)
	}
}
