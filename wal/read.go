package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

func (w *WAL) checkOpen() error {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return nil
}

// get returns a copy of the value at k, or ErrNotFound.
func (w *WAL) get(k []byte) ([]byte, error) {
	v, closer, err := w.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("wal: read %q: %w", k, err)
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

func (w *WAL) readRequest(id uint64) (*Request, error) {
	k := requestKey(id)
	v, err := w.get(k)
	if err != nil {
		return nil, err
	}
	r, err := decodeRequest(w.seal, k, v)
	if err != nil {
		return nil, err
	}
	if r.ID != id {
		return nil, corrupt(k, "holds request %d", r.ID)
	}
	return r, nil
}

// InFlight returns the requests of center that have no resolution, ordered by
// ID, each with its last cancel attempt and advice retry state. Its cost is
// proportional to the number in flight, not to the size of the log.
func (w *WAL) InFlight(center string) ([]Entry, error) {
	if err := w.checkOpen(); err != nil {
		return nil, err
	}
	type snap struct {
		id uint64
		f  flight
	}
	w.stateMu.RLock()
	var ids []snap
	for id, f := range w.pub.inflight {
		if f.center == center {
			ids = append(ids, snap{id, *f})
		}
	}
	w.stateMu.RUnlock()
	sort.Slice(ids, func(i, j int) bool { return ids[i].id < ids[j].id })
	out := make([]Entry, 0, len(ids))
	for _, s := range ids {
		e, err := w.entry(s.id, &s.f)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (w *WAL) entry(id uint64, f *flight) (Entry, error) {
	r, err := decodeRequest(w.seal, requestKey(id), f.req)
	var ce *CorruptError
	if errors.As(err, &ce) {
		// The bad bytes are the in-flight entry's copy: name that key.
		return Entry{}, corrupt(inFlightKey(f.center, id), "%s", ce.Reason)
	}
	if err != nil {
		return Entry{}, err
	}
	if r.ID != id {
		return Entry{}, corrupt(inFlightKey(f.center, id), "holds request %d", r.ID)
	}
	e := Entry{Req: *r, AdviceAttempts: f.attempts, LastAttemptUnixNano: f.last}
	if f.cancel != nil {
		if e.Cancel, err = decodeCancel(w.seal, cancelKey(id), f.cancel); err != nil {
			return Entry{}, err
		}
	}
	return e, nil
}

// Advices returns the unacknowledged advices of center in queue order (the
// order they were appended). An advice leaves the queue with its resolution.
func (w *WAL) Advices(center string) ([]Entry, error) {
	all, err := w.InFlight(center)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, e := range all {
		if e.Req.Advice {
			out = append(out, e)
		}
	}
	return out, nil
}

// Lookup returns a request and its resolution (nil while in flight), as far
// as they are durable. ErrNotFound if there is no such request.
func (w *WAL) Lookup(id uint64) (*Request, *Resolution, error) {
	if err := w.checkOpen(); err != nil {
		return nil, nil, err
	}
	w.stateMu.RLock()
	_, inFlight := w.pub.inflight[id]
	w.stateMu.RUnlock()
	r, err := w.readRequest(id)
	if err != nil {
		return nil, nil, err
	}
	if inFlight {
		return r, nil, nil
	}
	k := resolvedKey(id)
	v, err := w.get(k)
	if errors.Is(err, ErrNotFound) {
		// Neither in flight nor resolved: the request is in a batch that is
		// not durable yet.
		return nil, nil, fmt.Errorf("%w: request %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, nil, err
	}
	res, err := decodeResolution(w.seal, k, v)
	if err != nil {
		return nil, nil, err
	}
	return r, res, nil
}

// LookupRef returns the most recent request of center with that app
// reference, and its resolution (nil while in flight). ErrNotFound if none.
// The request may still be in a batch that is not yet durable: for the
// idempotency check the reference is taken as soon as it was appended.
func (w *WAL) LookupRef(center, appID, appRef string) (*Request, *Resolution, error) {
	if err := w.checkOpen(); err != nil {
		return nil, nil, err
	}
	k := refKey(center, appID, appRef)
	v, err := w.get(k)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: reference %s/%s/%s", ErrNotFound, center, appID, appRef)
	}
	if err != nil {
		return nil, nil, err
	}
	body, err := decodeMeta(k, v)
	if err != nil {
		return nil, nil, err
	}
	d := dec{b: body}
	id := d.u64()
	if !d.done() {
		return nil, nil, corrupt(k, "reference index entry malformed")
	}
	r, err := w.readRequest(id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, corrupt(k, "references request %d, which is missing", id)
	}
	if err != nil {
		return nil, nil, err
	}
	w.stateMu.RLock()
	_, inFlight := w.pub.inflight[id]
	w.stateMu.RUnlock()
	if inFlight {
		return r, nil, nil
	}
	rk := resolvedKey(id)
	rv, err := w.get(rk)
	if errors.Is(err, ErrNotFound) {
		return r, nil, nil // appended, not yet durable
	}
	if err != nil {
		return nil, nil, err
	}
	res, err := decodeResolution(w.seal, rk, rv)
	if err != nil {
		return nil, nil, err
	}
	return r, res, nil
}

// Totals returns the running totals of center for a business date (zero if
// nothing was counted), with its reconciliation result.
func (w *WAL) Totals(center, date string) (Totals, error) {
	if err := w.checkOpen(); err != nil {
		return Totals{}, err
	}
	w.stateMu.RLock()
	t := w.pub.totals[cdKey(center, date)]
	w.stateMu.RUnlock()
	return t, nil
}

// TotalsDates returns, ascending, the business dates of center that have
// totals or a reconciliation result.
func (w *WAL) TotalsDates(center string) ([]string, error) {
	if err := w.checkOpen(); err != nil {
		return nil, err
	}
	prefix := center + "\x00"
	var dates []string
	w.stateMu.RLock()
	for k := range w.pub.totals {
		if d, ok := strings.CutPrefix(k, prefix); ok {
			dates = append(dates, d)
		}
	}
	w.stateMu.RUnlock()
	sort.Strings(dates)
	return dates, nil
}

// VerifyTotals recomputes the totals of center and date from the records
// and compares them with the running totals (I5): ErrTotalsMismatch when
// they differ. The fold reads the resolutions whose IDs the date's D/ record
// bounds (joined with their requests for the center) and the e/ records of
// earlier builds. It reads a snapshot, so appends go on while it runs.
func (w *WAL) VerifyTotals(center, date string) (running, recomputed Totals, err error) {
	if err := w.checkOpen(); err != nil {
		return Totals{}, Totals{}, err
	}
	// Take the running totals, the ranges and the snapshot at one point: a
	// control op runs between batches, so nothing is half applied.
	var snap *pebble.Snapshot
	var days idRange
	err = w.control(func(c *batchCtx) error {
		k := cdKey(center, date)
		running = w.work.totals[k]
		if t := c.totals[k]; t != nil {
			running = *t
		}
		days = w.work.day(k)
		if r := c.days[k]; r != nil {
			days = *r
		}
		snap = w.db.NewSnapshot()
		return nil
	})
	if err != nil {
		return Totals{}, Totals{}, err
	}
	defer snap.Close()
	if err := foldLegacyEffects(snap, center, date, &recomputed); err != nil {
		return Totals{}, Totals{}, err
	}
	if days.hasEffects() {
		if err := foldResolutions(snap, center, date, days, &recomputed); err != nil {
			return Totals{}, Totals{}, err
		}
	}
	recomputed.Reconciliation = running.Reconciliation
	if !running.sameCounts(recomputed) {
		return running, recomputed, fmt.Errorf("%w: %s %s running %+v, records fold to %+v", ErrTotalsMismatch, center, date, running, recomputed)
	}
	return running, recomputed, nil
}

// foldLegacyEffects adds the e/ records of center and date (earlier builds).
func foldLegacyEffects(r pebble.Reader, center, date string, t *Totals) error {
	p := effectPrefix(center, date)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if len(it.Key()) != len(p)+9 {
			return corrupt(append([]byte(nil), it.Key()...), "effect key malformed")
		}
		cat, amount, err := decodeEffect(it.Key(), it.Value())
		if err != nil {
			return err
		}
		t.add(cat, amount)
	}
	return it.Error()
}

// foldResolutions adds the effects dated date of center's version 2
// resolutions in days' effect range. IDs are shared by all centers, so a
// resolution with a matching effect is joined with its request (a second
// iterator moving forward with it) to learn the center.
func foldResolutions(r pebble.Reader, center, date string, days idRange, t *Totals) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: resolvedKey(days.emin), UpperBound: resolvedKey(days.emax + 1)})
	if err != nil {
		return err
	}
	defer it.Close()
	reqs, err := r.NewIter(&pebble.IterOptions{LowerBound: requestKey(days.emin), UpperBound: requestKey(days.emax + 1)})
	if err != nil {
		return err
	}
	defer reqs.Close()
	for ok := it.First(); ok; ok = it.Next() {
		var these Totals
		ver, matched, err := foldResolution(it.Key(), it.Value(), date, &these)
		if err != nil {
			return err
		}
		if !matched || ver != resolutionVersion {
			continue
		}
		id, _ := trailingID(it.Key())
		rk := requestKey(id)
		if !reqs.SeekGE(rk) || !bytes.Equal(reqs.Key(), rk) {
			if err := reqs.Error(); err != nil {
				return err
			}
			return corrupt(append([]byte(nil), it.Key()...), "resolution of request %d, which is not logged", id)
		}
		h, err := decodeRequestHead(reqs.Key(), reqs.Value())
		if err != nil {
			return err
		}
		if h.Center == center {
			t.merge(these)
		}
	}
	return it.Error()
}

// ---- metadata (control path: blocking, durable on return) ----

func (w *WAL) setMeta(name, center string, value []byte) error {
	if err := validCenter(center); err != nil {
		return err
	}
	k := metaKey(name, center)
	return w.control(func(c *batchCtx) error {
		c.sb.Set(k, encodeMeta(value))
		c.meta[string(k)] = value
		return nil
	})
}

func (w *WAL) getMeta(name, center string) ([]byte, bool, error) {
	if err := w.checkOpen(); err != nil {
		return nil, false, err
	}
	w.stateMu.RLock()
	v, ok := w.pub.meta[string(metaKey(name, center))]
	w.stateMu.RUnlock()
	return v, ok, nil
}

// SetBusinessDate records center's current business date (カット対象日付), durably.
func (w *WAL) SetBusinessDate(center, date string) error {
	if err := validDate(date); err != nil {
		return err
	}
	return w.setMeta("date", center, []byte(date))
}

// BusinessDate returns center's business date, "" if never set.
func (w *WAL) BusinessDate(center string) (string, error) {
	v, _, err := w.getMeta("date", center)
	return string(v), err
}

// ReserveKeys records that matching keys (STAN / 通番) up to upTo are
// allocated for center on date. After a restart the allocator resumes above
// upTo, so a key that may have reached the center is never reused that day.
func (w *WAL) ReserveKeys(center, date string, upTo uint32) error {
	if err := validDate(date); err != nil {
		return err
	}
	return w.setMeta("keys", center, binary.BigEndian.AppendUint32([]byte(date), upTo))
}

// KeyReservation returns the last reservation of center ("" and 0 if none).
func (w *WAL) KeyReservation(center string) (date string, upTo uint32, err error) {
	v, ok, err := w.getMeta("keys", center)
	if err != nil || !ok {
		return "", 0, err
	}
	if len(v) != 12 {
		return "", 0, corrupt(metaKey("keys", center), "key reservation malformed")
	}
	return string(v[:8]), binary.BigEndian.Uint32(v[8:]), nil
}

func boolByte(b bool) []byte {
	if b {
		return []byte{1}
	}
	return []byte{0}
}

// SetSignedOn records center's signon state (開局/閉局): a line that
// reconnects signs on again by itself while it is true.
func (w *WAL) SetSignedOn(center string, on bool) error {
	return w.setMeta("signon", center, boolByte(on))
}

// SignedOn returns center's persisted signon state.
func (w *WAL) SignedOn(center string) (bool, error) {
	v, _, err := w.getMeta("signon", center)
	return len(v) == 1 && v[0] == 1, err
}

// SetRecoveryRequired records whether center needs recovery (リカバリ処理)
// before apps may open sessions (I6).
func (w *WAL) SetRecoveryRequired(center string, required bool) error {
	return w.setMeta("recovery", center, boolByte(required))
}

// RecoveryRequired returns the persisted flag.
func (w *WAL) RecoveryRequired(center string) (bool, error) {
	v, _, err := w.getMeta("recovery", center)
	return len(v) == 1 && v[0] == 1, err
}

// Reconciliation results (精査).
const (
	ReconInBalance    = "in_balance"
	ReconOutOfBalance = "out_of_balance"
)

// SetReconciliation records the reconciliation result of center and date in
// its totals record. A recorded result makes the date eligible for Prune.
func (w *WAL) SetReconciliation(center, date string, result string) error {
	if err := validCenter(center); err != nil {
		return err
	}
	if err := validDate(date); err != nil {
		return err
	}
	if result != ReconInBalance && result != ReconOutOfBalance {
		return fmt.Errorf("%w: reconciliation result %q", ErrInvalid, result)
	}
	return w.control(func(c *batchCtx) error {
		k := cdKey(center, date)
		t := c.totals[k]
		if t == nil {
			cur := w.work.totals[k]
			t = &cur
			c.totals[k] = t
		}
		t.Reconciliation = result
		return nil
	})
}

// MarkClean records a clean shutdown; call it as the last write before
// Close. Any later append clears the marker again.
func (w *WAL) MarkClean() error {
	return w.control(func(c *batchCtx) error {
		c.sb.Set(metaCleanKey, encodeMeta(nil))
		c.clean = 1
		c.recordsAtClean = c.records
		return nil
	})
}
