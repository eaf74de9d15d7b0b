package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ctl"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestTablesGolden pins the operator-facing tables: a change in layout shows
// up as a diff of testdata/*.golden (regenerate with -update and review).
func TestTablesGolden(t *testing.T) {
	d := &daemon{}
	d.reset()
	st, _ := d.Status(t.Context())
	st.StartedAt = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	d.set(func(d *daemon) { d.outOfBalance = true })
	cases := map[string]func(*bytes.Buffer){
		"status":       func(b *bytes.Buffer) { printStatus(b, st) },
		"totals":       func(b *bytes.Buffer) { printTotals(b, []ctl.TotalsRow{cafisRow, cardnetRow}) },
		"totals_empty": func(b *bytes.Buffer) { printTotals(b, nil) },
		"cutover_out_of_balance": func(b *bytes.Buffer) {
			printCutover(b, &ctl.CutoverResult{Center: "cardnet", ClosedDate: "20261123", NewDate: "20261124",
				Reconciliation: d.recon("cardnet", "20261123")})
		},
		"outcomes": func(b *bytes.Buffer) {
			printOutcomes(b, []centerOutcome{
				{Center: "cafis", OK: true, Recovery: &ctl.RecoveryReport{Center: "cafis", InFlight: 2, CancelsSent: 1, ConfirmationsSent: 1, Cancelled: 1, Stood: 1, Done: true}},
				{Center: "cardnet", Error: ctl.NewError(ctl.CodeNotSignedOn, "cardnet: no signed-on line")},
				{Center: "cardnet", OK: true},
			})
		},
	}
	for name, render := range cases {
		var b bytes.Buffer
		render(&b)
		path := filepath.Join("testdata", name+".golden")
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestTablesGolden -update)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs from %s\n--- got\n%s--- want\n%s", name, path, b.Bytes(), want)
		}
	}
}
