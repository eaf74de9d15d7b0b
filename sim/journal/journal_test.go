package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	w, err := Create(path, Options{QueueLen: 4})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	orig := TxnKey{"cardnet", "20261123", "000001"}
	rev := TxnKey{"cardnet", "20261124", "000002"}
	recs := []*Record{
		{Time: now, Type: TypeEvent, Center: "cardnet", Event: "signon"},
		{Time: now, Type: TypeMessage, Center: "cardnet", Dir: "in", MTI: "0200", Key: "000001",
			Changes: []Change{{TxnKey: orig, MTI: "0200", Status: StatusApproved, Category: CatDebit, Amount: 1000, Code: "00", Counted: true}}},
		{Time: now, Type: TypeMessage, Center: "cardnet", Dir: "in", MTI: "0200", Key: "000003",
			Changes: []Change{{TxnKey: TxnKey{"cardnet", "20261123", "000003"}, MTI: "0200", Status: StatusDeclined, Category: CatDebit, Amount: 1051, Code: "51"}}},
		{Time: now, Type: TypeTotals, Center: "cardnet", Date: "20261123", Totals: &Totals{DebitsCount: 1, DebitsAmount: 1000}},
		{Time: now, Type: TypeMessage, Center: "cardnet", Dir: "in", MTI: "0400", Key: "000002",
			Changes: []Change{
				{TxnKey: orig, MTI: "0200", Status: StatusReversed, Category: CatDebit, Amount: 1000, Code: "00"},
				{TxnKey: rev, MTI: "0400", Status: StatusAccepted, Category: CatDebitReversal, Amount: 1000, Code: "00", Counted: true, Original: &orig},
			}},
		{Time: now, Type: TypeMessage, Center: "cardnet", Dir: "in", MTI: "0401", Key: "000002", Dedup: DedupRepeat},
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&Record{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	v, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if v.Records != 6 || v.Messages != 4 || v.Events["signon"] != 1 {
		t.Fatalf("counts: %+v", v)
	}
	o := v.Txns[orig]
	if o == nil || o.Status != StatusReversed || o.ReversedBy == nil || *o.ReversedBy != rev {
		t.Fatalf("original: %+v", o)
	}
	if r := v.Txns[rev]; r == nil || r.Status != StatusAccepted || *r.Original != orig {
		t.Fatalf("reversal: %+v", r)
	}
	if got := v.Totals[DateKey{"cardnet", "20261123"}]; got != (Totals{DebitsCount: 1, DebitsAmount: 1000}) {
		t.Fatalf("totals 23: %+v", got)
	}
	if got := v.Totals[DateKey{"cardnet", "20261124"}]; got != (Totals{DebitReversalsCount: 1, DebitReversalsAmount: 1000}) {
		t.Fatalf("totals 24: %+v", got)
	}
	if got := v.EOD[DateKey{"cardnet", "20261123"}]; got.DebitsAmount != 1000 {
		t.Fatalf("eod: %+v", got)
	}
}

func TestReadTornAndCorrupt(t *testing.T) {
	good := `{"t":"2026-11-23T10:00:00Z","type":"event","center":"cafis","event":"signon"}` + "\n"
	v, err := ReadFrom(strings.NewReader(good + `{"t":"2026-11-23T10:0`))
	if err != nil || v.Records != 1 {
		t.Fatalf("torn tail: %v %+v", err, v)
	}
	_, err = ReadFrom(strings.NewReader("not json\n" + good))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt: %v", err)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

func TestTotalsNet(t *testing.T) {
	var tot Totals
	tot.Add(CatDebit, 1000)
	tot.Add(CatDebitReversal, 300)
	tot.Add(CatCredit, 200)
	tot.Add(CatCreditReversal, 50)
	tot.Add(CatAuthorization, 999)
	if tot.Net() != 1000-300-200+50 || tot.DebitsCount != 1 {
		t.Fatalf("%+v net %d", tot, tot.Net())
	}
}

func TestOptionsValidate(t *testing.T) {
	o := Options{QueueLen: -1}
	o.EnsureDefaults()
	if err := o.Validate(); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("%v", err)
	}
}
