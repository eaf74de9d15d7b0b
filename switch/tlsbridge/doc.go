// Package tlsbridge adds TLS to connections served by gnet, which has none.
//
// A bridge terminates (Server) or originates (DialTLS) TLS on an ordinary
// net.Conn with crypto/tls, and hands the owner the plaintext end of a
// socketpair(AF_UNIX, SOCK_STREAM). That end is a *net.UnixConn, which gnet
// accepts as is (gnet.Engine.Register with gnet.NewNetConnContext on the
// server side, Client.EnrollContext on a line), so the engine's gnet code
// does not change with TLS on or off.
//
//	peer ══TLS/TCP══ tls.Conn ─┐   two goroutines     ┌─ inner ══╗ socketpair
//	                           ├─► TLS → inner ───────┤          ║ AF_UNIX
//	                           └◄─ inner → TLS ◄──────┘          ║ SOCK_STREAM
//	                                                     plain ══╝ → gnet
//
// Each direction copies through one buffer (BufferBytes, pooled). Close
// and half-close propagate both ways:
//
//	peer sends close_notify or FIN  → inner CloseWrite → plain reads EOF
//	owner closes plain / CloseWrite → TLS close_notify → peer reads EOF
//	an error in either direction    → both connections closed at once
//	both directions ended           → both connections closed
//	peer reads nothing for WriteTimeout (30 s) → both connections closed
//
// # Server
//
// NewServer loads the certificate and key (and ClientCAFile for mutual TLS:
// a client certificate is then required and verified). Accept runs the
// listener: every connection is handshaken in its own goroutine within
// HandshakeTimeout; at most MaxHandshakes run at once and at most MaxConns
// connections are held, and a connection beyond either bound is closed on
// arrival (Stats.Refused) so that a flood of idle TCP connects cannot tie
// up the daemon. Reload (on SIGHUP) re-reads the certificate and key and
// swaps an atomic pointer read by tls.Config.GetCertificate: new handshakes
// get the new certificate, established connections are untouched, and a
// pair that fails to load or is expired leaves the current one in force.
// Close closes the listeners, the handshakes and the bridges and waits for
// every goroutine.
//
// # Client
//
// DialTLS dials, verifies the center's certificate against CAFile (or the
// system roots) and ServerName, presents CertFile/KeyFile when set, and
// returns the plaintext end. Its files are read at every dial, so renewing
// a client certificate takes effect at the line's next reconnect.
//
// # Invariants
//
//   - TLS 1.3 unless MinVersion says TLS 1.2; nothing older is possible.
//   - Own certificates are refused at load when expired or not yet valid
//     (ErrCertExpired); the peer's are checked by crypto/tls.
//   - Every goroutine belongs to one connection and ends when it closes;
//     Server.Close leaves none behind.
//   - Bounded: handshakes (count and time), connections, buffers (two per
//     connection), time blocked writing to a peer that does not read.
package tlsbridge
