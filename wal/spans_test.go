package wal

import (
	"context"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestSSTablesStayWithinOneKeyFamily writes requests and resolutions,
// flushes and compacts, and checks that no sstable Pebble wrote
// holds keys of two log families (or of the state and the log): the property
// that lets a flush of the append-only families move down the LSM instead of
// rewriting what is below it.
func TestSSTablesStayWithinOneKeyFamily(t *testing.T) {
	w := mustOpen(t, vfs.NewMem(), "wal")
	defer w.Close()
	check := func(stage string) {
		t.Helper()
		levels, err := w.db.SSTables()
		if err != nil {
			t.Fatal(err)
		}
		tables := 0
		for l, ts := range levels {
			for _, tb := range ts {
				tables++
				lo, hi := tb.Smallest.UserKey, tb.Largest.UserKey
				if spanOf(lo) != spanOf(hi) {
					t.Errorf("%s: L%d table %s spans %q .. %q", stage, l, tb.FileNum, lo, hi)
				}
			}
		}
		// Upper-case state, r/, s/, x/: at least one table each.
		if tables < 4 {
			t.Fatalf("%s: %d sstables, want one per family at least", stage, tables)
		}
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < 300; i++ {
			r := &Request{Center: "cardnet", Key: uint32(round*1000 + i + 1), Date: "20261123", Category: CategoryDebit,
				Amount: 1000, AppID: "pos", AppRef: fmt.Sprintf("ref-%d-%d", round, i), PAN: []byte("4999991234567890"), Msg: []byte("0200")}
			id := syncRequest(t, w, r)
			if i%3 == 0 {
				continue // stays in flight
			}
			if res := syncResolve(t, w, &Resolution{RequestID: id, Status: StatusApproved, RespCode: "00",
				Effects: []Effect{{Date: r.Date, Category: CategoryDebit, Amount: r.Amount}}}); res.err != nil {
				t.Fatal(res.err)
			}
		}
		if err := w.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	check("after flushes")
	if err := w.db.Compact(context.Background(), []byte{0}, []byte{0xff}, false); err != nil {
		t.Fatal(err)
	}
	check("after compaction")
}

// spanOf names the span familySpans puts key k in.
func spanOf(k []byte) string {
	_, end, _ := familySpans(k)
	return string(end)
}
