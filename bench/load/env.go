package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fxswitch/fxswitch/bench/spawn"
)

// EnvOptions describe the processes a spawned run needs.
type EnvOptions struct {
	// Dir is the working directory (binaries, data, logs); required.
	Dir string
	// BinDir holds prebuilt fxd, fxsim and fxctl; "" builds them into Dir/bin.
	BinDir string
	// Direct starts only the simulator.
	Direct bool
	// Lines is the number of lines fxd opens to each center (default 2).
	Lines int
	// Network is how apps reach fxd: "unix" (default) or "tcp".
	Network string
	// MaxInFlightPerSession raises fxd's per-session limit when a run
	// wants more outstanding per session (default: fxd's own, 1024).
	MaxInFlightPerSession int
	// NoMetrics starts fxd with `metrics: false`, to measure what recording costs.
	NoMetrics bool
	// Log receives what the environment does ("starting fxsim ..."); nil: nothing.
	Log io.Writer
}

// EnsureDefaults fills unset fields.
func (o *EnvOptions) EnsureDefaults() {
	if o.Lines == 0 {
		o.Lines = 2
	}
	if o.Network == "" {
		o.Network = "unix"
	}
}

// Validate checks the options after EnsureDefaults.
func (o *EnvOptions) Validate() error {
	switch {
	case o.Dir == "":
		return fmt.Errorf("%w: environment needs a directory", ErrOptions)
	case o.Lines < 1 || o.Lines > 64:
		return fmt.Errorf("%w: lines %d not in 1..64", ErrOptions, o.Lines)
	case o.Network != "unix" && o.Network != "tcp":
		return fmt.Errorf("%w: network %q (unix or tcp)", ErrOptions, o.Network)
	case o.MaxInFlightPerSession < 0 || o.MaxInFlightPerSession > 1<<20:
		return fmt.Errorf("%w: max in flight per session %d", ErrOptions, o.MaxInFlightPerSession)
	}
	return nil
}

// Env is a running fxsim and, unless direct, an fxd signed on to both of
// its centers.
type Env struct {
	Sim, FXD    *spawn.Proc
	Bins        *spawn.Binaries
	CardnetAddr string
	CafisAddr   string
	IPCNetwork  string
	IPCAddr     string
	CtlPath     string
	dir         string
	cfgPath     string
	want        []string
}

// Startup limits: building can take a while on a busy machine.
const (
	envReadyTimeout    = 60 * time.Second
	envShutdownTimeout = 45 * time.Second
)

// StartEnv builds (if needed) and starts the processes; Close stops them.
func StartEnv(ctx context.Context, o EnvOptions) (*Env, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	say := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	e := &Env{dir: o.Dir, IPCNetwork: o.Network}
	var err error
	if o.BinDir != "" {
		e.Bins, err = spawn.Existing(o.BinDir)
	} else {
		say("fxbench: building fxd, fxsim, fxctl")
		e.Bins, err = spawn.Build(ctx, filepath.Join(o.Dir, "bin"), false)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	say("fxbench: starting fxsim in %s", o.Dir)
	e.Sim, err = spawn.Start(ctx, "fxsim", e.Bins.FXSim, o.Dir, filepath.Join(o.Dir, "fxsim.log"),
		[]string{"cardnet", "cafis"}, envReadyTimeout, "--cardnet", "127.0.0.1:0", "--cafis", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	e.CardnetAddr, e.CafisAddr = e.Sim.Addrs["cardnet"], e.Sim.Addrs["cafis"]
	if o.Direct {
		return e, nil
	}
	if err := e.startFXD(ctx, o, say); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Env) startFXD(ctx context.Context, o EnvOptions, say func(string, ...any)) error {
	lines := func(addr string) string {
		s := "["
		for i := 0; i < o.Lines; i++ {
			if i > 0 {
				s += ", "
			}
			s += fmt.Sprintf("%q", addr)
		}
		return s + "]"
	}
	ipcLine := `{unix: fxd.sock, tcp: ""}`
	want := []string{"ipc-unix", "ctl"}
	if o.Network == "tcp" {
		ipcLine = `{unix: "", tcp: "127.0.0.1:0"}`
		want = []string{"ipc-tcp", "ctl"}
	}
	limits := ""
	if o.MaxInFlightPerSession > 0 {
		limits = fmt.Sprintf("limits: {max_inflight_per_session: %d}\n", o.MaxInFlightPerSession)
	}
	if o.NoMetrics {
		limits += "metrics: false\n"
	}
	cfg := fmt.Sprintf(`data_dir: %s
ipc: %s
ctl: {unix: ctl.sock}
%scenters:
  cardnet: {lines: %s, timeout: 5s}
  cafis:   {lines: %s, timeout: 5s}
`, filepath.Join(o.Dir, "data"), ipcLine, limits, lines(e.CardnetAddr), lines(e.CafisAddr))
	e.cfgPath = filepath.Join(o.Dir, "fxd.yaml")
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	e.want = want
	say("fxbench: starting fxd (%d lines per center)", o.Lines)
	if _, err := e.startDaemon(ctx); err != nil {
		return err
	}
	for _, c := range []string{CenterCardnet, CenterCafis} {
		say("fxbench: fxctl signon --center %s", c)
		if err := e.Signon(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// startDaemon starts fxd with the environment's configuration and returns
// how long it took to print its listening lines (WAL open and restore).
func (e *Env) startDaemon(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	p, err := spawn.Start(ctx, "fxd", e.Bins.FXD, e.dir, filepath.Join(e.dir, "fxd.log"), e.want, envReadyTimeout,
		"--config", e.cfgPath)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	took := time.Since(start)
	e.FXD = p
	e.CtlPath = p.Addrs["ctl"]
	e.IPCAddr = p.Addrs[e.want[0]]
	return took, nil
}

// Signon signs fxd on to a center (fxctl signon).
func (e *Env) Signon(ctx context.Context, center string) error {
	if _, stderr, code, err := spawn.Run(ctx, e.Bins.FXCtl, "signon", "--center", center, "--socket", e.CtlPath); err != nil || code != 0 {
		return fmt.Errorf("%w: fxctl signon --center %s: exit %d %v %s", ErrSetup, center, code, err, stderr)
	}
	return nil
}

// Crash kills fxd with SIGKILL, as a power cut would: whatever was in
// flight stays in the WAL for recovery.
func (e *Env) Crash() {
	if e.FXD != nil {
		e.FXD.Kill()
	}
}

// Restart starts fxd again on the same data directory after Crash and
// returns the time until it was listening.
func (e *Env) Restart(ctx context.Context) (time.Duration, error) {
	if e.cfgPath == "" {
		return 0, fmt.Errorf("%w: no fxd in this environment", ErrOptions)
	}
	select {
	case <-e.FXD.Done():
	default:
		return 0, fmt.Errorf("%w: fxd is still running", ErrOptions)
	}
	return e.startDaemon(ctx)
}

// RecoveryReport is what `fxctl recovery --json` says about one center.
type RecoveryReport struct {
	Center    string `json:"center"`
	InFlight  int    `json:"in_flight"`
	Cancelled int    `json:"cancelled"`
	Stood     int    `json:"stood"`
	Failed    int    `json:"failed"`
	Done      bool   `json:"done"`
}

// Recover runs `fxctl recovery --center center` and returns its report and
// how long it took.
func (e *Env) Recover(ctx context.Context, center string) (RecoveryReport, time.Duration, error) {
	start := time.Now()
	stdout, stderr, code, err := spawn.Run(ctx, e.Bins.FXCtl, "recovery", "--center", center, "--socket", e.CtlPath, "--json")
	took := time.Since(start)
	if err != nil || code != 0 {
		return RecoveryReport{}, took, fmt.Errorf("load: fxctl recovery --center %s: exit %d %v %s", center, code, err, stderr)
	}
	var out struct {
		Results []struct {
			Recovery *RecoveryReport `json:"recovery"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || len(out.Results) != 1 || out.Results[0].Recovery == nil {
		return RecoveryReport{}, took, fmt.Errorf("load: fxctl recovery output %q: %v", stdout, err)
	}
	return *out.Results[0].Recovery, took, nil
}

// WALBytes is the size of fxd's data directory on disk.
func (e *Env) WALBytes() int64 {
	var n int64
	_ = filepath.WalkDir(filepath.Join(e.dir, "data"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// CenterAddr is the simulator's address of a center.
func (e *Env) CenterAddr(center string) string {
	if center == CenterCafis {
		return e.CafisAddr
	}
	return e.CardnetAddr
}

// Procs are the processes worth watching during a run.
func (e *Env) Procs() map[string]int {
	m := map[string]int{}
	if e.Sim != nil {
		m["fxsim"] = e.Sim.Cmd.Process.Pid
	}
	if e.FXD != nil {
		m["fxd"] = e.FXD.Cmd.Process.Pid
	}
	return m
}

// Close shuts fxd down cleanly (fxctl shutdown, as an operator would) and
// stops the simulator. A daemon that does not stop in time is killed and
// the error says so.
func (e *Env) Close() error {
	var err error
	crashed := false
	if e.FXD != nil {
		select {
		case <-e.FXD.Done():
			crashed = true // Crash without Restart: nothing to shut down
		default:
		}
	}
	if e.FXD != nil && !crashed {
		ctx, cancel := context.WithTimeout(context.Background(), envShutdownTimeout)
		_, stderr, code, rerr := spawn.Run(ctx, e.Bins.FXCtl, "shutdown", "--socket", e.CtlPath)
		cancel()
		if rerr != nil || code != 0 {
			err = fmt.Errorf("load: fxctl shutdown: exit %d %v %s", code, rerr, stderr)
		}
		if c, werr := e.FXD.Wait(envShutdownTimeout); werr != nil || c != 0 {
			if err == nil {
				err = fmt.Errorf("load: fxd exit %d %v", c, werr)
			}
			e.FXD.Kill()
		}
	}
	if e.Sim != nil {
		e.Sim.Kill()
	}
	return err
}
