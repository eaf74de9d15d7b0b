package main

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
)

// Config is what the abusive client does and for how long.
type Config struct {
	Network, Addr  string        // "unix" + socket path (or "tcp" + loopback address)
	Duration       time.Duration // every loop stops at start + Duration
	Center         string        // center named in OpenSession
	Token          string        // app token, if fxd requires one
	Churners       int           // (a) goroutines opening connections and sending garbage
	MaxHalf        int           // (a) at most this many half frames held open at once
	Flooders       int           // (b) connections flooding invalid and malformed requests
	Batch          int           // (b) invalid requests per write
	MalformedEvery int           // (b) one malformed frame (error 1, close) every N batches
	Idle           int           // (c) connections opened and held without a byte
}

// Counts is what the abuser saw; every field is a count of events.
type Counts struct {
	// (a) connection churn with garbage, oversize/undersize length prefixes, half frames
	Dials         int64 `json:"dials"`
	DialErrors    int64 `json:"dial_errors"`
	Refused       int64 `json:"refused_busy"`           // error 14 on arrival (max_connections)
	Malformed     int64 `json:"answered_error_1"`       // error 1 received
	ClosedByFXD   int64 `json:"closed_by_fxd"`          // EOF after the bad bytes
	NotClosed     int64 `json:"not_closed_by_deadline"` // neither answered nor closed within 2 s or by the end
	HalfSent      int64 `json:"half_frames_sent"`       // half frames written and held
	HalfReaped    int64 `json:"half_frames_reaped"`     // of those, closed by fxd before the end
	HalfHeldToEnd int64 `json:"half_frames_held_to_end"`
	GarbageBytes  int64 `json:"garbage_bytes_sent"`
	// (b) flood of valid OpenSession + invalid/malformed Requests
	SessionsOpened int64 `json:"sessions_opened"`
	OpenRefused    int64 `json:"open_session_refused"`
	InvalidSent    int64 `json:"invalid_requests_sent"`
	Answered15     int64 `json:"answered_error_15"`
	MalformedSent  int64 `json:"malformed_requests_sent"`
	FloodClosed    int64 `json:"flood_conns_closed_by_fxd"`
	OtherAnswers   int64 `json:"other_answers"`
	// (c) idle connections
	IdleOpened  int64 `json:"idle_opened"`
	IdleRefused int64 `json:"idle_refused_busy"`
	IdleClosed  int64 `json:"idle_closed_by_fxd"`
	IdleHeld    int64 `json:"idle_held_to_end"`
}

type counters struct {
	dials, dialErrors, refused, malformed, closedByFXD, notClosed       atomic.Int64
	halfSent, halfReaped, halfHeld, garbageBytes                        atomic.Int64
	sessionsOpened, openRefused, invalidSent, answered15, malformedSent atomic.Int64
	floodClosed, otherAnswers                                           atomic.Int64
	idleOpened, idleRefused, idleClosed, idleHeld                       atomic.Int64
}

func (c *counters) snapshot() Counts {
	return Counts{
		Dials: c.dials.Load(), DialErrors: c.dialErrors.Load(), Refused: c.refused.Load(),
		Malformed: c.malformed.Load(), ClosedByFXD: c.closedByFXD.Load(), NotClosed: c.notClosed.Load(),
		HalfSent: c.halfSent.Load(), HalfReaped: c.halfReaped.Load(), HalfHeldToEnd: c.halfHeld.Load(),
		GarbageBytes:   c.garbageBytes.Load(),
		SessionsOpened: c.sessionsOpened.Load(), OpenRefused: c.openRefused.Load(),
		InvalidSent: c.invalidSent.Load(), Answered15: c.answered15.Load(),
		MalformedSent: c.malformedSent.Load(), FloodClosed: c.floodClosed.Load(), OtherAnswers: c.otherAnswers.Load(),
		IdleOpened: c.idleOpened.Load(), IdleRefused: c.idleRefused.Load(), IdleClosed: c.idleClosed.Load(),
		IdleHeld: c.idleHeld.Load(),
	}
}

// Abuse runs the three hostile behaviours side by side until cfg.Duration
// has passed and every connection it opened is closed again.
func Abuse(cfg Config) Counts {
	var c counters
	end := time.Now().Add(cfg.Duration)
	var wg sync.WaitGroup
	var halfHeld atomic.Int64
	for i := 0; i < cfg.Churners; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			churn(cfg, end, uint64(i), &c, &halfHeld, &wg)
		}(i)
	}
	for i := 0; i < cfg.Flooders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			flood(cfg, end, &c)
		}()
	}
	for i := 0; i < cfg.Idle; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idle(cfg, end, &c)
		}()
	}
	wg.Wait()
	return c.snapshot()
}

func dial(cfg Config, c *counters) (net.Conn, error) {
	c.dials.Add(1)
	conn, err := net.DialTimeout(cfg.Network, cfg.Addr, time.Second)
	if err != nil {
		c.dialErrors.Add(1)
	}
	return conn, err
}

// readFrame reads one whole frame (bounded by ipc.MaxFrame) and returns
// its kind and, for an Error frame, its code.
func readFrame(r io.Reader, buf []byte) (buf2 []byte, kind ipc.Kind, session uint64, code uint64, err error) {
	var pfx [4]byte
	if _, err = io.ReadFull(r, pfx[:]); err != nil {
		return buf, 0, 0, 0, err
	}
	l := binary.BigEndian.Uint32(pfx[:])
	if l < ipc.HeaderSize-4 || l > ipc.MaxFrame {
		return buf, 0, 0, 0, errors.New("abuse: bad frame from fxd")
	}
	buf = append(buf[:0], pfx[:]...)
	buf = append(buf, make([]byte, l)...)
	if _, err = io.ReadFull(r, buf[4:]); err != nil {
		return buf, 0, 0, 0, err
	}
	var f ipc.Frame
	if err = f.Parse(buf); err != nil {
		return buf, 0, 0, 0, err
	}
	if f.Kind() == ipc.KindError {
		code, _ = ipc.ParseUint(f.Field(ipc.TagErrorCode))
	}
	return buf, f.Kind(), f.Session(), code, nil
}

// churn: (a) connect as fast as possible, send one kind of bad bytes,
// wait for fxd's answer and close; half frames are left open instead.
func churn(cfg Config, end time.Time, id uint64, c *counters, halfHeld *atomic.Int64, wg *sync.WaitGroup) {
	r := rand.New(rand.NewPCG(id, 7))
	var buf []byte
	for n := 0; time.Now().Before(end); n++ {
		conn, err := dial(cfg, c)
		if err != nil {
			time.Sleep(time.Millisecond)
			continue
		}
		var out []byte
		half := false
		switch n % 4 {
		case 0:
			out = garbage(r, 16+r.IntN(512))
			c.garbageBytes.Add(int64(len(out)))
		case 1:
			out = oversizePrefix()
		case 2:
			out = undersizePrefix()
		case 3:
			if halfHeld.Load() < int64(cfg.MaxHalf) {
				out, half = halfFrame(), true
			} else {
				out = garbage(r, 64)
				c.garbageBytes.Add(int64(len(out)))
			}
		}
		_ = conn.SetDeadline(minTime(end, time.Now().Add(2*time.Second)))
		if _, err := conn.Write(out); err != nil {
			// fxd may have refused the connection on arrival and closed it.
			buf = expectClose(conn, buf, c)
			continue
		}
		if half {
			c.halfSent.Add(1)
			halfHeld.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer halfHeld.Add(-1)
				holdHalf(conn, end, c)
			}()
			continue
		}
		buf = expectClose(conn, buf, c)
	}
}

// expectClose reads what fxd answers to bad bytes until it closes the
// connection, and closes our end.
func expectClose(conn net.Conn, buf []byte, c *counters) []byte {
	defer conn.Close()
	for {
		var kind ipc.Kind
		var code uint64
		var err error
		buf, kind, _, code, err = readFrame(conn, buf)
		switch {
		case err == nil && kind == ipc.KindError && code == uint64(ipc.CodeBusy):
			c.refused.Add(1)
		case err == nil && kind == ipc.KindError && code == uint64(ipc.CodeMalformed):
			c.malformed.Add(1)
		case err == nil:
			c.otherAnswers.Add(1)
		case isTimeout(err):
			c.notClosed.Add(1)
			return buf
		default: // EOF or reset: fxd closed
			c.closedByFXD.Add(1)
			return buf
		}
	}
}

func holdHalf(conn net.Conn, end time.Time, c *counters) {
	defer conn.Close()
	_ = conn.SetDeadline(end)
	var one [512]byte
	for {
		_, err := conn.Read(one[:])
		if err == nil {
			continue // an answer (refusal); wait for the close
		}
		if isTimeout(err) {
			c.halfHeld.Add(1)
		} else {
			c.halfReaped.Add(1)
		}
		return
	}
}

// flood: (b) open a valid session, then pour invalid requests (error 15,
// connection kept) and now and then a malformed one (error 1, closed).
func flood(cfg Config, end time.Time, c *counters) {
	var corr uint64
	var buf []byte
	for time.Now().Before(end) {
		conn, err := dial(cfg, c)
		if err != nil {
			time.Sleep(time.Millisecond)
			continue
		}
		_ = conn.SetDeadline(end)
		corr++
		if _, err := conn.Write(openSession(cfg.Center, cfg.Token, corr)); err != nil {
			conn.Close()
			continue
		}
		var kind ipc.Kind
		var sess, code uint64
		buf, kind, sess, code, err = readFrame(conn, buf)
		if err != nil || kind != ipc.KindSessionOpened {
			if err == nil && code != 0 {
				c.openRefused.Add(1)
			}
			conn.Close()
			time.Sleep(time.Millisecond)
			continue
		}
		c.sessionsOpened.Add(1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			countAnswers(conn, c)
		}()
		out := make([]byte, 0, cfg.Batch*128)
		for b := 1; time.Now().Before(end); b++ {
			out = out[:0]
			for i := 0; i < cfg.Batch; i++ {
				corr++
				out = invalidRequest(out, sess, corr)
			}
			malformed := cfg.MalformedEvery > 0 && b%cfg.MalformedEvery == 0
			if malformed {
				corr++
				out = malformedRequest(out, sess, corr)
			}
			if _, err := conn.Write(out); err != nil {
				break
			}
			c.invalidSent.Add(int64(cfg.Batch))
			if malformed {
				c.malformedSent.Add(1)
				break
			}
		}
		<-done // the reader ends at fxd's close or at the deadline
		conn.Close()
	}
}

func countAnswers(conn net.Conn, c *counters) {
	var buf []byte
	for {
		var kind ipc.Kind
		var code uint64
		var err error
		buf, kind, _, code, err = readFrame(conn, buf)
		switch {
		case err != nil:
			if !isTimeout(err) {
				c.floodClosed.Add(1)
			}
			return
		case kind == ipc.KindError && code == uint64(ipc.CodeInvalidField):
			c.answered15.Add(1)
		case kind == ipc.KindError && code == uint64(ipc.CodeMalformed):
			c.malformed.Add(1)
		default:
			c.otherAnswers.Add(1)
		}
	}
}

// idle: (c) open a connection and send nothing until the end.
func idle(cfg Config, end time.Time, c *counters) {
	conn, err := dial(cfg, c)
	if err != nil {
		return
	}
	defer conn.Close()
	c.idleOpened.Add(1)
	_ = conn.SetDeadline(end)
	var buf []byte
	_, kind, _, code, err := readFrame(conn, buf)
	switch {
	case err == nil && kind == ipc.KindError && code == uint64(ipc.CodeBusy):
		c.idleRefused.Add(1)
	case isTimeout(err):
		c.idleHeld.Add(1)
	default:
		c.idleClosed.Add(1)
	}
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
