// Package auth checks the credentials apps present when they open a session.
//
// Tokens are never stored: the tokens file holds, per app id, the SHA-256
// of the app's token. A presented token is hashed and compared with every
// entry in constant time (crypto/subtle), so neither the outcome nor the
// timing says which app id came close. The file is YAML:
//
//	apps:
//	  pos-frontend: "sha256:3b4c…64 hex digits…"
//	  backoffice:   "sha256:…"
//
// NewToken creates a random token and the line to add for it. The file must
// not be readable by others (mode 0600 or 0640 is enforced).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	// ErrUnauthorized: no token, or one that matches no app.
	ErrUnauthorized = errors.New("auth: unauthorized")
	// ErrBadFile: the tokens file is unreadable, malformed or too open.
	ErrBadFile = errors.New("auth: bad tokens file")
)

const prefix = "sha256:"

type entry struct {
	app  string
	hash [32]byte
}

// Tokens is a loaded tokens file. Safe for concurrent use (immutable).
type Tokens struct {
	entries []entry
}

// Load reads and validates a tokens file.
func Load(path string) (*Tokens, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFile, err)
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Errorf("%w: %s is readable or writable by others (mode %v); chmod 600", ErrBadFile, path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFile, err)
	}
	return Parse(data)
}

// Parse parses the YAML text of a tokens file.
func Parse(data []byte) (*Tokens, error) {
	var f struct {
		Apps map[string]string `yaml:"apps"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFile, err)
	}
	if len(f.Apps) == 0 {
		return nil, fmt.Errorf("%w: no apps", ErrBadFile)
	}
	names := make([]string, 0, len(f.Apps))
	for n := range f.Apps {
		names = append(names, n)
	}
	sort.Strings(names)
	t := &Tokens{}
	for _, n := range names {
		if n == "" || len(n) > 64 {
			return nil, fmt.Errorf("%w: app id %q: 1-64 characters", ErrBadFile, n)
		}
		h := f.Apps[n]
		if !strings.HasPrefix(h, prefix) {
			return nil, fmt.Errorf("%w: app %s: hash must start with %q", ErrBadFile, n, prefix)
		}
		raw, err := hex.DecodeString(h[len(prefix):])
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("%w: app %s: want 64 hex digits after %q", ErrBadFile, n, prefix)
		}
		var e entry
		e.app = n
		copy(e.hash[:], raw)
		t.entries = append(t.entries, e)
	}
	return t, nil
}

// Check returns the app id whose token this is.
func (t *Tokens) Check(token []byte) (string, error) {
	if len(token) == 0 {
		return "", fmt.Errorf("%w: app token required", ErrUnauthorized)
	}
	sum := sha256.Sum256(token)
	app := ""
	for i := range t.entries {
		// Compare with every entry: the time does not depend on which matched.
		if subtle.ConstantTimeCompare(sum[:], t.entries[i].hash[:]) == 1 {
			app = t.entries[i].app
		}
	}
	if app == "" {
		return "", fmt.Errorf("%w: unknown app token", ErrUnauthorized)
	}
	return app, nil
}

// Hash is the tokens-file value for token.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return prefix + hex.EncodeToString(sum[:])
}

// NewToken returns a random 32-byte token (hex) and its tokens-file value.
func NewToken() (token, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	token = hex.EncodeToString(b[:])
	return token, Hash(token), nil
}
