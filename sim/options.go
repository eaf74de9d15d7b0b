package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/fxswitch/fxswitch/switch/mac"
)

// Sentinel errors, testable with errors.Is.
var (
	ErrInvalidOptions = errors.New("sim: invalid options")
	ErrInvalidFaults  = errors.New("sim: invalid faults")
	ErrInvalidRules   = errors.New("sim: invalid rules")
	ErrUnknownCenter  = errors.New("sim: unknown center")
	ErrNotRunning     = errors.New("sim: center not running")
	ErrNotSignedOn    = errors.New("sim: no signed-on line")
	ErrClosed         = errors.New("sim: closed")
	ErrStarted        = errors.New("sim: already started")
	ErrBadDate        = errors.New("sim: invalid business date")
	ErrCutoverTimeout = errors.New("sim: cutover not answered")
)

// Center names, as used on the command line, in the journal and over HTTP.
const (
	CenterCardnet = "cardnet"
	CenterCafis   = "cafis"
)

// Clock is the simulator's source of time (injected so tests can pin the
// business date and journal times).
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// WallClock is the real clock.
var WallClock Clock = wallClock{}

// Options configure a Sim. The zero value plus one address is usable.
type Options struct {
	// CardnetAddr and CafisAddr are TCP listen addresses ("127.0.0.1:0" picks
	// a port); an empty address does not run that center.
	CardnetAddr string
	CafisAddr   string
	// HTTPAddr is the control endpoint's listen address; empty: none.
	HTTPAddr string
	// JournalPath is the JSONL journal file; empty: no journal.
	JournalPath string
	// JournalQueueLen bounds the records waiting for the journal writer.
	JournalQueueLen int
	// Seed makes fault decisions reproducible.
	Seed int64
	// Date is the initial business date YYYYMMDD of both centers; empty: the clock's date.
	Date string
	// CutoverEvery is the CARDNET timed cutover period; 0 disables it.
	CutoverEvery time.Duration
	// CutoverAt runs the CARDNET cutover once a day at this clock time
	// ("HH:MM", the clock's time zone); exclusive with CutoverEvery.
	CutoverAt string
	// CutoverAnswerTimeout is how long a center-initiated cutover waits for its 0810.
	CutoverAnswerTimeout time.Duration
	// Faults are the initial fault rules.
	Faults FaultSet
	// Rules decide approvals; zero value: DefaultRules().
	Rules *Rules
	// Clock is the time source; nil: WallClock.
	Clock Clock
	// EventLoops per center (gnet event loops); 0: 2.
	EventLoops int
	// MaxFrameBytes bounds one inbound frame; a longer one closes the line.
	MaxFrameBytes int
	// MaxLines bounds the line connections per center; more are refused.
	MaxLines int
	// MaxTransactions bounds the transactions each center remembers for
	// matching and deduplication (about 250 bytes each); beyond it, new
	// requests are answered with a system error (CARDNET 96, CAFIS 096) and
	// not counted. Default 8M.
	MaxTransactions int
	// RetainDates is how many business dates before the current one keep
	// their transactions for matching; older ones are forgotten at cutover.
	RetainDates int
	// MACKey, when set, makes the CARDNET center sign every message it sends
	// (DE128, package switch/mac) and refuse every inbound message without
	// a valid DE128: not processed, not answered, journaled (event bad_mac)
	// and counted (Stats). nil: DE128 is neither checked nor sent.
	MACKey *mac.Key
}

// EnsureDefaults fills zero fields with defaults.
func (o *Options) EnsureDefaults() {
	if o.Clock == nil {
		o.Clock = WallClock
	}
	if o.Date == "" {
		o.Date = o.Clock.Now().Format("20060102")
	}
	if o.Rules == nil {
		r := DefaultRules()
		o.Rules = &r
	}
	if o.EventLoops == 0 {
		o.EventLoops = 2
	}
	if o.MaxFrameBytes == 0 {
		o.MaxFrameBytes = 8192
	}
	if o.MaxLines == 0 {
		o.MaxLines = 256
	}
	if o.MaxTransactions == 0 {
		o.MaxTransactions = 8 << 20
	}
	if o.RetainDates == 0 {
		o.RetainDates = 2
	}
	if o.CutoverAnswerTimeout == 0 {
		o.CutoverAnswerTimeout = 5 * time.Second
	}
	if o.JournalQueueLen == 0 {
		o.JournalQueueLen = 65536
	}
}

// Validate checks the options after EnsureDefaults.
func (o *Options) Validate() error {
	if o.CardnetAddr == "" && o.CafisAddr == "" {
		return fmt.Errorf("%w: neither a CARDNET nor a CAFIS address", ErrInvalidOptions)
	}
	if _, err := parseDate(o.Date); err != nil {
		return fmt.Errorf("%w: date: %w", ErrInvalidOptions, err)
	}
	if o.CutoverEvery < 0 || (o.CutoverEvery > 0 && o.CutoverEvery < 10*time.Millisecond) {
		return fmt.Errorf("%w: cutover period %v (0 or ≥10ms)", ErrInvalidOptions, o.CutoverEvery)
	}
	if o.CutoverAt != "" {
		if o.CutoverEvery != 0 {
			return fmt.Errorf("%w: cutover period and cutover time both set", ErrInvalidOptions)
		}
		if _, _, err := parseHHMM(o.CutoverAt); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
		}
	}
	if o.CutoverAnswerTimeout < 0 {
		return fmt.Errorf("%w: cutover answer timeout %v", ErrInvalidOptions, o.CutoverAnswerTimeout)
	}
	if o.EventLoops < 1 || o.EventLoops > 64 {
		return fmt.Errorf("%w: event loops %d out of [1, 64]", ErrInvalidOptions, o.EventLoops)
	}
	if o.MaxFrameBytes < 64 || o.MaxFrameBytes > 65535 {
		return fmt.Errorf("%w: max frame %d out of [64, 65535]", ErrInvalidOptions, o.MaxFrameBytes)
	}
	if o.MaxLines < 1 || o.MaxLines > 65536 {
		return fmt.Errorf("%w: max lines %d out of [1, 65536]", ErrInvalidOptions, o.MaxLines)
	}
	if o.MaxTransactions < 1 {
		return fmt.Errorf("%w: max transactions %d", ErrInvalidOptions, o.MaxTransactions)
	}
	if o.RetainDates < 1 || o.RetainDates > 366 {
		return fmt.Errorf("%w: retain dates %d out of [1, 366]", ErrInvalidOptions, o.RetainDates)
	}
	if o.JournalQueueLen < 1 || o.JournalQueueLen > 1<<24 {
		return fmt.Errorf("%w: journal queue %d out of [1, 16M]", ErrInvalidOptions, o.JournalQueueLen)
	}
	if err := o.Rules.Validate(); err != nil {
		return err
	}
	return o.Faults.Validate()
}

// parseDate parses a business date YYYYMMDD.
func parseDate(s string) (time.Time, error) {
	if len(s) != 8 {
		return time.Time{}, fmt.Errorf("%w: %q (want YYYYMMDD)", ErrBadDate, s)
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadDate, s)
	}
	return t, nil
}

// dateFromMMDD expands a DE15 MMDD to the full date nearest to ref (within
// half a year), which is how a settlement date crosses a year end.
func dateFromMMDD(mmdd string, ref time.Time) (string, error) {
	if len(mmdd) != 4 {
		return "", fmt.Errorf("%w: DE15 %q", ErrBadDate, mmdd)
	}
	best := ""
	var bestDist time.Duration
	for dy := -1; dy <= 1; dy++ {
		s := fmt.Sprintf("%04d%s", ref.Year()+dy, mmdd)
		t, err := time.Parse("20060102", s)
		if err != nil {
			continue
		}
		d := t.Sub(ref)
		if d < 0 {
			d = -d
		}
		if best == "" || d < bestDist {
			best, bestDist = s, d
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w: DE15 %q", ErrBadDate, mmdd)
	}
	return best, nil
}

// nextDate returns the business date after d.
func nextDate(d string) string {
	t, err := parseDate(d)
	if err != nil {
		return d
	}
	return t.AddDate(0, 0, 1).Format("20060102")
}

// parseHHMM parses a clock time "HH:MM".
func parseHHMM(s string) (hh, mm int, err error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, 0, fmt.Errorf("cutover time %q (want HH:MM)", s)
	}
	return t.Hour(), t.Minute(), nil
}

// nextAt is the first moment after now whose clock time is hh:mm.
func nextAt(now time.Time, hh, mm int) time.Time {
	t := time.Date(now.Year(), now.Month(), now.Day(), hh, mm, 0, 0, now.Location())
	if !t.After(now) {
		t = time.Date(now.Year(), now.Month(), now.Day()+1, hh, mm, 0, 0, now.Location())
	}
	return t
}
