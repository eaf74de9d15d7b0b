// Package spawn builds and starts fxswitch's programs as real processes in a
// directory of their own: fxsim (both centers), fxd (the daemon) and fxctl
// (the operator's tool). The demo, the end-to-end tests and fxbench --spawn
// all use it, so what they exercise is exactly what an operator runs.
//
// Every process listens on 127.0.0.1 port 0 or a Unix socket inside the
// directory; the addresses are read from the "... listening ADDR" lines the
// programs print once ready.
package spawn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Binaries are the built programs.
type Binaries struct {
	Dir                        string
	FXD, FXSim, FXCtl, FXBench string
}

// ModuleRoot finds the directory holding go.mod, from the working directory up.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("spawn: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Build compiles the commands into outDir with `go build`.
func Build(ctx context.Context, outDir string, race bool) (*Binaries, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	args := []string{"build", "-o", outDir + string(os.PathSeparator)}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/fxd", "./cmd/fxsim", "./cmd/fxctl")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("spawn: go build: %v\n%s", err, out)
	}
	return &Binaries{Dir: outDir, FXD: filepath.Join(outDir, "fxd"), FXSim: filepath.Join(outDir, "fxsim"),
		FXCtl: filepath.Join(outDir, "fxctl"), FXBench: filepath.Join(outDir, "fxbench")}, nil
}

// Proc is a started program.
type Proc struct {
	Cmd    *exec.Cmd
	Name   string
	Addrs  map[string]string // "cardnet" → "127.0.0.1:41234", "ipc unix" → path …
	stderr *lockedBuffer
	done   chan struct{}
	err    error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	f  *os.File
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_, _ = l.f.Write(p)
	}
	if l.b.Len() < 4<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Stderr returns what the program wrote to stderr so far (its log).
func (p *Proc) Stderr() string { return p.stderr.String() }

// Start runs bin with args in dir and waits until it printed a line for
// every name in want ("<name> listening <addr>"), or fails after timeout.
// logPath, when set, receives a copy of stderr.
func Start(ctx context.Context, name, bin, dir, logPath string, want []string, timeout time.Duration, args ...string) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	lb := &lockedBuffer{}
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		lb.f = f
	}
	cmd.Stderr = lb
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("spawn: %s: %w", name, err)
	}
	p := &Proc{Cmd: cmd, Name: name, Addrs: map[string]string{}, stderr: lb, done: make(chan struct{})}
	ready := make(chan struct{})
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			text := sc.Text()
			if i := strings.Index(text, " listening "); i > 0 {
				mu.Lock()
				p.Addrs[text[:i]] = strings.TrimSpace(text[i+len(" listening "):])
				all := true
				for _, w := range want {
					if _, ok := p.Addrs[w]; !ok {
						all = false
					}
				}
				mu.Unlock()
				if all && !signalled {
					signalled = true
					close(ready)
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		p.err = cmd.Wait()
		if lb.f != nil {
			lb.f.Close()
		}
		close(p.done)
	}()
	if len(want) == 0 {
		close(ready)
	}
	select {
	case <-ready:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("spawn: %s exited before it was ready: %v\n%s", name, p.err, lb.String())
	case <-time.After(timeout):
		p.Kill()
		return nil, fmt.Errorf("spawn: %s not ready within %v\n%s", name, timeout, lb.String())
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	}
}

// Kill sends SIGKILL to the process group (kill -9) and waits.
func (p *Proc) Kill() {
	if p.Cmd.Process != nil {
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	}
	<-p.done
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Wait waits for the process to exit (up to timeout) and returns its exit code.
func (p *Proc) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return -1, fmt.Errorf("spawn: %s still running after %v", p.Name, timeout)
	}
	if p.err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode(), nil
	}
	return -1, p.err
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Run runs a short command (fxctl) and returns stdout, stderr and exit code.
func Run(ctx context.Context, bin string, args ...string) (stdout, stderr string, code int, err error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	code = 0
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code, err = ee.ExitCode(), nil
		} else {
			code = -1
		}
	}
	return o.String(), e.String(), code, err
}

// ErrMissingBinary: a directory given for prebuilt programs lacks one.
var ErrMissingBinary = errors.New("spawn: program not found")

// Existing returns the programs already built in dir (as Build leaves them),
// checking that fxd, fxsim and fxctl are there; FXBench may be absent.
func Existing(dir string) (*Binaries, error) {
	// Absolute: Start runs programs in another working directory.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b := &Binaries{Dir: dir, FXD: filepath.Join(dir, "fxd"), FXSim: filepath.Join(dir, "fxsim"),
		FXCtl: filepath.Join(dir, "fxctl"), FXBench: filepath.Join(dir, "fxbench")}
	for _, p := range []string{b.FXD, b.FXSim, b.FXCtl} {
		st, err := os.Stat(p)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("%w: %s", ErrMissingBinary, p)
		}
	}
	return b, nil
}

// BuildBench is Build plus the load generator fxbench, for tests that run it.
func BuildBench(ctx context.Context, outDir string, race bool) (*Binaries, error) {
	b, err := Build(ctx, outDir, race)
	if err != nil {
		return nil, err
	}
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	args := []string{"build", "-o", b.FXBench}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/fxbench")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("spawn: go build fxbench: %v\n%s", err, out)
	}
	return b, nil
}
