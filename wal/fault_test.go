package wal

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

var errInjected = errors.New("injected I/O error")

// logFault fails the at-th write or sync of Pebble's log files once armed.
type logFault struct {
	armed atomic.Bool
	count atomic.Int64
	at    int64
	fired atomic.Bool
}

func (f *logFault) String() string { return fmt.Sprintf("log write #%d", f.at) }

func (f *logFault) MaybeError(op errorfs.Op) error {
	if !f.armed.Load() || !strings.HasSuffix(op.Path, ".log") {
		return nil
	}
	switch op.Kind {
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFileSync, errorfs.OpFileSyncData,
		errorfs.OpFileSyncTo, errorfs.OpFileFlush, errorfs.OpFilePreallocate:
	default:
		return nil
	}
	if f.count.Add(1) == f.at {
		f.fired.Store(true)
		return errInjected
	}
	return nil
}

// TestErrorInjectionAtEveryLogWrite fails each write or sync of Pebble's log
// in turn, under concurrent appends, and checks: the failure is sticky (every
// later append fails, Err reports it), and nothing was acknowledged that a
// crash right after the failure would lose.
func TestErrorInjectionAtEveryLogWrite(t *testing.T) {
	runs := 0
	for at := int64(1); ; at++ {
		mem := vfs.NewCrashableMem()
		fault := &logFault{at: at}
		w, err := Open("data", testOpts(errorfs.Wrap(mem, fault)))
		if err != nil {
			t.Fatalf("write %d: open: %v", at, err)
		}
		fault.armed.Store(true)

		var mu sync.Mutex
		ackedReq := map[uint64]bool{}
		ackedRes := map[uint64]bool{}
		var sawFailure atomic.Bool
		var falseAck atomic.Value
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 8; i++ {
					afterFailure := sawFailure.Load()
					r := sampleRequest("cardnet", g*100+i)
					err := waitErr(func(d func(error)) error { return w.AppendRequest(r, d) })
					if err != nil {
						if !errors.Is(err, ErrFailed) {
							falseAck.Store(fmt.Sprintf("request error %v does not wrap ErrFailed", err))
						}
						sawFailure.Store(true)
						continue
					}
					if afterFailure {
						falseAck.Store(fmt.Sprintf("request %d acknowledged after a failure", r.ID))
					}
					mu.Lock()
					ackedReq[r.ID] = true
					mu.Unlock()
					afterFailure = sawFailure.Load()
					res := &Resolution{RequestID: r.ID, Status: StatusApproved,
						Effects: []Effect{{Date: r.Date, Category: CategoryDebit, Amount: r.Amount}}}
					ch := make(chan error, 1)
					if err := w.AppendResolution(res, func(_ *Resolution, _ bool, err error) { ch <- err }); err != nil {
						sawFailure.Store(true)
						continue
					}
					if err := <-ch; err != nil {
						sawFailure.Store(true)
						continue
					}
					if afterFailure {
						falseAck.Store(fmt.Sprintf("resolution %d acknowledged after a failure", r.ID))
					}
					mu.Lock()
					ackedRes[r.ID] = true
					mu.Unlock()
				}
			}(g)
		}
		wg.Wait()
		if msg := falseAck.Load(); msg != nil {
			t.Fatalf("write %d: %v", at, msg)
		}
		if !fault.fired.Load() {
			// Pebble panics when closing its log fails while rotating it
			// (the flush in Close); that path is not the commit path
			// under test, so disarm first.
			fault.armed.Store(false)
			_ = w.Close()
			break // the workload finished before the at-th write: all covered
		}
		runs++
		if err := w.Err(); !errors.Is(err, ErrFailed) || !errors.Is(err, errInjected) {
			t.Fatalf("write %d: Err() = %v after an injected failure", at, err)
		}
		if !sawFailure.Load() {
			t.Fatalf("write %d: the injected failure reached no caller", at)
		}
		if err := w.AppendRequest(sampleRequest("cafis", 1), func(error) {}); !errors.Is(err, ErrFailed) {
			t.Fatalf("write %d: append after failure: %v", at, err)
		}
		if err := w.SetSignedOn("cafis", true); !errors.Is(err, ErrFailed) {
			t.Fatalf("write %d: control after failure: %v", at, err)
		}
		// The machine dies now: only synced data survives.
		image := mem.CrashClone(vfs.CrashCloneCfg{})
		_ = w.Close()
		w2, err := Open("data", testOpts(image))
		if err != nil {
			t.Fatalf("write %d: reopen: %v", at, err)
		}
		for id := range ackedReq {
			_, res, err := w2.Lookup(id)
			if err != nil {
				t.Fatalf("write %d: acknowledged request %d lost: %v", at, id, err)
			}
			if ackedRes[id] && res == nil {
				t.Fatalf("write %d: acknowledged resolution of %d lost", at, id)
			}
		}
		if _, _, err := w2.VerifyTotals("cardnet", "20261123"); err != nil {
			t.Fatalf("write %d: %v", at, err)
		}
		w2.Close()
	}
	if runs < 10 {
		t.Fatalf("only %d injection points exercised", runs)
	}
	t.Logf("%d injection points", runs)
}

// sstFault fails every write of an sstable once armed: memtable flushes fail.
type sstFault struct{ armed atomic.Bool }

func (f *sstFault) String() string { return "sstable writes" }

func (f *sstFault) MaybeError(op errorfs.Op) error {
	if f.armed.Load() && strings.HasSuffix(op.Path, ".sst") &&
		(op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileWriteAt || op.Kind == errorfs.OpCreate) {
		return errInjected
	}
	return nil
}

// TestFlushFailureFailsTheWAL: a memtable flush that cannot write its
// sstable (full or failing disk) fails the WAL sticky, like a log error,
// instead of letting the memtables fill until appends stall.
func TestFlushFailureFailsTheWAL(t *testing.T) {
	fault := &sstFault{}
	w, err := Open("data", testOpts(errorfs.Wrap(vfs.NewMem(), fault)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		syncRequest(t, w, sampleRequest("cafis", i))
	}
	fault.armed.Store(true)
	if _, err := w.db.AsyncFlush(); err != nil {
		t.Fatal(err)
	}
	// The flush runs in Pebble's background; wait (bounded) until its
	// failure has reached the WAL.
	for i := 0; i < 10000 && w.Err() == nil; i++ {
		time.Sleep(time.Millisecond)
	}
	if err := w.Err(); !errors.Is(err, ErrFailed) || !errors.Is(err, errInjected) {
		t.Fatalf("Err() = %v after a failed flush", err)
	}
	if err := w.AppendRequest(sampleRequest("cafis", 99), func(error) {}); !errors.Is(err, ErrFailed) {
		t.Fatalf("append after failed flush: %v", err)
	}
	fault.armed.Store(false) // let Pebble's retried flush finish so Close returns
	_ = w.Close()
}
