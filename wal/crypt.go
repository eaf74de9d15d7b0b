package wal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// sealer encrypts PAN-bearing fields with AES-256-GCM before they enter a
// Pebble batch, so no clear PAN reaches Pebble's log or sstables.
//
// Sealed blob: | ver=1 (1) | key id (4, BE) | nonce (12) | ciphertext + tag (16) |
// The record key is the additional authenticated data, so a sealed blob moved
// under another key fails to open.
type sealer struct {
	aead  cipher.AEAD
	keyID uint32
}

const (
	sealVersion  = 1
	nonceLen     = 12
	sealOverhead = 1 + 4 + nonceLen + 16
)

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: key is %d bytes, want 32", ErrBadKey, len(key))
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	sum := sha256.Sum256(append([]byte("fxswitch wal key id\x00"), key...))
	return &sealer{aead: aead, keyID: binary.BigEndian.Uint32(sum[:4])}, nil
}

// nonceSource hands out random GCM nonces from a ChaCha8 stream seeded by
// crypto/rand. One per appending goroutine would be ideal; a source is not
// safe for concurrent use, so callers take one from a pool.
type nonceSource struct{ c *rand.ChaCha8 }

func newNonceSource() *nonceSource {
	var seed [32]byte
	if _, err := io.ReadFull(crand.Reader, seed[:]); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ panics
		// itself instead); keep a clear message in case it ever does.
		panic("wal: crypto/rand: " + err.Error())
	}
	return &nonceSource{c: rand.NewChaCha8(seed)}
}

// seal appends the sealed form of plain to dst.
func (s *sealer) seal(dst []byte, ns *nonceSource, aad, plain []byte) []byte {
	dst = append(dst, sealVersion)
	dst = binary.BigEndian.AppendUint32(dst, s.keyID)
	off := len(dst)
	dst = append(dst, make([]byte, nonceLen)...)
	_, _ = ns.c.Read(dst[off : off+nonceLen])
	nonce := dst[off : off+nonceLen]
	return s.aead.Seal(dst, nonce, plain, aad)
}

// open returns the plaintext of a sealed blob.
func (s *sealer) open(aad, blob []byte) ([]byte, error) {
	if len(blob) < sealOverhead || blob[0] != sealVersion {
		return nil, corrupt(aad, "sealed field malformed")
	}
	if id := binary.BigEndian.Uint32(blob[1:5]); id != s.keyID {
		return nil, fmt.Errorf("%w: record %q sealed with key id %08x, have %08x", ErrBadKey, aad, id, s.keyID)
	}
	nonce := blob[5 : 5+nonceLen]
	plain, err := s.aead.Open(nil, nonce, blob[5+nonceLen:], aad)
	if err != nil {
		return nil, corrupt(aad, "sealed field fails authentication")
	}
	return plain, nil
}

// loadKey reads the key file, or creates it with 32 random bytes (mode 0600).
// Accepted contents: 32 raw bytes, or 64 hex digits with optional whitespace.
func loadKey(fs vfs.FS, path string) (key []byte, created bool, err error) {
	f, err := fs.Open(path)
	if err == nil {
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, 1024))
		if err != nil {
			return nil, false, fmt.Errorf("%w: read %s: %v", ErrBadKey, path, err)
		}
		key, err := parseKey(path, data)
		return key, false, err
	}
	if !oserrorNotExist(err) {
		return nil, false, fmt.Errorf("%w: open %s: %v", ErrBadKey, path, err)
	}
	key = make([]byte, 32)
	if _, err := io.ReadFull(crand.Reader, key); err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if err := writeKeyFile(fs, path, key); err != nil {
		return nil, false, fmt.Errorf("%w: create %s: %v", ErrBadKey, path, err)
	}
	return key, true, nil
}

func parseKey(path string, data []byte) ([]byte, error) {
	if len(data) == 32 {
		return data, nil
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 64 {
		key, err := hex.DecodeString(string(trimmed))
		if err == nil {
			return key, nil
		}
	}
	return nil, fmt.Errorf("%w: %s holds %d bytes, want 32 raw bytes or 64 hex digits", ErrBadKey, path, len(data))
}

func writeKeyFile(fs vfs.FS, path string, key []byte) error {
	if fs == vfs.Default {
		// The real filesystem: insist on 0600 and never overwrite.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return syncDir(fs, path)
	}
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	// Pebble's vfs may clobber a written buffer in invariant builds (race
	// tests): hand it a copy.
	if _, err := f.Write(append([]byte(nil), key...)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(fs, path)
}

// syncDir makes a new file's directory entry durable: a key file lost in a
// crash would make every sealed record unreadable.
func syncDir(fs vfs.FS, path string) error {
	d, err := fs.OpenDir(fs.PathDir(path))
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// MkdirDurable creates dir and its missing parents with perm, making each
// new directory's entry durable in its parent. Without it a data directory
// created at first start can vanish in a power loss, with everything the
// WAL had already acknowledged inside it.
func MkdirDurable(fs vfs.FS, dir string, perm os.FileMode) error {
	if _, err := fs.Stat(dir); err == nil {
		return nil
	} else if !oserrorNotExist(err) {
		return err
	}
	if parent := fs.PathDir(dir); parent != dir && parent != "" && parent != "." {
		if err := MkdirDurable(fs, parent, perm); err != nil {
			return err
		}
	}
	if err := fs.MkdirAll(dir, perm); err != nil {
		return err
	}
	return syncDir(fs, dir)
}

func oserrorNotExist(err error) bool {
	return errors.Is(err, os.ErrNotExist)
}
