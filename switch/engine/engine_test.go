package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ctl"
	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
	"github.com/fxswitch/fxswitch/sim"
	"github.com/fxswitch/fxswitch/switch/config"
	"github.com/fxswitch/fxswitch/wal"
)

// harness runs an in-process simulator and engine in a temp dir.
type harness struct {
	t   *testing.T
	sim *sim.Sim
	e   *Engine
	dir string
	cfg *config.Config
}

func newHarness(t *testing.T, simOpts sim.Options, tune func(*config.Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	simOpts.CardnetAddr = "127.0.0.1:0"
	simOpts.CafisAddr = "127.0.0.1:0"
	if simOpts.JournalPath == "" {
		simOpts.JournalPath = filepath.Join(dir, "journal.jsonl")
	}
	s, err := sim.New(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.IPC = config.IPC{Unix: "fxd.sock"}
	cfg.Ctl = config.Ctl{Unix: "ctl.sock"}
	cfg.Centers = map[string]config.Center{
		"cardnet": {Lines: []string{s.CardnetAddr(), s.CardnetAddr()}, Timeout: config.Duration(2 * time.Second)},
		"cafis":   {Lines: []string{s.CafisAddr()}, Timeout: config.Duration(2 * time.Second)},
	}
	cfg.EnsureDefaults()
	if tune != nil {
		tune(cfg)
	}
	h := &harness{t: t, sim: s, dir: dir, cfg: cfg}
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	e, err := New(Options{Config: h.cfg})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.e = e
	h.t.Cleanup(e.Close)
}

func (h *harness) session(center string) (*client.Client, *client.Session) {
	h.t.Helper()
	ctx := context.Background()
	cl, err := client.Dial(ctx, "unix", h.e.IPCUnix)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { cl.Close() })
	s, err := cl.OpenSession(ctx, center)
	if err != nil {
		h.t.Fatal(err)
	}
	return cl, s
}

func sale(ref string, amount int64) *client.Request {
	return &client.Request{Op: ipc.OpSale, Ref: ref, PAN: "4111111111111111", Expiry: "2912", Amount: amount, Currency: "392", Terminal: "T0000001", Merchant: "M1"}
}

func TestDailyCardnetInProcess(t *testing.T) {
	h := newHarness(t, sim.Options{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.e.Signon(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
	_, s := h.session("cardnet")
	var approvedAmt int64
	for i := 0; i < 20; i++ {
		amt := int64(1000 + i*100)
		if i == 5 {
			amt = 5151
		}
		res, err := s.Do(ctx, sale("S"+strconv.Itoa(i), amt))
		if err != nil {
			t.Fatalf("sale %d: %v", i, err)
		}
		want := ipc.ResultApproved
		if amt%100 == 51 {
			want = ipc.ResultDeclined
		}
		if res.Result != want {
			t.Fatalf("sale %d: result %s, want %s", i, res.Result, want)
		}
		if want == ipc.ResultApproved {
			approvedAmt += amt
		}
		// The retrieval reference number is the one sent in DE37: MMDD, 00, STAN.
		if stan, _ := strconv.Atoi(res.STAN); len(res.RRN) != 12 || res.RRN != res.BusinessDate[4:]+"00"+fmt.Sprintf("%06d", stan) {
			t.Fatalf("sale %d: RRN %q for STAN %s date %s", i, res.RRN, res.STAN, res.BusinessDate)
		}
	}
	// Idempotency: the same reference and content gives the first outcome.
	res, err := s.Do(ctx, sale("S1", 1100))
	if err != nil || res.Result != ipc.ResultApproved {
		t.Fatalf("repeat: %v %v", res, err)
	}
	_, err = s.Do(ctx, sale("S1", 9999))
	var ie *ipc.Error
	if !errors.As(err, &ie) || ie.Code != ipc.CodeReferenceReused {
		t.Fatalf("reused reference: %v", err)
	}
	// Cancel of an approved sale.
	res, err = s.Do(ctx, &client.Request{Op: ipc.OpCancel, Ref: "C1", OrigRef: "S2", Terminal: "T0000001"})
	if err != nil || res.Result != ipc.ResultCancelled {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	// Inquiry.
	res, err = s.Inquire(ctx, "S3")
	if err != nil || res.Result != ipc.ResultApproved {
		t.Fatalf("inquiry: %+v %v", res, err)
	}
	cut, err := h.e.Cutreq(ctx, "cardnet", "")
	if err != nil {
		t.Fatalf("cutreq: %v", err)
	}
	if cut.Reconciliation == nil || cut.Reconciliation.Result != ctl.ReconcileInBalance {
		t.Fatalf("reconciliation: %+v", cut.Reconciliation)
	}
	rows, err := h.e.Totals(ctx, "cardnet", cut.ClosedDate)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].DebitsCount != 19 || rows[0].DebitsAmount != approvedAmt || rows[0].DebitReversalsCount != 1 || rows[0].DebitReversalsAmount != 1200 {
		t.Fatalf("totals: %+v (approved amount %d)", rows[0], approvedAmt)
	}
	st, _ := h.sim.Totals("cardnet", cut.ClosedDate)
	if st.DebitsCount != 19 || st.DebitReversalsCount != 1 {
		t.Fatalf("center totals: %+v", st)
	}
	// References are unique per business date: after cutover "S1" is a new transaction.
	res, err = s.Do(ctx, sale("S1", 7700))
	if err != nil || res.Result != ipc.ResultApproved || res.BusinessDate != cut.NewDate {
		t.Fatalf("reference reused on the next date: %+v %v", res, err)
	}
	if err := h.e.Signoff(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
}

func TestDailyCafisInProcess(t *testing.T) {
	h := newHarness(t, sim.Options{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.e.Signon(ctx, "cafis"); err != nil {
		t.Fatal(err)
	}
	_, s := h.session("cafis")
	for i := 0; i < 10; i++ {
		res, err := s.Do(ctx, sale("S"+strconv.Itoa(i), int64(1000+i)))
		if err != nil || res.Result != ipc.ResultApproved {
			t.Fatalf("sale %d: %+v %v", i, res, err)
		}
	}
	res, err := s.Do(ctx, &client.Request{Op: ipc.OpCancel, Ref: "C1", OrigRef: "S2"})
	if err != nil || res.Result != ipc.ResultCancelled {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	cut, err := h.e.Cutreq(ctx, "cafis", "")
	if err != nil {
		t.Fatalf("cutreq: %v", err)
	}
	rows, err := h.e.Totals(ctx, "cafis", cut.ClosedDate)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := h.sim.Totals("cafis", cut.ClosedDate)
	if rows[0].DebitsCount != 10 || rows[0].DebitReversalsCount != 1 || st.DebitsCount != 10 || st.DebitReversalsCount != 1 || st.DebitsAmount != rows[0].DebitsAmount {
		t.Fatalf("totals: ours %+v center %+v", rows[0], st)
	}
}

func TestRetentionAfterReconciliation(t *testing.T) {
	h := newHarness(t, sim.Options{Date: "20261123"}, func(c *config.Config) { c.RetentionDays = 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.e.Signon(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
	_, s := h.session("cardnet")
	day := func(ref, next string) {
		t.Helper()
		if res, err := s.Do(ctx, sale(ref, 1000)); err != nil || res.Result != ipc.ResultApproved {
			t.Fatalf("sale %s: %+v %v", ref, res, err)
		}
		if cut, err := h.e.Cutreq(ctx, "cardnet", next); err != nil || cut.Reconciliation.Result != ctl.ReconcileInBalance {
			t.Fatalf("cutreq to %s: %+v %v", next, cut, err)
		}
	}
	first := h.e.centers["cardnet"].currentDate()
	day("D1", "20301001")
	if _, _, err := h.e.wal.LookupRef("cardnet", "", "D1"); err != nil {
		t.Fatalf("the reconciled date is within retention: %v", err)
	}
	day("D2", "20301002")
	// Reconciling 20301001 deletes dates before 20300930: the first date.
	if _, _, err := h.e.wal.LookupRef("cardnet", "", "D1"); !errors.Is(err, wal.ErrNotFound) {
		t.Fatalf("records of %s still there: %v", first, err)
	}
	if _, _, err := h.e.wal.LookupRef("cardnet", "", "D2"); err != nil {
		t.Fatalf("records of the retained date: %v", err)
	}
}

// A second cancel of an already cancelled sale finds nothing to cancel at
// the center: it is declined and counts nothing, on both sides.
func TestDoubleCancel(t *testing.T) {
	for _, center := range []string{"cardnet", "cafis"} {
		t.Run(center, func(t *testing.T) {
			h := newHarness(t, sim.Options{}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := h.e.Signon(ctx, center); err != nil {
				t.Fatal(err)
			}
			_, s := h.session(center)
			if res, err := s.Do(ctx, sale("O1", 3000)); err != nil || res.Result != ipc.ResultApproved {
				t.Fatalf("sale: %+v %v", res, err)
			}
			want := []ipc.Result{ipc.ResultCancelled, ipc.ResultDeclined}
			for i, ref := range []string{"X1", "X2"} {
				res, err := s.Do(ctx, &client.Request{Op: ipc.OpCancel, Ref: ref, OrigRef: "O1", Terminal: "T0000001"})
				if err != nil || res.Result != want[i] {
					t.Fatalf("cancel %s: %+v %v, want %s", ref, res, err, want[i])
				}
			}
			date := h.e.centers[center].currentDate()
			ours, _ := h.e.wal.Totals(center, date)
			theirs, _ := h.sim.Totals(center, date)
			if ours.DebitReversalsCount != 1 || theirs.DebitReversalsCount != 1 || ours.DebitReversalsAmount != theirs.DebitReversalsAmount {
				t.Fatalf("totals ours %+v center %+v", ours, theirs)
			}
		})
	}
}
