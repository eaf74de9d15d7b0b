package load

import (
	"context"
	"fmt"
	"time"
)

// RecoveryResult is one crash-and-recover measurement: traffic for a while,
// fxd killed with SIGKILL while requests are in flight, then restarted,
// signed on and recovered, as an operator would after a power cut.
type RecoveryResult struct {
	LoadS     float64 `json:"load_s"`     // seconds of traffic before the crash
	Answered  int64   `json:"answered"`   // transactions answered before the crash
	DataBytes int64   `json:"data_bytes"` // fxd's data directory at restart
	RestartS  float64 `json:"restart_s"`  // fxd start until listening (WAL open, state restored)
	RecoveryS float64 `json:"recovery_s"` // fxctl recovery of the loaded center
	InFlight  int     `json:"in_flight"`  // messages recovery had to settle
	Cancelled int     `json:"cancelled"`
	Stood     int     `json:"stood"`
	Done      bool    `json:"done"`
}

// CrashRecovery drives env's fxd with o for loadFor, kills it just before
// the end, restarts it and times the restart and the recovery of o.Center.
func CrashRecovery(ctx context.Context, env *Env, o Options, loadFor time.Duration) (*RecoveryResult, error) {
	if env.FXD == nil {
		return nil, fmt.Errorf("%w: crash recovery needs fxd", ErrOptions)
	}
	o.Direct = false
	o.Network, o.Addr = env.IPCNetwork, env.IPCAddr
	o.EnsureDefaults()
	o.Duration = loadFor
	o.Grace = 2 * time.Second
	type ran struct {
		r   *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		r, err := Run(ctx, o)
		done <- ran{r, err}
	}()
	// Kill while the workers still have requests outstanding.
	select {
	case <-time.After(max(loadFor-200*time.Millisecond, 0)):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	env.Crash()
	res := <-done
	if res.err != nil {
		return nil, res.err
	}
	out := &RecoveryResult{LoadS: loadFor.Seconds(), Answered: res.r.OK, DataBytes: env.WALBytes()}
	took, err := env.Restart(ctx)
	if err != nil {
		return nil, err
	}
	out.RestartS = took.Seconds()
	for _, c := range []string{CenterCardnet, CenterCafis} {
		if err := env.Signon(ctx, c); err != nil {
			return nil, err
		}
	}
	rep, took, err := env.Recover(ctx, o.Center)
	if err != nil {
		return nil, err
	}
	out.RecoveryS = took.Seconds()
	out.InFlight, out.Cancelled, out.Stood, out.Done = rep.InFlight, rep.Cancelled, rep.Stood, rep.Done
	for _, c := range []string{CenterCardnet, CenterCafis} {
		if c != o.Center {
			if _, _, err := env.Recover(ctx, c); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
