package tlsbridge

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// bridge pumps bytes between a TLS connection and the inner end of a
// socketpair whose other end (plain) belongs to the caller.
type bridge struct {
	tc    *tls.Conn
	inner *net.UnixConn
	bufSz int
	// writeTimeout bounds each write toward the TLS peer: a peer that
	// stops reading is disconnected instead of holding the bridge forever.
	writeTimeout time.Duration
	left         atomic.Int32 // directions still running
	once         sync.Once
	done         func(*bridge) // called once both pumps have ended
}

// socketpair returns the two connected ends of an AF_UNIX stream pair as
// *net.UnixConn (what gnet's Register and EnrollContext accept).
func socketpair() (plain, inner *net.UnixConn, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, errors.Join(ErrSocketpair, err)
	}
	a, err := fileConn(fds[0], "tlsbridge-plain")
	if err != nil {
		_ = unix.Close(fds[1])
		return nil, nil, err
	}
	b, err := fileConn(fds[1], "tlsbridge-inner")
	if err != nil {
		_ = a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// fileConn turns fd into a *net.UnixConn; fd itself is closed (FileConn
// works on a duplicate).
func fileConn(fd int, name string) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), name)
	c, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return nil, errors.Join(ErrSocketpair, err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		_ = c.Close()
		return nil, ErrSocketpair
	}
	return uc, nil
}

// start runs the two pumps. The TLS→plain pump ends when the peer closes
// (close_notify or FIN) and then shuts down the plain end's reading side;
// the plain→TLS pump ends when the owner of plain closes it or shuts down
// its writing side and then sends close_notify. Any other error closes
// everything at once. When both have ended, both connections are closed.
func (b *bridge) start(wg *sync.WaitGroup) {
	b.left.Store(2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		b.pump(b.inner, b.tc, func() error { return b.inner.CloseWrite() })
	}()
	go func() {
		defer wg.Done()
		b.pump(deadlineWriter{b.tc, b.writeTimeout}, b.inner, func() error { return b.tc.CloseWrite() })
	}()
}

var bufPool sync.Pool

func (b *bridge) pump(dst io.Writer, src io.Reader, closeWrite func() error) {
	var buf []byte
	if p, ok := bufPool.Get().(*[]byte); ok && len(*p) == b.bufSz {
		buf = *p
	} else {
		buf = make([]byte, b.bufSz)
	}
	_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf)
	bufPool.Put(&buf)
	if err == nil {
		// Clean end of one direction: pass the half-close on.
		err = closeWrite()
	}
	if err != nil {
		b.closeAll()
	}
	if b.left.Add(-1) == 0 {
		b.closeAll()
	}
}

func (b *bridge) closeAll() {
	b.once.Do(func() {
		_ = b.tc.Close()
		_ = b.inner.Close()
		if b.done != nil {
			b.done(b)
		}
	})
}

// deadlineWriter sets a write deadline before every write.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	if err := w.c.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return 0, err
	}
	return w.c.Write(p)
}
