package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testOpts(fs vfs.FS) Options {
	return Options{
		FS:            fs,
		Logger:        quiet,
		MemTableBytes: 4 << 20,
		Clock:         func() time.Time { return time.Unix(1_800_000_000, 0) },
	}
}

// helperT is what the test helpers need: *testing.T, *testing.B and
// *rapid.T all have it.
type helperT interface {
	Helper()
	Fatalf(format string, args ...any)
}

func mustOpen(t helperT, fs vfs.FS, dir string) *WAL {
	t.Helper()
	w, err := Open(dir, testOpts(fs))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return w
}

// syncAppend appends and waits for the durable acknowledgement.
func syncRequest(t helperT, w *WAL, r *Request) uint64 {
	t.Helper()
	ch := make(chan error, 1)
	if err := w.AppendRequest(r, func(err error) { ch <- err }); err != nil {
		t.Fatalf("append request: %v", err)
	}
	if err := <-ch; err != nil {
		t.Fatalf("request durable: %v", err)
	}
	return r.ID
}

type resResult struct {
	first *Resolution
	dup   bool
	err   error
}

func syncResolve(t helperT, w *WAL, res *Resolution) resResult {
	t.Helper()
	ch := make(chan resResult, 1)
	if err := w.AppendResolution(res, func(f *Resolution, dup bool, err error) { ch <- resResult{f, dup, err} }); err != nil {
		t.Fatalf("append resolution: %v", err)
	}
	return <-ch
}

// syncApproved logs r and its approved resolution carrying effs, both
// durable, and returns r's ID.
func syncApproved(t helperT, w *WAL, r *Request, effs ...Effect) uint64 {
	t.Helper()
	id := syncRequest(t, w, r)
	if got := syncResolve(t, w, &Resolution{RequestID: id, Status: StatusApproved, Effects: effs}); got.err != nil {
		t.Fatalf("resolve %d: %v", id, got.err)
	}
	return id
}

func sampleRequest(center string, n int) *Request {
	pan := []byte(fmt.Sprintf("49%014d", 1000000+n))
	return &Request{
		Center: center, Key: uint32(n), Date: "20261123", Op: 1, Category: CategoryDebit,
		Amount: int64(100 + n), AppID: "pos1", Session: 7, AppRef: fmt.Sprintf("ref-%d", n),
		PAN: pan, Msg: append([]byte("0200|"), pan...), TimeUnixNano: int64(n),
	}
}

func TestRequestResolutionLifecycle(t *testing.T) {
	fs := vfs.NewMem()
	w := mustOpen(t, fs, "data")
	r := sampleRequest("cardnet", 1)
	id := syncRequest(t, w, r)
	if id == 0 {
		t.Fatal("request ID 0")
	}
	inf, err := w.InFlight("cardnet")
	if err != nil || len(inf) != 1 || inf[0].Req.ID != id || !bytes.Equal(inf[0].Req.PAN, r.PAN) {
		t.Fatalf("in flight = %+v, %v", inf, err)
	}
	res := &Resolution{RequestID: id, Status: StatusApproved, RespCode: "00", AuthCode: "123456",
		Msg: []byte("0210"), Effects: []Effect{{Date: "20261123", Category: CategoryDebit, Amount: 101}}}
	got := syncResolve(t, w, res)
	if got.err != nil || got.dup {
		t.Fatalf("resolve: %+v", got)
	}
	// Idempotent: a second, different resolution changes nothing.
	got = syncResolve(t, w, &Resolution{RequestID: id, Status: StatusDeclined, RespCode: "05"})
	if got.err != nil || !got.dup || got.first.Status != StatusApproved || got.first.AuthCode != "123456" {
		t.Fatalf("duplicate: %+v", got)
	}
	tot, _ := w.Totals("cardnet", "20261123")
	if tot.DebitsCount != 1 || tot.DebitsAmount != 101 {
		t.Fatalf("totals %+v", tot)
	}
	if inf, _ := w.InFlight("cardnet"); len(inf) != 0 {
		t.Fatalf("still in flight: %+v", inf)
	}
	// Unknown request.
	got = syncResolve(t, w, &Resolution{RequestID: 999, Status: StatusApproved})
	if !errors.Is(got.err, ErrUnknownRequest) {
		t.Fatalf("unknown: %+v", got)
	}
	lr, lres, err := w.LookupRef("cardnet", "pos1", "ref-1")
	if err != nil || lr.ID != id || lres == nil || lres.Status != StatusApproved || !bytes.Equal(lres.Msg, []byte("0210")) {
		t.Fatalf("lookup ref: %+v %+v %v", lr, lres, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = mustOpen(t, fs, "data")
	defer w.Close()
	tot2, _ := w.Totals("cardnet", "20261123")
	if tot2 != tot {
		t.Fatalf("totals after reopen %+v, want %+v", tot2, tot)
	}
	if _, _, err := w.VerifyTotals("cardnet", "20261123"); err != nil {
		t.Fatal(err)
	}
	got = syncResolve(t, w, &Resolution{RequestID: id, Status: StatusDeclined})
	if !got.dup || got.first.Status != StatusApproved {
		t.Fatalf("duplicate after reopen: %+v %v", got, got.err)
	}
	r2 := sampleRequest("cardnet", 2)
	if id2 := syncRequest(t, w, r2); id2 <= id {
		t.Fatalf("ID %d after restart not above %d", id2, id)
	}
}

// TestConcurrentAppenders256: 256 goroutines append requests and resolutions
// at once (run under -race by make test).
func TestConcurrentAppenders256(t *testing.T) {
	w := mustOpen(t, vfs.NewMem(), "data")
	defer w.Close()
	const writers, each = 256, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r := sampleRequest("cafis", g*each+i)
				ch := make(chan error, 1)
				if err := w.AppendRequest(r, func(err error) { ch <- err }); err != nil {
					errs <- err
					return
				}
				if err := <-ch; err != nil {
					errs <- err
					return
				}
				rc := make(chan error, 1)
				res := &Resolution{RequestID: r.ID, Status: StatusApproved,
					Effects: []Effect{{Date: r.Date, Category: CategoryDebit, Amount: 1}}}
				if err := w.AppendResolution(res, func(_ *Resolution, _ bool, err error) { rc <- err }); err != nil {
					errs <- err
					return
				}
				if err := <-rc; err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	tot, _ := w.Totals("cafis", "20261123")
	if tot.DebitsCount != writers*each || tot.DebitsAmount != writers*each {
		t.Fatalf("totals %+v", tot)
	}
	if _, _, err := w.VerifyTotals("cafis", "20261123"); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Records != 2*writers*each {
		t.Fatalf("stats %+v", st)
	}
}
