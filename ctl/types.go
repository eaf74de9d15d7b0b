package ctl

import (
	"context"
	"time"
)

// Handler is what the daemon implements; Serve calls it once per control
// request. Every method may take long (a CARDNET cutreq waits for the center's
// cutover response and then for the 精査 reconciliation exchange): ctx carries
// the client's deadline, capped by ServerOptions.RequestTimeout, and is
// cancelled when the client disconnects or Serve's own context ends.
//
// Methods return a *Error (see NewError and the Err* sentinels, possibly
// wrapped) so that fxctl can show a stable code; any other error reaches the
// operator as code "internal". Serve never calls a Handler method with a
// center or date that is lexically invalid (see ValidCenterName, ValidDate);
// whether a center is configured is the Handler's decision (ErrUnknownCenter).
// Calls may be concurrent (one per control connection).
type Handler interface {
	// Signon signs a center on (開局/サインオン). Signing on a center that is
	// already signed on succeeds.
	Signon(ctx context.Context, center string) error
	// Signoff signs a center off (閉局/サインオフ).
	Signoff(ctx context.Context, center string) error
	// Cutreq closes the current business date (カットオーバー). date is the new
	// cut-target date YYYYMMDD, or "" for the default (the next day). For
	// CARDNET the result carries the reconciliation of the closed date; when it
	// is out of balance the Handler returns the result and may also return
	// ErrOutOfBalance (the client reports out of balance either way).
	Cutreq(ctx context.Context, center, date string) (*CutoverResult, error)
	// Recovery settles the messages left in flight by an unclean stop
	// (リカバリ処理): CAFIS cancel / cancel-confirmation commands, CARDNET system
	// cancels and advice resends. Idempotent.
	Recovery(ctx context.Context, center string) (*RecoveryReport, error)
	// Shutdown stops the daemon (FX_CtrlShutdown): without force it refuses
	// new sessions, drains what is in flight and writes the clean-shutdown
	// marker; with force it exits at once (recovery is then required). The
	// Handler returns first and exits afterwards: Serve writes the answer
	// before it returns, so the daemon should cancel Serve's context and wait
	// for Serve to return before exiting.
	Shutdown(ctx context.Context, force bool) error
	// Status reports centers, lines, sessions and the recovery state.
	Status(ctx context.Context) (*Status, error)
	// Totals reports settlement totals. center "" means every center; date ""
	// means the current date plus every unreconciled or last closed date.
	Totals(ctx context.Context, center, date string) ([]TotalsRow, error)
	// Reconcile runs the reconciliation (精査) of one center's date ("" = the
	// last closed date) against the center's totals.
	Reconcile(ctx context.Context, center, date string) (*ReconcileResult, error)
}

// Reconciliation outcomes as they appear in TotalsRow.Reconciliation and
// ReconcileResult.Result.
const (
	ReconcileNone         = "none"
	ReconcileInBalance    = "in_balance"
	ReconcileOutOfBalance = "out_of_balance"
)

// Line states (DESIGN §3: down → connecting → connected → signed on).
const (
	LineDown       = "down"
	LineConnecting = "connecting"
	LineConnected  = "connected"
	LineSignedOn   = "signed_on"
)

// Recovery states of the daemon as a whole.
const (
	RecoveryNone     = "none"
	RecoveryRequired = "required"
	RecoveryRunning  = "running"
)

// CutoverResult is the answer to Cutreq: the date that was closed and the
// date now current. Reconciliation is set when the center reconciles at
// cutover (CARDNET 0500/0510); CAFIS has no reconciliation message.
type CutoverResult struct {
	Center         string           `json:"center"`
	ClosedDate     string           `json:"closed_date"`
	NewDate        string           `json:"new_date"`
	Reconciliation *ReconcileResult `json:"reconciliation,omitempty"`
}

// ReconcileResult compares our totals of one center and date with the
// center's (精査). Result is ReconcileInBalance or ReconcileOutOfBalance.
type ReconcileResult struct {
	Center string    `json:"center"`
	Date   string    `json:"date"`
	Result string    `json:"result"`
	Ours   TotalsRow `json:"ours"`
	Theirs TotalsRow `json:"theirs"`
}

// RecoveryReport counts what recovery did for one center. InFlight is the
// number of in-flight messages found; Cancelled and Stood are the settled
// outcomes (the center had approved and now cancelled / the original stands);
// Failed are those still unsettled. Done is true when nothing is left and
// business may resume for this center.
type RecoveryReport struct {
	Center            string `json:"center"`
	InFlight          int    `json:"in_flight"`
	CancelsSent       int    `json:"cancels_sent"`
	ConfirmationsSent int    `json:"confirmations_sent"`
	AdvicesResent     int    `json:"advices_resent"`
	Cancelled         int    `json:"cancelled"`
	Stood             int    `json:"stood"`
	Failed            int    `json:"failed"`
	Done              bool   `json:"done"`
}

// Status is the daemon's state as `fxctl status` shows it. Centers are in
// configuration order; fxctl uses that order for signon/signoff/recovery of
// every center.
type Status struct {
	Centers      []CenterStatus `json:"centers"`
	Sessions     int            `json:"sessions"`
	Recovery     string         `json:"recovery"`
	StartedAt    time.Time      `json:"started_at,omitzero"`
	ShuttingDown bool           `json:"shutting_down,omitempty"`
}

// CenterStatus is one center's part of Status. AdviceDepth is the number of
// advices (アドバイス電文) queued store-and-forward, not yet acknowledged.
type CenterStatus struct {
	Name               string           `json:"name"`
	SignedOn           bool             `json:"signed_on"`
	BusinessDate       string           `json:"business_date"`
	Lines              []LineStatus     `json:"lines"`
	Sessions           int              `json:"sessions"`
	InFlight           int              `json:"in_flight"`
	AdviceDepth        int              `json:"advice_depth"`
	RecoveryRequired   bool             `json:"recovery_required"`
	LastReconciliation *ReconcileResult `json:"last_reconciliation,omitempty"`
}

// LineStatus is one line (center address) of a center. State is one of
// LineDown, LineConnecting, LineConnected, LineSignedOn.
type LineStatus struct {
	Addr       string `json:"addr"`
	State      string `json:"state"`
	InFlight   int    `json:"in_flight"`
	Reconnects int    `json:"reconnects"`
}

// TotalsRow holds the settlement totals of one center and business date,
// counts and amounts in minor units (docs/ARCHITECTURE.md "Settlement
// categories"). The JSON names are the DESIGN §5 contract of
// `fxctl totals --json`; do not add fields here.
type TotalsRow struct {
	Center                string `json:"center"`
	Date                  string `json:"date"`
	CreditsCount          int64  `json:"credits_count"`
	CreditsAmount         int64  `json:"credits_amount"`
	CreditReversalsCount  int64  `json:"credit_reversals_count"`
	CreditReversalsAmount int64  `json:"credit_reversals_amount"`
	DebitsCount           int64  `json:"debits_count"`
	DebitsAmount          int64  `json:"debits_amount"`
	DebitReversalsCount   int64  `json:"debit_reversals_count"`
	DebitReversalsAmount  int64  `json:"debit_reversals_amount"`
	Reconciliation        string `json:"reconciliation"`
}

// Net is the amount that settles, signed as CARDNET DE97: debits − debit
// reversals − credits + credit reversals.
func (t TotalsRow) Net() int64 {
	return t.DebitsAmount - t.DebitReversalsAmount - t.CreditsAmount + t.CreditReversalsAmount
}

// SameTotals reports whether two rows carry the same counts and amounts
// (center, date and reconciliation state are not compared).
func (t TotalsRow) SameTotals(o TotalsRow) bool {
	return t.CreditsCount == o.CreditsCount && t.CreditsAmount == o.CreditsAmount &&
		t.CreditReversalsCount == o.CreditReversalsCount && t.CreditReversalsAmount == o.CreditReversalsAmount &&
		t.DebitsCount == o.DebitsCount && t.DebitsAmount == o.DebitsAmount &&
		t.DebitReversalsCount == o.DebitReversalsCount && t.DebitReversalsAmount == o.DebitReversalsAmount
}
