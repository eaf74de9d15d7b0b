// Package chaos is the process-level crash test of fxswitch (`make chaos`,
// and a short run in `make test`): it kills the real daemon at random
// moments under a faulty center and proves DESIGN §4's invariants from the
// outside.
//
// # One iteration (seeded)
//
//	fxsim --faults (drop_response, late, duplicate, delay, lost cancels, disconnect)
//	fxd: timeout 800ms; CARDNET cancel_mode reversal (0400/0401) or, one time in three, advice (0420/0421)
//	  │
//	fxd start ─ signon ─┬─ traffic, both centers, several sessions ─┐
//	                    │                                             ├─ kill -9 | shutdown --force
//	                    │  ┌──────────────────────────────────────────┘   (random moment)
//	                    │  └► fxd start ─ signon ─ OpenSession → 13 ─ [kill -9 during recovery ─ start ─ signon]
//	                    │       ─ fxctl recovery --json (done; again: nothing left) ─ OpenSession ok
//	                    └─ … 1..MaxCrashes times … ─ traffic ─ inquiries for every unknown outcome
//	  ─ cutreq cardnet (0500/0510 in balance) ─ cutreq cafis ─ totals ─ clean shutdown (exit 0)
//	  ─ fxsim stopped ─ journal read ─ e2e.CheckOutcomes + e2e.CompareTotals
//
// # What must hold (e2e documents each check)
//
//   - No request the center saw is left unresolved: every original the
//     center approved or reversed is known to an app with a final outcome (I3).
//   - Each transaction counts once: fxd's totals per center and date equal
//     the fold of the center's counted messages and its end-of-day record (I5).
//   - No app was told "approved" for a transaction the center ended up
//     cancelling, nor "cancelled"/"declined" for one it holds approved; an
//     app told "timeout", or cut off by the crash, learns the final outcome
//     by inquiry and it matches the journal (I2, I3).
//   - Advices told approved reach the center (I4).
//   - Business stays blocked (OpenSession → 13) until recovery has finished;
//     recovery is safe to run again, also after a crash in its middle (I6).
//
// # Replay
//
// Each iteration's seed decides the faults file, fxsim's fault decisions,
// the traffic mix, the crash moments and kinds. The test prints every seed;
// FXSWITCH_CHAOS_SEED=N replays one, FXSWITCH_CHAOS_ITERATIONS=N sets the
// count (default 5; `make chaos`: 100). Process scheduling still varies
// between runs, so a replay meets the same faults and crash points, not
// the same interleaving. Loopback and Unix sockets in temp dirs only; every
// iteration is bounded by Options.Timeout.
package chaos
