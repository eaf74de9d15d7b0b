// Package ipc is IPC v1, the application protocol between apps (point of
// sale, back office) and the daemon fxd: framing, field views parsed in
// place, a zero-allocation frame builder, request validation and the error
// codes. The Go client is in ipc/client; the daemon's event loops use Split,
// Frame, RequestView, Builder and AppendError directly on their buffers.
//
// # Frame
//
// All integers are big-endian. A frame is a 24-byte header followed by
// fields; the length prefix counts everything after itself, so it is at
// least 20 (no fields) and at most MaxFrame (65,536).
//
//	 0               4       5       6               8
//	+---------------+-------+-------+---------------+
//	| length u32    | ver=1 | kind  | flags u16 = 0 |
//	+---------------+-------+-------+---------------+
//	| session id u64 (0 until a session is open)    |   8
//	+-----------------------------------------------+
//	| correlation id u64 (chosen by the requester,  |  16
//	|   echoed in the reply; 0 on notices)          |
//	+-------+-------+-------------------------------+
//	| tag   | len   | value (len bytes) ...         |  24  field 1
//	+-------+-------+-------------------------------+
//	| tag   | len   | value ...                     |      field 2 ...
//	+-------+-------+-------------------------------+
//	  u16     u16     ASCII text unless stated
//
// Invariants checked by Split and Frame.Parse: 20 ≤ length ≤ 65,536; the
// fields tile the frame exactly (every field header and value lies inside
// the frame, nothing is left over); version is 1; kind is one of the ten
// below. A length out of range, a field past the end or a truncated field
// header is a malformed frame (code 1): the daemon answers with an Error
// frame (correlation 0) and closes the connection, since the byte stream
// can no longer be trusted to be in step. Other connections are unaffected.
// Unknown tags are skipped, so later versions may add fields. When a tag
// repeats, its first occurrence counts.
//
// # Kinds
//
//	1 OpenSession    app → fxd  tag 1 center, tag 11 app token where tokens are configured
//	2 SessionOpened  fxd → app  the new session id in the header's session field;
//	                            may carry tag 1 (center) and tag 24 (current business date)
//	3 CloseSession   app → fxd  header session = the session to close
//	4 SessionClosed  fxd → app
//	5 Request        app → fxd  tag 2 op, tag 3 ref and the op's fields (below)
//	6 Response       fxd → app  tags 20..25; may echo tag 3 (ref)
//	7 Error          fxd → app  tag 30 code, tag 31 text; answers any request kind
//	                            (correlation 0 when it answers no frame in particular)
//	8 Notice         fxd → app  tag 40 kind, tag 41 detail; correlation 0
//	9 Ping           app → fxd  no fields
//	10 Pong          fxd → app  echoes the correlation id
//
// # Tags
//
//	tag field           value                               used by
//	  1 center          "cafis" | "cardnet"                 OpenSession (ignored on Request)
//	  2 op              authorize sale refund cancel        Request, always
//	                    advice inquiry
//	  3 ref             app reference, 1..32 printable      Request, always; unique per app and
//	                    ASCII                               business date; for inquiry the
//	                                                        reference asked about
//	  4 PAN             12..19 digits (Luhn not checked)    authorize sale refund advice
//	  5 expiry          YYMM, month 01..12                  authorize sale refund advice
//	  6 amount          minor units, 1..12 digits           authorize sale refund advice
//	  7 currency        ISO 4217 numeric, 3 digits          authorize sale refund advice
//	  8 terminal        terminal id, 1..8 printable ASCII   optional (padded by the codec)
//	  9 merchant        merchant id, 1..15 printable ASCII  optional (padded by the codec)
//	 10 orig ref        earlier app reference, 1..32        cancel
//	 11 app token       credential                          OpenSession
//	 20 result          approved declined cancelled         Response
//	                    timeout failed
//	 21 response code   network response code, 2            Response
//	 22 auth code       authorization code, 6               Response (approvals)
//	 23 STAN            STAN / 通番 used toward the center  Response
//	 24 business date   YYYYMMDD (カット対象日付)           Response
//	 25 RRN             retrieval reference number          Response
//	 30 error code      decimal                             Error
//	 31 error text      for people; names the field on 15   Error
//	 40 notice kind     cutover line recovery               Notice
//	 41 notice detail   see Notices                         Notice
//
// A field that is present is checked whatever the op; a field an op does
// not need is ignored by it. Ops: authorize (CARDNET 0100), sale (0200),
// refund (0200 with processing code 20xxxx), advice (0220 store-and-forward,
// answered approved once durable, delivered to the center at least once),
// cancel (tag 10 names the earlier request; CARDNET 0400 with DE90, CAFIS
// cancel; result cancelled when the center accepted it, declined otherwise),
// inquiry (below).
//
// # Error codes
//
//	code meaning                                   connection
//	   1 malformed frame                           closed by the daemon after the Error frame
//	   2 unsupported version                       kept
//	   3 unknown kind                              kept
//	  10 unknown center                            kept
//	  11 center not signed on                      kept
//	  12 unknown or closed session                 kept
//	  13 recovery required (OpenSession while      kept
//	     リカバリ処理 has not run; wins over every
//	     other reason)
//	  14 busy: a bound was reached, retry later    kept
//	  15 invalid field (the text names the field)  kept
//	  16 timeout: no answer from the center in     kept
//	     time; a cancel toward the center was
//	     started (取消指令 / 0400 system cancel)
//	  17 shutting down                             kept
//	  18 reference reused with different content   kept
//	  19 unknown reference (inquiry)               kept
//	  20 unauthorized                              kept
//	  21 internal error                            kept
//
// Only code 1 closes the connection. Errors are *Error values;
// errors.Is(err, ipc.ErrBusy) and friends match on the code.
//
// # A session
//
//	app                                   fxd
//	 | OpenSession  sess=0 corr=1 {center}  |
//	 |------------------------------------->|
//	 | SessionOpened sess=S corr=1          |   S chosen by the daemon
//	 |<-------------------------------------|
//	 | Request sess=S corr=2 {op,ref,...}   |
//	 |------------------------------------->|   pipelined: many requests may be
//	 | Request sess=S corr=3 {...}          |   outstanding; replies come in any
//	 |------------------------------------->|   order, matched by correlation id
//	 | Response sess=S corr=3 {result,...}  |
//	 |<-------------------------------------|
//	 | Notice sess=S corr=0 {cutover,date}  |
//	 |<-------------------------------------|
//	 | Response sess=S corr=2 {result,...}  |
//	 |<-------------------------------------|
//	 | CloseSession sess=S corr=4           |
//	 |------------------------------------->|
//	 | SessionClosed sess=S corr=4          |
//	 |<-------------------------------------|
//
// One connection may carry several sessions, each bound to one center.
// Correlation ids are the requester's business; the client uses one
// counter per connection and never 0.
//
// # Notices
//
//	kind      detail
//	cutover   the new business date, YYYYMMDD (カットオーバー: the date moved)
//	line      "<center> <address> <state>", e.g. "cardnet 127.0.0.1:7700 signed_on"
//	recovery  what recovery did, e.g. "cafis done"
//
// A notice names the session it is for; a notice with session 0 is for every
// session of the connection. Notices carry state, so a client that must drop
// some (a slow app) keeps the newest.
//
// # Idempotency by app reference
//
// The app reference (tag 3) is the idempotency key of a request, unique per
// app and business date. The same reference with the same content returns
// the first outcome again, without a second message to the center (so an app
// may resend after a lost connection). The same reference with different
// content is refused with code 18.
//
// # Inquiry
//
// An inquiry's tag 3 is the reference asked about (not a new reference).
// The answer is a Response carrying that request's result fields (result,
// response code, auth code, STAN, business date, RRN), or error 19 when the
// daemon never saw the reference. A restarted app inquires about every
// request it had in flight instead of guessing.
//
// # Timeout
//
// When the center does not answer in time the app gets error 16 and the
// daemon starts cancelling toward the center (CARDNET 0400 system cancel
// repeated as 0401; CAFIS cancel command then cancel-confirmation commands).
// The final outcome is available later by inquiry; a late approval is never
// forwarded as a success.
//
// # Allocation
//
// Split, Frame.Parse, RequestView.Parse, ResponseView.Parse, Builder and
// AppendError do not allocate (errors are preallocated), so the daemon can
// run them on its event loops over views of the loop's inbound buffer. Views
// are valid only while that buffer is: copy what must outlive the callback.
package ipc
