package mac

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fxswitch/fxswitch/codec"
)

func testKey(t testing.TB) *Key {
	t.Helper()
	k, err := New(bytes.Repeat([]byte{0x5A}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// financial encodes a 0200 with the DE128 placeholder (or without DE128).
func financial(t testing.TB, withMAC bool) []byte {
	t.Helper()
	var f codec.ISOFields
	f.SetString(2, "4111111111111111")
	f.SetString(3, "000000")
	f.SetUint(4, 1000)
	f.SetString(7, "1123101010")
	f.SetUint(11, 42)
	f.SetString(15, "1123")
	f.SetString(41, "TERM0001")
	f.SetString(49, "392")
	if withMAC {
		f.SetString(128, MACPlaceholder)
	}
	msg, err := codec.CardnetSpec().Append(nil, "0200", &f)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k := testKey(t)
	msg := financial(t, true)
	before := bytes.Clone(msg)
	if err := k.Sign(msg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg[:len(msg)-Size], before[:len(before)-Size]) {
		t.Fatal("Sign changed bytes outside DE128")
	}
	// Independent computation of the documented algorithm.
	h := hmac.New(sha256.New, bytes.Repeat([]byte{0x5A}, KeySize))
	h.Write(msg[:len(msg)-Size])
	want := strings.ToUpper(hex.EncodeToString(h.Sum(nil)[:8]))
	if got := string(msg[len(msg)-Size:]); got != want {
		t.Fatalf("DE128 %s, want %s", got, want)
	}
	if err := k.Verify(msg); err != nil {
		t.Fatal(err)
	}
	// The codec still decodes it and sees the MAC in DE128.
	var m codec.ISOMessage
	if err := codec.CardnetSpec().Decode(&m, msg); err != nil {
		t.Fatal(err)
	}
	if string(m.Get(128)) != want {
		t.Fatalf("decoded DE128 %q", m.Get(128))
	}
	// Lower case is accepted.
	lower := bytes.Clone(msg)
	copy(lower[len(lower)-Size:], strings.ToLower(want))
	if err := k.Verify(lower); err != nil {
		t.Fatalf("lower case: %v", err)
	}
}

func TestEveryByteTampered(t *testing.T) {
	k := testKey(t)
	msg := financial(t, true)
	if err := k.Sign(msg); err != nil {
		t.Fatal(err)
	}
	for i := range msg {
		bad := bytes.Clone(msg)
		bad[i] ^= 0x01
		err := k.Verify(bad)
		if err == nil {
			t.Fatalf("byte %d flipped: verified", i)
		}
		// Flipping a bitmap bit may remove bit 128 or break the bitmap;
		// everything else must be ErrBadMAC.
		if !errors.Is(err, ErrBadMAC) && !errors.Is(err, ErrMissingMAC) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("byte %d: %v", i, err)
		}
		if i >= 36 && !errors.Is(err, ErrBadMAC) {
			t.Fatalf("byte %d: %v, want ErrBadMAC", i, err)
		}
	}
	other, _ := New(bytes.Repeat([]byte{0x5B}, KeySize))
	if err := other.Verify(msg); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("other key: %v", err)
	}
	nonHex := bytes.Clone(msg)
	nonHex[len(nonHex)-1] = 'G'
	if err := k.Verify(nonHex); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("non-hex DE128: %v", err)
	}
}

func TestMissingAndMalformed(t *testing.T) {
	k := testKey(t)
	noMAC := financial(t, false)
	if err := k.Verify(noMAC); !errors.Is(err, ErrMissingMAC) {
		t.Fatalf("verify without DE128: %v", err)
	}
	if err := k.Sign(noMAC); !errors.Is(err, ErrMissingMAC) {
		t.Fatalf("sign without DE128: %v", err)
	}
	// Secondary bitmap present (DE70) but no DE128.
	var f codec.ISOFields
	f.SetString(7, "1123101010")
	f.SetUint(11, 1)
	f.SetString(70, "301")
	echo, err := codec.CardnetSpec().Append(nil, "0800", &f)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Verify(echo); !errors.Is(err, ErrMissingMAC) {
		t.Fatalf("echo without DE128: %v", err)
	}
	for _, in := range []string{"", "0200", "0200ZZZZ000000000000", "0200F000000000000000",
		"0200" + "8000000000000000" + "0000000000000001",
		"0200" + "8000000000000000" + "0000000000000001" + "ABCDEF",
		"0200" + "8000000000000000" + "000000000000000X" + "0123456789ABCDEF"} {
		if err := k.Verify([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%q: %v", in, err)
		}
		if err := k.Sign([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("sign %q: %v", in, err)
		}
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cardnet.mac")
	k, err := NewKeyFile(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	if _, err := NewKeyFile(p); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("overwrite: %v", err)
	}
	l, err := LoadKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if l.Fingerprint() != k.Fingerprint() {
		t.Fatal("fingerprint differs after reload")
	}
	msg := financial(t, true)
	if err := k.Sign(msg); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(msg); err != nil {
		t.Fatalf("loaded key: %v", err)
	}
	// The secret never shows in any formatting.
	raw, _ := os.ReadFile(p)
	secretHex := strings.TrimSpace(string(raw))
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k), k.String()} {
		if strings.Contains(strings.ToLower(s), strings.ToLower(secretHex[:16])) {
			t.Fatalf("secret leaked in %q", s)
		}
	}

	rawPath := filepath.Join(dir, "raw.mac")
	if err := os.WriteFile(rawPath, bytes.Repeat([]byte{0x5A}, KeySize), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := LoadKey(rawPath)
	if err != nil {
		t.Fatal(err)
	}
	if r.Fingerprint() != testKey(t).Fingerprint() {
		t.Fatal("raw key differs")
	}
	for name, content := range map[string]string{
		"short":  "abcd\n",
		"nothex": strings.Repeat("zz", KeySize) + "\n",
		"long":   strings.Repeat("ab", KeySize+1),
	} {
		pp := filepath.Join(dir, name)
		if err := os.WriteFile(pp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(pp); !errors.Is(err, ErrKeyFile) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o644} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(p); !errors.Is(err, ErrKeyPerm) {
			t.Fatalf("mode %04o: %v", mode, err)
		}
	}
	if _, err := LoadKey(filepath.Join(dir, "absent")); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("absent: %v", err)
	}
	if _, err := LoadKey(dir); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("directory: %v", err)
	}
	if _, err := New(make([]byte, 16)); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("short secret: %v", err)
	}
}

func TestZeroAllocs(t *testing.T) {
	k := testKey(t)
	msg := financial(t, true)
	_ = k.Sign(msg)
	if n := testing.AllocsPerRun(200, func() {
		if err := k.Sign(msg); err != nil {
			t.Fatal(err)
		}
		if err := k.Verify(msg); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocs per Sign+Verify", n)
	}
}

func FuzzVerify(f *testing.F) {
	k := testKey(f)
	msg := financial(f, true)
	_ = k.Sign(msg)
	f.Add(msg)
	f.Add(financial(f, false))
	f.Add([]byte("0800822000000000000004000000000000001123080000000001301"))
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		err := k.Verify(b)
		if !bytes.Equal(orig, b) {
			t.Fatal("Verify changed its input")
		}
		if err == nil {
			return
		}
		if !errors.Is(err, ErrBadMAC) && !errors.Is(err, ErrMissingMAC) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error %v", err)
		}
		if errors.Is(err, ErrBadMAC) {
			// Signing then verifying must succeed for any message that has DE128.
			if err := k.Sign(b); err != nil {
				t.Fatal(err)
			}
			if err := k.Verify(b); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	k := testKey(b)
	msg := financial(b, true)
	_ = k.Sign(msg)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := k.Verify(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	k := testKey(b)
	msg := financial(b, true)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := k.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrent: many event loops share one Key.
func TestConcurrent(t *testing.T) {
	k := testKey(t)
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		msg := financial(t, true)
		go func() {
			for i := 0; i < 500; i++ {
				if err := k.Sign(msg); err != nil {
					done <- err
					return
				}
				if err := k.Verify(msg); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	k.mu.Lock()
	n := len(k.free)
	k.mu.Unlock()
	if n > maxFree {
		t.Fatalf("free list %d above its bound", n)
	}
}
