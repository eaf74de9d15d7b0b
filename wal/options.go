package wal

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Defaults and hard limits for Options.
const (
	DefaultMaxQueue = 65536
	DefaultMaxBatch = 4096
	maxMaxQueue     = 1 << 22
	maxMaxBatch     = 1 << 16
	// DefaultMemTableBytes is Pebble's memtable size. After a crash Pebble
	// replays every memtable not yet flushed (up to 4 queued under load),
	// so this bounds the restart: 64 MiB took about a second, 16 MiB about
	// 0.1 s (bench/RESULTS.md). Since each sstable holds one key family
	// (doc.go) the extra flushes cost no CPU per record; in-flight index
	// entries, which live for milliseconds, are still mostly created and
	// single-deleted inside one memtable and never reach an sstable.
	DefaultMemTableBytes = 16 << 20
)

// Options configure a WAL. The zero value is usable: EnsureDefaults fills it.
type Options struct {
	FS       vfs.FS           // nil: vfs.Default; tests pass vfs.NewCrashableMem() or an errorfs
	KeyFile  string           // AES-256 key file (32 raw bytes or 64 hex digits), created 0600 if absent; default <dir>/pan.key
	MaxQueue int              // pending appends before ErrBusy (default 65536)
	MaxBatch int              // records gathered into one Pebble batch + one sync (default 4096)
	Clock    func() time.Time // injected for deterministic tests; default time.Now
	Logger   *slog.Logger     // default slog.Default()
	// OnSync is a metrics hook called by the committer after each durable
	// batch; it must not block.
	OnSync func(records int, d time.Duration)
	// Deliver, when set, runs the completion callbacks of each durable
	// batch instead of the committer: it is handed one function per batch,
	// in commit order, to call when it likes (control calls such as Barrier
	// still return at once). The deterministic simulation of the switch
	// core runs them on its own goroutine after each Barrier. nil: the
	// committer runs them.
	Deliver func(run func())
	// MemTableBytes sizes Pebble's memtable (default DefaultMemTableBytes).
	MemTableBytes int
}

// EnsureDefaults fills zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.MaxQueue == 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = DefaultMemTableBytes
	}
}

// Validate reports options out of range (after EnsureDefaults).
func (o *Options) Validate() error {
	if o.MaxQueue < 1 || o.MaxQueue > maxMaxQueue {
		return fmt.Errorf("%w: MaxQueue %d not in [1, %d]", ErrInvalid, o.MaxQueue, maxMaxQueue)
	}
	if o.MaxBatch < 1 || o.MaxBatch > maxMaxBatch {
		return fmt.Errorf("%w: MaxBatch %d not in [1, %d]", ErrInvalid, o.MaxBatch, maxMaxBatch)
	}
	if o.MemTableBytes < 1<<20 || o.MemTableBytes > 1<<30 {
		return fmt.Errorf("%w: MemTableBytes %d not in [1 MiB, 1 GiB]", ErrInvalid, o.MemTableBytes)
	}
	return nil
}
