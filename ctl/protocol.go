package ctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// ProtocolVersion is the value of "v" in every request and response.
const ProtocolVersion = 1

// Command names on the wire ("cmd").
const (
	CmdSignon    = "signon"
	CmdSignoff   = "signoff"
	CmdCutreq    = "cutreq"
	CmdRecovery  = "recovery"
	CmdShutdown  = "shutdown"
	CmdStatus    = "status"
	CmdTotals    = "totals"
	CmdReconcile = "reconcile"
)

// Limits of the wire format.
const (
	// DefaultMaxRequestBytes bounds one request line, newline included. A
	// request is a handful of short fields; anything longer is hostile.
	DefaultMaxRequestBytes = 4 << 10
	// MaxResponseBytes bounds one response line read by the client. Status and
	// totals grow with centers and open dates, both few.
	MaxResponseBytes = 4 << 20
	// maxCenterName bounds a center name ("cafis", "cardnet").
	maxCenterName = 16
)

// argument presence per command: which of center, date, force a command
// takes, and whether center is required.
type cmdSpec struct {
	center, centerRequired, date, force bool
}

var commands = map[string]cmdSpec{
	CmdSignon:    {center: true, centerRequired: true},
	CmdSignoff:   {center: true, centerRequired: true},
	CmdCutreq:    {center: true, centerRequired: true, date: true},
	CmdRecovery:  {center: true, centerRequired: true},
	CmdShutdown:  {force: true},
	CmdStatus:    {},
	CmdTotals:    {center: true, date: true},
	CmdReconcile: {center: true, centerRequired: true, date: true},
}

// request is one line from client to daemon.
type request struct {
	V         int    `json:"v"`
	ID        uint64 `json:"id"`
	Cmd       string `json:"cmd"`
	Center    string `json:"center,omitempty"`
	Date      string `json:"date,omitempty"`
	Force     bool   `json:"force,omitempty"`
	TimeoutMs int64  `json:"timeout_ms,omitempty"`
}

// response is one line from daemon to client. Result and Error may both be
// present: a reconciliation that ran and came out of balance carries its
// result with error out_of_balance.
type response struct {
	V      int             `json:"v"`
	ID     uint64          `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// totalsResult is the result object of "totals"; it is also exactly what
// `fxctl totals --json` prints (DESIGN §5).
type totalsResult struct {
	Totals []TotalsRow `json:"totals"`
}

// decodeRequest parses and checks one request line (without its newline).
// It never panics; on failure it returns the id it could recover (0 if none)
// and an *Error with code bad_request or invalid_argument.
func decodeRequest(line []byte) (request, *Error) {
	var r request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return request{ID: salvageID(line)}, NewError(CodeBadRequest, "not a request object: %v", err)
	}
	if rest := bytes.TrimSpace(line[dec.InputOffset():]); len(rest) != 0 {
		return request{ID: r.ID}, NewError(CodeBadRequest, "trailing data after the request object")
	}
	if r.V != ProtocolVersion {
		return request{ID: r.ID}, NewError(CodeBadRequest, "unsupported protocol version %d (want %d)", r.V, ProtocolVersion)
	}
	spec, ok := commands[r.Cmd]
	if !ok {
		return request{ID: r.ID}, NewError(CodeBadRequest, "unknown command %.32q", r.Cmd)
	}
	if r.TimeoutMs < 0 {
		return request{ID: r.ID}, NewError(CodeBadRequest, "timeout_ms must not be negative")
	}
	if err := checkArgs(r, spec); err != nil {
		return request{ID: r.ID}, err
	}
	return r, nil
}

func checkArgs(r request, spec cmdSpec) *Error {
	switch {
	case r.Center != "" && !spec.center:
		return NewError(CodeInvalidArgument, "%s takes no center", r.Cmd)
	case r.Center == "" && spec.centerRequired:
		return NewError(CodeInvalidArgument, "%s needs a center", r.Cmd)
	case r.Date != "" && !spec.date:
		return NewError(CodeInvalidArgument, "%s takes no date", r.Cmd)
	case r.Force && !spec.force:
		return NewError(CodeInvalidArgument, "%s takes no force", r.Cmd)
	}
	if r.Center != "" && !ValidCenterName(r.Center) {
		return NewError(CodeInvalidArgument, "center %.32q is not a center name (a-z, 0-9, '_', '-'; at most %d)", r.Center, maxCenterName)
	}
	if r.Date != "" && !ValidDate(r.Date) {
		return NewError(CodeInvalidArgument, "date %.32q is not a calendar date YYYYMMDD", r.Date)
	}
	return nil
}

// salvageID recovers the id of a request that failed strict decoding, so the
// error can still be matched by the client. Best effort.
func salvageID(line []byte) uint64 {
	var probe struct {
		ID uint64 `json:"id"`
	}
	if json.Unmarshal(line, &probe) != nil {
		return 0
	}
	return probe.ID
}

// ValidCenterName reports whether s is lexically a center name: 1–16
// characters from a–z, 0–9, '_' and '-'. Whether such a center is configured
// is for the Handler to say.
func ValidCenterName(s string) bool {
	if len(s) == 0 || len(s) > maxCenterName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ValidDate reports whether s is a calendar date written YYYYMMDD (the
// business date / カット対象日付 format).
func ValidDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	_, err := time.Parse("20060102", s)
	return err == nil
}

// encodeResponse renders one response line, newline included.
func encodeResponse(id uint64, result any, werr *Error) []byte {
	resp := response{V: ProtocolVersion, ID: id, OK: werr == nil, Error: werr}
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			resp.OK = false
			resp.Error = NewError(CodeInternal, "encoding the result: %v", err)
		} else {
			resp.Result = b
		}
	}
	out, err := json.Marshal(resp)
	if err != nil {
		// Only RawMessage could fail here, and it came from json.Marshal.
		out = fmt.Appendf(nil, `{"v":%d,"id":%d,"ok":false,"error":{"code":%q,"message":"encoding the response"}}`,
			ProtocolVersion, id, CodeInternal)
	}
	return append(out, '\n')
}
