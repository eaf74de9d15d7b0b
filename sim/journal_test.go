package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/sim/journal"
)

func TestJournalFinalView(t *testing.T) {
	path := tempJournal(t)
	clock := fixedClock{time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	s := startSim(t, func(o *Options) { o.JournalPath, o.Clock = path, clock })
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	expectCode(t, c.rt("0200", fin(1, "000000", testPAN, 1000, "1123")), "0210", "00")
	expectCode(t, c.rt("0200", fin(2, "000000", testPAN, 1051, "1123")), "0210", "51")
	expectCode(t, c.rt("0200", fin(3, "200000", testPAN, 300, "1123")), "0210", "00")
	expectCode(t, c.rt("0400", reversalOf(4, 1, "0200", 1000, "1124")), "0410", "00")
	expectCode(t, c.rt("0401", reversalOf(4, 1, "0200", 1000, "1124")), "0410", "00")
	expectCode(t, c.rt("0400", reversalOf(5, 77, "0200", 10, "1124")), "0410", "25")

	f := dialCafis(t, s)
	f.simple(codec.KindSignonReq)
	expectResult(t, f.sales(1, testDate, codec.OpSale, testPAN, 500, false), codec.KindSalesResp, codec.ResultApproved)
	expectResult(t, f.sales(1, testDate, codec.OpSale, testPAN, 500, true), codec.KindSalesResp, codec.ResultApproved)
	expectResult(t, f.cancel(codec.KindCancelCommand, 2, testDate, 1, testDate, 500, false), codec.KindCancelCommandResp, codec.ResultApproved)

	want := map[journal.DateKey]Totals{}
	for _, dt := range s.AllTotals() {
		if !dt.Totals.IsZero() {
			want[journal.DateKey{Center: dt.Center, Date: dt.Date}] = dt.Totals
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(testPAN)) {
		t.Fatal("journal holds a clear PAN")
	}
	v, err := journal.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	check := func(center, date, key string, st journal.Status) *journal.Txn {
		t.Helper()
		tx := v.Txns[journal.TxnKey{Center: center, Date: date, Key: key}]
		if tx == nil || tx.Status != st {
			t.Fatalf("%s %s %s: %+v, want %s", center, date, key, tx, st)
		}
		return tx
	}
	if tx := check(CenterCardnet, "20261123", "000001", journal.StatusReversed); tx.ReversedBy == nil || tx.ReversedBy.Key != "000004" {
		t.Fatalf("reversed by %+v", tx.ReversedBy)
	}
	check(CenterCardnet, "20261123", "000002", journal.StatusDeclined)
	check(CenterCardnet, "20261123", "000003", journal.StatusApproved)
	check(CenterCardnet, "20261124", "000004", journal.StatusAccepted)
	check(CenterCardnet, "20261124", "000005", journal.StatusNoOriginal)
	check(CenterCafis, testDate, "000001", journal.StatusCancelled)
	check(CenterCafis, testDate, "000002", journal.StatusAccepted)

	for k, tot := range want {
		if v.Totals[k] != tot {
			t.Errorf("%v: journal fold %+v, center %+v", k, v.Totals[k], tot)
		}
		if v.EOD[k] != tot {
			t.Errorf("%v: end-of-day %+v, center %+v", k, v.EOD[k], tot)
		}
	}
	if len(v.Totals) != len(want) {
		t.Errorf("fold has %d dates, center %d", len(v.Totals), len(want))
	}
	if v.Events["signon"] != 2 {
		t.Errorf("signon events %d", v.Events["signon"])
	}
	// Repeats are journaled as such.
	if !strings.Contains(string(raw), `"dedup":"repeat"`) {
		t.Error("no repeat recorded")
	}
}

func TestHTTPControl(t *testing.T) {
	s := startSim(t, func(o *Options) { o.HTTPAddr = "127.0.0.1:0" })
	base := "http://" + s.HTTPAddr()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("GET", "/healthz", ""); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	if code, body := do("PUT", "/faults", "faults:\n  - {center: cafis, kind: \"0100\", action: duplicate, rate: 0.5}\n"); code != 200 {
		t.Fatalf("put faults %d %s", code, body)
	}
	if code, _ := do("PUT", "/faults", `{"faults":[{"action":"nope"}]}`); code != 400 {
		t.Fatalf("bad faults accepted: %d", code)
	}
	code, body := do("GET", "/faults", "")
	var fs FaultSet
	if code != 200 || json.Unmarshal([]byte(body), &fs) != nil || len(fs.Faults) != 1 || fs.Faults[0].Action != ActDuplicate {
		t.Fatalf("get faults %d %s", code, body)
	}
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	expectCode(t, c.rt("0200", fin(1, "000000", testPAN, 1000, "1123")), "0210", "00")

	code, body = do("GET", "/totals", "")
	var tot struct{ Totals []DateTotals }
	if code != 200 || json.Unmarshal([]byte(body), &tot) != nil {
		t.Fatalf("totals %d %s", code, body)
	}
	found := false
	for _, dt := range tot.Totals {
		if dt.Center == CenterCardnet && dt.Date == testDate && dt.DebitsAmount == 1000 && dt.Current {
			found = true
		}
	}
	if !found || !strings.Contains(body, `"debits_amount": 1000`) {
		t.Fatalf("totals: %s", body)
	}

	if code, body = do("POST", "/cutover?center=cafis", ""); code != 200 || !strings.Contains(body, "20261124") {
		t.Fatalf("cafis cutover %d %s", code, body)
	}
	if code, _ = do("POST", "/cutover?center=visa", ""); code != 400 {
		t.Fatalf("unknown center %d", code)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, body = do("POST", "/cutover?center=cardnet", "")
	}()
	answerCutover(t, c)
	<-done
	if code != 200 || !strings.Contains(body, "20261124") {
		t.Fatalf("cardnet cutover %d %s", code, body)
	}
}
