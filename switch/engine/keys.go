package engine

import "errors"

// maxKey is the largest 6-digit STAN / 通番.
const maxKey = 999999

// errKeysExhausted: every matching key of the business date is used.
var errKeysExhausted = errors.New("engine: matching keys exhausted for the business date (999,999 per center)")

// keyAlloc hands out a center's matching keys (CARDNET STAN, CAFIS 通番) so
// that no key is reused within a business date, across restarts included
// (DESIGN §3). Keys are reserved in blocks: the WAL remembers the highest key
// that may have been handed out; after a restart the counter of the same date
// starts above it, so persistence costs one durable write per block, not per
// key. Owned by the center loop.
type keyAlloc struct {
	date     string
	last     uint32 // last key handed out (or skipped after a restart)
	reserved uint32 // keys ≤ reserved may be handed out without a new reservation
	block    uint32
	// reserve durably records a new reservation before keys below it are used.
	reserve func(date string, upTo uint32) error
}

func newKeyAlloc(date string, base uint32, block uint32, reserve func(string, uint32) error) *keyAlloc {
	return &keyAlloc{date: date, last: base, reserved: base, block: block, reserve: reserve}
}

// alloc returns the next key.
func (k *keyAlloc) alloc() (uint32, error) {
	key := k.last + 1
	if key > maxKey {
		return 0, errKeysExhausted
	}
	if key > k.reserved {
		upTo := min(k.reserved+k.block, maxKey)
		if err := k.reserve(k.date, upTo); err != nil {
			return 0, err
		}
		k.reserved = upTo
	}
	k.last = key
	return key, nil
}

// newDate starts a fresh key space for a new business date.
func (k *keyAlloc) newDate(date string) {
	k.date = date
	k.last = 0
	k.reserved = 0
}
