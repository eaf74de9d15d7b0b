// Command fxbench is fxswitch's load generator. It drives fxd through the
// IPC client the way apps do (sessions, pipelined requests), or, with
// --direct, the center simulator itself through the codec, which is the
// baseline the switch's overhead is measured against.
//
//	fxbench [--spawn | --socket PATH | --addr HOST:PORT] [--direct]
//	        [--sessions N] [--conns N] [--concurrency N] [--duration D]
//	        [--rate TPS] [--mix sale=70,refund=10,authorize=10,cancel=10]
//	        [--center cardnet|cafis] [--json]
//
// A progress line goes to stderr every second (TPS, p50/p99, errors);
// the summary (or with --json one JSON object) to stdout. See package
// bench/load for what is measured and how.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/fxswitch/fxswitch/bench/load"
)

const usageHead = `fxbench — load generator for fxd (and, with --direct, for fxsim alone)

Usage:
  fxbench --spawn [--direct] [flags]          start fxsim (and fxd) in a temp dir, measure, stop them
  fxbench --socket PATH | --addr HOST:PORT    drive a running fxd (IPC Unix socket or TCP)
  fxbench --direct --addr HOST:PORT           drive a running fxsim center directly

Key space: STANs / 通番 have 6 digits, so a center accepts at most 999,999
requests per business date. At full speed that is 10-15 s of traffic: keep
runs short (the default is 5 s) or use --spawn, which starts fresh processes.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("fxbench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		o        load.Options
		spawnF   = fl.Bool("spawn", false, "start fxsim (and unless --direct fxd, signed on) in a temp dir and stop them afterwards")
		socket   = fl.String("socket", "", "fxd IPC Unix socket")
		addr     = fl.String("addr", "", "fxd IPC TCP address, or with --direct the center's address in fxsim")
		jsonF    = fl.Bool("json", false, "print one JSON object with the figures")
		quiet    = fl.Bool("quiet", false, "no progress lines on stderr")
		lines    = fl.Int("lines", 2, "--spawn: lines fxd opens to each center")
		noMetric = fl.Bool("no-metrics", false, "--spawn: start fxd with metrics: false (to measure what recording costs)")
		ipcNet   = fl.String("ipc", "unix", "--spawn: how fxbench reaches fxd, unix or tcp")
		binDir   = fl.String("bin", "", "--spawn: directory with prebuilt fxd, fxsim, fxctl (default: next to fxbench if there, else go build)")
		keep     = fl.Bool("keep", false, "--spawn: keep the temp dir (logs, WAL) and print its path")
		pid      = fl.Int("pid", 0, "a running fxd's pid, to report its RSS and CPU (set by --spawn)")
		firstKey = fl.Uint("first-key", 1, "--direct: first STAN / 通番 (a second run against the same fxsim and date must start above the last)")
	)
	fl.IntVar(&o.Sessions, "sessions", load.DefaultSessions, "app sessions (direct: sessions × concurrency workers)")
	fl.IntVar(&o.Conns, "conns", load.DefaultConns, "IPC connections the sessions share (direct: lines to the center)")
	fl.IntVar(&o.Concurrency, "concurrency", load.DefaultConcurrency, "requests outstanding per session")
	fl.DurationVar(&o.Duration, "duration", load.DefaultDuration, "how long requests are sent")
	fl.DurationVar(&o.Grace, "grace", load.DefaultGrace, "how long answers are awaited after --duration")
	fl.Float64Var(&o.Rate, "rate", 0, "open loop: requests per second in all, latency corrected for coordinated omission (0: closed loop)")
	fl.StringVar(&o.Mix, "mix", load.DefaultMix, "operation mix, op=weight,... (sale, refund, authorize, cancel)")
	fl.StringVar(&o.Center, "center", load.CenterCardnet, "cardnet or cafis")
	fl.BoolVar(&o.Direct, "direct", false, "drive fxsim directly with the codec (baseline without the switch)")
	fl.Uint64Var(&o.Seed, "seed", 1, "seed of the operation and amount sequence")
	fl.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "fxbench: unexpected arguments %q\n", fl.Args())
		return 2
	}
	o.FirstKey = uint32(min(*firstKey, 1<<31))
	if !*quiet {
		o.Progress = stderr
	}
	if *pid > 0 {
		o.Procs = map[string]int{"fxd": *pid}
	}
	switch {
	case *spawnF && (*socket != "" || *addr != ""):
		fmt.Fprintln(stderr, "fxbench: --spawn starts its own processes; drop --socket/--addr")
		return 2
	case *spawnF:
	case o.Direct && *addr == "":
		fmt.Fprintln(stderr, "fxbench: --direct needs --addr (the center's address in fxsim) or --spawn")
		return 2
	case o.Direct:
		o.Network, o.Addr = "tcp", *addr
	case *socket != "" && *addr != "":
		fmt.Fprintln(stderr, "fxbench: give --socket or --addr, not both")
		return 2
	case *socket != "":
		o.Network, o.Addr = "unix", *socket
	case *addr != "":
		o.Network, o.Addr = "tcp", *addr
	default:
		fmt.Fprintln(stderr, "fxbench: say where fxd is (--socket or --addr), or --spawn")
		return 2
	}
	warnKeys(stderr, &o)

	if *spawnF {
		dir, err := os.MkdirTemp("", "fxbench-")
		if err != nil {
			fmt.Fprintln(stderr, "fxbench:", err)
			return 1
		}
		if *keep {
			fmt.Fprintln(stderr, "fxbench: working directory", dir)
		} else {
			defer os.RemoveAll(dir)
		}
		bins := *binDir
		if bins == "" {
			bins = besideMe()
		}
		var logw io.Writer
		if !*quiet {
			logw = stderr
		}
		env, err := load.StartEnv(ctx, load.EnvOptions{Dir: dir, BinDir: bins, Direct: o.Direct, Lines: *lines,
			Network: *ipcNet, MaxInFlightPerSession: max(o.Concurrency, 1024), NoMetrics: *noMetric, Log: logw})
		if err != nil {
			fmt.Fprintln(stderr, "fxbench:", err)
			return 1
		}
		if o.Direct {
			o.Network, o.Addr = "tcp", env.CenterAddr(o.Center)
		} else {
			o.Network, o.Addr = env.IPCNetwork, env.IPCAddr
		}
		o.Procs = env.Procs()
		res, err := load.Run(ctx, o)
		cerr := env.Close()
		if err != nil {
			fmt.Fprintln(stderr, "fxbench:", err)
			return 1
		}
		if cerr != nil {
			fmt.Fprintln(stderr, "fxbench: stopping the spawned processes:", cerr)
		}
		return report(stdout, stderr, res, *jsonF)
	}
	res, err := load.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "fxbench:", err)
		return 1
	}
	return report(stdout, stderr, res, *jsonF)
}

// besideMe returns the directory of this executable when fxd, fxsim and
// fxctl were built next to it (bin/ after `make build`), else "".
func besideMe() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	dir := filepath.Dir(exe)
	for _, p := range []string{"fxd", "fxsim", "fxctl"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			return ""
		}
	}
	return dir
}

// warnKeys says when a run is likely to exhaust the business date's keys.
func warnKeys(w io.Writer, o *load.Options) {
	budget := float64(load.KeyBudget())
	d := o.Duration
	if d == 0 {
		d = load.DefaultDuration
	}
	if o.Rate > 0 && o.Rate*d.Seconds() > budget {
		fmt.Fprintf(w, "fxbench: warning: %.0f TPS for %v needs %.0f keys; a center has %d per business date\n",
			o.Rate, d, o.Rate*d.Seconds(), load.KeyBudget())
	}
	if o.Rate == 0 && d > 15*time.Second {
		fmt.Fprintf(w, "fxbench: warning: closed loop for %v may exhaust the %d keys of the business date (about 15 s at full speed)\n",
			d, load.KeyBudget())
	}
}

func report(stdout, stderr io.Writer, r *load.Result, asJSON bool) int {
	if asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, "fxbench:", err)
			return 1
		}
		return 0
	}
	loop := "closed loop"
	if r.Rate > 0 {
		loop = fmt.Sprintf("open loop at %.0f TPS", r.Rate)
	}
	fmt.Fprintf(stdout, "%s %s, %s, %d sessions × %d outstanding over %d conns, %.1fs, mix %s\n",
		r.Mode, r.Center, loop, r.Sessions, r.Concurrency, r.Conns, r.ElapsedS, r.Mix)
	fmt.Fprintf(stdout, "  tps       %10.0f\n", r.TPS)
	fmt.Fprintf(stdout, "  latency   p50 %dus  p90 %dus  p99 %dus  p99.9 %dus  max %dus\n", r.P50Us, r.P90Us, r.P99Us, r.P999Us, r.MaxUs)
	fmt.Fprintf(stdout, "  sent %d  ok %d (approved %d, declined %d, cancelled %d)  errors %d\n",
		r.Sent, r.OK, r.Approved, r.Declined, r.Cancelled, r.Errors)
	if len(r.ErrorKind) > 0 {
		keys := make([]string, 0, len(r.ErrorKind))
		for k := range r.ErrorKind {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "    %8d × %s\n", r.ErrorKind[k], k)
		}
	}
	if r.KeysExhausted {
		fmt.Fprintln(stdout, "  the business date's matching keys ran out: run shorter or at a lower rate")
	}
	names := make([]string, 0, len(r.Procs))
	for n := range r.Procs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := r.Procs[n]
		fmt.Fprintf(stdout, "  %-6s rss %d MB (peak %d MB), cpu %.1fs\n", n, p.RSSKB/1024, p.PeakRSSKB/1024, p.CPUS)
	}
	fmt.Fprintf(stdout, "  fxbench cpu %.1fs on %d cpus\n", r.LoadCPUS, r.NumCPU)
	return 0
}
