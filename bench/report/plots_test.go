package main

import (
	"image"
	_ "image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/bench/load"
)

func TestWritePlots(t *testing.T) {
	res := func(tps float64, p50us int64, seconds int) *load.Result {
		r := &load.Result{TPS: tps, Curve: map[string]int64{}}
		for i, p := range []string{"50", "75", "90", "95", "99", "99.9", "99.99", "100"} {
			r.Curve[p] = p50us << i
		}
		for s := 0; s < seconds; s++ {
			r.TPSSeries = append(r.TPSSeries, tps*(0.9+0.02*float64(s%5)))
		}
		return r
	}
	sc := scenarios(true)
	runs := []outcome{{sc: sc[0], res: res(70000, 3000, 8)}, {sc: sc[1], res: res(200000, 400, 4)},
		{sc: sc[2], res: res(50000, 300, 8)}, {sc: sc[3], res: res(5000, 0, 8)}, {sc: sc[4], err: errFailed}}
	curves := plotCurves(runs)
	if len(curves) != 4 || curves[0].name != "switch" || curves[3].name != "sessions10k" {
		t.Fatalf("curves %v", curves)
	}
	dir := filepath.Join(t.TempDir(), "plots")
	if err := writePlots(dir, curves, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{latencyPNG, tpsPNG} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if format != "png" || cfg.Width < 600 || cfg.Width > 3000 || cfg.Height < 400 || cfg.Height > 2000 {
			t.Errorf("%s: %s %dx%d", name, format, cfg.Width, cfg.Height)
		}
	}
	if err := writePlots(t.TempDir(), nil, time.Second); err == nil {
		t.Error("no runs: no error")
	}
}

func TestRelLink(t *testing.T) {
	for _, c := range [][3]string{
		{"bench/RESULTS.md", "bench/plots", "plots"},
		{"RESULTS.md", "out/p", "out/p"},
		{"bench/RESULTS.md", "plots", "../plots"},
	} {
		if got := relLink(c[0], c[1]); got != c[2] {
			t.Errorf("relLink(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
