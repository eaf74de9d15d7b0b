package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/fxswitch/fxswitch/ipc"
)

// Result is the outcome of a run; it is what `fxbench --json` prints.
type Result struct {
	Mode        string  `json:"mode"` // "switch" (through fxd) or "direct" (fxsim only)
	Center      string  `json:"center"`
	Sessions    int     `json:"sessions"`
	Conns       int     `json:"conns"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"` // 0: closed loop
	Mix         string  `json:"mix"`
	DurationS   float64 `json:"duration_s"` // requested
	ElapsedS    float64 `json:"elapsed_s"`  // first send to last answer

	TPS    float64 `json:"tps"` // answered by the center (ok) per second of ElapsedS
	P50Us  int64   `json:"p50_us"`
	P90Us  int64   `json:"p90_us"`
	P99Us  int64   `json:"p99_us"`
	P999Us int64   `json:"p999_us"`
	MaxUs  int64   `json:"max_us"`
	MeanUs float64 `json:"mean_us"`

	Sent      int64            `json:"sent"`
	OK        int64            `json:"ok"` // approved + declined + cancelled
	Approved  int64            `json:"approved"`
	Declined  int64            `json:"declined"`
	Cancelled int64            `json:"cancelled"`
	Errors    int64            `json:"errors"`
	ErrorKind map[string]int64 `json:"error_kinds,omitempty"`
	Ops       map[string]int64 `json:"ops"` // requests sent per operation
	// CancelAsSale counts cancels the mix drew when the worker had no
	// approved sale left to cancel; they were sent as sales.
	CancelAsSale  int64 `json:"cancel_as_sale"`
	KeysExhausted bool  `json:"keys_exhausted"`
	// LateTickets (open loop) counts requests sent after their due time
	// because every worker was busy; their latency includes the wait.
	LateTickets int64 `json:"late_tickets,omitempty"`

	// TPSSeries is the answered rate of each progress tick.
	TPSSeries []float64 `json:"tps_series"`
	// Percentiles of the latency curve, µs by percentile ("50", "99.9", ...).
	Curve map[string]int64 `json:"latency_curve_us"`

	// Procs are the watched processes at the end of the run.
	Procs map[string]ProcStats `json:"procs,omitempty"`
	// FXDRSSKB and FXDPeakRSSKB repeat Procs["fxd"] for scripts.
	FXDRSSKB     int64 `json:"fxd_rss_kb,omitempty"`
	FXDPeakRSSKB int64 `json:"fxd_peak_rss_kb,omitempty"`

	GOMAXPROCS int     `json:"gomaxprocs"`
	NumCPU     int     `json:"num_cpu"`
	LoadCPUS   float64 `json:"fxbench_cpu_s"` // CPU time of this load generator during the run
}

// ProcStats is one watched process over the run.
type ProcStats struct {
	PID       int     `json:"pid"`
	RSSKB     int64   `json:"rss_kb"`      // VmRSS at the end of the run
	PeakRSSKB int64   `json:"peak_rss_kb"` // VmHWM: the process's high-water mark
	CPUS      float64 `json:"cpu_s"`       // CPU seconds used during the run
}

var curvePercentiles = []float64{50, 75, 90, 95, 99, 99.9, 99.99, 100}

// txn is one request a worker sends.
type txn struct {
	op     ipc.Op
	ref    string // app reference (switch mode)
	amount int64
	orig   *original // cancel: what is cancelled
}

// original is an approved sale a later cancel may name: its app reference
// (switch mode) or the fields the center matches a cancel with (direct).
type original struct {
	ref    string
	key    uint32   // STAN / 通番
	de7    [10]byte // CARDNET transmission date and time
	amount int64
}

// answer is a target's reply to one txn.
type answer struct {
	out  outcome
	orig original // filled for an approved sale
}

// worker sends one request at a time for its session.
type worker interface {
	do(ctx context.Context, t *txn) (answer, error)
}

// target is fxd or the simulator, prepared for a run.
type target interface {
	worker(i int) worker
	close() error
}

// errStopWorker wraps errors after which a worker sends nothing more
// (matching keys exhausted).
var errStopWorker = errors.New("load: worker stops")

// Run prepares the target, drives it for o.Duration and returns the figures.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	mix, _ := ParseMix(o.Mix)
	var (
		t   target
		err error
	)
	if o.Direct {
		t, err = newDirect(ctx, &o)
	} else {
		t, err = newSwitch(ctx, &o)
	}
	if err != nil {
		return nil, err
	}
	defer t.close()
	return drive(ctx, &o, mix, t)
}

// drive runs the workers against a prepared target.
func drive(ctx context.Context, o *Options, mix *Mix, t target) (*Result, error) {
	nw := o.Sessions * o.Concurrency
	rec := newRecorder(nw)
	procs := newProcWatch(o.Procs)
	selfStart, _ := readProc(os.Getpid())

	start := time.Now()
	end := start.Add(o.Duration)
	var sched *Schedule
	if o.Rate > 0 {
		sched = NewSchedule(start, o.Rate, end)
	}
	rctx, cancel := context.WithDeadline(ctx, end.Add(o.Grace))
	defer cancel()
	refs := newRefSource(start)

	tickDone := make(chan struct{})
	tickStop := make(chan struct{})
	var series []float64
	go func() {
		defer close(tickDone)
		series = progress(o, rec, procs, start, tickStop)
	}()

	var wg sync.WaitGroup
	for i := 0; i < nw; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			runWorker(rctx, o, i, t.worker(i), mix, sched, end, rec, refs)
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(tickStop)
	<-tickDone
	selfEnd, _ := readProc(os.Getpid())
	return result(o, mix, rec, procs, elapsed, series, selfEnd.cpu-selfStart.cpu), nil
}

// runWorker is one worker's loop; every path ends by end (plus Grace for
// the request in flight).
func runWorker(ctx context.Context, o *Options, id int, w worker, mix *Mix, sched *Schedule, end time.Time,
	rec *recorder, refs *refSource) {
	rng := rand.New(rand.NewPCG(o.Seed, uint64(id)))
	// Approved sales this worker may cancel, newest last; bounded.
	const maxOriginals = 64
	var originals []original
	var tx txn
	var timer *time.Timer
	if sched != nil {
		timer = time.NewTimer(time.Hour)
		timer.Stop()
		defer timer.Stop()
	}
	for ctx.Err() == nil {
		var due time.Time
		if sched != nil {
			_, d, ok := sched.Next()
			if !ok {
				return
			}
			due = d
			if wait := time.Until(due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			} else if wait < -time.Millisecond {
				rec.lateTickets.Add(1)
			}
		} else {
			due = time.Now()
			if !due.Before(end) {
				return
			}
		}
		tx = txn{op: mix.Pick(rng.Uint64()), amount: amountOf(rng)}
		if tx.op == ipc.OpCancel {
			if len(originals) == 0 {
				tx.op = ipc.OpSale
				rec.cancelAsSale.Add(1)
			} else {
				orig := originals[len(originals)-1]
				originals = originals[:len(originals)-1]
				tx.orig = &orig
				tx.amount = orig.amount
			}
		}
		tx.ref = refs.next()
		rec.op(tx.op)
		rec.inflight.Add(1)
		ans, err := w.do(ctx, &tx)
		rec.inflight.Add(-1)
		if err != nil {
			if errors.Is(err, ErrKeysExhausted) {
				// The business date's budget is spent: the run ends here. The
				// request never reached a center, so it is neither sent nor
				// an error; KeysExhausted says the run ended early.
				rec.keysExhausted.Store(true)
				rec.unsend(tx.op)
				return
			}
			if errors.Is(err, errStopWorker) || ctx.Err() != nil {
				rec.fail(errorKind(err))
				return
			}
			rec.fail(errorKind(err))
			continue
		}
		rec.done(id, time.Since(due), ans.out)
		if ans.out == outApproved && tx.op == ipc.OpSale {
			if len(originals) == maxOriginals {
				copy(originals, originals[1:])
				originals = originals[:maxOriginals-1]
			}
			originals = append(originals, ans.orig)
		}
	}
}

// amountOf draws an amount in minor units that the simulator's default
// rules approve: multiples of 100 from 100 to 999,900 never end in 51.
func amountOf(rng *rand.Rand) int64 { return int64(1+rng.IntN(9999)) * 100 }

// errorKind names an error for the error table: the IPC code, or the text.
func errorKind(err error) string {
	var ie *ipc.Error
	if errors.As(err, &ie) {
		return "ipc " + strconv.Itoa(int(ie.Code)) + " " + ie.Code.String()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "no answer within duration + grace"
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// progress prints a line per tick until stop; it returns the TPS series.
func progress(o *Options, rec *recorder, procs *procWatch, start time.Time, stop <-chan struct{}) []float64 {
	tk := time.NewTicker(o.Tick)
	defer tk.Stop()
	h := hdrhistogram.New(histMinUs, histMaxUs, histDigits)
	var series []float64
	last := start
	for {
		select {
		case <-stop:
			return series
		case now := <-tk.C:
			rec.takeTick(h)
			tps := float64(h.TotalCount()) / now.Sub(last).Seconds()
			last = now
			series = append(series, tps)
			procs.sample()
			if o.Progress != nil {
				line := fmt.Sprintf("fxbench %5.1fs  tps %8.0f  p50 %s  p99 %s  errors %d  in flight %d",
					now.Sub(start).Seconds(), tps, fmtUs(h.ValueAtQuantile(50)), fmtUs(h.ValueAtQuantile(99)),
					rec.errs.Load(), rec.inflight.Load())
				if rss, ok := procs.rss("fxd"); ok {
					line += fmt.Sprintf("  fxd rss %d MB", rss/1024)
				}
				fmt.Fprintln(o.Progress, line)
			}
		}
	}
}

func fmtUs(us int64) string {
	if us >= 10_000 {
		return fmt.Sprintf("%6.1fms", float64(us)/1000)
	}
	if us >= 1000 {
		return fmt.Sprintf("%6.2fms", float64(us)/1000)
	}
	return fmt.Sprintf("%6dus", us)
}

func result(o *Options, mix *Mix, rec *recorder, procs *procWatch, elapsed time.Duration, series []float64, selfCPU time.Duration) *Result {
	h := rec.total()
	r := &Result{
		Mode: "switch", Center: o.Center, Sessions: o.Sessions, Conns: o.Conns, Concurrency: o.Concurrency,
		Rate: o.Rate, Mix: mix.String(), DurationS: o.Duration.Seconds(), ElapsedS: elapsed.Seconds(),
		P50Us: h.ValueAtQuantile(50), P90Us: h.ValueAtQuantile(90), P99Us: h.ValueAtQuantile(99),
		P999Us: h.ValueAtQuantile(99.9), MaxUs: h.Max(), MeanUs: h.Mean(),
		Sent: rec.sent.Load(), OK: rec.ok.Load(), Approved: rec.approved.Load(), Declined: rec.declined.Load(),
		Cancelled: rec.cancelled.Load(), Errors: rec.errs.Load(), ErrorKind: rec.errorKinds(),
		Ops: map[string]int64{}, CancelAsSale: rec.cancelAsSale.Load(), KeysExhausted: rec.keysExhausted.Load(),
		LateTickets: rec.lateTickets.Load(), TPSSeries: series, Curve: map[string]int64{},
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), LoadCPUS: selfCPU.Seconds(),
	}
	if o.Direct {
		r.Mode = "direct"
	}
	if elapsed > 0 {
		r.TPS = float64(r.OK) / elapsed.Seconds()
	}
	for op := range rec.ops {
		if n := rec.ops[op].Load(); n > 0 {
			r.Ops[ipc.Op(op).String()] = n
		}
	}
	for _, p := range curvePercentiles {
		r.Curve[strconv.FormatFloat(p, 'f', -1, 64)] = h.ValueAtQuantile(p)
	}
	if len(r.ErrorKind) == 0 {
		r.ErrorKind = nil
	}
	r.Procs = procs.stats()
	if f, ok := r.Procs["fxd"]; ok {
		r.FXDRSSKB, r.FXDPeakRSSKB = f.RSSKB, f.PeakRSSKB
	}
	return r
}

// procWatch samples watched processes.
type procWatch struct {
	mu    sync.Mutex
	names []string
	pids  map[string]int
	first map[string]procSample
	last  map[string]procSample
	peak  map[string]int64
}

func newProcWatch(pids map[string]int) *procWatch {
	w := &procWatch{pids: pids, first: map[string]procSample{}, last: map[string]procSample{}, peak: map[string]int64{}}
	for name := range pids {
		w.names = append(w.names, name)
	}
	sort.Strings(w.names)
	for _, name := range w.names {
		if s, ok := readProc(pids[name]); ok {
			w.first[name], w.last[name], w.peak[name] = s, s, s.rssKB
		}
	}
	return w
}

func (w *procWatch) sample() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, name := range w.names {
		if s, ok := readProc(w.pids[name]); ok {
			w.last[name] = s
			w.peak[name] = max(w.peak[name], s.rssKB, s.hwmKB)
		}
	}
}

func (w *procWatch) rss(name string) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.last[name]
	return s.rssKB, ok
}

func (w *procWatch) stats() map[string]ProcStats {
	w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.last) == 0 {
		return nil
	}
	m := map[string]ProcStats{}
	for name, s := range w.last {
		m[name] = ProcStats{PID: w.pids[name], RSSKB: s.rssKB, PeakRSSKB: w.peak[name],
			CPUS: (s.cpu - w.first[name].cpu).Seconds()}
	}
	return m
}
