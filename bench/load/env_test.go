package load

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A crash under load leaves requests in flight; after a restart, recovery
// settles every one of them, and the environment still shuts down cleanly.
func TestCrashRecovery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := StartEnv(ctx, EnvOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	r, err := CrashRecovery(ctx, env, Options{Sessions: 4, Conns: 2, Concurrency: 8}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Answered == 0 || r.DataBytes == 0 || r.RestartS <= 0 || !r.Done {
		t.Fatalf("%+v", r)
	}
	if r.Cancelled+r.Stood != r.InFlight {
		t.Errorf("recovery settled %d cancelled + %d stood of %d in flight", r.Cancelled, r.Stood, r.InFlight)
	}
	if err := env.Close(); err != nil {
		t.Fatalf("clean shutdown after recovery: %v", err)
	}
	env.FXD, env.Sim = nil, nil
}

func TestEnvOptionsValidate(t *testing.T) {
	for _, o := range []EnvOptions{{}, {Dir: "d", Lines: 65}, {Dir: "d", Network: "udp"}, {Dir: "d", MaxInFlightPerSession: -1}} {
		o.EnsureDefaults()
		if err := o.Validate(); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v, want ErrOptions", o, err)
		}
		if _, err := StartEnv(context.Background(), o); !errors.Is(err, ErrOptions) {
			t.Errorf("StartEnv(%+v): %v, want ErrOptions", o, err)
		}
	}
}
