package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ctl"
)

// daemon is a Handler standing in for fxd: it records calls and answers with
// canned values that the knobs change.
type daemon struct {
	mu           sync.Mutex
	calls        []string
	fail         map[string]error // "cmd center" or "cmd" → error
	outOfBalance bool
	recoveryLeft int
	block        chan struct{} // when set, cutreq waits for it or its context
}

func (d *daemon) record(call string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, call)
	if err := d.fail[call]; err != nil {
		return err
	}
	cmd, _, _ := strings.Cut(call, " ")
	return d.fail[cmd]
}

func (d *daemon) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls, d.fail, d.outOfBalance, d.recoveryLeft, d.block = nil, map[string]error{}, false, 0, nil
}

func (d *daemon) set(f func(*daemon)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

func (d *daemon) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

var (
	cardnetRow = ctl.TotalsRow{Center: "cardnet", Date: "20261123", CreditsCount: 1, CreditsAmount: 500,
		DebitsCount: 12, DebitsAmount: 120000, DebitReversalsCount: 1, DebitReversalsAmount: 10000,
		Reconciliation: ctl.ReconcileInBalance}
	cafisRow = ctl.TotalsRow{Center: "cafis", Date: "20261123", DebitsCount: 3, DebitsAmount: 3000,
		CreditReversalsCount: 1, CreditReversalsAmount: 250, Reconciliation: ctl.ReconcileNone}
)

func (d *daemon) recon(center, date string) *ctl.ReconcileResult {
	r := &ctl.ReconcileResult{Center: center, Date: date, Result: ctl.ReconcileInBalance, Ours: cardnetRow, Theirs: cardnetRow}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.outOfBalance {
		r.Result = ctl.ReconcileOutOfBalance
		r.Theirs.DebitsCount, r.Theirs.DebitsAmount = 13, 121500
	}
	return r
}

func (d *daemon) Signon(_ context.Context, center string) error { return d.record("signon " + center) }
func (d *daemon) Signoff(_ context.Context, center string) error {
	return d.record("signoff " + center)
}
func (d *daemon) Shutdown(_ context.Context, force bool) error {
	return d.record(fmt.Sprintf("shutdown %t", force))
}

func (d *daemon) Cutreq(ctx context.Context, center, date string) (*ctl.CutoverResult, error) {
	if err := d.record("cutreq " + center + " " + date); err != nil {
		return nil, err
	}
	d.mu.Lock()
	block := d.block
	d.mu.Unlock()
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
	res := &ctl.CutoverResult{Center: center, ClosedDate: "20261123", NewDate: date}
	if center == "cardnet" {
		res.Reconciliation = d.recon(center, "20261123")
	}
	return res, nil
}

func (d *daemon) Recovery(_ context.Context, center string) (*ctl.RecoveryReport, error) {
	if err := d.record("recovery " + center); err != nil {
		return nil, err
	}
	d.mu.Lock()
	left := d.recoveryLeft
	d.mu.Unlock()
	return &ctl.RecoveryReport{Center: center, InFlight: 4, CancelsSent: 3, AdvicesResent: 1,
		Cancelled: 2, Stood: 2 - left, Failed: left, Done: left == 0}, nil
}

func (d *daemon) Status(_ context.Context) (*ctl.Status, error) {
	if err := d.record("status"); err != nil {
		return nil, err
	}
	return &ctl.Status{Sessions: 2, Recovery: ctl.RecoveryNone, Centers: []ctl.CenterStatus{
		{Name: "cafis", SignedOn: true, BusinessDate: "20261123", Sessions: 1,
			Lines: []ctl.LineStatus{{Addr: "127.0.0.1:7800", State: ctl.LineSignedOn}}},
		{Name: "cardnet", SignedOn: false, BusinessDate: "20261123", Sessions: 1, InFlight: 7, AdviceDepth: 2,
			RecoveryRequired:   true,
			Lines:              []ctl.LineStatus{{Addr: "127.0.0.1:7700", State: ctl.LineConnecting, Reconnects: 3}},
			LastReconciliation: &ctl.ReconcileResult{Center: "cardnet", Date: "20261122", Result: ctl.ReconcileInBalance}},
	}}, nil
}

func (d *daemon) Totals(_ context.Context, center, date string) ([]ctl.TotalsRow, error) {
	if err := d.record("totals " + center + " " + date); err != nil {
		return nil, err
	}
	var rows []ctl.TotalsRow
	for _, r := range []ctl.TotalsRow{cafisRow, cardnetRow} {
		if center == "" || center == r.Center {
			rows = append(rows, r)
		}
	}
	return rows, nil
}

func (d *daemon) Reconcile(_ context.Context, center, date string) (*ctl.ReconcileResult, error) {
	if err := d.record("reconcile " + center + " " + date); err != nil {
		return nil, err
	}
	if date == "" {
		date = "20261123"
	}
	return d.recon(center, date), nil
}

type result struct {
	code           int
	stdout, stderr string
}

// fxctl runs the built binary in dir with args.
func fxctl(t *testing.T, bin, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running fxctl %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func serve(t *testing.T, path string, h ctl.Handler, opts ctl.ServerOptions) {
	t.Helper()
	ln, err := ctl.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctl.Serve(ctx, ln, h, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

func TestFxctlAgainstServe(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "fxctl")
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building fxctl needs the go tool on PATH: %v", err)
	}
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The working directory holds data/ctl.sock, fxctl's default.
	work := filepath.Join(tmp, "w")
	if err := os.MkdirAll(filepath.Join(work, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(work, "data", "ctl.sock")
	d := &daemon{}
	serve(t, sock, d, ctl.ServerOptions{})

	run := func(t *testing.T, args ...string) result {
		t.Helper()
		return fxctl(t, bin, work, args...)
	}
	expect := func(t *testing.T, r result, code int, stdoutHas, stderrHas []string) {
		t.Helper()
		if r.code != code {
			t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
		}
		for _, s := range stdoutHas {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
			}
		}
		for _, s := range stderrHas {
			if !strings.Contains(r.stderr, s) {
				t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
			}
		}
	}
	calls := func(t *testing.T, want ...string) {
		t.Helper()
		if got := d.Calls(); !reflect.DeepEqual(got, want) {
			t.Errorf("daemon calls %q, want %q", got, want)
		}
	}

	t.Run("signon every center in order", func(t *testing.T) {
		d.reset()
		r := run(t, "signon")
		expect(t, r, 0, []string{"cafis: ok\ncardnet: ok\n"}, nil)
		calls(t, "status", "signon cafis", "signon cardnet")
	})
	t.Run("flags before and after the subcommand", func(t *testing.T) {
		d.reset()
		expect(t, run(t, "--json", "signon", "--center", "cardnet"), 0, []string{`{"results":[{"center":"cardnet","ok":true}]}`}, nil)
		expect(t, run(t, "signoff", "--socket", sock, "--center", "CAFIS", "--json"), 0, []string{`"center":"cafis","ok":true`}, nil)
		expect(t, run(t, "--data-dir", "data", "signoff", "--center=cardnet"), 0, []string{"cardnet: ok"}, nil)
		calls(t, "signon cardnet", "signoff cafis", "signoff cardnet")
	})
	t.Run("signon failure of one center still tries the next", func(t *testing.T) {
		d.reset()
		d.set(func(d *daemon) {
			d.fail["signon cafis"] = ctl.NewError(ctl.CodeBusy, "line 127.0.0.1:7800 not connected")
		})
		r := run(t, "signon")
		expect(t, r, 1, []string{"cafis: FAILED busy", "cardnet: ok"},
			[]string{"fxctl: busy: failed for cafis: line 127.0.0.1:7800 not connected"})
		calls(t, "status", "signon cafis", "signon cardnet")
	})
	t.Run("daemon error code and message on stderr", func(t *testing.T) {
		d.reset()
		d.set(func(d *daemon) { d.fail["signoff"] = fmt.Errorf("cardnet: %w", ctl.ErrNotSignedOn) })
		r := run(t, "signoff", "--center", "cardnet")
		expect(t, r, 1, nil, []string{"fxctl: not_signed_on: cardnet: center not signed on\n"})
	})
	t.Run("cutreq table and json", func(t *testing.T) {
		d.reset()
		expect(t, run(t, "cutreq", "--center", "cafis", "--date", "20261125"), 0,
			[]string{"cafis: business date 20261123 closed, current date now 20261125"}, nil)
		r := run(t, "cutreq", "--center", "cardnet")
		expect(t, r, 0, []string{"cardnet: reconciliation of 20261123: in balance", "debits", "120000", "net"}, nil)
		r = run(t, "cutreq", "--json", "--center", "cardnet")
		expect(t, r, 0, nil, nil)
		var got ctl.CutoverResult
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("%v: %s", err, r.stdout)
		}
		if got.NewDate != "20261124" || got.Reconciliation == nil || got.Reconciliation.Ours != cardnetRow {
			t.Errorf("cutreq --json = %+v", got)
		}
		calls(t, "cutreq cafis 20261125", "cutreq cardnet ", "cutreq cardnet ")
	})
	t.Run("cutreq usage errors", func(t *testing.T) {
		d.reset()
		expect(t, run(t, "cutreq"), 1, nil, []string{"fxctl: usage: cutreq needs --center"})
		expect(t, run(t, "cutreq", "--center", "cafis", "--date", "2026-11-24"), 1, nil, []string{"fxctl: usage: --date"})
		expect(t, run(t, "cutreq", "--center", "cafis", "extra"), 1, nil, []string{"fxctl: usage:"})
		expect(t, run(t, "status", "--center", "cafis"), 1, nil, []string{"fxctl: usage: unknown flag: --center"})
		calls(t)
	})
	t.Run("out of balance exits 2", func(t *testing.T) {
		d.reset()
		d.set(func(d *daemon) { d.outOfBalance = true })
		r := run(t, "cutreq", "--center", "cardnet")
		expect(t, r, 2, []string{"OUT OF BALANCE", "differs"}, []string{"fxctl: out_of_balance: cardnet 20261123"})
		r = run(t, "reconcile", "--center", "cardnet", "--json")
		expect(t, r, 2, nil, []string{"out_of_balance"})
		var got ctl.ReconcileResult
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Result != ctl.ReconcileOutOfBalance || got.Theirs.DebitsCount != 13 {
			t.Errorf("reconcile --json = %+v, %v: %s", got, err, r.stdout)
		}
		// CAFIS has no reconciliation message: its cutover is not affected.
		expect(t, run(t, "cutreq", "--center", "cafis"), 0, nil, nil)
	})
	t.Run("reconcile in balance", func(t *testing.T) {
		d.reset()
		expect(t, run(t, "reconcile", "--center", "cardnet", "--date", "20261123"), 0, []string{"in balance"}, nil)
		expect(t, run(t, "reconcile"), 1, nil, []string{"fxctl: usage: reconcile needs --center"})
		calls(t, "reconcile cardnet 20261123")
	})
	t.Run("totals json is the DESIGN shape", func(t *testing.T) {
		d.reset()
		r := run(t, "totals", "--json")
		expect(t, r, 0, nil, nil)
		want := `{"totals":[` +
			`{"center":"cafis","date":"20261123","credits_count":0,"credits_amount":0,"credit_reversals_count":1,"credit_reversals_amount":250,"debits_count":3,"debits_amount":3000,"debit_reversals_count":0,"debit_reversals_amount":0,"reconciliation":"none"},` +
			`{"center":"cardnet","date":"20261123","credits_count":1,"credits_amount":500,"credit_reversals_count":0,"credit_reversals_amount":0,"debits_count":12,"debits_amount":120000,"debit_reversals_count":1,"debit_reversals_amount":10000,"reconciliation":"in_balance"}]}` + "\n"
		if r.stdout != want {
			t.Errorf("totals --json\n got %s\nwant %s", r.stdout, want)
		}
		r = run(t, "totals", "--center", "cardnet")
		expect(t, r, 0, []string{"CENTER", "RECONCILIATION", "cardnet", "120000", "109500", "in_balance"}, nil)
		if strings.Contains(r.stdout, "cafis") {
			t.Errorf("totals --center cardnet shows cafis:\n%s", r.stdout)
		}
		calls(t, "totals  ", "totals cardnet ")
	})
	t.Run("status table and json", func(t *testing.T) {
		d.reset()
		r := run(t, "status")
		expect(t, r, 0, []string{"recovery: none", "sessions: 2", "cafis", "signed_on", "127.0.0.1:7700", "connecting",
			"required", "20261122 in_balance"}, nil)
		r = run(t, "status", "--json")
		var st ctl.Status
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Centers) != 2 || st.Centers[1].InFlight != 7 {
			t.Errorf("status --json = %+v, %v", st, err)
		}
	})
	t.Run("recovery every center", func(t *testing.T) {
		d.reset()
		r := run(t, "recovery")
		expect(t, r, 0, []string{"cafis: recovery done: 4 in flight", "cardnet: recovery done"}, nil)
		calls(t, "status", "recovery cafis", "recovery cardnet")
		d.set(func(d *daemon) { d.recoveryLeft = 1 })
		r = run(t, "recovery", "--center", "cardnet", "--json")
		expect(t, r, 1, []string{`"recovery":{"center":"cardnet"`, `"failed":1`}, []string{"fxctl: recovery_required: cardnet: recovery not finished"})
	})
	t.Run("shutdown", func(t *testing.T) {
		d.reset()
		expect(t, run(t, "shutdown"), 0, []string{"shutdown accepted"}, nil)
		expect(t, run(t, "shutdown", "--force", "--json"), 0, []string{`{"force":true,"ok":true}`}, nil)
		calls(t, "shutdown false", "shutdown true")
	})
	t.Run("no daemon", func(t *testing.T) {
		r := run(t, "status", "--socket", filepath.Join(tmp, "nothing.sock"))
		expect(t, r, 1, nil, []string{"fxctl: unavailable: cannot reach fxd", "nothing.sock"})
		expect(t, run(t, "status", "--socket", "x", "--data-dir", "y"), 1, nil, []string{"not both"})
	})
	t.Run("permission denied", func(t *testing.T) {
		other := filepath.Join(tmp, "other.sock")
		serve(t, other, &daemon{}, ctl.ServerOptions{AllowedUIDs: []uint32{uint32(os.Getuid()) + 777}})
		r := run(t, "status", "--socket", other)
		expect(t, r, 1, nil, []string{"fxctl: permission_denied: uid"})
	})
	t.Run("timeout", func(t *testing.T) {
		d.reset()
		block := make(chan struct{})
		defer close(block)
		d.set(func(d *daemon) { d.block = block })
		r := run(t, "cutreq", "--center", "cafis", "--timeout", "300ms")
		expect(t, r, 1, nil, []string{"fxctl: timeout:"})
	})
	t.Run("interrupt leaves the command to the daemon", func(t *testing.T) {
		d.reset()
		block := make(chan struct{})
		defer close(block)
		d.set(func(d *daemon) { d.block = block })
		cmd := exec.Command(bin, "cutreq", "--center", "cardnet")
		cmd.Dir = work
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); len(d.Calls()) == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("cutreq never reached the daemon")
			}
		}
		cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "fxctl: canceled: interrupted") {
			t.Fatalf("interrupted fxctl: %v, stderr %q", err, errb.String())
		}
	})
	t.Run("help speaks the procedures", func(t *testing.T) {
		expect(t, run(t, "--help"), 0, []string{"開局", "カットオーバー", "リカバリ処理", "Exit codes", "signon", "shutdown"}, nil)
		expect(t, run(t, "recovery", "--help"), 0, []string{"取消指令", "システム取消", "--center"}, nil)
		expect(t, run(t, "cutreq", "--help"), 0, []string{"0800", "精査", "Exit code 2", "--date"}, nil)
		expect(t, run(t, "shutdown", "--help"), 0, []string{"FX_CtrlShutdown", "--force"}, nil)
	})
}
