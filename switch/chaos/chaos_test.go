package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/switch/e2e"
)

// Environment of the chaos test.
const (
	EnvIterations = "FXSWITCH_CHAOS_ITERATIONS" // iterations (default 5)
	EnvSeed       = "FXSWITCH_CHAOS_SEED"       // replay one iteration's seed
)

func TestChaos(t *testing.T) {
	iters := 5
	if s := os.Getenv(EnvIterations); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", EnvIterations, s)
		}
		iters = n
	}
	base := uint64(time.Now().UnixNano())
	replay := os.Getenv(EnvSeed)
	if replay != "" {
		n, err := strconv.ParseUint(replay, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a number", EnvSeed, replay)
		}
		base, iters = n, 1
	}
	binDir := t.TempDir()
	ctx := context.Background()
	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	bins, err := e2e.Build(bctx, binDir)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	var total Report
	start := time.Now()
	for i := 0; i < iters; i++ {
		seed := base + uint64(i)
		fmt.Printf("chaos iteration %d/%d seed %d (replay: %s=%d)\n", i+1, iters, seed, EnvSeed, seed)
		dir := t.TempDir()
		rep, err := Iteration(ctx, Options{Bins: bins, Dir: dir, Seed: seed, Log: os.Stdout})
		if rep != nil {
			total.Kills += rep.Kills
			total.ForcedShutdowns += rep.ForcedShutdowns
			total.RecoveryKills += rep.RecoveryKills
			total.Recovered.InFlight += rep.Recovered.InFlight
			total.Recovered.Cancelled += rep.Recovered.Cancelled
			total.Recovered.Stood += rep.Recovered.Stood
			total.Recovered.AdvicesResent += rep.Recovered.AdvicesResent
			total.Messages += rep.Messages
		}
		if err != nil {
			keep(t, dir, seed)
			if rep != nil {
				for j, v := range rep.Violations {
					if j == 30 {
						t.Errorf("... %d more", len(rep.Violations)-30)
						break
					}
					t.Error(v)
				}
			}
			if errors.Is(err, ErrViolation) {
				t.Fatalf("seed %d: %v\nreplay: %s=%d go test ./switch/chaos -run TestChaos -v", seed, err, EnvSeed, seed)
			}
			t.Fatalf("seed %d: %v\nreplay: %s=%d go test ./switch/chaos -run TestChaos -v", seed, err, EnvSeed, seed)
		}
	}
	fmt.Printf("chaos: %d iterations in %v: %d kill -9, %d shutdown --force, %d kills during recovery; recovery settled %d in-flight messages (%d cancelled, %d stood, %d advices resent); %d center messages; 0 violations\n",
		iters, time.Since(start).Round(time.Second), total.Kills, total.ForcedShutdowns, total.RecoveryKills,
		total.Recovered.InFlight, total.Recovered.Cancelled, total.Recovered.Stood, total.Recovered.AdvicesResent, total.Messages)
}

// keep copies a failed iteration's logs, config, faults and journal.
func keep(t *testing.T, dir string, seed uint64) {
	dst := filepath.Join(os.TempDir(), "fxswitch-chaos-failed", strconv.FormatUint(seed, 10))
	_ = os.RemoveAll(dst)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			_ = os.WriteFile(filepath.Join(dst, filepath.Base(p)), b, 0o644)
		}
	}
	t.Logf("seed %d: logs, faults and journal kept in %s (%s)", seed, dst, strings.Join(files, " "))
}
