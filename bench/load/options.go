package load

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Sentinel errors, testable with errors.Is.
var (
	// ErrOptions is wrapped by every Options.Validate error.
	ErrOptions = errors.New("load: invalid options")
	// ErrMix is wrapped by every ParseMix error.
	ErrMix = errors.New("load: invalid mix")
	// ErrSetup is wrapped when the target cannot be reached or prepared
	// (dial, session, signon).
	ErrSetup = errors.New("load: setup failed")
	// ErrKeysExhausted: the 999,999 STANs / 通番 of the business date are used up.
	ErrKeysExhausted = errors.New("load: matching keys exhausted for the business date")
)

// Centers a run may drive.
const (
	CenterCardnet = "cardnet"
	CenterCafis   = "cafis"
)

// Defaults. 64 sessions over 16 connections with 16 requests outstanding
// each is the shape PERF-NOTES found best for the transport on two cores.
const (
	DefaultSessions    = 64
	DefaultConns       = 16
	DefaultConcurrency = 16
	DefaultDuration    = 5 * time.Second
	DefaultGrace       = 10 * time.Second
	DefaultTick        = time.Second
	DefaultAcquirerID  = "00000000001"
	DefaultMerchant    = "FXBENCH000001"
)

// Limits on what one run may ask for: every worker is a goroutine and every
// outstanding request a slot, so both are bounded.
const (
	MaxSessions    = 100_000
	MaxConcurrency = 4096
	MaxWorkers     = 1 << 20
	MaxDuration    = time.Hour
	MaxRate        = 10_000_000
	maxKey         = 999_999 // 6-digit STAN / 通番
)

// Options of one run. The zero value plus a target address is usable.
type Options struct {
	// Sessions is the number of app sessions (switch mode); in direct mode
	// Sessions×Concurrency is the number of workers, the same load shape.
	Sessions int
	// Conns is the number of connections: IPC connections to fxd that the
	// sessions share (switch mode), or lines to the center (direct mode).
	Conns int
	// Concurrency is the number of requests outstanding per session.
	Concurrency int
	// Duration is how long requests are started. Answers to requests
	// still outstanding at the end are awaited for up to Grace.
	Duration time.Duration
	Grace    time.Duration
	// Rate is the open-loop target in requests per second for the whole
	// run; 0 runs closed loop (every worker sends its next request as soon
	// as the previous one is answered).
	Rate float64
	// Mix is the operation mix, ParseMix syntax; "" is DefaultMix.
	Mix string
	// Center is cardnet or cafis ("" is cardnet).
	Center string
	// Direct drives the center simulator with the codec instead of fxd.
	Direct bool
	// Network and Addr reach the target: fxd's IPC ("unix" socket path or
	// "tcp" address) in switch mode, the center's TCP address in direct mode.
	Network string
	Addr    string
	// Seed makes the operation and amount sequence reproducible.
	Seed uint64
	// FirstKey is the first STAN / 通番 a direct run uses (default 1): a
	// second direct run against the same simulator and business date must
	// start above the last key of the first, or the center sees repeats.
	FirstKey uint32
	// AcquirerID (CARDNET DE32) and Merchant (CAFIS header merchant code)
	// of direct runs.
	AcquirerID string
	Merchant   string
	// Progress receives one line per Tick while the run lasts; nil: none.
	Progress io.Writer
	Tick     time.Duration
	// Procs are processes to watch (name → pid): RSS and CPU time are
	// sampled every Tick and reported, e.g. {"fxd": 1234}.
	Procs map[string]int
}

// EnsureDefaults fills unset fields.
func (o *Options) EnsureDefaults() {
	if o.Sessions == 0 {
		o.Sessions = DefaultSessions
	}
	if o.Conns == 0 {
		o.Conns = min(DefaultConns, o.Sessions)
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.Mix == "" {
		o.Mix = DefaultMix
	}
	if o.Center == "" {
		o.Center = CenterCardnet
	}
	if o.Network == "" {
		o.Network = "unix"
		if o.Direct {
			o.Network = "tcp"
		}
	}
	if o.FirstKey == 0 {
		o.FirstKey = 1
	}
	if o.AcquirerID == "" {
		o.AcquirerID = DefaultAcquirerID
	}
	if o.Merchant == "" {
		o.Merchant = DefaultMerchant
	}
	if o.Tick == 0 {
		o.Tick = DefaultTick
	}
}

// Validate checks the options after EnsureDefaults.
func (o *Options) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrOptions}, args...)...)
	}
	switch {
	case o.Sessions < 1 || o.Sessions > MaxSessions:
		return bad("sessions %d not in 1..%d", o.Sessions, MaxSessions)
	case o.Conns < 1 || (!o.Direct && o.Conns > o.Sessions) || o.Conns > 4096:
		return bad("conns %d not in 1..min(sessions, 4096)", o.Conns)
	case o.Concurrency < 1 || o.Concurrency > MaxConcurrency:
		return bad("concurrency %d not in 1..%d", o.Concurrency, MaxConcurrency)
	case o.Sessions*o.Concurrency > MaxWorkers:
		return bad("sessions × concurrency = %d above %d", o.Sessions*o.Concurrency, MaxWorkers)
	case o.Duration < 0 || o.Duration > MaxDuration:
		return bad("duration %v not in 0..%v", o.Duration, MaxDuration)
	case o.Grace < 0 || o.Grace > MaxDuration:
		return bad("grace %v not in 0..%v", o.Grace, MaxDuration)
	case o.Rate < 0 || o.Rate > MaxRate:
		return bad("rate %v not in 0..%d (0: closed loop)", o.Rate, MaxRate)
	case o.Center != CenterCardnet && o.Center != CenterCafis:
		return bad("center %q (cardnet or cafis)", o.Center)
	case o.Addr == "":
		return bad("no target address")
	case o.Direct && o.Network != "tcp":
		return bad("direct mode reaches the center over tcp, not %q", o.Network)
	case o.Network != "unix" && o.Network != "tcp":
		return bad("network %q (unix or tcp)", o.Network)
	case o.FirstKey < 1 || o.FirstKey > maxKey:
		return bad("first key %d not in 1..%d", o.FirstKey, maxKey)
	case len(o.AcquirerID) < 1 || len(o.AcquirerID) > 11:
		return bad("acquirer id %q (1..11 digits)", o.AcquirerID)
	case len(o.Merchant) > 13:
		return bad("merchant code %q longer than 13", o.Merchant)
	case o.Tick < 10*time.Millisecond:
		return bad("tick %v below 10ms", o.Tick)
	}
	if _, err := ParseMix(o.Mix); err != nil {
		return err
	}
	return nil
}

// KeyBudget is how many requests a run may send before the business date's
// matching keys run out (CARDNET STAN and CAFIS 通番 are 6 digits). It is
// why default runs are short: at 65,000 TPS the whole budget lasts about 15 s.
func KeyBudget() int { return maxKey }
