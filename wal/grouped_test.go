package wal

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestGroupedBatchGroupsFamiliesKeepsOrder checks what the committer relies
// on: the batch handed to Pebble holds every write once, grouped by key
// family, and two writes of one key (an in-flight entry set and removed in
// one batch) keep their order.
func TestGroupedBatchGroupsFamiliesKeepsOrder(t *testing.T) {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem(), Logger: pebbleLogger{quiet}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s groupedBatch
	// Arrival order of a request (r/, I/, x/), a second request, then the
	// first one's resolution (s/, SingleDelete I/, e/), then batch keys.
	writes := []struct {
		op  string
		key string
	}{
		{"set", "r/1"}, {"set", "I/c1"}, {"set", "x/a"},
		{"set", "r/2"}, {"set", "I/c2"}, {"set", "x/b"},
		{"set", "s/1"}, {"sdel", "I/c1"}, {"set", "e/c1"}, {"del", "A/c1"},
		{"set", "M/seq"}, {"set", "T/c"},
	}
	for _, w := range writes {
		k, v := []byte(w.key), []byte("v"+w.key)
		switch w.op {
		case "set":
			s.Set(k, v)
		case "del":
			s.Delete(k)
		case "sdel":
			s.SingleDelete(k)
		}
	}
	b, err := s.build(db)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var got []string
	r := b.Reader()
	for {
		kind, k, _, ok, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, fmt.Sprintf("%v:%s", kind, k))
	}
	want := []string{
		"DEL:A/c1",
		"SET:I/c1", "SET:I/c2", "SINGLEDEL:I/c1",
		"SET:M/seq", "SET:T/c",
		"SET:e/c1",
		"SET:r/1", "SET:r/2",
		"SET:s/1",
		"SET:x/a", "SET:x/b",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("batch order\n got %v\nwant %v", got, want)
	}
	if int(b.Count()) != len(writes) {
		t.Fatalf("batch holds %d writes, want %d", b.Count(), len(writes))
	}
	// Applied, the in-flight entry set and removed in one batch is gone.
	if err := db.Apply(b, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, closer, err := db.Get([]byte("I/c1")); err != pebble.ErrNotFound {
		if closer != nil {
			closer.Close()
		}
		t.Fatalf("I/c1 after Set+SingleDelete in one batch: err %v, want not found", err)
	}
	s.reset()
	if !s.empty() || len(s.order) != 0 {
		t.Fatal("reset left entries behind")
	}
}
