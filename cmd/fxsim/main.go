// Command fxsim plays the CAFIS and CARDNET centers for fxd, its tests and
// its benchmarks. See package sim for the behaviour, the answer codes, the
// faults file format and the journal format.
//
//	fxsim --cardnet ADDR --cafis ADDR [--http ADDR] [--journal FILE] [--seed N]
//	      [--cutover-every DUR | --cutover-at HH:MM] [--faults FILE] [--date YYYYMMDD] [--rules FILE]
//	      [--mac-key FILE]
//
// Once ready it prints one line per listener on stdout ("cardnet listening
// 127.0.0.1:7700", "cafis listening ...", "http listening ..."), with the
// bound address (port 0 picks one). SIGINT or SIGTERM stops it cleanly: the
// lines close, the end-of-day totals go to the journal, and it exits 0.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fxswitch/fxswitch/sim"
	"github.com/fxswitch/fxswitch/switch/mac"
)

const usageHead = `fxsim — CAFIS and CARDNET center simulator

Usage:
  fxsim --cardnet ADDR --cafis ADDR [--http ADDR] [--journal FILE] [--seed N]
        [--cutover-every DUR | --cutover-at HH:MM] [--faults FILE]
        [--date YYYYMMDD] [--rules FILE] [--mac-key FILE]

Either center may be omitted to not run it (at least one is needed). On
stdout, once ready: "cardnet listening ADDR", "cafis listening ADDR",
"http listening ADDR" (bound addresses; port 0 picks a free port).
SIGINT/SIGTERM: close every line, journal the end-of-day totals, exit 0.

Flags:
`

const usageTail = `
Answers (defaults; --rules changes them):
  amount ending in 51 → 51 (CAFIS 051); PAN 4000000000000002 → 05 (005);
  otherwise approved (00 / 000) with a 6-digit authorization code.
  Financial traffic on a line that has not signed on → 91 (091).
  Same key, different content → 94 (094). Reversal/cancel with no approved
  original → 25 (025). 0500 → 0510 with DE66 1 (in balance) or 2.

Faults file (--faults, YAML or JSON; also PUT /faults at run time):
  faults:
    - center: cardnet        # cardnet | cafis | omitted: both
      kind: "0200"           # MTI or CAFIS kind code; omitted: every request
                             # (codes overlap: without center, "0200" is also
                             # the CAFIS cancel)
      action: drop_response  # delay | late | drop_request | drop_response |
                             # duplicate | corrupt | disconnect | refuse
      rate: 0.1              # probability, 0 or omitted: every match
      delay_ms: 200          # delay/late; delay is random up to max_delay_ms
      max_delay_ms: 800
      skip: 0                # let the first N matches through
      count: 0               # stop after N hits (0: no limit)
      start_ms: 0            # active from start_ms after installation ...
      for_ms: 0              # ... for for_ms (0: until replaced)
  Decisions depend only on --seed, the rule and the message identity, so
  the same traffic meets the same faults on every run.

Rules file (--rules, YAML or JSON; a key given replaces its default):
  amount_suffix: {"51": "51", "99": "05"}   # longest matching suffix wins
  blocked_pans: ["4000000000000002"]
  blocked_code: "05"

CARDNET MAC (--mac-key FILE: 64 hex characters or 32 bytes, mode 0600):
  every CARDNET message the center sends carries DE128 = HMAC-SHA-256 of the
  message before DE128, first 8 bytes as 16 hex characters; every inbound
  CARDNET message must carry a valid DE128, or it is not processed and not
  answered, journaled (event bad_mac) and counted (GET /stats).

HTTP control (--http): POST /cutover?center=cardnet|cafis, GET|PUT /faults,
GET /totals, GET /stats, GET /healthz.
`

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, sigs))
}

func run(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	fl := flag.NewFlagSet("fxsim", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		cardnet   = fl.String("cardnet", "", "CARDNET center listen address, e.g. 127.0.0.1:7700 (empty: not run)")
		cafis     = fl.String("cafis", "", "CAFIS center listen address, e.g. 127.0.0.1:7800 (empty: not run)")
		httpAddr  = fl.String("http", "", "control endpoint listen address (empty: none)")
		journalF  = fl.String("journal", "", "JSONL journal of every message, event and end-of-day totals (empty: none)")
		seed      = fl.Int64("seed", 1, "seed of the fault decisions")
		every     = fl.Duration("cutover-every", 0, "CARDNET timed cutover period, e.g. 24h or 30s (0: off)")
		at        = fl.String("cutover-at", "", "CARDNET daily cutover at this local clock time HH:MM (instead of --cutover-every)")
		faultsF   = fl.String("faults", "", "faults file, YAML or JSON (format below)")
		date      = fl.String("date", "", "initial business date YYYYMMDD of both centers (default: today)")
		rulesF    = fl.String("rules", "", "approve/decline rules file, YAML or JSON (format below)")
		loops     = fl.Int("event-loops", 2, "event loops per center")
		maxLines  = fl.Int("max-lines", 256, "line connections accepted per center")
		cutAnswer = fl.Duration("cutover-answer-timeout", 5*time.Second, "how long a center cutover waits for the daemon's 0810")
		macKeyF   = fl.String("mac-key", "", "CARDNET DE128 MAC key file, mode 0600 (empty: no MAC)")
	)
	fl.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fl.PrintDefaults()
		fmt.Fprint(stderr, usageTail)
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "fxsim: unexpected arguments %q\n", fl.Args())
		return 2
	}
	opts := sim.Options{CardnetAddr: *cardnet, CafisAddr: *cafis, HTTPAddr: *httpAddr, JournalPath: *journalF,
		Seed: *seed, CutoverEvery: *every, CutoverAt: *at, Date: *date, EventLoops: *loops, MaxLines: *maxLines,
		CutoverAnswerTimeout: *cutAnswer}
	if *faultsF != "" {
		fs, err := sim.LoadFaults(*faultsF)
		if err != nil {
			fmt.Fprintf(stderr, "fxsim: %v\n", err)
			return 2
		}
		opts.Faults = fs
	}
	if *rulesF != "" {
		r, err := sim.LoadRules(*rulesF)
		if err != nil {
			fmt.Fprintf(stderr, "fxsim: %v\n", err)
			return 2
		}
		opts.Rules = &r
	}
	if *macKeyF != "" {
		k, err := mac.LoadKey(*macKeyF)
		if err != nil {
			fmt.Fprintf(stderr, "fxsim: %v\n", err)
			return 2
		}
		opts.MACKey = k
	}
	s, err := sim.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "fxsim: %v\n", err)
		return 2
	}
	if err := s.Start(); err != nil {
		fmt.Fprintf(stderr, "fxsim: %v\n", err)
		return 1
	}
	if a := s.CardnetAddr(); a != "" {
		fmt.Fprintf(stdout, "cardnet listening %s\n", a)
	}
	if a := s.CafisAddr(); a != "" {
		fmt.Fprintf(stdout, "cafis listening %s\n", a)
	}
	if a := s.HTTPAddr(); a != "" {
		fmt.Fprintf(stdout, "http listening %s\n", a)
	}
	<-stop
	if err := s.Close(); err != nil {
		fmt.Fprintf(stderr, "fxsim: %v\n", err)
		return 1
	}
	return 0
}
