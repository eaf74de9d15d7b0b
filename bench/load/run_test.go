package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/fxswitch/fxswitch/ipc"
)

// fakeCenter answers at once and checks what a real center would: a cancel
// must name an approved sale that was not cancelled before.
type fakeCenter struct {
	mu        sync.Mutex
	approved  map[string]bool // ref → still cancellable
	bad       []string
	perOp     map[ipc.Op]int
	failEvery int // every n-th request fails (0: never)
	n         int
}

func (f *fakeCenter) worker(int) worker { return f }
func (f *fakeCenter) close() error      { return nil }

func (f *fakeCenter) do(_ context.Context, t *txn) (answer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	f.perOp[t.op]++
	if f.failEvery > 0 && f.n%f.failEvery == 0 {
		return answer{}, &ipc.Error{Code: ipc.CodeBusy, Text: "busy"}
	}
	switch t.op {
	case ipc.OpCancel:
		if t.orig == nil || !f.approved[t.orig.ref] {
			f.bad = append(f.bad, fmt.Sprintf("cancel %s of %+v", t.ref, t.orig))
			return answer{out: outDeclined}, nil
		}
		f.approved[t.orig.ref] = false
		return answer{out: outCancelled}, nil
	case ipc.OpSale:
		f.approved[t.ref] = true
	}
	return answer{out: outApproved, orig: original{ref: t.ref, amount: t.amount}}, nil
}

func newFake() *fakeCenter {
	return &fakeCenter{approved: map[string]bool{}, perOp: map[ipc.Op]int{}}
}

func testOptions(o Options) *Options {
	o.Addr = "unused"
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		panic(err)
	}
	return &o
}

func TestDriveClosedLoop(t *testing.T) {
	f := newFake()
	o := testOptions(Options{Sessions: 3, Concurrency: 2, Conns: 1, Duration: 30 * time.Millisecond, Mix: "sale=5,cancel=5,refund=1,authorize=1"})
	mix, _ := ParseMix(o.Mix)
	r, err := drive(context.Background(), o, mix, f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent == 0 || r.OK != r.Sent || r.Errors != 0 {
		t.Fatalf("sent %d ok %d errors %d", r.Sent, r.OK, r.Errors)
	}
	if len(f.bad) > 0 {
		t.Fatalf("cancels of nothing cancellable: %v", f.bad[:min(3, len(f.bad))])
	}
	if r.Cancelled != int64(f.perOp[ipc.OpCancel]) || r.Ops["cancel"] != r.Cancelled {
		t.Errorf("cancelled %d, ops %v, center saw %d cancels", r.Cancelled, r.Ops, f.perOp[ipc.OpCancel])
	}
	if r.Approved+r.Cancelled != r.OK {
		t.Errorf("approved %d + cancelled %d != ok %d", r.Approved, r.Cancelled, r.OK)
	}
	var ops int64
	for _, n := range r.Ops {
		ops += n
	}
	if ops != r.Sent {
		t.Errorf("ops %v sum to %d, sent %d", r.Ops, ops, r.Sent)
	}
	if r.P50Us < 1 || r.P999Us < r.P50Us || r.Curve["100"] != r.MaxUs {
		t.Errorf("percentiles p50 %d p99.9 %d max %d curve %v", r.P50Us, r.P999Us, r.MaxUs, r.Curve)
	}
}

// Open loop sends exactly the timetable's requests, however fast the target.
func TestDriveOpenLoopSendsTheTimetable(t *testing.T) {
	f := newFake()
	o := testOptions(Options{Sessions: 4, Concurrency: 2, Conns: 1, Rate: 2000, Duration: 50 * time.Millisecond})
	mix, _ := ParseMix(o.Mix)
	r, err := drive(context.Background(), o, mix, f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 100 || r.OK != 100 {
		t.Fatalf("sent %d ok %d, want the timetable's 100", r.Sent, r.OK)
	}
}

func TestDriveCountsErrors(t *testing.T) {
	f := newFake()
	f.failEvery = 4
	o := testOptions(Options{Sessions: 1, Concurrency: 1, Conns: 1, Rate: 1000, Duration: 40 * time.Millisecond, Mix: "sale=1"})
	mix, _ := ParseMix(o.Mix)
	r, err := drive(context.Background(), o, mix, f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 40 || r.Errors != 10 || r.OK != 30 || r.ErrorKind["ipc 14 "+ipc.CodeBusy.String()] != 10 {
		t.Fatalf("sent %d ok %d errors %d kinds %v", r.Sent, r.OK, r.Errors, r.ErrorKind)
	}
}

func TestOptionsValidate(t *testing.T) {
	good := Options{Addr: "x"}
	good.EnsureDefaults()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, tweak := range map[string]func(*Options){
		"sessions":      func(o *Options) { o.Sessions = MaxSessions + 1 },
		"conns>sess":    func(o *Options) { o.Sessions, o.Conns = 2, 3 },
		"concurrency":   func(o *Options) { o.Concurrency = -1 },
		"workers":       func(o *Options) { o.Sessions, o.Concurrency = 100_000, 4096 },
		"rate":          func(o *Options) { o.Rate = -5 },
		"center":        func(o *Options) { o.Center = "visa" },
		"addr":          func(o *Options) { o.Addr = "" },
		"network":       func(o *Options) { o.Network = "udp" },
		"direct+unix":   func(o *Options) { o.Direct = true },
		"first key":     func(o *Options) { o.FirstKey = 1_000_000 },
		"mix":           func(o *Options) { o.Mix = "sale=x" },
		"duration":      func(o *Options) { o.Duration = 2 * MaxDuration },
		"merchant code": func(o *Options) { o.Merchant = "MERCHANT-CODE-TOO-LONG" },
	} {
		o := good
		tweak(&o)
		err := o.Validate()
		if !errors.Is(err, ErrOptions) && !errors.Is(err, ErrMix) {
			t.Errorf("%s: Validate = %v, want ErrOptions", name, err)
		}
	}
	if _, err := Run(context.Background(), Options{}); !errors.Is(err, ErrOptions) {
		t.Errorf("Run without a target: %v", err)
	}
}

// Every recorded latency ends in the run's histogram exactly once, however
// the progress ticks fall between the records.
func TestRecorderTicksLoseNothing(t *testing.T) {
	r := newRecorder(8)
	h := hdrhistogram.New(histMinUs, histMaxUs, histDigits)
	var ticked int64
	for i := 0; i < 1000; i++ {
		r.done(i%8, time.Duration(i+1)*time.Microsecond, outApproved)
		if i%137 == 0 {
			r.takeTick(h)
			ticked += h.TotalCount()
		}
	}
	tot := r.total()
	if tot.TotalCount() != 1000 || r.ok.Load() != 1000 || tot.Max() < 999 || tot.Min() != 1 {
		t.Fatalf("total %d (max %d, min %d), ok %d", tot.TotalCount(), tot.Max(), tot.Min(), r.ok.Load())
	}
	if ticked == 0 || ticked >= 1000 {
		t.Fatalf("ticks took %d", ticked)
	}
}
