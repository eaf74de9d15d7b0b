package outbox

import (
	"errors"
	"testing"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"
)

// fakeConn records Wake and Writev; every other gnet.Conn method is unused.
type fakeConn struct {
	gnet.Conn
	wakes   int
	written [][]byte
	wakeErr error
	maxIOV  int // largest writev seen
}

func (f *fakeConn) Wake(gnet.AsyncCallback) error { f.wakes++; return f.wakeErr }

func (f *fakeConn) Writev(bs [][]byte) (int, error) {
	if len(bs) > 1024 {
		return 0, errors.New("writev: invalid argument") // as Linux answers beyond IOV_MAX
	}
	f.maxIOV = max(f.maxIOV, len(bs))
	n := 0
	for _, b := range bs {
		f.written = append(f.written, append([]byte(nil), b...))
		n += len(b)
	}
	return n, nil
}

func frame(s string) *bytebuf { b := Get(); b.B = append(b.B[:0], s...); return b }

type bytebuf = bytebufferpool.ByteBuffer

func TestPushFlushBatches(t *testing.T) {
	c := &fakeConn{}
	x := New(c, 4)
	for _, s := range []string{"a", "b", "c"} {
		if err := x.Push(frame(s)); err != nil {
			t.Fatal(err)
		}
	}
	if c.wakes != 1 {
		t.Fatalf("wakes %d: one wake per batch expected", c.wakes)
	}
	if x.Len() != 3 {
		t.Fatalf("Len %d", x.Len())
	}
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(c.written) != 3 || string(c.written[0]) != "a" || string(c.written[2]) != "c" {
		t.Fatalf("written %q", c.written)
	}
	// After a flush the next push wakes again.
	if err := x.Push(frame("d")); err != nil || c.wakes != 2 {
		t.Fatalf("second batch: %v wakes %d", err, c.wakes)
	}
}

func TestBoundAndClose(t *testing.T) {
	c := &fakeConn{}
	x := New(c, 2)
	_ = x.Push(frame("a"))
	_ = x.Push(frame("b"))
	if err := x.Push(frame("c")); !errors.Is(err, ErrFull) {
		t.Fatalf("third push: %v, want ErrFull", err)
	}
	x.Close()
	if err := x.Push(frame("d")); !errors.Is(err, ErrClosed) {
		t.Fatalf("push after close: %v", err)
	}
	if x.Len() != 0 {
		t.Fatal("close must drop queued frames")
	}
}

func TestWakeFailureCloses(t *testing.T) {
	c := &fakeConn{wakeErr: errors.New("gone")}
	x := New(c, 2)
	if err := x.Push(frame("a")); !errors.Is(err, ErrClosed) {
		t.Fatalf("push: %v, want ErrClosed", err)
	}
}

func TestFlushBeyondIOVMax(t *testing.T) {
	c := &fakeConn{}
	x := New(c, 5000)
	for i := 0; i < 2500; i++ {
		if err := x.Push(frame("f")); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Flush(); err != nil {
		t.Fatalf("Flush of 2500 frames: %v", err)
	}
	if len(c.written) != 2500 || c.maxIOV != 1024 {
		t.Fatalf("written %d frames, largest writev %d", len(c.written), c.maxIOV)
	}
}
