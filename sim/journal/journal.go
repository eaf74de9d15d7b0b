package journal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Sentinel errors, testable with errors.Is.
var (
	// ErrClosed is returned by Write after Close.
	ErrClosed = errors.New("journal: closed")
	// ErrCorrupt is returned by Read for a line that is not a journal record.
	ErrCorrupt = errors.New("journal: corrupt record")
	// ErrInvalidOptions is returned by Create for options that fail Validate.
	ErrInvalidOptions = errors.New("journal: invalid options")
)

// Record types.
const (
	TypeMessage = "msg"    // a message received ("in") or sent ("out")
	TypeEvent   = "event"  // a line or center event (connect, signon, cutover, fault...)
	TypeTotals  = "totals" // end-of-day totals of one center and business date
)

// Dedup decisions recorded on received messages.
const (
	DedupNew      = "new"      // first time the center saw this key
	DedupRepeat   = "repeat"   // same key, same content: answered as before, not counted
	DedupConflict = "conflict" // same key, different content: refused
)

// Category is the settlement category a transaction counts in.
type Category string

// Settlement categories (docs/ARCHITECTURE.md). Authorizations are recorded
// but never settle.
const (
	CatNone           Category = ""
	CatDebit          Category = "debit"
	CatCredit         Category = "credit"
	CatDebitReversal  Category = "debit_reversal"
	CatCreditReversal Category = "credit_reversal"
	CatAuthorization  Category = "authorization"
)

// Status is the center's view of one transaction.
type Status string

// Transaction statuses. The first four describe originals; the last two the
// reversal / cancel messages themselves.
const (
	StatusApproved   Status = "approved"
	StatusDeclined   Status = "declined"
	StatusReversed   Status = "reversed"    // CARDNET original reversed by 0400/0420
	StatusCancelled  Status = "cancelled"   // CAFIS original cancelled by cancel / cancel command
	StatusAccepted   Status = "accepted"    // a reversal/cancel that reversed an approved original (00 / 000)
	StatusNoOriginal Status = "no_original" // a reversal/cancel with nothing to reverse (25 / 025)
)

// Totals are the settlement totals of one center and business date: counts and
// amounts in minor units. Field names match `fxctl totals --json`.
type Totals struct {
	CreditsCount          int64 `json:"credits_count"`
	CreditsAmount         int64 `json:"credits_amount"`
	CreditReversalsCount  int64 `json:"credit_reversals_count"`
	CreditReversalsAmount int64 `json:"credit_reversals_amount"`
	DebitsCount           int64 `json:"debits_count"`
	DebitsAmount          int64 `json:"debits_amount"`
	DebitReversalsCount   int64 `json:"debit_reversals_count"`
	DebitReversalsAmount  int64 `json:"debit_reversals_amount"`
}

// Add counts one transaction of category c. Categories that do not settle are ignored.
func (t *Totals) Add(c Category, amount int64) {
	switch c {
	case CatDebit:
		t.DebitsCount++
		t.DebitsAmount += amount
	case CatCredit:
		t.CreditsCount++
		t.CreditsAmount += amount
	case CatDebitReversal:
		t.DebitReversalsCount++
		t.DebitReversalsAmount += amount
	case CatCreditReversal:
		t.CreditReversalsCount++
		t.CreditReversalsAmount += amount
	}
}

// Net is debits − debit reversals − credits + credit reversals (the DE97 figure).
func (t Totals) Net() int64 {
	return t.DebitsAmount - t.DebitReversalsAmount - t.CreditsAmount + t.CreditReversalsAmount
}

// IsZero reports whether nothing was counted.
func (t Totals) IsZero() bool { return t == Totals{} }

// TxnKey identifies a transaction from the center's side: the center, the
// business date the message carried (YYYYMMDD) and its STAN (CARDNET) or
// 通番 serial (CAFIS).
type TxnKey struct {
	Center string `json:"center"`
	Date   string `json:"date"`
	Key    string `json:"key"`
}

// Change is one center-side state change caused by a message. Changes are
// the only input of the final view: replaying them in order rebuilds it.
type Change struct {
	TxnKey
	// MTI is the request's MTI class (CARDNET, e.g. 0200, 0400) or kind code (CAFIS, e.g. 0100).
	MTI      string   `json:"mti"`
	Status   Status   `json:"status"`
	Category Category `json:"category,omitempty"`
	Amount   int64    `json:"amount"`
	Code     string   `json:"code,omitempty"`
	// Counted is set when this change added Amount to the totals of the
	// transaction's own Date under Category.
	Counted bool `json:"counted,omitempty"`
	// Original names the transaction a reversal or cancel refers to.
	Original *TxnKey `json:"original,omitempty"`
}

// Record is one JSONL line of the journal.
type Record struct {
	Time   time.Time `json:"t"`
	Type   string    `json:"type"`
	Center string    `json:"center"`
	Line   uint64    `json:"line,omitempty"`
	Dir    string    `json:"dir,omitempty"` // "in" or "out"
	// MTI is the CARDNET MTI or the CAFIS kind code of the message.
	MTI string `json:"mti,omitempty"`
	// Key is the STAN / 通番 serial of the message.
	Key string `json:"key,omitempty"`
	// Date is the business date the message carries (YYYYMMDD), or the date of a totals record.
	Date string `json:"date,omitempty"`
	// Fields are the decoded data elements (CARDNET: "2", "3", ...; CAFIS:
	// header and body field names), PAN masked.
	Fields  map[string]string `json:"fields,omitempty"`
	Code    string            `json:"code,omitempty"`  // response code sent / received
	Dedup   string            `json:"dedup,omitempty"` // DedupNew, DedupRepeat, DedupConflict
	Fault   string            `json:"fault,omitempty"` // fault action applied to this message
	Changes []Change          `json:"changes,omitempty"`
	Totals  *Totals           `json:"totals,omitempty"`
	Event   string            `json:"event,omitempty"`
	Detail  string            `json:"detail,omitempty"`
}

// Options configure a Writer.
type Options struct {
	// QueueLen bounds the records waiting to be written; Write blocks when it
	// is full, so the journal is never lossy and never grows without bound.
	QueueLen int
	// BufferBytes is the size of the file write buffer.
	BufferBytes int
}

// EnsureDefaults fills zero fields.
func (o *Options) EnsureDefaults() {
	if o.QueueLen == 0 {
		o.QueueLen = 65536
	}
	if o.BufferBytes == 0 {
		o.BufferBytes = 1 << 20
	}
}

// Validate checks bounds.
func (o *Options) Validate() error {
	if o.QueueLen < 1 || o.QueueLen > 1<<24 {
		return fmt.Errorf("%w: QueueLen %d out of [1, 16M]", ErrInvalidOptions, o.QueueLen)
	}
	if o.BufferBytes < 4096 || o.BufferBytes > 1<<30 {
		return fmt.Errorf("%w: BufferBytes %d out of [4096, 1G]", ErrInvalidOptions, o.BufferBytes)
	}
	return nil
}

// Writer appends records to a JSONL file from one background goroutine, so
// that encoding and file I/O stay off the event loops.
type Writer struct {
	mu     sync.RWMutex // guards closed against the channel close
	closed bool
	ch     chan *Record
	done   chan struct{}
	f      *os.File
	err    error // first write error, read after done
}

// Create truncates or creates path and starts the writer goroutine.
func Create(path string, opts Options) (*Writer, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: create %s: %w", path, err)
	}
	w := &Writer{ch: make(chan *Record, opts.QueueLen), done: make(chan struct{}), f: f}
	go w.run(bufio.NewWriterSize(f, opts.BufferBytes))
	return w, nil
}

func (w *Writer) run(bw *bufio.Writer) {
	defer close(w.done)
	var line []byte
	for r := range w.ch {
		if w.err == nil {
			line = append(appendRecord(line[:0], r), '\n')
			if _, err := bw.Write(line); err != nil {
				w.err = fmt.Errorf("journal: write: %w", err)
			}
		}
		// Flush when the queue drains: a reader (a test, an operator's tail -f)
		// sees records promptly, and under load writes stay large.
		if len(w.ch) == 0 && w.err == nil {
			if err := bw.Flush(); err != nil {
				w.err = fmt.Errorf("journal: flush: %w", err)
			}
		}
	}
	if w.err == nil {
		if err := bw.Flush(); err != nil {
			w.err = fmt.Errorf("journal: flush: %w", err)
		}
	}
}

// Write queues r. It blocks while the queue is full. The Writer owns r afterwards.
func (w *Writer) Write(r *Record) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	w.ch <- r
	return nil
}

// Close writes every queued record, flushes and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	close(w.ch)
	w.mu.Unlock()
	<-w.done
	err := w.err
	if cerr := w.f.Sync(); err == nil && cerr != nil {
		err = fmt.Errorf("journal: sync: %w", cerr)
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("journal: close: %w", cerr)
	}
	return err
}
