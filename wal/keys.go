package wal

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Key prefixes; the layout is drawn in doc.go. Upper case: the small state
// Open loads (in flight, advices, cancels, totals, date ranges, metadata);
// lower case: the log itself. Upper case sorts first, so the state Open
// reads sits at the front of the key space and touches about one sstable
// per level however long the log grows.
const (
	pAdvice   = 'A'
	pCancel   = 'C'
	pDay      = 'D'
	pInFlight = 'I'
	pMeta     = 'M'
	pTotals   = 'T'
	pEffect   = 'e'
	pRequest  = 'r'
	pResolved = 's'
	pRef      = 'x'
	sep       = 0x00 // separates variable-length key parts; refused inside them
)

func appendID(k []byte, id uint64) []byte { return binary.BigEndian.AppendUint64(k, id) }

// Every key builder appends to dst; the *Len functions give the exact
// size, so the committer can build a batch's keys in one arena
// (batchCtx.ar) and the others allocate each key once.

const idKeyLen = 2 + 8

func appendIDKey(dst []byte, prefix byte, id uint64) []byte {
	return appendID(append(dst, prefix, '/'), id)
}

func appendCenterPrefix(dst []byte, prefix byte, center string) []byte {
	dst = append(dst, prefix, '/')
	dst = append(dst, center...)
	return append(dst, sep)
}

func centerIDKeyLen(center string) int { return 2 + len(center) + 1 + 8 }

func appendCenterIDKey(dst []byte, prefix byte, center string, id uint64) []byte {
	return appendID(appendCenterPrefix(dst, prefix, center), id)
}

func refKeyLen(center, appID, appRef string) int {
	return 2 + len(center) + 1 + len(appID) + 1 + len(appRef)
}

func appendRefKey(dst []byte, center, appID, appRef string) []byte {
	dst = appendCenterPrefix(dst, pRef, center)
	dst = append(dst, appID...)
	dst = append(dst, sep)
	return append(dst, appRef...)
}

func idKey(prefix byte, id uint64) []byte {
	return appendIDKey(make([]byte, 0, idKeyLen), prefix, id)
}

func requestKey(id uint64) []byte  { return idKey(pRequest, id) }
func resolvedKey(id uint64) []byte { return idKey(pResolved, id) }
func cancelKey(id uint64) []byte   { return idKey(pCancel, id) }

func centerPrefix(prefix byte, center string) []byte {
	return appendCenterPrefix(make([]byte, 0, 2+len(center)+1+8+8+1), prefix, center)
}

func inFlightKey(center string, id uint64) []byte {
	return appendCenterIDKey(make([]byte, 0, centerIDKeyLen(center)), pInFlight, center, id)
}

func adviceKey(center string, id uint64) []byte {
	return appendCenterIDKey(make([]byte, 0, centerIDKeyLen(center)), pAdvice, center, id)
}

// refKey indexes the most recent request with an app reference. A point
// key (not one per request) so the idempotency check on every request is a
// Get that bloom filters answer, not an iterator.
func refKey(center, appID, appRef string) []byte {
	return appendRefKey(make([]byte, 0, refKeyLen(center, appID, appRef)), center, appID, appRef)
}

func totalsKey(center, date string) []byte {
	return append(centerPrefix(pTotals, center), date...)
}

func dayKey(center, date string) []byte {
	return append(centerPrefix(pDay, center), date...)
}

// effectPrefix starts the e/ records of earlier builds: one per effect,
// e/<center>\x00<date><id><n>. This build folds effects from resolutions.
func effectPrefix(center, date string) []byte {
	return append(centerPrefix(pEffect, center), date...)
}

func metaKey(name, center string) []byte {
	k := append([]byte{pMeta, '/'}, name...)
	if center != "" {
		k = append(k, sep)
		k = append(k, center...)
	}
	return k
}

var (
	metaSeqKey   = metaKey("seq", "")
	metaCleanKey = metaKey("clean", "")
	metaKeyIDKey = metaKey("keyid", "")
)

// prefixEnd is the smallest key greater than every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// trailingID decodes the big-endian ID that ends an index key.
func trailingID(k []byte) (uint64, bool) {
	if len(k) < 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(k)-8:]), true
}

func validName(what, s string, maxLen int, allowEmpty bool) error {
	if s == "" && !allowEmpty {
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	}
	if len(s) > maxLen {
		return fmt.Errorf("%w: %s is %d bytes, max %d", ErrInvalid, what, len(s), maxLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return fmt.Errorf("%w: %s contains control byte 0x%02x", ErrInvalid, what, s[i])
		}
	}
	return nil
}

func validCenter(c string) error { return validName("center", c, MaxCenterLen, false) }

// validDate accepts a business date YYYYMMDD (digits only; the calendar is
// the engine's business).
func validDate(d string) error {
	if len(d) != 8 {
		return fmt.Errorf("%w: business date %q is not YYYYMMDD", ErrInvalid, d)
	}
	for i := 0; i < 8; i++ {
		if d[i] < '0' || d[i] > '9' {
			return fmt.Errorf("%w: business date %q is not YYYYMMDD", ErrInvalid, d)
		}
	}
	return nil
}

// familySpans is Pebble's SpanPolicyFunc: it ends every sstable Pebble writes
// (flush or compaction) where the key family of start ends. The upper-case
// state is one span (it is small and rewritten often); each lower-case log
// family is its own. Why: doc.go, "Sstables by key family".
func familySpans(start []byte) (pebble.SpanPolicy, []byte, error) {
	if len(start) == 0 || start[0] < 'a' {
		return pebble.SpanPolicy{}, []byte{'a'}, nil
	}
	if start[0] == 0xff {
		return pebble.SpanPolicy{}, nil, nil // no key sorts after this span
	}
	return pebble.SpanPolicy{}, []byte{start[0] + 1}, nil
}
