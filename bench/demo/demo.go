// Package demo runs one business day of both centers with the real
// programs: fxsim plays CAFIS and CARDNET, fxd switches, fxctl operates, and
// several app sessions send traffic through the IPC client. It is what
// `make demo` shows and what its end-to-end test checks.
//
// The day follows the seeds' daily procedure (2.3.1 CARDNET, 2.4.1 CAFIS):
// start fxd → signon → sessions and traffic → close sessions → cutreq
// (CARDNET: cutover response and reconciliation 0500/0510) → totals →
// signoff → shutdown. CAFIS has no reconciliation message in the seeds, so
// its totals are compared with the simulator's own figures.
package demo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fxswitch/fxswitch/bench/spawn"
	"github.com/fxswitch/fxswitch/ctl"
	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
	"github.com/fxswitch/fxswitch/switch/auth"
	"github.com/fxswitch/fxswitch/switch/tlsbridge/tlstest"
)

// Options of one demo day.
type Options struct {
	Dir         string        // working directory (binaries, data, logs); required
	Traffic     time.Duration // how long the apps send traffic (default 3s)
	Sessions    int           // sessions per center (default 4)
	Concurrency int           // outstanding requests per session (default 8)
	Seed        uint64
	Out         io.Writer // the operator's console; nil: discard
}

// CenterSummary is one center's part of the day.
type CenterSummary struct {
	Center                          string
	Sent, Approved, Declined, Other int64
	Cancelled                       int64
	Errors                          *sync.Map     // error text → *atomic.Int64
	Totals                          ctl.TotalsRow // our totals of the closed date
	CenterTotals                    ctl.TotalsRow // the center's figures for the same date
	InBalance                       bool
	How                             string // how balance was established
}

// Summary of the day.
type Summary struct {
	Centers  []CenterSummary
	Duration time.Duration
	TPS      float64
}

// Run executes the day. It returns an error if any step fails or a center
// is out of balance.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Traffic <= 0 {
		o.Traffic = 3 * time.Second
	}
	if o.Sessions <= 0 {
		o.Sessions = 4
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	say("== building fxd, fxsim, fxctl")
	bins, err := spawn.Build(ctx, filepath.Join(o.Dir, "bin"), false)
	if err != nil {
		return nil, err
	}
	say("== starting fxsim (CARDNET and CAFIS centers)")
	sim, err := spawn.Start(ctx, "fxsim", bins.FXSim, o.Dir, filepath.Join(o.Dir, "fxsim.log"),
		[]string{"cardnet", "cafis", "http"}, 20*time.Second,
		"--cardnet", "127.0.0.1:0", "--cafis", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--journal", filepath.Join(o.Dir, "journal.jsonl"))
	if err != nil {
		return nil, err
	}
	defer sim.Kill()
	say("   cardnet %s  cafis %s", sim.Addrs["cardnet"], sim.Addrs["cafis"])

	// Apps reach fxd over TLS 1.3 on loopback TCP and present app tokens:
	// a throw-away CA and server certificate, one token per demo app.
	sec, err := appSecurity(filepath.Join(o.Dir, "tls"))
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`data_dir: %s
ipc: {unix: fxd.sock, tcp: "127.0.0.1:0", tls: {cert_file: %q, key_file: %q}}
ctl: {unix: ctl.sock}
admin: "127.0.0.1:0"
app_tokens: %q
centers:
  cardnet: {lines: [%q, %q], timeout: 5s}
  cafis:   {lines: [%q], timeout: 5s}
`, filepath.Join(o.Dir, "data"), sec.certFile, sec.keyFile, sec.tokensFile,
		sim.Addrs["cardnet"], sim.Addrs["cardnet"], sim.Addrs["cafis"])
	cfgPath := filepath.Join(o.Dir, "fxd.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	say("== ① starting fxd")
	fxd, err := spawn.Start(ctx, "fxd", bins.FXD, o.Dir, filepath.Join(o.Dir, "fxd.log"),
		[]string{"ipc-tcp", "ctl", "admin"}, 30*time.Second, "--config", cfgPath)
	if err != nil {
		return nil, err
	}
	defer fxd.Kill()
	sock := fxd.Addrs["ctl"]
	fxctl := func(args ...string) (string, error) {
		args = append(args, "--socket", sock)
		say("$ fxctl %s", strings.Join(args[:len(args)-2], " "))
		stdout, stderr, code, err := spawn.Run(ctx, bins.FXCtl, args...)
		if stdout != "" {
			fmt.Fprint(out, indent(stdout))
		}
		if err != nil {
			return stdout, err
		}
		if code != 0 {
			return stdout, fmt.Errorf("fxctl %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		return stdout, nil
	}
	centers := []string{"cardnet", "cafis"}
	say("== ② signon")
	for _, c := range centers {
		if _, err := fxctl("signon", "--center", c); err != nil {
			return nil, err
		}
	}

	say("== ③④⑤ %d sessions per center, %d in flight each, traffic for %v", o.Sessions, o.Concurrency, o.Traffic)
	start := time.Now()
	say("   apps connect to %s over TLS 1.3 with app tokens", fxd.Addrs["ipc-tcp"])
	stats, err := traffic(ctx, fxd.Addrs["ipc-tcp"], sec, centers, o)
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	var total int64
	for _, s := range stats {
		total += s.Sent
	}
	say("   %d transactions in %v (%.0f TPS)", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())

	say("== ⑥ cutreq")
	closed := map[string]string{}
	for _, c := range centers {
		stdout, err := fxctl("cutreq", "--center", c, "--json")
		if err != nil {
			return nil, err
		}
		var res ctl.CutoverResult
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			return nil, fmt.Errorf("cutreq %s output: %w", c, err)
		}
		closed[c] = res.ClosedDate
	}
	say("== totals of the closed dates")
	sum := &Summary{Duration: elapsed, TPS: float64(total) / elapsed.Seconds()}
	simTotals, err := centerTotals(sim.Addrs["http"])
	if err != nil {
		return nil, err
	}
	for _, c := range centers {
		stdout, err := fxctl("totals", "--center", c, "--date", closed[c], "--json")
		if err != nil {
			return nil, err
		}
		var tr struct{ Totals []ctl.TotalsRow }
		if err := json.Unmarshal([]byte(stdout), &tr); err != nil || len(tr.Totals) != 1 {
			return nil, fmt.Errorf("totals %s output: %v", c, err)
		}
		cs := stats[c]
		cs.Totals = tr.Totals[0]
		cs.CenterTotals = simTotals[c+"/"+closed[c]]
		cs.InBalance = cs.Totals.SameTotals(cs.CenterTotals)
		if c == "cardnet" {
			cs.How = "0500/0510 reconciliation: " + cs.Totals.Reconciliation
			cs.InBalance = cs.InBalance && cs.Totals.Reconciliation == ctl.ReconcileInBalance
		} else {
			cs.How = "compared with the center's totals (no reconciliation message in the CAFIS model)"
		}
		sum.Centers = append(sum.Centers, *cs)
	}
	say("== status and metrics (kept in the directory)")
	status, err := fxctl("status")
	if err != nil {
		return nil, err
	}
	statusJSON, _, _, _ := spawn.Run(ctx, bins.FXCtl, "status", "--json", "--socket", sock)
	_ = status
	if err := os.WriteFile(filepath.Join(o.Dir, "status.json"), []byte(statusJSON), 0o600); err != nil {
		return nil, err
	}
	if err := saveMetrics(fxd.Addrs["admin"], filepath.Join(o.Dir, "metrics.txt")); err != nil {
		return nil, err
	}
	say("== ⑦ signoff")
	for _, c := range centers {
		if _, err := fxctl("signoff", "--center", c); err != nil {
			return nil, err
		}
	}
	say("== ⑧ shutdown")
	if _, err := fxctl("shutdown"); err != nil {
		return nil, err
	}
	if code, err := fxd.Wait(40 * time.Second); err != nil || code != 0 {
		return nil, fmt.Errorf("fxd exit: code %d, %v", code, err)
	}
	for _, cs := range sum.Centers {
		if !cs.InBalance {
			return sum, fmt.Errorf("%s out of balance: ours %+v, center %+v", cs.Center, cs.Totals, cs.CenterTotals)
		}
	}
	return sum, nil
}

func indent(s string) string {
	out := ""
	for l := range strings.Lines(s) {
		out += "    " + strings.TrimSuffix(l, "\n") + "\n"
	}
	return out
}

// appSec is the demo's throw-away TLS identity and app token.
type appSec struct {
	certFile, keyFile, tokensFile string
	token                         string
	roots                         *x509.CertPool
}

func appSecurity(dir string) (*appSec, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, err := tlstest.Create(dir, "fxswitch-demo")
	if err != nil {
		return nil, err
	}
	sec := &appSec{roots: ca.Pool(), tokensFile: filepath.Join(dir, "apps.yaml")}
	if sec.certFile, sec.keyFile, err = ca.IssueFiles("localhost", true, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)); err != nil {
		return nil, err
	}
	tok, hash, err := auth.NewToken()
	if err != nil {
		return nil, err
	}
	sec.token = tok
	return sec, os.WriteFile(sec.tokensFile, []byte("apps:\n  demo-pos: \""+hash+"\"\n"), 0o600)
}

// saveMetrics scrapes fxd's /metrics into path.
func saveMetrics(addr, path string) error {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fxd /metrics: %s", resp.Status)
	}
	return os.WriteFile(path, b, 0o600)
}

// centerTotals reads fxsim's GET /totals, keyed "center/date".
func centerTotals(addr string) (map[string]ctl.TotalsRow, error) {
	resp, err := http.Get("http://" + addr + "/totals")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct{ Totals []ctl.TotalsRow }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("fxsim /totals: %w", err)
	}
	m := map[string]ctl.TotalsRow{}
	for _, t := range body.Totals {
		m[t.Center+"/"+t.Date] = t
	}
	return m, nil
}

// demoPAN is the card number every demo transaction uses (a test PAN).
const demoPAN = "4111111111111111"

// traffic drives sessions on both centers: sales, refunds, authorizations
// and cancels of earlier approved sales, with a few deliberately declined
// amounts (ending in 51).
func traffic(ctx context.Context, addr string, sec *appSec, centers []string, o Options) (map[string]*CenterSummary, error) {
	stats := map[string]*CenterSummary{}
	for _, c := range centers {
		stats[c] = &CenterSummary{Center: c, Errors: &sync.Map{}}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Traffic+30*time.Second)
	defer cancel()
	stop := time.Now().Add(o.Traffic)
	var wg sync.WaitGroup
	errc := make(chan error, len(centers)*o.Sessions)
	var seq atomic.Int64
	for _, c := range centers {
		for s := 0; s < o.Sessions; s++ {
			wg.Add(1)
			go func(center string, sn int) {
				defer wg.Done()
				cl, err := client.Dial(ctx, "tcp", addr, client.WithToken(sec.token),
					client.WithTLS(&tls.Config{RootCAs: sec.roots, ServerName: "localhost", MinVersion: tls.VersionTLS13}))
				if err != nil {
					errc <- err
					return
				}
				defer cl.Close()
				sess, err := cl.OpenSession(ctx, center)
				if err != nil {
					errc <- fmt.Errorf("open session %s: %w", center, err)
					return
				}
				st := stats[center]
				var inner sync.WaitGroup
				for w := 0; w < o.Concurrency; w++ {
					inner.Add(1)
					go func(w int) {
						defer inner.Done()
						rng := rand.New(rand.NewPCG(o.Seed, uint64(sn*1000+w)))
						term := fmt.Sprintf("T%03d%04d", sn, w)
						var approved []string
						for time.Now().Before(stop) {
							n := seq.Add(1)
							req := &client.Request{Ref: "R" + strconv.FormatInt(n, 10), PAN: demoPAN, Expiry: "2912",
								Currency: "392", Terminal: term, Merchant: "MERCHANT000001"}
							req.Amount = int64(100 + rng.IntN(9000)*100)
							switch k := rng.IntN(20); {
							case k < 12:
								req.Op = ipc.OpSale
							case k < 14:
								req.Op = ipc.OpRefund
							case k < 16:
								req.Op = ipc.OpAuthorize
							case k < 17:
								req.Op = ipc.OpSale
								req.Amount = 5151 // declined by the center's rules
							default:
								if len(approved) == 0 {
									req.Op = ipc.OpSale
									break
								}
								req.Op = ipc.OpCancel
								req.OrigRef = approved[len(approved)-1]
								approved = approved[:len(approved)-1]
								req.Amount = 0
							}
							atomic.AddInt64(&st.Sent, 1)
							res, err := sess.Do(ctx, req)
							if err != nil {
								atomic.AddInt64(&st.Other, 1)
								key := err.Error()
								var ie *ipc.Error
								if errors.As(err, &ie) {
									key = fmt.Sprintf("error %d (%s)", ie.Code, ie.Code)
								}
								v, _ := st.Errors.LoadOrStore(key, new(atomic.Int64))
								v.(*atomic.Int64).Add(1)
								continue
							}
							switch res.Result {
							case ipc.ResultApproved:
								atomic.AddInt64(&st.Approved, 1)
								if req.Op == ipc.OpSale {
									approved = append(approved, req.Ref)
								}
							case ipc.ResultDeclined:
								atomic.AddInt64(&st.Declined, 1)
							case ipc.ResultCancelled:
								atomic.AddInt64(&st.Cancelled, 1)
							default:
								atomic.AddInt64(&st.Other, 1)
							}
						}
					}(w)
				}
				inner.Wait()
				if err := sess.CloseSession(ctx); err != nil {
					errc <- fmt.Errorf("close session: %w", err)
				}
			}(c, s)
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		return nil, err
	}
	return stats, nil
}

// Print writes the summary table.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "\n== summary: %.0f TPS over %v\n", s.TPS, s.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "%-8s %8s %9s %9s %9s %6s   %-28s %s\n", "center", "sent", "approved", "declined", "cancelled", "other", "debits / credits (ours)", "balance")
	for _, c := range s.Centers {
		bal := "OUT OF BALANCE"
		if c.InBalance {
			bal = "in balance"
		}
		fmt.Fprintf(w, "%-8s %8d %9d %9d %9d %6d   %6d/%-8d %6d/%-8d %s (%s)\n", c.Center, c.Sent, c.Approved, c.Declined, c.Cancelled, c.Other,
			c.Totals.DebitsCount, c.Totals.DebitsAmount, c.Totals.CreditsCount, c.Totals.CreditsAmount, bal, c.How)
		if c.Errors != nil {
			c.Errors.Range(func(k, v any) bool {
				fmt.Fprintf(w, "         %6d × %s\n", v.(*atomic.Int64).Load(), k)
				return true
			})
		}
	}
}
