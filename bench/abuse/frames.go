package main

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/fxswitch/fxswitch/ipc"
)

// The frames a hostile client sends. Each builder returns bytes ready to
// write; the tests check what fxd's own parser (ipc.Split, Frame.Parse,
// RequestView.Parse) makes of them.

// garbage is n random bytes whose length prefix is out of range (above
// ipc.MaxFrame), so fxd refuses the stream as soon as 4 bytes have arrived.
func garbage(r *rand.Rand, n int) []byte {
	if n < 4 {
		n = 4
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0] |= 0x80 // length ≥ 2^31: out of range whatever the rest
	return b
}

// oversizePrefix is a length prefix just above ipc.MaxFrame followed by
// a few bytes of a header: an attempt to make fxd buffer a huge frame.
func oversizePrefix() []byte {
	b := binary.BigEndian.AppendUint32(nil, ipc.MaxFrame+1)
	return append(b, ipc.Version, byte(ipc.KindRequest), 0, 0)
}

// undersizePrefix is a length prefix below the smallest legal frame.
func undersizePrefix() []byte {
	b := binary.BigEndian.AppendUint32(nil, ipc.HeaderSize-4-1)
	return append(b, make([]byte, 19)...)
}

// halfFrame is the first half of a legal frame whose length prefix
// announces the largest legal size: fxd waits for the rest, which never
// comes (its read_timeout closes the connection).
func halfFrame() []byte {
	b := binary.BigEndian.AppendUint32(nil, ipc.MaxFrame)
	b = append(b, ipc.Version, byte(ipc.KindRequest), 0, 0)
	b = binary.BigEndian.AppendUint64(b, 1)
	b = binary.BigEndian.AppendUint64(b, 1)
	return append(b, make([]byte, 4096)...)
}

// openSession is a valid OpenSession for center, with token when not "".
func openSession(center, token string, corr uint64) []byte {
	b := ipc.Begin(nil, ipc.KindOpenSession, 0, corr)
	b.Str(ipc.TagCenter, center)
	if token != "" {
		b.Str(ipc.TagAppToken, token)
	}
	out, _ := b.Finish()
	return out
}

// invalidRequest appends a well-framed Request whose fields fail
// validation (PAN not digits, expiry month 13, amount not a number): fxd
// answers error 15 and keeps the connection, so it can be sent in a flood.
func invalidRequest(dst []byte, session, corr uint64) []byte {
	b := ipc.Begin(dst, ipc.KindRequest, session, corr)
	b.Str(ipc.TagOp, "sale")
	b.Str(ipc.TagRef, "abuse")
	b.Str(ipc.TagPAN, "41111111x1111111")
	b.Str(ipc.TagExpiry, "2913")
	b.Str(ipc.TagAmount, "1e9")
	b.Str(ipc.TagCurrency, "392")
	out, _ := b.Finish()
	return out
}

// malformedRequest appends a Request whose length prefix is legal but
// whose last field claims more bytes than the frame holds: a malformed
// frame (error 1), after which fxd closes the connection.
func malformedRequest(dst []byte, session, corr uint64) []byte {
	start := len(dst)
	b := ipc.Begin(dst, ipc.KindRequest, session, corr)
	b.Str(ipc.TagOp, "sale")
	out, _ := b.Finish()
	// Field header: tag 3 (ref), length 200, but only 2 value bytes follow.
	out = binary.BigEndian.AppendUint16(out, uint16(ipc.TagRef))
	out = binary.BigEndian.AppendUint16(out, 200)
	out = append(out, 'x', 'y')
	binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-4))
	return out
}
