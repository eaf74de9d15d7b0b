package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/fxswitch/fxswitch/bench/spawn"
	"github.com/fxswitch/fxswitch/ctl"
	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
	"github.com/fxswitch/fxswitch/switch/e2e"
)

// Errors of the chaos run.
var (
	// ErrOptions: Options.Validate refused the options.
	ErrOptions = errors.New("chaos: invalid options")
	// ErrViolation: an invariant did not hold; Report.Violations says which.
	ErrViolation = errors.New("chaos: invariant violated")
	// ErrStep: a step of the procedure failed (start, signon, recovery,
	// cutover, shutdown); the error names it.
	ErrStep = errors.New("chaos: step failed")
)

// Centers driven by every iteration, in configuration order.
var Centers = []string{"cardnet", "cafis"}

// Options of one iteration.
type Options struct {
	Bins *spawn.Binaries // required
	Dir  string          // required: the iteration's directory
	Seed uint64          // decides faults, traffic, crash moments and kinds
	// MaxCrashes bounds the crashes per iteration (default 2; at least 1 is drawn).
	MaxCrashes int
	// Phase is the longest traffic phase before a crash (default 2s).
	Phase time.Duration
	// Sessions per center and requests outstanding per session (default 2, 4).
	Sessions, Concurrency int
	// Timeout bounds the whole iteration (default 2m).
	Timeout time.Duration
	// Log receives a line per step; nil: discarded.
	Log io.Writer
}

// EnsureDefaults fills unset fields.
func (o *Options) EnsureDefaults() {
	if o.MaxCrashes == 0 {
		o.MaxCrashes = 2
	}
	if o.Phase == 0 {
		o.Phase = 2 * time.Second
	}
	if o.Sessions == 0 {
		o.Sessions = 2
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Validate checks the options after EnsureDefaults.
func (o *Options) Validate() error {
	switch {
	case o.Bins == nil || o.Dir == "":
		return fmt.Errorf("%w: Bins and Dir are required", ErrOptions)
	case o.MaxCrashes < 1 || o.MaxCrashes > 10:
		return fmt.Errorf("%w: MaxCrashes %d not in 1..10", ErrOptions, o.MaxCrashes)
	case o.Phase < 200*time.Millisecond || o.Phase > time.Minute:
		return fmt.Errorf("%w: Phase %v not in 200ms..1m", ErrOptions, o.Phase)
	case o.Sessions < 1 || o.Sessions > 64 || o.Concurrency < 1 || o.Concurrency > 64:
		return fmt.Errorf("%w: Sessions and Concurrency must be in 1..64", ErrOptions)
	}
	return nil
}

// Report is what one iteration did and found.
type Report struct {
	Seed            uint64
	ReversalAdvice  bool // CARDNET cancel_mode: advice (0420/0421)
	Kills           int  // kill -9 of fxd
	ForcedShutdowns int  // fxctl shutdown --force
	RecoveryKills   int  // kill -9 during recovery (I6)
	Recovered       ctl.RecoveryReport
	Counts          map[string]int // the ledger's counts
	Messages        int            // messages in the center's journal
	Faults          string         // the faults file fxsim ran with
	Violations      []string
}

// Faults draws the faults file of an iteration: delays, lost answers,
// duplicates, late answers after the timeout, lost cancels (so that they
// are repeated) and occasional line disconnects, on both centers.
//
// With reversalAdvice (CARDNET cancel_mode: advice) the 0420 reversal
// advices lose answers too, so that they are repeated as 0421.
func Faults(rng *rand.Rand, reversalAdvice bool) string {
	r := func(lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }
	var b strings.Builder
	b.WriteString("faults:\n")
	add := func(center, kind, action string, rate float64, extra string) {
		fmt.Fprintf(&b, "  - {center: %s, kind: %q, action: %s, rate: %.4f%s}\n", center, kind, action, rate, extra)
	}
	for _, c := range Centers {
		req, cancel := "0200", "0400"
		if c == "cafis" {
			req, cancel = "0100", "0300"
		}
		add(c, req, "drop_response", r(0.005, 0.02), "")
		add(c, req, "late", r(0.005, 0.02), ", delay_ms: 1100")
		add(c, req, "duplicate", r(0.01, 0.05), "")
		add(c, cancel, "drop_response", r(0.1, 0.3), "")
		add(c, req, "disconnect", r(0.0005, 0.002), "")
		add(c, "", "delay", r(0.02, 0.1), ", delay_ms: 20, max_delay_ms: 300")
	}
	if rng.IntN(2) == 0 {
		add("cardnet", "0100", "drop_request", r(0.005, 0.02), "")
	}
	if reversalAdvice {
		add("cardnet", "0420", "drop_response", r(0.1, 0.3), "")
	}
	return b.String()
}

// fxd's settings under chaos: short timeouts so that the cancel paths run
// often, fast reconnects, and a bounded drain.
const centerYAML = "timeout: 800ms, cancel_retry: 200ms, reconnect_min: 50ms, reconnect_max: 400ms, drain_timeout: 10s, echo_interval: 1s"

// Iteration runs one seeded iteration: fxsim with faults, fxd, signon,
// traffic from several sessions on both centers, a crash of fxd at a
// random moment (kill -9 or shutdown --force; sometimes again during the
// recovery that follows), restart, signon, OpenSession refused until
// `fxctl recovery` reports done, traffic again; after the last crash
// traffic without faults' interference of the daemon, inquiries for every
// outcome an app did not learn, cutover and reconciliation of both
// centers, clean shutdown, then the checks of package e2e against the
// center's journal. A violated invariant is ErrViolation with the report.
func Iteration(ctx context.Context, o Options) (*Report, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	rng := rand.New(rand.NewPCG(o.Seed, 0x6368616f73))
	// CARDNET timeouts are cancelled by 0400 system cancels, or in one
	// iteration of three by 0420 reversal advices (store-and-forward).
	reversalAdvice := rng.IntN(3) == 0
	rep := &Report{Seed: o.Seed, ReversalAdvice: reversalAdvice, Faults: Faults(rng, reversalAdvice)}
	logf := func(format string, args ...any) {
		fmt.Fprintf(o.Log, "seed %d: "+format+"\n", append([]any{o.Seed}, args...)...)
	}
	yaml := map[string]string{}
	for _, c := range Centers {
		yaml[c] = centerYAML
	}
	if reversalAdvice {
		yaml["cardnet"] += ", cancel_mode: advice"
	}
	w, err := e2e.NewWorld(ctx, e2e.Options{Bins: o.Bins, Dir: o.Dir, SimSeed: o.Seed%1_000_000 + 1, Faults: rep.Faults,
		Centers: Centers, CenterYAML: yaml})
	if err != nil {
		return rep, fmt.Errorf("%w: %v", ErrStep, err)
	}
	defer w.Close()
	step := func(what string, err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%w: %s: %v", ErrStep, what, err)
	}
	if err := step("start fxd", w.StartFXD(ctx)); err != nil {
		return rep, err
	}
	if _, err := w.Ctl(ctx, "signon"); err != nil {
		return rep, step("signon", err)
	}
	l := e2e.NewLedger()
	crashes := 1 + rng.IntN(o.MaxCrashes)
	for phase := 0; phase <= crashes; phase++ {
		last := phase == crashes
		dur := o.Phase/2 + time.Duration(rng.Int64N(int64(o.Phase/2)))
		var trs []*e2e.Traffic
		for i, c := range Centers {
			tr, err := e2e.StartTraffic(ctx, e2e.TrafficOptions{Sock: w.IPCSock, Center: c, Sessions: o.Sessions,
				Concurrency: o.Concurrency, Duration: dur, Seed: rng.Uint64(), Prefix: fmt.Sprintf("p%d%c", phase, 'a'+i),
				Advice: c == "cardnet", RequestTimeout: 20 * time.Second, Ledger: l})
			if err != nil {
				for _, t := range trs {
					t.Abort()
					_ = t.Wait()
				}
				return rep, step(fmt.Sprintf("phase %d: traffic %s", phase, c), err)
			}
			trs = append(trs, tr)
		}
		if !last {
			// The crash, at a random moment of the phase.
			time.Sleep(time.Duration(rng.Int64N(int64(dur))))
			if rng.IntN(3) == 0 {
				logf("phase %d: fxctl shutdown --force", phase)
				if _, err := w.Ctl(ctx, "shutdown", "--force"); err != nil {
					return rep, step("shutdown --force", err)
				}
				if _, err := w.FXD.Wait(15 * time.Second); err != nil {
					return rep, step("shutdown --force exit", err)
				}
				rep.ForcedShutdowns++
			} else {
				logf("phase %d: kill -9 fxd", phase)
				w.KillFXD()
				rep.Kills++
			}
		}
		for _, t := range trs {
			if err := t.Wait(); err != nil {
				return rep, step("traffic", err)
			}
		}
		if last {
			break
		}
		if err := restart(ctx, w, rng, rep, logf); err != nil {
			return rep, err
		}
	}
	// Every app that was not told a final outcome asks for it, as a
	// restarted app would.
	if err := e2e.Resolve(ctx, w.IPCSock, l, 60*time.Second); err != nil {
		return rep, step("inquiries", err)
	}
	if err := w.WaitIdle(ctx, 60*time.Second); err != nil {
		return rep, step("drain", err)
	}
	var bad []string
	for _, c := range Centers {
		res, err := w.Cutreq(ctx, c)
		if err != nil {
			bad = append(bad, fmt.Sprintf("cutreq %s: %v", c, err))
			continue
		}
		if c == "cardnet" && (res.Reconciliation == nil || res.Reconciliation.Result != ctl.ReconcileInBalance) {
			bad = append(bad, fmt.Sprintf("cardnet reconciliation of %s: %+v", res.ClosedDate, res.Reconciliation))
		}
	}
	v, err := w.ReadJournal()
	if err != nil {
		return rep, step("journal", err)
	}
	ours, err := e2e.CollectTotals(ctx, w, v, l)
	if err != nil {
		return rep, step("totals", err)
	}
	if _, err := w.Ctl(ctx, "shutdown"); err != nil {
		return rep, step("shutdown", err)
	}
	if code, err := w.FXD.Wait(40 * time.Second); err != nil || code != 0 {
		return rep, step("clean shutdown", fmt.Errorf("exit %d, %v", code, err))
	}
	w.StopSim()
	if v, err = w.ReadJournal(); err != nil {
		return rep, step("journal", err)
	}
	bad = append(bad, e2e.CheckOutcomes(v, l)...)
	bad = append(bad, e2e.CompareTotals(ours, v)...)
	rep.Counts = l.Counts()
	rep.Messages = v.Messages
	rep.Violations = bad
	logf("cancel_mode advice %v; %d kills, %d forced shutdowns, %d kills during recovery; recovery settled %d in flight (%d cancelled, %d stood, %d advices); %v; %d violations",
		rep.ReversalAdvice, rep.Kills, rep.ForcedShutdowns, rep.RecoveryKills, rep.Recovered.InFlight, rep.Recovered.Cancelled, rep.Recovered.Stood,
		rep.Recovered.AdvicesResent, rep.Counts, len(bad))
	if len(bad) > 0 {
		return rep, fmt.Errorf("%w: %d violations, first: %s", ErrViolation, len(bad), bad[0])
	}
	return rep, nil
}

// restart brings fxd back after a crash: start, signon, check that
// business is blocked, recovery (sometimes crashing again in the middle of
// it, then recovering again), check that business is open.
func restart(ctx context.Context, w *e2e.World, rng *rand.Rand, rep *Report, logf func(string, ...any)) error {
	start := func() error {
		if err := w.StartFXD(ctx); err != nil {
			return fmt.Errorf("%w: restart: %v", ErrStep, err)
		}
		if _, err := w.Ctl(ctx, "signon"); err != nil {
			return fmt.Errorf("%w: signon after restart: %v", ErrStep, err)
		}
		return nil
	}
	if err := start(); err != nil {
		return err
	}
	// I6: until recovery has finished, no session opens.
	if err := wantOpen(ctx, w, ipc.CodeRecoveryRequired); err != nil {
		return err
	}
	if rng.IntN(4) == 0 {
		// A crash during recovery: recovery must be safe to run again.
		center, after := Centers[rng.IntN(len(Centers))], time.Duration(20+rng.IntN(150))*time.Millisecond
		done := make(chan struct{})
		go func() {
			_, _ = w.Recovery(ctx, center)
			close(done)
		}()
		time.Sleep(after)
		w.KillFXD()
		<-done
		rep.RecoveryKills++
		logf("kill -9 fxd during recovery")
		if err := start(); err != nil {
			return err
		}
	}
	for _, c := range Centers {
		rr, err := w.Recovery(ctx, c)
		if err != nil {
			return fmt.Errorf("%w: recovery %s: %v", ErrStep, c, err)
		}
		rep.Recovered.InFlight += rr.InFlight
		rep.Recovered.Cancelled += rr.Cancelled
		rep.Recovered.Stood += rr.Stood
		rep.Recovered.AdvicesResent += rr.AdvicesResent
		// Idempotent: a second run finds nothing left and is done at once.
		if again, err := w.Recovery(ctx, c); err != nil || again.InFlight != 0 {
			return fmt.Errorf("%w: recovery %s run again: %+v, %v", ErrViolation, c, again, err)
		}
	}
	return wantOpen(ctx, w, 0)
}

// wantOpen opens a session on every center and expects code (0: success).
func wantOpen(ctx context.Context, w *e2e.World, code ipc.Code) error {
	cl, err := client.Dial(ctx, "unix", w.IPCSock)
	if err != nil {
		return fmt.Errorf("%w: dial: %v", ErrStep, err)
	}
	defer cl.Close()
	for _, c := range Centers {
		s, err := cl.OpenSession(ctx, c)
		var ie *ipc.Error
		switch {
		case code == 0 && err != nil:
			return fmt.Errorf("%w: open session %s after recovery: %v", ErrViolation, c, err)
		case code == 0:
			_ = s.CloseSession(ctx)
		case err == nil:
			return fmt.Errorf("%w: session on %s opened before recovery (want code %d)", ErrViolation, c, code)
		case !errors.As(err, &ie) || ie.Code != code:
			return fmt.Errorf("%w: open session %s before recovery: %v, want code %d", ErrViolation, c, err, code)
		}
	}
	return nil
}
