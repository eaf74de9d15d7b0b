package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ErrInvalid is wrapped by every Options validation error.
var ErrInvalid = errors.New("admin: invalid options")

// Paths served.
const (
	PathMetrics = "/metrics"
	PathHealth  = "/healthz"
	PathReady   = "/readyz"
)

// Limits on the admin listener. The endpoints are small and read-only; the
// limits keep a slow or hostile client from holding connections open.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 30 * time.Second // a scrape of a busy switch takes tens of ms
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 5 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
	// maxReasons bounds the /readyz body whatever Ready returns.
	maxReasons = 64
)

// Options configures Serve. The zero value is usable: /metrics answers 404
// and /readyz 503 until Metrics and Ready are supplied.
type Options struct {
	// Metrics serves /metrics (metrics.Metrics.Handler()).
	Metrics http.Handler
	// Ready reports whether the switch can take business, and why not
	// (WAL open, recovery not required, a signed-on line per configured
	// center). Called once per /readyz request; must be safe for concurrent
	// use and quick.
	Ready func() (ready bool, reasons []string)
	// Logger receives listener errors; default slog.Default().
	Logger *slog.Logger

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout bounds how long Serve waits, after ctx ends, for
	// requests already running.
	ShutdownTimeout time.Duration
	MaxHeaderBytes  int
}

// EnsureDefaults fills unset fields.
func (o *Options) EnsureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	set := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	set(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	set(&o.ReadTimeout, DefaultReadTimeout)
	set(&o.WriteTimeout, DefaultWriteTimeout)
	set(&o.IdleTimeout, DefaultIdleTimeout)
	set(&o.ShutdownTimeout, DefaultShutdownTimeout)
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
}

// Validate reports the first invalid field; errors wrap ErrInvalid.
func (o *Options) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"read header timeout", o.ReadHeaderTimeout}, {"read timeout", o.ReadTimeout}, {"write timeout", o.WriteTimeout},
		{"idle timeout", o.IdleTimeout}, {"shutdown timeout", o.ShutdownTimeout},
	} {
		if d.v < 0 {
			return fmt.Errorf("%w: %s %v is negative", ErrInvalid, d.name, d.v)
		}
	}
	if o.MaxHeaderBytes < 0 {
		return fmt.Errorf("%w: max header bytes %d is negative", ErrInvalid, o.MaxHeaderBytes)
	}
	return nil
}

// Readiness is the /readyz body. Reasons is never null, so that a script can
// iterate it without a check.
type Readiness struct {
	Ready   bool     `json:"ready"`
	Reasons []string `json:"reasons"`
}

// Handler returns the admin endpoints without a listener, for embedding in
// another server or for tests.
func Handler(opts Options) (http.Handler, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return newMux(opts), nil
}

func newMux(o Options) *http.ServeMux {
	mux := http.NewServeMux()
	if o.Metrics != nil {
		mux.Handle("GET "+PathMetrics, o.Metrics)
	} else {
		mux.HandleFunc("GET "+PathMetrics, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "metrics not enabled", http.StatusNotFound)
		})
	}
	// healthz answers as long as the process can run a handler: it is the
	// liveness probe, and must not depend on lines or centers (restarting
	// fxd because a center is down would only add a recovery).
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET "+PathReady, func(w http.ResponseWriter, _ *http.Request) {
		r := readiness(o.Ready)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !r.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(r)
	})
	return mux
}

// readiness calls ready, and treats a missing function, a panic or "ready
// with reasons" conservatively: a switch that cannot say it is ready is not.
func readiness(ready func() (bool, []string)) (r Readiness) {
	if ready == nil {
		return Readiness{Reasons: []string{"readiness check not configured"}}
	}
	defer func() {
		if p := recover(); p != nil {
			r = Readiness{Reasons: []string{fmt.Sprintf("readiness check failed: %v", p)}}
		}
	}()
	ok, reasons := ready()
	if len(reasons) > maxReasons {
		reasons = append(reasons[:maxReasons:maxReasons], fmt.Sprintf("and %d more", len(reasons)-maxReasons))
	}
	if reasons == nil {
		reasons = []string{}
	}
	if ok && len(reasons) > 0 {
		ok = false
	}
	if !ok && len(reasons) == 0 {
		reasons = []string{"not ready"}
	}
	return Readiness{Ready: ok, Reasons: reasons}
}

// Serve runs the admin HTTP server on ln until ctx ends, then shuts it down
// gracefully (bounded by ShutdownTimeout) and returns nil. Any other end of
// serving is returned as an error. Serve closes ln.
func Serve(ctx context.Context, ln net.Listener, opts Options) error {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           newMux(opts),
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admin: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("admin: serve %s: %w", ln.Addr(), serr)
	}
	if err != nil {
		return fmt.Errorf("admin: shutdown: %w", err)
	}
	return nil
}
