package ctl

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// fakeHandler records every call and answers with canned values; errs makes
// a command fail, outOfBalance makes cutreq/reconcile report differing totals.
type fakeHandler struct {
	mu           sync.Mutex
	calls        []string
	errs         map[string]error
	outOfBalance bool
	block        chan struct{} // when set, cutreq waits on it or its ctx
	panicOn      string
}

func newFake() *fakeHandler { return &fakeHandler{errs: map[string]error{}} }

func (f *fakeHandler) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := fmt.Sprintf(format, args...)
	f.calls = append(f.calls, call)
	cmd, _, _ := strings.Cut(call, " ")
	if f.panicOn == cmd {
		panic("boom in " + cmd)
	}
	return f.errs[cmd]
}

func (f *fakeHandler) setErr(cmd string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[cmd] = err
}

func (f *fakeHandler) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

var (
	ourRow = TotalsRow{Center: "cardnet", Date: "20261123", CreditsCount: 1, CreditsAmount: 500,
		DebitsCount: 12, DebitsAmount: 120000, DebitReversalsCount: 1, DebitReversalsAmount: 10000,
		Reconciliation: ReconcileInBalance}
	cafisRow = TotalsRow{Center: "cafis", Date: "20261123", DebitsCount: 3, DebitsAmount: 3000,
		Reconciliation: ReconcileNone}
)

func (f *fakeHandler) reconciliation(center, date string) *ReconcileResult {
	r := &ReconcileResult{Center: center, Date: date, Result: ReconcileInBalance, Ours: ourRow, Theirs: ourRow}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.outOfBalance {
		r.Result = ReconcileOutOfBalance
		r.Theirs.DebitsCount++
		r.Theirs.DebitsAmount += 700
		r.Ours.Reconciliation, r.Theirs.Reconciliation = ReconcileOutOfBalance, ReconcileOutOfBalance
	}
	return r
}

func (f *fakeHandler) Signon(ctx context.Context, center string) error {
	return f.record("signon %s", center)
}

func (f *fakeHandler) Signoff(ctx context.Context, center string) error {
	return f.record("signoff %s", center)
}

func (f *fakeHandler) Cutreq(ctx context.Context, center, date string) (*CutoverResult, error) {
	if err := f.record("cutreq %s %s", center, date); err != nil {
		return nil, err
	}
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if date == "" {
		date = "20261124"
	}
	res := &CutoverResult{Center: center, ClosedDate: "20261123", NewDate: date}
	if center == "cardnet" {
		res.Reconciliation = f.reconciliation(center, "20261123")
	}
	return res, nil
}

func (f *fakeHandler) Recovery(ctx context.Context, center string) (*RecoveryReport, error) {
	if err := f.record("recovery %s", center); err != nil {
		return nil, err
	}
	return &RecoveryReport{Center: center, InFlight: 3, CancelsSent: 2, ConfirmationsSent: 1,
		AdvicesResent: 4, Cancelled: 1, Stood: 2, Done: true}, nil
}

func (f *fakeHandler) Shutdown(ctx context.Context, force bool) error {
	return f.record("shutdown %t", force)
}

func (f *fakeHandler) Status(ctx context.Context) (*Status, error) {
	if err := f.record("status"); err != nil {
		return nil, err
	}
	return &Status{
		Sessions:  3,
		Recovery:  RecoveryNone,
		StartedAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		Centers: []CenterStatus{
			{Name: "cafis", SignedOn: true, BusinessDate: "20261123", Sessions: 1,
				Lines: []LineStatus{{Addr: "127.0.0.1:7800", State: LineSignedOn}}},
			{Name: "cardnet", SignedOn: true, BusinessDate: "20261123", Sessions: 2, InFlight: 5, AdviceDepth: 1,
				Lines: []LineStatus{
					{Addr: "127.0.0.1:7700", State: LineSignedOn, InFlight: 5},
					{Addr: "127.0.0.1:7701", State: LineConnecting, Reconnects: 2},
				},
				LastReconciliation: f.reconciliation("cardnet", "20261122")},
		},
	}, nil
}

func (f *fakeHandler) Totals(ctx context.Context, center, date string) ([]TotalsRow, error) {
	if err := f.record("totals %s %s", center, date); err != nil {
		return nil, err
	}
	var rows []TotalsRow
	for _, r := range []TotalsRow{cafisRow, ourRow} {
		if (center == "" || r.Center == center) && (date == "" || r.Date == date) {
			rows = append(rows, r)
		}
	}
	return rows, nil
}

func (f *fakeHandler) Reconcile(ctx context.Context, center, date string) (*ReconcileResult, error) {
	if err := f.record("reconcile %s %s", center, date); err != nil {
		return nil, err
	}
	if date == "" {
		date = "20261123"
	}
	return f.reconciliation(center, date), nil
}
