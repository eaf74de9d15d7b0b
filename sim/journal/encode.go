package journal

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendRecord appends r as one JSON object (no newline). It writes what
// encoding/json would for the struct tags of Record, without reflection:
// the journal writer is one goroutine serving every line, and reflection
// made it the bottleneck of the simulator under load.
func appendRecord(dst []byte, r *Record) []byte {
	dst = append(dst, `{"t":"`...)
	dst = r.Time.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","type":`...)
	dst = appendString(dst, r.Type)
	dst = append(dst, `,"center":`...)
	dst = appendString(dst, r.Center)
	if r.Line != 0 {
		dst = append(dst, `,"line":`...)
		dst = strconv.AppendUint(dst, r.Line, 10)
	}
	dst = appendOptString(dst, `,"dir":`, r.Dir)
	dst = appendOptString(dst, `,"mti":`, r.MTI)
	dst = appendOptString(dst, `,"key":`, r.Key)
	dst = appendOptString(dst, `,"date":`, r.Date)
	if len(r.Fields) > 0 {
		dst = append(dst, `,"fields":{`...)
		var keysBuf [32]string
		keys := keysBuf[:0]
		for k := range r.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, r.Fields[k])
		}
		dst = append(dst, '}')
	}
	dst = appendOptString(dst, `,"code":`, r.Code)
	dst = appendOptString(dst, `,"dedup":`, r.Dedup)
	dst = appendOptString(dst, `,"fault":`, r.Fault)
	if len(r.Changes) > 0 {
		dst = append(dst, `,"changes":[`...)
		for i := range r.Changes {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendChange(dst, &r.Changes[i])
		}
		dst = append(dst, ']')
	}
	if r.Totals != nil {
		dst = append(dst, `,"totals":`...)
		dst = appendTotals(dst, r.Totals)
	}
	dst = appendOptString(dst, `,"event":`, r.Event)
	dst = appendOptString(dst, `,"detail":`, r.Detail)
	return append(dst, '}')
}

func appendTxnKey(dst []byte, k *TxnKey) []byte {
	dst = append(dst, `"center":`...)
	dst = appendString(dst, k.Center)
	dst = append(dst, `,"date":`...)
	dst = appendString(dst, k.Date)
	dst = append(dst, `,"key":`...)
	return appendString(dst, k.Key)
}

func appendChange(dst []byte, c *Change) []byte {
	dst = append(dst, '{')
	dst = appendTxnKey(dst, &c.TxnKey)
	dst = append(dst, `,"mti":`...)
	dst = appendString(dst, c.MTI)
	dst = append(dst, `,"status":`...)
	dst = appendString(dst, string(c.Status))
	dst = appendOptString(dst, `,"category":`, string(c.Category))
	dst = append(dst, `,"amount":`...)
	dst = strconv.AppendInt(dst, c.Amount, 10)
	dst = appendOptString(dst, `,"code":`, c.Code)
	if c.Counted {
		dst = append(dst, `,"counted":true`...)
	}
	if c.Original != nil {
		dst = append(dst, `,"original":{`...)
		dst = appendTxnKey(dst, c.Original)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func appendTotals(dst []byte, t *Totals) []byte {
	for _, f := range [...]struct {
		name string
		v    int64
	}{
		{`{"credits_count":`, t.CreditsCount}, {`,"credits_amount":`, t.CreditsAmount},
		{`,"credit_reversals_count":`, t.CreditReversalsCount}, {`,"credit_reversals_amount":`, t.CreditReversalsAmount},
		{`,"debits_count":`, t.DebitsCount}, {`,"debits_amount":`, t.DebitsAmount},
		{`,"debit_reversals_count":`, t.DebitReversalsCount}, {`,"debit_reversals_amount":`, t.DebitReversalsAmount},
	} {
		dst = append(dst, f.name...)
		dst = strconv.AppendInt(dst, f.v, 10)
	}
	return append(dst, '}')
}

func appendOptString(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, name...)
	return appendString(dst, v)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD (as encoding/json does).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
