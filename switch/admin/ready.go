package admin

import (
	"fmt"

	"github.com/fxswitch/fxswitch/ctl"
)

// ReadyFromStatus decides readiness from the daemon's status (what `fxctl
// status` shows) and the WAL's health (wal.WAL.Err(), nil while healthy):
//
//   - the WAL is open and has not failed;
//   - the daemon is not shutting down;
//   - no center requires recovery (リカバリ処理);
//   - every configured center has at least one signed-on line.
//
// Reasons name the center and what the operator does about it; they are in
// configuration order so that the body is stable between probes. A nil
// status (the daemon could not report one) is not ready.
func ReadyFromStatus(st *ctl.Status, walErr error) (bool, []string) {
	var reasons []string
	if walErr != nil {
		reasons = append(reasons, fmt.Sprintf("wal: not writable: %v", walErr))
	}
	if st == nil {
		return false, append(reasons, "status unavailable")
	}
	if st.ShuttingDown {
		reasons = append(reasons, "shutting down")
	}
	if len(st.Centers) == 0 {
		reasons = append(reasons, "no center configured")
	}
	for _, c := range st.Centers {
		if c.RecoveryRequired {
			reasons = append(reasons, fmt.Sprintf("%s: recovery required (fxctl signon --center %s, then fxctl recovery --center %s)", c.Name, c.Name, c.Name))
		}
		signedOn := 0
		for _, l := range c.Lines {
			if l.State == ctl.LineSignedOn {
				signedOn++
			}
		}
		if signedOn == 0 {
			why := "no signed-on line"
			if !c.SignedOn {
				why += " (center signed off: fxctl signon --center " + c.Name + ")"
			}
			reasons = append(reasons, fmt.Sprintf("%s: %s, 0 of %d lines", c.Name, why, len(c.Lines)))
		}
	}
	return len(reasons) == 0, reasons
}
