package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fxswitch/fxswitch/sim/journal"
)

// Totals are the settlement totals of one center and business date.
type Totals = journal.Totals

// DateTotals are one center's totals for one business date, as served by
// GET /totals (field names as `fxctl totals --json`).
type DateTotals struct {
	Center string `json:"center"`
	Date   string `json:"date"`
	Totals
	// Current is set on the center's current business date.
	Current bool `json:"current"`
}

// Sim runs the simulated centers, the control endpoint, the timed cutover
// and the journal.
type Sim struct {
	opts    Options
	faults  *faultEngine
	jw      *journal.Writer
	cardnet *cardnet
	cafis   *cafis

	pendingDelayed atomic.Int64
	badMAC         atomic.Int64 // CARDNET messages refused for a missing or bad DE128

	mu       sync.Mutex
	started  bool
	closed   bool
	httpLn   net.Listener
	httpSrv  *http.Server
	stopTick chan struct{}
	wg       sync.WaitGroup
}

// New validates opts and prepares the centers; Start opens the listeners.
func New(opts Options) (*Sim, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Sim{opts: opts, stopTick: make(chan struct{})}
	s.faults = newFaultEngine(opts.Seed, opts.Clock, opts.Faults)
	if opts.CardnetAddr != "" {
		s.cardnet = newCardnet(s)
	}
	if opts.CafisAddr != "" {
		c, err := newCafis(s)
		if err != nil {
			return nil, err
		}
		s.cafis = c
	}
	return s, nil
}

// Start opens the journal, the center listeners and the control endpoint,
// and starts the timed cutover. The addresses are known when it returns.
func (s *Sim) Start() (err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.started {
		s.mu.Unlock()
		return ErrStarted
	}
	s.started = true
	defer func() {
		if err != nil {
			s.closed = true
			s.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.shutdown(ctx)
			return
		}
		s.mu.Unlock()
	}()
	if s.opts.JournalPath != "" {
		s.jw, err = journal.Create(s.opts.JournalPath, journal.Options{QueueLen: s.opts.JournalQueueLen})
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	}
	if s.cardnet != nil {
		if err := s.cardnet.srv.start(s.opts.CardnetAddr, s.opts.EventLoops); err != nil {
			s.cardnet.srv = nil
			return err
		}
		s.event(CenterCardnet, 0, "listening", s.cardnet.srv.addr)
	}
	if s.cafis != nil {
		if err := s.cafis.srv.start(s.opts.CafisAddr, s.opts.EventLoops); err != nil {
			s.cafis.srv = nil
			return err
		}
		s.event(CenterCafis, 0, "listening", s.cafis.srv.addr)
	}
	if s.opts.HTTPAddr != "" {
		ln, err := net.Listen("tcp", s.opts.HTTPAddr)
		if err != nil {
			return fmt.Errorf("sim: http listener %s: %w", s.opts.HTTPAddr, err)
		}
		s.httpLn = ln
		s.httpSrv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = s.httpSrv.Serve(ln)
		}()
	}
	if s.cardnet != nil && (s.opts.CutoverEvery > 0 || s.opts.CutoverAt != "") {
		s.wg.Add(1)
		go s.cutoverTimer()
	}
	return nil
}

// cutoverTimer is the CARDNET center's cutover clock (24-hour operation):
// every CutoverEvery, or daily at CutoverAt.
func (s *Sim) cutoverTimer() {
	defer s.wg.Done()
	hh, mm, _ := parseHHMM(s.opts.CutoverAt)
	for {
		wait := s.opts.CutoverEvery
		if s.opts.CutoverAt != "" {
			now := s.opts.Clock.Now()
			wait = nextAt(now, hh, mm).Sub(now)
		}
		t := time.NewTimer(wait)
		select {
		case <-s.stopTick:
			t.Stop()
			return
		case <-t.C:
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-s.stopTick:
					cancel()
				case <-ctx.Done():
				}
			}()
			_, _ = s.cardnet.cutover(ctx)
			cancel()
		}
	}
}

// CardnetAddr is the CARDNET listener's bound address ("" when not running).
func (s *Sim) CardnetAddr() string {
	if s.cardnet == nil || s.cardnet.srv == nil {
		return ""
	}
	return s.cardnet.srv.addr
}

// CafisAddr is the CAFIS listener's bound address ("" when not running).
func (s *Sim) CafisAddr() string {
	if s.cafis == nil || s.cafis.srv == nil {
		return ""
	}
	return s.cafis.srv.addr
}

// HTTPAddr is the control endpoint's bound address ("" when not running).
func (s *Sim) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// TriggerCutover runs a CARDNET center cutover now: the business date moves
// to the next day, the closed date's totals are journaled, and 0800 DE70 201
// goes to one signed-on line; it returns the new date once the 0810 came
// back (ErrNotSignedOn / ErrCutoverTimeout: the date moved all the same).
func (s *Sim) TriggerCutover(ctx context.Context) (string, error) {
	return s.TriggerCutoverCenter(ctx, CenterCardnet)
}

// TriggerCutoverCenter is TriggerCutover for a named center. For CAFIS it
// only moves the simulator's cut-target date (CAFIS has no cutover exchange).
func (s *Sim) TriggerCutoverCenter(ctx context.Context, center string) (string, error) {
	if err := s.running(); err != nil {
		return "", err
	}
	switch center {
	case CenterCardnet:
		if s.cardnet == nil {
			return "", fmt.Errorf("%w: %s", ErrNotRunning, center)
		}
		return s.cardnet.cutover(ctx)
	case CenterCafis:
		if s.cafis == nil {
			return "", fmt.Errorf("%w: %s", ErrNotRunning, center)
		}
		return s.cafis.cutover(), nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownCenter, center)
}

func (s *Sim) running() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if !s.started {
		return ErrNotRunning
	}
	return nil
}

// SetFaults replaces the fault rules; their start_ms/for_ms windows restart now.
func (s *Sim) SetFaults(fs FaultSet) error {
	if err := fs.Validate(); err != nil {
		return err
	}
	s.faults.install(fs)
	s.event("", 0, "faults", fmt.Sprintf("%d rules", len(fs.Faults)))
	return nil
}

// Faults returns the fault rules in force.
func (s *Sim) Faults() FaultSet { return s.faults.current() }

// Totals returns a center's totals for a business date YYYYMMDD.
func (s *Sim) Totals(center, date string) (Totals, error) {
	switch center {
	case CenterCardnet:
		if s.cardnet != nil {
			return s.cardnet.Totals(date), nil
		}
	case CenterCafis:
		if s.cafis != nil {
			return s.cafis.Totals(date), nil
		}
	default:
		return Totals{}, fmt.Errorf("%w: %q", ErrUnknownCenter, center)
	}
	return Totals{}, fmt.Errorf("%w: %s", ErrNotRunning, center)
}

// BusinessDate returns a center's current business date YYYYMMDD.
func (s *Sim) BusinessDate(center string) (string, error) {
	switch center {
	case CenterCardnet:
		if s.cardnet != nil {
			return s.cardnet.businessDate(), nil
		}
	case CenterCafis:
		if s.cafis != nil {
			return s.cafis.businessDate(), nil
		}
	default:
		return "", fmt.Errorf("%w: %q", ErrUnknownCenter, center)
	}
	return "", fmt.Errorf("%w: %s", ErrNotRunning, center)
}

// AllTotals lists every date with totals (and each current date), by center then date.
func (s *Sim) AllTotals() []DateTotals {
	var out []DateTotals
	add := func(center, cur string, m map[string]journal.Totals) {
		for d, t := range m {
			out = append(out, DateTotals{Center: center, Date: d, Totals: t, Current: d == cur})
		}
	}
	if s.cardnet != nil {
		add(CenterCardnet, s.cardnet.businessDate(), s.cardnet.allTotals())
	}
	if s.cafis != nil {
		add(CenterCafis, s.cafis.businessDate(), s.cafis.allTotals())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Center != out[j].Center {
			return out[i].Center < out[j].Center
		}
		return out[i].Date < out[j].Date
	})
	return out
}

// Stats are the simulator's counters, as served by GET /stats.
type Stats struct {
	// CardnetBadMAC counts inbound CARDNET messages refused because their
	// DE128 was missing or did not verify (only with Options.MACKey).
	CardnetBadMAC int64 `json:"cardnet_bad_mac"`
	// MAC reports whether DE128 is enforced.
	MAC bool `json:"mac"`
}

// Stats returns the counters.
func (s *Sim) Stats() Stats {
	return Stats{CardnetBadMAC: s.badMAC.Load(), MAC: s.opts.MACKey != nil}
}

func (s *Sim) writeTotals(center, date string, t Totals, reason string) {
	if s.jw == nil {
		return
	}
	s.write(&journal.Record{Type: journal.TypeTotals, Center: center, Date: date, Totals: &t, Detail: reason})
}

// Close stops the timer, the listeners (closing every line) and the control
// endpoint, writes each center's end-of-day totals of every date it holds
// and closes the journal.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.shutdown(ctx)
}

// shutdown runs once, after closed was set: nothing else writes the fields it reads.
func (s *Sim) shutdown(ctx context.Context) error {
	var errs []error
	select {
	case <-s.stopTick:
	default:
		close(s.stopTick)
	}
	if s.httpSrv != nil {
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("sim: http: %w", err))
		}
	} else if s.httpLn != nil {
		s.httpLn.Close()
	}
	for _, cs := range s.servers() {
		if err := cs.stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.wg.Wait()
	if s.jw != nil {
		for _, dt := range s.AllTotals() {
			s.writeTotals(dt.Center, dt.Date, dt.Totals, "close")
		}
		if err := s.jw.Close(); err != nil && !errors.Is(err, journal.ErrClosed) {
			errs = append(errs, fmt.Errorf("sim: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (s *Sim) servers() []*centerServer {
	var out []*centerServer
	if s.cardnet != nil && s.cardnet.srv != nil && s.cardnet.srv.addr != "" {
		out = append(out, s.cardnet.srv)
	}
	if s.cafis != nil && s.cafis.srv != nil && s.cafis.srv.addr != "" {
		out = append(out, s.cafis.srv)
	}
	return out
}
