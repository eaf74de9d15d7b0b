// Command abuse is a hostile IPC client for measuring how much it slows the
// other apps of an fxd. For a bounded time, over a Unix socket (or a
// loopback TCP address) it
//
//	(a) opens connections as fast as it can and sends garbage, oversize and
//	    undersize length prefixes, or half a frame that it never finishes;
//	(b) opens valid sessions and floods invalid Requests (error 15, the
//	    connection stays) with a malformed one (error 1, closed) now and then;
//	(c) holds idle connections that send nothing.
//
// Against a running fxd:
//
//	go run ./bench/abuse --socket DIR/fxd.sock --duration 10s
//
// Or the whole measurement, fxbench alone then beside the abuser on one fxd
// (bench/load.StartEnv: fxsim + fxd signed on, in a temp dir):
//
//	make build && go run ./bench/abuse --spawn --bin bin --rate 20000 --duration 8s
//
// Both print one JSON object.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fxswitch/fxswitch/bench/load"
)

func main() {
	var cfg Config
	socket := flag.String("socket", "", "fxd IPC Unix socket to abuse")
	addr := flag.String("addr", "", "fxd IPC TCP address (loopback only)")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long the abuse lasts (with --spawn: fxbench's --duration; the abuse starts 1 s before and ends 1 s after)")
	flag.StringVar(&cfg.Center, "center", "cardnet", "center named in OpenSession")
	flag.StringVar(&cfg.Token, "token", "", "app token for OpenSession (when fxd has app_tokens)")
	flag.IntVar(&cfg.Churners, "churners", 8, "(a) goroutines opening connections with bad bytes")
	flag.IntVar(&cfg.MaxHalf, "max-half", 1000, "(a) half frames held open at once")
	flag.IntVar(&cfg.Flooders, "flooders", 8, "(b) connections flooding invalid requests")
	flag.IntVar(&cfg.Batch, "batch", 64, "(b) invalid requests per write")
	flag.IntVar(&cfg.MalformedEvery, "malformed-every", 50, "(b) a malformed frame every N batches (0: never)")
	flag.IntVar(&cfg.Idle, "idle", 2000, "(c) idle connections held")
	spawnRun := flag.Bool("spawn", false, "start fxsim + fxd, run fxbench alone, then beside the abuser")
	bin := flag.String("bin", "bin", "--spawn: directory with fxd, fxsim, fxctl, fxbench")
	rate := flag.Float64("rate", 20000, "--spawn: fxbench --rate")
	keep := flag.Bool("keep", false, "--spawn: keep the temp dir (fxd.log)")
	niceness := flag.Int("nice", 0, "--spawn: run the abuser process under nice -n N (fxd, fxsim and fxbench stay at 0)")
	flag.Parse()

	switch {
	case *spawnRun:
		if err := measure(cfg, *bin, *rate, *keep, *niceness); err != nil {
			fmt.Fprintln(os.Stderr, "abuse:", err)
			os.Exit(1)
		}
		return
	case *socket != "":
		cfg.Network, cfg.Addr = "unix", *socket
	case *addr != "":
		if !strings.HasPrefix(*addr, "127.") && !strings.HasPrefix(*addr, "[::1]") && !strings.HasPrefix(*addr, "localhost:") {
			fmt.Fprintln(os.Stderr, "abuse: --addr must be a loopback address")
			os.Exit(2)
		}
		cfg.Network, cfg.Addr = "tcp", *addr
	default:
		fmt.Fprintln(os.Stderr, "abuse: --socket, --addr or --spawn is required")
		os.Exit(2)
	}
	printJSON(Abuse(cfg))
}

func printJSON(v any) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Report is the --spawn measurement.
type Report struct {
	Date         string         `json:"date"`
	Alone        map[string]any `json:"fxbench_alone"`
	Abused       map[string]any `json:"fxbench_beside_abuser"`
	Abuser       Counts         `json:"abuser"`
	AbuserNice   int            `json:"abuser_nice"`
	FXDAlive     bool           `json:"fxd_alive_after"`
	FXDRSSKB     int64          `json:"fxd_rss_kb_after"`
	FXDFDs       int            `json:"fxd_open_fds_after"`
	FXDFDs5s     int            `json:"fxd_open_fds_5s_later"`
	ReapLogLines int            `json:"fxd_log_reaped_lines"`
	FXDLogWarns  int            `json:"fxd_log_warn_lines"`
	FXDLogErrors int            `json:"fxd_log_error_lines"`
	Dir          string         `json:"dir,omitempty"`
}

func measure(cfg Config, bin string, rate float64, keep bool, niceness int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "fxabuse-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	absBin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	env, err := load.StartEnv(ctx, load.EnvOptions{Dir: dir, BinDir: absBin, Log: os.Stderr})
	if err != nil {
		return err
	}
	defer env.Close()
	pid := env.FXD.Cmd.Process.Pid
	cfg.Network, cfg.Addr = env.IPCNetwork, env.IPCAddr
	bench := func() (map[string]any, error) {
		args := []string{"--socket", env.IPCAddr, "--rate", strconv.FormatFloat(rate, 'f', -1, 64),
			"--duration", cfg.Duration.String(), "--json", "--quiet", "--pid", strconv.Itoa(pid)}
		fmt.Fprintln(os.Stderr, "abuse: fxbench", strings.Join(args, " "))
		out, err := exec.CommandContext(ctx, filepath.Join(absBin, "fxbench"), args...).Output()
		if err != nil {
			return nil, fmt.Errorf("fxbench: %w", err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			return nil, fmt.Errorf("fxbench output: %w", err)
		}
		delete(m, "latency_curve_us")
		delete(m, "tps_series")
		return m, nil
	}
	rep := Report{Date: time.Now().UTC().Format(time.RFC3339)}
	if rep.Alone, err = bench(); err != nil {
		return err
	}
	benchDur := cfg.Duration
	cfg.Duration = benchDur + 2*time.Second
	// The abuser runs as a process of its own (this program with --socket),
	// so that it can be niced without the daemon.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{self, "--socket", cfg.Addr, "--duration", cfg.Duration.String(),
		"--center", cfg.Center, "--token", cfg.Token,
		"--churners", strconv.Itoa(cfg.Churners), "--max-half", strconv.Itoa(cfg.MaxHalf),
		"--flooders", strconv.Itoa(cfg.Flooders), "--batch", strconv.Itoa(cfg.Batch),
		"--malformed-every", strconv.Itoa(cfg.MalformedEvery), "--idle", strconv.Itoa(cfg.Idle)}
	if niceness != 0 {
		args = append([]string{"nice", "-n", strconv.Itoa(niceness)}, args...)
	}
	fmt.Fprintln(os.Stderr, "abuse:", strings.Join(args, " "))
	abuser := exec.CommandContext(ctx, args[0], args[1:]...)
	abuser.Stderr = os.Stderr
	abuserOut := make(chan []byte, 1)
	abuserErr := make(chan error, 1)
	go func() {
		out, err := abuser.Output()
		abuserOut <- out
		abuserErr <- err
	}()
	time.Sleep(time.Second)
	cfg.Duration = benchDur
	rep.Abused, err = bench()
	out := <-abuserOut
	if aerr := <-abuserErr; aerr != nil {
		return fmt.Errorf("abuser: %w", aerr)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, &rep.Abuser); err != nil {
		return fmt.Errorf("abuser output: %w", err)
	}
	rep.AbuserNice = niceness
	select {
	case <-env.FXD.Done():
	default:
		rep.FXDAlive = true
	}
	rep.FXDRSSKB = rssKB(pid)
	rep.FXDFDs = fds(pid)
	time.Sleep(5 * time.Second)
	rep.FXDFDs5s = fds(pid)
	rep.ReapLogLines, rep.FXDLogWarns, rep.FXDLogErrors = logLines(filepath.Join(dir, "fxd.log"))
	if keep {
		rep.Dir = dir
	}
	printJSON(rep)
	return nil
}

func fds(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

func logLines(path string) (reaped, warns, errs int) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		l := s.Text()
		if strings.Contains(l, "closing app connection") {
			reaped++
		}
		if strings.Contains(l, "WARN") {
			warns++
		}
		if strings.Contains(l, "ERROR") {
			errs++
		}
	}
	return
}
