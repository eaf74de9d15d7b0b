package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/sim/journal"
)

// TestBinarySmoke builds fxsim, starts it on port 0, reads its "listening"
// lines, signs on to both centers and stops it with SIGTERM.
func TestBinarySmoke(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fxsim")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	jpath := filepath.Join(dir, "j.jsonl")
	faults := filepath.Join(dir, "faults.yaml")
	if err := os.WriteFile(faults, []byte("faults:\n  - {center: cafis, kind: \"0030\", action: duplicate}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--cardnet", "127.0.0.1:0", "--cafis", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--journal", jpath, "--seed", "7", "--faults", faults, "--date", "20261123")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for len(addrs) < 3 && sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[1] == "listening" {
			addrs[f[0]] = f[2]
		}
	}
	if len(addrs) != 3 {
		_ = cmd.Process.Kill()
		t.Fatalf("listening lines: %v; stderr: %s", addrs, stderr.String())
	}

	// CARDNET signon.
	cn := dial(t, addrs["cardnet"])
	var f codec.ISOFields
	f.SetString(7, "1123100000")
	f.SetUint(11, 1)
	f.SetString(70, "001")
	b, _ := codec.CardnetSpec().Append(nil, "0800", &f)
	payload := exchange(t, cn, codec.FrameBin2, b)
	var m codec.ISOMessage
	if err := codec.CardnetSpec().Decode(&m, payload); err != nil || string(m.MTI()) != "0810" || string(m.Get(39)) != "00" {
		t.Fatalf("signon answer %q: %v", payload, err)
	}

	// CAFIS signon.
	cf := dial(t, addrs["cafis"])
	h := codec.CafisHeader{Serial: 1}
	h.SetKind(codec.KindSignonReq)
	h.SetMerchant("M1")
	copy(h.Date[:], "20261123")
	copy(h.Time[:], "100000")
	b, _ = codec.CafisBuiltin().Append(nil, &h, nil)
	payload = exchange(t, cf, codec.FrameASCII4, b)
	var r codec.CafisRecord
	if err := codec.CafisBuiltin().Decode(&r, payload); err != nil || string(r.Kind()) != codec.KindSignonResp || string(r.Result()) != "000" {
		t.Fatalf("cafis signon answer %q: %v", payload, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr: %s", err, stderr.String())
	}
	v, err := journal.Read(jpath)
	if err != nil {
		t.Fatal(err)
	}
	if v.Events["signon"] != 2 {
		t.Fatalf("journal signon events: %v", v.Events)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func exchange(t *testing.T, c net.Conn, fr codec.Framing, payload []byte) []byte {
	t.Helper()
	b, _ := fr.AppendFrame(nil, payload)
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf []byte
	tmp := make([]byte, 4096)
	for {
		p, total, err := fr.Split(buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		if total > 0 {
			return p
		}
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if err == io.EOF && n == 0 {
			t.Fatal("closed")
		}
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb, nil); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, fl := range []string{"-cardnet", "-cafis", "-http", "-journal", "-seed", "-cutover-every", "-cutover-at", "-faults", "-date", "-rules", "-mac-key", "drop_response", "refuse"} {
		if !strings.Contains(errb.String(), fl) {
			t.Errorf("--help does not mention %s", fl)
		}
	}
}

func TestBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--date", "2026-11-23", "--cardnet", "127.0.0.1:0"}, &out, &errb, nil); code != 2 || !strings.Contains(errb.String(), "invalid") {
		t.Fatalf("bad date: exit %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"--cardnet", "127.0.0.1:0", "--cutover-at", "25:00"}, &out, &errb, nil); code != 2 {
		t.Fatalf("bad cutover time: exit %d", code)
	}
	errb.Reset()
	if code := run(nil, &out, &errb, nil); code != 2 {
		t.Fatalf("no center: exit %d", code)
	}
	errb.Reset()
	if code := run([]string{"--cafis", "127.0.0.1:0", "--faults", "/nonexistent.yaml"}, &out, &errb, nil); code != 2 {
		t.Fatalf("missing faults file: exit %d", code)
	}
}
