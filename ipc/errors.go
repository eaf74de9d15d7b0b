package ipc

import (
	"errors"
	"strconv"
)

// Code is an IPC v1 error code, carried as decimal ASCII in tag 30 of an Error
// frame. The numbers are part of the contract (DESIGN §5): never renumber.
type Code uint16

// Error codes of IPC v1. Only CodeMalformed closes the connection; every
// other code answers one request and leaves the connection and its sessions
// usable.
const (
	CodeMalformed          Code = 1  // malformed frame; the daemon then closes the connection
	CodeUnsupportedVersion Code = 2  // header version is not 1
	CodeUnknownKind        Code = 3  // header kind is not a kind of this version
	CodeUnknownCenter      Code = 10 // OpenSession names a center that is not configured
	CodeNotSignedOn        Code = 11 // the center is not signed on (開局 not done)
	CodeUnknownSession     Code = 12 // session id unknown or already closed
	CodeRecoveryRequired   Code = 13 // リカバリ処理 must run before business resumes
	CodeBusy               Code = 14 // a bound was reached; retry later
	CodeInvalidField       Code = 15 // a field is missing or invalid; the text names it
	CodeTimeout            Code = 16 // no answer in time; a cancel toward the center was started
	CodeShuttingDown       Code = 17 // the daemon is draining for shutdown
	CodeReferenceReused    Code = 18 // same app reference, different content
	CodeUnknownReference   Code = 19 // inquiry for a reference the daemon never saw
	CodeUnauthorized       Code = 20 // missing or wrong app token
	CodeInternal           Code = 21 // the daemon failed; the text says where
)

// String returns the meaning of the code as written in DESIGN §5.
func (c Code) String() string {
	switch c {
	case CodeMalformed:
		return "malformed frame"
	case CodeUnsupportedVersion:
		return "unsupported version"
	case CodeUnknownKind:
		return "unknown kind"
	case CodeUnknownCenter:
		return "unknown center"
	case CodeNotSignedOn:
		return "center not signed on"
	case CodeUnknownSession:
		return "unknown or closed session"
	case CodeRecoveryRequired:
		return "recovery required"
	case CodeBusy:
		return "busy: a bound was reached, retry later"
	case CodeInvalidField:
		return "invalid field"
	case CodeTimeout:
		return "timeout, cancel toward the center started"
	case CodeShuttingDown:
		return "shutting down"
	case CodeReferenceReused:
		return "reference reused with different content"
	case CodeUnknownReference:
		return "unknown reference"
	case CodeUnauthorized:
		return "unauthorized"
	case CodeInternal:
		return "internal error"
	}
	return "code " + strconv.Itoa(int(c))
}

// Known reports whether c is a code of IPC v1.
func (c Code) Known() bool {
	switch c {
	case CodeMalformed, CodeUnsupportedVersion, CodeUnknownKind, CodeUnknownCenter,
		CodeNotSignedOn, CodeUnknownSession, CodeRecoveryRequired, CodeBusy,
		CodeInvalidField, CodeTimeout, CodeShuttingDown, CodeReferenceReused,
		CodeUnknownReference, CodeUnauthorized, CodeInternal:
		return true
	}
	return false
}

// ClosesConnection reports whether the daemon closes the connection after
// sending this code. Only a malformed frame does: after one, the byte stream
// can no longer be trusted to be in step.
func (c Code) ClosesConnection() bool { return c == CodeMalformed }

// Error is an IPC error: the code and text of an Error frame, or a local
// validation failure with the code the daemon would send for it.
type Error struct {
	Code Code
	Text string
}

// Error formats "ipc: <code> <meaning>: <text>".
func (e *Error) Error() string {
	s := "ipc: " + strconv.Itoa(int(e.Code)) + " " + e.Code.String()
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// Is makes errors.Is(err, ipc.ErrBusy) true for every *Error with code 14,
// whatever its text. A target with a text matches only the same code and text.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && (t.Text == "" || t.Text == e.Text)
}

// Sentinels, one per code, for errors.Is.
var (
	ErrMalformed          = &Error{Code: CodeMalformed}
	ErrUnsupportedVersion = &Error{Code: CodeUnsupportedVersion}
	ErrUnknownKind        = &Error{Code: CodeUnknownKind}
	ErrUnknownCenter      = &Error{Code: CodeUnknownCenter}
	ErrNotSignedOn        = &Error{Code: CodeNotSignedOn}
	ErrUnknownSession     = &Error{Code: CodeUnknownSession}
	ErrRecoveryRequired   = &Error{Code: CodeRecoveryRequired}
	ErrBusy               = &Error{Code: CodeBusy}
	ErrInvalidField       = &Error{Code: CodeInvalidField}
	ErrTimeout            = &Error{Code: CodeTimeout}
	ErrShuttingDown       = &Error{Code: CodeShuttingDown}
	ErrReferenceReused    = &Error{Code: CodeReferenceReused}
	ErrUnknownReference   = &Error{Code: CodeUnknownReference}
	ErrUnauthorized       = &Error{Code: CodeUnauthorized}
	ErrInternal           = &Error{Code: CodeInternal}
)

// Errors of the frame builder. They are local (a frame that cannot be sent),
// not protocol codes.
var (
	ErrFrameTooLarge = errors.New("ipc: frame larger than MaxFrame")
	ErrFieldTooLarge = errors.New("ipc: field value longer than 65535 bytes")
)

// Preallocated parse errors, so that hostile input costs no allocation.
var (
	errShortHeader    = &Error{Code: CodeMalformed, Text: "frame shorter than its 24-byte header"}
	errLengthSmall    = &Error{Code: CodeMalformed, Text: "length below 20"}
	errLengthLarge    = &Error{Code: CodeMalformed, Text: "length above 65536"}
	errLengthMismatch = &Error{Code: CodeMalformed, Text: "length does not match the frame"}
	errFieldHeader    = &Error{Code: CodeMalformed, Text: "truncated field header"}
	errFieldValue     = &Error{Code: CodeMalformed, Text: "field value beyond the end of the frame"}
	errVersion        = &Error{Code: CodeUnsupportedVersion, Text: "only version 1 is spoken"}
	errKind           = &Error{Code: CodeUnknownKind, Text: "kind not defined in version 1"}
)
