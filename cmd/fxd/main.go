// Command fxd is the fxswitch daemon: it accepts application sessions over
// IPC, multiplexes their transactions onto lines to the CAFIS and CARDNET
// centers, logs every outbound request to the write-ahead log before it
// leaves, and runs signon, cutover, reconciliation, signoff, shutdown and
// recovery on fxctl's command.
//
//	fxd --config fxd.yaml [--data-dir DIR] [--ipc-unix PATH] [--ipc-tcp ADDR] [--ctl PATH] [--admin ADDR]
//
// Once serving it prints one line per listener on stdout:
//
//	ipc-unix listening PATH
//	ipc-tcp listening ADDR
//	ctl listening PATH
//	admin listening ADDR   (with --admin: /metrics, /healthz, /readyz)
//
// fxd sets GOGC to 200 unless GOGC is in its environment (see gcPercent).
//
// SIGTERM and SIGINT run a clean shutdown (as `fxctl shutdown`); SIGHUP
// reloads the TLS certificates of the IPC listener without dropping sessions.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/fxswitch/fxswitch/switch/auth"
	"github.com/fxswitch/fxswitch/switch/config"
	"github.com/fxswitch/fxswitch/switch/engine"
)

// gcPercent is fxd's GOGC unless the environment sets one. fxd's live heap
// is small (sessions, in-flight requests, buffers) and it allocates steadily
// under load, so with Go's default of 100 the collector runs often: 200
// gave 4-5 % more closed-loop TPS for ~30 MB more RSS, and 230 MB instead of
// 161 MB with 10,000 sessions all busy (bench/RESULTS.md, "## end to end").
// An operator who wants the memory back sets GOGC=100 in fxd's environment.
const gcPercent = 200

func main() {
	os.Exit(run())
}

func run() int {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	fl := flag.NewFlagSet("fxd", flag.ContinueOnError)
	cfgPath := fl.String("config", "fxd.yaml", "configuration file (absent: built-in defaults, see docs/CONFIG.md)")
	dataDir := fl.String("data-dir", "", "data directory (overrides data_dir)")
	ipcUnix := fl.String("ipc-unix", "\x00", "IPC Unix socket path, \"\" to disable (overrides ipc.unix)")
	ipcTCP := fl.String("ipc-tcp", "\x00", "IPC TCP address, \"\" to disable (overrides ipc.tcp)")
	ctlPath := fl.String("ctl", "\x00", "control socket path (overrides ctl.unix)")
	admin := fl.String("admin", "\x00", "admin HTTP address (overrides admin)")
	logFormat := fl.String("log-format", "", "text or json (overrides log.format)")
	logLevel := fl.String("log-level", "", "debug, info, warn or error (overrides log.level)")
	newToken := fl.String("new-token", "", "print a new random token for APP and the line for the app_tokens file, then exit")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: fxd --config fxd.yaml [flags]\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *newToken != "" {
		tok, hash, err := auth.NewToken()
		if err != nil {
			fmt.Fprintln(os.Stderr, "fxd:", err)
			return 1
		}
		fmt.Printf("token for %s (give it to the app; it is not stored): %s\n", *newToken, tok)
		fmt.Printf("line for the app_tokens file, under apps:\n  %s: %q\n", *newToken, hash)
		return 0
	}
	cfg, err := config.Load(*cfgPath)
	if errors.Is(err, fs.ErrNotExist) && !flagSet(fl, "config") {
		cfg = config.Default()
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "fxd:", err)
		return 2
	}
	set := func(dst *string, v string) {
		if v != "\x00" {
			*dst = v
		}
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	set(&cfg.IPC.Unix, *ipcUnix)
	set(&cfg.IPC.TCP, *ipcTCP)
	set(&cfg.Ctl.Unix, *ctlPath)
	set(&cfg.Admin, *admin)
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "fxd:", err)
		return 2
	}
	log := newLogger(cfg.Log)
	slog.SetDefault(log)
	e, err := engine.New(engine.Options{Config: cfg, Logger: log})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := e.Start(); err != nil {
		log.Error("cannot start", "err", err)
		e.Close()
		return 1
	}
	if e.IPCUnix != "" {
		fmt.Printf("ipc-unix listening %s\n", e.IPCUnix)
	}
	if e.IPCTCP != "" {
		fmt.Printf("ipc-tcp listening %s\n", e.IPCTCP)
	}
	if e.CtlPath != "" {
		fmt.Printf("ctl listening %s\n", e.CtlPath)
	}
	if e.AdminAddr != "" {
		fmt.Printf("admin listening %s\n", e.AdminAddr)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			if err := e.ReloadTLS(); err != nil {
				log.Error("TLS certificate reload failed; the current certificate stays", "err", err)
			} else {
				log.Info("TLS certificates reloaded")
			}
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		log.Info("signal received; clean shutdown", "signal", s.String())
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx, false); err != nil {
			log.Error("shutdown", "err", err)
		}
		return e.Wait()
	case <-e.Stopped():
		return e.Wait()
	}
}

func flagSet(fl *flag.FlagSet, name string) bool {
	found := false
	fl.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

func newLogger(c config.Log) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
