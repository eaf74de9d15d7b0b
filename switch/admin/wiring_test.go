package admin

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ctl"
	"github.com/fxswitch/fxswitch/switch/metrics"
)

// fakeDaemon stands in for the engine: a status the test changes as lines
// drop and come back.
type fakeDaemon struct {
	mu sync.Mutex
	st ctl.Status
}

func (d *fakeDaemon) Status(context.Context) (*ctl.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.st
	st.Centers = append([]ctl.CenterStatus(nil), d.st.Centers...)
	for i := range st.Centers {
		st.Centers[i].Lines = append([]ctl.LineStatus(nil), st.Centers[i].Lines...)
	}
	return &st, nil
}

func (d *fakeDaemon) setLine(center, state string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.st.Centers {
		if d.st.Centers[i].Name == center {
			d.st.Centers[i].Lines[0].State = state
		}
	}
}

// The wiring the daemon does, end to end over a loopback listener: /readyz
// and the line gauges follow the status as a line drops and recovers.
func TestWiringAsDaemon(t *testing.T) {
	d := &fakeDaemon{st: ctl.Status{Centers: []ctl.CenterStatus{
		{Name: "cardnet", SignedOn: true, BusinessDate: "20261123", Lines: []ctl.LineStatus{{Addr: "127.0.0.1:7700", State: ctl.LineSignedOn}}},
		{Name: "cafis", SignedOn: true, BusinessDate: "20261123", Lines: []ctl.LineStatus{{Addr: "127.0.0.1:7800", State: ctl.LineSignedOn}}},
	}}}
	m, err := metrics.New(metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	m.SetStateFunc(func() metrics.State {
		st, _ := d.Status(ctx)
		return metrics.StateFromStatus(st)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, Options{
			Metrics: m.Handler(),
			Ready: func() (bool, []string) {
				st, err := d.Status(ctx)
				if err != nil {
					return false, []string{err.Error()}
				}
				return ReadyFromStatus(st, nil)
			},
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	expect := func(code int, ready, lineState string) {
		t.Helper()
		if c, body := get(PathReady); c != code || !strings.Contains(body, ready) {
			t.Errorf("readyz: %d %s, want %d with %s", c, body, code, ready)
		}
		if _, body := get(PathMetrics); !strings.Contains(body, lineState) {
			t.Errorf("metrics lack %s", lineState)
		}
	}
	expect(200, `{"ready":true,"reasons":[]}`, `fxswitch_line_state{center="cardnet",line="127.0.0.1:7700"} 3`)
	d.setLine("cardnet", ctl.LineConnecting)
	expect(503, `"cardnet: no signed-on line, 0 of 1 lines"`, `fxswitch_line_state{center="cardnet",line="127.0.0.1:7700"} 1`)
	d.setLine("cardnet", ctl.LineSignedOn)
	expect(200, `{"ready":true,"reasons":[]}`, `fxswitch_line_state{center="cardnet",line="127.0.0.1:7700"} 3`)
	if c, body := get(PathHealth); c != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", c, body)
	}
}
