package wal

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"pgregory.net/rapid"
)

// TestPruneKeepsTheFold runs random days of two centers: requests on the
// current business date, resolutions whose effects count in the request's
// date and sometimes a reversal in a later one, date changes,
// reconciliations and prunes, interleaved. After every step the totals of
// every date that remains equal both VerifyTotals' fold and a model that
// never forgets; no in-flight request and no request of a remaining date
// is ever pruned.
func TestPruneKeepsTheFold(t *testing.T) {
	dates := []string{"20261120", "20261121", "20261122", "20261123", "20261124"}
	centers := []string{"cardnet", "cafis"}
	var reversals, datesPruned, keptWhole int
	rapid.Check(t, func(rt *rapid.T) {
		w := mustOpen(rt, vfs.NewMem(), "data")
		defer w.Close()
		type req struct {
			id       uint64
			center   string
			day      int
			resolved bool
		}
		var reqs []*req
		model := map[string]*Totals{} // center\x00date -> every effect ever resolved
		pruned := map[string]bool{}   // center\x00date pruned (never written again)
		today := map[string]int{"cardnet": 0, "cafis": 0}
		n := 0
		steps := rapid.IntRange(20, 120).Draw(rt, "steps")
		for step := 0; step < steps; step++ {
			c := rapid.SampledFrom(centers).Draw(rt, "center")
			switch rapid.IntRange(0, 9).Draw(rt, "op") {
			case 0, 1, 2, 3: // request on the current date
				n++
				r := sampleRequest(c, n)
				r.Date = dates[today[c]]
				reqs = append(reqs, &req{id: syncRequest(rt, w, r), center: c, day: today[c]})
			case 4, 5, 6: // resolve one, maybe with a reversal in a later date
				var open []*req
				for _, r := range reqs {
					if !r.resolved {
						open = append(open, r)
					}
				}
				if len(open) == 0 {
					continue
				}
				r := rapid.SampledFrom(open).Draw(rt, "resolve")
				var effs []Effect
				if rapid.Bool().Draw(rt, "approved") {
					effs = append(effs, Effect{Date: dates[r.day], Category: CategoryDebit, Amount: int64(10 + r.id)})
					if later := today[r.center]; later > r.day && rapid.Bool().Draw(rt, "reversed") {
						effs = append(effs, Effect{Date: dates[later], Category: CategoryDebitReversal, Amount: int64(10 + r.id)})
						reversals++
					}
				}
				for _, e := range effs {
					if pruned[cdKey(r.center, e.Date)] {
						rt.Fatalf("%s %s counts an effect after it was pruned", r.center, e.Date)
					}
				}
				if got := syncResolve(rt, w, &Resolution{RequestID: r.id, Status: StatusApproved, Effects: effs}); got.err != nil {
					rt.Fatal(got.err)
				}
				r.resolved = true
				for _, e := range effs {
					k := cdKey(r.center, e.Date)
					if model[k] == nil {
						model[k] = &Totals{}
					}
					model[k].add(e.Category, e.Amount)
				}
			case 7: // next business date
				if today[c] < len(dates)-1 {
					today[c]++
				}
			case 8: // reconcile a closed date that has totals
				if today[c] == 0 {
					continue
				}
				d := dates[rapid.IntRange(0, today[c]-1).Draw(rt, "reconcile")]
				if pruned[cdKey(c, d)] {
					continue
				}
				if err := w.SetReconciliation(c, d, ReconInBalance); err != nil {
					rt.Fatal(err)
				}
			case 9: // retention
				before := dates[rapid.IntRange(0, today[c]).Draw(rt, "before")]
				old, _ := w.TotalsDates(c)
				if _, err := w.Prune(c, before); err != nil {
					rt.Fatal(err)
				}
				now, _ := w.TotalsDates(c)
				kept := map[string]bool{}
				for _, d := range now {
					kept[d] = true
				}
				for _, d := range old {
					tot, _ := w.Totals(c, d)
					switch {
					case !kept[d]:
						pruned[cdKey(c, d)] = true
						datesPruned++
					case d < before && tot.Reconciliation != "":
						keptWhole++ // in flight, or counted by a date that stays
					}
				}
			}
			// Every date that remains: running == fold == model.
			for _, c := range centers {
				ds, err := w.TotalsDates(c)
				if err != nil {
					rt.Fatal(err)
				}
				for _, d := range ds {
					running, _, err := w.VerifyTotals(c, d)
					if err != nil {
						rt.Fatalf("step %d: %v", step, err)
					}
					want := Totals{}
					if m := model[cdKey(c, d)]; m != nil {
						want = *m
					}
					if !running.sameCounts(want) {
						rt.Fatalf("step %d: %s %s totals %+v, model %+v", step, c, d, running, want)
					}
				}
			}
			// Requests: gone only with their date, never in flight.
			for _, r := range reqs {
				_, _, err := w.Lookup(r.id)
				gone := errors.Is(err, ErrNotFound)
				if err != nil && !gone {
					rt.Fatal(err)
				}
				datePruned := pruned[cdKey(r.center, dates[r.day])]
				if gone != datePruned || (gone && !r.resolved) {
					rt.Fatalf("step %d: request %d (%s %s, resolved %v): gone %v, its date pruned %v",
						step, r.id, r.center, dates[r.day], r.resolved, gone, datePruned)
				}
			}
		}
	})
	// The runs must have exercised what the test is about.
	if reversals == 0 || datesPruned == 0 || keptWhole == 0 {
		t.Fatalf("reversals %d, dates pruned %d, reconciled dates kept %d: a case never happened", reversals, datesPruned, keptWhole)
	}
	t.Logf("reversals %d, dates pruned %d, reconciled dates kept %d", reversals, datesPruned, keptWhole)
}

// TestCrashDuringPrune prunes a date that spans several batches and takes a
// crash image after each of them. Every image reopens with the fold equal
// to the totals of every date it lists, and a second Prune finishes the
// job: the same end state as an uninterrupted one.
func TestCrashDuringPrune(t *testing.T) {
	defer func(n uint32) { pruneChunk = n }(pruneChunk)
	pruneChunk = 16 // 40 requests × 2-3 deletions: several batches
	build := func(fs vfs.FS) (*WAL, []uint64, []uint64) {
		w := mustOpen(t, fs, "data")
		var old, cur []uint64
		for i := 0; i < 40; i++ {
			r := sampleRequest("cardnet", i)
			r.Date = "20261122"
			old = append(old, syncApproved(t, w, r, Effect{Date: "20261122", Category: CategoryDebit, Amount: 10}))
		}
		for i := 40; i < 45; i++ {
			cur = append(cur, syncApproved(t, w, sampleRequest("cardnet", i),
				Effect{Date: "20261123", Category: CategoryCredit, Amount: 7}))
		}
		if err := w.SetReconciliation("cardnet", "20261122", ReconInBalance); err != nil {
			t.Fatal(err)
		}
		return w, old, cur
	}
	check := func(what string, w *WAL, old, cur []uint64, finished bool) {
		t.Helper()
		dates, err := w.TotalsDates("cardnet")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dates {
			if _, _, err := w.VerifyTotals("cardnet", d); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		wantTotals(t, w, "cardnet", "20261123", Totals{CreditsCount: 5, CreditsAmount: 35})
		for _, id := range cur {
			if _, _, err := w.Lookup(id); err != nil {
				t.Fatalf("%s: request %d of the day that stays: %v", what, id, err)
			}
		}
		if !finished {
			return
		}
		if len(dates) != 1 || dates[0] != "20261123" {
			t.Fatalf("%s: dates %v", what, dates)
		}
		for _, id := range old {
			if _, _, err := w.Lookup(id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: pruned request %d: %v", what, id, err)
			}
		}
		if n := countPrefix(t, w, []byte{pDay, '/'}); n != 1 {
			t.Fatalf("%s: %d D/ records, want 1", what, n)
		}
	}

	// How many batches an uninterrupted Prune takes.
	fs := vfs.NewCrashableMem()
	w, old, cur := build(fs)
	commits := 0
	w.afterPruneCommit = func() { commits++ }
	if n, err := w.Prune("cardnet", "20261123"); err != nil || n != 40 {
		t.Fatalf("prune: %d %v", n, err)
	}
	check("uninterrupted", w, old, cur, true)
	w.Close()
	if commits < 4 {
		t.Fatalf("the prune took %d batches; the test needs several", commits)
	}

	for k := 1; k <= commits; k++ {
		fs := vfs.NewCrashableMem()
		w, old, cur := build(fs)
		var img *vfs.MemFS
		seen := 0
		w.afterPruneCommit = func() {
			if seen++; seen == k {
				img = fs.CrashClone(vfs.CrashCloneCfg{})
			}
		}
		if _, err := w.Prune("cardnet", "20261123"); err != nil {
			t.Fatal(err)
		}
		w.Close()
		what := fmt.Sprintf("crash after prune batch %d of %d", k, commits)
		w2 := mustOpen(t, img, "data")
		check(what, w2, old, cur, false)
		if _, err := w2.Prune("cardnet", "20261123"); err != nil {
			t.Fatalf("%s: prune again: %v", what, err)
		}
		check(what+", pruned again", w2, old, cur, true)
		w2.Close()
	}
}
