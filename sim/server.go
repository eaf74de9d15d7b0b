package sim

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/sim/journal"
	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
	"golang.org/x/sys/unix"
)

// maxOutboundBytes bounds what a line may owe its peer: a peer that stops
// reading its answers is disconnected rather than buffered without limit.
const maxOutboundBytes = 16 << 20

// maxPendingDelayed bounds the answers held back by delay/late faults; beyond
// it answers go out at once (and the journal says so).
const maxPendingDelayed = 1 << 16

// line is one TCP connection of a center. Fields without atomics are owned
// by the connection's event loop.
type line struct {
	id       uint64
	srv      *centerServer
	conn     gnet.Conn
	signedOn atomic.Bool
	closed   atomic.Bool
	closing  bool   // close after this batch (disconnect fault, framing error)
	out      []byte // answers of the current OnTraffic, written in one Write

	iso    codec.ISOMessage
	isoOut codec.ISOFields
	cafis  codec.CafisRecord
	cafOut codec.CafisFields
}

// protocol is one center model: it answers the payloads of one line.
type protocol interface {
	// serve handles one inbound payload; answers are appended to ln.out.
	serve(ln *line, payload []byte)
}

// centerServer runs one center's gnet engine.
type centerServer struct {
	gnet.BuiltinEventEngine
	sim     *Sim
	name    string
	framing codec.Framing
	proto   protocol

	eng     gnet.Engine
	addr    string
	bootErr chan error
	runDone chan struct{}

	mu      sync.Mutex
	lines   map[uint64]*line
	nextID  uint64
	connSeq uint64
}

func newCenterServer(s *Sim, name string, f codec.Framing) *centerServer {
	return &centerServer{sim: s, name: name, framing: f, lines: make(map[uint64]*line),
		bootErr: make(chan error, 1), runDone: make(chan struct{})}
}

// quietLogger keeps gnet's own logging out of the simulator's stdout, whose
// "listening" lines are a contract.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(string, ...any) {}

var _ logging.Logger = quietLogger{}

func (cs *centerServer) start(addr string, loops int) error {
	go func() {
		defer close(cs.runDone)
		err := gnet.Run(cs, "tcp://"+addr,
			gnet.WithMulticore(loops > 1),
			gnet.WithNumEventLoop(loops),
			gnet.WithReuseAddr(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithLogger(quietLogger{}),
		)
		select {
		case cs.bootErr <- fmt.Errorf("sim: %s listener %s: %w", cs.name, addr, errOrStopped(err)):
		default:
		}
	}()
	if err := <-cs.bootErr; err != nil {
		return err
	}
	return nil
}

func errOrStopped(err error) error {
	if err == nil {
		return ErrClosed
	}
	return err
}

// OnBoot learns the bound address (port 0 allowed) from a dup of the listener.
func (cs *centerServer) OnBoot(eng gnet.Engine) gnet.Action {
	cs.eng = eng
	fd, err := eng.Dup()
	if err != nil {
		cs.bootErr <- fmt.Errorf("sim: %s: dup listener: %w", cs.name, err)
		return gnet.Shutdown
	}
	sa, err := unix.Getsockname(fd)
	unix.Close(fd)
	if err != nil {
		cs.bootErr <- fmt.Errorf("sim: %s: getsockname: %w", cs.name, err)
		return gnet.Shutdown
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		cs.addr = (&net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}).String()
	case *unix.SockaddrInet6:
		cs.addr = (&net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}).String()
	default:
		cs.bootErr <- fmt.Errorf("sim: %s: unexpected listener address %T", cs.name, sa)
		return gnet.Shutdown
	}
	cs.bootErr <- nil
	return gnet.None
}

func (cs *centerServer) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	cs.mu.Lock()
	cs.connSeq++
	seq := cs.connSeq
	cs.mu.Unlock()
	if refused, rule := cs.sim.faults.refuse(cs.name, seq); refused {
		cs.sim.event(cs.name, 0, "refused", fmt.Sprintf("fault rule %d", rule))
		return nil, gnet.Close
	}
	ln := cs.addLine(c, c.RemoteAddr().String())
	if ln == nil {
		return nil, gnet.Close
	}
	c.SetContext(ln)
	return nil, gnet.None
}

// addLine registers a new line (conn nil: in-process), or refuses it at
// MaxLines and returns nil.
func (cs *centerServer) addLine(conn gnet.Conn, peer string) *line {
	cs.mu.Lock()
	if len(cs.lines) >= cs.sim.opts.MaxLines {
		cs.mu.Unlock()
		cs.sim.event(cs.name, 0, "refused", "max lines")
		return nil
	}
	cs.nextID++
	ln := &line{id: cs.nextID, srv: cs, conn: conn}
	cs.lines[ln.id] = ln
	cs.mu.Unlock()
	cs.sim.event(cs.name, ln.id, "connect", peer)
	return ln
}

// removeLine forgets a closed line; it no longer counts as signed on. A
// second call for the same line does nothing.
func (cs *centerServer) removeLine(ln *line, detail string) {
	if ln.closed.Swap(true) {
		return
	}
	ln.signedOn.Store(false)
	cs.mu.Lock()
	delete(cs.lines, ln.id)
	cs.mu.Unlock()
	cs.sim.event(cs.name, ln.id, "disconnect", detail)
}

func (cs *centerServer) OnClose(c gnet.Conn, err error) gnet.Action {
	ln, _ := c.Context().(*line)
	if ln == nil {
		return gnet.None
	}
	detail := ""
	if err != nil {
		detail = err.Error()
	}
	cs.removeLine(ln, detail)
	return gnet.None
}

func (cs *centerServer) OnTraffic(c gnet.Conn) gnet.Action {
	ln, _ := c.Context().(*line)
	if ln == nil {
		return gnet.Close
	}
	buf, _ := c.Peek(-1)
	consumed := 0
	for !ln.closing {
		payload, total, err := cs.framing.Split(buf[consumed:], cs.sim.opts.MaxFrameBytes)
		if err != nil {
			// A bad length header cannot be re-synchronised: drop the line.
			cs.sim.event(cs.name, ln.id, "malformed", err.Error())
			ln.closing = true
			break
		}
		if total == 0 {
			break
		}
		cs.proto.serve(ln, payload)
		consumed += total
	}
	if len(ln.out) > 0 {
		_, _ = c.Write(ln.out)
		ln.out = ln.out[:0]
	}
	if consumed > 0 {
		_, _ = c.Discard(consumed)
	}
	if ln.closing || c.OutboundBuffered() > maxOutboundBytes {
		return gnet.Close
	}
	return gnet.None
}

// signedOnLine returns one signed-on, open line (the oldest), or nil.
func (cs *centerServer) signedOnLine() *line {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var best *line
	for _, ln := range cs.lines {
		if ln.signedOn.Load() && !ln.closed.Load() && (best == nil || ln.id < best.id) {
			best = ln
		}
	}
	return best
}

func (cs *centerServer) lineCount() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.lines)
}

func (cs *centerServer) stop(ctx context.Context) error {
	// Engine.Stop polls for completion every 500ms; Run returning is the
	// prompt signal, so wait for that and let Stop's poll be cancelled.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = cs.eng.Stop(sctx) }()
	select {
	case <-cs.runDone:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sim: %s: stop: %w", cs.name, ctx.Err())
	}
}

// reserve starts an answer frame in ln.out and returns its start offset.
func (cs *centerServer) reserve(ln *line) int {
	start := len(ln.out)
	ln.out = cs.framing.ReserveHeader(ln.out)
	return start
}

// finish patches the frame header of the answer begun at start; on an
// encoding error the answer is removed and the error journaled.
func (cs *centerServer) finish(ln *line, start int, err error) bool {
	if err == nil {
		hl := cs.framing.HeaderLen()
		err = cs.framing.PutHeader(ln.out[start:start+hl], len(ln.out)-start-hl)
	}
	if err != nil {
		ln.out = ln.out[:start]
		cs.sim.event(cs.name, ln.id, "encode_error", err.Error())
		return false
	}
	return true
}

// applyFault carries out the after-processing part of a fault on the answer
// frame ln.out[start:]. It returns the fault name for the journal.
func (cs *centerServer) applyFault(ln *line, d decision, start int) string {
	if d.action == "" || start > len(ln.out) {
		return ""
	}
	frame := ln.out[start:]
	switch d.action {
	case ActDropResponse:
		ln.out = ln.out[:start]
	case ActDuplicate:
		ln.out = append(ln.out, frame...)
	case ActCorrupt:
		hl := cs.framing.HeaderLen()
		for i := hl; i < hl+4 && i < len(frame); i++ {
			frame[i] = 'Z'
		}
	case ActDelay, ActLate:
		if cs.sim.pendingDelayed.Add(1) > maxPendingDelayed {
			cs.sim.pendingDelayed.Add(-1)
			return string(d.action) + ":overflow_sent_now"
		}
		held := append([]byte(nil), frame...)
		ln.out = ln.out[:start]
		time.AfterFunc(d.delay, func() {
			defer cs.sim.pendingDelayed.Add(-1)
			if !ln.closed.Load() {
				_ = ln.conn.AsyncWrite(held, nil)
			}
		})
	}
	return string(d.action)
}

// journalOn reports whether records are being written (so that the hot
// path builds them only when someone reads them).
func (s *Sim) journalOn() bool { return s.jw != nil }

func (s *Sim) write(r *journal.Record) {
	if s.jw == nil {
		return
	}
	if r.Time.IsZero() {
		r.Time = s.opts.Clock.Now().UTC()
	}
	_ = s.jw.Write(r)
}

func (s *Sim) event(center string, lineID uint64, ev, detail string) {
	if s.jw == nil {
		return
	}
	s.write(&journal.Record{Type: journal.TypeEvent, Center: center, Line: lineID, Event: ev, Detail: detail})
}
