package metrics

import (
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkRecordRequest is the hot-path cost per answered request: one
// counter add and one histogram record on a pre-built attribute set.
func BenchmarkRecordRequest(b *testing.B) {
	m := newMetrics(b)
	ops := DefaultOps
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		m.Request("cardnet", ops[i%len(ops)], "approved", 1200*time.Microsecond)
		i++
	}
}

func BenchmarkRecordRequestParallel(b *testing.B) {
	m := newMetrics(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request("cafis", "sale", "approved", 800*time.Microsecond)
		}
	})
}

func BenchmarkCenterRoundTrip(b *testing.B) {
	m := newMetrics(b)
	b.ReportAllocs()
	for b.Loop() {
		m.CenterRoundTrip("cardnet", 900*time.Microsecond)
	}
}

func BenchmarkWALSync(b *testing.B) {
	m := newMetrics(b)
	b.ReportAllocs()
	for b.Loop() {
		m.WALSync(64, 350*time.Microsecond)
	}
}

// BenchmarkScrape is the cost of one /metrics request (without parsing) with
// both centers' gauges, every request series and the runtime collectors.
func BenchmarkScrape(b *testing.B) {
	m := newMetrics(b)
	for _, c := range DefaultCenters {
		for _, op := range DefaultOps {
			for _, r := range DefaultResults {
				m.Request(c, op, r, time.Millisecond)
			}
		}
	}
	req := httptest.NewRequest("GET", "/metrics", nil)
	m.SetStateFunc(func() State {
		return State{Centers: []CenterState{
			{Name: "cardnet", BusinessDate: "20261123", Lines: []LineState{{Addr: "127.0.0.1:7700", State: LineSignedOn}}},
			{Name: "cafis", BusinessDate: "20261123", Lines: []LineState{{Addr: "127.0.0.1:7800", State: LineSignedOn}}},
		}}
	})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
