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
	keepIDs        []idRange // effect ranges of the dates that stay
}

// pruneChunk bounds the deletions per Pebble batch during Prune.
const pruneChunk = 4096

// Prune deletes the records of center's business dates earlier than before
// whose reconciliation (精査) is recorded: requests, resolutions, reference
// index entries, effects, totals. A date with a request still in flight is
// left whole (its totals change when that request resolves, and the totals
// fold reads the effects of its other resolutions), and so is a request
// whose resolution may count in a date that stays (its ID is in that date's
// effect range), with its date's totals; a later call prunes them. It
// returns the number of requests deleted. Blocking; appends wait while it
// runs.
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
	var dates []string
	pruned := map[string]bool{}
	for k, t := range w.work.totals {
		d, ok := strings.CutPrefix(k, prefix)
		if ok && d < a.before && t.Reconciliation != "" && !busy[d] {
			dates = append(dates, d)
			pruned[d] = true
		}
	}
	sort.Strings(dates)
	// A resolution can carry an effect dated after its request's date (a
	// reversal counts in the date its cancel was sent). The totals fold of
	// that later date reads it, so while the later date stays, requests in
	// its effect range stay too, and their own date with them.
	var keepIDs []idRange
	for k, r := range w.work.days {
		d, ok := strings.CutPrefix(k, prefix)
		if ok && !pruned[d] && r.hasEffects() {
			keepIDs = append(keepIDs, r)
		}
	}
	a.keepIDs = keepIDs
	for _, date := range dates {
		if err := w.pruneDate(a, date); err != nil {
			return err
		}
	}
	return nil
}

// protected reports whether id is in the effect range of a date that stays.
func (a *pruneArgs) protected(id uint64) bool {
	for _, r := range a.keepIDs {
		if id >= r.emin && id <= r.emax {
			return true
		}
	}
	return false
}

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
		return nil
	}
	keep := false
	if r, ok := w.work.days[k]; ok && r.hasRequests() {
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
			if a.protected(h.ID) {
				keep = true
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
	if !keep {
		p := effectPrefix(a.center, date)
		err := b.DeleteRange(p, prefixEnd(p), nil)
		if err == nil {
			err = b.Delete(totalsKey(a.center, date), nil)
		}
		if err == nil {
			err = b.Delete(dayKey(a.center, date), nil)
		}
		if err != nil {
			return w.fail(err)
		}
	}
	if err := commit(); err != nil {
		return err
	}
	if !keep {
		delete(w.work.totals, k)
		delete(w.work.days, k)
		w.stateMu.Lock()
		delete(w.pub.totals, k)
		delete(w.pub.days, k)
		w.stateMu.Unlock()
	}
	w.log.Info("wal: pruned business date", "center", a.center, "date", date, "kept_in_flight", keep)
	return nil
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
