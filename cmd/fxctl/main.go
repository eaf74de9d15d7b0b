// Command fxctl is the operator's tool for fxd: signon, signoff, cutover,
// recovery, shutdown, status, totals and reconciliation over the daemon's
// control socket (package ctl). See `fxctl --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fxswitch/fxswitch/ctl"
)

// Exit codes (also in `fxctl --help` and ctl/doc.go).
const (
	exitOK           = 0
	exitFailure      = 1
	exitOutOfBalance = 2
)

// Codes for failures that happen on this side of the socket; the daemon's
// own codes are ctl.Code*.
const (
	codeUsage       = "usage"
	codeUnavailable = "unavailable"
)

const defaultSocket = "data/ctl.sock"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// cliError carries an exit code and the code/message printed on stderr.
type cliError struct {
	exit    int
	code    string
	message string
}

func (e *cliError) Error() string { return e.code + ": " + e.message }

func usageErr(format string, args ...any) error {
	return &cliError{exit: exitFailure, code: codeUsage, message: fmt.Sprintf(format, args...)}
}

type app struct {
	stdout, stderr io.Writer
	socket         string
	dataDir        string
	json           bool
	timeout        time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ce *cliError
	if !errors.As(err, &ce) {
		// cobra's own errors: unknown command or flag, wrong argument count.
		ce = &cliError{exit: exitFailure, code: codeUsage, message: err.Error()}
	}
	fmt.Fprintf(stderr, "fxctl: %s: %s\n", ce.code, ce.message)
	return ce.exit
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "fxctl",
		Short: "Operate fxd: signon, cutover, reconciliation, signoff, shutdown, recovery",
		Long: `fxctl is the operator's tool for fxd, the card-payment switch. It talks to the
daemon over its control socket (a Unix socket of mode 0600, by default
./data/ctl.sock) and runs the operating procedures of CAFIS and CARDNET:

  daily operation    start fxd → fxctl signon (開局) → applications open sessions
                     and do business → fxctl cutreq (カットオーバー) → fxctl signoff
                     (閉局) → fxctl shutdown
  24-hour operation  no daily signon/signoff; CAFIS: fxctl cutreq moves the
                     cut-target date (カット対象日付); CARDNET: the center starts the
                     cutover on its timer, fxd answers and reconciles (精査) by itself
  after a failure    (crash, power loss, shutdown --force) start fxd → fxctl signon
                     → fxctl recovery (リカバリ処理) → applications may open sessions

Flags may follow the subcommand in any order. --json prints one JSON object
for scripts (totals: {"totals":[...]} as in DESIGN §5).

Exit codes: 0 success; 1 failure, with "fxctl: CODE: message" on stderr
(codes: usage, unavailable, and the daemon's: bad_request, invalid_argument,
unknown_center, not_signed_on, recovery_required, busy, shutting_down,
permission_denied, timeout, canceled, internal); 2 the command ran but a
reconciliation came out of balance (cutreq, reconcile).`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	// List the commands in the order of the daily procedure, not alphabetically.
	cobra.EnableCommandSorting = false
	pf := root.PersistentFlags()
	pf.StringVar(&a.socket, "socket", "", "control socket path (default "+defaultSocket+")")
	pf.StringVar(&a.dataDir, "data-dir", "", "fxd data directory; the socket is DIR/ctl.sock")
	pf.BoolVar(&a.json, "json", false, "print one JSON object instead of tables")
	pf.DurationVar(&a.timeout, "timeout", 0, "give up after this long (default per command: status/totals 30s, signon/signoff 2m, shutdown 5m, cutreq/recovery/reconcile 10m)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr("%v", err) })

	root.AddCommand(
		a.signonCmd(), a.signoffCmd(), a.cutreqCmd(), a.recoveryCmd(),
		a.shutdownCmd(), a.statusCmd(), a.totalsCmd(), a.reconcileCmd(),
	)
	return root
}

// centerFlag and dateFlag register and check the common arguments.
func centerFlag(cmd *cobra.Command, p *string, help string) {
	cmd.Flags().StringVar(p, "center", "", help)
}

func dateFlag(cmd *cobra.Command, p *string, help string) {
	cmd.Flags().StringVar(p, "date", "", help)
}

func checkCenter(center string) (string, error) {
	center = strings.ToLower(strings.TrimSpace(center))
	if center != "" && !ctl.ValidCenterName(center) {
		return "", usageErr("--center %q: want cafis or cardnet", center)
	}
	return center, nil
}

func checkDate(date string) error {
	if date != "" && !ctl.ValidDate(date) {
		return usageErr("--date %q: want a calendar date YYYYMMDD", date)
	}
	return nil
}

func (a *app) socketPath() (string, error) {
	switch {
	case a.socket != "" && a.dataDir != "":
		return "", usageErr("give --socket or --data-dir, not both")
	case a.socket != "":
		return a.socket, nil
	case a.dataDir != "":
		return filepath.Join(a.dataDir, "ctl.sock"), nil
	}
	return defaultSocket, nil
}

// connect dials the daemon under the command's deadline. An interrupt
// (Ctrl-C) ends the wait; the daemon still finishes a running command.
func (a *app) connect(defaultTimeout time.Duration) (context.Context, *ctl.Client, func(), error) {
	path, err := a.socketPath()
	if err != nil {
		return nil, nil, nil, err
	}
	timeout := a.timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	c, err := ctl.Dial(ctx, path)
	if err != nil {
		cancel()
		stopSignals()
		return nil, nil, nil, &cliError{exit: exitFailure, code: codeUnavailable,
			message: fmt.Sprintf("cannot reach fxd at %s (is it running? see --socket, --data-dir): %v", path, unwrapOp(err))}
	}
	return ctx, c, func() { c.Close(); cancel(); stopSignals() }, nil
}

// unwrapOp shortens "ctl: dial x: dial unix x: connect: no such file" to its cause.
func unwrapOp(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		var se syscall.Errno
		if errors.As(u, &se) {
			return se
		}
		err = u
	}
}

// fail converts an error from the daemon or the transport into the exit code
// and the stderr line.
func fail(ctx context.Context, err error) error {
	var ce *ctl.Error
	switch {
	case errors.As(err, &ce):
		exit := exitFailure
		if ce.Code == ctl.CodeOutOfBalance {
			exit = exitOutOfBalance
		}
		return &cliError{exit: exit, code: ce.Code, message: ce.Message}
	case errors.Is(err, context.DeadlineExceeded):
		return &cliError{exit: exitFailure, code: ctl.CodeTimeout,
			message: "no answer within the timeout; the daemon may still be running the command (check fxctl status)"}
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return &cliError{exit: exitFailure, code: ctl.CodeCanceled,
			message: "interrupted; the daemon finishes the command on its own (check fxctl status)"}
	}
	return &cliError{exit: exitFailure, code: codeUnavailable, message: err.Error()}
}

// everyCenter resolves "no --center" into the configured centers, in the
// daemon's configuration order.
func everyCenter(ctx context.Context, c *ctl.Client, center string) ([]string, error) {
	if center != "" {
		return []string{center}, nil
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	if len(st.Centers) == 0 {
		return nil, ctl.NewError(ctl.CodeUnknownCenter, "the daemon has no centers configured")
	}
	names := make([]string, len(st.Centers))
	for i, cs := range st.Centers {
		names[i] = cs.Name
	}
	return names, nil
}

// centerOutcome is one center's line of a signon/signoff/recovery run over
// several centers; its JSON is what --json prints.
type centerOutcome struct {
	Center   string              `json:"center"`
	OK       bool                `json:"ok"`
	Error    *ctl.Error          `json:"error,omitempty"`
	Recovery *ctl.RecoveryReport `json:"recovery,omitempty"`
}

// perCenter runs op for one center or every configured one, in order. It goes
// on after a failure (each center is independent), prints every outcome and
// fails if any center failed.
func (a *app) perCenter(center string, timeout time.Duration, op func(context.Context, *ctl.Client, string) (centerOutcome, error)) error {
	center, err := checkCenter(center)
	if err != nil {
		return err
	}
	ctx, c, done, err := a.connect(timeout)
	if err != nil {
		return err
	}
	defer done()
	centers, err := everyCenter(ctx, c, center)
	if err != nil {
		return fail(ctx, err)
	}
	var outcomes []centerOutcome
	var firstErr error
	for _, name := range centers {
		out, err := op(ctx, c, name)
		out.Center = name
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			var ce *ctl.Error
			if errors.As(err, &ce) {
				out.Error = ce
			} else {
				out.Error = &ctl.Error{Code: codeUnavailable, Message: err.Error()}
			}
			if ctx.Err() != nil {
				outcomes = append(outcomes, out)
				break // deadline or interrupt: the rest would fail the same way
			}
		} else {
			out.OK = true
		}
		outcomes = append(outcomes, out)
	}
	if a.json {
		printJSON(a.stdout, struct {
			Results []centerOutcome `json:"results"`
		}{outcomes})
	} else {
		printOutcomes(a.stdout, outcomes)
	}
	if firstErr != nil {
		if len(outcomes) > 1 {
			var failed []string
			for _, o := range outcomes {
				if !o.OK {
					failed = append(failed, o.Center)
				}
			}
			f := fail(ctx, firstErr).(*cliError)
			f.message = fmt.Sprintf("failed for %s: %s", strings.Join(failed, ", "), f.message)
			return f
		}
		return fail(ctx, firstErr)
	}
	return nil
}

func (a *app) signonCmd() *cobra.Command {
	var center string
	cmd := &cobra.Command{
		Use:   "signon [--center cafis|cardnet]",
		Short: "Sign a center on (開局/サインオン); without --center every configured center",
		Long: `Sign on to the center (開局/サインオン): fxd asks the center over its lines and
from then on keeps the center signed on, signing on again by itself after a
line drops. Business (sessions, transactions) needs the center signed on.
Signing on a center that is already signed on succeeds. Without --center every
configured center is signed on, in configuration order; each is tried even if
an earlier one fails.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.perCenter(center, 2*time.Minute, func(ctx context.Context, c *ctl.Client, name string) (centerOutcome, error) {
				return centerOutcome{}, c.Signon(ctx, name)
			})
		},
	}
	centerFlag(cmd, &center, "center to sign on: cafis or cardnet (default: every configured center)")
	return cmd
}

func (a *app) signoffCmd() *cobra.Command {
	var center string
	cmd := &cobra.Command{
		Use:   "signoff [--center cafis|cardnet]",
		Short: "Sign a center off (閉局/サインオフ); without --center every configured center",
		Long: `Sign off from the center (閉局/サインオフ), the end of a daily operation after
the cutover. In 24-hour operation only before maintenance. Without --center
every configured center is signed off, in configuration order.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.perCenter(center, 2*time.Minute, func(ctx context.Context, c *ctl.Client, name string) (centerOutcome, error) {
				return centerOutcome{}, c.Signoff(ctx, name)
			})
		},
	}
	centerFlag(cmd, &center, "center to sign off: cafis or cardnet (default: every configured center)")
	return cmd
}

func (a *app) recoveryCmd() *cobra.Command {
	var center string
	cmd := &cobra.Command{
		Use:   "recovery [--center cafis|cardnet]",
		Short: "Settle what an unclean stop left in flight (リカバリ処理); run after signon",
		Long: `Recovery (リカバリ処理): after fxd stopped without a clean shutdown (crash,
power loss, shutdown --force), settle every message that was in flight
(仕掛中電文) before business resumes. Until it has finished, applications cannot
open sessions ("recovery required").

  CAFIS    a cancel command (取消指令, retransmission) for each in-flight request,
           or a cancel-confirmation command (取消確認指令) where a cancel was
           already under way
  CARDNET  a system cancel (システム取消, 0400/0401) of each in-flight request and
           a resend of every unsent or unacknowledged advice (アドバイス電文)

Run it after signon. It is safe to run again. Without --center every
configured center is recovered, in configuration order. Fails (exit 1) when a
center's recovery did not finish.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.perCenter(center, 10*time.Minute, func(ctx context.Context, c *ctl.Client, name string) (centerOutcome, error) {
				rep, err := c.Recovery(ctx, name)
				if err != nil {
					return centerOutcome{}, err
				}
				if !rep.Done {
					return centerOutcome{Recovery: rep}, ctl.NewError(ctl.CodeRecoveryRequired,
						"%s: recovery not finished, %d of %d in-flight messages unsettled; run recovery again", name, rep.Failed, rep.InFlight)
				}
				return centerOutcome{Recovery: rep}, nil
			})
		},
	}
	centerFlag(cmd, &center, "center to recover: cafis or cardnet (default: every configured center)")
	return cmd
}

func (a *app) cutreqCmd() *cobra.Command {
	var center, date string
	cmd := &cobra.Command{
		Use:   "cutreq --center cafis|cardnet [--date YYYYMMDD]",
		Short: "Close the business date (カットオーバー); CARDNET then reconciles (精査)",
		Long: `Cutover (カットオーバー): close the current business date of a center and start
the next.

  CAFIS    moves fxd's local cut-target date (カット対象日付); no exchange with
           the center. --date sets the new date (it must be later than the
           current one); the default is the next day.
  CARDNET  sends the cutover request (0800, network code 201); on the center's
           response the date moves, then fxd waits until nothing of the closed
           date is in flight and reconciles (精査: 0500 with the closed date's
           totals, 0510 with the center's verdict).

Every open session is told the new date. Exit code 2 when the reconciliation
came out of balance: the totals are printed and the difference is in fxd's log.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runCenterDate(a, "cutreq needs --center (cafis or cardnet)", center, date, (*ctl.Client).Cutreq, printCutover)
		},
	}
	centerFlag(cmd, &center, "center to cut over: cafis or cardnet (required)")
	dateFlag(cmd, &date, "new business date YYYYMMDD (default: the next day)")
	return cmd
}

func (a *app) reconcileCmd() *cobra.Command {
	var center, date string
	cmd := &cobra.Command{
		Use:   "reconcile --center cardnet [--date YYYYMMDD]",
		Short: "Reconcile a closed date's totals with the center (精査)",
		Long: `Reconciliation (精査): compare fxd's totals of one business date with the
center's (CARDNET: 0500 reconciliation request, 0510 response). fxd runs it by
itself after every cutover; this command runs it again, e.g. after an
out-of-balance was investigated. --date defaults to the last closed date.
Exit code 2 when out of balance.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runCenterDate(a, "reconcile needs --center", center, date, (*ctl.Client).Reconcile, printReconciliation)
		},
	}
	centerFlag(cmd, &center, "center to reconcile (required)")
	dateFlag(cmd, &date, "business date YYYYMMDD (default: the last closed date)")
	return cmd
}

// runCenterDate runs a command that needs --center and takes --date: it
// checks both, calls do, and prints its result (JSON with --json), also when
// do reports an error with a result (out of balance).
func runCenterDate[T any](a *app, missing, center, date string,
	do func(*ctl.Client, context.Context, string, string) (*T, error), print func(io.Writer, *T)) error {
	center, err := checkCenter(center)
	if err != nil {
		return err
	}
	if center == "" {
		return usageErr("%s", missing)
	}
	if err := checkDate(date); err != nil {
		return err
	}
	ctx, c, done, err := a.connect(10 * time.Minute)
	if err != nil {
		return err
	}
	defer done()
	res, err := do(c, ctx, center, date)
	if res != nil {
		if a.json {
			printJSON(a.stdout, res)
		} else {
			print(a.stdout, res)
		}
	}
	if err != nil {
		return fail(ctx, err)
	}
	return nil
}

func (a *app) shutdownCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "shutdown [--force]",
		Short: "Stop fxd cleanly, or at once with --force (recovery then required)",
		Long: `Stop the daemon (the seeds' fxctrl shutdown and FX_CtrlShutdown). fxd refuses new
sessions, drives what is in flight to its outcome (bounded), writes the
clean-shutdown marker and exits. With --force it exits at once without the
marker: the next start requires signon and recovery (リカバリ処理) before business.
fxctl returns once the daemon has accepted the request.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ctx, c, done, err := a.connect(5 * time.Minute)
			if err != nil {
				return err
			}
			defer done()
			if err := c.Shutdown(ctx, force); err != nil {
				return fail(ctx, err)
			}
			if a.json {
				printJSON(a.stdout, map[string]bool{"ok": true, "force": force})
			} else if force {
				fmt.Fprintln(a.stdout, "forced shutdown accepted: recovery will be required at the next start")
			} else {
				fmt.Fprintln(a.stdout, "shutdown accepted: fxd drains what is in flight and exits")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "exit at once without draining (recovery required at the next start)")
	return cmd
}

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show centers, lines, sessions, in-flight counts and the recovery state",
		Long: `Show the daemon's state: per center whether it is signed on (開局), its business
date (カット対象日付), sessions, messages in flight (仕掛中電文), advices waiting
to be delivered (アドバイス電文), whether recovery (リカバリ処理) is required, and
the last reconciliation (精査); per line its address, state (down, connecting,
connected, signed_on), in-flight count and reconnects.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ctx, c, done, err := a.connect(30 * time.Second)
			if err != nil {
				return err
			}
			defer done()
			st, err := c.Status(ctx)
			if err != nil {
				return fail(ctx, err)
			}
			if a.json {
				printJSON(a.stdout, st)
			} else {
				printStatus(a.stdout, st)
			}
			return nil
		},
	}
}

func (a *app) totalsCmd() *cobra.Command {
	var center, date string
	cmd := &cobra.Command{
		Use:   "totals [--center cafis|cardnet] [--date YYYYMMDD]",
		Short: "Show settlement totals per center and business date",
		Long: `Show the settlement totals fxd keeps per center and business date: credits
(refunds), credit reversals, debits (sales), debit reversals — counts and
amounts in minor units — the net (debits − debit reversals − credits + credit
reversals) and the reconciliation state (none, in_balance, out_of_balance).
Without --date: the current date and every unreconciled or last closed date.
--json prints {"totals":[{"center":…,"date":…,"credits_count":…,…}]}.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			center, err := checkCenter(center)
			if err != nil {
				return err
			}
			if err := checkDate(date); err != nil {
				return err
			}
			ctx, c, done, err := a.connect(30 * time.Second)
			if err != nil {
				return err
			}
			defer done()
			rows, err := c.Totals(ctx, center, date)
			if err != nil {
				return fail(ctx, err)
			}
			if a.json {
				printJSON(a.stdout, struct {
					Totals []ctl.TotalsRow `json:"totals"`
				}{rows})
			} else {
				printTotals(a.stdout, rows)
			}
			return nil
		},
	}
	centerFlag(cmd, &center, "only this center (default: every center)")
	dateFlag(cmd, &date, "only this business date YYYYMMDD")
	return cmd
}
