package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/bench/load"
)

func TestReplaceSection(t *testing.T) {
	doc := "# results\n\n## codec\n\ncodec figures\n\n## end to end\n\nold\n### details\nold details\n\n## wal\n\nwal figures\n"
	got := ReplaceSection(doc, Heading, "\nnew\n")
	want := "# results\n\n## codec\n\ncodec figures\n\n## end to end\n\nnew\n\n## wal\n\nwal figures\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Last section, and idempotent.
	doc = "# results\n\n## codec\n\nx\n\n## end to end\nold\n"
	got = ReplaceSection(doc, Heading, "\nnew")
	if got != "# results\n\n## codec\n\nx\n\n## end to end\n\nnew\n" || ReplaceSection(got, Heading, "\nnew") != got {
		t.Fatalf("got %q", got)
	}
	// Missing: appended; other sections untouched.
	got = ReplaceSection("# results\n\n## wal\nw", Heading, "\nnew")
	if got != "# results\n\n## wal\nw\n\n## end to end\n\nnew\n" {
		t.Fatalf("got %q", got)
	}
	// "### end to end" or "## end to end latency" are not the section.
	got = ReplaceSection("## end to end latency\nx\n", Heading, "\nnew")
	if !strings.HasPrefix(got, "## end to end latency\nx\n") || !strings.HasSuffix(got, "## end to end\n\nnew\n") {
		t.Fatalf("got %q", got)
	}
}

func TestRenderMarksTargets(t *testing.T) {
	res := func(tps float64, p99 int64) *load.Result {
		return &load.Result{TPS: tps, P99Us: p99, Curve: map[string]int64{"50": 1}, FXDPeakRSSKB: 200 << 10,
			Procs: map[string]load.ProcStats{"fxd": {PeakRSSKB: 200 << 10}}}
	}
	sc := scenarios(true)
	runs := []outcome{{sc: sc[0], res: res(70000, 3000)}, {sc: sc[1], res: res(100000, 2000)},
		{sc: sc[2], res: res(50000, 6000)}, {sc: sc[3], res: res(5000, 1000)}}
	recs := []recoveryRun{{load: time.Second, res: &load.RecoveryResult{Answered: 10, RestartS: 0.5, RecoveryS: 0.5, Done: true}},
		{load: 10 * time.Second, res: &load.RecoveryResult{Answered: 100, RestartS: 0.6, RecoveryS: 0.5, Done: true}}}
	out := render(machineInfo{}, runs, recs, "plots")
	for _, want := range []string{
		"![latency percentile curve](plots/latency.png)",
		"![TPS over time](plots/tps.png)",
		"| median 70,000 TPS (p99 3.00 ms, errors 0; runs 70,000) | ≥ 65,000 TPS | yes |",
		"switch / direct = 0.70 (median of 0.70) | ≥ 0.6 | yes |",
		"| p99 ≤ 5 ms | **no** |",
		"peak RSS 200 MB",
		"| RSS ≤ 300 MB | yes |",
		"ratio of the medians 1.10 | grows with the in-flight count only: long ≤ 1.2 × short | yes |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("render lacks %q:\n%s", want, out)
		}
	}
}

// TestRecoveryUsesMedians: one slow restart on either side moves neither
// median, so it does not decide the row.
func TestRecoveryUsesMedians(t *testing.T) {
	run := func(d time.Duration, restart float64) recoveryRun {
		return recoveryRun{load: d, res: &load.RecoveryResult{RestartS: restart, RecoveryS: 0.01, Done: true}}
	}
	short, long := time.Second, 10*time.Second
	recs := []recoveryRun{run(short, 0.05), run(long, 0.07), run(short, 0.19), run(long, 0.29), run(short, 0.06), run(long, 0.06)}
	var b strings.Builder
	renderRecovery(&b, recs)
	for _, want := range []string{
		"each load 3 times, interleaved",
		"median of 3 runs: 0.060, 0.070, 0.200 s): restart 0.060 s",
		"median of 3 runs: 0.070, 0.080, 0.300 s): restart 0.070 s",
		"ratio of the medians 1.14 | grows with the in-flight count only: long ≤ 1.2 × short | yes |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("row lacks %q:\n%s", want, b.String())
		}
	}
	// The same runs judged one pair at a time would have failed twice.
	b.Reset()
	renderRecovery(&b, []recoveryRun{run(short, 0.05), run(long, 0.29)})
	if !strings.Contains(b.String(), "| **no** |") {
		t.Errorf("a single slow pair should miss:\n%s", b.String())
	}
}

func TestMedianOfPairs(t *testing.T) {
	var runs []outcome
	for i, tps := range [][2]float64{{30000, 100000}, {60000, 100000}, {45000, 90000}} {
		runs = append(runs,
			outcome{sc: scenario{id: "switch", round: i + 1}, res: &load.Result{TPS: tps[0]}},
			outcome{sc: scenario{id: "direct", round: i + 1}, res: &load.Result{TPS: tps[1]}})
	}
	runs = append(runs, outcome{sc: scenario{id: "switch", round: 4}, err: errFailed})
	m, all := median(runs, "switch")
	if m == nil || m.TPS != 45000 || len(all) != 3 {
		t.Fatalf("median %v of %v", m, all)
	}
	rs := pairRatios(runs)
	if len(rs) != 3 || medianOf(rs) != 0.5 {
		t.Fatalf("ratios %v, median %v", rs, medianOf(rs))
	}
}

var errFailed = errors.New("failed")
