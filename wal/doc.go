// Package wal is fxswitch's write-ahead log: the durable record that lets the
// switch promise no transaction is lost or counted twice. It sits on Pebble
// (github.com/cockroachdb/pebble/v2); Pebble's own log, synced once per batch, is
// the durability, and this package decides what goes into each batch.
//
// # Group commit
//
//	AppendRequest ───┐  validate, assign ID, encode + seal (on the caller's goroutine)
//	AppendResolution ┼─► bounded queue (Options.MaxQueue; ErrBusy beyond)
//	AppendCancel... ─┘        │
//	                          ▼  committer goroutine
//	       take ≤ MaxBatch ops ─► one pebble.Batch ─► apply + wait for its fsync
//	                          │
//	                          ▼  syncer goroutine (channel of pipelineDepth batches)
//	       publish the batch's state delta (readers see it now) ─► run callbacks
//
// A batch's writes reach Pebble grouped by key family, each family in
// arrival order (grouped.go): the memtable inserts then mostly start where
// the previous key went.
//
// Appends never block on disk: done runs on the syncer after the batch is
// synced, so a gnet event loop hands a record over and returns. While one
// batch syncs, the queue fills with the next; under load one fsync carries
// around a hundred records (bench/RESULTS.md). The committer waits for each
// fsync itself: after a failed sync Pebble's log writer is poisoned and a
// further write would panic inside Pebble, so nothing is written after one.
// The sync error is taken from Batch.SyncWait (Pebble's Commit(Sync) would
// treat it as fatal). Control operations (business date, key reservation,
// signon state, reconciliation, clean marker, VerifyTotals, Prune) go through
// the same queue and block their caller until durable.
//
// # Key layout
//
// All IDs are 8-byte big-endian, so prefix scans come out in ID order.
// Upper-case prefixes hold the small state Open loads; they sort before the
// lower-case log records, so a restart reads the front of the key space
// (about one sstable per level) whatever the length of the log.
//
//	A/<center>\0<id>                  advice queue (store-and-forward): retry count, last attempt
//	C/<id>                            last cancel attempt of an in-flight request (sealed Msg)
//	D/<center>\0<date>                ID ranges of that business date: its requests (Prune) and
//	                                  the requests whose resolutions carry its effects (the fold);
//	                                  marked while Prune deletes the date
//	I/<center>\0<id>                  in-flight index: exists exactly while r/<id> has no s/<id>;
//	                                  its value is a copy of the request record
//	M/seq                             highest request ID ever made durable
//	M/clean                           clean-shutdown marker
//	M/keyid                           id of the PAN key the records are sealed with
//	M/date\0<center>                  business date (カット対象日付)
//	M/keys\0<center>                  matching-key (STAN / 通番) block reservation: date, upTo
//	M/signon\0<center>                signon state (開局 / 閉局)
//	M/recovery\0<center>              recovery (リカバリ処理) required
//	T/<center>\0<date>                running totals + reconciliation result (精査)
//	e/<center>\0<date><id><n>         one effect (category, amount), written by earlier builds only
//	r/<id>                            request       (cleartext head | sealed PAN+Msg)
//	s/<id>                            resolution    (status, codes, effects | sealed Msg): the
//	                                  records the totals fold from
//	x/<center>\0<appID>\0<ref>        most recent request ID with that app reference (inquiry, idempotency)
//
// Variable key parts refuse control bytes, so \0 separates them unambiguously.
//
// # Sstables by key family
//
// Every sstable Pebble writes, flush or compaction, ends at a family
// boundary (familySpans, Pebble's SpanPolicyFunc): the upper-case state
// shares one span, r/, s/ and x/ have one each. Each batch touches the
// state and most log families, so an unsplit flush covered the whole key
// space and every L0→Lbase compaction rewrote all of Lbase. Split, a flush's
// r/ table holds IDs above everything below it and moves down the LSM
// without being rewritten; s/ overlaps only at its tail, and the small
// state span is compacted on its own:
//
//	flush ─►  [A/ … T/] [r/ N…M] [s/ …] [x/ …]     one table per span
//	Lbase     [A/ … T/] [r/ 0…N) [s/ …] [x/ …]     r/ tables: moved, not merged
//
// That keeps the bytes compacted per record flat as the day's log grows
// (bench/RESULTS.md, "## wal"), and makes small memtables cheap: Pebble
// replays at most MemTableStopWritesThreshold of them after a crash, so
// DefaultMemTableBytes bounds the restart, not the length of the log.
//
// Moved tables keep the size they were flushed with and Pebble never merges
// tables that do not overlap, so the table count grows with the log, and
// Open pays a few microseconds per table (manifest, directory listing).
// Each family is one more table per flush; that is why effects have no
// family of their own (next section).
//
// # Totals and their fold
//
// A resolution carries its totals effects (category, amount, business
// date); the running totals T/ change in the same batch. No other record
// holds an effect: VerifyTotals recomputes the totals of center and date by
// reading the resolutions whose IDs the date's D/ record bounds (the
// effect range, widened by every resolution that carries an effect of
// that date) and joining each matching one with its request for the
// center, since IDs are shared by all centers. It reads a snapshot, off the
// committer.
//
// Prune removes a business date whole or not at all. A date with a request
// in flight stays (its totals still change). An effect may be dated after
// its request (a reversal counts in the date its cancel was sent), so a
// date whose requests overlap the effect range of a date that stays stays
// too, and so on until nothing changes. A date goes in three durable steps:
// its totals (and e/ records) while D/ is marked pruning, so the date
// leaves TotalsDates and the fold before any record it counts is deleted;
// its requests and resolutions, in chunks; then D/. A crash in between
// leaves the mark, and the next Prune finishes the date
// (TestCrashDuringPrune).
//
// Earlier builds wrote version 1 resolutions with one e/ twin per effect
// and 16-byte D/ values. This build reads such a data directory as it is:
// the fold adds the e/ records of the date and skips version 1
// resolutions, so each effect counts once (testdata/format1 and
// TestFormat1DataDirectory). Prune deletes the e/ records with their date.
// The way back is closed: an earlier build refuses this build's D/ values
// at Open (ErrCorrupt, "range record malformed"), so it never folds totals
// without the effects it cannot see.
//
// # Values
//
//	| version (1) | body | CRC-32C of version+body (4) |
//
// The version is 1, except for resolutions written by this build (2, same
// body, see above).
//
// A value that fails its checksum or does not decode is reported as
// ErrCorrupt naming its key; it is never skipped. Fields that may carry a PAN
// (the request's PAN and message, response and cancel messages) are sealed
// with AES-256-GCM before they enter a Pebble batch, so no clear PAN reaches
// Pebble's log or sstables:
//
//	| ver=1 (1) | key id (4) | nonce (12, random) | ciphertext | GCM tag (16) |
//
// The record's key is the GCM additional data. The key id is the first four
// bytes of SHA-256 over the key; a record sealed under another key fails with
// ErrBadKey. The key file (Options.KeyFile, default <dir>/pan.key: 32 raw
// bytes or 64 hex digits) is created with mode 0600 when absent.
//
// # Invariants (DESIGN.md §4)
//
//   - Nothing is acknowledged before its batch is synced (I1, I2). A batch
//     whose commit fails fails every op in it, and the WAL is then failed for
//     good (Err, ErrFailed): every later append returns that error. A failed
//     memtable flush or compaction (Pebble's background error) fails it too.
//   - I/<center>\0<id> exists exactly while the request has no resolution:
//     both change in one batch. It is written once and removed with
//     SingleDelete, so the pair usually vanishes at the next memtable flush;
//     pairs split across two flushes are joined by compacting the index
//     ranges at every clean Close. It carries the request, so Open rebuilds
//     the in-flight set from that one small range (no reads across the log)
//     and keeps it in memory: restart cost and memory follow what is in
//     flight, which the engine bounds, not what was ever logged.
//   - A request has at most one resolution. A second one changes nothing and
//     reports the first (dup), which gives I3 "exactly once in the totals".
//   - T/<center>\0<date> equals the fold of the effects dated date in the
//     resolutions of center (and e/ records of earlier builds) (I5): a
//     resolution, its totals update and its D/ range are in the same batch.
//     VerifyTotals checks.
//   - The in-memory copies (in-flight map, totals, metadata) are replaced only
//     after the batch that changes them is durable; readers never see state
//     a crash could take back.
//   - Request IDs never repeat: M/seq is written in every batch of requests
//     and Open resumes above it.
//   - The advice queue is the in-flight set restricted to advices: an advice
//     leaves it with its resolution (the acknowledgement), never otherwise.
//   - Prune deletes only business dates with a recorded reconciliation, and
//     never an in-flight request nor a resolution a remaining date counts
//     (TestPruneKeepsTheFold).
//   - WasClean: Open reads and durably deletes M/clean; MarkClean sets it;
//     any record appended after MarkClean clears it again.
//
// Lock order: WAL.mu (queue) and WAL.stateMu (published state) are never
// held together.
package wal
