package codec

import (
	"iter"
	"math/bits"
)

// Offsets are stored as uint16; a CARDNET frame cannot be longer anyway.
const maxISOMessageLen = MaxPayloadBin2

type fieldPos struct{ off, n uint16 }

// ISOMessage is a decoded ISO 8583 message: a view of the payload bytes plus
// the offset and length of every present element, in fixed arrays (no maps,
// no per-field allocation). Accessors return sub-slices of the payload, valid
// as long as the payload is. The zero value is ready for Decode; a message is
// reused by decoding into it again.
type ISOMessage struct {
	spec *ISOSpec
	raw  []byte
	// bitmap as on the wire: bit 63 of bm[0] is DE1, bit 0 of bm[1] is DE128.
	bm  [2]uint64
	pos [129]fieldPos
}

func bitOf(de int) (word int, shift uint) { return (de - 1) >> 6, uint(63 - (de-1)&63) }

// Decode parses payload (one frame's payload, no frame header) into m.
// m keeps a reference to payload. On error m is left empty.
func (s *ISOSpec) Decode(m *ISOMessage, payload []byte) error {
	m.spec = s
	m.raw = nil
	m.bm = [2]uint64{}
	if err := s.decode(m, payload); err != nil {
		m.bm = [2]uint64{}
		return err
	}
	m.raw = payload
	return nil
}

func (s *ISOSpec) decode(m *ISOMessage, p []byte) error {
	if len(p) > maxISOMessageLen {
		return fieldErr(0, "message", 0, ErrFrameTooLarge)
	}
	if len(p) < 4 {
		return fieldErr(0, "MTI", 0, ErrShortFrame)
	}
	for i := 0; i < 4; i++ {
		if p[i]-'0' > 9 {
			return fieldErr(0, "MTI", i, ErrBadMTI)
		}
	}
	off := 4
	bm0, err := parseHexBitmap(p, off)
	if err != nil {
		return err
	}
	off += 16
	var bm1 uint64
	if bm0>>63 != 0 {
		if bm1, err = parseHexBitmap(p, off); err != nil {
			return err
		}
		if bm1 == 0 {
			// The model writes the secondary bitmap only when DE65-128 is present.
			return &FieldError{Name: "bitmap", Offset: off, Err: ErrBadBitmap, Detail: "secondary bitmap announced but empty"}
		}
		off += 16
	}
	m.bm = [2]uint64{bm0, bm1}
	for w := 0; w < 2; w++ {
		word := m.bm[w]
		if w == 0 {
			word &^= 1 << 63 // DE1 is the secondary bitmap, already read
		}
		for word != 0 {
			lz := bits.LeadingZeros64(word)
			word &^= 1 << uint(63-lz)
			de := w*64 + lz + 1
			e := &s.elems[de]
			if !e.defined {
				return fieldErr(de, "", off, ErrUnknownField)
			}
			n := e.max
			switch e.lenType {
			case lenLL, lenLLL:
				pl := 2
				if e.lenType == lenLLL {
					pl = 3
				}
				if len(p)-off < pl {
					return fieldErr(de, e.name, off, ErrShortFrame)
				}
				n = 0
				for i := 0; i < pl; i++ {
					d := p[off+i] - '0'
					if d > 9 {
						return &FieldError{Field: de, Name: e.name, Offset: off + i, Err: ErrBadLength, Detail: "length prefix is not decimal"}
					}
					n = n*10 + int(d)
				}
				if n > e.max {
					return fieldErr(de, e.name, off, ErrFieldTooLong)
				}
				off += pl
			}
			if len(p)-off < n {
				return fieldErr(de, e.name, off, ErrShortFrame)
			}
			v := p[off : off+n]
			if !allIn(v[min(n, int(e.xn)):], e.mask) || (e.xn != 0 && n > 0 && v[0] != 'C' && v[0] != 'D') {
				i := badByte(v, e.content, e.mask)
				return fieldErr(de, e.name, off+i, contentErr(e.content, i))
			}
			m.pos[de] = fieldPos{uint16(off), uint16(n)}
			off += n
		}
	}
	if off != len(p) {
		return &FieldError{Name: "message", Offset: off, Err: ErrBadLength, Detail: "bytes after the last element"}
	}
	return nil
}

func parseHexBitmap(p []byte, off int) (uint64, error) {
	if len(p)-off < 16 {
		return 0, fieldErr(0, "bitmap", off, ErrShortFrame)
	}
	var v uint64
	for i := 0; i < 16; i++ {
		c := p[off+i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, fieldErr(0, "bitmap", off+i, ErrBadBitmap)
		}
		v = v<<4 | uint64(d)
	}
	return v, nil
}

// MTI is the 4-digit message type indicator (nil before a successful Decode).
func (m *ISOMessage) MTI() []byte {
	if m.raw == nil {
		return nil
	}
	return m.raw[0:4:4]
}

// Has reports whether data element de (2..128) is present.
func (m *ISOMessage) Has(de int) bool {
	if de < 2 || de > 128 || m.raw == nil {
		return false
	}
	w, sh := bitOf(de)
	return m.bm[w]>>sh&1 != 0
}

// Get is the value of data element de without its length prefix, padding
// included; nil if absent.
func (m *ISOMessage) Get(de int) []byte {
	if !m.Has(de) {
		return nil
	}
	p := m.pos[de]
	end := int(p.off) + int(p.n)
	return m.raw[p.off:end:end]
}

// Uint parses a numeric element in place; false if absent, not all digits,
// or longer than 19 digits.
func (m *ISOMessage) Uint(de int) (uint64, bool) {
	return parseDigits(m.Get(de))
}

// Raw is the whole decoded payload.
func (m *ISOMessage) Raw() []byte { return m.raw }

// Spec is the spec the message was decoded with.
func (m *ISOMessage) Spec() *ISOSpec { return m.spec }

// Fields iterates over the present data elements in ascending order (not
// for the hot path: the iterator closure may allocate).
func (m *ISOMessage) Fields() iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		for de := 2; de <= 128; de++ {
			if m.Has(de) && !yield(de, m.Get(de)) {
				return
			}
		}
	}
}

const (
	valBytes uint8 = iota + 1
	valUint
)

// isoValue is one element to encode: bytes (strings are stored as a
// read-only view) or a number formatted at encode time.
type isoValue struct {
	b    []byte
	u    uint64
	kind uint8
}

// ISOFields collects the data elements of a message to encode. Fixed arrays,
// no maps: it is meant to be reused (Reset) per message, and the setters never
// allocate. Set keeps a reference to v until the message is encoded.
type ISOFields struct {
	bm  [2]uint64
	v   [129]isoValue
	bad int // first data element number out of range, reported by Append
}

// Reset removes every element (and drops references to their values).
func (f *ISOFields) Reset() {
	for w := 0; w < 2; w++ {
		word := f.bm[w]
		for word != 0 {
			lz := bits.LeadingZeros64(word)
			word &^= 1 << uint(63-lz)
			f.v[w*64+lz+1] = isoValue{}
		}
	}
	f.bm = [2]uint64{}
	f.bad = 0
}

func (f *ISOFields) slot(de int) *isoValue {
	if de < 2 || de > 128 {
		if f.bad == 0 {
			f.bad = de
		}
		return nil
	}
	w, sh := bitOf(de)
	f.bm[w] |= 1 << sh
	return &f.v[de]
}

// Set sets data element de to v as it goes on the wire (before padding).
func (f *ISOFields) Set(de int, v []byte) {
	if p := f.slot(de); p != nil {
		*p = isoValue{b: v, kind: valBytes}
	}
}

// SetString is Set for a string; it does not allocate.
func (f *ISOFields) SetString(de int, v string) {
	if p := f.slot(de); p != nil {
		*p = isoValue{b: bytesOf(v), kind: valBytes}
	}
}

// SetUint sets a numeric element; it is formatted at encode time, left-zero-padded
// to the element's length when fixed.
func (f *ISOFields) SetUint(de int, v uint64) {
	if p := f.slot(de); p != nil {
		*p = isoValue{u: v, kind: valUint}
	}
}

// Del removes data element de.
func (f *ISOFields) Del(de int) {
	if de < 2 || de > 128 {
		return
	}
	w, sh := bitOf(de)
	f.bm[w] &^= 1 << sh
	f.v[de] = isoValue{}
}

// Has reports whether data element de is set.
func (f *ISOFields) Has(de int) bool {
	if de < 2 || de > 128 {
		return false
	}
	w, sh := bitOf(de)
	return f.bm[w]>>sh&1 != 0
}

const hexDigits = "0123456789ABCDEF"

func appendHex64(dst []byte, v uint64) []byte {
	for sh := 60; sh >= 0; sh -= 4 {
		dst = append(dst, hexDigits[v>>uint(sh)&0xF])
	}
	return dst
}

// Append appends the message (MTI, bitmap, elements; no frame header) to dst.
// The secondary bitmap is written when, and only when, an element 65..128 is
// set. On error dst is returned unchanged in length.
func (s *ISOSpec) Append(dst []byte, mti string, f *ISOFields) ([]byte, error) {
	start := len(dst)
	if len(mti) != 4 {
		return dst, fieldErr(0, "MTI", -1, ErrBadMTI)
	}
	for i := 0; i < 4; i++ {
		if mti[i]-'0' > 9 {
			return dst, fieldErr(0, "MTI", -1, ErrBadMTI)
		}
	}
	if f.bad != 0 {
		return dst, fieldErr(f.bad, "", -1, ErrUnknownField)
	}
	bm := f.bm
	if bm[1] != 0 {
		bm[0] |= 1 << 63
	} else {
		bm[0] &^= 1 << 63
	}
	dst = append(dst, mti...)
	dst = appendHex64(dst, bm[0])
	if bm[1] != 0 {
		dst = appendHex64(dst, bm[1])
	}
	var err error
	for w := 0; w < 2; w++ {
		word := bm[w]
		if w == 0 {
			word &^= 1 << 63
		}
		for word != 0 {
			lz := bits.LeadingZeros64(word)
			word &^= 1 << uint(63-lz)
			de := w*64 + lz + 1
			e := &s.elems[de]
			if !e.defined {
				return dst[:start], fieldErr(de, "", -1, ErrUnknownField)
			}
			v := &f.v[de]
			switch v.kind {
			case valUint:
				dst, err = appendUintElem(dst, e, de, v.u)
			default:
				dst, err = appendElem(dst, e, de, v.b)
			}
			if err != nil {
				return dst[:start], err
			}
		}
	}
	if len(dst)-start > maxISOMessageLen {
		return dst[:start], fieldErr(0, "message", -1, ErrFrameTooLarge)
	}
	return dst, nil
}

func appendLenPrefix(dst []byte, lenType uint8, n int) []byte {
	if lenType == lenLLL {
		dst = append(dst, byte('0'+n/100))
	}
	return append(dst, byte('0'+n/10%10), byte('0'+n%10))
}

func appendUintElem(dst []byte, e *isoElem, de int, u uint64) ([]byte, error) {
	if e.content == contentXN {
		return dst, fieldErr(de, e.name, -1, ErrBadValue)
	}
	if e.lenType == lenFixed {
		out, ok := appendUintPad(dst, u, e.max)
		if !ok {
			return dst, fieldErr(de, e.name, -1, ErrFieldTooLong)
		}
		return out, nil
	}
	n := uintDigits(u)
	if n > e.max {
		return dst, fieldErr(de, e.name, -1, ErrFieldTooLong)
	}
	dst = appendLenPrefix(dst, e.lenType, n)
	dst, _ = appendUintPad(dst, u, 0)
	return dst, nil
}

func appendElem(dst []byte, e *isoElem, de int, v []byte) ([]byte, error) {
	n := len(v)
	if n > e.max {
		return dst, fieldErr(de, e.name, -1, ErrFieldTooLong)
	}
	body := v
	if e.content == contentXN && n > 0 {
		if v[0] != 'C' && v[0] != 'D' {
			return dst, fieldErr(de, e.name, -1, ErrBadValue)
		}
		body = v[1:]
	}
	if !allIn(body, e.mask) {
		i := badByte(v, e.content, e.mask)
		return dst, fieldErr(de, e.name, -1, contentErr(e.content, i))
	}
	if e.lenType != lenFixed {
		dst = appendLenPrefix(dst, e.lenType, n)
		return append(dst, v...), nil
	}
	if n == e.max {
		return append(dst, v...), nil
	}
	switch e.pad {
	case padZeroLeft:
		dst = append(dst, zeros[:e.max-n]...)
		return append(dst, v...), nil
	case padSpaceRight:
		dst = append(dst, v...)
		return append(dst, spaces[:e.max-n]...), nil
	}
	return dst, &FieldError{Field: de, Name: e.name, Offset: -1, Err: ErrBadLength, Detail: "fixed length element without padding"}
}
