package codec

import (
	"strings"
	"unsafe"
)

// Content types of an element or record field.
const (
	contentN   uint8 = iota + 1 // digits 0-9
	contentAN                   // letters, digits, space
	contentANS                  // any printable ASCII 0x20-0x7E
	contentB                    // binary carried as ASCII hex digits (two per byte)
	contentXN                   // sign 'C' or 'D' followed by digits
)

// Character class bits, one table lookup per byte when validating.
const (
	classDigit uint8 = 1 << iota
	classHex
	classAlnum
	classPrint
)

var charClass = func() (t [256]uint8) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] |= classPrint
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= classDigit | classHex | classAlnum
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] |= classAlnum
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= classAlnum
	}
	for _, c := range "ABCDEFabcdef" {
		t[c] |= classHex
	}
	t[' '] |= classAlnum
	return t
}()

func contentMask(content uint8) uint8 {
	switch content {
	case contentN, contentXN:
		return classDigit
	case contentAN:
		return classAlnum
	case contentANS:
		return classPrint
	case contentB:
		return classHex
	}
	return 0
}

func contentName(c uint8) string {
	switch c {
	case contentN:
		return "n"
	case contentAN:
		return "an"
	case contentANS:
		return "ans"
	case contentB:
		return "b"
	case contentXN:
		return "x+n"
	}
	return "?"
}

func parseContent(s string) (uint8, bool) {
	switch s {
	case "n":
		return contentN, true
	case "an":
		return contentAN, true
	case "ans":
		return contentANS, true
	case "b":
		return contentB, true
	case "x+n":
		return contentXN, true
	}
	return 0, false
}

// Runs of padding characters, appended in one go instead of byte by byte.
var (
	zeros  = strings.Repeat("0", MaxISOElementLen)
	spaces = strings.Repeat(" ", MaxISOElementLen)
)

// allIn reports whether every byte of v is in the class mask (the common,
// valid case; badByte then finds the offending byte for the error).
func allIn(v []byte, mask uint8) bool {
	for _, c := range v {
		if charClass[c]&mask == 0 {
			return false
		}
	}
	return true
}

// badByte returns the index of the first byte of v outside the content type,
// or -1. For x+n the first byte must be 'C' or 'D'.
func badByte(v []byte, content, mask uint8) int {
	i := 0
	if content == contentXN {
		if len(v) == 0 {
			return -1
		}
		if v[0] != 'C' && v[0] != 'D' {
			return 0
		}
		i = 1
	}
	for ; i < len(v); i++ {
		if charClass[v[i]]&mask == 0 {
			return i
		}
	}
	return -1
}

// bytesOf is a read-only view of s, so that strings set by callers go
// through the same code as byte slices without a copy or an allocation. The
// codec never writes through it.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// contentErr is the sentinel for a byte outside the content type.
func contentErr(content uint8, pos int) error {
	if content == contentN || (content == contentXN && pos > 0) {
		return ErrNotNumeric
	}
	if content == contentXN {
		return ErrBadValue
	}
	return ErrBadCharacter
}

// parseDigits parses an all-digit slice of at most 19 digits.
func parseDigits(v []byte) (uint64, bool) {
	if len(v) == 0 || len(v) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + uint64(d)
	}
	return n, true
}

// appendUintPad appends v in decimal, left-zero-padded to width (width 0:
// minimal digits). It reports false when v needs more than width digits.
func appendUintPad(dst []byte, v uint64, width int) ([]byte, bool) {
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
	n := len(tmp) - i
	if width > 0 {
		if n > width {
			return dst, false
		}
		for ; n < width; n++ {
			dst = append(dst, '0')
		}
	}
	return append(dst, tmp[i:]...), true
}

func uintDigits(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}
