package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
	"github.com/fxswitch/fxswitch/sim/journal"
)

// setFaults replaces fxsim's faults (PUT /faults, YAML).
func setFaults(t *testing.T, w *World, yaml string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://"+w.Sim.Addrs["http"]+"/faults", strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /faults: %s", resp.Status)
	}
}

func openSession(t *testing.T, ctx context.Context, w *World, center string) *client.Session {
	t.Helper()
	cl, err := client.Dial(ctx, "unix", w.IPCSock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	s, err := cl.OpenSession(ctx, center)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fastCenters: a short timeout and cancel retry, so that the cancel paths
// run within the test's time.
const fastCenter = "timeout: 800ms, cancel_retry: 200ms, reconnect_min: 50ms, reconnect_max: 300ms"

// TestTimeoutCancel: the center's answer is lost; the app is told timeout
// (16), the daemon cancels toward the center (CARDNET 0400 repeated as 0401,
// or 0420/0421 reversal advices; CAFIS 取消指令, then 取消確認指令 when the
// cancel's answer is lost too), the inquiry gives "cancelled", and both
// sides count the original and its reversal.
func TestTimeoutCancel(t *testing.T) {
	cases := []struct {
		name, center, extra, faults string
	}{
		{"cardnet system cancel repeated", "cardnet", "", `faults:
  - {kind: "0200", action: drop_response, count: 1}
  - {kind: "0400", action: drop_response, count: 1}
`},
		{"cardnet reversal advice", "cardnet", ", cancel_mode: advice", `faults:
  - {kind: "0200", action: drop_response, count: 1}
  - {kind: "0420", action: drop_response, count: 1}
`},
		{"cafis cancel command then confirmation", "cafis", "", `faults:
  - {kind: "0100", action: drop_response, count: 1}
  - {kind: "0300", action: drop_response, count: 1}
`},
		{"cardnet request never reached the center", "cardnet", "", `faults:
  - {kind: "0200", action: drop_request, count: 1}
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, ctx := newWorld(t, Options{Centers: []string{tc.center}, CenterYAML: map[string]string{tc.center: fastCenter + tc.extra}})
			ctlOK(t, ctx, w, "signon")
			setFaults(t, w, tc.faults)
			s := openSession(t, ctx, w, tc.center)
			l := NewLedger()
			e, err := l.Record(ctx, tc.center, s, Request(ipc.OpSale, "lost-1", 2500, "T0000001"))
			if e.Told != ToldTimeout {
				t.Fatalf("told %s (%v), want timeout", e.Told, err)
			}
			wantCode(t, err, ipc.CodeTimeout)
			// Business goes on while the cancel runs.
			if e, err := l.Record(ctx, tc.center, s, Request(ipc.OpSale, "next-1", 1000, "T0000001")); err != nil || e.Final.Result != ipc.ResultApproved {
				t.Fatalf("next sale: %v", err)
			}
			ours := settle(t, ctx, w, l)
			if got := l.Get("lost-1").Final; got == nil || got.Result != ipc.ResultCancelled {
				t.Fatalf("final outcome of the timed-out sale: %+v", got)
			}
			v := verify(t, w, l, ours)
			date := l.Get("next-1").Final.BusinessDate
			tot := v.Totals[journal.DateKey{Center: tc.center, Date: date}]
			wantRev := int64(1)
			if strings.Contains(tc.name, "never reached") {
				wantRev = 0
			}
			if tot.DebitsCount != 1+wantRev || tot.DebitReversalsCount != wantRev {
				t.Fatalf("center totals %+v: want %d debits and %d reversals", tot, 1+wantRev, wantRev)
			}
		})
	}
}

// TestLateAndDuplicateAnswers: an approval that arrives after the timeout
// is never forwarded as a success (the cancel decides), and duplicated
// answers are taken once (first wins), so nothing counts twice.
func TestLateAndDuplicateAnswers(t *testing.T) {
	w, ctx := newWorld(t, Options{Centers: []string{"cardnet", "cafis"},
		CenterYAML: map[string]string{"cardnet": fastCenter, "cafis": fastCenter}})
	ctlOK(t, ctx, w, "signon")
	setFaults(t, w, `faults:
  - {kind: "0200", action: late, delay_ms: 1500, count: 1}
  - {kind: "0100", center: cafis, action: late, delay_ms: 1500, count: 1}
  - {action: duplicate, rate: 0.5}
`)
	l := NewLedger()
	for _, c := range []string{"cardnet", "cafis"} {
		s := openSession(t, ctx, w, c)
		e, err := l.Record(ctx, c, s, Request(ipc.OpSale, c+"-late", 3000, "T0000001"))
		if e.Told != ToldTimeout {
			t.Fatalf("%s: told %s (%v), want timeout", c, e.Told, err)
		}
		for i := 0; i < 20; i++ {
			if e, err := l.Record(ctx, c, s, Request(ipc.OpSale, fmt.Sprintf("%s-dup-%d", c, i), int64(1000+i), "T0000001")); err != nil || e.Final.Result != ipc.ResultApproved {
				t.Fatalf("%s sale %d: %v", c, i, err)
			}
		}
	}
	// Let the late answers arrive before looking.
	time.Sleep(1500 * time.Millisecond)
	ours := settle(t, ctx, w, l)
	for _, c := range []string{"cardnet", "cafis"} {
		if got := l.Get(c + "-late").Final; got == nil || got.Result != ipc.ResultCancelled {
			t.Fatalf("%s: the late approval's final outcome %+v, want cancelled", c, got)
		}
	}
	verify(t, w, l, ours)
}

// TestLineLoss: the center drops the line with a request on it; the request
// becomes indeterminate and is cancelled once a line is signed on again,
// the line reconnects with backoff and signs on by itself, and business
// continues.
func TestLineLoss(t *testing.T) {
	w, ctx := newWorld(t, Options{Centers: []string{"cardnet"}, CardnetLines: 1,
		CenterYAML: map[string]string{"cardnet": fastCenter}})
	ctlOK(t, ctx, w, "signon")
	setFaults(t, w, `faults:
  - {kind: "0200", action: disconnect, count: 1}
`)
	s := openSession(t, ctx, w, "cardnet")
	l := NewLedger()
	e, err := l.Record(ctx, "cardnet", s, Request(ipc.OpSale, "on-lost-line", 4000, "T0000001"))
	if e.Told == ToldOutcome {
		t.Fatalf("a request on a dropped line was answered %+v", e.Final)
	}
	t.Logf("request on the dropped line: told %s (%v)", e.Told, err)
	// The line comes back by itself (automatic re-signon).
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := w.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ln := st.Centers[0].Lines[0]
		if ln.State == "signed_on" && ln.Reconnects > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("line not back: %+v", ln)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var after *Entry
	for i := 0; ; i++ {
		after, err = l.Record(ctx, "cardnet", s, Request(ipc.OpSale, fmt.Sprintf("after-%d", i), 1000, "T0000001"))
		if err == nil && after.Final.Result == ipc.ResultApproved {
			break
		}
		if !errors.Is(err, ipc.ErrNotSignedOn) && !errors.Is(err, ipc.ErrBusy) || i > 50 {
			t.Fatalf("after the line came back: %+v %v", after, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ours := settle(t, ctx, w, l)
	if got := l.Get("on-lost-line").Final; got == nil || got.Result != ipc.ResultCancelled {
		t.Fatalf("final outcome of the request on the dropped line: %+v", got)
	}
	verify(t, w, l, ours)
}

// TestAdviceSurvivesCrash: advices are answered approved once durable;
// the center's acknowledgements are lost, fxd is killed, and after restart
// and recovery the advices are resent (0221) and counted once by the center.
func TestAdviceSurvivesCrash(t *testing.T) {
	w, ctx := newWorld(t, Options{Centers: []string{"cardnet"}, CenterYAML: map[string]string{"cardnet": fastCenter}})
	ctlOK(t, ctx, w, "signon")
	setFaults(t, w, `faults:
  - {kind: "0220", action: drop_response}
  - {kind: "0221", action: drop_response}
`)
	s := openSession(t, ctx, w, "cardnet")
	l := NewLedger()
	for i := 0; i < 5; i++ {
		e, err := l.Record(ctx, "cardnet", s, Request(ipc.OpAdvice, fmt.Sprintf("adv-%d", i), int64(700+i), "T0000001"))
		if err != nil || e.Final.Result != ipc.ResultApproved {
			t.Fatalf("advice %d: %+v %v", i, e, err)
		}
	}
	st, err := w.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Centers[0].AdviceDepth != 5 {
		t.Fatalf("advice queue depth %d, want 5 (acknowledgements lost)", st.Centers[0].AdviceDepth)
	}
	w.KillFXD()
	setFaults(t, w, "faults: []\n")
	if err := w.StartFXD(ctx); err != nil {
		t.Fatal(err)
	}
	ctlOK(t, ctx, w, "signon")
	rr, err := w.Recovery(ctx, "cardnet")
	if err != nil {
		t.Fatal(err)
	}
	if rr.AdvicesResent != 5 {
		t.Fatalf("recovery %+v: want 5 advices resent", rr)
	}
	ours := settle(t, ctx, w, l)
	v := verify(t, w, l, ours)
	date := l.Get("adv-0").Final.BusinessDate
	if tot := v.Totals[journal.DateKey{Center: "cardnet", Date: date}]; tot.DebitsCount != 5 {
		t.Fatalf("center counted %d advices, want 5 (each once)", tot.DebitsCount)
	}
}

// TestRecoveryAfterForcedShutdown is the seeds' restart after failure with
// FX_CtrlShutdown(force): requests in flight, shutdown --force, restart,
// sessions refused (13) until recovery, recovery settles the in-flight
// messages with the centers, apps learn the outcomes by inquiry.
func TestRecoveryAfterForcedShutdown(t *testing.T) {
	w, ctx := newWorld(t, Options{CenterYAML: map[string]string{"cardnet": fastCenter, "cafis": fastCenter}})
	ctlOK(t, ctx, w, "signon")
	// Every request's answer is lost: whatever is in flight at the stop
	// stays in flight.
	setFaults(t, w, `faults:
  - {kind: "0200", action: drop_response}
  - {kind: "0100", action: drop_response}
`)
	l := NewLedger()
	for _, c := range []string{"cardnet", "cafis"} {
		s := openSession(t, ctx, w, c)
		for i := 0; i < 3; i++ {
			go func(c string, i int) {
				_, _ = l.Record(ctx, c, s, Request(ipc.OpSale, fmt.Sprintf("%s-%d", c, i), int64(1500+i), "T0000001"))
			}(c, i)
		}
	}
	// Wait until all six are logged and in flight.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := w.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Centers[0].InFlight+st.Centers[1].InFlight >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("in flight: %+v", st.Centers)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctlOK(t, ctx, w, "shutdown", "--force")
	if _, err := w.FXD.Wait(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	setFaults(t, w, "faults: []\n")
	if err := w.StartFXD(ctx); err != nil {
		t.Fatal(err)
	}
	ctlOK(t, ctx, w, "signon")
	cl, err := client.Dial(ctx, "unix", w.IPCSock)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	_, err = cl.OpenSession(ctx, "cafis")
	wantCode(t, err, ipc.CodeRecoveryRequired)
	settled := 0
	for _, c := range []string{"cardnet", "cafis"} {
		rr, err := w.Recovery(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		settled += rr.Cancelled + rr.Stood
	}
	if settled < 6 {
		t.Fatalf("recovery settled %d, want at least the 6 in flight", settled)
	}
	// The apps were cut off: they ask.
	ours := settle(t, ctx, w, l)
	for _, e := range l.Entries() {
		if e.Final == nil || e.Final.Result != ipc.ResultCancelled {
			t.Fatalf("%s: final %+v, want cancelled (approved by the center, answer lost, cancelled by recovery)", e.Ref, e.Final)
		}
	}
	verify(t, w, l, ours)
}
