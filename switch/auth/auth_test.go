package auth

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheck(t *testing.T) {
	tok, h, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := Parse([]byte("apps:\n  pos: \"" + h + "\"\n  back: \"" + Hash("other") + "\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if app, err := tokens.Check([]byte(tok)); err != nil || app != "pos" {
		t.Fatalf("Check: %q %v", app, err)
	}
	if app, err := tokens.Check([]byte("other")); err != nil || app != "back" {
		t.Fatalf("Check other: %q %v", app, err)
	}
	for _, bad := range []string{"", "wrong", tok + "x"} {
		if _, err := tokens.Check([]byte(bad)); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}

func TestBadFiles(t *testing.T) {
	for _, y := range []string{"", "apps: {}", "apps: {a: plain}", "apps: {a: \"sha256:zz\"}", "apps: [1]"} {
		if _, err := Parse([]byte(y)); !errors.Is(err, ErrBadFile) {
			t.Errorf("%q: %v", y, err)
		}
	}
	p := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(p, []byte("apps: {a: \""+Hash("t")+"\"}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); !errors.Is(err, ErrBadFile) {
		t.Fatalf("world-readable file accepted: %v", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
}
