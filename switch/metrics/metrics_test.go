package metrics

import (
	"errors"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/fxswitch/fxswitch/ctl"
)

func newMetrics(t testing.TB) *Metrics {
	t.Helper()
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// scrape GETs the handler and parses the text format, as Prometheus would.
func scrape(t testing.TB, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: status %d: %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("scrape: parse: %v", err)
	}
	return fams
}

// sample finds the series of family name whose labels include want.
func sample(t testing.TB, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("family %s not exported", name)
	}
next:
	for _, mt := range f.GetMetric() {
		got := map[string]string{}
		for _, lp := range mt.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return mt
	}
	t.Fatalf("%s%v: no such series", name, want)
	return nil
}

func counterValue(t testing.TB, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	return sample(t, fams, name, labels).GetCounter().GetValue()
}

func gaugeValue(t testing.TB, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	return sample(t, fams, name, labels).GetGauge().GetValue()
}

func TestRequestCountsAndLatency(t *testing.T) {
	m := newMetrics(t)
	for range 3 {
		m.Request("cardnet", "sale", "approved", 2*time.Millisecond)
	}
	m.Request("cardnet", "sale", "declined", 20*time.Millisecond)
	m.Request("cafis", "authorize", "timeout", 5*time.Second)
	m.Request("visa", "sale", "approved", time.Millisecond)    // unknown center
	m.Request("cafis", "teleport", "beamed", time.Millisecond) // unknown op and result

	fams := scrape(t, m)
	l := func(c, op, r string) map[string]string { return map[string]string{"center": c, "op": op, "result": r} }
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{l("cardnet", "sale", "approved"), 3},
		{l("cardnet", "sale", "declined"), 1},
		{l("cafis", "authorize", "timeout"), 1},
		{l(Other, "sale", "approved"), 1},
		{l("cafis", Other, Other), 1},
	} {
		if got := counterValue(t, fams, "fxswitch_requests_total", tc.labels); got != tc.want {
			t.Errorf("requests%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if n := len(fams["fxswitch_requests_total"].GetMetric()); n != 5 {
		t.Errorf("requests: %d series, want 5 (only recorded combinations)", n)
	}

	h := sample(t, fams, "fxswitch_request_duration_seconds", l("cardnet", "sale", "approved")).GetHistogram()
	if h.GetSampleCount() != 3 || math.Abs(h.GetSampleSum()-0.006) > 1e-9 {
		t.Errorf("duration: count %d sum %v, want 3 and 0.006", h.GetSampleCount(), h.GetSampleSum())
	}
	// 2 ms is in the 0.002 bucket (le is inclusive) and every bucket above.
	for _, b := range h.GetBucket() {
		want := uint64(0)
		if b.GetUpperBound() >= 0.002 {
			want = 3
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("duration bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	h = sample(t, fams, "fxswitch_request_duration_seconds", l("cafis", "authorize", "timeout")).GetHistogram()
	if h.GetSampleSum() != 5 {
		t.Errorf("timeout duration sum %v, want 5", h.GetSampleSum())
	}
}

func TestPerCenterCounters(t *testing.T) {
	m := newMetrics(t)
	m.CenterRoundTrip("cardnet", 1500*time.Microsecond)
	m.Timeout("cardnet")
	m.Timeout("cardnet")
	m.CancelStarted("cardnet")
	m.CancelStarted("cardnet")
	m.CancelConfirmed("cardnet")
	m.LateResponse("cafis")
	m.DuplicateResponse("cafis")
	m.DuplicateResponse("cafis")
	m.BadFrame("cardnet")
	m.Reconnect("cafis", "127.0.0.1:7800")
	m.Reconnect("cafis", "127.0.0.1:7800")
	m.Reconnect("cafis", "127.0.0.1:7801")
	m.WALSync(64, 400*time.Microsecond)
	m.WALSync(1, 200*time.Microsecond)

	fams := scrape(t, m)
	c := func(name string) map[string]string { return map[string]string{"center": name} }
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"fxswitch_timeouts_total", c("cardnet"), 2},
		{"fxswitch_cancels_started_total", c("cardnet"), 2},
		{"fxswitch_cancels_confirmed_total", c("cardnet"), 1},
		{"fxswitch_late_responses_total", c("cafis"), 1},
		{"fxswitch_duplicate_responses_total", c("cafis"), 2},
		{"fxswitch_bad_frames_total", c("cardnet"), 1},
		{"fxswitch_line_reconnects_total", map[string]string{"center": "cafis", "line": "127.0.0.1:7800"}, 2},
		{"fxswitch_line_reconnects_total", map[string]string{"center": "cafis", "line": "127.0.0.1:7801"}, 1},
	} {
		if got := counterValue(t, fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	rt := sample(t, fams, "fxswitch_center_round_trip_seconds", c("cardnet")).GetHistogram()
	if rt.GetSampleCount() != 1 || rt.GetSampleSum() != 0.0015 {
		t.Errorf("round trip: count %d sum %v", rt.GetSampleCount(), rt.GetSampleSum())
	}
	ws := sample(t, fams, "fxswitch_wal_sync_duration_seconds", nil).GetHistogram()
	if ws.GetSampleCount() != 2 || math.Abs(ws.GetSampleSum()-0.0006) > 1e-12 {
		t.Errorf("wal sync: count %d sum %v", ws.GetSampleCount(), ws.GetSampleSum())
	}
	wr := sample(t, fams, "fxswitch_wal_records_per_sync", nil).GetHistogram()
	if wr.GetSampleCount() != 2 || wr.GetSampleSum() != 65 {
		t.Errorf("records per sync: count %d sum %v", wr.GetSampleCount(), wr.GetSampleSum())
	}
	for _, b := range wr.GetBucket() {
		if b.GetUpperBound() == 32 && b.GetCumulativeCount() != 1 || b.GetUpperBound() == 64 && b.GetCumulativeCount() != 2 {
			t.Errorf("records per sync bucket le=%v: %d", b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
}

// Per-center counters of configured centers exist at 0 from the start.
func TestCountersStartAtZero(t *testing.T) {
	fams := scrape(t, newMetrics(t))
	for _, name := range []string{"fxswitch_timeouts_total", "fxswitch_cancels_started_total", "fxswitch_cancels_confirmed_total",
		"fxswitch_late_responses_total", "fxswitch_duplicate_responses_total", "fxswitch_bad_frames_total"} {
		for _, c := range DefaultCenters {
			if got := counterValue(t, fams, name, map[string]string{"center": c}); got != 0 {
				t.Errorf("%s{center=%s} = %v at start", name, c, got)
			}
		}
	}
}

func TestStateGauges(t *testing.T) {
	m := newMetrics(t)
	fams := scrape(t, m)
	if _, ok := fams["fxswitch_in_flight"]; ok {
		t.Error("gauges reported before SetStateFunc")
	}
	calls := 0
	m.SetStateFunc(func() State {
		calls++
		return State{Centers: []CenterState{
			{
				Name: "cardnet", SignedOn: true, BusinessDate: "20261123", InFlight: 7, Sessions: 3,
				AdviceDepth: 2, AdviceOldestAge: 1500 * time.Millisecond, LastReconciliation: ReconciliationOutOfBalance,
				Lines: []LineState{{Addr: "127.0.0.1:7700", State: LineSignedOn, InFlight: 5}, {Addr: "127.0.0.1:7701", State: LineConnecting, InFlight: 2}},
			},
			{Name: "cafis", BusinessDate: "bad", RecoveryRequired: true, LastReconciliation: ReconciliationNone,
				Lines: []LineState{{Addr: "127.0.0.1:7800", State: LineDown}}},
		}}
	})
	fams = scrape(t, m)
	if calls != 1 {
		t.Errorf("state function called %d times for one scrape, want 1", calls)
	}
	cn, cf := map[string]string{"center": "cardnet"}, map[string]string{"center": "cafis"}
	line := func(c, a string) map[string]string { return map[string]string{"center": c, "line": a} }
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"fxswitch_in_flight", cn, 7},
		{"fxswitch_center_signed_on", cn, 1},
		{"fxswitch_center_signed_on", cf, 0},
		{"fxswitch_sessions", cn, 3},
		{"fxswitch_advice_queue_depth", cn, 2},
		{"fxswitch_advice_oldest_age_seconds", cn, 1.5},
		{"fxswitch_business_date", cn, 20261123},
		{"fxswitch_reconciliation_result", cn, 0},
		{"fxswitch_reconciliation_result", cf, -1},
		{"fxswitch_recovery_required", cn, 0},
		{"fxswitch_recovery_required", cf, 1},
		{"fxswitch_line_state", line("cardnet", "127.0.0.1:7700"), 3},
		{"fxswitch_line_state", line("cardnet", "127.0.0.1:7701"), 1},
		{"fxswitch_line_state", line("cafis", "127.0.0.1:7800"), 0},
		{"fxswitch_line_in_flight", line("cardnet", "127.0.0.1:7700"), 5},
		{"fxswitch_line_in_flight", line("cardnet", "127.0.0.1:7701"), 2},
	} {
		if got := gaugeValue(t, fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	// A malformed business date is left out rather than exported wrong.
	if n := len(fams["fxswitch_business_date"].GetMetric()); n != 1 {
		t.Errorf("business date: %d series, want 1 (cafis's date is malformed)", n)
	}
	m.SetStateFunc(nil)
	if _, ok := scrape(t, m)["fxswitch_in_flight"]; ok {
		t.Error("gauges still reported after SetStateFunc(nil)")
	}
}

func TestStateFromStatus(t *testing.T) {
	st := &ctl.Status{Centers: []ctl.CenterStatus{{
		Name: "cardnet", SignedOn: true, BusinessDate: "20261123", InFlight: 4, Sessions: 2, AdviceDepth: 1,
		Lines: []ctl.LineStatus{
			{Addr: "a:1", State: ctl.LineSignedOn, InFlight: 3},
			{Addr: "a:2", State: ctl.LineConnected},
			{Addr: "a:3", State: ctl.LineConnecting},
			{Addr: "a:4", State: ctl.LineDown},
			{Addr: "a:5", State: "state(9)"},
		},
		LastReconciliation: &ctl.ReconcileResult{Result: ctl.ReconcileInBalance},
	}, {
		Name: "cafis", RecoveryRequired: true,
		LastReconciliation: &ctl.ReconcileResult{Result: ctl.ReconcileOutOfBalance},
	}, {
		Name: "x",
	}}}
	s := StateFromStatus(st)
	if len(s.Centers) != 3 {
		t.Fatalf("%d centers", len(s.Centers))
	}
	c := s.Centers[0]
	if c.Name != "cardnet" || !c.SignedOn || c.BusinessDate != "20261123" || c.InFlight != 4 || c.Sessions != 2 ||
		c.AdviceDepth != 1 || c.LastReconciliation != ReconciliationInBalance || c.RecoveryRequired {
		t.Errorf("cardnet: %+v", c)
	}
	wantStates := []int{LineSignedOn, LineConnected, LineConnecting, LineDown, LineDown}
	for i, l := range c.Lines {
		if l.State != wantStates[i] {
			t.Errorf("line %s: state %d, want %d", l.Addr, l.State, wantStates[i])
		}
	}
	if c.Lines[0].InFlight != 3 {
		t.Errorf("line in flight %d", c.Lines[0].InFlight)
	}
	if !s.Centers[1].RecoveryRequired || s.Centers[1].LastReconciliation != ReconciliationOutOfBalance {
		t.Errorf("cafis: %+v", s.Centers[1])
	}
	if s.Centers[2].LastReconciliation != ReconciliationNone {
		t.Errorf("no reconciliation: %d", s.Centers[2].LastReconciliation)
	}
	if got := StateFromStatus(nil); len(got.Centers) != 0 {
		t.Errorf("nil status: %+v", got)
	}
}

// Two Metrics in one process must not share series (each engine of a test
// has its own registry).
func TestIndependentRegistries(t *testing.T) {
	a, b := newMetrics(t), newMetrics(t)
	a.Timeout("cafis")
	if got := counterValue(t, scrape(t, b), "fxswitch_timeouts_total", map[string]string{"center": "cafis"}); got != 0 {
		t.Errorf("b sees a's timeout: %v", got)
	}
	if got := counterValue(t, scrape(t, a), "fxswitch_timeouts_total", map[string]string{"center": "cafis"}); got != 1 {
		t.Errorf("a: %v", got)
	}
}

func TestRuntimeMetrics(t *testing.T) {
	if _, ok := scrape(t, newMetrics(t))["go_goroutines"]; !ok {
		t.Error("go_goroutines missing by default")
	}
	m, err := New(Options{NoRuntimeMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Timeout("cafis")
	fams := scrape(t, m)
	for name := range fams {
		if !strings.HasPrefix(name, "fxswitch_") {
			t.Errorf("NoRuntimeMetrics: %s exported", name)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{Centers: []string{"cafis", "cafis"}},
		{Ops: []string{""}},
		{Results: []string{Other}},
		{Centers: make([]string, maxLabelValues+1)},
		{LatencyBucketsSeconds: []float64{0.1, 0.1}},
		{RecordsPerSyncBuckets: []float64{2, 1}},
	} {
		if _, err := New(o); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", o, err)
		}
	}
	m, err := New(Options{Centers: []string{"cardnet"}, Ops: []string{"sale"}, Results: []string{"approved"}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Request("cafis", "refund", "declined", time.Millisecond)
	if got := counterValue(t, scrape(t, m), "fxswitch_requests_total", map[string]string{"center": Other, "op": Other, "result": Other}); got != 1 {
		t.Errorf("other/other/other = %v", got)
	}
}

func TestAfterClose(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// Recording after Close must not panic (the engine may still be stopping).
	m.Request("cafis", "sale", "approved", time.Millisecond)
	m.WALSync(1, time.Millisecond)
	m.Reconnect("cafis", "x")
}

// Several lines to one address keep a series each.
func TestRepeatedLineAddress(t *testing.T) {
	m := newMetrics(t)
	m.SetStateFunc(func() State {
		return State{Centers: []CenterState{{Name: "cafis", Lines: []LineState{
			{Addr: "a:1", State: LineSignedOn, InFlight: 4}, {Addr: "a:1", State: LineDown, InFlight: 0}, {Addr: "b:1", State: LineConnected},
		}}}}
	})
	fams := scrape(t, m)
	for label, want := range map[string]float64{"a:1": LineSignedOn, "a:1#2": LineDown, "b:1": LineConnected} {
		if got := gaugeValue(t, fams, "fxswitch_line_state", map[string]string{"center": "cafis", "line": label}); got != want {
			t.Errorf("line %s: %v, want %v", label, got, want)
		}
	}
	if n := len(fams["fxswitch_line_state"].GetMetric()); n != 3 {
		t.Errorf("%d line series, want 3", n)
	}
}

func TestDateNumber(t *testing.T) {
	for s, want := range map[string]int64{"20261123": 20261123, "00000101": 101} {
		if got, ok := dateNumber(s); !ok || got != want {
			t.Errorf("%q: %d %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "2026112", "2026-11-2", "202611230"} {
		if _, ok := dateNumber(s); ok {
			t.Errorf("%q accepted", s)
		}
	}
}
