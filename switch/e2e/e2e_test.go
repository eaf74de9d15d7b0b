package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/bench/spawn"
	"github.com/fxswitch/fxswitch/ctl"
	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
	"github.com/fxswitch/fxswitch/sim/journal"
)

var bins *spawn.Binaries

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fxswitch-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	bins, err = Build(ctx, dir)
	cancel()
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// newWorld starts fxsim and fxd in the test's directory; on failure the
// programs' logs are shown.
func newWorld(t *testing.T, o Options) (*World, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	o.Bins = bins
	o.Dir = t.TempDir()
	w, err := NewWorld(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Close()
		if t.Failed() {
			showLogs(t, o.Dir)
			keep(t, o.Dir)
		}
	})
	if err := w.StartFXD(ctx); err != nil {
		t.Fatal(err)
	}
	return w, ctx
}

// keep copies the logs, config and journal of a failed test to a directory
// that outlives it, for reading after the run.
func keep(t *testing.T, dir string) {
	dst := filepath.Join(os.TempDir(), "fxswitch-e2e-failed", strings.ReplaceAll(t.Name(), "/", "_"))
	_ = os.RemoveAll(dst)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			_ = os.WriteFile(filepath.Join(dst, filepath.Base(p)), b, 0o644)
		}
	}
	t.Logf("logs, config and journal kept in %s", dst)
}

func showLogs(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, p := range logs {
		b, _ := os.ReadFile(p)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("--- last lines of %s:\n%s", filepath.Base(p), strings.Join(lines, "\n"))
	}
}

func ctlOK(t *testing.T, ctx context.Context, w *World, args ...string) string {
	t.Helper()
	out, err := w.Ctl(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// settle resolves every unknown outcome by inquiry, waits until nothing is
// in flight, and collects fxd's totals for every date anyone mentions.
func settle(t *testing.T, ctx context.Context, w *World, l *Ledger) map[journal.DateKey]ctl.TotalsRow {
	t.Helper()
	if err := Resolve(ctx, w.IPCSock, l, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := w.WaitIdle(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	v, err := w.ReadJournal()
	if err != nil {
		t.Fatal(err)
	}
	ours, err := CollectTotals(ctx, w, v, l)
	if err != nil {
		t.Fatal(err)
	}
	return ours
}

// verify stops fxsim (its end-of-day records complete the journal) and
// checks every transaction and every total against the journal.
func verify(t *testing.T, w *World, l *Ledger, ours map[journal.DateKey]ctl.TotalsRow) *journal.View {
	t.Helper()
	w.StopSim()
	v, err := w.ReadJournal()
	if err != nil {
		t.Fatal(err)
	}
	bad := append(CheckOutcomes(v, l), CompareTotals(ours, v)...)
	for i, b := range bad {
		if i == 30 {
			t.Errorf("... and %d more", len(bad)-30)
			break
		}
		t.Error(b)
	}
	t.Logf("ledger: %v; journal: %d messages, %d transactions", l.Counts(), v.Messages, len(v.Txns))
	return v
}

func mustCount(t *testing.T, l *Ledger, what string, min int) {
	t.Helper()
	if n := l.Counts()[what]; n < min {
		t.Fatalf("%q: %d, want at least %d (%v)", what, n, min, l.Counts())
	}
}

// shutdown runs the end of the daily procedure: signoff, clean shutdown, exit 0.
func shutdown(t *testing.T, ctx context.Context, w *World, centers ...string) {
	t.Helper()
	for _, c := range centers {
		ctlOK(t, ctx, w, "signoff", "--center", c)
	}
	ctlOK(t, ctx, w, "shutdown")
	if code, err := w.FXD.Wait(40 * time.Second); err != nil || code != 0 {
		t.Fatalf("fxd exit code %d, %v", code, err)
	}
}

// TestCafisDaily is seed 2.4.1: start → signon → sessions and traffic →
// close sessions → cutreq (local cut-target date) → signoff → shutdown.
func TestCafisDaily(t *testing.T) {
	w, ctx := newWorld(t, Options{Centers: []string{"cafis"}})
	ctlOK(t, ctx, w, "signon", "--center", "cafis")
	l := NewLedger()
	tr, err := StartTraffic(ctx, TrafficOptions{Sock: w.IPCSock, Center: "cafis", Sessions: 3, Concurrency: 4,
		Duration: 2 * time.Second, Seed: 241, Prefix: "d", Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Wait(); err != nil {
		t.Fatal(err)
	}
	mustCount(t, l, "final approved", 50)
	mustCount(t, l, "final declined", 1)
	mustCount(t, l, "final cancelled", 1)
	res, err := w.Cutreq(ctx, "cafis")
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().Format("20060102")
	if res.ClosedDate != today || res.NewDate <= res.ClosedDate || res.Reconciliation != nil {
		t.Fatalf("cutreq: %+v (CAFIS moves the local date, no reconciliation message)", res)
	}
	st, err := w.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Centers[0].BusinessDate != res.NewDate {
		t.Fatalf("status business date %s, want %s", st.Centers[0].BusinessDate, res.NewDate)
	}
	ours := settle(t, ctx, w, l)
	shutdown(t, ctx, w, "cafis")
	v := verify(t, w, l, ours)
	if v.Totals[journal.DateKey{Center: "cafis", Date: today}].DebitsCount == 0 {
		t.Fatal("the center counted no debits")
	}
}

// TestCafis24Hour is seed 2.4.2: fxd runs on; one app is killed mid-day
// with requests in flight and restarted, and learns the outcome of its last
// references by inquiry, while another app keeps sending; cutreq moves the
// cut-target date during traffic and the open sessions are told.
func TestCafis24Hour(t *testing.T) {
	// Slow answers, so that the killed app has requests in flight.
	w, ctx := newWorld(t, Options{Centers: []string{"cafis"}, Faults: `faults:
  - {center: cafis, kind: "0100", action: delay, rate: 0.3, delay_ms: 100, max_delay_ms: 300}
`})
	ctlOK(t, ctx, w, "signon", "--center", "cafis")
	l := NewLedger()
	steady, err := StartTraffic(ctx, TrafficOptions{Sock: w.IPCSock, Center: "cafis", Sessions: 2, Concurrency: 4,
		Duration: 4 * time.Second, Seed: 242, Prefix: "steady", Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	notices := watchNotices(steady.Sessions)
	crashing, err := StartTraffic(ctx, TrafficOptions{Sock: w.IPCSock, Center: "cafis", Sessions: 2, Concurrency: 8,
		Duration: time.Minute, Seed: 2421, Prefix: "app1", Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	crashing.Abort()
	if err := crashing.Wait(); err != nil {
		t.Fatal(err)
	}
	lost := l.Counts()["told lost"]
	if lost == 0 {
		t.Fatalf("the killed app had nothing in flight (%v)", l.Counts())
	}
	// The app restarts: first it asks about its last references, then it
	// goes back to business.
	if err := Resolve(ctx, w.IPCSock, l, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, e := range l.Entries() {
		if strings.HasPrefix(e.Ref, "app1-") && e.Told == ToldLost && e.Final == nil && !e.NeverSeen {
			t.Fatalf("%s: no outcome after inquiry", e.Ref)
		}
	}
	restarted, err := StartTraffic(ctx, TrafficOptions{Sock: w.IPCSock, Center: "cafis", Sessions: 2, Concurrency: 4,
		Duration: time.Second, Seed: 2422, Prefix: "app1b", Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Cutreq(ctx, "cafis")
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := steady.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := notices.wait(ipc.NoticeCutover, res.NewDate, len(steady.Sessions), 5*time.Second); got < len(steady.Sessions) {
		t.Fatalf("%d of %d sessions were told of the cutover to %s", got, len(steady.Sessions), res.NewDate)
	}
	// Traffic went on in both dates.
	dates := map[string]bool{}
	for _, e := range l.Entries() {
		if e.Final != nil && e.Final.Result == ipc.ResultApproved {
			dates[e.Final.BusinessDate] = true
		}
	}
	if !dates[res.ClosedDate] || !dates[res.NewDate] {
		t.Fatalf("approvals in dates %v, want both %s and %s", dates, res.ClosedDate, res.NewDate)
	}
	ours := settle(t, ctx, w, l)
	t.Logf("killed app: %d requests lost in flight, settled by inquiry", lost)
	verify(t, w, l, ours)
}

// noticeLog collects the notices of several sessions.
type noticeLog struct {
	mu   sync.Mutex
	seen map[string]map[int]bool // kind+detail → sessions
}

func watchNotices(sessions []*client.Session) *noticeLog {
	n := &noticeLog{seen: map[string]map[int]bool{}}
	for i, s := range sessions {
		go func(i int, ch <-chan client.Notice) {
			for nt := range ch {
				n.mu.Lock()
				k := nt.Kind + " " + nt.Detail
				if n.seen[k] == nil {
					n.seen[k] = map[int]bool{}
				}
				n.seen[k][i] = true
				n.mu.Unlock()
			}
		}(i, s.Notices())
	}
	return n
}

// wait returns how many sessions saw the notice, waiting up to timeout for want.
func (n *noticeLog) wait(kind, detail string, want int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n.mu.Lock()
		got := len(n.seen[kind+" "+detail])
		n.mu.Unlock()
		if got >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kinds lists the distinct details of one notice kind seen by every one of want sessions.
func (n *noticeLog) details(kind string, want int) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for k, s := range n.seen {
		if strings.HasPrefix(k, kind+" ") && len(s) >= want {
			out = append(out, strings.TrimPrefix(k, kind+" "))
		}
	}
	return out
}

// TestCardnetDaily is seed 2.3.1: signon → traffic (with advices) → close
// sessions → cutreq: cutover request and response, then reconciliation
// (精査) of the closed date in balance → signoff → shutdown.
func TestCardnetDaily(t *testing.T) {
	w, ctx := newWorld(t, Options{Centers: []string{"cardnet"}})
	ctlOK(t, ctx, w, "signon", "--center", "cardnet")
	l := NewLedger()
	tr, err := StartTraffic(ctx, TrafficOptions{Sock: w.IPCSock, Center: "cardnet", Sessions: 3, Concurrency: 4,
		Duration: 2 * time.Second, Seed: 231, Prefix: "d", Advice: true, Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Wait(); err != nil {
		t.Fatal(err)
	}
	mustCount(t, l, "final approved", 50)
	mustCount(t, l, "final declined", 1)
	mustCount(t, l, "final cancelled", 1)
	// Advices are acknowledged store-and-forward; let them reach the center
	// before the date closes so that the day is complete.
	if err := w.WaitIdle(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	res, err := w.Cutreq(ctx, "cardnet")
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().Format("20060102")
	rr := res.Reconciliation
	if res.ClosedDate != today || rr == nil || rr.Result != ctl.ReconcileInBalance || !rr.Ours.SameTotals(rr.Theirs) {
		t.Fatalf("cutreq: %+v, reconciliation %+v", res, rr)
	}
	row, err := w.Totals(ctx, "cardnet", res.ClosedDate)
	if err != nil {
		t.Fatal(err)
	}
	if row.Reconciliation != ctl.ReconcileInBalance || !row.SameTotals(rr.Ours) || row.DebitsCount == 0 {
		t.Fatalf("totals of the closed date %+v, reconciliation said %+v", row, rr.Ours)
	}
	ours := settle(t, ctx, w, l)
	shutdown(t, ctx, w, "cardnet")
	v := verify(t, w, l, ours)
	if eod, ok := v.EOD[journal.DateKey{Center: "cardnet", Date: res.ClosedDate}]; !ok || !row.SameTotals(rowOf(eod)) {
		t.Fatalf("center's end-of-day for %s: %+v (present %v), ours %+v", res.ClosedDate, eod, ok, row)
	}
}

func rowOf(t journal.Totals) ctl.TotalsRow { return row(journal.DateKey{}, t) }

// TestCardnet24Hour is seed 2.3.2: the center starts cutover on its timer
// (every 2 s here) during traffic; fxd answers, moves its date, tells every
// session, and reconciles the closed date after reconcile_delay (500 ms).
func TestCardnet24Hour(t *testing.T) {
	w, ctx := newWorld(t, Options{Centers: []string{"cardnet"}, SimArgs: []string{"--cutover-every", "2s"},
		CenterYAML: map[string]string{"cardnet": "reconcile_delay: 500ms, drain_timeout: 5s"}})
	ctlOK(t, ctx, w, "signon", "--center", "cardnet")
	l := NewLedger()
	tr, err := StartTraffic(ctx, TrafficOptions{Sock: w.IPCSock, Center: "cardnet", Sessions: 3, Concurrency: 4,
		Duration: 5 * time.Second, Seed: 232, Prefix: "h", Advice: true, Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	notices := watchNotices(tr.Sessions)
	if err := tr.Wait(); err != nil {
		t.Fatal(err)
	}
	newDates := notices.details(ipc.NoticeCutover, len(tr.Sessions))
	if len(newDates) < 1 {
		t.Fatalf("no cutover notice reached every session: %v", notices.seen)
	}
	if err := Resolve(ctx, w.IPCSock, l, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// Every date some transaction carried, other than the current one, must
	// be closed by the center and reconciled in balance after the delay.
	dates := map[string]bool{}
	for _, e := range l.Entries() {
		if e.Final != nil {
			dates[e.Final.BusinessDate] = true
		}
	}
	if len(dates) < 2 {
		t.Fatalf("traffic carried dates %v, want at least two (the center's timed cutover)", dates)
	}
	reconciled := 0
	for d := range dates {
		st, err := w.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d >= st.Centers[0].BusinessDate {
			continue
		}
		if err := waitInBalance(ctx, w, "cardnet", d, 15*time.Second); err != nil {
			t.Fatal(err)
		}
		reconciled++
	}
	if reconciled == 0 {
		t.Fatalf("no closed date reconciled (dates %v)", dates)
	}
	ours := settle(t, ctx, w, l)
	verify(t, w, l, ours)
	t.Logf("%d closed dates reconciled in balance; cutover notices %v", reconciled, newDates)
}

func waitInBalance(ctx context.Context, w *World, center, date string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		row, err := w.Totals(ctx, center, date)
		if err != nil {
			return err
		}
		switch row.Reconciliation {
		case ctl.ReconcileInBalance:
			return nil
		case ctl.ReconcileOutOfBalance:
			return fmt.Errorf("%s %s out of balance: %+v", center, date, row)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s %s not reconciled after %v: %+v", center, date, timeout, row)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
