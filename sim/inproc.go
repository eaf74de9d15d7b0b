package sim

import (
	"fmt"

	"github.com/fxswitch/fxswitch/sim/journal"
)

// In-process lines: the deterministic simulation of the switch core
// (switch/engine) drives the center models without sockets or event loops,
// on its own schedule and virtual clock (Options.Clock), and decides itself
// what the network drops, delays or duplicates. The models, their
// deduplication, totals and journal are the same code fxsim serves over TCP.

// StartInProcess opens the journal (Options.JournalPath) but no listener:
// the centers are reached only through Connect. Close flushes the journal.
func (s *Sim) StartInProcess() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return ErrStarted
	}
	s.started = true
	if s.opts.JournalPath != "" {
		jw, err := journal.Create(s.opts.JournalPath, journal.Options{QueueLen: s.opts.JournalQueueLen})
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		s.jw = jw
	}
	return nil
}

// Conn is one in-process line to a simulated center. Not safe for
// concurrent use; distinct Conns may be used from distinct goroutines.
type Conn struct {
	srv *centerServer
	ln  *line
}

// Connect opens an in-process line to center (CenterCardnet, CenterCafis).
func (s *Sim) Connect(center string) (*Conn, error) {
	if err := s.running(); err != nil {
		return nil, err
	}
	var cs *centerServer
	switch {
	case center == CenterCardnet && s.cardnet != nil:
		cs = s.cardnet.srv
	case center == CenterCafis && s.cafis != nil:
		cs = s.cafis.srv
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownCenter, center)
	}
	ln := cs.addLine(nil, "in-process")
	if ln == nil {
		return nil, fmt.Errorf("sim: %s: line refused (max lines)", center)
	}
	return &Conn{srv: cs, ln: ln}, nil
}

// Serve hands the center one inbound frame payload and returns its answers,
// framed and concatenated (valid until the next call), and whether the
// center closes the line (a frame it cannot parse).
func (c *Conn) Serve(payload []byte) (answers []byte, closing bool) {
	c.ln.out = c.ln.out[:0]
	if c.ln.closed.Load() {
		return nil, true
	}
	c.srv.proto.serve(c.ln, payload)
	return c.ln.out, c.ln.closing
}

// Close ends the line (the center's view of a disconnect).
func (c *Conn) Close() {
	c.srv.removeLine(c.ln, "in-process")
}

// Cutover moves the CARDNET center to its next business date (timed
// cutover) and returns the 0800 (DE70 201) it sends on c, framed, for the
// caller to deliver; the daemon's 0810 comes back through Serve.
func (c *Conn) Cutover() (newDate string, frame []byte, err error) {
	cn := c.srv.sim.cardnet
	if cn == nil || c.srv != cn.srv {
		return "", nil, fmt.Errorf("%w: cutover is a CARDNET exchange", ErrUnknownCenter)
	}
	if !c.ln.signedOn.Load() || c.ln.closed.Load() {
		return "", nil, ErrNotSignedOn
	}
	nd, _, _, frame, err := cn.cutoverFrame(c.ln)
	return nd, frame, err
}
