package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
)

// Told is what an application was told when it sent a request.
type Told int

// What an app can be told.
const (
	// ToldOutcome: a result (approved, declined, cancelled, failed).
	ToldOutcome Told = iota
	// ToldTimeout: error 16, a cancel toward the center was started; the
	// final outcome is learnt by inquiry.
	ToldTimeout
	// ToldLost: the connection ended (fxd killed) or the app gave up before
	// an answer; the daemon may or may not have logged the request.
	ToldLost
	// ToldRefused: an error that means nothing was sent to the center
	// (11 not signed on, 13 recovery required, 14 busy, 17 shutting down).
	ToldRefused
	// ToldError: any other error code; unexpected for the traffic sent here.
	ToldError
)

func (t Told) String() string {
	return [...]string{"outcome", "timeout", "lost", "refused", "error"}[t]
}

// Entry is one request an app sent and everything it learnt about it.
type Entry struct {
	Center  string
	Op      ipc.Op
	Ref     string
	OrigRef string // cancel: the reference cancelled
	Amount  int64
	Told    Told
	Code    ipc.Code         // the error code when Told is not ToldOutcome
	First   *client.Response // the answer to the request itself (ToldOutcome)
	Final   *client.Response // the final outcome: First, or what an inquiry said
	// NeverSeen: an inquiry answered 19, the daemon never logged the request.
	NeverSeen bool
}

// needsInquiry: the app does not know the final outcome yet.
func (e *Entry) needsInquiry() bool {
	if e.Final != nil || e.NeverSeen {
		return false
	}
	return e.Told == ToldTimeout || e.Told == ToldLost || (e.Told == ToldError && e.Code == ipc.CodeInternal)
}

// Ledger is what every app was told, keyed by app reference. Safe for
// concurrent use.
type Ledger struct {
	mu    sync.Mutex
	byRef map[string]*Entry
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{byRef: map[string]*Entry{}} }

func (l *Ledger) add(e *Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.byRef[e.Ref]; dup {
		return fmt.Errorf("%w: reference %s used twice by the test", ErrOptions, e.Ref)
	}
	l.byRef[e.Ref] = e
	return nil
}

// Add records an entry filled by the caller (an app that is not a
// client.Session, e.g. the switch core's deterministic simulation). A
// reference may be added once.
func (l *Ledger) Add(e *Entry) error { return l.add(e) }

// Entries returns every entry, ordered by reference.
func (l *Ledger) Entries() []*Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*Entry, 0, len(l.byRef))
	for _, e := range l.byRef {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out
}

// Get returns the entry of ref, or nil.
func (l *Ledger) Get(ref string) *Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byRef[ref]
}

// Counts summarises the ledger: how many entries were told what, and the
// final results.
func (l *Ledger) Counts() map[string]int {
	m := map[string]int{}
	// Record fills entries under l.mu while apps are still running.
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.byRef {
		m["told "+e.Told.String()]++
		if e.Final != nil {
			m["final "+string(e.Final.Result)]++
		}
		if e.NeverSeen {
			m["never seen"]++
		}
	}
	return m
}

// Request builds a well-formed request of op for the models of both centers.
func Request(op ipc.Op, ref string, amount int64, terminal string) *client.Request {
	return &client.Request{Op: op, Ref: ref, PAN: "4111111111111111", Expiry: "2912", Amount: amount,
		Currency: "392", Terminal: terminal, Merchant: "MERCHANT000001"}
}

// Record sends req on s and records what the app was told.
func (l *Ledger) Record(ctx context.Context, center string, s *client.Session, req *client.Request) (*Entry, error) {
	e := &Entry{Center: center, Op: req.Op, Ref: req.Ref, OrigRef: req.OrigRef, Amount: req.Amount}
	if err := l.add(e); err != nil {
		return nil, err
	}
	res, err := s.Do(ctx, req)
	l.mu.Lock()
	defer l.mu.Unlock()
	var ie *ipc.Error
	switch {
	case err == nil && res.Result == ipc.ResultTimeout:
		e.Told, e.First = ToldTimeout, res
	case err == nil:
		e.Told, e.First, e.Final = ToldOutcome, res, res
	case errors.As(err, &ie):
		e.Code = ie.Code
		switch ie.Code {
		case ipc.CodeTimeout:
			e.Told = ToldTimeout
		case ipc.CodeNotSignedOn, ipc.CodeRecoveryRequired, ipc.CodeBusy, ipc.CodeShuttingDown:
			e.Told = ToldRefused
		default:
			e.Told = ToldError
		}
	default:
		e.Told = ToldLost
	}
	return e, err
}

// TrafficOptions drive a set of app sessions on one center.
type TrafficOptions struct {
	Sock        string // fxd's IPC Unix socket
	Center      string
	Sessions    int           // sessions, each on its own connection (default 2)
	Concurrency int           // requests outstanding per session (default 4)
	Duration    time.Duration // how long to send (default 2s)
	Seed        uint64
	// Prefix makes references unique across phases and runs (≤ 10 characters).
	Prefix string
	// Advice adds store-and-forward advices to the mix (CARDNET).
	Advice bool
	// RequestTimeout bounds one Do (default 30s); past it the entry is lost.
	RequestTimeout time.Duration
	Ledger         *Ledger // required
}

// EnsureDefaults fills unset fields.
func (o *TrafficOptions) EnsureDefaults() {
	if o.Sessions == 0 {
		o.Sessions = 2
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.Duration == 0 {
		o.Duration = 2 * time.Second
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 30 * time.Second
	}
}

// Validate checks the options after EnsureDefaults.
func (o *TrafficOptions) Validate() error {
	switch {
	case o.Ledger == nil:
		return fmt.Errorf("%w: traffic needs a Ledger", ErrOptions)
	case o.Sock == "" || o.Center == "":
		return fmt.Errorf("%w: traffic needs Sock and Center", ErrOptions)
	case len(o.Prefix) > 10:
		return fmt.Errorf("%w: Prefix %q longer than 10", ErrOptions, o.Prefix)
	case o.Sessions < 1 || o.Sessions > 256 || o.Concurrency < 1 || o.Concurrency > 256:
		return fmt.Errorf("%w: Sessions and Concurrency must be in 1..256", ErrOptions)
	}
	return nil
}

// Traffic is a running set of app sessions.
type Traffic struct {
	o        TrafficOptions
	Sessions []*client.Session
	clients  []*client.Client
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	errMu    sync.Mutex
	errs     []error
}

// StartTraffic dials and opens every session (an error if any fails), then
// sends in the background until Duration has passed, Stop is called or the
// connection ends.
func StartTraffic(ctx context.Context, o TrafficOptions) (*Traffic, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	t := &Traffic{o: o, stop: make(chan struct{})}
	for i := 0; i < o.Sessions; i++ {
		cl, err := client.Dial(ctx, "unix", o.Sock)
		if err != nil {
			t.closeAll()
			return nil, err
		}
		t.clients = append(t.clients, cl)
		s, err := cl.OpenSession(ctx, o.Center)
		if err != nil {
			t.closeAll()
			return nil, fmt.Errorf("open session %s: %w", o.Center, err)
		}
		t.Sessions = append(t.Sessions, s)
	}
	until := time.Now().Add(o.Duration)
	for i, s := range t.Sessions {
		for w := 0; w < o.Concurrency; w++ {
			t.wg.Add(1)
			go t.worker(ctx, s, i, w, until)
		}
	}
	return t, nil
}

func (t *Traffic) closeAll() {
	for _, c := range t.clients {
		c.Close()
	}
}

// Stop asks the workers to stop after their current request.
func (t *Traffic) Stop() { t.stopOnce.Do(func() { close(t.stop) }) }

// Abort stops the app the hard way: its connections close at once, with
// requests in flight (a crashed or killed application). Call Wait after.
func (t *Traffic) Abort() {
	t.Stop()
	t.closeAll()
}

// Wait waits for the workers, closes the connections and returns the
// errors of the test's own making (not the daemon's answers).
func (t *Traffic) Wait() error {
	t.wg.Wait()
	t.closeAll()
	t.errMu.Lock()
	defer t.errMu.Unlock()
	return errors.Join(t.errs...)
}

func (t *Traffic) worker(ctx context.Context, s *client.Session, sn, w int, until time.Time) {
	defer t.wg.Done()
	o := t.o
	rng := rand.New(rand.NewPCG(o.Seed, uint64(sn*1000+w+1)))
	term := fmt.Sprintf("T%03d%03d", sn%1000, w%1000)
	var approved []string // refs of this worker's approved sales and refunds
	for n := 0; time.Now().Before(until); n++ {
		select {
		case <-t.stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		ref := fmt.Sprintf("%s-%d-%d-%d", o.Prefix, sn, w, n)
		amount := int64(100 + rng.IntN(9000)*100)
		var req *client.Request
		switch k := rng.IntN(20); {
		case k < 10:
			req = Request(ipc.OpSale, ref, amount, term)
		case k < 12:
			req = Request(ipc.OpRefund, ref, amount, term)
		case k < 14:
			req = Request(ipc.OpAuthorize, ref, amount, term)
		case k < 15:
			req = Request(ipc.OpSale, ref, 5151, term) // declined by the center's rules
		case k < 16 && o.Advice:
			req = Request(ipc.OpAdvice, ref, amount, term)
		case k >= 17 && len(approved) > 0:
			i := rng.IntN(len(approved))
			req = &client.Request{Op: ipc.OpCancel, Ref: ref, OrigRef: approved[i], Terminal: term, Merchant: "MERCHANT000001"}
			approved = append(approved[:i], approved[i+1:]...)
		default:
			req = Request(ipc.OpSale, ref, amount, term)
		}
		rctx, cancel := context.WithTimeout(ctx, o.RequestTimeout)
		e, err := o.Ledger.Record(rctx, o.Center, s, req)
		cancel()
		if e == nil {
			t.fail(err)
			return
		}
		switch {
		case e.Told == ToldOutcome && e.Final.Result == ipc.ResultApproved && (req.Op == ipc.OpSale || req.Op == ipc.OpRefund):
			approved = append(approved, ref)
		case e.Told == ToldLost && errors.Is(err, client.ErrClosed):
			return // the daemon went away: this session is over
		case e.Told == ToldRefused:
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (t *Traffic) fail(err error) {
	t.errMu.Lock()
	t.errs = append(t.errs, err)
	t.errMu.Unlock()
}

// Resolve learns the final outcome of every entry whose app does not know
// it (timeout, lost connection) by inquiry on fresh sessions, as a
// restarted app would. Inquiries answered busy (still being settled) are
// repeated until timeout.
func Resolve(ctx context.Context, sock string, l *Ledger, timeout time.Duration) error {
	byCenter := map[string][]*Entry{}
	for _, e := range l.Entries() {
		l.mu.Lock()
		need := e.needsInquiry()
		l.mu.Unlock()
		if need {
			byCenter[e.Center] = append(byCenter[e.Center], e)
		}
	}
	deadline := time.Now().Add(timeout)
	for center, entries := range byCenter {
		cl, err := client.Dial(ctx, "unix", sock)
		if err != nil {
			return err
		}
		s, err := cl.OpenSession(ctx, center)
		if err != nil {
			cl.Close()
			return fmt.Errorf("inquiry session %s: %w", center, err)
		}
		for _, e := range entries {
			if err := inquire(ctx, s, l, e, deadline); err != nil {
				cl.Close()
				return err
			}
		}
		_ = s.CloseSession(ctx)
		cl.Close()
	}
	return nil
}

func inquire(ctx context.Context, s *client.Session, l *Ledger, e *Entry, deadline time.Time) error {
	for {
		res, err := s.Inquire(ctx, e.Ref)
		var ie *ipc.Error
		switch {
		case err == nil && res.Result != ipc.ResultTimeout:
			l.mu.Lock()
			e.Final = res
			l.mu.Unlock()
			return nil
		case errors.As(err, &ie) && ie.Code == ipc.CodeUnknownReference:
			l.mu.Lock()
			e.NeverSeen = true
			l.mu.Unlock()
			return nil
		case err == nil, errors.As(err, &ie) && ie.Code == ipc.CodeBusy:
			if time.Now().After(deadline) {
				return fmt.Errorf("inquiry %s %s: no final outcome before the deadline", e.Center, e.Ref)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		default:
			return fmt.Errorf("inquiry %s %s: %w", e.Center, e.Ref, err)
		}
	}
}
