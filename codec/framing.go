package codec

// Framing is how a center line delimits messages on a byte stream.
type Framing uint8

const (
	// FrameBin2 is a 2-byte big-endian length of the payload that follows (CARDNET model).
	FrameBin2 Framing = 1
	// FrameASCII4 is 4 ASCII decimal digits of the payload length (CAFIS model).
	FrameASCII4 Framing = 2
)

// Largest payload each header can express.
const (
	MaxPayloadBin2   = 65535
	MaxPayloadASCII4 = 9999
)

// HeaderLen is the length of the frame header in bytes (0 for an unknown framing).
func (f Framing) HeaderLen() int {
	switch f {
	case FrameBin2:
		return 2
	case FrameASCII4:
		return 4
	}
	return 0
}

// MaxPayload is the largest payload the header can express.
func (f Framing) MaxPayload() int {
	switch f {
	case FrameBin2:
		return MaxPayloadBin2
	case FrameASCII4:
		return MaxPayloadASCII4
	}
	return 0
}

func (f Framing) String() string {
	switch f {
	case FrameBin2:
		return "bin2"
	case FrameASCII4:
		return "ascii4"
	}
	return "unknown"
}

// limit clamps a caller's maximum to what the header can express; <= 0 means no extra limit.
func (f Framing) limit(maxPayload int) int {
	m := f.MaxPayload()
	if maxPayload > 0 && maxPayload < m {
		return maxPayload
	}
	return m
}

// payloadLen decodes a complete header. A zero length is rejected: an empty
// message is never valid on either line, and accepting it would let a peer
// spin the reader without progress.
func (f Framing) payloadLen(hdr []byte, maxPayload int) (int, error) {
	var n int
	switch f {
	case FrameBin2:
		n = int(hdr[0])<<8 | int(hdr[1])
	case FrameASCII4:
		for i := 0; i < 4; i++ {
			d := hdr[i] - '0'
			if d > 9 {
				return 0, &FieldError{Name: "frame header", Offset: i, Err: ErrBadLength, Detail: "length is not 4 decimal digits"}
			}
			n = n*10 + int(d)
		}
	default:
		return 0, &FieldError{Name: "frame header", Offset: 0, Err: ErrBadLength, Detail: "unknown framing"}
	}
	if n == 0 {
		return 0, &FieldError{Name: "frame header", Offset: 0, Err: ErrBadLength, Detail: "zero-length frame"}
	}
	if n > f.limit(maxPayload) {
		return 0, &FieldError{Name: "frame header", Offset: 0, Err: ErrFrameTooLarge}
	}
	return n, nil
}

// Split looks at the start of buf (bytes accumulated so far). It returns the
// first complete frame's payload as a sub-slice of buf (no copy) and total =
// header+payload length to discard; total == 0 && err == nil means "need more
// bytes". maxPayload <= 0 means the largest the header can express. An error
// means the stream cannot be re-synchronised: close the connection.
func (f Framing) Split(buf []byte, maxPayload int) (payload []byte, total int, err error) {
	hl := f.HeaderLen()
	if hl == 0 {
		return nil, 0, &FieldError{Name: "frame header", Offset: 0, Err: ErrBadLength, Detail: "unknown framing"}
	}
	if len(buf) < hl {
		// Reject a visibly bad ASCII header early instead of waiting for
		// bytes that cannot make it valid.
		if f == FrameASCII4 {
			for i, c := range buf {
				if c-'0' > 9 {
					return nil, 0, &FieldError{Name: "frame header", Offset: i, Err: ErrBadLength, Detail: "length is not 4 decimal digits"}
				}
			}
		}
		return nil, 0, nil
	}
	n, err := f.payloadLen(buf[:hl], maxPayload)
	if err != nil {
		return nil, 0, err
	}
	if len(buf)-hl < n {
		return nil, 0, nil
	}
	return buf[hl : hl+n : hl+n], hl + n, nil
}

// AppendHeader appends the header for a payload of payloadLen bytes.
func (f Framing) AppendHeader(dst []byte, payloadLen int) ([]byte, error) {
	var hdr [4]byte
	hl := f.HeaderLen()
	if err := f.PutHeader(hdr[:hl], payloadLen); err != nil {
		return dst, err
	}
	return append(dst, hdr[:hl]...), nil
}

// ReserveHeader appends HeaderLen() placeholder bytes, to be patched with
// PutHeader once the payload has been appended after them.
func (f Framing) ReserveHeader(dst []byte) []byte {
	var zero [4]byte
	return append(dst, zero[:f.HeaderLen()]...)
}

// PutHeader writes the header for payloadLen into hdr[:HeaderLen()]. With
// ReserveHeader it lets a message be encoded once, straight into the output
// buffer, without knowing its length in advance.
func (f Framing) PutHeader(hdr []byte, payloadLen int) error {
	hl := f.HeaderLen()
	if hl == 0 {
		return &FieldError{Name: "frame header", Offset: -1, Err: ErrBadLength, Detail: "unknown framing"}
	}
	if len(hdr) < hl {
		return &FieldError{Name: "frame header", Offset: -1, Err: ErrShortFrame}
	}
	if payloadLen <= 0 {
		return &FieldError{Name: "frame header", Offset: -1, Err: ErrBadLength, Detail: "payload length must be positive"}
	}
	if payloadLen > f.MaxPayload() {
		return &FieldError{Name: "frame header", Offset: -1, Err: ErrFrameTooLarge}
	}
	switch f {
	case FrameBin2:
		hdr[0] = byte(payloadLen >> 8)
		hdr[1] = byte(payloadLen)
	case FrameASCII4:
		hdr[0] = byte('0' + payloadLen/1000)
		hdr[1] = byte('0' + payloadLen/100%10)
		hdr[2] = byte('0' + payloadLen/10%10)
		hdr[3] = byte('0' + payloadLen%10)
	}
	return nil
}

// AppendFrame appends header and payload in one call (convenience for tests
// and tools; the hot path reserves the header and uses PutHeader).
func (f Framing) AppendFrame(dst, payload []byte) ([]byte, error) {
	dst, err := f.AppendHeader(dst, len(payload))
	if err != nil {
		return dst, err
	}
	return append(dst, payload...), nil
}

// Splitter cuts frames out of a byte stream that arrives in arbitrary pieces
// (as an event loop delivers them). Complete frames inside a fed piece are
// returned as views of that piece, without copying; only a frame that
// straddles pieces is assembled in the splitter's own buffer, which is
// bounded by two maximal frames. Views stay valid until the next Feed.
// After an error the splitter stays failed: the stream cannot be
// re-synchronised and the connection should be closed.
type Splitter struct {
	f   Framing
	max int

	// pend holds bytes of a frame that straddles Feed calls; pend[:pendOff]
	// were already returned as views and are kept intact until the next Feed.
	pend    []byte
	pendOff int
	in      []byte
	err     error
}

// NewSplitter returns a splitter for the framing; maxPayload <= 0 means the
// largest the header can express.
func NewSplitter(f Framing, maxPayload int) *Splitter {
	return &Splitter{f: f, max: f.limit(maxPayload)}
}

// Feed hands the splitter the next piece of the stream. The splitter keeps a
// reference to p until the following Feed; p must not be modified meanwhile.
// Feed invalidates every view returned so far. Call Next until it returns
// (nil, nil) before feeding again: bytes left undrained are copied, and more
// than two maximal frames of them fail the splitter with ErrFrameTooLarge,
// so a caller that never drains cannot grow it without bound.
func (s *Splitter) Feed(p []byte) {
	if s.pendOff > 0 {
		n := copy(s.pend, s.pend[s.pendOff:])
		s.pend = s.pend[:n]
		s.pendOff = 0
	}
	if len(s.in) > 0 && s.err == nil {
		// The previous piece was not drained: keep its bytes.
		if len(s.pend)+len(s.in) > 2*(s.f.HeaderLen()+s.max) {
			s.err = &FieldError{Name: "splitter", Offset: -1, Err: ErrFrameTooLarge, Detail: "fed without draining beyond two maximal frames"}
		} else {
			s.pend = append(s.pend, s.in...)
		}
	}
	s.in = p
}

// Buffered is the number of bytes fed but not yet returned as frames.
func (s *Splitter) Buffered() int { return len(s.pend) - s.pendOff + len(s.in) }

// Err is the sticky error, if any.
func (s *Splitter) Err() error { return s.err }

// Reset drops all state, including a sticky error.
func (s *Splitter) Reset() {
	s.pend = s.pend[:0]
	s.pendOff = 0
	s.in = nil
	s.err = nil
}

// Next returns the next complete payload; (nil, nil) means more bytes are needed.
func (s *Splitter) Next() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if len(s.pend) > s.pendOff {
		return s.nextPending()
	}
	if len(s.in) == 0 {
		return nil, nil
	}
	payload, total, err := s.f.Split(s.in, s.max)
	if err != nil {
		s.err = err
		return nil, err
	}
	if total == 0 {
		// Incomplete tail: take ownership of it, since the piece is the caller's.
		s.pend = append(s.pend, s.in...)
		s.in = nil
		return nil, nil
	}
	s.in = s.in[total:]
	return payload, nil
}

// nextPending completes the straddling frame in pend from the current piece.
func (s *Splitter) nextPending() ([]byte, error) {
	hl := s.f.HeaderLen()
	if have := len(s.pend) - s.pendOff; have < hl {
		take := min(hl-have, len(s.in))
		s.pend = append(s.pend, s.in[:take]...)
		s.in = s.in[take:]
	}
	cur := s.pend[s.pendOff:]
	payload, total, err := s.f.Split(cur, s.max)
	if err != nil {
		s.err = err
		return nil, err
	}
	if total == 0 && len(cur) >= hl {
		n, _ := s.f.payloadLen(cur[:hl], s.max) // validated by Split above
		take := min(hl+n-len(cur), len(s.in))
		s.pend = append(s.pend, s.in[:take]...)
		s.in = s.in[take:]
		cur = s.pend[s.pendOff:]
		payload, total, err = s.f.Split(cur, s.max)
		if err != nil {
			s.err = err
			return nil, err
		}
	}
	if total == 0 {
		return nil, nil
	}
	s.pendOff += total
	return payload, nil
}
