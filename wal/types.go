package wal

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the package returns wraps one of these, so
// callers test with errors.Is and never match strings.
var (
	// ErrBusy: the committer queue holds Options.MaxQueue appends; retry later.
	ErrBusy = errors.New("wal: busy")
	// ErrClosed: Close has been called.
	ErrClosed = errors.New("wal: closed")
	// ErrUnknownRequest: the request ID was never logged (or was pruned).
	ErrUnknownRequest = errors.New("wal: unknown request")
	// ErrAlreadyResolved: a cancel or advice attempt names a request that
	// already has its final resolution.
	ErrAlreadyResolved = errors.New("wal: request already resolved")
	// ErrNotAdvice: an advice attempt names a request that is not in the
	// advice queue.
	ErrNotAdvice = errors.New("wal: request is not a queued advice")
	// ErrNotFound: Lookup/LookupRef found no such request.
	ErrNotFound = errors.New("wal: not found")
	// ErrCorrupt: a stored record does not decode or fails its checksum. The
	// wrapping error names the key; a corrupt record is never skipped.
	ErrCorrupt = errors.New("wal: corrupt record")
	// ErrTotalsMismatch: the running totals differ from the fold of the
	// effects the resolutions carry (invariant I5 is broken).
	ErrTotalsMismatch = errors.New("wal: totals mismatch")
	// ErrBadKey: the PAN key file is unreadable, malformed, or is not the key
	// a record was sealed with.
	ErrBadKey = errors.New("wal: bad encryption key")
	// ErrInvalid: an argument is out of range (field too long, bad date...).
	ErrInvalid = errors.New("wal: invalid argument")
	// ErrFailed: the WAL hit an I/O error and is failed for good (sticky);
	// the wrapped error carries the cause. The caller must stop taking traffic.
	ErrFailed = errors.New("wal: failed")
)

// CorruptError names the key of a record that failed to decode.
type CorruptError struct {
	Key    []byte
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: corrupt record at key %q: %s", e.Key, e.Reason)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func corrupt(key []byte, format string, args ...any) error {
	return &CorruptError{Key: append([]byte(nil), key...), Reason: fmt.Sprintf(format, args...)}
}

// Category is what an approval of a request settles as (精査 totals column).
type Category uint8

// Settlement categories; see docs/ARCHITECTURE.md "Settlement categories".
const (
	CategoryNone           Category = iota // authorizations, echo...: never counted
	CategoryDebit                          // sales
	CategoryCredit                         // refunds
	CategoryDebitReversal                  // reversal/cancel of an approved debit
	CategoryCreditReversal                 // reversal/cancel of an approved credit
	numCategories
)

func (c Category) String() string {
	switch c {
	case CategoryNone:
		return "none"
	case CategoryDebit:
		return "debit"
	case CategoryCredit:
		return "credit"
	case CategoryDebitReversal:
		return "debit_reversal"
	case CategoryCreditReversal:
		return "credit_reversal"
	}
	return fmt.Sprintf("category(%d)", uint8(c))
}

// Status is the final outcome of a request.
type Status uint8

// Final outcomes. A request has exactly one, recorded once.
const (
	StatusApproved Status = iota
	StatusDeclined
	StatusCancelled
	StatusFailed
	numStatuses
)

func (s Status) String() string {
	switch s {
	case StatusApproved:
		return "approved"
	case StatusDeclined:
		return "declined"
	case StatusCancelled:
		return "cancelled"
	case StatusFailed:
		return "failed"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Limits on stored fields; longer values are refused with ErrInvalid.
const (
	MaxCenterLen = 16
	MaxAppIDLen  = 64
	MaxAppRefLen = 32
	MaxCodeLen   = 16      // RespCode, AuthCode
	MaxMsgBytes  = 1 << 16 // one IPC frame at most
	MaxPANBytes  = 32
	MaxEffects   = 8
)

// Request is one outbound request, logged before any byte of it reaches a line (I1).
type Request struct {
	ID           uint64   // assigned by AppendRequest (monotonic, never reused, survives restart)
	Center       string   // "cafis" | "cardnet"
	Key          uint32   // matching key: STAN / 通番
	Date         string   // business date YYYYMMDD (カット対象日付 for CAFIS)
	Op           uint8    // application operation code (opaque to the WAL)
	Category     Category // what an approval of this request settles as
	Amount       int64    // minor units
	AppID        string   // which application asked
	Session      uint64   // its IPC session
	AppRef       string   // its reference (idempotency key), <= 32 bytes
	Digest       [16]byte // content digest of the app request
	OrigID       uint64   // for cancels/reversals: the request they cancel (0 otherwise)
	Line         uint16
	Advice       bool   // store-and-forward: also queued in the center's advice queue
	PAN          []byte // encrypted at rest
	Msg          []byte // encoded center message (contains the PAN): encrypted at rest
	TimeUnixNano int64
}

// Effect is one count and amount added to a running total.
type Effect struct {
	Date     string
	Category Category
	Amount   int64
}

// Resolution is the final outcome of a request, logged before the app hears it (I2).
type Resolution struct {
	RequestID    uint64
	Status       Status
	RespCode     string
	AuthCode     string
	Msg          []byte   // response bytes (encrypted at rest)
	Effects      []Effect // totals changes applied atomically with this resolution
	TimeUnixNano int64
}

// CancelAttempt records that a cancel toward the center is under way for an
// in-flight request (CARDNET 0400/0401/0420/0421, CAFIS 取消指令 / 取消確認指令).
type CancelAttempt struct {
	RequestID    uint64
	Kind         uint8 // opaque to the WAL
	Attempt      uint32
	Key          uint32 // STAN / 通番 the cancel message used
	Msg          []byte // encrypted at rest
	TimeUnixNano int64
}

// Entry is an in-flight request (or unacknowledged advice) with its recovery state.
type Entry struct {
	Req                 Request
	Cancel              *CancelAttempt // last one recorded, or nil
	AdviceAttempts      uint32
	LastAttemptUnixNano int64
}

// Totals are the running settlement totals of one center and business date.
type Totals struct {
	DebitsCount, CreditsCount, DebitReversalsCount, CreditReversalsCount     int64
	DebitsAmount, CreditsAmount, DebitReversalsAmount, CreditReversalsAmount int64
	Reconciliation                                                           string // "", "in_balance", "out_of_balance"
}

func (t *Totals) add(c Category, amount int64) {
	switch c {
	case CategoryDebit:
		t.DebitsCount++
		t.DebitsAmount += amount
	case CategoryCredit:
		t.CreditsCount++
		t.CreditsAmount += amount
	case CategoryDebitReversal:
		t.DebitReversalsCount++
		t.DebitReversalsAmount += amount
	case CategoryCreditReversal:
		t.CreditReversalsCount++
		t.CreditReversalsAmount += amount
	}
}

// merge adds o's counts and amounts to t.
func (t *Totals) merge(o Totals) {
	t.DebitsCount += o.DebitsCount
	t.DebitsAmount += o.DebitsAmount
	t.CreditsCount += o.CreditsCount
	t.CreditsAmount += o.CreditsAmount
	t.DebitReversalsCount += o.DebitReversalsCount
	t.DebitReversalsAmount += o.DebitReversalsAmount
	t.CreditReversalsCount += o.CreditReversalsCount
	t.CreditReversalsAmount += o.CreditReversalsAmount
}

// sameCounts compares everything but the reconciliation result.
func (t Totals) sameCounts(o Totals) bool {
	t.Reconciliation, o.Reconciliation = "", ""
	return t == o
}

// Stats are cumulative counters since Open.
type Stats struct {
	Syncs     uint64 // Pebble commits with Sync
	Records   uint64 // appends acknowledged durable
	Batches   uint64 // committer batches (== Syncs unless control ops ran alone)
	MaxBatch  uint64 // largest batch in records
	Busy      uint64 // appends refused with ErrBusy
	InFlight  int    // current in-flight requests, all centers
	QueueLen  int    // appends waiting for the committer
	SyncNanos uint64 // total time spent in Commit(Sync)
	Failed    bool   // the WAL is failed for good (see Err)
}
