// Package load is the library under fxbench: it drives fxd through the IPC
// client, or (direct mode) the center simulator through the codec, and
// measures throughput and latency with HDR histograms.
//
// # Shape of a run
//
//	switch mode                                   direct mode
//	workers (Sessions × Concurrency goroutines)   workers (same count)
//	  │ Session.Do, pipelined                       │ encode 0100/0200/0400 or CAFIS 0100/0200
//	  ▼                                             ▼
//	Conns IPC connections ──► fxd ──► fxsim       Conns TCP lines ──► fxsim
//	  (sessions round-robin over them)              (each signed on first: 0800 DE70 001 / 0010)
//	                                                answers matched by STAN (DE11) / 通番
//
// Every worker has one request outstanding at a time, so a session has
// Concurrency outstanding and the run Sessions × Concurrency.
//
// # Closed and open loop
//
// Closed loop (Rate 0): a worker sends its next request as soon as the
// previous one is answered; the figure is the maximum throughput at that
// concurrency. Open loop (Rate > 0): a Schedule fixes the due time of
// request n at start + n/Rate and the workers take tickets from it; latency
// is measured from the due time, so when the system stalls, the requests
// that should have been sent meanwhile are charged the wait
// (coordinated-omission correction). Workers bound how far the offered load
// can run ahead: with every worker waiting, tickets are late (LateTickets).
//
// # What is recorded
//
// A request is ok when the center's answer came back (approved, declined,
// cancelled) and its latency goes into the histogram (1 µs .. 60 s, 3
// significant figures, sharded by worker). Anything else is an error,
// counted by kind (IPC error code, "timeout" result, line failure, no
// answer within Duration + Grace) and never put in the histogram. TPS is ok
// divided by the time from the first send to the last answer.
//
// # Operations
//
// The Mix draws sale, refund, authorize and cancel. Amounts are multiples
// of 100 so the simulator's default rules approve them; a cancel names the
// newest approved sale of the same worker that has not been cancelled yet
// (switch mode: its app reference; direct mode: CARDNET 0400 with DE90 =
// original MTI, STAN, DE7 and acquirer id, CAFIS 0200 with the original's
// 通番, date and amount). A cancel drawn with nothing to cancel is sent as a
// sale and counted (CancelAsSale).
//
// # Spawned processes and crash recovery
//
// StartEnv builds (or finds) fxd, fxsim and fxctl and starts them as an
// operator would: fxsim on port 0, fxd with a generated fxd.yaml (Lines lines
// to each center, durability on, IPC on a Unix socket or TCP), `fxctl signon`
// of both centers; Close runs `fxctl shutdown` and stops the simulator.
// CrashRecovery drives such an fxd, kills it with SIGKILL while requests are
// outstanding, restarts it on the same data directory, signs on and times
// `fxctl recovery`: the end-to-end counterpart of the WAL's recovery bench.
//
// # Invariants and limits
//
//   - Every loop ends by Duration (+ Grace for the request in flight).
//   - App references are unique across runs (prefix from the start time):
//     fxd treats them as idempotency keys for the whole business date.
//   - Keys: STAN / 通番 have 6 digits, 999,999 per center and business
//     date. fxd allocates its own (and refuses with "keys exhausted" when
//     they run out); a direct run allocates from FirstKey. Either way the
//     run ends early with KeysExhausted set; the refused request is counted
//     neither as sent nor as an error. At 65,000 TPS the keys last about
//     15 s, at direct speed about 5 s: keep runs short.
//   - Bounded: workers (MaxWorkers), histogram shards, error kinds kept,
//     bytes waiting on a direct line (16 MiB), originals kept per worker (64).
package load
