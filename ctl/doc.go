// Package ctl is the operator control path of fxd: the control protocol, the
// server the daemon runs (Serve, calling the daemon's Handler) and the Go
// client that cmd/fxctl uses. It carries the seeds' operator commands —
// fxmsg signon | signoff | cutreq and fxctrl shutdown [force] | recovery — plus
// status, totals and reconcile.
//
// # Transport
//
// A Unix stream socket, by default ctl.sock in the data dir, created by Listen
// with mode 0600. On accept the daemon reads the peer's uid from the kernel
// (SO_PEERCRED) and serves only AllowedUIDs (default: its own uid and root);
// anyone else gets one permission_denied line and is disconnected. Non-Unix
// connections are refused the same way.
//
//	fxctl / Client                        fxd: Serve → Handler
//	   │ connect ─────────────────────────► accept (≤ MaxConns, else busy + close)
//	   │                                    SO_PEERCRED uid ∈ AllowedUIDs? else permission_denied + close
//	   │ request line (≤ MaxRequestBytes) ► decode, check arguments (bad ones never reach the Handler)
//	   │                                    Handler method, ctx deadline = min(timeout_ms, RequestTimeout)
//	   │ ◄──────────────────── answer line  (same id)
//	   │ next request … or close            idle > IdleTimeout → daemon closes
//
// The Go Client sends one request at a time per Client, waits for its turn
// under the caller's context, and replaces a connection that the daemon
// closed (idle) or that it abandoned after an interrupted request; it never
// sends a request twice.
//
// # Wire format
//
// One JSON object per line (UTF-8, '\n'-terminated; a trailing '\r' and blank
// lines are ignored), request then response, strictly alternating on one
// connection:
//
//	client ──► daemon   {"v":1,"id":7,"cmd":"cutreq","center":"cardnet","date":"20261124","timeout_ms":290000}\n
//	client ◄── daemon   {"v":1,"id":7,"ok":true,"result":{"center":"cardnet","closed_date":"20261123",...}}\n
//	                or  {"v":1,"id":7,"ok":false,"error":{"code":"not_signed_on","message":"cardnet is signed off"}}\n
//
//	request field  type    meaning
//	v              int     protocol version, must be 1
//	id             uint64  chosen by the client, echoed in the response (0 = none)
//	cmd            string  signon signoff cutreq recovery shutdown status totals reconcile
//	center         string  cafis | cardnet  (lexically [a-z0-9_-]{1,16})
//	date           string  YYYYMMDD business date (cutreq: the new cut-target date)
//	force          bool    shutdown only
//	timeout_ms     int     the client's remaining patience; the daemon's deadline
//	                       is the smaller of this and ServerOptions.RequestTimeout
//
//	command    center    date      force   result object
//	signon     required  -         -       none
//	signoff    required  -         -       none
//	cutreq     required  optional  -       CutoverResult
//	recovery   required  -         -       RecoveryReport
//	shutdown   -         -         optional none
//	status     -         -         -       Status
//	totals     optional  optional  -       {"totals":[TotalsRow...]}  (DESIGN §5)
//	reconcile  required  optional  -       ReconcileResult
//
// Unknown fields, a field the command does not take, a missing required
// center, trailing bytes after the object, or another version are refused;
// the strictness is deliberate (a typo must not run a cutover with defaults).
// A response may carry both "result" and "error": a cutover or reconcile
// whose reconciliation (精査) came out of balance answers ok:false, code
// out_of_balance, with the full result.
//
// An unset reconciliation state in a totals row is sent as "none", an unset
// recovery state as "none": the result always shows a documented value.
//
// An answer carries id 0 when the line's id could not be read. Refusals of
// the connection as a whole (permission_denied, busy, an oversize line) also
// carry id 0, come before or instead of any answer, and are followed by the
// daemon closing the connection.
//
// # Error codes
//
//	bad_request        the line is not a valid request; the connection stays usable,
//	                   except after an oversize line (then closed)
//	invalid_argument   bad value: date not YYYYMMDD or not later than the current date, ...
//	unknown_center     center not configured in this daemon
//	not_signed_on      the command needs the center signed on (開局)
//	recovery_required  an unclean stop left in-flight messages: run recovery first
//	out_of_balance     reconciliation done, our totals differ from the center's
//	busy               a bound was reached (connections, a procedure already running)
//	shutting_down      the daemon is stopping
//	permission_denied  peer uid not allowed, or not a Unix socket
//	timeout            the deadline passed before the command finished
//	canceled           the command's context was cancelled
//	internal           anything else (a Handler's plain error, a Handler panic)
//
// # Invariants and limits
//
//   - One command in flight per connection; at most MaxConns connections (one
//     more is answered busy). A request line is at most MaxRequestBytes
//     (default 4 KiB); a response line at most MaxResponseBytes (4 MiB).
//   - Every Handler call has a deadline (RequestTimeout, default 10 min).
//   - A request line must arrive whole within IdleTimeout (default 5 min) of
//     the previous answer, so a slow sender cannot hold a connection slot.
//   - Closing the connection does not cancel a running command: cutover and
//     recovery run to completion or to their deadline, so a lost terminal
//     never leaves one half done. Serve's context ending does cancel them, and
//     Serve returns only after every answer already decided has been written
//     (the answer to shutdown reaches fxctl before the daemon exits).
//   - Bad input never panics the daemon and never reaches the Handler: center
//     and date are checked lexically first; a Handler panic fails that one
//     request with internal.
//   - Each request is logged once (cmd, center, date, peer uid and pid, code,
//     duration); out_of_balance and internal at error level.
//
// # fxctl exit codes
//
// 0 success; 1 failure (the code and message on stderr); 2 the command ran
// but a reconciliation came out of balance (cutreq, reconcile).
package ctl
