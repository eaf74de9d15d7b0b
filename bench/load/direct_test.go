package load

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/sim"
)

func startSim(t *testing.T) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Options{CardnetAddr: "127.0.0.1:0", CafisAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A direct run's answers agree with the center's own totals: every sale is
// a debit, every refund a credit, every cancel a debit reversal.
func TestDirectAgreesWithCenterTotals(t *testing.T) {
	s := startSim(t)
	for _, c := range []struct{ center, addr string }{{CenterCardnet, s.CardnetAddr()}, {CenterCafis, s.CafisAddr()}} {
		t.Run(c.center, func(t *testing.T) {
			r, err := Run(context.Background(), Options{Direct: true, Center: c.center, Addr: c.addr,
				Sessions: 4, Concurrency: 4, Conns: 2, Duration: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK == 0 || r.Errors != 0 || r.OK != r.Sent {
				t.Fatalf("sent %d ok %d errors %d %v", r.Sent, r.OK, r.Errors, r.ErrorKind)
			}
			var tot sim.Totals
			for _, d := range s.AllTotals() {
				if d.Center == c.center {
					tot.DebitsCount += d.DebitsCount
					tot.CreditsCount += d.CreditsCount
					tot.DebitReversalsCount += d.DebitReversalsCount
				}
			}
			if tot.DebitsCount != r.Ops["sale"] || tot.CreditsCount != r.Ops["refund"] || tot.DebitReversalsCount != r.Cancelled {
				t.Fatalf("center totals %+v; we sent %v and had %d cancelled", tot, r.Ops, r.Cancelled)
			}
			if r.Cancelled == 0 {
				t.Errorf("no cancel went through: %v", r.Ops)
			}
		})
	}
}

// Keys run out at 999,999: the run stops and says so.
func TestDirectKeysExhausted(t *testing.T) {
	s := startSim(t)
	r, err := Run(context.Background(), Options{Direct: true, Addr: s.CardnetAddr(), FirstKey: 999_900,
		Sessions: 2, Concurrency: 2, Conns: 1, Duration: 5 * time.Second, Mix: "sale=1"})
	if err != nil {
		t.Fatal(err)
	}
	// Key 999,900 signed the line on; 99 keys remain for requests.
	if !r.KeysExhausted || r.OK != 99 || r.Sent != 99 || r.Errors != 0 {
		t.Fatalf("keys exhausted %v, sent %d, ok %d (want 99), errors %d", r.KeysExhausted, r.Sent, r.OK, r.Errors)
	}
}

func TestDirectSetupFails(t *testing.T) {
	_, err := Run(context.Background(), Options{Direct: true, Addr: "127.0.0.1:1", Duration: time.Second})
	if !errors.Is(err, ErrSetup) {
		t.Fatalf("Run against nothing: %v, want ErrSetup", err)
	}
}
