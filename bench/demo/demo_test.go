package demo

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDemoDay runs `make demo`'s business day with one second of traffic:
// both centers must end in balance (CARDNET through its reconciliation
// exchange, CAFIS against the simulator's totals) and every request must
// have a final answer.
func TestDemoDay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	sum, err := Run(ctx, Options{Dir: dir, Traffic: time.Second, Sessions: 2, Concurrency: 4, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Centers) != 2 {
		t.Fatalf("centers %d", len(sum.Centers))
	}
	for _, c := range sum.Centers {
		if !c.InBalance {
			t.Errorf("%s out of balance: ours %+v center %+v", c.Center, c.Totals, c.CenterTotals)
		}
		if c.Sent == 0 || c.Approved == 0 || c.Declined == 0 || c.Cancelled == 0 {
			t.Errorf("%s: traffic did not exercise every outcome: %+v", c.Center, c)
		}
		if c.Other != 0 {
			t.Errorf("%s: %d requests without a final answer", c.Center, c.Other)
		}
		if c.Totals.DebitsCount == 0 || c.Totals.DebitReversalsCount == 0 || c.Totals.CreditsCount == 0 {
			t.Errorf("%s: totals %+v", c.Center, c.Totals)
		}
	}
	// The PAN the apps sent appears nowhere: not in fxd's or fxsim's logs, the
	// simulator's journal, `fxctl status --json`, the metrics, or any file of
	// the data directory (the WAL encrypts PANs and messages at rest).
	for _, f := range []string{"fxd.log", "fxsim.log", "journal.jsonl", "status.json", "metrics.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.IsDir() && d.Name() == "bin" {
				return filepath.SkipDir
			}
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(demoPAN)) {
			t.Errorf("clear PAN found in %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
