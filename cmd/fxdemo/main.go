// Command fxdemo runs one business day of both centers with the real
// programs in a temporary directory and prints a summary (`make demo`).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/fxswitch/fxswitch/bench/demo"
)

func main() {
	traffic := flag.Duration("traffic", 3*time.Second, "how long the apps send traffic")
	sessions := flag.Int("sessions", 4, "sessions per center")
	conc := flag.Int("concurrency", 8, "outstanding requests per session")
	keep := flag.Bool("keep", false, "keep the temporary directory (logs, journal, data)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "fxswitch-demo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fxdemo:", err)
		os.Exit(1)
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	sum, err := demo.Run(ctx, demo.Options{Dir: dir, Traffic: *traffic, Sessions: *sessions, Concurrency: *conc, Seed: 1, Out: os.Stdout})
	if sum != nil {
		sum.Print(os.Stdout)
	}
	if *keep {
		fmt.Println("files kept in", dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fxdemo:", err)
		if !*keep {
			os.RemoveAll(dir)
		}
		os.Exit(1)
	}
}
