package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/bench/load"
	"github.com/fxswitch/fxswitch/bench/spawn"
)

// build builds fxd, fxsim, fxctl and fxbench into one directory, so
// that `fxbench --spawn` finds its programs beside itself.
func build(t *testing.T) *spawn.Binaries {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bins, err := spawn.BuildBench(ctx, filepath.Join(t.TempDir(), "bin"), false)
	if err != nil {
		t.Fatal(err)
	}
	return bins
}

func runFXBench(t *testing.T, bin string, args ...string) *load.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("fxbench %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var r load.Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("fxbench --json output %q: %v", stdout.String(), err)
	}
	if !strings.Contains(stderr.String(), "tps") {
		t.Errorf("no progress line on stderr:\n%s", stderr.String())
	}
	return &r
}

func TestSpawnEndToEnd(t *testing.T) {
	bins := build(t)
	t.Run("switch", func(t *testing.T) {
		r := runFXBench(t, bins.FXBench, "--spawn", "--duration", "2s", "--json", "--sessions", "8", "--conns", "2", "--concurrency", "8")
		if r.Mode != "switch" || r.OK == 0 || r.Errors != 0 {
			t.Fatalf("mode %s ok %d errors %d %v", r.Mode, r.OK, r.Errors, r.ErrorKind)
		}
		if r.FXDRSSKB == 0 || r.Procs["fxd"].PID == 0 {
			t.Errorf("fxd RSS not measured: %+v", r.Procs)
		}
	})
	t.Run("direct", func(t *testing.T) {
		r := runFXBench(t, bins.FXBench, "--spawn", "--direct", "--duration", "2s", "--json", "--sessions", "8", "--conns", "2", "--concurrency", "8")
		if r.Mode != "direct" || r.OK == 0 || r.Errors != 0 {
			t.Fatalf("mode %s ok %d errors %d %v", r.Mode, r.OK, r.Errors, r.ErrorKind)
		}
	})
	t.Run("cafis open loop", func(t *testing.T) {
		r := runFXBench(t, bins.FXBench, "--spawn", "--center", "cafis", "--rate", "500", "--duration", "2s", "--json", "--sessions", "4", "--conns", "2")
		if r.OK == 0 || r.Errors != 0 || r.Rate != 500 {
			t.Fatalf("ok %d errors %d rate %v %v", r.OK, r.Errors, r.Rate, r.ErrorKind)
		}
		if r.Sent > 1000 {
			t.Errorf("open loop at 500 TPS for 2s sent %d", r.Sent)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--spawn", "--socket", "x"},
		{"--direct"},
		{},
		{"--socket", "a", "--addr", "b"},
		{"--bogus"},
		{"--socket", "a", "extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("fxbench %q: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--socket", "/nonexistent/fxd.sock", "--duration", "1s", "--quiet"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "setup failed") {
		t.Errorf("unreachable fxd: exit %d, stderr %q", code, errb.String())
	}
}
