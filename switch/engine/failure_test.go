package engine

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
	"github.com/fxswitch/fxswitch/sim"
	"github.com/fxswitch/fxswitch/switch/config"
)

func fastTimeouts(c *config.Config) {
	for n, cc := range c.Centers {
		cc.Timeout = config.Duration(400 * time.Millisecond)
		cc.CancelRetry = config.Duration(200 * time.Millisecond)
		c.Centers[n] = cc
	}
}

func wantCode(t *testing.T, err error, code ipc.Code) {
	t.Helper()
	var ie *ipc.Error
	if !errors.As(err, &ie) || ie.Code != code {
		t.Fatalf("error %v, want code %d", err, code)
	}
}

// waitResult polls by inquiry until the reference has a final outcome.
func waitResult(t *testing.T, s *client.Session, ref string) *client.Response {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		res, err := s.Inquire(ctx, ref)
		if err == nil {
			return res
		}
		var ie *ipc.Error
		if !errors.As(err, &ie) || ie.Code != ipc.CodeBusy {
			t.Fatalf("inquiry %s: %v", ref, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no final outcome for %s", ref)
	return nil
}

func TestTimeoutCancelOutcomes(t *testing.T) {
	cases := []struct {
		name, center string
		mode         string // CARDNET cancel_mode
		faults       []sim.Fault
		debits, revs int64 // the closed date's totals, ours and the center's
	}{
		// The center approved, the answer was lost: the cancel reverses it and both count.
		{"cardnet approved answer lost", "cardnet", "", []sim.Fault{{Kind: "0200", Action: sim.ActDropResponse, Count: 1}}, 1, 1},
		// The center never saw the request: the reversal finds nothing and nothing counts.
		{"cardnet request lost", "cardnet", "", []sim.Fault{{Kind: "0200", Action: sim.ActDropRequest, Count: 1}}, 0, 0},
		{"cafis approved answer lost", "cafis", "", []sim.Fault{{Kind: "0100", Action: sim.ActDropResponse, Count: 1}}, 1, 1},
		// The cancel command itself is lost too: the confirmation settles it.
		{"cafis cancel command lost", "cafis", "", []sim.Fault{
			{Kind: "0100", Action: sim.ActDropResponse, Count: 1},
			{Kind: "0300", Action: sim.ActDropResponse, Count: 1},
		}, 1, 1},
		// Reversal advice mode: 0420, and its 0430 lost once so it is repeated as 0421.
		{"cardnet reversal advice", "cardnet", "advice", []sim.Fault{
			{Kind: "0200", Action: sim.ActDropResponse, Count: 1},
			{Kind: "0420", Action: sim.ActDropResponse, Count: 1},
		}, 1, 1},
		// The answer arrives after the timeout: never forwarded as a success.
		{"cardnet late approval", "cardnet", "", []sim.Fault{{Kind: "0200", Action: sim.ActLate, DelayMs: 700, Count: 1}}, 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sim.Options{}, func(c *config.Config) {
				fastTimeouts(c)
				if tc.mode != "" {
					cc := c.Centers["cardnet"]
					cc.CancelMode = tc.mode
					c.Centers["cardnet"] = cc
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := h.e.Signon(ctx, tc.center); err != nil {
				t.Fatal(err)
			}
			if err := h.sim.SetFaults(sim.FaultSet{Faults: tc.faults}); err != nil {
				t.Fatal(err)
			}
			_, s := h.session(tc.center)
			_, err := s.Do(ctx, sale("T1", 2500))
			wantCode(t, err, ipc.CodeTimeout)
			res := waitResult(t, s, "T1")
			if res.Result != ipc.ResultCancelled {
				t.Fatalf("final outcome %s, want cancelled", res.Result)
			}
			// Business continues normally.
			if res, err := s.Do(ctx, sale("T2", 1000)); err != nil || res.Result != ipc.ResultApproved {
				t.Fatalf("next sale: %+v %v", res, err)
			}
			date := h.e.centers[tc.center].currentDate()
			ours, _ := h.e.wal.Totals(tc.center, date)
			theirs, _ := h.sim.Totals(tc.center, date)
			if ours.DebitsCount != tc.debits+1 || ours.DebitReversalsCount != tc.revs {
				t.Fatalf("our totals %+v, want %d debits and %d reversals", ours, tc.debits+1, tc.revs)
			}
			if theirs.DebitsCount != ours.DebitsCount || theirs.DebitsAmount != ours.DebitsAmount ||
				theirs.DebitReversalsCount != ours.DebitReversalsCount || theirs.DebitReversalsAmount != ours.DebitReversalsAmount {
				t.Fatalf("center totals %+v differ from ours %+v", theirs, ours)
			}
			if tc.name == "cardnet late approval" {
				deadline := time.Now().Add(5 * time.Second)
				for h.e.centers[tc.center].lateResponses.Load() == 0 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if late := h.e.centers[tc.center].lateResponses.Load(); late != 1 {
					t.Fatalf("late responses counted %d, want 1", late)
				}
			}
		})
	}
}

func TestDuplicateResponseFirstWins(t *testing.T) {
	h := newHarness(t, sim.Options{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.e.Signon(ctx, "cardnet"); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.SetFaults(sim.FaultSet{Faults: []sim.Fault{{Kind: "0200", Action: sim.ActDuplicate}}}); err != nil {
		t.Fatal(err)
	}
	_, s := h.session("cardnet")
	for i := 0; i < 5; i++ {
		if res, err := s.Do(ctx, sale("D"+strconv.Itoa(i), 1000)); err != nil || res.Result != ipc.ResultApproved {
			t.Fatalf("sale: %+v %v", res, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.e.centers["cardnet"].unmatched.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.e.centers["cardnet"].unmatched.Load(); n != 5 {
		t.Fatalf("duplicates counted %d, want 5", n)
	}
	ours, _ := h.e.wal.Totals("cardnet", h.e.centers["cardnet"].currentDate())
	if ours.DebitsCount != 5 {
		t.Fatalf("totals %+v: duplicates must not count", ours)
	}
}

// TestRecoveryAfterUncleanStop: requests left in flight by a stop without the
// clean marker block business until recovery settles them with the center.
func TestRecoveryAfterUncleanStop(t *testing.T) {
	for _, center := range []string{"cardnet", "cafis"} {
		t.Run(center, func(t *testing.T) {
			kind := map[string]string{"cardnet": "0200", "cafis": "0100"}[center]
			h := newHarness(t, sim.Options{}, func(c *config.Config) {
				fastTimeouts(c)
				for n, cc := range c.Centers {
					cc.Timeout = config.Duration(30 * time.Second) // stays in flight until the stop
					c.Centers[n] = cc
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := h.e.Signon(ctx, center); err != nil {
				t.Fatal(err)
			}
			_, s := h.session(center)
			if res, err := s.Do(ctx, sale("A0", 1000)); err != nil || res.Result != ipc.ResultApproved {
				t.Fatalf("sale: %+v %v", res, err)
			}
			// The center processes the next three but the daemon never hears back.
			if err := h.sim.SetFaults(sim.FaultSet{Faults: []sim.Fault{{Kind: kind, Action: sim.ActDropResponse}}}); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				go s.Do(ctx, sale("A"+strconv.Itoa(i), int64(1000*i)))
			}
			deadline := time.Now().Add(5 * time.Second)
			for h.e.centers[center].inflightPub.Load() < 3 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond) // the requests reach the center
			h.e.Close()                        // no clean-shutdown marker: as after a crash
			if err := h.sim.SetFaults(sim.FaultSet{}); err != nil {
				t.Fatal(err)
			}
			h.start()
			cl, err := client.Dial(ctx, "unix", h.e.IPCUnix)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			_, err = cl.OpenSession(ctx, center)
			wantCode(t, err, ipc.CodeRecoveryRequired)
			if err := h.e.Signon(ctx, center); err != nil {
				t.Fatal(err)
			}
			rep, err := h.e.Recovery(ctx, center)
			if err != nil {
				t.Fatalf("recovery: %v", err)
			}
			if rep.InFlight != 3 || rep.Cancelled != 3 || !rep.Done {
				t.Fatalf("recovery report %+v", rep)
			}
			// Idempotent: a second run finds nothing to do.
			if rep, err := h.e.Recovery(ctx, center); err != nil || !rep.Done || rep.InFlight != 0 {
				t.Fatalf("second recovery: %+v %v", rep, err)
			}
			s2, err := cl.OpenSession(ctx, center)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				res, err := s2.Inquire(ctx, "A"+strconv.Itoa(i))
				if err != nil || res.Result != ipc.ResultCancelled {
					t.Fatalf("inquiry A%d: %+v %v", i, res, err)
				}
			}
			date := h.e.centers[center].currentDate()
			ours, _ := h.e.wal.Totals(center, date)
			theirs, _ := h.sim.Totals(center, date)
			if ours.DebitsCount != 4 || ours.DebitReversalsCount != 3 || theirs.DebitsCount != 4 || theirs.DebitReversalsCount != 3 ||
				ours.DebitsAmount != theirs.DebitsAmount || ours.DebitReversalsAmount != theirs.DebitReversalsAmount {
				t.Fatalf("totals ours %+v center %+v", ours, theirs)
			}
		})
	}
}
