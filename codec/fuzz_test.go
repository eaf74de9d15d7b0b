package codec

import (
	"bytes"
	"errors"
	"testing"
	"unsafe"
)

var sentinels = []error{ErrShortFrame, ErrBadLength, ErrFrameTooLarge, ErrFieldTooLong, ErrNotNumeric,
	ErrBadCharacter, ErrUnknownField, ErrBadBitmap, ErrBadMTI, ErrMissingField, ErrBadValue, ErrBadSpec}

// sentinelOf is the package sentinel err wraps; it fails the test for any other error.
func sentinelOf(t *testing.T, err error) error {
	t.Helper()
	if err == nil {
		return nil
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FieldError", err)
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	t.Fatalf("error %v wraps no sentinel", err)
	return nil
}

func within(v, raw []byte) bool {
	if len(v) == 0 {
		return true
	}
	if len(raw) == 0 {
		return false
	}
	lo, hi := uintptr(unsafe.Pointer(&raw[0])), uintptr(unsafe.Pointer(&raw[len(raw)-1]))
	a, b := uintptr(unsafe.Pointer(&v[0])), uintptr(unsafe.Pointer(&v[len(v)-1]))
	return a >= lo && b <= hi
}

// FuzzDecodeISO: any input decodes or fails with a located sentinel, never
// panics; what decodes re-encodes to the same bytes (up to hex case), and
// moov-io unpacks canonical messages to the same elements.
func FuzzDecodeISO(f *testing.F) {
	for _, tc := range cardnetSamples {
		f.Add(mustEncode(f, tc.mti, tc.fields))
	}
	f.Add([]byte("0800" + "8220000000000000" + "0400000000000000" + "1123080000000001301"))
	s := CardnetSpec()
	f.Fuzz(func(t *testing.T, data []byte) {
		var m ISOMessage
		if err := s.Decode(&m, data); err != nil {
			sentinelOf(t, err)
			if m.Raw() != nil || m.Has(2) {
				t.Fatal("failed decode left fields")
			}
			return
		}
		var g ISOFields
		for de, v := range m.Fields() {
			if !within(v, data) {
				t.Fatalf("DE%d outside the payload", de)
			}
			g.Set(de, v)
		}
		again, err := s.Append(nil, string(m.MTI()), &g)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.EqualFold(again, data) {
			t.Fatalf("re-encoded\n%q\ninput\n%q", again, data)
		}
		checkAgainstMoov(t, data, string(m.MTI()), true)
	})
}

// FuzzDecodeCafis: any input decodes or fails with a located sentinel; what
// decodes re-encodes byte for byte (the reserved bytes are written as spaces).
func FuzzDecodeCafis(f *testing.F) {
	s := CafisBuiltin()
	for kind, vals := range cafisSamples {
		h := cafisHeader(kind, 123)
		f.Add(encodeCafis(f, s, &h, vals))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r CafisRecord
		if err := s.Decode(&r, data); err != nil {
			sentinelOf(t, err)
			if r.Raw() != nil {
				t.Fatal("failed decode left a record")
			}
			return
		}
		h := r.Header()
		kind := string(r.Kind())
		var fs CafisFields
		for _, name := range s.FieldNames(kind) {
			idx := s.MustFieldIndex(kind, name)
			v := r.Field(idx)
			if !within(v, data) {
				t.Fatalf("%s outside the record", name)
			}
			fs.Set(idx, v)
		}
		again, err := s.Append(nil, &h, &fs)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		want := bytes.Clone(data)
		copy(want[cafisOffReserved:CafisHeaderLen], "       ")
		if !bytes.Equal(again, want) {
			t.Fatalf("re-encoded\n%q\ninput\n%q", again, want)
		}
	})
}

type splitResult struct {
	frames []string
	err    error
	rest   int
}

func oneShot(t *testing.T, f Framing, max int, stream []byte) splitResult {
	var r splitResult
	for {
		p, total, err := f.Split(stream, max)
		if err != nil {
			r.err = sentinelOf(t, err)
			return r
		}
		if total == 0 {
			r.rest = len(stream)
			return r
		}
		if total < f.HeaderLen()+1 || total > len(stream) || len(p) != total-f.HeaderLen() {
			t.Fatalf("Split total %d payload %d of %d bytes", total, len(p), len(stream))
		}
		r.frames = append(r.frames, string(p))
		stream = stream[total:]
	}
}

// feedPieces runs a splitter over the pieces. Views are converted to strings
// only just before the next Feed, so a view clobbered by a later Next of the
// same piece shows up as a difference.
func feedPieces(t *testing.T, f Framing, max int, pieces ...[]byte) splitResult {
	var r splitResult
	s := NewSplitter(f, max)
	for _, piece := range pieces {
		s.Feed(piece)
		var views [][]byte
		for {
			p, err := s.Next()
			if err != nil {
				r.err = sentinelOf(t, err)
				break
			}
			if p == nil {
				break
			}
			views = append(views, p)
		}
		for _, v := range views {
			r.frames = append(r.frames, string(v))
		}
		if r.err != nil {
			return r
		}
	}
	r.rest = s.Buffered()
	return r
}

func sameSplit(t *testing.T, what string, got, want splitResult) {
	t.Helper()
	if got.err != want.err || got.rest != want.rest || len(got.frames) != len(want.frames) {
		t.Fatalf("%s: %d frames, err %v, rest %d; one-shot %d frames, err %v, rest %d",
			what, len(got.frames), got.err, got.rest, len(want.frames), want.err, want.rest)
	}
	for i := range got.frames {
		if got.frames[i] != want.frames[i] {
			t.Fatalf("%s: frame %d differs", what, i)
		}
	}
}

// FuzzSplitter: the stream split at every byte boundary, and fed one byte at
// a time, yields exactly what one-shot splitting of the whole stream yields.
// data[0] picks the framing, data[1] a payload limit.
func FuzzSplitter(f *testing.F) {
	bin, _ := FrameBin2.AppendFrame(nil, []byte("0800hello"))
	bin, _ = FrameBin2.AppendFrame(bin, bytes.Repeat([]byte{'x'}, 300))
	asc, _ := FrameASCII4.AppendFrame(nil, []byte("00100record"))
	asc, _ = FrameASCII4.AppendFrame(asc, []byte("z"))
	f.Add(append([]byte{0, 0}, bin...))
	f.Add(append([]byte{0, 10}, bin...))
	f.Add(append([]byte{1, 0}, asc...))
	f.Add(append([]byte{1, 1}, append(asc, "00x"...)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 || len(data) > 4096 {
			return
		}
		fr := FrameBin2
		if data[0]&1 == 1 {
			fr = FrameASCII4
		}
		max := int(data[1]) * 8
		stream := data[2:]
		want := oneShot(t, fr, max, stream)
		for i := 0; i <= len(stream); i++ {
			sameSplit(t, "split in two", feedPieces(t, fr, max, stream[:i], stream[i:]), want)
		}
		pieces := make([][]byte, len(stream))
		for i := range stream {
			pieces[i] = stream[i : i+1]
		}
		sameSplit(t, "byte by byte", feedPieces(t, fr, max, pieces...), want)
	})
}
