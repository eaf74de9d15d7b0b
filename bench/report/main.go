// Command report runs fxswitch's end-to-end benchmark scenarios with
// fxbench and regenerates the "## end to end" section of bench/RESULTS.md
// (other sections belong to the micro-benchmarks and are left as they are).
//
//	go run ./bench/report [--bin bin] [--results bench/RESULTS.md] [--plots dir] [--quick]
//
// Every scenario spawns fresh processes (fxbench --spawn), so the figures
// are independent of what ran before; the section records the machine, the
// date, the commit, every command, the figures, the target and whether it
// was met. It also draws the latency percentile curve and the TPS over time
// of the switch, direct, open50k and sessions10k runs to latency.png and
// tps.png in --plots (default: plots/ next to --results), linked from the
// section. `make bench` runs it after building bin/.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fxswitch/fxswitch/bench/load"
)

// Heading is the section this program owns in RESULTS.md.
const Heading = "## end to end"

// analysis is the hand-written part of the section (profiles, where the
// time goes): it is kept with the program so that regenerating the figures
// does not lose it.
//
//go:embed analysis.md
var analysis string

// scenario is one fxbench invocation.
type scenario struct {
	id, title string
	args      []string
	round     int // > 0 for the repeated switch/direct pairs
}

// label names a run in the tables ("switch #2").
func (s scenario) label() string {
	if s.round > 0 {
		return s.id + " #" + strconv.Itoa(s.round)
	}
	return s.id
}

// pairs is how many back-to-back switch/direct pairs run: the machine is
// shared, so the headline figures are medians.
const pairs = 3

func scenarios(quick bool) []scenario {
	// Direct runs go up to ~240,000 TPS: 4 s stays within the 999,999 keys.
	d, dDirect, n := "8s", "4s", pairs
	if quick {
		d, dDirect, n = "2s", "2s", 1
	}
	var out []scenario
	for i := 1; i <= n; i++ {
		out = append(out,
			scenario{"switch", "closed-loop maximum through fxd (durable)", []string{"--spawn", "--duration", d}, i},
			scenario{"direct", "closed-loop maximum straight against fxsim (baseline)", []string{"--spawn", "--direct", "--duration", dDirect}, i})
	}
	return append(out, []scenario{
		{"open50k", "open loop at 50,000 TPS through fxd", []string{"--spawn", "--rate", "50000", "--duration", d}, 0},
		{"sessions10k", "10,000 concurrent sessions, 5,000 TPS", []string{"--spawn", "--sessions", "10000", "--conns", "100",
			"--concurrency", "1", "--rate", "5000", "--duration", d}, 0},
		{"sessions10k-busy", "10,000 sessions, each with a request outstanding (closed loop)", []string{"--spawn", "--sessions", "10000",
			"--conns", "100", "--concurrency", "1", "--duration", d}, 0},
	}...)
}

// median returns the run of id with the median TPS (the lower middle of
// an even count) and the TPS of every successful run of id, in order.
func median(runs []outcome, id string) (*load.Result, []float64) {
	var rs []*load.Result
	var tps []float64
	for _, o := range runs {
		if o.sc.id == id && o.res != nil {
			rs = append(rs, o.res)
			tps = append(tps, o.res.TPS)
		}
	}
	if len(rs) == 0 {
		return nil, nil
	}
	sorted := append([]*load.Result(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].TPS < sorted[j].TPS })
	return sorted[(len(sorted)-1)/2], tps
}

// pairRatios are switch ÷ direct TPS of each round where both ran.
func pairRatios(runs []outcome) []float64 {
	sw, di := map[int]float64{}, map[int]float64{}
	for _, o := range runs {
		if o.res == nil || o.sc.round == 0 {
			continue
		}
		switch o.sc.id {
		case "switch":
			sw[o.sc.round] = o.res.TPS
		case "direct":
			di[o.sc.round] = o.res.TPS
		}
	}
	var out []float64
	for r := 1; r <= len(runs); r++ {
		if s, ok := sw[r]; ok {
			if d, ok := di[r]; ok && d > 0 {
				out = append(out, s/d)
			}
		}
	}
	return out
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[(len(s)-1)/2]
}

func nums(v []float64, f func(float64) string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = f(x)
	}
	return strings.Join(parts, ", ")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("report", flag.ContinueOnError)
	fl.SetOutput(stderr)
	bin := fl.String("bin", "bin", "directory with fxbench, fxd, fxsim, fxctl")
	results := fl.String("results", "bench/RESULTS.md", "file whose end-to-end section is regenerated")
	plotsDir := fl.String("plots", "", "directory for latency.png and tps.png (default: plots/ next to --results)")
	quick := fl.Bool("quick", false, "2 s per scenario instead of 8 s (a smoke run; figures not meant for RESULTS.md)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	fxbench, err := filepath.Abs(filepath.Join(*bin, "fxbench"))
	if err != nil {
		fmt.Fprintln(stderr, "report:", err)
		return 1
	}
	m := machine()
	var runs []outcome
	for _, sc := range scenarios(*quick) {
		fmt.Fprintf(stderr, "report: %s: fxbench %s\n", sc.label(), strings.Join(sc.args, " "))
		o := runScenario(fxbench, sc)
		if o.err != nil {
			fmt.Fprintf(stderr, "report: %s: %v\n", sc.label(), o.err)
		} else {
			fmt.Fprintf(stderr, "report: %s: %.0f TPS, p99 %d us, errors %d\n", sc.label(), o.res.TPS, o.res.P99Us, o.res.Errors)
		}
		runs = append(runs, o)
	}
	var recs []recoveryRun
	rounds := recoveryRounds
	if *quick {
		rounds = 1
	}
	for round := 0; round < rounds; round++ { // interleaved, so drift hits both loads alike
		for _, d := range recoveryLoads(*quick) {
			fmt.Fprintf(stderr, "report: recovery after %v of traffic (round %d)\n", d, round+1)
			rr := runRecovery(*bin, d)
			if rr.err != nil {
				fmt.Fprintf(stderr, "report: recovery: %v\n", rr.err)
			} else {
				fmt.Fprintf(stderr, "report: recovery: %d answered, restart %.3fs, recovery %.3fs, %d in flight\n",
					rr.res.Answered, rr.res.RestartS, rr.res.RecoveryS, rr.res.InFlight)
			}
			recs = append(recs, rr)
		}
	}
	m.loadEnd = loadavg()
	if *plotsDir == "" {
		*plotsDir = filepath.Join(filepath.Dir(*results), "plots")
	}
	plotsLink, code := "", 0
	if err := writePlots(*plotsDir, plotCurves(runs), load.DefaultTick); err != nil {
		fmt.Fprintln(stderr, "report:", err)
		code = 1
	} else {
		plotsLink = relLink(*results, *plotsDir)
		fmt.Fprintf(stderr, "report: plots in %s\n", *plotsDir)
	}
	body := render(m, runs, recs, plotsLink)
	doc, err := os.ReadFile(*results)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(stderr, "report:", err)
		return 1
	}
	if len(doc) == 0 {
		doc = []byte("# fxswitch benchmark results\n")
	}
	out := ReplaceSection(string(doc), Heading, body)
	if err := os.WriteFile(*results, []byte(out), 0o644); err != nil {
		fmt.Fprintln(stderr, "report:", err)
		return 1
	}
	fmt.Fprintf(stdout, "report: %s regenerated (%s)\n", *results, Heading)
	return code
}

// relLink is dir as a link from the Markdown file results: relative to it
// when possible, with forward slashes.
func relLink(results, dir string) string {
	ra, err1 := filepath.Abs(filepath.Dir(results))
	da, err2 := filepath.Abs(dir)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(ra, da); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(dir)
}

type outcome struct {
	sc       scenario
	res      *load.Result
	err      error
	duration time.Duration
}

func runScenario(fxbench string, sc scenario) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append(append([]string{}, sc.args...), "--json", "--quiet")
	cmd := exec.CommandContext(ctx, fxbench, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	o := outcome{sc: sc, duration: time.Since(start)}
	if err != nil {
		o.err = fmt.Errorf("fxbench: %v: %s", err, lastLine(stderr.String()))
		return o
	}
	var r load.Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		o.err = fmt.Errorf("fxbench output: %v", err)
		return o
	}
	o.res = &r
	return o
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// recoveryRun is one crash-and-recover measurement.
type recoveryRun struct {
	load time.Duration
	res  *load.RecoveryResult
	err  error
}

// recoveryRounds is how often each recovery load runs. A restart takes
// tens of milliseconds here, so one run of each is mostly noise: single
// pairs gave long/short ratios from 0.56 to 1.49 for the same build. The
// row compares the medians.
const recoveryRounds = 3

// recoveryLoads are the traffic durations before the crash: a short and a
// long one, so the log differs by an order of magnitude while the in-flight
// count (what recovery has to settle) stays about the same.
func recoveryLoads(quick bool) []time.Duration {
	if quick {
		return []time.Duration{500 * time.Millisecond, 2 * time.Second}
	}
	return []time.Duration{time.Second, 10 * time.Second}
}

func runRecovery(bin string, d time.Duration) recoveryRun {
	rr := recoveryRun{load: d}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "fxbench-recovery-")
	if err != nil {
		rr.err = err
		return rr
	}
	defer os.RemoveAll(dir)
	env, err := load.StartEnv(ctx, load.EnvOptions{Dir: dir, BinDir: bin})
	if err != nil {
		rr.err = err
		return rr
	}
	defer env.Close()
	rr.res, rr.err = load.CrashRecovery(ctx, env, load.Options{}, d)
	return rr
}

// machineInfo describes where and when the figures were taken.
type machineInfo struct {
	date, cpu, kernel, goVersion, commit string
	cores                                int
	memMB                                int64
	loadStart, loadEnd                   string
}

func machine() machineInfo {
	m := machineInfo{date: time.Now().UTC().Format("2006-01-02 15:04 MST"), cores: runtime.NumCPU(),
		goVersion: runtime.Version(), loadStart: loadavg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.memMB = kb / 1024
			}
		}
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			m.commit += " (with uncommitted changes in the checkout)"
		}
	}
	return m
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// render writes the section body (everything after the heading line);
// plots is the directory of latency.png and tps.png relative to RESULTS.md,
// "" when they were not drawn.
func render(m machineInfo, runs []outcome, recs []recoveryRun, plots string) string {
	var b strings.Builder
	by := map[string]*load.Result{}
	for _, o := range runs {
		if o.res != nil {
			by[o.sc.id] = o.res
		}
	}
	swTPS, diTPS := []float64(nil), []float64(nil)
	by["switch"], swTPS = median(runs, "switch")
	by["direct"], diTPS = median(runs, "direct")
	fmt.Fprintf(&b, "\nRegenerated by `make bench` (`go run ./bench/report`) on %s.\n\n", m.date)
	fmt.Fprintf(&b, "- Machine: %s, %d cores, %d MB RAM, Linux %s, %s.\n", m.cpu, m.cores, m.memMB, m.kernel, m.goVersion)
	fmt.Fprintf(&b, "- Commit: %s.\n", m.commit)
	fmt.Fprintf(&b, "- Load average before / after: %s / %s. The machine is shared: other people build and\n", m.loadStart, m.loadEnd)
	b.WriteString("  test on the same two cores while this runs, and fxsim and fxbench share them with fxd, so\n")
	b.WriteString("  the figures are lower and noisier than on a dedicated machine. Re-run before quoting.\n")
	b.WriteString("- Every scenario starts fresh processes (`--spawn`: fxsim, fxd with durability on, signed on\n")
	b.WriteString("  with fxctl), CARDNET, mix " + load.DefaultMix + ", 2 lines to the center.\n")
	b.WriteString("- Runs are short on purpose: a center has 999,999 STANs per business date, about 15 s at full\n")
	b.WriteString("  speed; each scenario starts a fresh fxd and fxsim, so each has the whole key space.\n\n")

	b.WriteString("| figure | command (`bin/fxbench … --json`) | measured | target | met |\n|---|---|---|---|---|\n")
	row := func(figure, id, measured, target, met string) {
		cmd := ""
		for _, o := range runs {
			if o.sc.id == id {
				cmd = "`" + strings.Join(o.sc.args, " ") + "`"
				if o.err != nil {
					measured = "failed: " + o.err.Error()
					met = "no"
				}
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", figure, cmd, measured, target, met)
	}
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	if r := by["switch"]; r != nil {
		row("end-to-end TPS, closed loop", "switch", fmt.Sprintf("median %s TPS (p99 %s, errors %d; runs %s)", num(r.TPS), ms(r.P99Us), r.Errors, nums(swTPS, num)),
			"≥ 65,000 TPS", yes(r.TPS >= 65000 && r.Errors == 0))
	} else {
		row("end-to-end TPS, closed loop", "switch", "", "≥ 65,000 TPS", "no")
	}
	if r := by["direct"]; r != nil {
		m := fmt.Sprintf("median %s TPS (p99 %s, errors %d; runs %s)", num(r.TPS), ms(r.P99Us), r.Errors, nums(diTPS, num))
		if r.KeysExhausted {
			m += fmt.Sprintf("; the keys ran out after %.1f s", r.ElapsedS)
		}
		row("direct TPS (no switch)", "direct", m, "baseline", "—")
	} else {
		row("direct TPS (no switch)", "direct", "", "baseline", "—")
	}
	if rs := pairRatios(runs); len(rs) > 0 {
		ratio := medianOf(rs)
		fmt.Fprintf(&b, "| switch overhead | each switch run and the direct run right after it | switch / direct = %.2f (median of %s) | ≥ 0.6 | %s |\n",
			ratio, nums(rs, func(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }), yes(ratio >= 0.6))
	}
	if s, d := by["switch"], by["direct"]; s != nil && d != nil && ceiling(s) > 0 && ceiling(d) > 0 {
		fmt.Fprintf(&b, "| derived: TPS the CPU allows with both cores ours | %d cores ÷ CPU per transaction of fxd + fxsim + fxbench in the median runs | switch %s, direct %s, ratio %.2f | (not measured; less sensitive to other load) | — |\n",
			runtime.NumCPU(), num(ceiling(s)), num(ceiling(d)), ceiling(s)/ceiling(d))
	}
	if r := by["open50k"]; r != nil {
		row("latency at 50,000 TPS, open loop", "open50k",
			fmt.Sprintf("p99 %s (p50 %s, p99.9 %s; %s TPS answered, %d late tickets, errors %d)", ms(r.P99Us), ms(r.P50Us), ms(r.P999Us), num(r.TPS), r.LateTickets, r.Errors),
			"p99 ≤ 5 ms", yes(r.P99Us <= 5000 && r.TPS >= 0.95*50000 && r.Errors == 0))
	} else {
		row("latency at 50,000 TPS, open loop", "open50k", "", "p99 ≤ 5 ms", "no")
	}
	if r := by["sessions10k"]; r != nil {
		row("fxd memory with 10,000 sessions", "sessions10k",
			fmt.Sprintf("peak RSS %d MB, at the end %d MB (%s TPS, p99 %s, errors %d)", r.FXDPeakRSSKB/1024, r.FXDRSSKB/1024, num(r.TPS), ms(r.P99Us), r.Errors),
			"RSS ≤ 300 MB", yes(r.FXDPeakRSSKB > 0 && r.FXDPeakRSSKB <= 300*1024 && r.Errors == 0))
	} else {
		row("fxd memory with 10,000 sessions", "sessions10k", "", "RSS ≤ 300 MB", "no")
	}
	if r := by["sessions10k-busy"]; r != nil {
		row("10,000 sessions all busy: errors", "sessions10k-busy",
			fmt.Sprintf("%d errors of %d sent (%s TPS, peak RSS %d MB)", r.Errors, r.Sent, num(r.TPS), r.FXDPeakRSSKB/1024),
			"no errors, RSS ≤ 300 MB", yes(r.Errors == 0 && r.FXDPeakRSSKB > 0 && r.FXDPeakRSSKB <= 300*1024))
	}
	renderRecovery(&b, recs)
	b.WriteString("| recovery time vs log size (WAL alone) | `go test -bench RecoveryScan ./wal` (run by `make bench`) | see the WAL section | 10M records ≤ 1.2 × 10k | see the WAL section |\n")

	b.WriteString("\n### details\n\n")
	b.WriteString("CPU is per answered transaction (CPU time of the process during the run / ok).\n\n")
	b.WriteString("| scenario | sent | ok | errors | p50 | p90 | p99 | p99.9 | max | CPU µs/tx fxd | fxsim | fxbench | fxd peak RSS |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, o := range runs {
		r := o.res
		if r == nil {
			fmt.Fprintf(&b, "| %s | failed: %v |||||||||||| \n", o.sc.label(), o.err)
			continue
		}
		perTx := func(cpuS float64) string {
			if r.OK == 0 {
				return "—"
			}
			return strconv.FormatFloat(cpuS*1e6/float64(r.OK), 'f', 1, 64)
		}
		fxdCPU, fxdRSS := "—", "—"
		if p, ok := r.Procs["fxd"]; ok {
			fxdCPU, fxdRSS = perTx(p.CPUS), strconv.FormatInt(p.PeakRSSKB/1024, 10)+" MB"
		}
		fmt.Fprintf(&b, "| %s: %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			o.sc.label(), o.sc.title, r.Sent, r.OK, r.Errors, ms(r.P50Us), ms(r.P90Us), ms(r.P99Us), ms(r.P999Us), ms(r.MaxUs),
			fxdCPU, perTx(r.Procs["fxsim"].CPUS), perTx(r.LoadCPUS), fxdRSS)
	}
	if plots != "" {
		fmt.Fprintf(&b, "\nLatency by percentile and TPS over time of the runs above (median run of switch and direct):\n\n")
		fmt.Fprintf(&b, "![latency percentile curve](%s/%s)\n\n![TPS over time](%s/%s)\n", plots, latencyPNG, plots, tpsPNG)
	}
	b.WriteString("\nTPS each second (answered requests):\n\n")
	for _, o := range runs {
		if o.res == nil {
			continue
		}
		parts := make([]string, len(o.res.TPSSeries))
		for i, v := range o.res.TPSSeries {
			parts[i] = num(v)
		}
		fmt.Fprintf(&b, "- %s: %s\n", o.sc.label(), strings.Join(parts, ", "))
	}
	b.WriteString("\nLatency percentile curve (µs):\n\n")
	keys := []string{"50", "75", "90", "95", "99", "99.9", "99.99", "100"}
	b.WriteString("| scenario | " + strings.Join(keys, " | ") + " |\n|---|" + strings.Repeat("---|", len(keys)) + "\n")
	for _, o := range runs {
		if o.res == nil {
			continue
		}
		vals := make([]string, len(keys))
		for i, k := range keys {
			vals[i] = strconv.FormatInt(o.res.Curve[k], 10)
		}
		fmt.Fprintf(&b, "| %s | %s |\n", o.sc.label(), strings.Join(vals, " | "))
	}
	var errs []string
	for _, o := range runs {
		if o.res == nil || len(o.res.ErrorKind) == 0 {
			continue
		}
		ks := make([]string, 0, len(o.res.ErrorKind))
		for k := range o.res.ErrorKind {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			errs = append(errs, fmt.Sprintf("- %s: %d × %s", o.sc.label(), o.res.ErrorKind[k], k))
		}
	}
	if len(errs) > 0 {
		b.WriteString("\nErrors:\n\n" + strings.Join(errs, "\n") + "\n")
	}
	b.WriteString("\n" + strings.TrimSpace(analysis) + "\n")
	return b.String()
}

// ceiling is the throughput the machine's cores would allow if the three
// processes had them to themselves: cores ÷ CPU seconds per answered
// transaction. It is derived, not measured, and shown as such.
func ceiling(r *load.Result) float64 {
	if r.OK == 0 {
		return 0
	}
	cpu := r.LoadCPUS
	for _, p := range r.Procs {
		cpu += p.CPUS
	}
	if cpu <= 0 {
		return 0
	}
	return float64(runtime.NumCPU()) * float64(r.OK) / cpu
}

// renderRecovery writes the end-to-end recovery row: the median of restart
// plus recovery time after a long run against the same after a short one.
func renderRecovery(b *strings.Builder, recs []recoveryRun) {
	if len(recs) == 0 {
		return
	}
	var loads []time.Duration
	byLoad := map[time.Duration][]recoveryRun{}
	for _, r := range recs {
		if _, ok := byLoad[r.load]; !ok {
			loads = append(loads, r.load)
		}
		byLoad[r.load] = append(byLoad[r.load], r)
	}
	var parts []string
	var medians []*load.RecoveryResult
	for _, d := range loads {
		runs := byLoad[d]
		var ok []*load.RecoveryResult
		for _, r := range runs {
			if r.err != nil {
				parts = append(parts, fmt.Sprintf("after %v: failed: %v", d, r.err))
				continue
			}
			ok = append(ok, r.res)
		}
		if len(ok) == 0 {
			medians = append(medians, nil)
			continue
		}
		total := func(r *load.RecoveryResult) float64 { return r.RestartS + r.RecoveryS }
		sort.Slice(ok, func(i, j int) bool { return total(ok[i]) < total(ok[j]) })
		m := ok[(len(ok)-1)/2] // the lower middle of an even count, as median does
		medians = append(medians, m)
		of := ""
		if len(ok) > 1 {
			var all []string
			for _, r := range ok {
				all = append(all, fmt.Sprintf("%.3f", total(r)))
			}
			of = fmt.Sprintf(", median of %d runs: %s s", len(ok), strings.Join(all, ", "))
		}
		parts = append(parts, fmt.Sprintf("after %v of traffic (%s answered, data dir %d MB%s): restart %.3f s + recovery %.3f s of %d in flight",
			d, num(float64(m.Answered)), m.DataBytes>>20, of, m.RestartS, m.RecoveryS, m.InFlight))
	}
	met, measured := "**no**", strings.Join(parts, "; ")
	first, last := medians[0], medians[len(medians)-1]
	if first != nil && last != nil && len(medians) > 1 {
		small := first.RestartS + first.RecoveryS
		big := last.RestartS + last.RecoveryS
		measured += fmt.Sprintf("; ratio of the medians %.2f", big/small)
		if big <= 1.2*small && first.Done && last.Done {
			met = "yes"
		}
	}
	fmt.Fprintf(b, "| recovery time vs log size, end to end (kill -9 under load, restart, signon, `fxctl recovery`) | `load.CrashRecovery` from `bench/report`, each load %d times, interleaved | %s | grows with the in-flight count only: long ≤ 1.2 × short | %s |\n",
		len(recs)/max(len(loads), 1), measured, met)
}

func num(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func ms(us int64) string {
	if us < 1000 {
		return strconv.FormatInt(us, 10) + " µs"
	}
	return strconv.FormatFloat(float64(us)/1000, 'f', 2, 64) + " ms"
}

// ReplaceSection returns doc with the section under heading (a "## " line,
// up to the next "## " line) replaced by heading + body; a missing section
// is appended at the end. Other sections are returned byte for byte.
func ReplaceSection(doc, heading, body string) string {
	lines := strings.SplitAfter(doc, "\n")
	start, end := -1, len(lines)
	for i, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		if start < 0 {
			if t == heading {
				start = i
			}
			continue
		}
		if strings.HasPrefix(t, "## ") {
			end = i
			break
		}
	}
	section := heading + "\n" + strings.TrimRight(body, "\n") + "\n"
	if start < 0 {
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		return doc + "\n" + section
	}
	if end < len(lines) {
		section += "\n"
	}
	return strings.Join(lines[:start], "") + section + strings.Join(lines[end:], "")
}
