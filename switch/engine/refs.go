package engine

import "hash/maphash"

// refFilter spares the WAL lookup of an app reference that cannot have been
// used in the current business date. It holds a 64-bit hash of every
// reference admitted since the date began — at most one per matching key,
// so at most 999,999 (≈16 MB) — and is complete only when this process saw
// the date begin (a fresh data directory or a cutover). A hash hit, or an
// incomplete filter, means "look it up": the WAL stays the authority and a
// hash collision only costs a lookup. Owned by the center loop.
type refFilter struct {
	complete bool
	seen     map[uint64]struct{}
	seed     maphash.Seed
}

func (f *refFilter) hash(app, ref string) uint64 {
	if f.seen == nil {
		f.seed = maphash.MakeSeed()
		f.seen = make(map[uint64]struct{})
	}
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteString(app)
	h.WriteByte(0)
	h.WriteString(ref)
	return h.Sum64()
}

// mayHave reports whether (app, ref) may already be in the WAL for the date.
func (f *refFilter) mayHave(app, ref string) bool {
	if !f.complete {
		return true
	}
	_, ok := f.seen[f.hash(app, ref)]
	return ok
}

func (f *refFilter) add(app, ref string) {
	if f.complete {
		f.seen[f.hash(app, ref)] = struct{}{}
	}
}

// reset starts a new business date: nothing of it was admitted yet.
func (f *refFilter) reset() {
	f.complete = true
	clear(f.seen)
}
