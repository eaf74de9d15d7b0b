package wal

import (
	"errors"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

type pruneArgs struct {
	center, before string
	n              int
}

// pruneChunk bounds the deletions per Pebble batch during Prune (a
// variable so the crash tests can make dates span several batches).
var pruneChunk uint32 = 4096

// Prune deletes the records of center's business dates earlier than before
// whose reconciliation (精査) is recorded: requests, resolutions, reference
// index entries, effects, totals. A date goes whole or not at all: one with
// a request still in flight stays (its totals change when that request
// resolves), and so does one whose requests a remaining date's totals fold
// reads (a reversal dated after its request); a later call prunes them. A
// prune a crash interrupted is finished by the next call. It returns the
// number of requests deleted. Blocking; appends wait while it runs.
func (w *WAL) Prune(center string, before string) (int, error) {
	if err := validCenter(center); err != nil {
		return 0, err
	}
	if err := validDate(before); err != nil {
		return 0, err
	}
	args := &pruneArgs{center: center, before: before}
	ch := make(chan error, 1)
	if err := w.enqueue(op{kind: kPrune, prune: args, ctlDone: ch}, false); err != nil {
		return 0, err
	}
	err := <-ch
	return args.n, err
}

// runPrune runs on the committer between batches.
func (w *WAL) runPrune(o *op) {
	if err := w.Err(); err != nil {
		o.ctlDone <- err
		return
	}
	o.ctlDone <- w.prune(o.prune)
}

func (w *WAL) prune(a *pruneArgs) error {
	prefix := a.center + "\x00"
	// A date with a request in flight stays whole: its totals still change,
	// and the fold reads the effects of its resolved requests.
	busy := map[string]bool{}
	for id, f := range w.work.inflight {
		if f.center != a.center {
			continue
		}
		h, err := decodeRequestHead(inFlightKey(f.center, id), f.req)
		if err != nil {
			return err
		}
		busy[h.Date] = true
	}
	gone := map[string]bool{}
	for k, r := range w.work.days {
		if d, ok := strings.CutPrefix(k, prefix); ok && r.pruning {
			gone[d] = true // a prune a crash interrupted: finish it
		}
	}
	for k, t := range w.work.totals {
		d, ok := strings.CutPrefix(k, prefix)
		if ok && d < a.before && t.Reconciliation != "" && !busy[d] {
			gone[d] = true
		}
	}
	// A resolution can carry an effect dated after its request's date (a
	// reversal counts in the date its cancel was sent), and the fold of that
	// date reads it. So a date whose requests overlap the effect range of a
	// date that stays stays too, and its own effect range then protects
	// further dates: repeat until nothing changes.
	for changed := true; changed; {
		changed = false
		var stay []idRange
		for k, r := range w.work.days {
			if d, ok := strings.CutPrefix(k, prefix); ok && !gone[d] && r.hasEffects() {
				stay = append(stay, r)
			}
		}
		for d := range gone {
			r := w.work.day(cdKey(a.center, d))
			if !r.pruning && r.hasRequests() && overlapsEffects(r, stay) {
				delete(gone, d)
				changed = true
			}
		}
	}
	dates := make([]string, 0, len(gone))
	for d := range gone {
		dates = append(dates, d)
	}
	sort.Strings(dates)
	for _, date := range dates {
		if err := w.pruneDate(a, date); err != nil {
			return err
		}
	}
	return nil
}

// overlapsEffects reports whether r's request IDs meet any effect range.
func overlapsEffects(r idRange, ranges []idRange) bool {
	for _, o := range ranges {
		if r.min <= o.emax && o.emin <= r.max {
			return true
		}
	}
	return false
}

// pruneDate deletes one date in three steps, each durable: its totals (and
// e/ records) with D/ marked pruning, so the date leaves TotalsDates and the
// fold before any record it counts goes; its requests and resolutions, in
// chunks; then D/. A crash in between leaves the mark, and the next Prune
// finishes the date.
func (w *WAL) pruneDate(a *pruneArgs, date string) error {
	k := cdKey(a.center, date)
	b := w.db.NewBatch()
	defer func() { _ = b.Close() }()
	commit := func() error {
		if b.Empty() {
			return nil
		}
		if err := commitSync(w.db, b); err != nil {
			return w.fail(err)
		}
		w.stats.syncs.Add(1)
		b.Reset()
		if w.afterPruneCommit != nil {
			w.afterPruneCommit()
		}
		return nil
	}
	r, hasDay := w.work.days[k]
	if !r.pruning {
		p := effectPrefix(a.center, date)
		err := b.DeleteRange(p, prefixEnd(p), nil)
		if err == nil {
			err = b.Delete(totalsKey(a.center, date), nil)
		}
		if err == nil && hasDay {
			r.pruning = true
			err = b.Set(dayKey(a.center, date), encodeRange(r), nil)
		}
		if err != nil {
			return w.fail(err)
		}
		if err := commit(); err != nil {
			return err
		}
		w.forgetDate(k, r, hasDay)
	}
	if !hasDay {
		w.log.Info("wal: pruned business date", "center", a.center, "date", date)
		return nil
	}
	if r.hasRequests() {
		it, err := w.db.NewIter(&pebble.IterOptions{LowerBound: requestKey(r.min), UpperBound: requestKey(r.max + 1)})
		if err != nil {
			return w.fail(err)
		}
		for valid := it.First(); valid; valid = it.Next() {
			h, err := decodeRequestHead(it.Key(), it.Value())
			if err != nil {
				it.Close()
				return err
			}
			if h.Center != a.center || h.Date != date {
				continue
			}
			err = b.Delete(requestKey(h.ID), nil)
			if err == nil {
				err = b.Delete(resolvedKey(h.ID), nil)
			}
			if err == nil && (h.AppID != "" || h.AppRef != "") {
				err = w.pruneRef(b, h)
			}
			if err == nil && b.Count() >= pruneChunk {
				err = commit()
			}
			if err != nil {
				it.Close()
				return w.fail(err)
			}
			a.n++
		}
		if err := it.Error(); err != nil {
			it.Close()
			return w.fail(err)
		}
		it.Close()
	}
	if err := b.Delete(dayKey(a.center, date), nil); err != nil {
		return w.fail(err)
	}
	if err := commit(); err != nil {
		return err
	}
	w.forgetDate(k, idRange{}, false)
	w.log.Info("wal: pruned business date", "center", a.center, "date", date)
	return nil
}

// forgetDate applies a durable prune step to both copies of the state: the
// date's totals are gone, and its ranges become r (or go, if !keepDay).
func (w *WAL) forgetDate(k string, r idRange, keepDay bool) {
	w.work.forgetDate(k, r, keepDay)
	w.stateMu.Lock()
	w.pub.forgetDate(k, r, keepDay)
	w.stateMu.Unlock()
}

func (s *state) forgetDate(k string, r idRange, keepDay bool) {
	delete(s.totals, k)
	if keepDay {
		s.days[k] = r
	} else {
		delete(s.days, k)
	}
}

// pruneRef deletes the reference index entry if it still names h (a newer
// request with the same reference keeps it).
func (w *WAL) pruneRef(b *pebble.Batch, h requestHead) error {
	k := refKey(h.Center, h.AppID, h.AppRef)
	v, err := w.get(k)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	body, err := decodeMeta(k, v)
	if err != nil {
		return err
	}
	if id, ok := trailingID(body); ok && len(body) == 8 && id == h.ID {
		return b.Delete(k, nil)
	}
	return nil
}
