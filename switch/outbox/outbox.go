// Package outbox batches writes to a gnet connection from other goroutines.
//
// Frames for one connection are produced by many goroutines (the WAL
// committer acknowledging a batch, a center loop answering, a timer). Writing
// each with its own AsyncWrite costs one event-loop task and usually one
// write(2) per frame. Instead producers Push pooled buffers under a mutex and
// wake the connection only when the box goes from empty to non-empty; the
// event loop then writes everything gathered so far with one writev(2).
// Throughput on loopback follows messages per syscall (PERF-NOTES.md).
//
// Invariants: a pushed buffer is written at most once and always returned to
// the pool; after Close, Push refuses and releases its buffer; the box never
// holds more than MaxFrames frames (Push reports ErrFull beyond that, so a
// stalled peer cannot grow memory without bound).
package outbox

import (
	"errors"
	"sync"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"
)

var (
	// ErrClosed: the connection is gone; the frame was not queued.
	ErrClosed = errors.New("outbox: connection closed")
	// ErrFull: the peer is not reading; the frame was not queued.
	ErrFull = errors.New("outbox: too many frames queued")
)

// maxIOV is IOV_MAX on Linux: the most buffers one writev may carry.
const maxIOV = 1024

// Pool holds the buffers frames are encoded into.
var Pool bytebufferpool.Pool

// Get returns an empty pooled buffer.
func Get() *bytebufferpool.ByteBuffer { return Pool.Get() }

// Put returns a buffer to the pool.
func Put(b *bytebufferpool.ByteBuffer) { Pool.Put(b) }

// Box is the outbound queue of one connection. The zero value is not usable:
// call New.
type Box struct {
	mu      sync.Mutex
	conn    gnet.Conn
	pend    []*bytebufferpool.ByteBuffer
	woken   bool
	closed  bool
	max     int
	scratch [][]byte
	taken   []*bytebufferpool.ByteBuffer
}

// New returns a box for c holding at most maxFrames unwritten frames.
func New(c gnet.Conn, maxFrames int) *Box {
	if maxFrames <= 0 {
		maxFrames = 65536
	}
	return &Box{conn: c, max: maxFrames}
}

// Push queues b for writing and takes ownership of it. Safe from any goroutine.
func (x *Box) Push(b *bytebufferpool.ByteBuffer) error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		Put(b)
		return ErrClosed
	}
	if len(x.pend) >= x.max {
		x.mu.Unlock()
		Put(b)
		return ErrFull
	}
	x.pend = append(x.pend, b)
	wake := !x.woken
	x.woken = true
	x.mu.Unlock()
	if wake {
		if err := x.conn.Wake(nil); err != nil {
			x.Close()
			return ErrClosed
		}
	}
	return nil
}

// Flush writes everything queued with one writev. It must run on the
// connection's event loop (from OnTraffic, which Wake triggers).
func (x *Box) Flush() error {
	x.mu.Lock()
	x.taken, x.pend = x.pend, x.taken[:0]
	x.woken = false
	x.mu.Unlock()
	if len(x.taken) == 0 {
		return nil
	}
	x.scratch = x.scratch[:0]
	for _, b := range x.taken {
		x.scratch = append(x.scratch, b.B)
	}
	var err error
	// Linux refuses a writev of more than IOV_MAX (1024) buffers with EINVAL.
	for i := 0; i < len(x.scratch) && err == nil; i += maxIOV {
		_, err = x.conn.Writev(x.scratch[i:min(i+maxIOV, len(x.scratch))])
	}
	for i, b := range x.taken {
		Put(b)
		x.taken[i] = nil
		x.scratch[i] = nil
	}
	x.taken = x.taken[:0]
	return err
}

// Close drops whatever is queued and refuses later pushes.
func (x *Box) Close() {
	x.mu.Lock()
	x.closed = true
	pend := x.pend
	x.pend = nil
	x.mu.Unlock()
	for _, b := range pend {
		Put(b)
	}
}

// Len reports how many frames wait to be written.
func (x *Box) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.pend)
}
