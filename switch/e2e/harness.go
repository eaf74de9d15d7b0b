package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fxswitch/fxswitch/bench/spawn"
	"github.com/fxswitch/fxswitch/ctl"
	"github.com/fxswitch/fxswitch/sim/journal"
)

// Errors of the harness. Every error it returns wraps one of them.
var (
	// ErrOptions: Options.Validate refused the options.
	ErrOptions = errors.New("e2e: invalid options")
	// ErrProcess: a program did not start, exited early or would not stop.
	ErrProcess = errors.New("e2e: process")
	// ErrCtl: fxctl exited non-zero or printed what it should not.
	ErrCtl = errors.New("e2e: fxctl")
)

// Environment variables read by the harness.
const (
	// EnvRace builds fxd, fxsim and fxctl with -race when set to 1.
	EnvRace = "FXSWITCH_E2E_RACE"
	// EnvBinDir names a directory holding already built fxd, fxsim and
	// fxctl; Build then uses them as they are (e.g. a release build).
	EnvBinDir = "FXSWITCH_BIN_DIR"
)

var (
	buildOnce sync.Once
	buildBins *spawn.Binaries
	buildErr  error
)

// Build compiles fxd, fxsim and fxctl once per test binary into dir and
// returns the same binaries to every later caller. With FXSWITCH_BIN_DIR
// set it uses the binaries there instead.
func Build(ctx context.Context, dir string) (*spawn.Binaries, error) {
	buildOnce.Do(func() {
		if pre := os.Getenv(EnvBinDir); pre != "" {
			buildBins = &spawn.Binaries{Dir: pre, FXD: filepath.Join(pre, "fxd"), FXSim: filepath.Join(pre, "fxsim"), FXCtl: filepath.Join(pre, "fxctl")}
			for _, p := range []string{buildBins.FXD, buildBins.FXSim, buildBins.FXCtl} {
				if _, err := os.Stat(p); err != nil {
					buildErr = fmt.Errorf("%w: %s: %v", ErrProcess, EnvBinDir, err)
				}
			}
			return
		}
		buildBins, buildErr = spawn.Build(ctx, dir, os.Getenv(EnvRace) == "1")
	})
	return buildBins, buildErr
}

// Options describe one world: a simulator playing both centers and one fxd
// in a directory of their own.
type Options struct {
	Bins *spawn.Binaries // required
	Dir  string          // required: data, sockets, logs, journal
	// SimSeed is fxsim's --seed (fault decisions).
	SimSeed uint64
	// SimArgs are extra fxsim flags (e.g. --cutover-every 2s).
	SimArgs []string
	// Faults is the content of fxsim's --faults file (YAML); "" for none.
	Faults string
	// Centers are the centers fxd hosts, in configuration order (default both).
	Centers []string
	// CenterYAML holds extra keys per center for fxd.yaml, in flow style
	// without braces, e.g. "timeout: 1s, cancel_retry: 200ms".
	CenterYAML map[string]string
	// CardnetLines is the number of lines fxd opens to CARDNET (default 2).
	CardnetLines int
	// StartTimeout bounds the start of each program (default 30s).
	StartTimeout time.Duration
}

// EnsureDefaults fills unset fields.
func (o *Options) EnsureDefaults() {
	if len(o.Centers) == 0 {
		o.Centers = []string{"cardnet", "cafis"}
	}
	if o.CardnetLines == 0 {
		o.CardnetLines = 2
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.SimSeed == 0 {
		o.SimSeed = 1
	}
}

// Validate checks the options after EnsureDefaults.
func (o *Options) Validate() error {
	switch {
	case o.Bins == nil:
		return fmt.Errorf("%w: Bins is required", ErrOptions)
	case o.Dir == "":
		return fmt.Errorf("%w: Dir is required", ErrOptions)
	case o.CardnetLines < 1 || o.CardnetLines > 64:
		return fmt.Errorf("%w: CardnetLines %d not in 1..64", ErrOptions, o.CardnetLines)
	}
	for _, c := range o.Centers {
		if c != "cardnet" && c != "cafis" {
			return fmt.Errorf("%w: unknown center %q", ErrOptions, c)
		}
	}
	return nil
}

// World is a running fxsim plus (while started) one fxd.
type World struct {
	Opts    Options
	Sim     *spawn.Proc
	FXD     *spawn.Proc
	Journal string // fxsim's journal file
	Config  string // fxd.yaml
	IPCSock string // fxd's application socket
	CtlSock string // fxd's control socket
	starts  int
}

// NewWorld starts fxsim and writes fxd.yaml; StartFXD starts the daemon.
func NewWorld(ctx context.Context, o Options) (*World, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProcess, err)
	}
	w := &World{Opts: o, Journal: filepath.Join(o.Dir, "journal.jsonl"), Config: filepath.Join(o.Dir, "fxd.yaml")}
	args := []string{"--cardnet", "127.0.0.1:0", "--cafis", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--journal", w.Journal, "--seed", fmt.Sprint(o.SimSeed),
		// fxd starts on today's date by its clock; the centers must agree.
		"--date", time.Now().Format("20060102")}
	if o.Faults != "" {
		fp := filepath.Join(o.Dir, "faults.yaml")
		if err := os.WriteFile(fp, []byte(o.Faults), 0o600); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrProcess, err)
		}
		args = append(args, "--faults", fp)
	}
	args = append(args, o.SimArgs...)
	sim, err := spawn.Start(ctx, "fxsim", o.Bins.FXSim, o.Dir, filepath.Join(o.Dir, "fxsim.log"),
		[]string{"cardnet", "cafis", "http"}, o.StartTimeout, args...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProcess, err)
	}
	w.Sim = sim
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %s\nipc: {unix: fxd.sock, tcp: \"\"}\nctl: {unix: ctl.sock}\nlog: {format: text, level: info}\ncenters:\n",
		filepath.Join(o.Dir, "data"))
	for _, c := range o.Centers {
		var lines []string
		n := 1
		if c == "cardnet" {
			n = o.CardnetLines
		}
		for i := 0; i < n; i++ {
			lines = append(lines, fmt.Sprintf("%q", sim.Addrs[c]))
		}
		extra := o.CenterYAML[c]
		if extra != "" {
			extra = ", " + extra
		}
		fmt.Fprintf(&b, "  %s: {lines: [%s]%s}\n", c, strings.Join(lines, ", "), extra)
	}
	if err := os.WriteFile(w.Config, []byte(b.String()), 0o600); err != nil {
		sim.Kill()
		return nil, fmt.Errorf("%w: %v", ErrProcess, err)
	}
	return w, nil
}

// StartFXD starts the daemon (again, after a stop or a kill) on the same
// data directory. Each start logs to its own file fxd.N.log.
func (w *World) StartFXD(ctx context.Context) error {
	w.starts++
	p, err := spawn.Start(ctx, "fxd", w.Opts.Bins.FXD, w.Opts.Dir, filepath.Join(w.Opts.Dir, fmt.Sprintf("fxd.%d.log", w.starts)),
		[]string{"ipc-unix", "ctl"}, w.Opts.StartTimeout, "--config", w.Config)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrProcess, err)
	}
	w.FXD = p
	w.IPCSock, w.CtlSock = p.Addrs["ipc-unix"], p.Addrs["ctl"]
	return nil
}

// KillFXD sends SIGKILL to fxd (kill -9) and waits for it to be gone.
func (w *World) KillFXD() {
	if w.FXD != nil {
		w.FXD.Kill()
	}
}

// Close kills whatever still runs and lets fxsim write its end-of-day
// records (SIGTERM, then SIGKILL after 10 s).
func (w *World) Close() {
	w.KillFXD()
	w.StopSim()
}

// StopSim stops fxsim with SIGTERM so that its journal is complete.
func (w *World) StopSim() {
	if w.Sim == nil {
		return
	}
	select {
	case <-w.Sim.Done():
		return
	default:
	}
	_ = w.Sim.Signal(syscall.SIGTERM)
	if _, err := w.Sim.Wait(10 * time.Second); err != nil {
		w.Sim.Kill()
	}
}

// CtlError is a failed fxctl run.
type CtlError struct {
	Args   []string
	Code   int
	Stdout string
	Stderr string
}

func (e *CtlError) Error() string {
	return fmt.Sprintf("e2e: fxctl %s: exit %d: %s%s", strings.Join(e.Args, " "), e.Code, strings.TrimSpace(e.Stderr), strings.TrimSpace(e.Stdout))
}

// Unwrap makes errors.Is(err, ErrCtl) hold.
func (e *CtlError) Unwrap() error { return ErrCtl }

// Ctl runs fxctl against the world's daemon and returns its stdout; a
// non-zero exit is a *CtlError (with the stdout, which --json fills on
// failures too).
func (w *World) Ctl(ctx context.Context, args ...string) (string, error) {
	full := append(append([]string(nil), args...), "--socket", w.CtlSock)
	stdout, stderr, code, err := spawn.Run(ctx, w.Opts.Bins.FXCtl, full...)
	if err != nil {
		return stdout, fmt.Errorf("%w: %s: %v", ErrCtl, strings.Join(args, " "), err)
	}
	if code != 0 {
		return stdout, &CtlError{Args: args, Code: code, Stdout: stdout, Stderr: stderr}
	}
	return stdout, nil
}

// CtlJSON runs fxctl with --json and decodes its output into v (also when
// fxctl failed, so that a caller can look at what it reported).
func (w *World) CtlJSON(ctx context.Context, v any, args ...string) error {
	out, err := w.Ctl(ctx, append(args, "--json")...)
	if out != "" {
		if jerr := json.Unmarshal([]byte(out), v); jerr != nil && err == nil {
			return fmt.Errorf("%w: %s: output %q: %v", ErrCtl, strings.Join(args, " "), out, jerr)
		}
	}
	return err
}

// Totals reads `fxctl totals --center c --date d --json`.
func (w *World) Totals(ctx context.Context, center, date string) (ctl.TotalsRow, error) {
	var tr struct {
		Totals []ctl.TotalsRow `json:"totals"`
	}
	if err := w.CtlJSON(ctx, &tr, "totals", "--center", center, "--date", date); err != nil {
		return ctl.TotalsRow{}, err
	}
	if len(tr.Totals) != 1 {
		return ctl.TotalsRow{}, fmt.Errorf("%w: totals %s %s: %d rows", ErrCtl, center, date, len(tr.Totals))
	}
	return tr.Totals[0], nil
}

// Status reads `fxctl status --json`.
func (w *World) Status(ctx context.Context) (*ctl.Status, error) {
	var st ctl.Status
	if err := w.CtlJSON(ctx, &st, "status"); err != nil {
		return nil, err
	}
	return &st, nil
}

// Recovery runs `fxctl recovery --center c --json` and returns the report;
// an error unless the center reports done.
func (w *World) Recovery(ctx context.Context, center string) (*ctl.RecoveryReport, error) {
	var out struct {
		Results []struct {
			Center   string              `json:"center"`
			OK       bool                `json:"ok"`
			Recovery *ctl.RecoveryReport `json:"recovery"`
		} `json:"results"`
	}
	if err := w.CtlJSON(ctx, &out, "recovery", "--center", center); err != nil {
		return nil, err
	}
	if len(out.Results) != 1 || out.Results[0].Recovery == nil || !out.Results[0].Recovery.Done {
		return nil, fmt.Errorf("%w: recovery %s not reported done: %+v", ErrCtl, center, out.Results)
	}
	return out.Results[0].Recovery, nil
}

// Cutreq runs `fxctl cutreq --center c --json`.
func (w *World) Cutreq(ctx context.Context, center string) (*ctl.CutoverResult, error) {
	var res ctl.CutoverResult
	if err := w.CtlJSON(ctx, &res, "cutreq", "--center", center); err != nil {
		return &res, err
	}
	return &res, nil
}

// ReadJournal reads fxsim's journal as it is now (a torn last line is
// ignored, so it may be read while fxsim runs).
func (w *World) ReadJournal() (*journal.View, error) { return journal.Read(w.Journal) }

// WaitIdle polls `fxctl status` until no center has anything in flight or
// queued as an advice, or the timeout passes.
func (w *World) WaitIdle(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := w.Status(ctx)
		if err != nil {
			return err
		}
		busy := 0
		for _, c := range st.Centers {
			busy += c.InFlight + c.AdviceDepth
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: still %d in flight or queued after %v", ErrProcess, busy, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
