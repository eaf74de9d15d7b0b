package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ctl"
	"github.com/fxswitch/fxswitch/switch/metrics"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

func mustHandler(t *testing.T, o Options) http.Handler {
	t.Helper()
	h, err := Handler(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func readyBody(t *testing.T, rec *httptest.ResponseRecorder) Readiness {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("readyz content type %q", ct)
	}
	var r Readiness
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("readyz body: %v", err)
	}
	return r
}

func TestHealthz(t *testing.T) {
	rec := get(t, mustHandler(t, Options{}), PathHealth)
	if rec.Code != 200 || rec.Body.String() != "ok\n" {
		t.Errorf("healthz: %d %q", rec.Code, rec.Body)
	}
}

// Readyz flips with what the fake Ready reports, as the engine's would when
// lines drop and come back.
func TestReadyzFlips(t *testing.T) {
	var down atomic.Bool
	h := mustHandler(t, Options{Ready: func() (bool, []string) {
		if down.Load() {
			return false, []string{"cardnet: no signed-on line, 0 of 1 lines"}
		}
		return true, nil
	}})
	rec := get(t, h, PathReady)
	if r := readyBody(t, rec); rec.Code != 200 || !r.Ready || r.Reasons == nil || len(r.Reasons) != 0 {
		t.Errorf("ready: %d %+v", rec.Code, r)
	}
	if !strings.Contains(get(t, h, PathReady).Body.String(), `"reasons":[]`) {
		t.Error("reasons not an empty array when ready")
	}
	down.Store(true)
	rec = get(t, h, PathReady)
	r := readyBody(t, rec)
	if rec.Code != 503 || r.Ready || !reflect.DeepEqual(r.Reasons, []string{"cardnet: no signed-on line, 0 of 1 lines"}) {
		t.Errorf("not ready: %d %+v", rec.Code, r)
	}
	down.Store(false)
	if rec := get(t, h, PathReady); rec.Code != 200 {
		t.Errorf("ready again: %d", rec.Code)
	}
}

func TestReadyzConservative(t *testing.T) {
	for name, tc := range map[string]struct {
		ready  func() (bool, []string)
		reason string
	}{
		"nil func":           {nil, "readiness check not configured"},
		"panic":              {func() (bool, []string) { panic("boom") }, "readiness check failed: boom"},
		"ready with reasons": {func() (bool, []string) { return true, []string{"odd"} }, "odd"},
		"false without why":  {func() (bool, []string) { return false, nil }, "not ready"},
	} {
		rec := get(t, mustHandler(t, Options{Ready: tc.ready}), PathReady)
		r := readyBody(t, rec)
		if rec.Code != 503 || r.Ready || len(r.Reasons) != 1 || r.Reasons[0] != tc.reason {
			t.Errorf("%s: %d %+v", name, rec.Code, r)
		}
	}
	many := make([]string, 1000)
	for i := range many {
		many[i] = "x"
	}
	r := readyBody(t, get(t, mustHandler(t, Options{Ready: func() (bool, []string) { return false, many }}), PathReady))
	if len(r.Reasons) != maxReasons+1 || r.Reasons[maxReasons] != "and 936 more" {
		t.Errorf("reasons not bounded: %d, last %q", len(r.Reasons), r.Reasons[len(r.Reasons)-1])
	}
}

func TestMetricsEndpoint(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Timeout("cardnet")
	h := mustHandler(t, Options{Metrics: m.Handler()})
	rec := get(t, h, PathMetrics)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `fxswitch_timeouts_total{center="cardnet"} 1`) {
		t.Errorf("metrics: %d\n%s", rec.Code, rec.Body)
	}
	if rec := get(t, mustHandler(t, Options{}), PathMetrics); rec.Code != 404 {
		t.Errorf("metrics without a handler: %d", rec.Code)
	}
}

func TestMethodsAndPaths(t *testing.T) {
	h := mustHandler(t, Options{Ready: func() (bool, []string) { return true, nil }})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", PathHealth, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST healthz: %d", rec.Code)
	}
	if rec := get(t, h, "/debug/pprof/"); rec.Code != 404 {
		t.Errorf("unknown path: %d", rec.Code)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{ReadTimeout: -1}, {ShutdownTimeout: -time.Second}, {MaxHeaderBytes: -1}} {
		if _, err := Handler(o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", o, err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := Serve(context.Background(), ln, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("Serve %+v: %v", o, err)
		}
		if _, err := ln.Accept(); err == nil {
			t.Error("listener not closed by Serve after a validation error")
		}
	}
}

// Serve over a real loopback listener: endpoints answer, cancelling the
// context stops the server and Serve returns nil.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, Options{Ready: func() (bool, []string) { return false, []string{"cafis: recovery required"} }})
	}()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(base + PathHealth)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	resp, err = client.Get(base + PathReady)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"cafis: recovery required"`) {
		t.Errorf("readyz: %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	if _, err := client.Get(base + PathHealth); err == nil {
		t.Error("server still answering after Serve returned")
	}
}

// A listener that fails makes Serve return an error, not hang.
func TestServeListenerError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := Serve(context.Background(), ln, Options{}); err == nil || !strings.HasPrefix(err.Error(), "admin: serve") {
		t.Errorf("Serve on a closed listener: %v", err)
	}
}

// A client that sends headers slowly is cut off by ReadHeaderTimeout.
func TestReadHeaderTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, ln, Options{ReadHeaderTimeout: 50 * time.Millisecond})
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	// The header never ends; the server must close the connection on its own.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("server kept a connection with an unfinished header open")
	}
}

func TestReadyFromStatus(t *testing.T) {
	line := func(state string) ctl.LineStatus { return ctl.LineStatus{Addr: "127.0.0.1:7700", State: state} }
	ok := &ctl.Status{Centers: []ctl.CenterStatus{
		{Name: "cardnet", SignedOn: true, Lines: []ctl.LineStatus{line(ctl.LineConnecting), line(ctl.LineSignedOn)}},
		{Name: "cafis", SignedOn: true, Lines: []ctl.LineStatus{line(ctl.LineSignedOn)}},
	}}
	if ready, reasons := ReadyFromStatus(ok, nil); !ready || len(reasons) != 0 {
		t.Errorf("healthy: %v %v", ready, reasons)
	}
	for name, tc := range map[string]struct {
		st     *ctl.Status
		walErr error
		want   []string
	}{
		"nil status": {nil, nil, []string{"status unavailable"}},
		"wal failed": {ok, errors.New("wal: failed: disk full"), []string{"wal: not writable: wal: failed: disk full"}},
		"no centers": {&ctl.Status{}, nil, []string{"no center configured"}},
		"shutting":   {&ctl.Status{ShuttingDown: true, Centers: ok.Centers}, nil, []string{"shutting down"}},
		"lines down and recovery": {&ctl.Status{Centers: []ctl.CenterStatus{
			{Name: "cardnet", SignedOn: true, RecoveryRequired: true, Lines: []ctl.LineStatus{line(ctl.LineConnected), line(ctl.LineDown)}},
			{Name: "cafis", Lines: []ctl.LineStatus{line(ctl.LineDown)}},
		}}, nil, []string{
			"cardnet: recovery required (fxctl signon --center cardnet, then fxctl recovery --center cardnet)",
			"cardnet: no signed-on line, 0 of 2 lines",
			"cafis: no signed-on line (center signed off: fxctl signon --center cafis), 0 of 1 lines",
		}},
	} {
		ready, reasons := ReadyFromStatus(tc.st, tc.walErr)
		if ready || !reflect.DeepEqual(reasons, tc.want) {
			t.Errorf("%s: %v %q, want false %q", name, ready, reasons, tc.want)
		}
	}
}
