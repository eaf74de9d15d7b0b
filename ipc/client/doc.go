// Package client is the Go client of IPC v1 (see package ipc for the wire
// format): what a point-of-sale or back-office app, and fxbench, use to talk
// to fxd.
//
//	c, err := client.Dial(ctx, "unix", "/var/lib/fxd/fxd.sock", client.WithToken(tok))
//	s, err := c.OpenSession(ctx, "cardnet")
//	r, err := s.Do(ctx, &client.Request{Op: ipc.OpSale, Ref: "POS1-000123", PAN: pan,
//		Expiry: "2812", Amount: 1500, Currency: "392", Terminal: "POS00001"})
//	switch {
//	case errors.Is(err, ipc.ErrTimeout): // the daemon is cancelling toward the center
//	case errors.Is(err, ipc.ErrBusy):    // a bound was reached: retry later
//	}
//
// # One connection, many goroutines
//
//	goroutines calling Do                                          fxd
//	  take a slot (MaxOutstanding)                                  ▲  │
//	  append frame to wbuf under mu ──► writer goroutine: one Write ┘  │
//	  wait on their call                  per batch of queued frames   │
//	        ▲                                                          │
//	        └── reader goroutine: Split + Parse in place, dispatch ◄───┘
//	            by correlation id; notices to their session's channel
//
// A Do appends its frame to the shared write buffer and wakes the writer;
// whatever accumulated while the previous Write was in the kernel goes out
// in the next one, so under load one syscall carries many requests. The
// reader reads into one buffer and parses frames in place; a reply costs
// two allocations (the Response and one string holding all its fields).
// Calls are pooled.
//
// # Bounds
//
//   - MaxOutstanding (default 4096) requests in flight per connection; Do
//     waits for a slot or its context.
//   - NoticeBuffer (default 64) notices per session. The reader never blocks
//     on an app that does not read: when the channel is full the oldest
//     notice is dropped and counted (Session.DroppedNotices). Notices carry
//     state (the current business date, a line's state), so the newest one
//     is the one worth keeping.
//   - Frames are at most ipc.MaxFrame; a request that would not fit fails
//     locally and the connection carries on.
//
// # Cancellation and connection end
//
// When a Do's context ends first, Do returns ctx.Err() and its slot is free
// at once; the reply, when it comes, is dropped and counted
// (Client.LateReplies). The daemon still settles the request (the app
// reference is its idempotency key): ask with Inquire, or resend the same
// request, which returns the first outcome. An OpenSession cancelled before
// its answer has the session it opened closed again.
//
// When the connection ends (Close, an I/O error, or the daemon closing it),
// every outstanding and later call fails with ErrClosed; if the daemon said
// why first (an Error frame with correlation 0, e.g. code 1 malformed
// frame), that *ipc.Error is wrapped as well. Every session's notice channel
// is closed. The client does not reconnect: sessions belong to a connection,
// so an app dials again, opens new sessions and inquires about what it had
// in flight.
//
// # Errors
//
// Protocol errors are *ipc.Error with the daemon's code and text, matched
// with errors.Is against ipc.ErrBusy, ipc.ErrTimeout, ipc.ErrInvalidField,
// and so on. A call on a session already closed on this connection answers
// code 12 locally, as the daemon would.
//
// # Locking
//
// One mutex (Client.mu) guards the write buffer, the call table, the session
// table and the connection's end. Nothing blocks while holding it: notices
// are delivered without blocking, Writes happen outside it. Only the reader
// goroutine sends on or closes a notice channel.
package client
