package engine

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
	"github.com/fxswitch/fxswitch/sim"
)

// BenchmarkEngineSale measures durable sales through the engine and an
// in-process simulator: 8 connections × 64 goroutines pipelining.
func BenchmarkEngineSale(b *testing.B) {
	t := &testing.T{}
	h := newHarness(t, sim.Options{}, nil)
	b.Cleanup(h.e.Close)
	ctx := context.Background()
	if err := h.e.Signon(ctx, "cardnet"); err != nil {
		b.Fatal(err)
	}
	const conns, workers = 8, 64
	var sessions []*client.Session
	for i := 0; i < conns; i++ {
		cl, err := client.Dial(ctx, "unix", h.e.IPCUnix)
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		s, err := cl.OpenSession(ctx, "cardnet")
		if err != nil {
			b.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	var next, fails atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < conns*workers; w++ {
		wg.Add(1)
		go func(s *client.Session) {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				res, err := s.Do(ctx, sale("B"+strconv.FormatInt(n, 10), 1000))
				if err != nil || res.Result != ipc.ResultApproved {
					fails.Add(1)
				}
			}
		}(sessions[w%conns])
	}
	wg.Wait()
	b.StopTimer()
	if f := fails.Load(); f > 0 {
		b.Fatalf("%d failures", f)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tps")
}
