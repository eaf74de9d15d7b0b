package ipc

// Op is the operation of a Request (tag 2).
type Op uint8

// Operations. The zero Op is invalid.
const (
	OpAuthorize Op = 1 + iota // CARDNET 0100: authorization only
	OpSale                    // 0200: authorization and capture
	OpRefund                  // 0200 with processing code 20xxxx (credit)
	OpCancel                  // cancel an earlier request by its reference (tag 10)
	OpAdvice                  // 0220 store-and-forward completion; approved once durable
	OpInquiry                 // final outcome of an earlier request (tag 3)
)

var opNames = [...]string{
	OpAuthorize: "authorize",
	OpSale:      "sale",
	OpRefund:    "refund",
	OpCancel:    "cancel",
	OpAdvice:    "advice",
	OpInquiry:   "inquiry",
}

// String returns the wire name of the op ("" for an invalid Op).
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return ""
}

// ParseOp maps a wire name to its Op without allocating.
func ParseOp(b []byte) (Op, bool) {
	switch string(b) {
	case "authorize":
		return OpAuthorize, true
	case "sale":
		return OpSale, true
	case "refund":
		return OpRefund, true
	case "cancel":
		return OpCancel, true
	case "advice":
		return OpAdvice, true
	case "inquiry":
		return OpInquiry, true
	}
	return 0, false
}

// Financial reports whether the op carries card data and an amount
// (authorize, sale, refund, advice).
func (o Op) Financial() bool {
	return o == OpAuthorize || o == OpSale || o == OpRefund || o == OpAdvice
}

// Result is the outcome of a request (tag 20).
type Result string

// Results.
const (
	ResultApproved  Result = "approved"
	ResultDeclined  Result = "declined"
	ResultCancelled Result = "cancelled"
	ResultTimeout   Result = "timeout"
	ResultFailed    Result = "failed"
)

// ParseResult maps a wire value to its constant without allocating.
func ParseResult(b []byte) (Result, bool) {
	switch string(b) {
	case "approved":
		return ResultApproved, true
	case "declined":
		return ResultDeclined, true
	case "cancelled":
		return ResultCancelled, true
	case "timeout":
		return ResultTimeout, true
	case "failed":
		return ResultFailed, true
	}
	return "", false
}

// Field limits of DESIGN §5.
const (
	MaxRefLen      = 32
	MinPANLen      = 12
	MaxPANLen      = 19
	MaxAmountLen   = 12
	MaxTerminalLen = 8
	MaxMerchantLen = 15
)

// RequestView holds the fields of a Request frame as views into the frame
// (no copies; valid while the frame's buffer is). Absent optional fields are
// nil. Parse fills it and checks it against DESIGN §5.
type RequestView struct {
	Op       Op
	Ref      []byte // tag 3; for OpInquiry the reference asked about
	PAN      []byte
	Expiry   []byte // YYMM
	Amount   []byte // decimal digits as sent
	Currency []byte
	Terminal []byte
	Merchant []byte
	OrigRef  []byte // tag 10 (OpCancel)
	Center   []byte // tag 1 if sent; the session fixes the center, so it is ignored
	// AmountMinor is Amount as a number (0 when Amount is absent).
	AmountMinor uint64
}

// Invalid-field errors, preallocated: validation of hostile input allocates nothing.
var (
	errOpMissing       = invalid("field op: missing")
	errOpUnknown       = invalid("field op: unknown operation")
	errRefMissing      = invalid("field ref: missing")
	errRefBad          = invalid("field ref: must be 1-32 printable ASCII characters")
	errPANMissing      = invalid("field pan: missing")
	errPANBad          = invalid("field pan: must be 12-19 digits")
	errExpiryMissing   = invalid("field expiry: missing")
	errExpiryBad       = invalid("field expiry: must be YYMM with month 01-12")
	errAmountMissing   = invalid("field amount: missing")
	errAmountBad       = invalid("field amount: must be 1-12 digits")
	errCurrencyMissing = invalid("field currency: missing")
	errCurrencyBad     = invalid("field currency: must be 3 digits (ISO 4217 numeric)")
	errTerminalBad     = invalid("field terminal: must be 1-8 printable ASCII characters")
	errMerchantBad     = invalid("field merchant: must be 1-15 printable ASCII characters")
	errOrigRefMissing  = invalid("field orig_ref: missing (cancel needs the earlier reference)")
	errOrigRefBad      = invalid("field orig_ref: must be 1-32 printable ASCII characters")
)

func invalid(text string) *Error { return &Error{Code: CodeInvalidField, Text: text} }

// Parse reads the request fields of f (a parsed Request frame) into v and
// validates them:
//
//   - every op: tag 2 op, tag 3 ref (1..32 printable ASCII);
//   - authorize, sale, refund, advice: PAN (12..19 digits; Luhn is the
//     center's business), expiry YYMM, amount (1..12 digits), currency (3 digits);
//   - cancel: tag 10 original reference;
//   - terminal (≤8) and merchant (≤15) are optional; any field that is
//     present is checked whatever the op.
//
// The first occurrence of a repeated tag wins, as with Frame.Field. Errors are
// *Error with CodeInvalidField naming the field. No allocation.
func (v *RequestView) Parse(f *Frame) error {
	*v = RequestView{}
	var op []byte
	it := f.Fields()
	for {
		tag, val, ok := it.Next()
		if !ok {
			break
		}
		var dst *[]byte
		switch tag {
		case TagOp:
			dst = &op
		case TagRef:
			dst = &v.Ref
		case TagPAN:
			dst = &v.PAN
		case TagExpiry:
			dst = &v.Expiry
		case TagAmount:
			dst = &v.Amount
		case TagCurrency:
			dst = &v.Currency
		case TagTerminal:
			dst = &v.Terminal
		case TagMerchant:
			dst = &v.Merchant
		case TagOrigRef:
			dst = &v.OrigRef
		case TagCenter:
			dst = &v.Center
		default:
			continue // unknown tags are ignored (forward compatibility)
		}
		if *dst == nil {
			*dst = val
		}
	}

	if op == nil {
		return errOpMissing
	}
	var ok bool
	if v.Op, ok = ParseOp(op); !ok {
		return errOpUnknown
	}
	if v.Ref == nil {
		return errRefMissing
	}
	if !printable(v.Ref, MaxRefLen) {
		return errRefBad
	}
	if v.Op.Financial() {
		switch {
		case v.PAN == nil:
			return errPANMissing
		case v.Expiry == nil:
			return errExpiryMissing
		case v.Amount == nil:
			return errAmountMissing
		case v.Currency == nil:
			return errCurrencyMissing
		}
	}
	if v.Op == OpCancel && v.OrigRef == nil {
		return errOrigRefMissing
	}
	if v.PAN != nil && (len(v.PAN) < MinPANLen || len(v.PAN) > MaxPANLen || !digits(v.PAN)) {
		return errPANBad
	}
	if v.Expiry != nil && !validExpiry(v.Expiry) {
		return errExpiryBad
	}
	if v.Amount != nil {
		if len(v.Amount) > MaxAmountLen {
			return errAmountBad
		}
		n, ok := ParseUint(v.Amount)
		if !ok {
			return errAmountBad
		}
		v.AmountMinor = n
	}
	if v.Currency != nil && (len(v.Currency) != 3 || !digits(v.Currency)) {
		return errCurrencyBad
	}
	if v.Terminal != nil && !printable(v.Terminal, MaxTerminalLen) {
		return errTerminalBad
	}
	if v.Merchant != nil && !printable(v.Merchant, MaxMerchantLen) {
		return errMerchantBad
	}
	if v.OrigRef != nil && !printable(v.OrigRef, MaxRefLen) {
		return errOrigRefBad
	}
	return nil
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// printable: 1..max bytes of printable ASCII (space included), so a value
// is safe to log and to place in a fixed-width center field.
func printable(b []byte, max int) bool {
	if len(b) == 0 || len(b) > max {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func validExpiry(b []byte) bool {
	if len(b) != 4 || !digits(b) {
		return false
	}
	mm := (b[2]-'0')*10 + (b[3] - '0')
	return mm >= 1 && mm <= 12
}

// ResponseView holds the fields of a Response frame (or of the answer to an
// inquiry) as views. Fields the daemon did not send are nil.
type ResponseView struct {
	Result       Result
	RespCode     []byte // tag 21, network response code
	AuthCode     []byte // tag 22
	STAN         []byte // tag 23, STAN / 通番
	BusinessDate []byte // tag 24, YYYYMMDD
	RRN          []byte // tag 25
}

var (
	errResultMissing = &Error{Code: CodeMalformed, Text: "response without result"}
	errResultUnknown = &Error{Code: CodeMalformed, Text: "response with unknown result"}
)

// Parse reads a Response frame. A missing or unknown result is an *Error
// with CodeMalformed: the peer does not speak this protocol.
func (v *ResponseView) Parse(f *Frame) error {
	*v = ResponseView{}
	var res []byte
	it := f.Fields()
	for {
		tag, val, ok := it.Next()
		if !ok {
			break
		}
		var dst *[]byte
		switch tag {
		case TagResult:
			dst = &res
		case TagRespCode:
			dst = &v.RespCode
		case TagAuthCode:
			dst = &v.AuthCode
		case TagSTAN:
			dst = &v.STAN
		case TagBusinessDate:
			dst = &v.BusinessDate
		case TagRRN:
			dst = &v.RRN
		default:
			continue
		}
		if *dst == nil {
			*dst = val
		}
	}
	if res == nil {
		return errResultMissing
	}
	r, ok := ParseResult(res)
	if !ok {
		return errResultUnknown
	}
	v.Result = r
	return nil
}

// Notice kinds (tag 40).
const (
	NoticeCutover  = "cutover"  // detail: the new business date YYYYMMDD (カットオーバー)
	NoticeLine     = "line"     // detail: "<center> <addr> <state>", e.g. "cardnet 127.0.0.1:7700 signed_on"
	NoticeRecovery = "recovery" // detail: what recovery did or requires
)

// AppendNotice appends a Notice frame for the session (correlation 0).
func AppendNotice(dst []byte, session uint64, kind, detail string) ([]byte, error) {
	b := Begin(dst, KindNotice, session, 0)
	b.Str(TagNoticeKind, kind)
	b.Str(TagNoticeDetail, detail)
	return b.Finish()
}

var (
	errCodeMissing = &Error{Code: CodeMalformed, Text: "error frame without a valid code"}
)

// ErrorOf decodes an Error frame into an *Error (allocating its text). An
// Error frame without a decimal code yields a CodeMalformed error.
func ErrorOf(f *Frame) *Error {
	c, ok := ParseUint(f.Field(TagErrorCode))
	if !ok || c == 0 || c > 0xffff {
		return errCodeMissing
	}
	return &Error{Code: Code(c), Text: string(f.Field(TagErrorText))}
}
