package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/fxswitch/fxswitch/ctl"
)

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printOutcomes(w io.Writer, outs []centerOutcome) {
	for _, o := range outs {
		switch {
		case o.Recovery != nil:
			r := o.Recovery
			state := "done"
			if !r.Done {
				state = "NOT finished"
			}
			fmt.Fprintf(w, "%s: recovery %s: %d in flight; sent %d cancels, %d cancel confirmations, %d advices resent; %d cancelled, %d stood, %d failed\n",
				o.Center, state, r.InFlight, r.CancelsSent, r.ConfirmationsSent, r.AdvicesResent, r.Cancelled, r.Stood, r.Failed)
		case o.OK:
			fmt.Fprintf(w, "%s: ok\n", o.Center)
		default:
			fmt.Fprintf(w, "%s: FAILED %s: %s\n", o.Center, o.Error.Code, o.Error.Message)
		}
	}
}

func printCutover(w io.Writer, r *ctl.CutoverResult) {
	fmt.Fprintf(w, "%s: business date %s closed, current date now %s\n", r.Center, r.ClosedDate, r.NewDate)
	if r.Reconciliation != nil {
		printReconciliation(w, r.Reconciliation)
	}
}

// printReconciliation shows our totals next to the center's, category by
// category, so an out-of-balance points at the category that differs.
func printReconciliation(w io.Writer, r *ctl.ReconcileResult) {
	verdict := "in balance"
	if r.Result == ctl.ReconcileOutOfBalance {
		verdict = "OUT OF BALANCE"
	} else if r.Result != ctl.ReconcileInBalance {
		verdict = r.Result
	}
	fmt.Fprintf(w, "%s: reconciliation of %s: %s\n", r.Center, r.Date, verdict)
	tw := table(w)
	fmt.Fprintln(tw, "CATEGORY\tOURS COUNT\tOURS AMOUNT\tCENTER COUNT\tCENTER AMOUNT\tCHECK")
	o, t := r.Ours, r.Theirs
	rows := []struct {
		name           string
		oc, oa, tc, ta int64
	}{
		{"credits", o.CreditsCount, o.CreditsAmount, t.CreditsCount, t.CreditsAmount},
		{"credit reversals", o.CreditReversalsCount, o.CreditReversalsAmount, t.CreditReversalsCount, t.CreditReversalsAmount},
		{"debits", o.DebitsCount, o.DebitsAmount, t.DebitsCount, t.DebitsAmount},
		{"debit reversals", o.DebitReversalsCount, o.DebitReversalsAmount, t.DebitReversalsCount, t.DebitReversalsAmount},
	}
	for _, x := range rows {
		mark := "ok"
		if x.oc != x.tc || x.oa != x.ta {
			mark = "differs"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", x.name, x.oc, x.oa, x.tc, x.ta, mark)
	}
	mark := "ok"
	if o.Net() != t.Net() {
		mark = "differs"
	}
	fmt.Fprintf(tw, "net\t\t%d\t\t%d\t%s\n", o.Net(), t.Net(), mark)
	tw.Flush()
}

func printStatus(w io.Writer, st *ctl.Status) {
	fmt.Fprintf(w, "recovery: %s   sessions: %d", dash(st.Recovery), st.Sessions)
	if !st.StartedAt.IsZero() {
		fmt.Fprintf(w, "   started: %s", st.StartedAt.UTC().Format(time.RFC3339))
	}
	if st.ShuttingDown {
		fmt.Fprint(w, "   SHUTTING DOWN")
	}
	fmt.Fprintln(w)
	tw := table(w)
	fmt.Fprintln(tw, "CENTER\tSIGNED ON\tBUSINESS DATE\tSESSIONS\tIN FLIGHT\tADVICES\tRECOVERY\tLAST RECONCILIATION")
	for _, c := range st.Centers {
		recovery := "-"
		if c.RecoveryRequired {
			recovery = "required"
		}
		last := "-"
		if r := c.LastReconciliation; r != nil {
			last = r.Date + " " + r.Result
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", c.Name, yesNo(c.SignedOn), dash(c.BusinessDate),
			c.Sessions, c.InFlight, c.AdviceDepth, recovery, last)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = table(w)
	fmt.Fprintln(tw, "CENTER\tLINE\tSTATE\tIN FLIGHT\tRECONNECTS")
	for _, c := range st.Centers {
		if len(c.Lines) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\n", c.Name)
		}
		for _, l := range c.Lines {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", c.Name, l.Addr, l.State, l.InFlight, l.Reconnects)
		}
	}
	tw.Flush()
}

func printTotals(w io.Writer, rows []ctl.TotalsRow) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no totals")
		return
	}
	// Numbers align right. The first cell (center and date) is the same
	// width on every line, and every other cell carries its own two-space
	// gap, so the table starts at the left margin.
	width := len("CENTER")
	for _, r := range rows {
		width = max(width, len(r.Center))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 0, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s  %-8s\t  CREDITS\t  AMOUNT\t  CREDIT REV\t  AMOUNT\t  DEBITS\t  AMOUNT\t  DEBIT REV\t  AMOUNT\t  NET\t  RECONCILIATION\t\n", width, "CENTER", "DATE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%-*s  %-8s\t  %d\t  %d\t  %d\t  %d\t  %d\t  %d\t  %d\t  %d\t  %d\t  %s\t\n", width, r.Center, r.Date,
			r.CreditsCount, r.CreditsAmount, r.CreditReversalsCount, r.CreditReversalsAmount,
			r.DebitsCount, r.DebitsAmount, r.DebitReversalsCount, r.DebitReversalsAmount,
			r.Net(), dash(r.Reconciliation))
	}
	tw.Flush()
}
