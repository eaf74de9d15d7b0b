// Package mac computes and verifies the message authentication code that the
// CARDNET model carries in DE128 (DESIGN §2), so that a peer on the network
// between fxd and the center can neither alter a message nor inject one.
//
// # Algorithm
//
// HMAC-SHA-256 (RFC 2104, FIPS 198-1) keyed with a 32-byte secret shared by
// the two ends of the line, truncated to its first 8 bytes (64 bits, the
// size of the ISO 8583 MAC element; truncation as in RFC 2104 §5 / NIST
// SP 800-107), written as 16 upper-case hex characters in DE128. Either case
// is accepted on verification.
//
// # What the MAC covers
//
//	+------+----------------+-----------------+---------------------+--------------+
//	| MTI  | primary bitmap | secondary bitmap | DE2 ... DE127       | DE128        |
//	| 4    | 16 hex, bit 1  | 16 hex, bit 128  | every element, as   | 16 hex chars |
//	|      | set            | set              | encoded             | = MAC        |
//	+------+----------------+-----------------+---------------------+--------------+
//	|<-------------------- MAC input: msg[:len(msg)-16] -------------->|
//
// The input is the encoded message (the payload, without the 2-byte frame
// length) up to but excluding DE128's 16 characters: since DE128 is the
// highest element it is always last, so the input is msg minus its last 16
// bytes, bitmaps included with bit 128 set. A message without bit 128 has no
// MAC (ErrMissingMAC). Sign expects the message encoded with a placeholder
// DE128 (MACPlaceholder) and overwrites it in place; the bitmap and lengths
// do not change.
//
// The package finds bit 128 from the bytes alone (no decode, no codec
// dependency): the primary bitmap is 16 ASCII hex characters after the
// 4-byte MTI; bit 1 is the high bit of its first character; when set, the
// secondary bitmap follows and bit 128 is the low bit of its last character
// (offset 35).
//
// # Key handling
//
// A key file holds the 32-byte key either as 64 hex characters (optionally
// followed by a newline) or as 32 raw bytes. LoadKey refuses a file whose
// mode grants anything to group or others (it must be 0600 or 0400): a key
// readable by other local users is a key an attacker may already have.
// NewKeyFile creates such a file from crypto/rand with mode 0600 and refuses
// to overwrite one. A Key never prints its secret: String and GoString show
// only a fingerprint (the first 4 bytes of SHA-256 of the key), which lets
// operators confirm that both ends hold the same key without revealing it.
// Keys are never taken from flags or environment variables, which are
// visible in the process table and in shell history.
//
// Rotation: the center and the switch must change keys together (at a
// quiet time such as after cutover): write the new file, restart or reload
// both ends. A message signed with the old key fails verification with
// ErrBadMAC and is rejected, never processed.
//
// # Invariants
//
//   - Verify compares in constant time (crypto/hmac.Equal on the decoded
//     bytes), so response timing does not reveal how many MAC bytes matched.
//   - Sign and Verify allocate nothing in steady state (a bounded free list
//     of HMAC states, at most 64; BenchmarkVerify reports 0 allocs/op) and
//     are safe for concurrent use by many event loops.
//   - Neither changes any byte of msg except Sign's 16 DE128 characters.
package mac
