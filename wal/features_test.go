package wal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func syncErr(t testing.TB, fn func(done func(error)) error) error {
	t.Helper()
	ch := make(chan error, 1)
	if err := fn(func(err error) { ch <- err }); err != nil {
		return err
	}
	return <-ch
}

func TestBusyWhenQueueFull(t *testing.T) {
	opts := testOpts(vfs.NewMem())
	opts.MaxQueue = 8
	opts.MaxBatch = 2
	w, err := Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// The first callback holds the syncer, so the pipeline and then the
	// queue fill up; appends beyond MaxQueue must be refused at once.
	release := make(chan struct{})
	acks := make(chan error, 1000)
	if err := w.AppendRequest(sampleRequest("cafis", 0), func(err error) { <-release; acks <- err }); err != nil {
		t.Fatal(err)
	}
	accepted, busy := 1, false
	for i := 1; i < 1000 && !busy; i++ {
		err := w.AppendRequest(sampleRequest("cafis", i), func(err error) { acks <- err })
		switch {
		case errors.Is(err, ErrBusy):
			busy = true
		case err != nil:
			t.Fatal(err)
		default:
			accepted++
		}
	}
	if !busy {
		t.Fatalf("no ErrBusy after %d appends with MaxQueue 8", accepted)
	}
	if w.Stats().Busy == 0 {
		t.Fatal("busy not counted")
	}
	close(release)
	for i := 0; i < accepted; i++ {
		if err := <-acks; err != nil {
			t.Fatal(err)
		}
	}
	// Once drained, appends are accepted again.
	if err := syncErr(t, func(d func(error)) error { return w.AppendRequest(sampleRequest("cafis", 2000), d) }); err != nil {
		t.Fatal(err)
	}
}

func TestCleanMarker(t *testing.T) {
	fs := vfs.NewMem()
	w := mustOpen(t, fs, "data")
	if w.WasClean() {
		t.Fatal("fresh WAL reports a clean previous run")
	}
	if err := w.MarkClean(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w = mustOpen(t, fs, "data")
	if !w.WasClean() {
		t.Fatal("MarkClean then Close not seen as clean")
	}
	w.Close() // no MarkClean: the run that follows must see a crash
	w = mustOpen(t, fs, "data")
	if w.WasClean() {
		t.Fatal("Open did not clear the marker")
	}
	// A record appended after MarkClean makes the shutdown unclean again.
	if err := w.MarkClean(); err != nil {
		t.Fatal(err)
	}
	syncRequest(t, w, sampleRequest("cafis", 1))
	w.Close()
	w = mustOpen(t, fs, "data")
	defer w.Close()
	if w.WasClean() {
		t.Fatal("append after MarkClean left the marker set")
	}
}

func TestCancelAndAdviceState(t *testing.T) {
	fs := vfs.NewMem()
	w := mustOpen(t, fs, "data")
	r := sampleRequest("cardnet", 1)
	id := syncRequest(t, w, r)
	adv := sampleRequest("cardnet", 2)
	adv.Advice = true
	advID := syncRequest(t, w, adv)
	adv2 := sampleRequest("cardnet", 3)
	adv2.Advice = true
	adv2ID := syncRequest(t, w, adv2)

	for attempt := uint32(1); attempt <= 2; attempt++ {
		a := &CancelAttempt{RequestID: id, Kind: 4, Attempt: attempt, Key: 900 + attempt, Msg: []byte("0400 " + string(r.PAN))}
		if err := syncErr(t, func(d func(error)) error { return w.AppendCancelAttempt(a, d) }); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if err := syncErr(t, func(d func(error)) error { return w.AppendAdviceAttempt(advID, d) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := syncErr(t, func(d func(error)) error { return w.AppendAdviceAttempt(id, d) }); !errors.Is(err, ErrNotAdvice) {
		t.Fatalf("advice attempt on a non-advice: %v", err)
	}
	if err := syncErr(t, func(d func(error)) error { return w.AppendAdviceAttempt(12345, d) }); !errors.Is(err, ErrUnknownRequest) {
		t.Fatalf("advice attempt on unknown: %v", err)
	}
	if err := syncErr(t, func(d func(error)) error {
		return w.AppendCancelAttempt(&CancelAttempt{RequestID: 12345}, d)
	}); !errors.Is(err, ErrUnknownRequest) {
		t.Fatalf("cancel attempt on unknown: %v", err)
	}
	check := func(w *WAL) {
		t.Helper()
		inf, err := w.InFlight("cardnet")
		if err != nil || len(inf) != 3 || inf[0].Req.ID != id || inf[1].Req.ID != advID || inf[2].Req.ID != adv2ID {
			t.Fatalf("in flight %+v %v", inf, err)
		}
		if c := inf[0].Cancel; c == nil || c.Attempt != 2 || c.Key != 902 || !bytes.HasPrefix(c.Msg, []byte("0400 ")) {
			t.Fatalf("cancel %+v", c)
		}
		advs, err := w.Advices("cardnet")
		if err != nil || len(advs) != 2 || advs[0].Req.ID != advID || advs[0].AdviceAttempts != 3 ||
			advs[0].LastAttemptUnixNano != testOpts(nil).Clock().UnixNano() || advs[1].AdviceAttempts != 0 {
			t.Fatalf("advices %+v %v", advs, err)
		}
	}
	check(w)
	w.Close()
	w = mustOpen(t, fs, "data")
	defer w.Close()
	check(w)
	// The acknowledgement (resolution) removes the advice from the queue.
	if got := syncResolve(t, w, &Resolution{RequestID: advID, Status: StatusApproved}); got.err != nil {
		t.Fatal(got.err)
	}
	advs, _ := w.Advices("cardnet")
	if len(advs) != 1 || advs[0].Req.ID != adv2ID {
		t.Fatalf("advices after ack %+v", advs)
	}
	if err := syncErr(t, func(d func(error)) error { return w.AppendAdviceAttempt(advID, d) }); !errors.Is(err, ErrAlreadyResolved) {
		t.Fatalf("advice attempt after ack: %v", err)
	}
	if got := syncResolve(t, w, &Resolution{RequestID: id, Status: StatusCancelled}); got.err != nil {
		t.Fatal(got.err)
	}
	if err := syncErr(t, func(d func(error)) error {
		return w.AppendCancelAttempt(&CancelAttempt{RequestID: id, Attempt: 3}, d)
	}); !errors.Is(err, ErrAlreadyResolved) {
		t.Fatalf("cancel after resolution: %v", err)
	}
	if inf, _ := w.InFlight("cardnet"); len(inf) != 1 {
		t.Fatalf("in flight %+v", inf)
	}
	if inf, _ := w.InFlight("cafis"); len(inf) != 0 {
		t.Fatalf("other center in flight %+v", inf)
	}
}

func TestMetadata(t *testing.T) {
	fs := vfs.NewMem()
	w := mustOpen(t, fs, "data")
	if d, err := w.BusinessDate("cafis"); err != nil || d != "" {
		t.Fatalf("unset date %q %v", d, err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.SetBusinessDate("cafis", "20261123"))
	must(w.SetBusinessDate("cardnet", "20261124"))
	must(w.ReserveKeys("cardnet", "20261124", 2000))
	must(w.SetSignedOn("cardnet", true))
	must(w.SetRecoveryRequired("cafis", true))
	must(w.SetReconciliation("cardnet", "20261123", ReconInBalance))
	if err := w.SetBusinessDate("cafis", "2026-11-23"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad date: %v", err)
	}
	if err := w.SetReconciliation("cafis", "20261123", "maybe"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad result: %v", err)
	}
	w.Close()
	w = mustOpen(t, fs, "data")
	defer w.Close()
	if d, _ := w.BusinessDate("cafis"); d != "20261123" {
		t.Fatalf("cafis date %q", d)
	}
	if d, _ := w.BusinessDate("cardnet"); d != "20261124" {
		t.Fatalf("cardnet date %q", d)
	}
	if d, up, _ := w.KeyReservation("cardnet"); d != "20261124" || up != 2000 {
		t.Fatalf("reservation %q %d", d, up)
	}
	if d, up, _ := w.KeyReservation("cafis"); d != "" || up != 0 {
		t.Fatalf("cafis reservation %q %d", d, up)
	}
	if on, _ := w.SignedOn("cardnet"); !on {
		t.Fatal("cardnet signon lost")
	}
	if on, _ := w.SignedOn("cafis"); on {
		t.Fatal("cafis signed on")
	}
	if r, _ := w.RecoveryRequired("cafis"); !r {
		t.Fatal("recovery flag lost")
	}
	tot, _ := w.Totals("cardnet", "20261123")
	if tot.Reconciliation != ReconInBalance {
		t.Fatalf("reconciliation %+v", tot)
	}
	if dates, _ := w.TotalsDates("cardnet"); len(dates) != 1 || dates[0] != "20261123" {
		t.Fatalf("dates %v", dates)
	}
}

func TestPrune(t *testing.T) {
	w := mustOpen(t, vfs.NewMem(), "data")
	defer w.Close()
	ids := map[string][]uint64{}
	for i, date := range []string{"20261121", "20261122", "20261122", "20261123"} {
		r := sampleRequest("cardnet", i)
		r.Date = date
		ids[date] = append(ids[date], syncRequest(t, w, r))
	}
	other := sampleRequest("cafis", 9)
	other.Date = "20261121"
	otherID := syncRequest(t, w, other)
	// Resolve all but the second request of the 22nd.
	for date, list := range ids {
		for i, id := range list {
			if date == "20261122" && i == 1 {
				continue
			}
			res := &Resolution{RequestID: id, Status: StatusApproved,
				Effects: []Effect{{Date: date, Category: CategoryDebit, Amount: 10}}}
			if got := syncResolve(t, w, res); got.err != nil {
				t.Fatal(got.err)
			}
		}
	}
	// Nothing is pruned before reconciliation.
	if n, err := w.Prune("cardnet", "20261123"); err != nil || n != 0 {
		t.Fatalf("prune before reconciliation: %d %v", n, err)
	}
	for _, d := range []string{"20261121", "20261122", "20261123"} {
		if err := w.SetReconciliation("cardnet", d, ReconInBalance); err != nil {
			t.Fatal(err)
		}
	}
	// The 21st goes; the 22nd, with a request in flight, stays whole.
	n, err := w.Prune("cardnet", "20261123")
	if err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if _, _, err := w.Lookup(ids["20261121"][0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned request still there: %v", err)
	}
	if _, _, err := w.LookupRef("cardnet", "pos1", "ref-0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned reference still there: %v", err)
	}
	// The in-flight request of the 22nd, its resolved sibling and its date
	// survive, and the fold still matches.
	if _, _, err := w.Lookup(ids["20261122"][0]); err != nil {
		t.Fatalf("resolved request of a date in flight pruned: %v", err)
	}
	if _, _, err := w.VerifyTotals("cardnet", "20261122"); err != nil {
		t.Fatal(err)
	}
	inf, _ := w.InFlight("cardnet")
	if len(inf) != 1 || inf[0].Req.ID != ids["20261122"][1] {
		t.Fatalf("in flight after prune %+v", inf)
	}
	dates, _ := w.TotalsDates("cardnet")
	if strings.Join(dates, ",") != "20261122,20261123" {
		t.Fatalf("dates after prune %v", dates)
	}
	if _, _, err := w.Lookup(ids["20261123"][0]); err != nil {
		t.Fatalf("newer date pruned: %v", err)
	}
	if _, _, err := w.Lookup(otherID); err != nil {
		t.Fatalf("other center pruned: %v", err)
	}
	// Resolving the straggler lets the 22nd go entirely.
	if got := syncResolve(t, w, &Resolution{RequestID: ids["20261122"][1], Status: StatusDeclined}); got.err != nil {
		t.Fatal(got.err)
	}
	if _, _, err := w.VerifyTotals("cardnet", "20261122"); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Prune("cardnet", "20261123"); err != nil || n != 2 {
		t.Fatalf("second prune: %d %v", n, err)
	}
	if dates, _ := w.TotalsDates("cardnet"); strings.Join(dates, ",") != "20261123" {
		t.Fatalf("dates after second prune %v", dates)
	}
	if tot, _ := w.Totals("cardnet", "20261122"); tot != (Totals{}) {
		t.Fatalf("pruned totals %+v", tot)
	}
}

func TestInvalidArguments(t *testing.T) {
	w := mustOpen(t, vfs.NewMem(), "data")
	defer w.Close()
	bad := []*Request{
		{Center: "", Date: "20261123"},
		{Center: "cardnet", Date: "2026112"},
		{Center: "cardnet\x00x", Date: "20261123"},
		{Center: strings.Repeat("c", 17), Date: "20261123"},
		{Center: "cardnet", Date: "20261123", AppRef: strings.Repeat("r", 33)},
		{Center: "cardnet", Date: "20261123", Category: 9},
		{Center: "cardnet", Date: "20261123", Msg: make([]byte, MaxMsgBytes+1)},
	}
	for i, r := range bad {
		if err := w.AppendRequest(r, func(error) { t.Error("callback for a refused append") }); !errors.Is(err, ErrInvalid) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	badRes := []*Resolution{
		{RequestID: 1, Status: 7},
		{RequestID: 1, Effects: []Effect{{Date: "20261123", Category: CategoryNone}}},
		{RequestID: 1, Effects: []Effect{{Date: "x", Category: CategoryDebit}}},
	}
	for i, r := range badRes {
		if err := w.AppendResolution(r, func(*Resolution, bool, error) { t.Error("callback") }); !errors.Is(err, ErrInvalid) {
			t.Errorf("resolution case %d: %v", i, err)
		}
	}
	var o Options
	o.EnsureDefaults()
	o.MaxBatch = -1
	if err := o.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("validate: %v", err)
	}
}

func TestClosed(t *testing.T) {
	w := mustOpen(t, vfs.NewMem(), "data")
	syncRequest(t, w, sampleRequest("cafis", 1))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.AppendRequest(sampleRequest("cafis", 2), func(error) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if _, err := w.InFlight("cafis"); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if err := w.SetSignedOn("cafis", true); !errors.Is(err, ErrClosed) {
		t.Fatalf("control after close: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(nil)
	w, err := Open(filepath.Join(dir, "data"), opts)
	if err != nil {
		t.Fatal(err)
	}
	id := syncRequest(t, w, sampleRequest("cafis", 1))
	w.Close()
	keyPath := filepath.Join(dir, "data", "pan.key")
	st, err := os.Stat(keyPath)
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Fatalf("key file %v %v", st, err)
	}
	// The same key written as hex is accepted.
	raw, _ := os.ReadFile(keyPath)
	hexPath := filepath.Join(dir, "hex.key")
	if err := os.WriteFile(hexPath, []byte(hex.EncodeToString(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.KeyFile = hexPath
	w, err = Open(filepath.Join(dir, "data"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Lookup(id); err != nil {
		t.Fatalf("lookup with hex key: %v", err)
	}
	w.Close()
	// Another key: Open refuses it, the data is not misread.
	otherPath := filepath.Join(dir, "other.key")
	opts.KeyFile = otherPath
	if _, err := Open(filepath.Join(dir, "data"), opts); !errors.Is(err, ErrBadKey) {
		t.Fatalf("open with another key: %v", err)
	}
	if _, err := os.Stat(otherPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file was left behind for data it cannot open: %v", err)
	}
	// A record sealed under another key is refused too.
	other, err := newSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	opts.KeyFile = hexPath
	w, err = Open(filepath.Join(dir, "data"), opts)
	if err != nil {
		t.Fatal(err)
	}
	r := sampleRequest("cafis", 9)
	r.ID = id
	if err := w.db.Set(requestKey(id), encodeRequest(nil, other, newNonceSource(), requestKey(id), r), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Lookup(id); !errors.Is(err, ErrBadKey) {
		t.Fatalf("lookup of a record sealed with another key: %v", err)
	}
	w.Close()
	// A malformed key file.
	opts.KeyFile = otherPath
	if err := os.WriteFile(otherPath, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(dir, "data"), opts); !errors.Is(err, ErrBadKey) {
		t.Fatalf("open with malformed key: %v", err)
	}
}

func TestCorruptRecordReportedWithKey(t *testing.T) {
	fs := vfs.NewMem()
	w := mustOpen(t, fs, "data")
	id := syncRequest(t, w, sampleRequest("cafis", 1))
	tamper := func(k []byte, fn func(v []byte) []byte) {
		t.Helper()
		v, closer, err := w.db.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		v = fn(append([]byte(nil), v...))
		closer.Close()
		if err := w.db.Set(k, v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	wantCorrupt := func(err error, k []byte) {
		t.Helper()
		var ce *CorruptError
		if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) || !bytes.Equal(ce.Key, k) ||
			!strings.Contains(err.Error(), fmt.Sprintf("%q", k)) {
			t.Fatalf("want corruption at %q, got %v", k, err)
		}
	}
	// A flipped byte: the checksum catches it.
	rk := requestKey(id)
	tamper(rk, func(v []byte) []byte { v[len(v)-10] ^= 0xff; return v })
	_, _, err := w.Lookup(id)
	wantCorrupt(err, rk)
	// Same checksum, tampered ciphertext: GCM refuses it.
	tamper(rk, func(v []byte) []byte {
		v[len(v)-10] ^= 0xff
		body := v[:len(v)-4]
		body[len(body)-20] ^= 0x01
		return endValue(append([]byte(nil), body...))
	})
	_, _, err = w.Lookup(id)
	wantCorrupt(err, rk)
	// The in-flight entry's copy, found after a restart.
	ik := inFlightKey("cafis", id)
	tamper(ik, func(v []byte) []byte { v[3] ^= 0x40; return v })
	w.Close()
	w = mustOpen(t, fs, "data")
	defer w.Close()
	_, err = w.InFlight("cafis")
	wantCorrupt(err, ik)
}

// TestNoClearPANOnDisk writes known PANs through every record kind that may
// carry one and searches every file of the data directory for them, both
// while Pebble's log holds them and after a flush to sstables.
func TestNoClearPANOnDisk(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir, testOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	var pans [][]byte
	for i := 0; i < 50; i++ {
		pan := []byte(fmt.Sprintf("4%015d", 271828182845+int64(i)*7919))
		pans = append(pans, pan)
		r := sampleRequest("cardnet", i)
		r.PAN = pan
		r.Msg = append(append([]byte("0200 2"), pan...), " 000000001000"...)
		id := syncRequest(t, w, r)
		a := &CancelAttempt{RequestID: id, Attempt: 1, Msg: append([]byte("0400 "), pan...)}
		if err := syncErr(t, func(d func(error)) error { return w.AppendCancelAttempt(a, d) }); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if got := syncResolve(t, w, &Resolution{RequestID: id, Status: StatusApproved, Msg: append([]byte("0210 "), pan...)}); got.err != nil {
				t.Fatal(got.err)
			}
		}
	}
	grep := func(when string) {
		t.Helper()
		files := 0
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for _, pan := range pans {
				if bytes.Contains(data, pan) || bytes.Contains(data, pan[6:]) {
					return fmt.Errorf("%s: clear PAN %s in %s", when, pan, path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files < 3 {
			t.Fatalf("%s: only %d files searched", when, files)
		}
	}
	grep("in the log")
	w.Close() // flushes the memtable into sstables
	grep("in sstables")
	w, err = Open(dir, testOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	inf, err := w.InFlight("cardnet")
	if err != nil || len(inf) != 25 || !bytes.Equal(inf[0].Cancel.Msg[5:], inf[0].Req.PAN) {
		t.Fatalf("sealed fields do not round-trip: %d %v", len(inf), err)
	}
}

func TestLookupRefMostRecent(t *testing.T) {
	w := mustOpen(t, vfs.NewMem(), "data")
	defer w.Close()
	if _, _, err := w.LookupRef("cafis", "pos1", "ref-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unused reference: %v", err)
	}
	first := syncRequest(t, w, sampleRequest("cafis", 1))
	if got := syncResolve(t, w, &Resolution{RequestID: first, Status: StatusDeclined}); got.err != nil {
		t.Fatal(got.err)
	}
	r, res, err := w.LookupRef("cafis", "pos1", "ref-1")
	if err != nil || r.ID != first || res == nil || res.Status != StatusDeclined {
		t.Fatalf("first: %+v %+v %v", r, res, err)
	}
	second := syncRequest(t, w, sampleRequest("cafis", 1))
	r, res, err = w.LookupRef("cafis", "pos1", "ref-1")
	if err != nil || r.ID != second || res != nil {
		t.Fatalf("second: %+v %+v %v", r, res, err)
	}
	if _, _, err := w.LookupRef("cardnet", "pos1", "ref-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other center: %v", err)
	}
}

func TestMaxBatchAndOnSync(t *testing.T) {
	opts := testOpts(vfs.NewMem())
	opts.MaxBatch = 3
	var mu sync.Mutex
	var sizes []int
	opts.OnSync = func(records int, _ time.Duration) {
		mu.Lock()
		sizes = append(sizes, records)
		mu.Unlock()
	}
	w, err := Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	acks := make(chan error, n)
	for i := 0; i < n; i++ {
		if err := w.AppendRequest(sampleRequest("cafis", i), func(err error) { acks <- err }); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		if err := <-acks; err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range sizes {
		if s < 1 || s > 3 {
			t.Fatalf("batch of %d records with MaxBatch 3", s)
		}
		total += s
	}
	st := w.Stats()
	if total != n || st.Records != n || st.Syncs < n/3 || st.MaxBatch > 3 {
		t.Fatalf("OnSync saw %d records in %d batches, stats %+v", total, len(sizes), st)
	}
}
