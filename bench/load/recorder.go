package load

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/fxswitch/fxswitch/ipc"
)

// Latency range of the histograms: 1 µs to 60 s, 3 significant figures
// (a value is recorded within 0.1 %). Slower answers are clamped to 60 s.
const (
	histMinUs  = 1
	histMaxUs  = 60_000_000
	histDigits = 3
	// shards spread the histogram locks; a worker always uses the same one.
	maxShards = 64
	// maxErrorKinds bounds the distinct error texts kept (the rest are counted as "other").
	maxErrorKinds = 32
)

// shard holds the latencies recorded since the last progress tick; the
// tick moves them into the run's histogram, so a request costs one
// RecordValue, not two.
type shard struct {
	mu   sync.Mutex
	tick *hdrhistogram.Histogram
	_    [64]byte // keep neighbouring shards' locks off one cache line
}

// recorder collects outcomes and latencies from every worker.
type recorder struct {
	shards []shard

	sent, ok, errs                atomic.Int64
	approved, declined, cancelled atomic.Int64
	cancelAsSale                  atomic.Int64 // cancels drawn with nothing to cancel, sent as sales
	ops                           [8]atomic.Int64
	keysExhausted                 atomic.Bool
	inflight                      atomic.Int64
	lateTickets                   atomic.Int64 // open loop: tickets taken after their due time
	errMu                         sync.Mutex
	errKinds                      map[string]int64
	allMu                         sync.Mutex
	all                           *hdrhistogram.Histogram // every tick so far
}

func newRecorder(workers int) *recorder {
	n := min(max(workers, 1), maxShards)
	r := &recorder{shards: make([]shard, n), errKinds: map[string]int64{},
		all: hdrhistogram.New(histMinUs, histMaxUs, histDigits)}
	for i := range r.shards {
		r.shards[i].tick = hdrhistogram.New(histMinUs, histMaxUs, histDigits)
	}
	return r
}

// outcome is what one request came to.
type outcome uint8

const (
	outApproved outcome = iota + 1
	outDeclined
	outCancelled
)

// done records an answered request with its latency from its due time.
func (r *recorder) done(worker int, lat time.Duration, o outcome) {
	us := lat.Microseconds()
	us = min(max(us, histMinUs), histMaxUs)
	s := &r.shards[worker%len(r.shards)]
	s.mu.Lock()
	_ = s.tick.RecordValue(us)
	s.mu.Unlock()
	r.ok.Add(1)
	switch o {
	case outApproved:
		r.approved.Add(1)
	case outDeclined:
		r.declined.Add(1)
	case outCancelled:
		r.cancelled.Add(1)
	}
}

// fail records a request that did not come to an answer from the center.
func (r *recorder) fail(kind string) {
	r.errs.Add(1)
	r.errMu.Lock()
	if _, ok := r.errKinds[kind]; ok || len(r.errKinds) < maxErrorKinds {
		r.errKinds[kind]++
	} else {
		r.errKinds["other"]++
	}
	r.errMu.Unlock()
}

func (r *recorder) op(op ipc.Op) {
	r.sent.Add(1)
	if int(op) < len(r.ops) {
		r.ops[op].Add(1)
	}
}

// unsend takes back a request counted by op that never left.
func (r *recorder) unsend(op ipc.Op) {
	r.sent.Add(-1)
	if int(op) < len(r.ops) {
		r.ops[op].Add(-1)
	}
}

// takeTick moves the per-tick histograms into dst (reset first) and into
// the run's histogram.
func (r *recorder) takeTick(dst *hdrhistogram.Histogram) {
	dst.Reset()
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		dst.Merge(s.tick)
		s.tick.Reset()
		s.mu.Unlock()
	}
	r.allMu.Lock()
	r.all.Merge(dst)
	r.allMu.Unlock()
}

// total is the whole run's histogram: every tick taken so far plus what
// the shards hold now.
func (r *recorder) total() *hdrhistogram.Histogram {
	h := hdrhistogram.New(histMinUs, histMaxUs, histDigits)
	r.allMu.Lock()
	h.Merge(r.all)
	r.allMu.Unlock()
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		h.Merge(s.tick)
		s.mu.Unlock()
	}
	return h
}

func (r *recorder) errorKinds() map[string]int64 {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	m := make(map[string]int64, len(r.errKinds))
	for k, v := range r.errKinds {
		m[k] = v
	}
	return m
}

// procSample is what /proc says about a watched process.
type procSample struct {
	rssKB, hwmKB int64
	cpu          time.Duration // user + system
}

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// readProc reads VmRSS and VmHWM from /proc/PID/status and the CPU time
// from /proc/PID/stat.
func readProc(pid int) (procSample, bool) {
	var s procSample
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return s, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			s.rssKB = n
		case "VmHWM":
			s.hwmKB = n
		}
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		// The command name (field 2) may hold spaces; fields after ")" are fixed.
		if i := strings.LastIndexByte(string(b), ')'); i > 0 {
			f := strings.Fields(string(b[i+1:]))
			// f[0] is field 3 (state); utime is field 14, stime field 15.
			if len(f) > 12 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				s.cpu = time.Duration(ut+st) * time.Second / clockTicks
			}
		}
	}
	return s, true
}
