package ctl

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Stable error codes of the control protocol. Scripts switch on these; the
// message next to them is for people and may change.
const (
	CodeBadRequest       = "bad_request"       // the line is not a valid request (syntax, size, version, unknown command or field)
	CodeInvalidArgument  = "invalid_argument"  // a well-formed request with a bad value (date not YYYYMMDD, date not later than the current one, ...)
	CodeUnknownCenter    = "unknown_center"    // the center is not configured in this daemon
	CodeNotSignedOn      = "not_signed_on"     // the command needs the center signed on
	CodeRecoveryRequired = "recovery_required" // an unclean stop left messages in flight: run recovery first
	CodeOutOfBalance     = "out_of_balance"    // reconciliation done, our totals differ from the center's
	CodeBusy             = "busy"              // a bound was reached (connections, a procedure already running): retry later
	CodeShuttingDown     = "shutting_down"     // the daemon is stopping
	CodePermissionDenied = "permission_denied" // the peer's uid is not allowed, or the transport is not a Unix socket
	CodeTimeout          = "timeout"           // the request's deadline passed before the daemon finished
	CodeCanceled         = "canceled"          // the client went away
	CodeInternal         = "internal"          // anything else; the daemon's log has the detail
)

// Error is a control-protocol error: a stable Code and a human Message. It
// travels over the wire unchanged, so the client returns the same *Error the
// Handler returned. errors.Is matches two *Error values by Code, so
// errors.Is(err, ErrNotSignedOn) holds for any error with that code.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "ctl: " + e.Code
	}
	return "ctl: " + e.Code + ": " + e.Message
}

// Is matches by code, so sentinels work across the wire.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// NewError returns an *Error with the given code and a formatted message.
func NewError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is. A Handler may return them as they are, wrap them
// (fmt.Errorf("…: %w", ErrUnknownCenter): the wrapping text becomes the
// message), or return NewError with the same code and a precise message.
var (
	ErrBadRequest       = &Error{Code: CodeBadRequest, Message: "bad request"}
	ErrInvalidArgument  = &Error{Code: CodeInvalidArgument, Message: "invalid argument"}
	ErrUnknownCenter    = &Error{Code: CodeUnknownCenter, Message: "unknown center"}
	ErrNotSignedOn      = &Error{Code: CodeNotSignedOn, Message: "center not signed on"}
	ErrRecoveryRequired = &Error{Code: CodeRecoveryRequired, Message: "recovery required"}
	ErrOutOfBalance     = &Error{Code: CodeOutOfBalance, Message: "reconciliation out of balance"}
	ErrBusy             = &Error{Code: CodeBusy, Message: "busy, retry later"}
	ErrShuttingDown     = &Error{Code: CodeShuttingDown, Message: "shutting down"}
	ErrPermissionDenied = &Error{Code: CodePermissionDenied, Message: "permission denied"}
	ErrTimeout          = &Error{Code: CodeTimeout, Message: "timed out"}
	ErrCanceled         = &Error{Code: CodeCanceled, Message: "canceled"}
	ErrInternal         = &Error{Code: CodeInternal, Message: "internal error"}
)

// Errors of the local side (not codes on the wire).
var (
	// ErrClosed: the client was closed (Close), before or while a call waited.
	ErrClosed = errors.New("ctl: client closed")
	// ErrSocketInUse: Listen found a live daemon answering on the path.
	ErrSocketInUse = errors.New("ctl: control socket in use by a running daemon")
	// ErrNotSocket: Listen found a file that is not a socket at the path and
	// refuses to remove it.
	ErrNotSocket = errors.New("ctl: path exists and is not a socket")
	// ErrOptions: ServerOptions.Validate refused a value.
	ErrOptions = errors.New("ctl: invalid options")
	// ErrProtocol: the daemon's answer could not be understood.
	ErrProtocol = errors.New("ctl: protocol error")
)

// toWire turns whatever a Handler returned into the wire error. serveCtx is
// Serve's context: a handler that failed because the daemon is stopping is
// reported as shutting_down rather than canceled.
func toWire(err error, serveCtx context.Context) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		if ce == err {
			return &Error{Code: ce.Code, Message: ce.Message}
		}
		// Wrapped: the wrapping text is the useful part of the message; the
		// code is not repeated inside it.
		return &Error{Code: ce.Code, Message: strings.Replace(err.Error(), ce.Error(), ce.Message, 1)}
	}
	switch {
	case serveCtx.Err() != nil && errors.Is(err, context.Canceled):
		return &Error{Code: CodeShuttingDown, Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeTimeout, Message: "did not finish within the deadline: " + err.Error()}
	case errors.Is(err, context.Canceled):
		return &Error{Code: CodeCanceled, Message: err.Error()}
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}
