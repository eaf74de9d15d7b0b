package sim

import (
	"errors"
	"testing"
	"time"
)

func TestRules(t *testing.T) {
	r, err := LoadRules(writeFile(t, "rules.yaml", `
amount_suffix: {"151": "61", "51": "51", "99": "05"}
blocked_pans: ["5555555555554444"]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pan    string
		amount int64
		want   string
	}{
		{testPAN, 1000, "00"},
		{testPAN, 51, "51"},
		{testPAN, 2051, "51"},
		{testPAN, 1151, "61"}, // the longest suffix wins
		{testPAN, 99, "05"},
		{"5555555555554444", 1000, "05"}, // blocked_code keeps its default
		{DefaultBlockedPAN, 1000, "00"},  // the file replaced the default list
	} {
		if got := r.Decide(tc.pan, tc.amount); got != tc.want {
			t.Errorf("%s %d: %s, want %s", tc.pan, tc.amount, got, tc.want)
		}
	}
	// A present key replaces its default: no amount rule at all.
	none, err := LoadRules(writeFile(t, "none.yaml", "amount_suffix: {}\n"))
	if err != nil || none.Decide(testPAN, 51) != "00" || none.Decide(DefaultBlockedPAN, 1) != "05" {
		t.Fatalf("empty amount_suffix: %v", err)
	}
	for _, bad := range []string{
		`amount_suffix: {"5x": "51"}`,
		`amount_suffix: {"51": "00"}`,
		`amount_suffix: {"51": "5"}`,
		`blocked_pans: ["123"]`,
		`blocked_code: "0"`,
		`amount_suffix: [`,
	} {
		if _, err := LoadRules(writeFile(t, "bad.yaml", bad)); !errors.Is(err, ErrInvalidRules) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, err := LoadRules("/nonexistent/rules.yaml"); !errors.Is(err, ErrInvalidRules) {
		t.Errorf("missing file: %v", err)
	}
	// Options reject bad rules as well.
	bad := Rules{AmountSuffix: map[string]string{"": "51"}}
	if _, err := New(Options{CafisAddr: "127.0.0.1:0", Rules: &bad}); !errors.Is(err, ErrInvalidRules) {
		t.Errorf("New with bad rules: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for name, o := range map[string]Options{
		"no center":     {},
		"bad date":      {CafisAddr: "x", Date: "20261340"},
		"short cutover": {CafisAddr: "x", CutoverEvery: 1},
		"event loops":   {CafisAddr: "x", EventLoops: 100},
		"frame":         {CafisAddr: "x", MaxFrameBytes: 10},
		"lines":         {CafisAddr: "x", MaxLines: -1},
		"retain":        {CafisAddr: "x", RetainDates: 1000},
	} {
		if _, err := New(o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New(Options{CafisAddr: "x", Faults: FaultSet{Faults: []Fault{{Action: "boom"}}}}); !errors.Is(err, ErrInvalidFaults) {
		t.Errorf("faults: %v", err)
	}
	// A center not running answers with ErrNotRunning, an unknown one with ErrUnknownCenter.
	s, err := New(Options{CafisAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Totals(CenterCardnet, testDate); !errors.Is(err, ErrNotRunning) {
		t.Errorf("totals of a center not run: %v", err)
	}
	if _, err := s.BusinessDate("visa"); !errors.Is(err, ErrUnknownCenter) {
		t.Errorf("unknown center: %v", err)
	}
	if _, err := s.TriggerCutover(t.Context()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("cutover before start: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, ErrStarted) {
		t.Errorf("second start: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second close: %v", err)
	}
}

func TestStartFailsOnBusyAddress(t *testing.T) {
	a := startSim(t, nil)
	b, err := New(Options{CafisAddr: a.CafisAddr()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err == nil {
		t.Fatal("second listener on the same address started")
	}
}

func TestCutoverAt(t *testing.T) {
	loc := time.FixedZone("JST", 9*3600)
	now := time.Date(2026, 11, 23, 23, 30, 0, 0, loc)
	if got := nextAt(now, 23, 59); !got.Equal(time.Date(2026, 11, 23, 23, 59, 0, 0, loc)) {
		t.Errorf("later today: %v", got)
	}
	if got := nextAt(now, 0, 5); !got.Equal(time.Date(2026, 11, 24, 0, 5, 0, 0, loc)) {
		t.Errorf("tomorrow: %v", got)
	}
	if got := nextAt(time.Date(2026, 12, 31, 12, 0, 0, 0, loc), 12, 0); !got.Equal(time.Date(2027, 1, 1, 12, 0, 0, 0, loc)) {
		t.Errorf("exactly now moves to the next day: %v", got)
	}
	for _, bad := range []string{"24:00", "7:00", "12:60", "noon"} {
		if _, err := New(Options{CardnetAddr: "x", CutoverAt: bad}); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := New(Options{CardnetAddr: "x", CutoverAt: "23:59", CutoverEvery: time.Hour}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("both set: %v", err)
	}
}
