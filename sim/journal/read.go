package journal

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Txn is the center's final view of one transaction.
type Txn struct {
	TxnKey
	MTI      string   `json:"mti"`
	Status   Status   `json:"status"`
	Category Category `json:"category,omitempty"`
	Amount   int64    `json:"amount"`
	Code     string   `json:"code,omitempty"`
	// Original is set on reversals / cancels: the transaction they refer to.
	Original *TxnKey `json:"original,omitempty"`
	// ReversedBy is set on an original that was reversed or cancelled.
	ReversedBy *TxnKey `json:"reversed_by,omitempty"`
}

// DateKey names one center's business date.
type DateKey struct {
	Center string
	Date   string
}

// View is what a journal says the center ended up with.
type View struct {
	// Txns holds every transaction keyed by center, date and STAN / serial.
	Txns map[TxnKey]*Txn
	// Totals is the fold of the counted changes per center and date: what the
	// center's totals are, recomputed from the individual messages.
	Totals map[DateKey]Totals
	// EOD holds the last end-of-day totals record per center and date (written
	// at cutover and at close): what the center itself reported.
	EOD map[DateKey]Totals
	// Records is the number of records read; Messages of them were msg records.
	Records  int
	Messages int
	// Events counts event records by event name (signon, cutover, fault, ...).
	Events map[string]int
}

// Read reads a journal file written by Writer.
func Read(path string) (*View, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	defer f.Close()
	return ReadFrom(f)
}

// ReadFrom reads journal records from r. A torn last line (a journal whose
// writer was killed mid-write) is ignored; any other bad line is ErrCorrupt.
func ReadFrom(r io.Reader) (*View, error) {
	v := &View{
		Txns:   make(map[TxnKey]*Txn),
		Totals: make(map[DateKey]Totals),
		EOD:    make(map[DateKey]Totals),
		Events: make(map[string]int),
	}
	br := bufio.NewReaderSize(r, 1<<20)
	lineNo := 0
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			lineNo++
			torn := err == io.EOF // no trailing newline
			var rec Record
			if jerr := json.Unmarshal(line, &rec); jerr != nil {
				if torn {
					return v, nil
				}
				return nil, fmt.Errorf("%w: line %d: %v", ErrCorrupt, lineNo, jerr)
			}
			v.apply(&rec)
		}
		if err == io.EOF {
			return v, nil
		}
		if err != nil {
			return nil, fmt.Errorf("journal: read: %w", err)
		}
	}
}

func (v *View) apply(rec *Record) {
	v.Records++
	switch rec.Type {
	case TypeMessage:
		v.Messages++
	case TypeEvent:
		v.Events[rec.Event]++
	case TypeTotals:
		if rec.Totals != nil {
			v.EOD[DateKey{rec.Center, rec.Date}] = *rec.Totals
		}
	}
	for i := range rec.Changes {
		c := &rec.Changes[i]
		t := v.Txns[c.TxnKey]
		if t == nil {
			t = &Txn{TxnKey: c.TxnKey}
			v.Txns[c.TxnKey] = t
		}
		t.MTI, t.Status, t.Amount, t.Code = c.MTI, c.Status, c.Amount, c.Code
		if c.Category != CatNone {
			t.Category = c.Category
		}
		if c.Original != nil {
			o := *c.Original
			t.Original = &o
			if c.Status == StatusAccepted {
				if ot := v.Txns[o]; ot != nil && ot.ReversedBy == nil {
					k := c.TxnKey
					ot.ReversedBy = &k
				}
			}
		}
		if c.Counted {
			dk := DateKey{c.Center, c.Date}
			tot := v.Totals[dk]
			tot.Add(c.Category, c.Amount)
			v.Totals[dk] = tot
		}
	}
}
