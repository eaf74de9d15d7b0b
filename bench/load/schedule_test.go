package load

import (
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func TestScheduleTimetable(t *testing.T) {
	s := NewSchedule(t0, 50_000, t0.Add(time.Second))
	for _, c := range []struct {
		n    uint64
		want time.Duration
	}{{0, 0}, {1, 20 * time.Microsecond}, {50, time.Millisecond}, {49_999, time.Second - 20*time.Microsecond}} {
		if got := s.At(c.n).Sub(t0); got != c.want {
			t.Errorf("At(%d) = start+%v, want start+%v", c.n, got, c.want)
		}
	}
	if got := s.Expected(); got != 50_000 {
		t.Errorf("Expected = %d, want 50000", got)
	}
	// Tickets come in order, evenly spaced, and stop at the end.
	var prev time.Time
	var issued uint64
	for {
		n, due, ok := s.Next()
		if !ok {
			if due.Before(t0.Add(time.Second)) {
				t.Fatalf("ticket %d refused but due %v before the end", n, due)
			}
			break
		}
		if n != issued {
			t.Fatalf("ticket %d, want %d", n, issued)
		}
		if n > 0 && due.Sub(prev) != 20*time.Microsecond {
			t.Fatalf("ticket %d: spacing %v", n, due.Sub(prev))
		}
		prev = due
		issued++
	}
	if issued != 50_000 {
		t.Errorf("issued %d tickets before the end, want 50000", issued)
	}
}

func TestScheduleFractionalRate(t *testing.T) {
	// 3 per second: due times at 0, 333.33ms, 666.67ms; the fourth is at the end.
	s := NewSchedule(t0, 3, t0.Add(time.Second))
	if got := s.Expected(); got != 3 {
		t.Errorf("Expected = %d, want 3", got)
	}
	if got := s.At(2).Sub(t0); got != 666_666_666*time.Nanosecond {
		t.Errorf("At(2) = %v", got)
	}
	if s.At(1).Sub(t0) != time.Second/3 {
		t.Errorf("At(1) = %v", s.At(1).Sub(t0))
	}
	if s := NewSchedule(t0, 1000, t0); s.Expected() != 0 {
		t.Errorf("empty window: Expected = %d", s.Expected())
	}
}

// Concurrent takers get every ticket exactly once, and together they take
// exactly the timetable's tickets: the schedule, not the number of workers,
// decides the offered load.
func TestScheduleConcurrentTickets(t *testing.T) {
	s := NewSchedule(t0, 100_000, t0.Add(100*time.Millisecond))
	const workers = 16
	seen := make([][]uint64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				n, _, ok := s.Next()
				if !ok {
					return
				}
				seen[w] = append(seen[w], n)
			}
		}(w)
	}
	wg.Wait()
	got := make([]bool, s.Expected())
	total := 0
	for _, ns := range seen {
		for _, n := range ns {
			if n >= uint64(len(got)) || got[n] {
				t.Fatalf("ticket %d out of range or handed out twice", n)
			}
			got[n] = true
			total++
		}
	}
	if total != len(got) || total != 10_000 {
		t.Fatalf("took %d tickets, timetable holds %d (want 10000)", total, len(got))
	}
	if s.Issued() != uint64(total+workers) {
		t.Errorf("Issued = %d, want %d (one refused ticket per worker)", s.Issued(), total+workers)
	}
}
