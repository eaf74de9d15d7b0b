package mac

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"sync"
)

// Sentinel errors, testable with errors.Is.
var (
	// ErrMissingMAC: the message has no DE128 (bit 128 clear or no secondary bitmap).
	ErrMissingMAC = errors.New("mac: missing MAC (DE128)")
	// ErrBadMAC: DE128 is present but does not match the message.
	ErrBadMAC = errors.New("mac: bad MAC (DE128)")
	// ErrMalformed: too short or the bitmap is not hex.
	ErrMalformed = errors.New("mac: malformed message")
	// ErrKeyFile: the key file is unreadable, has the wrong size or content.
	ErrKeyFile = errors.New("mac: invalid key file")
	// ErrKeyPerm: the key file is accessible to group or others.
	ErrKeyPerm = errors.New("mac: key file accessible to group or others")
)

const (
	// KeySize is the HMAC-SHA-256 key length in bytes.
	KeySize = 32
	// Size is the MAC length on the wire: 8 bytes as 16 hex characters.
	Size = 16
	// MACPlaceholder is the DE128 value to encode before Sign.
	MACPlaceholder = "0000000000000000"

	mtiLen     = 4
	bitmapLen  = 16
	minWithMAC = mtiLen + 2*bitmapLen + Size // MTI, both bitmaps, DE128
)

// maxFree bounds the idle HMAC states a Key keeps (one per concurrent
// caller is enough: event loops are few).
const maxFree = 64

// Key is a loaded MAC key. It is safe for concurrent use.
type Key struct {
	fp     string
	secret []byte

	// A small free list rather than a sync.Pool: a pool may drop entries
	// at any GC (and does at random under the race detector), which would
	// make Sign and Verify allocate.
	mu   sync.Mutex
	free []*state
}

// state is one reusable HMAC computation, with scratch space that lives on
// the heap with it so that Sum does not allocate.
type state struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// New makes a Key from 32 secret bytes (copied).
func New(secret []byte) (*Key, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d", ErrKeyFile, len(secret), KeySize)
	}
	k := &Key{secret: append([]byte(nil), secret...), free: make([]*state, 0, maxFree)}
	fp := sha256.Sum256(k.secret)
	k.fp = hex.EncodeToString(fp[:4])
	return k, nil
}

// LoadKey reads a key file: 64 hex characters (a trailing newline allowed)
// or 32 raw bytes. A file readable or writable by group or others is refused.
func LoadKey(path string) (*Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrKeyFile, path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o (want 0600)", ErrKeyPerm, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	defer clear(b)
	secret, err := parseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyFile, path, err)
	}
	defer clear(secret)
	return New(secret)
}

func parseKey(b []byte) ([]byte, error) {
	if len(b) == KeySize {
		return append([]byte(nil), b...), nil
	}
	t := b
	if n := len(t); n > 0 && t[n-1] == '\n' {
		t = t[:n-1]
		if n := len(t); n > 0 && t[n-1] == '\r' {
			t = t[:n-1]
		}
	}
	if len(t) != 2*KeySize {
		return nil, fmt.Errorf("%d bytes, want %d raw bytes or %d hex characters", len(b), KeySize, 2*KeySize)
	}
	out := make([]byte, KeySize)
	if _, err := hex.Decode(out, t); err != nil {
		return nil, errors.New("not hex")
	}
	return out, nil
}

// NewKeyFile writes a fresh random key as 64 hex characters and a newline,
// mode 0600, and returns it. An existing file is never overwritten.
func NewKeyFile(path string) (*Key, error) {
	secret := make([]byte, KeySize)
	defer clear(secret)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("mac: random key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: create: %w", ErrKeyFile, err)
	}
	buf := make([]byte, 2*KeySize+1)
	defer clear(buf)
	hex.Encode(buf, secret)
	buf[2*KeySize] = '\n'
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("%w: write: %w", ErrKeyFile, err)
	}
	return New(secret)
}

// Fingerprint identifies the key without revealing it (8 hex characters of
// SHA-256 of the key): compare it between the two ends of a line.
func (k *Key) Fingerprint() string { return k.fp }

// String never shows the secret.
func (k *Key) String() string { return "mac.Key(" + k.fp + ")" }

// GoString never shows the secret (%#v).
func (k *Key) GoString() string { return k.String() }

// Format keeps the secret out of every fmt verb.
func (k *Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// hexNibble decodes one ASCII hex character.
func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// HasMAC reports whether msg (an encoded CARDNET message without frame
// header) has bit 128 set; it checks only the bitmap characters it reads.
func HasMAC(msg []byte) (bool, error) {
	if len(msg) < mtiLen+bitmapLen {
		return false, fmt.Errorf("%w: %d bytes", ErrMalformed, len(msg))
	}
	first, ok := hexNibble(msg[mtiLen])
	if !ok {
		return false, fmt.Errorf("%w: primary bitmap not hex", ErrMalformed)
	}
	if first&0x8 == 0 {
		return false, nil // no secondary bitmap: bit 128 cannot be set
	}
	if len(msg) < mtiLen+2*bitmapLen {
		return false, fmt.Errorf("%w: secondary bitmap cut short", ErrMalformed)
	}
	last, ok := hexNibble(msg[mtiLen+2*bitmapLen-1])
	if !ok {
		return false, fmt.Errorf("%w: secondary bitmap not hex", ErrMalformed)
	}
	return last&0x1 != 0, nil
}

// locate checks that msg carries DE128 and returns where it starts.
func locate(msg []byte) (int, error) {
	has, err := HasMAC(msg)
	if err != nil {
		return 0, err
	}
	if !has {
		return 0, ErrMissingMAC
	}
	if len(msg) < minWithMAC {
		return 0, fmt.Errorf("%w: %d bytes, too short for DE128", ErrMalformed, len(msg))
	}
	return len(msg) - Size, nil
}

func (k *Key) get() *state {
	k.mu.Lock()
	if n := len(k.free); n > 0 {
		st := k.free[n-1]
		k.free = k.free[:n-1]
		k.mu.Unlock()
		return st
	}
	k.mu.Unlock()
	return &state{h: hmac.New(sha256.New, k.secret)}
}

func (k *Key) put(st *state) {
	k.mu.Lock()
	if len(k.free) < maxFree {
		k.free = append(k.free, st)
	}
	k.mu.Unlock()
}

// compute returns the state holding the full HMAC of data in st.sum; the
// caller gives st back with put.
func (k *Key) compute(data []byte) *state {
	st := k.get()
	st.h.Reset()
	st.h.Write(data)
	st.h.Sum(st.sum[:0])
	return st
}

const hexUpper = "0123456789ABCDEF"

// Sign overwrites DE128 (the last 16 bytes of msg, bit 128 set) with the MAC
// of everything before it. msg is the encoded message without frame header.
func (k *Key) Sign(msg []byte) error {
	at, err := locate(msg)
	if err != nil {
		return err
	}
	st := k.compute(msg[:at])
	for i := 0; i < Size/2; i++ {
		msg[at+2*i] = hexUpper[st.sum[i]>>4]
		msg[at+2*i+1] = hexUpper[st.sum[i]&0xF]
	}
	k.put(st)
	return nil
}

// Verify checks DE128 of msg in constant time: ErrMissingMAC without bit
// 128, ErrBadMAC when it does not match (or is not hex).
func (k *Key) Verify(msg []byte) error {
	at, err := locate(msg)
	if err != nil {
		return err
	}
	var got [Size / 2]byte
	bad := false
	for i := range got {
		hi, ok1 := hexNibble(msg[at+2*i])
		lo, ok2 := hexNibble(msg[at+2*i+1])
		bad = bad || !ok1 || !ok2
		got[i] = hi<<4 | lo
	}
	st := k.compute(msg[:at])
	equal := hmac.Equal(got[:], st.sum[:Size/2])
	k.put(st)
	if bad || !equal {
		return ErrBadMAC
	}
	return nil
}
