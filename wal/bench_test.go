package wal

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchMsg is about the size of an encoded CARDNET 0200.
var benchMsg = make([]byte, 180)

// BenchmarkAppend measures durable appends on a real directory: each writer
// appends a request, waits for it to be durable, appends its resolution
// (approved, one debit effect), waits again; every append is one record.
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			opts := Options{Logger: quiet}
			w, err := Open(b.TempDir(), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			var next atomic.Int64
			var wg sync.WaitGroup
			before := w.Stats()
			cpu0 := cpuTime()
			b.ResetTimer()
			start := time.Now()
			for g := 0; g < writers; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					ch := make(chan error, 1)
					done := func(err error) { ch <- err }
					doneRes := func(_ *Resolution, _ bool, err error) { ch <- err }
					pan := []byte("4999991234567890")
					for {
						n := next.Add(2)
						if n > int64(b.N)+1 {
							return
						}
						r := &Request{Center: "cardnet", Key: uint32(n), Date: "20261123", Category: CategoryDebit,
							Amount: 1000, AppID: "bench", AppRef: fmt.Sprintf("r%d", n), PAN: pan, Msg: benchMsg}
						if err := appendRetry(func() error { return w.AppendRequest(r, done) }); err != nil {
							b.Error(err)
							return
						}
						if err := <-ch; err != nil {
							b.Error(err)
							return
						}
						res := &Resolution{RequestID: r.ID, Status: StatusApproved, RespCode: "00", Msg: benchMsg[:60],
							Effects: []Effect{{Date: r.Date, Category: CategoryDebit, Amount: r.Amount}}}
						if err := appendRetry(func() error { return w.AppendResolution(res, doneRes) }); err != nil {
							b.Error(err)
							return
						}
						if err := <-ch; err != nil {
							b.Error(err)
							return
						}
					}
				}(g)
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			after := w.Stats()
			recs := float64(after.Records - before.Records)
			b.ReportMetric(recs/elapsed.Seconds(), "records/s")
			// CPU per record (user+system, whole process, Pebble's background
			// work included): steadier than records/s on a shared machine.
			b.ReportMetric(float64(cpuTime()-cpu0)/recs, "cpu-ns/record")
			if syncs := after.Syncs - before.Syncs; syncs > 0 {
				b.ReportMetric(recs/float64(syncs), "records/sync")
			}
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func appendRetry(fn func() error) error {
	for {
		err := fn()
		if err != ErrBusy {
			return err
		}
		time.Sleep(50 * time.Microsecond)
	}
}
