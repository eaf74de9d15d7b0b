package wal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// WAL is the switch's write-ahead log. All appends go through one committer
// goroutine that gathers them into one Pebble batch and one fsync.
//
// Lock order: mu (queue) and stateMu (published state) are never held
// together. The committer is the only writer of the Pebble database and of
// work; the syncer is the only writer of pub.
type WAL struct {
	dir    string
	opts   Options
	db     *pebble.DB
	seal   *sealer
	nonces sync.Pool // *nonceSource
	log    *slog.Logger

	nextID atomic.Uint64 // next request ID to hand out
	failed atomic.Pointer[error]

	mu        sync.Mutex // guards the queue and closed
	cond      *sync.Cond // committer waits here for work
	queue     []op
	spares    [][]op // emptied queues for reuse (maxSpares at most)
	closed    bool
	queueLen  atomic.Int64
	committed chan struct{} // closed when the syncer has exited

	// The pipeline: the committer builds and syncs batch N+1 while the
	// syncer publishes batch N and runs its callbacks.
	toSync chan *batchCtx
	free   chan *batchCtx

	// work is the state as of the last batch the committer synced (committer
	// only, no lock). pub is the state readers see: the syncer folds each
	// batch in under stateMu just before running its callbacks.
	work    state
	stateMu sync.RWMutex
	pub     state

	wasClean bool

	cdKeys map[centerDate]string // committer only: see WAL.cdKey

	// afterPruneCommit, if set (by tests), runs after each durable batch of
	// a Prune: the crash tests take their images there.
	afterPruneCommit func()

	stats struct {
		syncs, records, batches, maxBatch, busy, syncNanos atomic.Uint64
	}
}

// state is what the WAL keeps in memory, all proportional to what is open
// (in flight, retained business dates), never to the log.
type state struct {
	inflight map[uint64]*flight // *flight values are immutable once in a map
	totals   map[string]Totals  // center\x00date -> running totals
	days     map[string]idRange // center\x00date -> request and effect ID ranges
	meta     map[string][]byte  // M/... key -> value body
	maxSeq   uint64             // highest request ID recorded in M/seq
	clean    bool               // M/clean is set
}

func newState() state {
	return state{inflight: map[uint64]*flight{}, totals: map[string]Totals{}, days: map[string]idRange{}, meta: map[string][]byte{}}
}

// day returns the ranges of center\x00date, empty if it has none.
func (s *state) day(k string) idRange {
	if r, ok := s.days[k]; ok {
		return r
	}
	return emptyRange()
}

func (s *state) clone() state {
	c := newState()
	for k, v := range s.inflight {
		c.inflight[k] = v
	}
	for k, v := range s.totals {
		c.totals[k] = v
	}
	for k, v := range s.days {
		c.days[k] = v
	}
	for k, v := range s.meta {
		c.meta[k] = v
	}
	c.maxSeq, c.clean = s.maxSeq, s.clean
	return c
}

// apply folds a batch's delta into s.
func (s *state) apply(c *batchCtx) {
	for id, f := range c.added {
		s.inflight[id] = f
	}
	for id, f := range c.changed {
		s.inflight[id] = f
	}
	for id := range c.resolved {
		delete(s.inflight, id)
	}
	for k, t := range c.totals {
		s.totals[k] = *t
	}
	for k, r := range c.days {
		s.days[k] = *r
	}
	for k, v := range c.meta {
		s.meta[k] = v
	}
	if c.maxID > s.maxSeq {
		s.maxSeq = c.maxID
	}
	switch c.clean {
	case 1:
		s.clean = true
	case -1:
		s.clean = false
	}
}

// flight is the memory of an unresolved request. It keeps the encoded
// (sealed) request and last cancel attempt, so InFlight after a restart reads
// nothing from the log: memory is proportional to what is in flight, which
// the engine bounds.
type flight struct {
	center   string
	advice   bool
	req      []byte // r/<id> value (also the I/ value)
	cancel   []byte // C/<id> value, nil if no cancel attempt
	attempts uint32
	last     int64
}

type opKind uint8

const (
	kRequest opKind = iota + 1
	kResolution
	kCancel
	kAdviceAttempt
	kControl
	kPrune
)

type op struct {
	kind   opKind
	id     uint64
	center string
	date   string
	appID  string
	appRef string
	advice bool
	value  []byte      // encoded record (request, resolution, cancel)
	res    *Resolution // resolution: private copy (returned to duplicates)
	time   int64       // advice attempt time

	doneErr func(error)
	doneRes func(first *Resolution, dup bool, err error)
	ctl     func(c *batchCtx) error
	prune   *pruneArgs
	ctlDone chan error

	// results, filled by the committer
	err   error
	first *Resolution
	dup   bool
}

// batchCtx is the state delta of the batch being built. It is published
// only after the batch is durable, so readers never see unsynced state.
type batchCtx struct {
	sb       groupedBatch  // the batch's writes, handed to Pebble grouped by key family
	b        *pebble.Batch // built from sb at commit
	ops      []op
	err      error         // set: the batch failed before or at commit
	barrier  chan struct{} // set: not a batch; closed by the syncer when reached
	commitAt time.Time
	added    map[uint64]*flight
	changed  map[uint64]*flight
	resolved map[uint64]*Resolution
	totals   map[string]*Totals
	days     map[string]*idRange
	meta     map[string][]byte
	ar       arena // keys of sb's entries
	maxID    uint64
	clean    int8 // +1 set, -1 cleared, 0 unchanged
	records  int
	// records already in the batch when MarkClean ran: any record after it
	// clears the marker again.
	recordsAtClean int
}

func newBatchCtx() *batchCtx {
	return &batchCtx{
		added: map[uint64]*flight{}, changed: map[uint64]*flight{},
		resolved: map[uint64]*Resolution{}, totals: map[string]*Totals{},
		days: map[string]*idRange{}, meta: map[string][]byte{},
	}
}

func (c *batchCtx) reset(ops []op) {
	c.b, c.ops, c.err, c.barrier = nil, ops, nil, nil
	c.sb.reset()
	c.ar.reset()
	clear(c.added)
	clear(c.changed)
	clear(c.resolved)
	clear(c.totals)
	clear(c.days)
	clear(c.meta)
	c.maxID, c.clean, c.records, c.recordsAtClean = 0, 0, 0, 0
}

func cdKey(center, date string) string { return center + "\x00" + date }

type centerDate struct{ center, date string }

// cdKey is the package cdKey for the committer, which builds one for every
// request and effect: the few center and date pairs of a day are kept
// (bounded), so the string is not built again each time.
func (w *WAL) cdKey(center, date string) string {
	if k, ok := w.cdKeys[centerDate{center, date}]; ok {
		return k
	}
	if len(w.cdKeys) >= 256 {
		clear(w.cdKeys)
	}
	k := cdKey(center, date)
	w.cdKeys[centerDate{center, date}] = k
	return k
}

// Open opens (creating if needed) the WAL in dir, loads the in-flight index,
// totals and metadata (all proportional to what is open, not to the log),
// durably clears the clean-shutdown marker, and starts the committer.
func Open(dir string, opts Options) (*WAL, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	fs := opts.FS
	if err := MkdirDurable(fs, dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", dir, err)
	}
	keyFile := opts.KeyFile
	if keyFile == "" {
		keyFile = fs.PathJoin(dir, "pan.key")
	}
	key, keyCreated, err := loadKey(fs, keyFile)
	if err != nil {
		return nil, err
	}
	s, err := newSealer(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	popts := &pebble.Options{
		FS:                          fs,
		MemTableSize:                uint64(opts.MemTableBytes),
		MemTableStopWritesThreshold: 4,
		// L0 is compacted when 12 flushes overlap somewhere. With every
		// sstable inside one key family (familySpans) that happens in the
		// small state span; before, each flush spanned the whole key space,
		// and 12 rather than 4 cut the bytes compacted on 2M records from
		// 1.53 GB to 0.74 GB (bench/RESULTS.md, "## wal"). A Get probes one
		// bloom filter per overlapping L0 file.
		L0CompactionThreshold: 12,
		L0StopWritesThreshold: 32,
		// Tables of one key family overlap nothing and would sit in L0 up
		// to Pebble's default of 500 files; every file costs Open a little
		// (manifest, directory listing, L0 sublevels). At 48 the 10M-record
		// log holds 378 tables instead of 492.
		L0CompactionFileThreshold: 48,
		// Table stats only steer tombstone compactions; loading them reads
		// every sstable after Open, a cost that grows with the log.
		DisableTableStats: true,
		// The consistency check stats every sstable at Open: restart time
		// would grow with the log instead of with what is in flight.
		DisableConsistencyCheck: true,
		Logger:                  pebbleLogger{opts.Logger},
	}
	// Few large sstables: Open lists the directory and replays the manifest,
	// both proportional to the number of files.
	for i := range popts.TargetFileSizes {
		popts.TargetFileSizes[i] = 64 << 20
	}
	for i := range popts.Levels {
		// Point reads (reference index, duplicate checks) mostly miss.
		popts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	// Each sstable holds one key family, so the append-only log families
	// move down the LSM instead of being merged again and again (doc.go).
	popts.Experimental.SpanPolicyFunc = familySpans
	// Sealed fields are ciphertext and do not compress; CPU is the scarcer
	// resource on the hot path.
	popts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	// A flush or compaction that fails is an I/O error too (full disk,
	// failing device): the WAL fails sticky instead of stalling when the
	// memtables can no longer be flushed.
	var self atomic.Pointer[WAL]
	popts.EventListener = &pebble.EventListener{BackgroundError: func(err error) {
		if w := self.Load(); w != nil {
			w.fail(fmt.Errorf("pebble background work: %w", err))
		}
	}}
	db, err := pebble.Open(dir, popts)
	if err != nil {
		return nil, fmt.Errorf("wal: open pebble in %s: %w", dir, err)
	}
	w := &WAL{
		dir: dir, opts: opts, db: db, seal: s, log: opts.Logger,
		committed: make(chan struct{}),
		work:      newState(),
		toSync:    make(chan *batchCtx, pipelineDepth),
		free:      make(chan *batchCtx, pipelineDepth+2),
		cdKeys:    map[centerDate]string{},
	}
	for i := 0; i < pipelineDepth+2; i++ {
		w.free <- newBatchCtx()
	}
	self.Store(w)
	w.nonces.New = func() any { return newNonceSource() }
	w.cond = sync.NewCond(&w.mu)
	if err := w.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	// The data directory remembers the id of its key: a missing or
	// replaced key file is refused here, not discovered record by record.
	keyID := binary.BigEndian.AppendUint32(nil, s.keyID)
	stored, hasID := w.work.meta[string(metaKeyIDKey)]
	if hasID && !bytes.Equal(stored, keyID) {
		_ = db.Close()
		if keyCreated {
			// The key file was missing: do not leave a wrong one behind.
			_ = fs.Remove(keyFile)
		}
		return nil, fmt.Errorf("%w: %s is not the key of %s (key id %x, data sealed with %x)", ErrBadKey, keyFile, dir, keyID, stored)
	}
	if w.wasClean || !hasID {
		// Clear the clean marker durably now: if this run crashes, the
		// next Open must see an unclean shutdown and recovery must run (I6).
		b := db.NewBatch()
		err := b.Delete(metaCleanKey, nil)
		if err == nil && !hasID {
			err = b.Set(metaKeyIDKey, encodeMeta(keyID), nil)
			w.work.meta[string(metaKeyIDKey)] = keyID
		}
		if err == nil {
			err = commitSync(db, b)
		}
		_ = b.Close()
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("wal: write clean marker / key id: %w", err)
		}
	}
	w.pub = w.work.clone()
	go w.commitLoop()
	go w.syncLoop()
	return w, nil
}

// load rebuilds the published state from the database.
func (w *WAL) load() error {
	scan := func(prefix []byte, fn func(k, v []byte) error) error {
		it, err := w.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return fmt.Errorf("wal: iterate %q: %w", prefix, err)
		}
		for ok := it.First(); ok; ok = it.Next() {
			if err := fn(it.Key(), it.Value()); err != nil {
				it.Close()
				return err
			}
		}
		if err := it.Error(); err != nil {
			it.Close()
			return fmt.Errorf("wal: iterate %q: %w", prefix, err)
		}
		return it.Close()
	}
	err := scan([]byte{pMeta, '/'}, func(k, v []byte) error {
		body, err := decodeMeta(k, v)
		if err != nil {
			return err
		}
		w.work.meta[string(k)] = append([]byte(nil), body...)
		return nil
	})
	if err != nil {
		return err
	}
	if _, ok := w.work.meta[string(metaCleanKey)]; ok {
		w.wasClean = true
		delete(w.work.meta, string(metaCleanKey))
	}
	var next uint64
	if b, ok := w.work.meta[string(metaSeqKey)]; ok {
		d := dec{b: b}
		next = d.u64()
		if !d.done() {
			return corrupt(metaSeqKey, "sequence malformed")
		}
	}
	// M/seq is written in the same batch as the requests it covers, so it
	// bounds every request ID ever made durable.
	w.work.maxSeq = next
	w.nextID.Store(next + 1)

	err = scan([]byte{pInFlight, '/'}, func(k, v []byte) error {
		center, id, ok := splitCenterID(k)
		if !ok {
			return corrupt(k, "in-flight key malformed")
		}
		if len(v) == 0 {
			return corrupt(k, "in-flight entry without its request")
		}
		w.work.inflight[id] = &flight{center: center, req: append([]byte(nil), v...)}
		return nil
	})
	if err != nil {
		return err
	}
	err = scan([]byte{pAdvice, '/'}, func(k, v []byte) error {
		center, id, ok := splitCenterID(k)
		if !ok {
			return corrupt(k, "advice key malformed")
		}
		f := w.work.inflight[id]
		if f == nil || f.center != center {
			return corrupt(k, "advice queued for a request that is not in flight")
		}
		attempts, last, err := decodeAdvice(k, v)
		if err != nil {
			return err
		}
		f.advice, f.attempts, f.last = true, attempts, last
		return nil
	})
	if err != nil {
		return err
	}
	err = scan([]byte{pCancel, '/'}, func(k, v []byte) error {
		id, ok := trailingID(k)
		f := w.work.inflight[id]
		if !ok || len(k) != 10 || f == nil {
			return corrupt(k, "cancel attempt for a request that is not in flight")
		}
		f.cancel = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return err
	}
	err = scan([]byte{pTotals, '/'}, func(k, v []byte) error {
		t, err := decodeTotals(k, v)
		if err != nil {
			return err
		}
		w.work.totals[string(k[2:])] = t
		return nil
	})
	if err != nil {
		return err
	}
	return scan([]byte{pDay, '/'}, func(k, v []byte) error {
		r, err := decodeRange(k, v)
		if err != nil {
			return err
		}
		w.work.days[string(k[2:])] = r
		return nil
	})
}

// splitCenterID parses "<p>/<center>\x00<id8>".
func splitCenterID(k []byte) (string, uint64, bool) {
	if len(k) < 2+1+1+8 || k[len(k)-9] != sep {
		return "", 0, false
	}
	id, _ := trailingID(k)
	return string(k[2 : len(k)-9]), id, true
}

// Err returns the sticky failure, nil while healthy.
func (w *WAL) Err() error {
	if p := w.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (w *WAL) fail(cause error) error {
	err := fmt.Errorf("%w: %w", ErrFailed, cause)
	if w.failed.CompareAndSwap(nil, &err) {
		w.log.Error("wal failed; no further appends are accepted", "err", cause)
		return err
	}
	return *w.failed.Load()
}

// WasClean reports whether the previous run ended with MarkClean.
func (w *WAL) WasClean() bool { return w.wasClean }

// Close stops accepting appends, waits until the queue has drained (every
// callback has run), flushes Pebble's memtable so the next Open does not
// replay it, and closes the database.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	w.cond.Signal()
	w.mu.Unlock()
	<-w.committed
	var err error
	if w.Err() == nil {
		if ferr := w.db.Flush(); ferr != nil {
			err = fmt.Errorf("wal: flush on close: %w", ferr)
		}
	}
	if err == nil && w.Err() == nil {
		err = w.compactIndexes()
	}
	if cerr := w.db.Close(); cerr != nil && err == nil && w.Err() == nil {
		err = fmt.Errorf("wal: close: %w", cerr)
	}
	return err
}

// compactIndexes compacts the short-lived key ranges (in-flight index,
// advice queue, cancel attempts). An in-flight entry whose request and
// resolution were flushed in different memtables leaves its Set and
// SingleDelete in different sstables until a compaction joins them; a scan
// at Open would step over every such pair. Compacting these small ranges at
// a clean shutdown keeps the next restart proportional to what is in flight.
func (w *WAL) compactIndexes() error {
	for _, p := range [][]byte{{pInFlight, '/'}, {pAdvice, '/'}, {pCancel, '/'}} {
		if err := w.db.Compact(context.Background(), p, prefixEnd(p), false); err != nil {
			return fmt.Errorf("wal: compact %q on close: %w", p, err)
		}
	}
	return nil
}

// enqueue adds o to the committer queue. bounded: ErrBusy beyond MaxQueue
// (control operations are exempt: they are rare and must not be starved).
func (w *WAL) enqueue(o op, bounded bool) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	if err := w.Err(); err != nil {
		w.mu.Unlock()
		return err
	}
	if bounded && len(w.queue) >= w.opts.MaxQueue {
		w.mu.Unlock()
		w.stats.busy.Add(1)
		return ErrBusy
	}
	w.queue = append(w.queue, o)
	if len(w.queue) == 1 {
		w.cond.Signal()
	}
	w.queueLen.Store(int64(len(w.queue)))
	w.mu.Unlock()
	return nil
}

// precheck refuses early, before any encoding work is wasted.
func (w *WAL) precheck() error {
	if err := w.Err(); err != nil {
		return err
	}
	if w.queueLen.Load() >= int64(w.opts.MaxQueue) {
		w.stats.busy.Add(1)
		return ErrBusy
	}
	return nil
}

func validateRequest(r *Request) error {
	if err := validCenter(r.Center); err != nil {
		return err
	}
	if err := validDate(r.Date); err != nil {
		return err
	}
	if err := validName("app id", r.AppID, MaxAppIDLen, true); err != nil {
		return err
	}
	if err := validName("app reference", r.AppRef, MaxAppRefLen, true); err != nil {
		return err
	}
	if r.Category >= numCategories {
		return fmt.Errorf("%w: category %d", ErrInvalid, r.Category)
	}
	if len(r.PAN) > MaxPANBytes {
		return fmt.Errorf("%w: PAN of %d bytes", ErrInvalid, len(r.PAN))
	}
	if len(r.Msg) > MaxMsgBytes {
		return fmt.Errorf("%w: message of %d bytes, max %d", ErrInvalid, len(r.Msg), MaxMsgBytes)
	}
	return nil
}

// AppendRequest logs r asynchronously and sets r.ID before returning. It never
// blocks on disk: done runs on the WAL's syncer goroutine once the record is
// durable (err nil) or can never be (err non-nil). done must not block and
// must not call the blocking control methods (SetBusinessDate, VerifyTotals,
// Prune...): they wait for the goroutine that runs done. Appends and reads
// from done are fine. Callbacks run in append order. The
// WAL copies what it needs before returning: r, r.PAN and r.Msg may be reused
// at once. A non-nil return (ErrBusy, ErrClosed, ErrInvalid, the sticky
// failure) means done will not be called.
func (w *WAL) AppendRequest(r *Request, done func(err error)) error {
	if err := validateRequest(r); err != nil {
		return err
	}
	if err := w.precheck(); err != nil {
		return err
	}
	r.ID = w.nextID.Add(1) - 1
	ns := w.nonces.Get().(*nonceSource)
	value := encodeRequest(make([]byte, 0, 128+len(r.Msg)+len(r.PAN)+sealOverhead), w.seal, ns, requestKey(r.ID), r)
	w.nonces.Put(ns)
	return w.enqueue(op{
		kind: kRequest, id: r.ID, center: r.Center, date: r.Date,
		appID: r.AppID, appRef: r.AppRef, advice: r.Advice,
		value: value, doneErr: done,
	}, true)
}

func validateResolution(res *Resolution) error {
	if res.Status >= numStatuses {
		return fmt.Errorf("%w: status %d", ErrInvalid, res.Status)
	}
	if err := validName("response code", res.RespCode, MaxCodeLen, true); err != nil {
		return err
	}
	if err := validName("authorization code", res.AuthCode, MaxCodeLen, true); err != nil {
		return err
	}
	if len(res.Msg) > MaxMsgBytes {
		return fmt.Errorf("%w: response of %d bytes, max %d", ErrInvalid, len(res.Msg), MaxMsgBytes)
	}
	if len(res.Effects) > MaxEffects {
		return fmt.Errorf("%w: %d effects, max %d", ErrInvalid, len(res.Effects), MaxEffects)
	}
	for _, e := range res.Effects {
		if err := validDate(e.Date); err != nil {
			return err
		}
		if e.Category == CategoryNone || e.Category >= numCategories {
			return fmt.Errorf("%w: effect category %v does not settle", ErrInvalid, e.Category)
		}
	}
	return nil
}

// AppendResolution logs the final outcome of a request, with its totals
// effects in the same batch. Idempotent: if the request already has a
// resolution, nothing changes and done reports the first (dup=true). An
// unknown request: done(nil, false, ErrUnknownRequest). The WAL copies res.
func (w *WAL) AppendResolution(res *Resolution, done func(first *Resolution, dup bool, err error)) error {
	if err := validateResolution(res); err != nil {
		return err
	}
	if err := w.precheck(); err != nil {
		return err
	}
	cp := *res
	cp.Msg = append([]byte(nil), res.Msg...)
	if len(cp.Msg) == 0 {
		cp.Msg = nil
	}
	cp.Effects = append([]Effect(nil), res.Effects...)
	if len(cp.Effects) == 0 {
		cp.Effects = nil
	}
	ns := w.nonces.Get().(*nonceSource)
	value := encodeResolution(make([]byte, 0, 64+len(res.Msg)+sealOverhead+20*len(res.Effects)), w.seal, ns, resolvedKey(res.RequestID), &cp)
	w.nonces.Put(ns)
	return w.enqueue(op{kind: kResolution, id: res.RequestID, value: value, res: &cp, doneRes: done}, true)
}

// AppendCancelAttempt records on the in-flight entry that a cancel toward the
// center is under way, so recovery sends a cancel-confirmation (取消確認指令)
// or a repeat instead of a first cancel. The last attempt replaces earlier
// ones. done(ErrUnknownRequest) if the request is unknown,
// done(ErrAlreadyResolved) if it has its resolution.
func (w *WAL) AppendCancelAttempt(a *CancelAttempt, done func(error)) error {
	if len(a.Msg) > MaxMsgBytes {
		return fmt.Errorf("%w: cancel message of %d bytes", ErrInvalid, len(a.Msg))
	}
	if err := w.precheck(); err != nil {
		return err
	}
	ns := w.nonces.Get().(*nonceSource)
	value := encodeCancel(nil, w.seal, ns, cancelKey(a.RequestID), a)
	w.nonces.Put(ns)
	return w.enqueue(op{kind: kCancel, id: a.RequestID, value: value, doneErr: done}, true)
}

// AppendAdviceAttempt counts one more send of a queued advice (retry count and
// last attempt time, from Options.Clock). done(ErrNotAdvice) if the request is
// in flight but not an advice; ErrUnknownRequest / ErrAlreadyResolved as for
// cancels.
func (w *WAL) AppendAdviceAttempt(requestID uint64, done func(error)) error {
	if err := w.precheck(); err != nil {
		return err
	}
	return w.enqueue(op{kind: kAdviceAttempt, id: requestID, time: w.opts.Clock().UnixNano(), doneErr: done}, true)
}

// control runs fn inside the committer (in a batch of its own or shared with
// appends) and waits until that batch is durable.
func (w *WAL) control(fn func(c *batchCtx) error) error {
	ch := make(chan error, 1)
	if err := w.enqueue(op{kind: kControl, ctl: fn, ctlDone: ch}, false); err != nil {
		return err
	}
	return <-ch
}

// Barrier returns once every append made before it is durable and its
// callback has run (callbacks run in append order), or, with
// Options.Deliver, has been handed to Deliver. The deterministic
// simulation of the switch core calls it after each step, so that what the
// callbacks do (send on a line, answer an app, post to a center loop)
// happens at a reproducible point.
func (w *WAL) Barrier() error {
	return w.control(func(*batchCtx) error { return nil })
}

// ---- committer ----

// pipelineDepth bounds the durable batches waiting for their callbacks.
const pipelineDepth = 2

func (w *WAL) commitLoop() {
	defer close(w.toSync)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.closed {
			w.cond.Wait()
		}
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return
		}
		var ops []op
		if n := len(w.queue); n <= w.opts.MaxBatch {
			ops = w.queue
			w.queue = nil
			if n := len(w.spares); n > 0 {
				w.queue = w.spares[n-1]
				w.spares[n-1] = nil
				w.spares = w.spares[:n-1]
			}
		} else {
			ops = make([]op, w.opts.MaxBatch)
			copy(ops, w.queue)
			rest := copy(w.queue, w.queue[w.opts.MaxBatch:])
			clear(w.queue[rest:])
			w.queue = w.queue[:rest]
		}
		w.queueLen.Store(int64(len(w.queue)))
		w.mu.Unlock()

		w.process(ops)
	}
}

// maxSpares bounds the emptied queues kept for reuse: one per batch the
// pipeline can hold, so the queue that fills while batches sync never grows
// from nothing (an op is ~200 bytes; growing a queue of a hundred of them
// was the WAL's largest allocation).
const maxSpares = pipelineDepth + 2

// recycle returns a finished op slice for the queue to reuse.
func (w *WAL) recycle(ops []op) {
	if cap(ops) > 4*w.opts.MaxBatch {
		return
	}
	clear(ops)
	w.mu.Lock()
	if len(w.spares) < maxSpares {
		w.spares = append(w.spares, ops[:0])
	}
	w.mu.Unlock()
}

// process commits ops as one or more batches (a prune runs alone, after
// everything before it is durable).
func (w *WAL) process(ops []op) {
	start := 0
	for i := range ops {
		if ops[i].kind == kPrune {
			if start < i {
				w.commitBatch(ops[start:i], false)
			}
			w.drain()
			w.runPrune(&ops[i])
			start = i + 1
		}
	}
	if start < len(ops) {
		w.commitBatch(ops[start:], true)
	} else {
		w.recycle(ops)
	}
}

// drain waits until the syncer has finished every batch handed to it.
func (w *WAL) drain() {
	c := <-w.free
	c.reset(nil)
	c.barrier = make(chan struct{})
	ch := c.barrier
	w.toSync <- c
	<-ch
}

// commitBatch writes ops to Pebble as one batch and hands it to the syncer.
// owned: ops is a whole slice taken from the queue, recycled when done.
func (w *WAL) commitBatch(ops []op, owned bool) {
	c := <-w.free
	if !owned {
		ops = append([]op(nil), ops...)
	}
	c.reset(ops)
	if err := w.Err(); err != nil {
		c.err = err
		w.toSync <- c
		return
	}
	for i := range ops {
		w.apply(c, &ops[i])
	}
	w.finishBatch(c)
	if !c.sb.empty() {
		var err error
		if c.b, err = c.sb.build(w.db); err != nil {
			c.err = w.fail(err)
			w.toSync <- c
			return
		}
	}
	c.commitAt = time.Now()
	if c.b != nil {
		// ApplyNoSyncWait + SyncWait, not Commit(Sync): Pebble treats a
		// sync error inside Commit as fatal (Logger.Fatalf), while SyncWait
		// returns it. Wait here, not in the syncer: after a failed sync
		// Pebble's log writer is poisoned and a further write panics inside
		// Pebble, so nothing more may be written once a sync fails.
		if err := commitSync(w.db, c.b); err != nil {
			c.b = nil // may still sit in Pebble's commit queue: never reuse it
			c.err = w.fail(err)
			w.toSync <- c
			return
		}
		w.stats.syncs.Add(1)
	}
	w.work.apply(c)
	w.toSync <- c
}

// commitSync applies b and waits until it is durable, returning a sync
// error instead of letting Pebble treat it as fatal.
func commitSync(db *pebble.DB, b *pebble.Batch) error {
	if err := db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		return err
	}
	return b.SyncWait()
}

// finishBatch adds the per-batch keys: sequence, totals, ranges, marker.
func (w *WAL) finishBatch(c *batchCtx) {
	if c.maxID > w.work.maxSeq {
		c.sb.Set(metaSeqKey, appendIDValue(c.ar.alloc(idValueLen), c.maxID))
	}
	for k, t := range c.totals {
		c.sb.Set(append([]byte{pTotals, '/'}, k...), encodeTotals(t))
	}
	for k, r := range c.days {
		c.sb.Set(append([]byte{pDay, '/'}, k...), encodeRange(*r))
	}
	if (w.work.clean && c.clean == 0 && c.records > 0) || (c.clean == 1 && c.records > c.recordsAtClean) {
		// Anything written after MarkClean makes the marker a lie.
		c.sb.Delete(metaCleanKey)
		c.clean = -1
	}
}

// syncLoop publishes each durable batch's state and runs its callbacks, in
// order, while the committer already builds and syncs the next batch.
func (w *WAL) syncLoop() {
	defer close(w.committed)
	for c := range w.toSync {
		if c.barrier != nil {
			close(c.barrier)
			w.free <- c
			continue
		}
		err := c.err
		if err == nil {
			d := time.Since(c.commitAt)
			w.stats.syncNanos.Add(uint64(d))
			w.stateMu.Lock()
			w.pub.apply(c)
			w.stateMu.Unlock()
			w.stats.batches.Add(1)
			w.stats.records.Add(uint64(c.records))
			if n := uint64(len(c.ops)); n > w.stats.maxBatch.Load() {
				w.stats.maxBatch.Store(n)
			}
			if w.opts.OnSync != nil {
				w.opts.OnSync(len(c.ops), d)
			}
		}
		if w.opts.Deliver != nil {
			// The batch's callbacks are handed over before any control call
			// of the batch returns: a Barrier then finds them delivered.
			var ops []op // c.ops is recycled below
			for i := range c.ops {
				if o := &c.ops[i]; o.doneRes != nil || o.doneErr != nil {
					ops = append(ops, *o)
				}
			}
			if len(ops) > 0 {
				w.opts.Deliver(func() { w.finish(ops, err) })
			}
			for i := range c.ops {
				if o := &c.ops[i]; o.ctlDone != nil {
					o.ctlDone <- o.result(err)
				}
			}
		} else {
			w.finish(c.ops, err)
		}
		if c.b != nil {
			_ = c.b.Close()
		}
		w.recycle(c.ops)
		c.reset(nil)
		w.free <- c
	}
}

// result is what op reports: the batch's failure if it failed (nothing was
// acknowledged), else its own outcome.
func (o *op) result(batchErr error) error {
	if batchErr != nil {
		return batchErr
	}
	return o.err
}

// finish runs the callbacks of a batch. err non-nil: the batch failed and
// every op reports it (nothing was acknowledged).
func (w *WAL) finish(ops []op, err error) {
	for i := range ops {
		o := &ops[i]
		e := o.result(err)
		switch {
		case o.doneRes != nil:
			if e != nil {
				o.doneRes(nil, false, e)
			} else {
				o.doneRes(o.first, o.dup, nil)
			}
		case o.doneErr != nil:
			o.doneErr(e)
		case o.ctlDone != nil:
			o.ctlDone <- e
		}
	}
}

// lookupFlight returns the in-flight state of id as of this batch.
func (w *WAL) lookupFlight(c *batchCtx, id uint64) (f *flight, resolved bool) {
	if _, ok := c.resolved[id]; ok {
		return nil, true
	}
	if f := c.changed[id]; f != nil {
		return f, false
	}
	if f := c.added[id]; f != nil {
		return f, false
	}
	return w.work.inflight[id], false
}

// mutableFlight returns a copy of f this batch may change (the published one
// is only replaced after the batch is durable).
func (w *WAL) mutableFlight(c *batchCtx, id uint64, f *flight) *flight {
	if c.added[id] == f || c.changed[id] == f {
		return f
	}
	cp := *f
	c.changed[id] = &cp
	return &cp
}

// apply adds one op to the batch. A read that fails with an I/O error (a
// duplicate resolution looked up on disk) fails the WAL.
func (w *WAL) apply(c *batchCtx, o *op) {
	b := &c.sb
	var err error
	switch o.kind {
	case kRequest:
		b.Set(appendIDKey(c.ar.alloc(idKeyLen), pRequest, o.id), o.value)
		// The I/ entry carries the request itself: recovery reads the
		// in-flight set from one small key range, never from the whole
		// log. SingleDelete removes it before it reaches an sstable.
		b.Set(appendCenterIDKey(c.ar.alloc(centerIDKeyLen(o.center)), pInFlight, o.center, o.id), o.value)
		if o.appID != "" || o.appRef != "" {
			b.Set(appendRefKey(c.ar.alloc(refKeyLen(o.center, o.appID, o.appRef)), o.center, o.appID, o.appRef),
				appendIDValue(c.ar.alloc(idValueLen), o.id))
		}
		if o.advice {
			b.Set(adviceKey(o.center, o.id), encodeAdvice(0, 0))
		}
		c.added[o.id] = &flight{center: o.center, advice: o.advice, req: o.value}
		if o.id > c.maxID {
			c.maxID = o.id
		}
		w.dayRange(c, w.cdKey(o.center, o.date)).addRequest(o.id)
		c.records++
	case kResolution:
		f, resolved := w.lookupFlight(c, o.id)
		switch {
		case resolved:
			o.first, o.dup = c.resolved[o.id], true
		case f == nil:
			o.first, o.dup, o.err = w.readResolution(o.id)
			if o.err != nil && !errors.Is(o.err, ErrUnknownRequest) && !errors.Is(o.err, ErrCorrupt) && !errors.Is(o.err, ErrBadKey) {
				err = o.err
			}
		default:
			w.resolve(c, o, f)
		}
		c.records++
	case kCancel:
		f, resolved := w.lookupFlight(c, o.id)
		switch {
		case resolved:
			o.err = fmt.Errorf("%w: request %d", ErrAlreadyResolved, o.id)
		case f == nil:
			o.err = w.unknownOrResolved(o.id)
		default:
			b.Set(cancelKey(o.id), o.value)
			w.mutableFlight(c, o.id, f).cancel = o.value
		}
		c.records++
	case kAdviceAttempt:
		f, resolved := w.lookupFlight(c, o.id)
		switch {
		case resolved:
			o.err = fmt.Errorf("%w: request %d", ErrAlreadyResolved, o.id)
		case f == nil:
			o.err = w.unknownOrResolved(o.id)
		case !f.advice:
			o.err = fmt.Errorf("%w: request %d", ErrNotAdvice, o.id)
		default:
			m := w.mutableFlight(c, o.id, f)
			m.attempts++
			m.last = o.time
			b.Set(adviceKey(m.center, o.id), encodeAdvice(m.attempts, m.last))
		}
		c.records++
	case kControl:
		o.err = o.ctl(c)
	}
	if err != nil {
		o.err = w.fail(err)
	}
}

// resolve writes the resolution of in-flight request o.id.
func (w *WAL) resolve(c *batchCtx, o *op, f *flight) {
	b := &c.sb
	b.Set(appendIDKey(c.ar.alloc(idKeyLen), pResolved, o.id), o.value)
	// The in-flight key is written exactly once, so SingleDelete lets it and
	// its Set vanish together at the next flush: the index never fills with
	// tombstones and InFlight stays proportional to what is in flight.
	b.SingleDelete(appendCenterIDKey(c.ar.alloc(centerIDKeyLen(f.center)), pInFlight, f.center, o.id))
	if f.advice {
		b.Delete(adviceKey(f.center, o.id))
	}
	if f.cancel != nil {
		b.Delete(cancelKey(o.id))
	}
	// The effects live in the resolution itself; the date's D/ record
	// bounds the IDs whose resolutions carry them, so VerifyTotals reads
	// only that stretch of s/.
	for _, e := range o.res.Effects {
		k := w.cdKey(f.center, e.Date)
		t := c.totals[k]
		if t == nil {
			cur := w.work.totals[k]
			t = &cur
			c.totals[k] = t
		}
		t.add(e.Category, e.Amount)
		w.dayRange(c, k).addEffect(o.id)
	}
	c.resolved[o.id] = o.res
}

// dayRange returns the batch's copy of the ranges of center\x00date.
func (w *WAL) dayRange(c *batchCtx, k string) *idRange {
	r := c.days[k]
	if r == nil {
		cur := w.work.day(k)
		r = &cur
		c.days[k] = r
	}
	return r
}

// readResolution answers a resolution for a request that is not in flight:
// a duplicate of a durable resolution, or an unknown request.
func (w *WAL) readResolution(id uint64) (*Resolution, bool, error) {
	k := resolvedKey(id)
	v, closer, err := w.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, fmt.Errorf("%w: request %d", ErrUnknownRequest, id)
	}
	if err != nil {
		return nil, false, err
	}
	defer closer.Close()
	res, err := decodeResolution(w.seal, k, v)
	if err != nil {
		return nil, false, err
	}
	return res, true, nil
}

func (w *WAL) unknownOrResolved(id uint64) error {
	_, closer, err := w.db.Get(resolvedKey(id))
	if err == nil {
		closer.Close()
		return fmt.Errorf("%w: request %d", ErrAlreadyResolved, id)
	}
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("%w: request %d", ErrUnknownRequest, id)
	}
	return err
}

// Stats returns cumulative counters.
func (w *WAL) Stats() Stats {
	w.stateMu.RLock()
	n := len(w.pub.inflight)
	w.stateMu.RUnlock()
	return Stats{
		Syncs:     w.stats.syncs.Load(),
		Records:   w.stats.records.Load(),
		Batches:   w.stats.batches.Load(),
		MaxBatch:  w.stats.maxBatch.Load(),
		Busy:      w.stats.busy.Load(),
		InFlight:  n,
		QueueLen:  int(w.queueLen.Load()),
		SyncNanos: w.stats.syncNanos.Load(),
		Failed:    w.Err() != nil,
	}
}

// pebbleLogger routes Pebble's own log lines to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error("pebble fatal: " + msg)
	panic("wal: pebble fatal: " + msg)
}
