package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkRecoveryScan measures what a restart costs: Open (Pebble open and
// the in-memory index rebuild) plus InFlight of the center, on logs of 10k
// and 10M records that each have 1,000 requests in flight, spread over the
// whole log. Target: the 10M case within 1.2x of the 10k case.
//
// The logs are built once and cached under os.TempDir()/fxswitch-bench-wal-*
// (the 10M one takes minutes); delete the directories to rebuild.
func BenchmarkRecoveryScan(b *testing.B) {
	for _, c := range []struct {
		name    string
		records int
	}{{"10k", 10_000}, {"10M", 10_000_000}} {
		b.Run("records="+c.name, func(b *testing.B) {
			dir := filepath.Join(os.TempDir(), "fxswitch-bench-wal-"+c.name)
			if err := buildRecoveryLog(dir, c.records, 1000); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w, err := Open(dir, Options{Logger: quiet})
				if err != nil {
					b.Fatal(err)
				}
				inf, err := w.InFlight("cardnet")
				if err != nil {
					b.Fatal(err)
				}
				if len(inf) != 1000 {
					b.Fatalf("%d in flight, want 1000", len(inf))
				}
				b.StopTimer()
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// buildRecoveryLog writes records (requests and resolutions) of which
// inFlight requests stay unresolved, evenly spread, unless dir already holds
// a complete log.
func buildRecoveryLog(dir string, records, inFlight int) error {
	done := filepath.Join(dir, "BUILD-COMPLETE")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	w, err := Open(dir, Options{Logger: quiet, MaxQueue: 1 << 20})
	if err != nil {
		return err
	}
	requests := (records + inFlight) / 2
	every := requests / inFlight
	// Keep up to `window` appends outstanding: the committer then fills
	// batches of MaxBatch and the build runs at Pebble's batch speed.
	const window = 16384
	sem := make(chan struct{}, window)
	toResolve := make(chan uint64, window)
	var firstErr error
	var errMu sync.Mutex
	setErr := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // resolver
		defer wg.Done()
		for id := range toResolve {
			res := &Resolution{RequestID: id, Status: StatusApproved, RespCode: "00", AuthCode: "123456", Msg: benchMsg[:60],
				Effects: []Effect{{Date: "20261123", Category: CategoryDebit, Amount: 1000}}}
			if err := appendRetry(func() error {
				return w.AppendResolution(res, func(_ *Resolution, _ bool, err error) {
					if err != nil {
						setErr(err)
					}
					<-sem
				})
			}); err != nil {
				setErr(err)
				<-sem
			}
		}
	}()
	pan := []byte("4999991234567890")
	for i := 0; i < requests; i++ {
		sem <- struct{}{}
		r := &Request{Center: "cardnet", Key: uint32(i), Date: "20261123", Category: CategoryDebit, Amount: 1000,
			AppID: "bench", AppRef: fmt.Sprintf("r%d", i), PAN: pan, Msg: benchMsg}
		keep := i%every == every/2 && i/every < inFlight
		err := appendRetry(func() error {
			return w.AppendRequest(r, func(err error) {
				if err != nil {
					setErr(err)
				}
				if keep || err != nil {
					<-sem
					return
				}
				toResolve <- r.ID // never blocks: at most `window` outstanding
			})
		})
		if err != nil {
			return err
		}
	}
	for i := 0; i < window; i++ { // wait for every outstanding append
		sem <- struct{}{}
	}
	close(toResolve)
	wg.Wait()
	if firstErr != nil {
		w.Close()
		return firstErr
	}
	// Let Pebble finish the compactions it wants now, so the benchmark
	// measures a settled store rather than the build's backlog (bounded
	// wait). Settled: none running and none started for two seconds.
	// EstimatedDebt is no test: it counts every L0 byte as debt, and L0
	// tables of one key family that overlap nothing are left where they are.
	last, quietSince := int64(-1), time.Now()
	for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); {
		m := w.db.Metrics()
		if m.Compact.Count != last || m.Compact.NumInProgress > 0 {
			last, quietSince = m.Compact.Count, time.Now()
		} else if time.Since(quietSince) >= 2*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(done, nil, 0o644)
}
