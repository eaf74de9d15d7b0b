package load_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/bench/load"
	"github.com/fxswitch/fxswitch/sim"
	"github.com/fxswitch/fxswitch/switch/config"
	"github.com/fxswitch/fxswitch/switch/engine"
)

// BenchmarkSwitchInProcess runs fxsim's centers, the engine and the load in
// one process, so that `go test -cpuprofile / -blockprofile / -mutexprofile
// / -trace` shows where the switch spends its time (fxd itself has no
// profiling endpoint). One iteration is one run; use -benchtime=1x.
//
//	FXBENCH_RATE=50000 FXBENCH_DURATION=5s go test -run '^$' -bench SwitchInProcess \
//	    -benchtime=1x -cpuprofile cpu.out ./bench/load
//
// FXBENCH_RATE (default 0: closed loop), FXBENCH_DURATION (default 3s),
// FXBENCH_DIRECT=1 drives the simulator without the engine.
func BenchmarkSwitchInProcess(b *testing.B) {
	rate, _ := strconv.ParseFloat(os.Getenv("FXBENCH_RATE"), 64)
	dur, err := time.ParseDuration(os.Getenv("FXBENCH_DURATION"))
	if err != nil {
		dur = 3 * time.Second
	}
	direct := os.Getenv("FXBENCH_DIRECT") == "1"
	dir := b.TempDir()
	s, err := sim.New(sim.Options{CardnetAddr: "127.0.0.1:0", CafisAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	o := load.Options{Rate: rate, Duration: dur}
	if direct {
		o.Direct, o.Network, o.Addr = true, "tcp", s.CardnetAddr()
	} else {
		cfg := config.Default()
		cfg.DataDir = filepath.Join(dir, "data")
		cfg.IPC = config.IPC{Unix: "fxd.sock"}
		cfg.Ctl = config.Ctl{Unix: "ctl.sock"}
		cfg.Centers = map[string]config.Center{
			"cardnet": {Lines: []string{s.CardnetAddr(), s.CardnetAddr()}},
			"cafis":   {Lines: []string{s.CafisAddr()}},
		}
		cfg.EnsureDefaults()
		e, err := engine.New(engine.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Start(); err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := e.Signon(ctx, "cardnet"); err != nil {
			b.Fatal(err)
		}
		o.Network, o.Addr = "unix", e.IPCUnix
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := load.Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.TPS, "tps")
		b.ReportMetric(float64(r.P50Us), "p50_us")
		b.ReportMetric(float64(r.P99Us), "p99_us")
		b.ReportMetric(float64(r.Errors), "errors")
	}
}
