package engine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/sim"
	"github.com/fxswitch/fxswitch/switch/config"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue finds the sample of name whose labels contain every want.
func metricValue(t *testing.T, body, name string, want ...string) float64 {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for _, w := range want {
			if !strings.Contains(l, w) {
				ok = false
			}
		}
		if ok {
			f := strings.Fields(l)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("sample %q: %v", l, err)
			}
			return v
		}
	}
	return -1
}

func TestAdminMetricsAndReadiness(t *testing.T) {
	h := newHarness(t, sim.Options{}, func(c *config.Config) { c.Admin = "127.0.0.1:0" })
	base := "http://" + h.e.AdminAddr
	if code, body := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz %d %s", code, body)
	}
	code, body := get(t, base+"/readyz")
	var r struct {
		Ready   bool
		Reasons []string
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != 503 || r.Ready || len(r.Reasons) != 2 {
		t.Fatalf("/readyz before signon: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, c := range []string{"cardnet", "cafis"} {
		if err := h.e.Signon(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz after signon: %d %s", code, body)
	}
	_, s := h.session("cardnet")
	// Scrape while requests are being answered: counts never exceed what was sent.
	const total = 200
	done := make(chan error, 1)
	go func() {
		for i := 0; i < total; i++ {
			amt := int64(1000)
			if i == 0 {
				amt = 5151
			}
			if _, err := s.Do(ctx, sale("M"+strconv.Itoa(i), amt)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for scraped := false; !scraped; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			done <- nil
			scraped = true
		default:
			_, mid := get(t, base+"/metrics")
			if v := metricValue(t, mid, "fxswitch_requests_total", `center="cardnet"`, `op="sale"`, `result="approved"`); v > total-1 {
				t.Fatalf("mid-traffic scrape counts %v approvals of at most %d", v, total-1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_, body = get(t, base+"/metrics")
	if v := metricValue(t, body, "fxswitch_requests_total", `center="cardnet"`, `op="sale"`, `result="approved"`); v != total-1 {
		t.Fatalf("approved sales counted %v, want %d\n%s", v, total-1, body)
	}
	if v := metricValue(t, body, "fxswitch_requests_total", `center="cardnet"`, `op="sale"`, `result="declined"`); v != 1 {
		t.Fatalf("declined sales counted %v, want 1", v)
	}
	if v := metricValue(t, body, "fxswitch_center_signed_on", `center="cardnet"`); v != 1 {
		t.Fatalf("signed on gauge %v", v)
	}
	if v := metricValue(t, body, "fxswitch_wal_records_per_sync_count"); v < 10 {
		t.Fatalf("WAL syncs recorded %v", v)
	}
	if strings.Contains(body, "4111111111111111") {
		t.Fatal("a PAN appears in the metrics")
	}
	// A line that drops makes the daemon not ready until it is signed on again.
	if err := h.e.Signoff(ctx, "cafis"); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "cafis: no signed-on line") {
		t.Fatalf("/readyz after cafis signoff: %d %s", code, body)
	}
}

// TestReadyFollowsLines: /readyz turns not ready when the center goes away
// (lines drop) and ready again once the lines reconnect and sign on by
// themselves, because the center's persisted state is signed on.
func TestReadyFollowsLines(t *testing.T) {
	h := newHarness(t, sim.Options{}, func(c *config.Config) {
		c.Admin = "127.0.0.1:0"
		for n, cc := range c.Centers {
			cc.ReconnectMin = config.Duration(20 * time.Millisecond)
			cc.ReconnectMax = config.Duration(100 * time.Millisecond)
			c.Centers[n] = cc
		}
	})
	base := "http://" + h.e.AdminAddr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []string{"cardnet", "cafis"} {
		if err := h.e.Signon(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	waitReady := func(want int) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, body := get(t, base+"/readyz")
			if code == want {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz stayed %d, want %d: %s", code, want, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitReady(200)
	cardnetAddr, cafisAddr := h.sim.CardnetAddr(), h.sim.CafisAddr()
	if err := h.sim.Close(); err != nil {
		t.Fatal(err)
	}
	body := waitReady(503)
	if !strings.Contains(body, "no signed-on line") {
		t.Fatalf("/readyz reasons: %s", body)
	}
	_, scrape := get(t, base+"/metrics")
	if v := metricValue(t, scrape, "fxswitch_line_reconnects_total", `center="cardnet"`); v < 1 {
		t.Fatalf("reconnects not counted: %v", v)
	}
	// The centers come back on the same addresses: lines reconnect and sign
	// on by themselves.
	s2, err := sim.New(sim.Options{CardnetAddr: cardnetAddr, CafisAddr: cafisAddr})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(); err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	waitReady(200)
	_, s := h.session("cardnet")
	if res, err := s.Do(ctx, sale("R1", 1000)); err != nil || res.Result != "approved" {
		t.Fatalf("sale after automatic re-signon: %+v %v", res, err)
	}
}

func TestMetricsOff(t *testing.T) {
	off := false
	h := newHarness(t, sim.Options{}, func(c *config.Config) {
		c.Admin = "127.0.0.1:0"
		c.Metrics = &off
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.e.Signon(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
	_, s := h.session("cardnet")
	if res, err := s.Do(ctx, sale("N1", 1000)); err != nil || res.Result != "approved" {
		t.Fatalf("sale: %+v %v", res, err)
	}
	if code, _ := get(t, "http://"+h.e.AdminAddr+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics with metrics: false answered %d", code)
	}
}
