package ipc

import "encoding/binary"

// Version is the protocol version carried in byte 4 of every frame.
const Version = 1

// MaxFrame is the largest value of the u32 length prefix (the length of the
// rest of the frame, i.e. header after the prefix plus fields).
const MaxFrame = 65536

// Sizes of the fixed parts of a frame.
const (
	lenPrefix   = 4                      // u32 length
	HeaderSize  = 24                     // length prefix + version, kind, flags, session, correlation
	minLength   = HeaderSize - lenPrefix // smallest legal length value: a frame with no fields
	fieldHeader = 4                      // u16 tag + u16 length
	// MaxFieldValue is the largest value a u16 field length can carry.
	MaxFieldValue = 65535
)

// Kind is the frame kind in byte 5 of the header.
type Kind uint8

// Kinds of IPC v1. Requests go app → daemon and are answered by the kind
// after them, or by KindError.
const (
	KindOpenSession   Kind = 1
	KindSessionOpened Kind = 2
	KindCloseSession  Kind = 3
	KindSessionClosed Kind = 4
	KindRequest       Kind = 5
	KindResponse      Kind = 6
	KindError         Kind = 7
	KindNotice        Kind = 8
	KindPing          Kind = 9
	KindPong          Kind = 10
)

// Known reports whether k is a kind of IPC v1.
func (k Kind) Known() bool { return k >= KindOpenSession && k <= KindPong }

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindOpenSession:
		return "OpenSession"
	case KindSessionOpened:
		return "SessionOpened"
	case KindCloseSession:
		return "CloseSession"
	case KindSessionClosed:
		return "SessionClosed"
	case KindRequest:
		return "Request"
	case KindResponse:
		return "Response"
	case KindError:
		return "Error"
	case KindNotice:
		return "Notice"
	case KindPing:
		return "Ping"
	case KindPong:
		return "Pong"
	}
	return "Kind(?)"
}

// Tag identifies a field.
type Tag uint16

// Tags of IPC v1 (DESIGN §5). Values are ASCII text unless stated.
const (
	TagCenter       Tag = 1  // "cafis" | "cardnet"
	TagOp           Tag = 2  // "authorize" "sale" "refund" "cancel" "advice" "inquiry"
	TagRef          Tag = 3  // app reference, 1..32 printable ASCII; idempotency key
	TagPAN          Tag = 4  // 12..19 digits
	TagExpiry       Tag = 5  // YYMM
	TagAmount       Tag = 6  // minor units, 1..12 digits
	TagCurrency     Tag = 7  // ISO 4217 numeric, 3 digits
	TagTerminal     Tag = 8  // terminal id, 1..8
	TagMerchant     Tag = 9  // merchant id, 1..15
	TagOrigRef      Tag = 10 // original app reference (cancel)
	TagAppToken     Tag = 11 // app credential on OpenSession
	TagResult       Tag = 20 // "approved" "declined" "cancelled" "timeout" "failed"
	TagRespCode     Tag = 21 // network response code, 2
	TagAuthCode     Tag = 22 // authorization code, 6
	TagSTAN         Tag = 23 // STAN / 通番 used toward the center
	TagBusinessDate Tag = 24 // YYYYMMDD
	TagRRN          Tag = 25 // retrieval reference number
	TagErrorCode    Tag = 30 // decimal error code
	TagErrorText    Tag = 31 // error text
	TagNoticeKind   Tag = 40 // "cutover" "line" "recovery"
	TagNoticeDetail Tag = 41 // e.g. the new business date
)

// Split returns the first complete frame at the start of buf, as a
// sub-slice of buf (no copy), and the number of bytes it occupies (to
// discard once the frame is handled). It returns (nil, 0, nil) when buf does
// not yet hold a whole frame. A length below 20 or above MaxFrame is
// reported as soon as the 4-byte prefix has arrived, so an oversized frame
// is refused before it is buffered; the error is an *Error with
// CodeMalformed and the stream cannot be resynchronised.
func Split(buf []byte) (frame []byte, n int, err error) {
	if len(buf) < lenPrefix {
		return nil, 0, nil
	}
	l := binary.BigEndian.Uint32(buf)
	if l < minLength {
		return nil, 0, errLengthSmall
	}
	if l > MaxFrame {
		return nil, 0, errLengthLarge
	}
	n = lenPrefix + int(l)
	if len(buf) < n {
		return nil, 0, nil
	}
	return buf[:n:n], n, nil
}

// Frame is a read-only view over one frame's bytes. It does not copy: the
// views it returns alias the buffer given to Parse and are valid only while
// that buffer is. The zero Frame is empty; Parse fills it.
type Frame struct {
	b []byte
}

// Parse checks b as one whole frame (as returned by Split) and makes f a
// view of it. It checks the length prefix against len(b), the version,
// every field header against the frame bounds, and then the kind. Fields
// with unknown tags are kept and skipped by the accessors' users.
//
// Errors are *Error: CodeMalformed for bad lengths or field headers (the
// connection must then be closed); CodeUnsupportedVersion or CodeUnknownKind
// otherwise. After a CodeUnsupportedVersion or CodeUnknownKind error the
// header accessors are valid, so the caller can answer with the request's
// session and correlation id.
func (f *Frame) Parse(b []byte) error {
	f.b = nil
	if len(b) < HeaderSize {
		return errShortHeader
	}
	l := binary.BigEndian.Uint32(b)
	if l < minLength {
		return errLengthSmall
	}
	if l > MaxFrame {
		return errLengthLarge
	}
	if int(l) != len(b)-lenPrefix {
		return errLengthMismatch
	}
	f.b = b
	if b[4] != Version {
		return errVersion
	}
	for i := HeaderSize; i < len(b); {
		if len(b)-i < fieldHeader {
			f.b = nil
			return errFieldHeader
		}
		vl := int(binary.BigEndian.Uint16(b[i+2:]))
		i += fieldHeader
		if vl > len(b)-i {
			f.b = nil
			return errFieldValue
		}
		i += vl
	}
	if !Kind(b[5]).Known() {
		return errKind
	}
	return nil
}

// Bytes returns the whole frame, length prefix included.
func (f *Frame) Bytes() []byte { return f.b }

// The header accessors return 0 on a Frame that holds no frame (zero, or
// after a CodeMalformed error from Parse), so an error path may read them
// without checking first.

// Version returns the header's version byte.
func (f *Frame) Version() uint8 {
	if len(f.b) < HeaderSize {
		return 0
	}
	return f.b[4]
}

// Kind returns the frame kind.
func (f *Frame) Kind() Kind {
	if len(f.b) < HeaderSize {
		return 0
	}
	return Kind(f.b[5])
}

// Flags returns the reserved flags (0 in version 1).
func (f *Frame) Flags() uint16 {
	if len(f.b) < HeaderSize {
		return 0
	}
	return binary.BigEndian.Uint16(f.b[6:])
}

// Session returns the session id (0 until a session is open).
func (f *Frame) Session() uint64 {
	if len(f.b) < HeaderSize {
		return 0
	}
	return binary.BigEndian.Uint64(f.b[8:])
}

// Correlation returns the correlation id chosen by the requester.
func (f *Frame) Correlation() uint64 {
	if len(f.b) < HeaderSize {
		return 0
	}
	return binary.BigEndian.Uint64(f.b[16:])
}

// Field returns the value of the first field with the tag, or nil if the
// frame has none. A present but empty field is a non-nil empty slice.
func (f *Frame) Field(tag Tag) []byte {
	it := f.Fields()
	for {
		t, v, ok := it.Next()
		if !ok {
			return nil
		}
		if t == tag {
			return v
		}
	}
}

// Fields returns an iterator over the frame's fields in wire order.
func (f *Frame) Fields() FieldIter {
	if len(f.b) < HeaderSize {
		return FieldIter{}
	}
	return FieldIter{b: f.b[HeaderSize:]}
}

// FieldIter walks the fields of a parsed frame without allocating.
//
//	it := f.Fields()
//	for tag, v, ok := it.Next(); ok; tag, v, ok = it.Next() { ... }
type FieldIter struct {
	b []byte
}

// Next returns the next field, or ok == false at the end. It relies on
// Parse having checked the field headers; on unchecked bytes it stops at
// the first field that does not fit.
func (it *FieldIter) Next() (tag Tag, value []byte, ok bool) {
	if len(it.b) < fieldHeader {
		return 0, nil, false
	}
	tag = Tag(binary.BigEndian.Uint16(it.b))
	vl := int(binary.BigEndian.Uint16(it.b[2:]))
	if vl > len(it.b)-fieldHeader {
		it.b = nil
		return 0, nil, false
	}
	value = it.b[fieldHeader : fieldHeader+vl : fieldHeader+vl]
	it.b = it.b[fieldHeader+vl:]
	return tag, value, true
}
