package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
)

// ErrInvalid is wrapped by every Options validation error.
var ErrInvalid = errors.New("metrics: invalid options")

// Other is the label value recorded in place of a center, operation or
// result that is not in Options: the series stay bounded whatever a caller
// passes.
const Other = "other"

// Label names of the exported series.
const (
	LabelCenter = "center"
	LabelOp     = "op"
	LabelResult = "result"
	LabelLine   = "line"
)

// Line states as exported by fxswitch_line_state (DESIGN §3: down →
// connecting → connected → signed on).
const (
	LineDown       = 0
	LineConnecting = 1
	LineConnected  = 2
	LineSignedOn   = 3
)

// Reconciliation is the outcome of the last reconciliation (精査) of a
// center. The zero value is ReconciliationNone, so a CenterState left unset
// never reads as out of balance.
type Reconciliation uint8

const (
	ReconciliationNone Reconciliation = iota
	ReconciliationInBalance
	ReconciliationOutOfBalance
)

// Value is the number exported by fxswitch_reconciliation_result: 1 in
// balance, 0 out of balance, -1 none.
func (r Reconciliation) Value() int64 {
	switch r {
	case ReconciliationInBalance:
		return 1
	case ReconciliationOutOfBalance:
		return 0
	}
	return -1
}

// Default label values: the centers and IPC operations and results of
// DESIGN §5, plus "error" for requests answered with an IPC Error frame
// (busy, invalid field, not signed on, ...).
var (
	DefaultCenters = []string{"cafis", "cardnet"}
	DefaultOps     = []string{"authorize", "sale", "refund", "cancel", "advice", "inquiry"}
	DefaultResults = []string{"approved", "declined", "cancelled", "timeout", "failed", "error"}
)

// Default histogram bucket boundaries. Latencies bracket the 5 ms p99 budget
// of DESIGN §7 closely (a bucket boundary at exactly 0.005) and reach the
// request timeout (5 s by default); WAL syncs are sub-millisecond when
// healthy (PERF-NOTES: ≈0.34 ms per fsync).
var (
	DefaultLatencyBucketsSeconds = []float64{
		0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075,
		0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
	}
	DefaultSyncBucketsSeconds = []float64{
		0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	}
	DefaultRecordsPerSyncBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}
)

// Options configures New. The zero value is usable.
type Options struct {
	// Centers, Ops and Results are the label values for which attribute sets
	// are built at New; anything else is recorded as Other. Defaults:
	// DefaultCenters, DefaultOps, DefaultResults.
	Centers []string
	Ops     []string
	Results []string
	// Histogram bucket boundaries, ascending.
	LatencyBucketsSeconds []float64
	SyncBucketsSeconds    []float64
	RecordsPerSyncBuckets []float64
	// NoRuntimeMetrics leaves out the Go runtime (go_*) and process
	// (process_*) collectors, which are on by default.
	NoRuntimeMetrics bool
}

// maxLabelValues bounds each label dimension so that the pre-built
// center × op × result table (and the number of series) stays small.
const maxLabelValues = 32

// EnsureDefaults fills unset fields.
func (o *Options) EnsureDefaults() {
	if len(o.Centers) == 0 {
		o.Centers = DefaultCenters
	}
	if len(o.Ops) == 0 {
		o.Ops = DefaultOps
	}
	if len(o.Results) == 0 {
		o.Results = DefaultResults
	}
	if len(o.LatencyBucketsSeconds) == 0 {
		o.LatencyBucketsSeconds = DefaultLatencyBucketsSeconds
	}
	if len(o.SyncBucketsSeconds) == 0 {
		o.SyncBucketsSeconds = DefaultSyncBucketsSeconds
	}
	if len(o.RecordsPerSyncBuckets) == 0 {
		o.RecordsPerSyncBuckets = DefaultRecordsPerSyncBuckets
	}
}

// Validate reports the first invalid field; errors wrap ErrInvalid.
func (o *Options) Validate() error {
	for _, l := range []struct {
		name string
		v    []string
	}{{"centers", o.Centers}, {"ops", o.Ops}, {"results", o.Results}} {
		if len(l.v) > maxLabelValues {
			return fmt.Errorf("%w: %d %s, at most %d", ErrInvalid, len(l.v), l.name, maxLabelValues)
		}
		seen := map[string]bool{}
		for _, s := range l.v {
			if s == "" || s == Other || seen[s] {
				return fmt.Errorf("%w: %s: %q empty, reserved or repeated", ErrInvalid, l.name, s)
			}
			seen[s] = true
		}
	}
	for _, b := range []struct {
		name string
		v    []float64
	}{{"latency buckets", o.LatencyBucketsSeconds}, {"sync buckets", o.SyncBucketsSeconds}, {"records per sync buckets", o.RecordsPerSyncBuckets}} {
		for i := 1; i < len(b.v); i++ {
			if !(b.v[i] > b.v[i-1]) {
				return fmt.Errorf("%w: %s not strictly ascending at %v", ErrInvalid, b.name, b.v[i])
			}
		}
	}
	return nil
}

// State is what the observable gauges read on each scrape (SetStateFunc).
// Centers are in configuration order.
type State struct {
	Centers []CenterState
}

// CenterState is one center's part of State.
type CenterState struct {
	Name string
	// SignedOn is the center's logical state (開局): the operator signed it
	// on and has not signed it off. Lines may still be down.
	SignedOn bool
	// BusinessDate is the current business date (カット対象日付) YYYYMMDD.
	BusinessDate string
	// InFlight counts requests sent or about to be sent and not yet
	// resolved (仕掛中電文).
	InFlight int
	// Sessions counts open application sessions on this center.
	Sessions int
	// AdviceDepth and AdviceOldestAge describe the store-and-forward queue
	// (アドバイス電文): advices durable but not yet acknowledged by the center.
	AdviceDepth     int
	AdviceOldestAge time.Duration
	// RecoveryRequired is true after an unclean stop until `fxctl recovery`
	// has settled every in-flight message (リカバリ処理).
	RecoveryRequired bool
	// LastReconciliation is the last reconciliation (精査) since start.
	LastReconciliation Reconciliation
	Lines              []LineState
}

// LineState is one line of a center. State is LineDown … LineSignedOn.
type LineState struct {
	Addr     string
	State    int
	InFlight int
}

// Metrics records the switch's measurements and serves them in the
// Prometheus text format. Recorders are safe for concurrent use and do not
// allocate for known label values.
type Metrics struct {
	opts     Options
	registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
	handler  http.Handler

	centerIdx map[string]int
	opIdx     map[string]int
	resultIdx map[string]int
	nOps      int
	nResults  int

	// Pre-built measurement options. Indexes: center (len(Centers) is
	// Other), op, result likewise; reqAdd and reqRecord are flattened
	// [center][op][result].
	reqObserve [][]metric.ObserveOption
	reqRecord  [][]metric.RecordOption
	// reqCounts backs fxswitch_requests_total: an atomic add per request
	// costs a few ns where an SDK counter Add costs ≈400 ns (attribute
	// normalisation and a map lookup per call); the counter is observed at
	// scrape time instead.
	reqCounts []atomic.Int64
	centerAdd [][]metric.AddOption
	centerRec [][]metric.RecordOption

	requestDur    metric.Float64Histogram
	roundTrip     metric.Float64Histogram
	timeouts      metric.Int64Counter
	cancelStarted metric.Int64Counter
	cancelDone    metric.Int64Counter
	late          metric.Int64Counter
	duplicate     metric.Int64Counter
	reconnects    metric.Int64Counter
	badFrames     metric.Int64Counter
	walSync       metric.Float64Histogram
	walRecords    metric.Int64Histogram

	stateFn atomic.Pointer[func() State]
	regs    []metric.Registration
}

// New builds a MeterProvider whose Prometheus exporter writes to a registry
// of its own, so that several engines in one process never collide.
func New(opts Options) (*Metrics, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	m := &Metrics{opts: opts, registry: prometheus.NewRegistry()}
	exp, err := otelprom.New(
		otelprom.WithRegisterer(m.registry),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	if !opts.NoRuntimeMetrics {
		m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m.provider = sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exp),
		// Exemplars would cost the hot path a reservoir update per record
		// and carry no trace here.
		sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter),
	)
	if err := m.build(); err != nil {
		_ = m.provider.Shutdown(context.Background())
		return nil, err
	}
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4, // a scrape storm must not starve the switch
	})
	return m, nil
}

func index(vals []string) map[string]int {
	idx := make(map[string]int, len(vals))
	for i, v := range vals {
		idx[v] = i
	}
	return idx
}

func withOther(vals []string) []string { return append(slices.Clone(vals), Other) }

func (m *Metrics) build() error {
	o := m.opts
	m.centerIdx, m.opIdx, m.resultIdx = index(o.Centers), index(o.Ops), index(o.Results)
	centers, ops, results := withOther(o.Centers), withOther(o.Ops), withOther(o.Results)
	m.nOps, m.nResults = len(ops), len(results)
	for _, c := range centers {
		set := attribute.NewSet(attribute.String(LabelCenter, c))
		opt := metric.WithAttributeSet(set)
		m.centerAdd = append(m.centerAdd, []metric.AddOption{opt})
		m.centerRec = append(m.centerRec, []metric.RecordOption{opt})
		for _, op := range ops {
			for _, r := range results {
				set := attribute.NewSet(attribute.String(LabelCenter, c), attribute.String(LabelOp, op), attribute.String(LabelResult, r))
				opt := metric.WithAttributeSet(set)
				m.reqObserve = append(m.reqObserve, []metric.ObserveOption{opt})
				m.reqRecord = append(m.reqRecord, []metric.RecordOption{opt})
			}
		}
	}

	m.reqCounts = make([]atomic.Int64, len(m.reqRecord))
	meter := m.provider.Meter("github.com/fxswitch/fxswitch/switch/metrics")
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, unit, desc string, buckets []float64) metric.Float64Histogram {
		h, err := meter.Float64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(buckets...))
		errs = append(errs, err)
		return h
	}
	requests, err := meter.Int64ObservableCounter("fxswitch_requests", metric.WithUnit("{request}"),
		metric.WithDescription("Application requests answered, by center, operation and result."))
	errs = append(errs, err)
	m.requestDur = histogram("fxswitch_request_duration", "s", "Latency seen by the application: request frame received to answer written.", o.LatencyBucketsSeconds)
	m.roundTrip = histogram("fxswitch_center_round_trip", "s", "Time from a request written to a line to the center's matching response.", o.LatencyBucketsSeconds)
	m.timeouts = counter("fxswitch_timeouts", "{request}", "Requests answered to the application as timed out (no center response within the timeout).")
	m.cancelStarted = counter("fxswitch_cancels_started", "{cancel}", "Cancels started toward the center after a timeout (CARDNET 0400/0420, CAFIS 取消指令).")
	m.cancelDone = counter("fxswitch_cancels_confirmed", "{cancel}", "Cancels whose outcome the center confirmed (reversal answered, 取消確認 settled).")
	m.late = counter("fxswitch_late_responses", "{response}", "Center responses that arrived after their request had timed out.")
	m.duplicate = counter("fxswitch_duplicate_responses", "{response}", "Center responses that matched nothing in flight (duplicate or unknown key).")
	m.reconnects = counter("fxswitch_line_reconnects", "{reconnect}", "Line connections re-established after a drop.")
	m.badFrames = counter("fxswitch_bad_frames", "{frame}", "Frames from a center that could not be decoded.")
	m.walSync = histogram("fxswitch_wal_sync_duration", "s", "Duration of one WAL group commit (Pebble batch commit with fsync).", o.SyncBucketsSeconds)
	wr, err := meter.Int64Histogram("fxswitch_wal_records_per_sync", metric.WithUnit("{record}"),
		metric.WithDescription("Records made durable by one WAL sync (group commit batch size)."),
		metric.WithExplicitBucketBoundaries(o.RecordsPerSyncBuckets...))
	errs = append(errs, err)
	m.walRecords = wr

	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	g := gauges{
		inFlight:     gauge("fxswitch_in_flight", "{request}", "Requests in flight per center (仕掛中電文)."),
		lineInFlight: gauge("fxswitch_line_in_flight", "{request}", "Requests in flight per line."),
		lineState:    gauge("fxswitch_line_state", "", "Line state: 0 down, 1 connecting, 2 connected, 3 signed on."),
		signedOn:     gauge("fxswitch_center_signed_on", "", "1 while the center is signed on (開局) by the operator, else 0."),
		sessions:     gauge("fxswitch_sessions", "{session}", "Open application sessions per center."),
		adviceDepth:  gauge("fxswitch_advice_queue_depth", "{advice}", "Advices queued store-and-forward, not yet acknowledged (アドバイス電文)."),
		businessDate: gauge("fxswitch_business_date", "", "Current business date (カット対象日付) as the number YYYYMMDD."),
		recon:        gauge("fxswitch_reconciliation_result", "", "Last reconciliation (精査): 1 in balance, 0 out of balance, -1 none since start."),
		recovery:     gauge("fxswitch_recovery_required", "", "1 while recovery (リカバリ処理) is required after an unclean stop, else 0."),
	}
	ag, err := meter.Float64ObservableGauge("fxswitch_advice_oldest_age", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest unacknowledged advice; 0 when the queue is empty."))
	errs = append(errs, err)
	g.adviceAge = ag
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("metrics: instruments: %w", err)
	}
	// Per-center counters start at 0 for the configured centers: a series
	// that appears only at the first timeout makes rate() and "no data"
	// panels misleading for the first minutes after start.
	for i := range o.Centers {
		for _, c := range []metric.Int64Counter{m.timeouts, m.cancelStarted, m.cancelDone, m.late, m.duplicate, m.badFrames} {
			c.Add(ctx, 0, m.centerAdd[i]...)
		}
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		fn := m.stateFn.Load()
		if fn == nil {
			return nil
		}
		g.observe(o, (*fn)())
		return nil
	}, g.inFlight, g.lineInFlight, g.lineState, g.signedOn, g.sessions, g.adviceDepth, g.adviceAge, g.businessDate, g.recon, g.recovery)
	if err != nil {
		return fmt.Errorf("metrics: state callback: %w", err)
	}
	regReq, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range m.reqCounts {
			// Combinations never recorded stay unexported, as an SDK
			// counter would leave them.
			if n := m.reqCounts[i].Load(); n != 0 {
				o.ObserveInt64(requests, n, m.reqObserve[i]...)
			}
		}
		return nil
	}, requests)
	if err != nil {
		_ = reg.Unregister()
		return fmt.Errorf("metrics: requests callback: %w", err)
	}
	m.regs = []metric.Registration{reg, regReq}
	return nil
}

type gauges struct {
	inFlight, lineInFlight, lineState, signedOn, sessions, adviceDepth, businessDate, recon, recovery metric.Int64ObservableGauge
	adviceAge                                                                                         metric.Float64ObservableGauge
}

// observe runs once per scrape; attribute sets are built here, off the hot
// path.
func (g *gauges) observe(o metric.Observer, st State) {
	b2i := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	for _, c := range st.Centers {
		at := metric.WithAttributes(attribute.String(LabelCenter, c.Name))
		o.ObserveInt64(g.inFlight, int64(c.InFlight), at)
		o.ObserveInt64(g.signedOn, b2i(c.SignedOn), at)
		o.ObserveInt64(g.sessions, int64(c.Sessions), at)
		o.ObserveInt64(g.adviceDepth, int64(c.AdviceDepth), at)
		o.ObserveFloat64(g.adviceAge, c.AdviceOldestAge.Seconds(), at)
		if d, ok := dateNumber(c.BusinessDate); ok {
			o.ObserveInt64(g.businessDate, d, at)
		}
		o.ObserveInt64(g.recon, c.LastReconciliation.Value(), at)
		o.ObserveInt64(g.recovery, b2i(c.RecoveryRequired), at)
		labels := LineLabels(c.Lines)
		for i, l := range c.Lines {
			la := metric.WithAttributes(attribute.String(LabelCenter, c.Name), attribute.String(LabelLine, labels[i]))
			o.ObserveInt64(g.lineState, int64(l.State), la)
			o.ObserveInt64(g.lineInFlight, int64(l.InFlight), la)
		}
	}
}

// LineLabels returns the line label of each of a center's lines: its
// address, and for an address configured more than once (several lines to
// one address) "ADDR#2", "ADDR#3", … for the second and later ones, so that
// every line keeps a series of its own. Pass the same label to Reconnect.
func LineLabels(lines []LineState) []string {
	out := make([]string, len(lines))
	seen := make(map[string]int, len(lines))
	for i, l := range lines {
		seen[l.Addr]++
		if n := seen[l.Addr]; n > 1 {
			out[i] = fmt.Sprintf("%s#%d", l.Addr, n)
		} else {
			out[i] = l.Addr
		}
	}
	return out
}

// dateNumber turns "20261123" into 20261123; anything else is not exported
// (a missing sample is clearer on a dashboard than a wrong date).
func dateNumber(s string) (int64, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// Handler serves the metrics in the Prometheus text format (GET /metrics).
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry is the Prometheus registry behind Handler, for tests and for
// adding collectors of other packages.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// SetStateFunc sets the function the gauges read on each scrape. It is
// called from the scrape's goroutine and must be safe for concurrent use;
// nil stops the gauges being reported.
func (m *Metrics) SetStateFunc(fn func() State) {
	if fn == nil {
		m.stateFn.Store(nil)
		return
	}
	m.stateFn.Store(&fn)
}

// Close unregisters the state callback and shuts the MeterProvider down;
// recorders called afterwards are no-ops.
func (m *Metrics) Close() error {
	var errs []error
	for _, r := range m.regs {
		errs = append(errs, r.Unregister())
	}
	return errors.Join(append(errs, m.provider.Shutdown(context.Background()))...)
}

func (m *Metrics) center(name string) int {
	if i, ok := m.centerIdx[name]; ok {
		return i
	}
	return len(m.opts.Centers)
}

func lookup(idx map[string]int, v string) int {
	if i, ok := idx[v]; ok {
		return i
	}
	return len(idx)
}

// ctx is the context passed to the SDK: no span is ever sampled here, and
// the exemplar filter is off.
var ctx = context.Background()

// Request records one answered application request: the count by center,
// operation and result, and the latency the application saw.
func (m *Metrics) Request(center, op, result string, appLatency time.Duration) {
	i := (m.center(center)*m.nOps+lookup(m.opIdx, op))*m.nResults + lookup(m.resultIdx, result)
	m.reqCounts[i].Add(1)
	m.requestDur.Record(ctx, appLatency.Seconds(), m.reqRecord[i]...)
}

// CenterRoundTrip records the time between writing a request to a line and
// reading the center's matching response.
func (m *Metrics) CenterRoundTrip(center string, d time.Duration) {
	m.roundTrip.Record(ctx, d.Seconds(), m.centerRec[m.center(center)]...)
}

// Timeout counts a request answered as timed out to the application.
func (m *Metrics) Timeout(center string) { m.timeouts.Add(ctx, 1, m.centerAdd[m.center(center)]...) }

// CancelStarted counts a cancel started toward the center after a timeout
// (CARDNET 0400 or 0420; CAFIS 取消指令).
func (m *Metrics) CancelStarted(center string) {
	m.cancelStarted.Add(ctx, 1, m.centerAdd[m.center(center)]...)
}

// CancelConfirmed counts a cancel whose outcome the center confirmed.
func (m *Metrics) CancelConfirmed(center string) {
	m.cancelDone.Add(ctx, 1, m.centerAdd[m.center(center)]...)
}

// LateResponse counts a center response that arrived after its request had
// timed out (never forwarded to the application as a success).
func (m *Metrics) LateResponse(center string) { m.late.Add(ctx, 1, m.centerAdd[m.center(center)]...) }

// DuplicateResponse counts a center response that matched nothing in flight.
func (m *Metrics) DuplicateResponse(center string) {
	m.duplicate.Add(ctx, 1, m.centerAdd[m.center(center)]...)
}

// BadFrame counts an undecodable frame received from a center.
func (m *Metrics) BadFrame(center string) { m.badFrames.Add(ctx, 1, m.centerAdd[m.center(center)]...) }

// Reconnect counts a line connection re-established after a drop. Lines are
// few and reconnects rare, so the attribute set is built per call.
func (m *Metrics) Reconnect(center, line string) {
	m.reconnects.Add(ctx, 1, metric.WithAttributes(
		attribute.String(LabelCenter, m.centerLabel(center)), attribute.String(LabelLine, line)))
}

func (m *Metrics) centerLabel(name string) string {
	if _, ok := m.centerIdx[name]; ok {
		return name
	}
	return Other
}

// WALSync records one durable WAL batch: how many records it made durable
// and how long the commit with fsync took. Its signature is wal.Options.OnSync.
func (m *Metrics) WALSync(records int, d time.Duration) {
	m.walSync.Record(ctx, d.Seconds())
	m.walRecords.Record(ctx, int64(records))
}
