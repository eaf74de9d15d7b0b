package codec

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (usually inside a *FieldError that says where), so callers test with
// errors.Is and never match strings.
var (
	// ErrShortFrame: the bytes end before the frame, header or element does.
	ErrShortFrame = errors.New("codec: short frame")
	// ErrBadLength: a length (frame header, LL/LLL prefix, fixed record) is malformed or inconsistent.
	ErrBadLength = errors.New("codec: bad length")
	// ErrFrameTooLarge: a frame announces, or a message needs, more bytes than allowed.
	ErrFrameTooLarge = errors.New("codec: frame too large")
	// ErrFieldTooLong: a value is longer than its element allows.
	ErrFieldTooLong = errors.New("codec: field too long")
	// ErrNotNumeric: a numeric element, length prefix or header field holds a non-digit.
	ErrNotNumeric = errors.New("codec: not numeric")
	// ErrBadCharacter: a value holds a byte its content type does not allow (an, ans, b, x+n).
	ErrBadCharacter = errors.New("codec: character not allowed")
	// ErrUnknownField: a data element, record kind or field the spec does not define.
	ErrUnknownField = errors.New("codec: unknown field")
	// ErrBadBitmap: the bitmap is not hexadecimal, or sets a bit the model forbids.
	ErrBadBitmap = errors.New("codec: bad bitmap")
	// ErrBadMTI: the message type indicator is not 4 digits.
	ErrBadMTI = errors.New("codec: bad MTI")
	// ErrMissingField: a field the record layout requires was not set.
	ErrMissingField = errors.New("codec: missing field")
	// ErrBadValue: a value is well formed but not one of the allowed values (flags, signs).
	ErrBadValue = errors.New("codec: bad value")
	// ErrBadSpec: a spec file is invalid; the FieldError names the element and the problem.
	ErrBadSpec = errors.New("codec: bad spec")
)

// FieldError says where an error happened. Field is the ISO 8583 data
// element number, or the CAFIS field index returned by FieldIndex; 0 means
// the frame, MTI, bitmap or CAFIS header (Name then says which part).
// Offset is the byte offset in the payload (-1 when encoding or loading a spec).
type FieldError struct {
	Field  int
	Name   string
	Offset int
	Err    error
	// Detail is an optional human explanation (used by spec loading).
	Detail string
}

func (e *FieldError) Error() string {
	b := make([]byte, 0, 96)
	b = append(b, e.Err.Error()...)
	b = append(b, ": "...)
	if e.Field > 0 {
		b = append(b, "field "...)
		b = strconv.AppendInt(b, int64(e.Field), 10)
		if e.Name != "" {
			b = append(b, " ("...)
			b = append(b, e.Name...)
			b = append(b, ')')
		}
	} else if e.Name != "" {
		b = append(b, e.Name...)
	} else {
		b = append(b, "frame"...)
	}
	if e.Offset >= 0 {
		b = append(b, " at offset "...)
		b = strconv.AppendInt(b, int64(e.Offset), 10)
	}
	if e.Detail != "" {
		b = append(b, ": "...)
		b = append(b, e.Detail...)
	}
	return string(b)
}

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field int, name string, off int, err error) error {
	return &FieldError{Field: field, Name: name, Offset: off, Err: err}
}
