package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/fxswitch/fxswitch/bench/load"
)

// Plot files, written to the --plots directory and linked from the section.
const (
	latencyPNG = "latency.png"
	tpsPNG     = "tps.png"
)

// plotIDs are the scenarios drawn, in legend order.
var plotIDs = []string{"switch", "direct", "open50k", "sessions10k"}

// plotWidth and plotHeight give a 960×576 PNG (vgimg draws at 96 dpi).
const (
	plotWidth  = 10 * vg.Inch
	plotHeight = 6 * vg.Inch
)

// curve is one scenario's line: the median run of the repeated pairs, the
// only run of the others.
type curve struct {
	name string
	res  *load.Result
}

// plotCurves picks the runs to draw from runs.
func plotCurves(runs []outcome) []curve {
	var out []curve
	for _, id := range plotIDs {
		r, _ := median(runs, id)
		if r != nil {
			out = append(out, curve{id, r})
		}
	}
	return out
}

// writePlots renders latency.png and tps.png into dir (created if
// missing). tick is the interval of each TPSSeries entry.
func writePlots(dir string, curves []curve, tick time.Duration) error {
	if len(curves) == 0 {
		return errors.New("plots: no successful run to draw")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lat, err := latencyPlot(curves)
	if err != nil {
		return err
	}
	if err := lat.Save(plotWidth, plotHeight, filepath.Join(dir, latencyPNG)); err != nil {
		return fmt.Errorf("plots: %v", err)
	}
	tps, err := tpsPlot(curves, tick)
	if err != nil {
		return err
	}
	if err := tps.Save(plotWidth, plotHeight, filepath.Join(dir, tpsPNG)); err != nil {
		return fmt.Errorf("plots: %v", err)
	}
	return nil
}

// nines maps a percentile to the "nines" scale: 90 → 1, 99 → 2, 99.9 → 3.
func nines(p float64) float64 { return -math.Log10(1 - p/100) }

// curvePercentiles lists the percentiles of r's curve that the latency plot
// shows (50 to 99.99; 100 is the maximum, at infinity on this scale).
func curvePercentiles(r *load.Result) []float64 {
	var ps []float64
	for k := range r.Curve {
		p, err := strconv.ParseFloat(k, 64)
		if err == nil && p >= 50 && p < 100 {
			ps = append(ps, p)
		}
	}
	sort.Float64s(ps)
	return ps
}

// minLatencyMs keeps the logarithmic axis away from zero.
const minLatencyMs = 0.001

func latencyPlot(curves []curve) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "End-to-end latency by percentile"
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())

	lo, hi := math.Inf(1), math.Inf(-1)
	var xTicks []plot.Tick
	seen := map[float64]bool{}
	for i, c := range curves {
		ps := curvePercentiles(c.res)
		if len(ps) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(ps))
		for j, pc := range ps {
			ms := math.Max(float64(c.res.Curve[strconv.FormatFloat(pc, 'f', -1, 64)])/1000, minLatencyMs)
			xys[j] = plotter.XY{X: nines(pc), Y: ms}
			lo, hi = math.Min(lo, ms), math.Max(hi, ms)
			if !seen[pc] {
				seen[pc] = true
				xTicks = append(xTicks, plot.Tick{Value: nines(pc), Label: strconv.FormatFloat(pc, 'f', -1, 64)})
			}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("plots: %s: %v", c.name, err)
		}
		styleLine(line, i)
		points.Color = line.Color
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(c.name, line, points)
	}
	if len(xTicks) == 0 {
		return nil, errors.New("plots: no latency curve to draw")
	}
	sort.Slice(xTicks, func(i, j int) bool { return xTicks[i].Value < xTicks[j].Value })
	p.X.Tick.Marker = plot.ConstantTicks(xTicks)
	p.X.Min, p.X.Max = nines(50)-0.1, nines(99.99)+0.1
	// A quarter of the height above the highest point keeps the legend
	// (top left) clear of the lines.
	p.Y.Min = lo / 1.5
	p.Y.Max = hi * 1.5 * math.Pow(hi*1.5/p.Y.Min, 1.0/3)
	p.Y.Tick.Marker = oneTwoFive{}
	return p, nil
}

func tpsPlot(curves []curve, tick time.Duration) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Answered transactions per second"
	p.X.Label.Text = "seconds"
	p.Y.Label.Text = "TPS"
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	drawn, hi := 0, 0.0
	for i, c := range curves {
		if len(c.res.TPSSeries) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(c.res.TPSSeries))
		for j, v := range c.res.TPSSeries {
			xys[j] = plotter.XY{X: float64(j+1) * tick.Seconds(), Y: v}
			hi = math.Max(hi, v)
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("plots: %s: %v", c.name, err)
		}
		styleLine(line, i)
		p.Add(line)
		p.Legend.Add(c.name, line)
		drawn++
	}
	if drawn == 0 {
		return nil, errors.New("plots: no TPS series to draw")
	}
	p.X.Min = 0
	// Room above the lines for the legend (top left).
	p.Y.Max = math.Max(hi*1.35, 1)
	p.X.Tick.Marker = linearTicks{}
	p.Y.Tick.Marker = linearTicks{}
	return p, nil
}

func styleLine(l *plotter.Line, i int) {
	l.Color = plotutil.Color(i)
	l.Dashes = plotutil.Dashes(i)
	l.Width = vg.Points(1.5)
}

// oneTwoFive labels a logarithmic axis at 1, 2, 5, 10, 20, 50, ...
type oneTwoFive struct{}

func (oneTwoFive) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < min || v > max {
				continue
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
		}
	}
	return ticks
}

// linearTicks labels a linear axis about every sixth of its range at a
// 1, 2 or 5 × 10ⁿ step, as 120,000 rather than 1.2e+05.
type linearTicks struct{}

func (linearTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) {
		return []plot.Tick{{Value: min, Label: num(min)}}
	}
	raw := (max - min) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max+step/1e9; v += step {
		label := num(v)
		if step < 1 {
			label = strconv.FormatFloat(v, 'g', 6, 64)
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
	}
	return ticks
}
