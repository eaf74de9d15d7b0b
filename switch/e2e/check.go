package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/fxswitch/fxswitch/ctl"
	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/sim/journal"
)

// key is the journal's name of the transaction an app was answered about.
func key(center string, r *responseLike) (journal.TxnKey, bool) {
	n, err := strconv.ParseUint(r.stan, 10, 32)
	if err != nil || r.date == "" {
		return journal.TxnKey{}, false
	}
	return journal.TxnKey{Center: center, Date: r.date, Key: fmt.Sprintf("%06d", n)}, true
}

type responseLike struct{ stan, date string }

// originalKinds are the journal MTIs / kinds of requests that an app
// originates and the center approves or declines (not reversals, cancels
// or network messages).
var originalKinds = map[string]bool{
	"cardnet/0100": true, "cardnet/0200": true, "cardnet/0220": true,
	"cafis/0100": true,
}

func isReversed(s journal.Status) bool {
	return s == journal.StatusReversed || s == journal.StatusCancelled
}

// CheckOutcomes compares what every app was told with the center's final
// view (fxsim's journal), transaction by transaction:
//
//   - an app told approved: the center approved it, and it stands unless the
//     app itself cancelled it successfully;
//   - told declined: the center declined it;
//   - told cancelled or failed (typically after a timeout): the center does
//     not hold it as approved;
//   - an app cancel told cancelled: the center accepted it and the original
//     is reversed; told declined: the original stands;
//   - an advice told approved: the center has it approved (delivered, I4);
//   - told timeout: a later inquiry gave a final outcome (never "unknown");
//   - every original transaction the center holds as approved, or reversed,
//     is known to an app with a final outcome (no request the center saw is
//     left unresolved, I3).
//
// It returns one line per violation.
func CheckOutcomes(v *journal.View, l *Ledger) []string {
	var bad []string
	badf := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	entries := l.Entries()
	byKey := map[journal.TxnKey]*Entry{}
	cancelledBy := map[string]*Entry{}
	for _, e := range entries {
		if e.Op == ipc.OpCancel && e.Final != nil && e.Final.Result == ipc.ResultCancelled {
			cancelledBy[e.OrigRef] = e
		}
	}
	for _, e := range entries {
		if e.Told == ToldError && e.Code != ipc.CodeInternal {
			badf("%s %s %s: unexpected error code %d (%s)", e.Center, e.Op, e.Ref, e.Code, e.Code)
		}
		if e.Told == ToldTimeout && e.NeverSeen {
			badf("%s %s %s: told timeout, but an inquiry says the daemon never saw it", e.Center, e.Op, e.Ref)
		}
		if e.needsInquiry() {
			badf("%s %s %s: told %s and never learnt the final outcome", e.Center, e.Op, e.Ref, e.Told)
		}
		if e.Final == nil {
			continue
		}
		if e.First != nil && e.First != e.Final && e.First.Result != ipc.ResultTimeout && e.First.Result != e.Final.Result {
			badf("%s %s %s: told %s, inquiry says %s", e.Center, e.Op, e.Ref, e.First.Result, e.Final.Result)
		}
		k, ok := key(e.Center, &responseLike{e.Final.STAN, e.Final.BusinessDate})
		if !ok {
			badf("%s %s %s: final %s without STAN/date (%q %q)", e.Center, e.Op, e.Ref, e.Final.Result, e.Final.STAN, e.Final.BusinessDate)
			continue
		}
		if e.Op != ipc.OpCancel {
			if prev := byKey[k]; prev != nil {
				badf("%s: key %s/%s given to both %s and %s", e.Center, k.Date, k.Key, prev.Ref, e.Ref)
			}
			byKey[k] = e
		}
		tx := v.Txns[k]
		res := e.Final.Result
		switch e.Op {
		case ipc.OpSale, ipc.OpRefund, ipc.OpAuthorize, ipc.OpAdvice:
			switch {
			case res == ipc.ResultApproved:
				switch {
				case tx == nil:
					badf("%s %s %s: told approved, the center never saw %s/%s", e.Center, e.Op, e.Ref, k.Date, k.Key)
				case tx.Status == journal.StatusApproved:
					if tx.Amount != e.Amount {
						badf("%s %s %s: approved amount %d, center has %d", e.Center, e.Op, e.Ref, e.Amount, tx.Amount)
					}
				case isReversed(tx.Status) && cancelledBy[e.Ref] != nil:
				default:
					badf("%s %s %s: told approved, the center ended with %s (%s) for %s/%s", e.Center, e.Op, e.Ref, tx.Status, tx.MTI, k.Date, k.Key)
				}
			case res == ipc.ResultDeclined:
				if tx == nil || tx.Status != journal.StatusDeclined {
					badf("%s %s %s: told declined, the center has %v", e.Center, e.Op, e.Ref, txnString(tx))
				}
			default: // cancelled, failed
				if tx != nil && tx.Status == journal.StatusApproved {
					badf("%s %s %s: told %s, the center holds it approved (%s/%s)", e.Center, e.Op, e.Ref, res, k.Date, k.Key)
				}
			}
		case ipc.OpCancel:
			orig := l.Get(e.OrigRef)
			var otx *journal.Txn
			if orig != nil && orig.Final != nil {
				if ok, found := key(orig.Center, &responseLike{orig.Final.STAN, orig.Final.BusinessDate}); found {
					otx = v.Txns[ok]
				}
			}
			switch res {
			case ipc.ResultCancelled:
				if otx == nil || !isReversed(otx.Status) {
					badf("%s cancel %s of %s: told cancelled, the center has the original as %v", e.Center, e.Ref, e.OrigRef, txnString(otx))
				}
			default:
				if otx == nil || otx.Status != journal.StatusApproved {
					badf("%s cancel %s of %s: told %s, the center has the original as %v", e.Center, e.Ref, e.OrigRef, res, txnString(otx))
				}
			}
		}
	}
	// The center's side: every original it approved or reversed is known to an app.
	keys := make([]journal.TxnKey, 0, len(v.Txns))
	for k := range v.Txns {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Center != b.Center {
			return a.Center < b.Center
		}
		if a.Date != b.Date {
			return a.Date < b.Date
		}
		return a.Key < b.Key
	})
	for _, k := range keys {
		tx := v.Txns[k]
		if !originalKinds[k.Center+"/"+tx.MTI] {
			continue
		}
		if tx.Status != journal.StatusApproved && !isReversed(tx.Status) {
			continue
		}
		e := byKey[k]
		switch {
		case e == nil:
			badf("%s %s/%s: the center holds %s %s, no app was given that outcome", k.Center, k.Date, k.Key, tx.MTI, tx.Status)
		case tx.Status == journal.StatusApproved && e.Final.Result != ipc.ResultApproved:
			badf("%s %s/%s: the center approved %s, its app %s ended %s", k.Center, k.Date, k.Key, tx.MTI, e.Ref, e.Final.Result)
		}
	}
	return bad
}

func txnString(tx *journal.Txn) string {
	if tx == nil {
		return "nothing"
	}
	return fmt.Sprintf("%s %s %d", tx.MTI, tx.Status, tx.Amount)
}

// CollectTotals reads `fxctl totals --json` for every center and date the
// journal or the apps mention. fxd must be running.
func CollectTotals(ctx context.Context, w *World, v *journal.View, l *Ledger) (map[journal.DateKey]ctl.TotalsRow, error) {
	dates := map[journal.DateKey]bool{}
	for dk := range v.Totals {
		dates[dk] = true
	}
	for _, e := range l.Entries() {
		if e.Final != nil && e.Final.BusinessDate != "" {
			dates[journal.DateKey{Center: e.Center, Date: e.Final.BusinessDate}] = true
		}
	}
	ours := map[journal.DateKey]ctl.TotalsRow{}
	for dk := range dates {
		r, err := w.Totals(ctx, dk.Center, dk.Date)
		if err != nil {
			return nil, err
		}
		ours[dk] = r
	}
	return ours, nil
}

// CompareTotals compares the daemon's totals (CollectTotals) with the fold
// of the journal's counted changes (the center's totals rebuilt message by
// message), for every center and date either side has, and the center's
// end-of-day record with that fold where there is one. One line per
// difference.
func CompareTotals(ours map[journal.DateKey]ctl.TotalsRow, v *journal.View) []string {
	var bad []string
	dates := map[journal.DateKey]bool{}
	for dk := range v.Totals {
		dates[dk] = true
	}
	for dk := range ours {
		dates[dk] = true
	}
	for dk := range dates {
		fold := v.Totals[dk]
		r, ok := ours[dk]
		switch {
		case !ok && !fold.IsZero():
			bad = append(bad, fmt.Sprintf("%s %s: the center has %+v, the daemon was not asked", dk.Center, dk.Date, fold))
		case ok && !r.SameTotals(row(dk, fold)):
			bad = append(bad, fmt.Sprintf("%s %s: fxctl totals %+v, journal %+v", dk.Center, dk.Date, r, fold))
		}
		if eod, ok := v.EOD[dk]; ok && eod != fold {
			bad = append(bad, fmt.Sprintf("%s %s: center's end-of-day %+v differs from its messages %+v", dk.Center, dk.Date, eod, fold))
		}
	}
	sort.Strings(bad)
	return bad
}

func row(dk journal.DateKey, t journal.Totals) ctl.TotalsRow {
	return ctl.TotalsRow{Center: dk.Center, Date: dk.Date,
		CreditsCount: t.CreditsCount, CreditsAmount: t.CreditsAmount,
		CreditReversalsCount: t.CreditReversalsCount, CreditReversalsAmount: t.CreditReversalsAmount,
		DebitsCount: t.DebitsCount, DebitsAmount: t.DebitsAmount,
		DebitReversalsCount: t.DebitReversalsCount, DebitReversalsAmount: t.DebitReversalsAmount}
}
