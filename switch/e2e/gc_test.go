package e2e

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/bench/spawn"
)

// TestFXDGCPercent: fxd runs Go's collector with GOGC 200 unless its
// environment sets GOGC. Read back from fxd's own /metrics
// (go_gc_gogc_percent, from the Go runtime collector).
func TestFXDGCPercent(t *testing.T) {
	for _, c := range []struct{ env, want string }{{"", "200"}, {"100", "100"}} {
		t.Run("GOGC="+c.env, func(t *testing.T) {
			t.Setenv("GOGC", c.env) // restored after the test
			if c.env == "" {
				os.Unsetenv("GOGC")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			o := Options{Bins: bins, Dir: t.TempDir()}
			w, err := NewWorld(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			p, err := spawn.Start(ctx, "fxd", bins.FXD, o.Dir, filepath.Join(o.Dir, "fxd.log"),
				[]string{"ipc-unix", "ctl", "admin"}, 30*time.Second, "--config", w.Config, "--admin", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Kill()
			resp, err := http.Get("http://" + p.Addrs["admin"] + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "go_gc_gogc_percent "); ok {
					if v != c.want {
						t.Fatalf("go_gc_gogc_percent %s, want %s", v, c.want)
					}
					return
				}
			}
			t.Fatalf("no go_gc_gogc_percent in /metrics (scan error %v)", sc.Err())
		})
	}
}
