package metrics

import "github.com/fxswitch/fxswitch/ctl"

// StateFromStatus converts the daemon's status (what `fxctl status` shows)
// into the gauges' State, so that the daemon can pass
//
//	m.SetStateFunc(func() metrics.State { st, _ := e.Status(ctx); return metrics.StateFromStatus(st) })
//
// AdviceOldestAge is not part of ctl.Status; the caller fills it in when it
// knows it. A nil status gives an empty State (no gauge samples).
func StateFromStatus(st *ctl.Status) State {
	if st == nil {
		return State{}
	}
	out := State{Centers: make([]CenterState, 0, len(st.Centers))}
	for _, c := range st.Centers {
		cs := CenterState{
			Name:               c.Name,
			SignedOn:           c.SignedOn,
			BusinessDate:       c.BusinessDate,
			InFlight:           c.InFlight,
			Sessions:           c.Sessions,
			AdviceDepth:        c.AdviceDepth,
			RecoveryRequired:   c.RecoveryRequired,
			LastReconciliation: ReconciliationNone,
			Lines:              make([]LineState, 0, len(c.Lines)),
		}
		if r := c.LastReconciliation; r != nil {
			switch r.Result {
			case ctl.ReconcileInBalance:
				cs.LastReconciliation = ReconciliationInBalance
			case ctl.ReconcileOutOfBalance:
				cs.LastReconciliation = ReconciliationOutOfBalance
			}
		}
		for _, l := range c.Lines {
			cs.Lines = append(cs.Lines, LineState{Addr: l.Addr, State: LineStateNumber(l.State), InFlight: l.InFlight})
		}
		out.Centers = append(out.Centers, cs)
	}
	return out
}

// LineStateNumber maps a line state name (ctl.LineDown … ctl.LineSignedOn,
// as line.State.String() prints them) to the value of fxswitch_line_state.
// An unknown name counts as down: an alert on a line that is not signed on
// must not be silenced by a state this package does not know.
func LineStateNumber(s string) int {
	switch s {
	case ctl.LineConnecting:
		return LineConnecting
	case ctl.LineConnected:
		return LineConnected
	case ctl.LineSignedOn:
		return LineSignedOn
	}
	return LineDown
}
