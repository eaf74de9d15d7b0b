package load

import (
	"sync/atomic"
	"time"
)

// Schedule is the open-loop timetable: request n is due at Start + n/Rate,
// whatever happened to requests before it. Workers take tickets with Next;
// a worker that gets its ticket late (every worker was busy waiting for
// answers) sends at once, and the latency it records is measured from the
// due time, not from the late send. That is the coordinated-omission
// correction: a stall of the system under test shows up as the latency the
// queued-up customers would have seen, instead of silently lowering the
// offered load (wrk2 and HdrHistogram's recordCorrectedValue do the same).
//
// The timetable is pure arithmetic over an atomic counter; it never reads a
// clock, so tests can check it without timing.
type Schedule struct {
	start    time.Time
	interval float64 // nanoseconds between due times
	end      time.Time
	next     atomic.Uint64
}

// NewSchedule returns the timetable of rate requests per second from start;
// no request is due at or after end.
func NewSchedule(start time.Time, rate float64, end time.Time) *Schedule {
	return &Schedule{start: start, interval: float64(time.Second) / rate, end: end}
}

// At is the due time of ticket n.
func (s *Schedule) At(n uint64) time.Time {
	return s.start.Add(time.Duration(float64(n) * s.interval))
}

// Next hands out the next ticket and its due time; ok is false once the
// due time is at or past the end of the run. Safe for concurrent use: each
// ticket goes to exactly one caller.
func (s *Schedule) Next() (n uint64, due time.Time, ok bool) {
	n = s.next.Add(1) - 1
	due = s.At(n)
	return n, due, due.Before(s.end)
}

// Issued is the number of tickets handed out so far (including the one
// that found the run over, if any).
func (s *Schedule) Issued() uint64 { return s.next.Load() }

// Expected is how many requests the timetable holds in all.
func (s *Schedule) Expected() uint64 {
	d := s.end.Sub(s.start)
	if d <= 0 {
		return 0
	}
	n := uint64(float64(d) / s.interval)
	// Due times strictly before end only.
	for n > 0 && !s.At(n-1).Before(s.end) {
		n--
	}
	for s.At(n).Before(s.end) {
		n++
	}
	return n
}
