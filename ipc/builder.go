package ipc

import "encoding/binary"

// Builder appends one frame to a caller's slice. It never allocates unless
// the slice has to grow, so a caller that reuses its output buffer (an event
// loop's write buffer, a pooled client buffer) builds frames for free.
//
//	b := ipc.Begin(dst, ipc.KindResponse, session, corr)
//	b.Str(ipc.TagResult, "approved")
//	b.Uint(ipc.TagSTAN, stan)
//	dst, err := b.Finish()
//
// Errors are sticky: the first one is returned by Finish, which then
// returns dst as it was before Begin.
type Builder struct {
	buf   []byte
	start int
	err   error
}

// Begin starts a frame of the kind at the end of dst, with flags 0.
func Begin(dst []byte, kind Kind, session, corr uint64) Builder {
	start := len(dst)
	dst = append(dst,
		0, 0, 0, 0, // length, patched by Finish
		Version, byte(kind), 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, session)
	dst = binary.BigEndian.AppendUint64(dst, corr)
	return Builder{buf: dst, start: start}
}

func (b *Builder) field(tag Tag, n int) bool {
	if b.err != nil {
		return false
	}
	if n > MaxFieldValue {
		b.err = ErrFieldTooLarge
		return false
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(tag))
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(n))
	return true
}

// Str appends a text field.
func (b *Builder) Str(tag Tag, s string) {
	if b.field(tag, len(s)) {
		b.buf = append(b.buf, s...)
	}
}

// Bytes appends a field with the raw value v.
func (b *Builder) Bytes(tag Tag, v []byte) {
	if b.field(tag, len(v)) {
		b.buf = append(b.buf, v...)
	}
}

// Uint appends v as ASCII decimal without leading zeros.
func (b *Builder) Uint(tag Tag, v uint64) {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	b.Bytes(tag, tmp[i:])
}

// Finish patches the length prefix and returns dst with the frame appended.
func (b *Builder) Finish() ([]byte, error) {
	if b.err != nil {
		return b.buf[:b.start], b.err
	}
	l := len(b.buf) - b.start - lenPrefix
	if l > MaxFrame {
		return b.buf[:b.start], ErrFrameTooLarge
	}
	binary.BigEndian.PutUint32(b.buf[b.start:], uint32(l))
	return b.buf, nil
}

// AppendError appends a complete Error frame answering (session, corr):
// tag 30 with the code in decimal and, if text is not empty, tag 31. A text
// longer than MaxErrorText bytes is cut, so the frame always builds.
func AppendError(dst []byte, session, corr uint64, code Code, text string) []byte {
	if len(text) > MaxErrorText {
		text = text[:MaxErrorText]
	}
	b := Begin(dst, KindError, session, corr)
	b.Uint(TagErrorCode, uint64(code))
	if text != "" {
		b.Str(TagErrorText, text)
	}
	out, _ := b.Finish() // cannot fail: the text is bounded far below MaxFrame
	return out
}

// MaxErrorText bounds the text of an Error frame built by AppendError; error
// texts are for people and logs, not for data.
const MaxErrorText = 1024

// ParseUint reads an ASCII decimal of 1..19 digits. It is the inverse of
// Builder.Uint for the values the protocol carries (amounts of ≤12 digits,
// STANs, codes).
func ParseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}
