package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestFramingHeaders(t *testing.T) {
	for _, tc := range []struct {
		f    Framing
		n    int
		want string
	}{
		{FrameBin2, 1, "\x00\x01"},
		{FrameBin2, 300, "\x01\x2c"},
		{FrameBin2, 65535, "\xff\xff"},
		{FrameASCII4, 1, "0001"},
		{FrameASCII4, 141, "0141"},
		{FrameASCII4, 9999, "9999"},
	} {
		b, err := tc.f.AppendHeader([]byte("x"), tc.n)
		if err != nil || string(b) != "x"+tc.want {
			t.Fatalf("%v %d: %q %v", tc.f, tc.n, b, err)
		}
		payload := strings.Repeat("p", tc.n)
		frame := append(b[1:], payload...)
		got, total, err := tc.f.Split(append(frame, "next"...), 0)
		if err != nil || total != len(frame) || string(got) != payload {
			t.Fatalf("%v Split: total %d err %v", tc.f, total, err)
		}
		if cap(got) != len(got) {
			t.Fatal("payload view must be capped so appends cannot clobber the next frame")
		}
	}
}

func TestFramingReserveAndPut(t *testing.T) {
	for _, f := range []Framing{FrameBin2, FrameASCII4} {
		buf := f.ReserveHeader([]byte("xx"))
		start := len(buf)
		buf = append(buf, "0800..."...)
		if err := f.PutHeader(buf[2:start], len(buf)-start); err != nil {
			t.Fatal(err)
		}
		p, total, err := f.Split(buf[2:], 0)
		if err != nil || string(p) != "0800..." || total != len(buf)-2 {
			t.Fatalf("%v: %q %d %v", f, p, total, err)
		}
		if got := f.HeaderLen(); got != start-2 {
			t.Fatalf("HeaderLen %d", got)
		}
	}
}

func TestFramingErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		f        Framing
		in       string
		max      int
		sentinel error
	}{
		{"ascii not digits", FrameASCII4, "01a2xxxx", 0, ErrBadLength},
		{"ascii partial header not digits", FrameASCII4, "0x", 0, ErrBadLength},
		{"ascii zero", FrameASCII4, "0000", 0, ErrBadLength},
		{"bin zero", FrameBin2, "\x00\x00", 0, ErrBadLength},
		{"bin over max", FrameBin2, "\x01\x00", 255, ErrFrameTooLarge},
		{"ascii over max", FrameASCII4, "0100", 99, ErrFrameTooLarge},
		{"unknown framing", Framing(9), "0100", 0, ErrBadLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, total, err := tc.f.Split([]byte(tc.in), tc.max)
			if total != 0 {
				t.Fatal("total must be 0 on error")
			}
			wantErr(t, err, tc.sentinel, 0)
		})
	}
	for _, f := range []Framing{FrameBin2, FrameASCII4} {
		if _, err := f.AppendHeader(nil, f.MaxPayload()+1); err == nil {
			t.Fatal("oversize header must fail")
		} else {
			wantErr(t, err, ErrFrameTooLarge, 0)
		}
		_, err := f.AppendHeader(nil, 0)
		wantErr(t, err, ErrBadLength, 0)
		wantErr(t, f.PutHeader(make([]byte, 1), 5), ErrShortFrame, 0)
		if p, total, err := f.Split([]byte{'0'}, 0); p != nil || total != 0 || err != nil {
			t.Fatal("a partial header means need more")
		}
		if _, err := f.AppendFrame(nil, nil); err == nil {
			t.Fatal("empty frame must fail")
		}
	}
	wantErr(t, Framing(0).PutHeader(make([]byte, 4), 1), ErrBadLength, 0)
	if Framing(0).HeaderLen() != 0 || Framing(0).String() != "unknown" || FrameBin2.String() != "bin2" {
		t.Fatal("framing names")
	}
}

func frames(t testing.TB, f Framing, payloads ...string) []byte {
	var b []byte
	for _, p := range payloads {
		var err error
		if b, err = f.AppendFrame(b, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// drain collects every payload the splitter can produce now (copied) and the error, if any.
func drain(s *Splitter, out []string) ([]string, error) {
	for {
		p, err := s.Next()
		if err != nil {
			return out, err
		}
		if p == nil {
			return out, nil
		}
		out = append(out, string(p))
	}
}

func TestSplitterPieces(t *testing.T) {
	for _, f := range []Framing{FrameBin2, FrameASCII4} {
		payloads := []string{"a", "hello", strings.Repeat("z", 300), "0800", "x"}
		stream := frames(t, f, payloads...)
		for size := 1; size <= len(stream); size++ {
			s := NewSplitter(f, 1000)
			var got []string
			var err error
			for off := 0; off < len(stream); off += size {
				s.Feed(stream[off:min(off+size, len(stream))])
				if got, err = drain(s, got); err != nil {
					t.Fatal(err)
				}
			}
			if strings.Join(got, "|") != strings.Join(payloads, "|") {
				t.Fatalf("%v piece size %d: %q", f, size, got)
			}
			if s.Buffered() != 0 {
				t.Fatalf("buffered %d", s.Buffered())
			}
		}
	}
}

// Complete frames inside one piece are views of that piece, not copies.
func TestSplitterZeroCopy(t *testing.T) {
	stream := frames(t, FrameBin2, "one", "two")
	s := NewSplitter(FrameBin2, 0)
	s.Feed(stream)
	p, _ := s.Next()
	if &p[0] != &stream[2] {
		t.Fatal("first frame was copied")
	}
	// Views of earlier frames stay intact while a straddling frame is assembled.
	a := frames(t, FrameBin2, "first", "second")
	b := frames(t, FrameBin2, "third", "fourth")
	s = NewSplitter(FrameBin2, 0)
	s.Feed(a[:len(a)-3])
	p1, _ := s.Next()
	if p, _ := s.Next(); p != nil {
		t.Fatal("second frame is incomplete")
	}
	s.Feed(append(a[len(a)-3:], b...))
	p2, _ := s.Next()
	p3, _ := s.Next()
	p4, _ := s.Next()
	if string(p1) != "first" || string(p2) != "second" || string(p3) != "third" || string(p4) != "fourth" {
		t.Fatalf("%q %q %q %q", p1, p2, p3, p4)
	}
}

func TestSplitterErrorsAreSticky(t *testing.T) {
	s := NewSplitter(FrameASCII4, 10)
	s.Feed([]byte("0003abc0011"))
	p, err := s.Next()
	if string(p) != "abc" || err != nil {
		t.Fatal(p, err)
	}
	_, err = s.Next()
	wantErr(t, err, ErrFrameTooLarge, 0)
	s.Feed([]byte("0001x"))
	if _, err2 := s.Next(); err2 != err || s.Err() != err {
		t.Fatal("error must be sticky")
	}
	s.Reset()
	s.Feed([]byte("0001x"))
	if p, err := s.Next(); string(p) != "x" || err != nil {
		t.Fatal("Reset must clear the error")
	}
	// An error inside a straddling frame's header.
	s = NewSplitter(FrameASCII4, 0)
	s.Feed([]byte("00"))
	if p, err := s.Next(); p != nil || err != nil {
		t.Fatal("need more")
	}
	s.Feed([]byte("z1"))
	_, err = s.Next()
	wantErr(t, err, ErrBadLength, 0)
}

// Bytes fed but not drained before the next Feed are kept, in order.
func TestSplitterUndrainedFeed(t *testing.T) {
	stream := frames(t, FrameBin2, "one", "two", "three")
	s := NewSplitter(FrameBin2, 0)
	s.Feed(stream[:7])
	s.Feed(stream[7:])
	got, err := drain(s, nil)
	if err != nil || strings.Join(got, ",") != "one,two,three" {
		t.Fatalf("%q %v", got, err)
	}
	if !bytes.Equal(stream[:2], []byte{0, 3}) {
		t.Fatal("caller's buffer modified")
	}
}

// A caller that feeds without ever draining hits the splitter's bound.
func TestSplitterBound(t *testing.T) {
	s := NewSplitter(FrameASCII4, 10)
	piece := []byte("0005hello")
	for i := 0; i < 4; i++ {
		s.Feed(piece)
		if s.Err() != nil {
			t.Fatalf("bound hit after %d pieces (limit is two maximal frames = 28 bytes)", i)
		}
	}
	s.Feed(piece)
	wantErr(t, s.Err(), ErrFrameTooLarge, 0)
	if _, err := s.Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatal(err)
	}
}
