package sim

import "github.com/fxswitch/fxswitch/sim/journal"

// totalsBook holds one center's totals per business date. It has no lock of
// its own: the center's mutex guards it together with the rest of the
// center's state.
type totalsBook map[string]*journal.Totals

// count adds one message of cat and amount to date d.
func (b totalsBook) count(d string, cat journal.Category, amount int64) {
	t := b[d]
	if t == nil {
		t = &journal.Totals{}
		b[d] = t
	}
	t.Add(cat, amount)
}

// get returns a copy of date d's totals (zero when nothing counted).
func (b totalsBook) get(d string) journal.Totals {
	if t := b[d]; t != nil {
		return *t
	}
	return journal.Totals{}
}

// snapshot copies every date's totals, with current present even when empty.
func (b totalsBook) snapshot(current string) map[string]journal.Totals {
	out := make(map[string]journal.Totals, len(b)+1)
	for d, t := range b {
		out[d] = *t
	}
	if _, ok := out[current]; !ok {
		out[current] = journal.Totals{}
	}
	return out
}
