// Package engine is the switch itself: it owns the write-ahead log, one
// module per configured center (CAFIS, CARDNET), the IPC listeners where
// applications open sessions, and the control socket fxctl talks to.
//
// # Threads and ownership
//
//	gnet IPC loops ──(copy of the request)──► center.appCh ─┐
//	gnet line loops ─(copy of the frame)────► center.frameCh ├─► center loop (one goroutine per center)
//	WAL committer / control / timers ─(closure)► center.evCh ┘        │
//	                                                                  ├─► wal.Append* (group commit)
//	WAL committer (after the sync): line.Send / session.send ◄────────┘
//
// Each center's state (business date, matching keys, in-flight table, the
// idempotency index of in-flight references, cancels, pending network
// exchanges) is owned by its center loop; nothing else touches it, so there
// are no locks on the hot path. The IPC event loops only parse, validate and
// copy; they never wait for disk. The WAL's completion callbacks run on its
// committer goroutine and do only non-blocking work: queue a frame on a
// line or a session (switch/outbox), or post a closure back to the center.
//
// Queues are bounded: appCh (busy when full), frameCh (a frame is dropped
// and counted when a center floods us), evCh (sized from the in-flight
// limit so WAL completions never block the committer), per-connection
// outboxes, per-session and per-center in-flight limits.
//
// # Life of a request
//
//	admitted ──durable──► sent ──answer──► resolving ──durable──► done (app hears the outcome)
//	                        │timeout / line lost
//	                        ▼
//	                   cancelling ──cancel answered──► resolving ──durable──► done
//
// I1: the request's bytes reach the line only from the WAL callback of its
// own record. I2: the app hears an outcome only from the WAL callback of its
// resolution. The timeout answer (code 16) is sent once the first cancel
// attempt is durable. A late answer to a timed-out request is never
// forwarded; the cancel decides the outcome.
//
// Totals effects (docs/ARCHITECTURE.md) are decided here and written in the
// resolution's batch: an approved debit/credit counts in its own business
// date; a cancel that reversed an approved original counts the original and
// the reversal (the reversal in the date its message carried); a cancel that
// found nothing counts nothing.
//
// # Matching keys
//
// STAN / 通番 are allocated per center from 1 to 999,999 per business date
// and never reused within it, across restarts included: the WAL holds a
// reservation (blocks of 10,000) and a restarted daemon starts above it.
// Requests, cancels and network messages share the key space; the matching
// key adds the message class (and for CARDNET DE41) so that a 0410 answering
// a system cancel, which reuses the original's STAN, is told apart from the
// original's 0210, and the business date the message carries, so that a
// late answer of a closed date never matches a request of the new date
// under the same number. CARDNET reversals reuse the original's STAN and
// therefore carry the original's date; a CAFIS cancel command or
// confirmation has its own 通番 of the date it is sent in. When the key
// space of a date is exhausted, requests are refused busy until the next
// cutover.
//
// # Restart after failure
//
// The WAL records a clean-shutdown marker as the last act of `fxctl
// shutdown`. A daemon that starts without it (crash, kill -9, `shutdown
// --force`) marks every center "recovery required" durably: OpenSession is
// refused with code 13 until `fxctl recovery` has settled every in-flight
// request with the center — CARDNET 0401 system cancel, 0221 advice resend;
// CAFIS 取消指令 (retransmission), or 取消確認指令 (retransmission) where a
// cancel was already under way. Recovery is idempotent: the same flagged
// messages are sent again and the center deduplicates them.
//
// # Decisions where the design is silent
//
//   - An app reference is an idempotency key within (center, app): a repeat
//     with the same content gets the first outcome; while the first is in
//     flight the repeat waits for it (at most 16 waiters).
//   - A cancel may name an original whose outcome is being made durable; it
//     is admitted once that outcome is durable.
//   - An inquiry for a reference still in flight answers busy (14): the app
//     asks again; it never sees a provisional outcome.
//   - Advices (store-and-forward) are answered "approved" once the advice is
//     durable; the 0220 is then repeated as 0221 until the center acknowledges
//     it, and counts in the totals on acknowledgement.
//   - A clean shutdown that cannot drain in 30 s stops without the clean
//     marker, so recovery runs on the next start rather than losing anything.
//   - A line that connects while its center is in the signed-on state signs
//     itself on, and tries again every center timeout until the center
//     accepts (a lost signon must not leave a connected line unusable).
//   - Every attempt of a cancel (0400/0401, 0420/0421, 取消指令, 取消確認指令)
//     carries the business date of the first attempt, across a cutover too:
//     a repeat is the same message, and the totals count the reversal in
//     the date it carries.
//
// # Deterministic simulation
//
// Everything a center loop reacts to arrives as an event (appCh, frameCh,
// evCh, the tick), its clock is Options.Clock, its lines' transport and
// redial timers can be replaced (Options.LineNetwork, AfterFunc, Rand), and
// the WAL can be waited on (wal.Barrier). dst_test.go uses these seams to
// run thousands of seeded schedules of faults and crashes per minute in one
// goroutine and check I1–I6 after each; docs/RELIABILITY.md has the runs.
package engine
