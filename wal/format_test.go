package wal

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The fixture in testdata/format1 was written by the build before effects
// moved into the resolutions (testdata/format1/README.md lists what it
// holds): version 1 resolutions with e/ twins and 16-byte D/ values.
func openFormat1(t *testing.T) *WAL {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("testdata", "format1")
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == "README.md" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func refID(t *testing.T, w *WAL, center string, n int) uint64 {
	t.Helper()
	r, _, err := w.LookupRef(center, "pos1", "ref-"+strconv.Itoa(n))
	if err != nil {
		t.Fatalf("ref-%d: %v", n, err)
	}
	return r.ID
}

func countPrefix(t *testing.T, w *WAL, p []byte) int {
	t.Helper()
	it, err := w.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}

func wantTotals(t *testing.T, w *WAL, center, date string, want Totals) {
	t.Helper()
	running, fold, err := w.VerifyTotals(center, date)
	if err != nil {
		t.Fatalf("verify %s %s: %v", center, date, err)
	}
	if !running.sameCounts(want) || !fold.sameCounts(want) {
		t.Fatalf("%s %s: running %+v, fold %+v, want %+v", center, date, running, fold, want)
	}
}

// TestFormat1DataDirectory opens a data directory of the earlier format,
// resolves into it with this build and prunes it: the totals fold counts
// every effect exactly once, whichever format holds it.
func TestFormat1DataDirectory(t *testing.T) {
	w := openFormat1(t)
	defer w.Close()
	const d22, d23 = "20261122", "20261123"
	if n := countPrefix(t, w, []byte{pEffect, '/'}); n != 7 {
		t.Fatalf("fixture holds %d e/ records, want 7: not the earlier format", n)
	}
	a4, a5, c1 := refID(t, w, "cardnet", 4), refID(t, w, "cardnet", 5), refID(t, w, "cafis", 8)

	// As written: 22nd 1000+5000 debits, 500 credit; 23rd 700 debit, 300
	// credit and the 5000 reversal of a5; cafis 900.
	t22 := Totals{DebitsCount: 2, DebitsAmount: 6000, CreditsCount: 1, CreditsAmount: 500}
	t23 := Totals{DebitsCount: 1, DebitsAmount: 700, CreditsCount: 1, CreditsAmount: 300,
		DebitReversalsCount: 1, DebitReversalsAmount: 5000}
	wantTotals(t, w, "cardnet", d22, t22)
	wantTotals(t, w, "cardnet", d23, t23)
	wantTotals(t, w, "cafis", d23, Totals{DebitsCount: 1, DebitsAmount: 900})

	// This build resolves the request left in flight (approved on the
	// 22nd, reversed on the 23rd) and a new request of the 23rd. The 23rd's
	// effect range then spans a4 .. b3, over version 1 resolutions whose
	// effects are already counted from e/: they must not count twice.
	if got := syncResolve(t, w, &Resolution{RequestID: a4, Status: StatusCancelled, Effects: []Effect{
		{Date: d22, Category: CategoryDebit, Amount: 4000},
		{Date: d23, Category: CategoryDebitReversal, Amount: 4000}}}); got.err != nil {
		t.Fatal(got.err)
	}
	b3r := sampleRequest("cardnet", 10)
	b3r.Date, b3r.Amount = d23, 70
	syncApproved(t, w, b3r, Effect{Date: d23, Category: CategoryDebit, Amount: 70})
	if n := countPrefix(t, w, []byte{pEffect, '/'}); n != 7 {
		t.Fatalf("this build wrote e/ records: %d", n)
	}
	t22.DebitsCount, t22.DebitsAmount = 3, 10000
	t23.DebitsCount, t23.DebitsAmount = 2, 770
	t23.DebitReversalsCount, t23.DebitReversalsAmount = 2, 9000
	wantTotals(t, w, "cardnet", d22, t22)
	wantTotals(t, w, "cardnet", d23, t23)
	wantTotals(t, w, "cafis", d23, Totals{DebitsCount: 1, DebitsAmount: 900})

	// The 22nd reconciled, the 23rd not yet: a4's resolution counts in the
	// 23rd, so the 22nd, whose requests overlap the 23rd's effect range,
	// stays whole.
	if err := w.SetReconciliation("cardnet", d22, ReconInBalance); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Prune("cardnet", d23); err != nil || n != 0 {
		t.Fatalf("prune the 22nd: %d %v", n, err)
	}
	for _, id := range []uint64{refID(t, w, "cardnet", 1), a4, a5} {
		if _, _, err := w.Lookup(id); err != nil {
			t.Fatalf("request %d pruned while the 23rd counts its date's requests: %v", id, err)
		}
	}
	wantTotals(t, w, "cardnet", d22, t22)
	wantTotals(t, w, "cardnet", d23, t23)

	// Both reconciled: the whole of cardnet goes; cafis stays.
	if err := w.SetReconciliation("cardnet", d23, ReconInBalance); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Prune("cardnet", "20261124"); err != nil || n != 8 {
		t.Fatalf("prune both: %d %v", n, err)
	}
	if dates, _ := w.TotalsDates("cardnet"); len(dates) != 0 {
		t.Fatalf("cardnet dates after prune: %v", dates)
	}
	if n := countPrefix(t, w, append([]byte{pEffect, '/'}, "cardnet"...)); n != 0 {
		t.Fatalf("%d cardnet e/ records survive the prune", n)
	}
	for _, id := range []uint64{a4, a5} {
		if _, _, err := w.Lookup(id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("request %d after prune: %v", id, err)
		}
	}
	if _, _, err := w.Lookup(c1); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, w, "cafis", d23, Totals{DebitsCount: 1, DebitsAmount: 900})
}

// TestVerifyTotalsFindsMissingRecords removes records behind the WAL's back:
// the fold no longer matches the running totals, or names the broken key.
func TestVerifyTotalsFindsMissingRecords(t *testing.T) {
	w := mustOpen(t, vfs.NewMem(), "data")
	defer w.Close()
	var ids []uint64
	for i := 0; i < 3; i++ {
		ids = append(ids, syncApproved(t, w, sampleRequest("cardnet", i),
			Effect{Date: "20261123", Category: CategoryDebit, Amount: 10}))
	}
	// A request of another center between them, resolved into its own date.
	syncApproved(t, w, sampleRequest("cafis", 9), Effect{Date: "20261123", Category: CategoryDebit, Amount: 99})
	wantTotals(t, w, "cardnet", "20261123", Totals{DebitsCount: 3, DebitsAmount: 30})
	wantTotals(t, w, "cafis", "20261123", Totals{DebitsCount: 1, DebitsAmount: 99})

	if err := w.db.Delete(resolvedKey(ids[1]), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	running, fold, err := w.VerifyTotals("cardnet", "20261123")
	if !errors.Is(err, ErrTotalsMismatch) || running.DebitsCount != 3 || fold.DebitsCount != 2 {
		t.Fatalf("resolution removed: running %+v fold %+v err %v", running, fold, err)
	}
	if err := w.db.Delete(requestKey(ids[2]), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_, _, err = w.VerifyTotals("cardnet", "20261123")
	var ce *CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "not logged") {
		t.Fatalf("request removed under its resolution: %v", err)
	}
}
