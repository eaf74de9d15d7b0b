// Package metrics records fxd's measurements with the OpenTelemetry metric
// API and serves them in the Prometheus text format (DESIGN §5 "Admin
// HTTP"). The operator's view of every series — what it means and which
// alert reads it — is in docs/OPERATIONS.md; the dashboard is
// docs/grafana/fxswitch.json and the alert rules docs/alerts.yaml.
//
// # Data flow
//
//	engine hot path ──Request/CenterRoundTrip/Timeout/...──► otel SDK instruments ─┐
//	  (pre-built attribute sets, no allocation)                                    │
//	wal committer ──WALSync (wal.Options.OnSync)──► histograms ────────────────────┤
//	                                                                               ▼
//	GET /metrics ─► promhttp.HandlerFor(own registry) ─► otel Prometheus exporter ─► collect
//	                                                      │ observable instruments:
//	                                                      └─► SetStateFunc's func() State, once per scrape
//
// Each Metrics has its own prometheus.Registry and MeterProvider: several
// engines in one test process never share a series. Exemplars are off and
// the scope labels and target_info are not exported, so that every series
// carries only the labels listed below.
//
// # Series
//
// Counters (Prometheus adds _total) and histograms (_bucket, _sum, _count):
//
//	name                                   type       labels              meaning
//	fxswitch_requests_total                counter    center op result    application requests answered; result is the IPC result
//	                                                                      (approved declined cancelled timeout failed) or "error"
//	                                                                      for an Error frame (busy, invalid field, not signed on …)
//	fxswitch_request_duration_seconds      histogram  center op result    latency the application saw: request frame in → answer out
//	fxswitch_center_round_trip_seconds     histogram  center              request written to a line → matching center response
//	fxswitch_timeouts_total                counter    center              requests answered "timeout" (no response within the timeout)
//	fxswitch_cancels_started_total         counter    center              cancels started after a timeout (CARDNET 0400/0420,
//	                                                                      CAFIS 取消指令)
//	fxswitch_cancels_confirmed_total       counter    center              cancels whose outcome the center confirmed (0410/0430,
//	                                                                      取消指令 / 取消確認指令 answered)
//	fxswitch_late_responses_total          counter    center              responses after their request had timed out (never
//	                                                                      forwarded as a success)
//	fxswitch_duplicate_responses_total     counter    center              responses matching nothing in flight (duplicate, unknown)
//	fxswitch_bad_frames_total              counter    center              undecodable frames from a center
//	fxswitch_line_reconnects_total         counter    center line         line connections re-established after a drop
//	fxswitch_wal_sync_duration_seconds     histogram  -                   one WAL group commit (Pebble batch commit + fsync)
//	fxswitch_wal_records_per_sync          histogram  -                   records made durable by one sync (group commit size)
//
// Gauges, read from State at scrape time:
//
//	fxswitch_in_flight                     gauge      center              requests in flight (仕掛中電文)
//	fxswitch_line_in_flight                gauge      center line         requests in flight on one line
//	fxswitch_line_state                    gauge      center line         0 down, 1 connecting, 2 connected, 3 signed on
//	fxswitch_center_signed_on              gauge      center              1 while signed on (開局) by the operator
//	fxswitch_sessions                      gauge      center              open application sessions
//	fxswitch_advice_queue_depth            gauge      center              advices (アドバイス電文) not yet acknowledged
//	fxswitch_advice_oldest_age_seconds     gauge      center              age of the oldest of them; 0 when none
//	fxswitch_business_date                 gauge      center              business date (カット対象日付) as the number YYYYMMDD
//	fxswitch_reconciliation_result         gauge      center              last 精査: 1 in balance, 0 out of balance, -1 none since start
//	fxswitch_recovery_required             gauge      center              1 while recovery (リカバリ処理) is required
//
// Unless Options.NoRuntimeMetrics, the Go runtime (go_*) and process
// (process_*: RSS, open file descriptors, CPU) collectors are exported too.
//
// # Invariants
//
//   - Label values are bounded: center, op and result take the values of
//     Options (default: the DESIGN §5 centers, operations and results) or
//     "other"; line takes the configured line addresses. No label ever holds
//     a PAN, an app reference or a STAN.
//   - Recorders never allocate for known label values and never block: the
//     attribute set of every (center, op, result) combination is built in
//     New. fxswitch_requests_total is an observable counter over atomic
//     cells, so Request costs one atomic add and one histogram record.
//   - Per-center counters of the configured centers start at 0, so rate()
//     and increase() see them from the first scrape.
//   - The state function is called once per scrape, from the scrape's
//     goroutine; a nil function exports no gauges (never stale ones).
//   - A malformed business date is left out rather than exported wrong.
package metrics
