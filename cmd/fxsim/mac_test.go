package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/switch/mac"
)

func TestMACKeyFlag(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "cardnet.mac")
	key, err := mac.NewKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}

	pr, pw := io.Pipe()
	stop := make(chan os.Signal, 1)
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := run([]string{"--cardnet", "127.0.0.1:0", "--mac-key", keyPath}, pw, &errb, stop)
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	var addr string
	for addr == "" && sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "cardnet" {
			addr = f[2]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if addr == "" {
		t.Fatalf("no listening line; stderr: %s", errb.String())
	}
	cn := dial(t, addr)
	var f codec.ISOFields
	f.SetString(7, "1123100000")
	f.SetUint(11, 1)
	f.SetString(70, "001")
	f.SetString(128, mac.MACPlaceholder)
	b, _ := codec.CardnetSpec().Append(nil, "0800", &f)
	if err := key.Sign(b); err != nil {
		t.Fatal(err)
	}
	answer := exchange(t, cn, codec.FrameBin2, b)
	if err := key.Verify(answer); err != nil {
		t.Fatalf("signon answer %q: %v", answer, err)
	}
	stop <- syscall.SIGTERM
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}

	// A key file others can read is refused before anything listens.
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"--cardnet", "127.0.0.1:0", "--mac-key", keyPath}, io.Discard, &errb, nil); code != 2 ||
		!strings.Contains(errb.String(), "group or others") {
		t.Fatalf("0644 key: exit %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"--cardnet", "127.0.0.1:0", "--mac-key", filepath.Join(dir, "absent")}, io.Discard, &errb, nil); code != 2 {
		t.Fatalf("absent key: exit %d", code)
	}
	// The key never appears in what fxsim prints.
	raw, _ := os.ReadFile(keyPath)
	if strings.Contains(errb.String(), strings.TrimSpace(string(raw))) {
		t.Fatal("key printed")
	}
}
