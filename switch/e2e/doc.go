// Package e2e runs fxswitch's real programs as processes — fxsim playing
// both centers, fxd switching, fxctl operating — and checks the outcome of
// the seeds' operating procedures from three sides: what the applications
// were told, what the daemon reports (`fxctl totals --json`), and what the
// centers ended up with (fxsim's journal). The chaos test (switch/chaos)
// drives the same harness through crashes.
//
// # Shape of one world
//
//	test ──Traffic (ipc/client, Unix socket)──► fxd ──lines (TCP 127.0.0.1)──► fxsim
//	 │  Ledger: every request, what the app          │                    │
//	 │  was told, the final outcome (inquiry)        │ WAL (data dir)     │ journal.jsonl
//	 └──fxctl --json (control socket)───────────────►┘                    │
//	 └──────────── CheckOutcomes / CompareTotals ◄── journal.Read ◄───────┘
//
// Everything lives in one temp directory: fxd.yaml, data/, sockets,
// fxsim.log, fxd.N.log (one per start), faults.yaml, journal.jsonl.
//
// # What is checked (DESIGN §4)
//
//   - Per transaction (CheckOutcomes): the STAN / 通番 and business date of
//     every answer name a journal key; approved ⇔ the center holds it
//     approved (unless the app cancelled it), declined ⇔ declined,
//     cancelled/failed ⇒ not approved at the center; an app told "timeout"
//     learns the final outcome by inquiry and it matches (I2, I3); every
//     original the center approved or reversed is known to an app (I3);
//     advices told approved reached the center (I4).
//   - In sum (CompareTotals): fxd's totals per center and business date
//     equal the fold of the journal's counted changes and the center's own
//     end-of-day record (I5).
//
// # Invariants of the harness
//
//   - Loopback and Unix sockets in the test's directory only.
//   - Every wait is bounded: process start, traffic duration, each request
//     (TrafficOptions.RequestTimeout), inquiries (Resolve's timeout).
//   - App references are unique per world (the daemon's idempotency key);
//     Ledger refuses a reference used twice by the test itself.
package e2e
