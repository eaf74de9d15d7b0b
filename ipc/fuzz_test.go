package ipc

import (
	"bytes"
	"errors"
	"testing"
)

// splitAll feeds chunks to a stream splitter the way an event loop does:
// append what arrived, take every complete frame, keep the rest. It returns
// the frames, the bytes left, and the first error (after which the
// connection would be closed, so nothing is left).
func splitAll(chunks [][]byte) (frames [][]byte, rest []byte, err error) {
	var buf []byte
	for _, c := range chunks {
		buf = append(buf, c...)
		for {
			frame, n, err := Split(buf)
			if err != nil {
				return frames, nil, err
			}
			if frame == nil {
				break
			}
			if n != len(frame) || n < HeaderSize {
				panic("Split: n disagrees with the frame")
			}
			frames = append(frames, append([]byte(nil), frame...))
			buf = buf[n:]
		}
	}
	return frames, buf, nil
}

func sameSplit(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func seedFrames(f *testing.F) {
	req := buildRequest(f, sale()...).Bytes()
	f.Add(req)
	f.Add(append(append([]byte{}, req...), req...))
	f.Add(appendResponse(nil, 1, 2))
	f.Add(AppendError(nil, 0, 0, CodeMalformed, "length above 65536"))
	n, _ := AppendNotice(nil, 3, NoticeCutover, "20261124")
	f.Add(n)
	f.Add(goodFrame(KindPing, 0, 1, nil))
	f.Add(goodFrame(KindRequest, 0, 0, rawField(TagRef, 5, "abc")))
	f.Add([]byte{0, 1, 0, 1})
	f.Add([]byte{0, 0, 0, 19})
}

// FuzzSplit: splitting the input at every byte boundary (two reads), and
// byte by byte, gives exactly the one-shot result.
func FuzzSplit(f *testing.F) {
	seedFrames(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<13 {
			in = in[:1<<13] // the check is quadratic; longer inputs add nothing
		}
		want, wantRest, wantErr := splitAll([][]byte{in})
		for k := 0; k <= len(in); k++ {
			got, rest, err := splitAll([][]byte{in[:k], in[k:]})
			if !sameSplit(got, want) || !bytes.Equal(rest, wantRest) || (err == nil) != (wantErr == nil) {
				t.Fatalf("split at %d: %d frames err %v, one-shot %d frames err %v", k, len(got), err, len(want), wantErr)
			}
		}
		bytewise := make([][]byte, len(in))
		for i := range in {
			bytewise[i] = in[i : i+1]
		}
		got, rest, err := splitAll(bytewise)
		if !sameSplit(got, want) || !bytes.Equal(rest, wantRest) || (err == nil) != (wantErr == nil) {
			t.Fatalf("byte by byte: %d frames err %v, one-shot %d frames err %v", len(got), err, len(want), wantErr)
		}
		if wantErr != nil && !errors.Is(wantErr, ErrMalformed) {
			t.Fatalf("Split error %v is not code 1", wantErr)
		}
	})
}

// FuzzParse: Parse never panics; what it accepts is rebuilt byte for byte
// from its own views by Builder; request and response views never panic and
// what they accept meets DESIGN §5.
func FuzzParse(f *testing.F) {
	seedFrames(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var fr Frame
		err := fr.Parse(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Code != CodeMalformed && e.Code != CodeUnsupportedVersion && e.Code != CodeUnknownKind) {
				t.Fatalf("Parse error %v", err)
			}
			if e.Code == CodeMalformed {
				return
			}
			_ = fr.Correlation() // the header stays readable for the error reply
			if e.Code == CodeUnsupportedVersion {
				return
			}
		}
		if frame, n, err := Split(in); err != nil || n != len(in) || !bytes.Equal(frame, in) {
			t.Fatalf("Parse accepted what Split does not: %d %v", n, err)
		}
		b := Begin(nil, fr.Kind(), fr.Session(), fr.Correlation())
		it := fr.Fields()
		for tag, v, ok := it.Next(); ok; tag, v, ok = it.Next() {
			b.Bytes(tag, v)
		}
		out, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if fr.Flags() == 0 && !bytes.Equal(out, in) {
			t.Fatalf("rebuilt frame differs:\n%x\n%x", out, in)
		}

		var rv RequestView
		if err := rv.Parse(&fr); err == nil {
			if rv.Op == 0 || len(rv.Ref) == 0 || len(rv.Ref) > MaxRefLen {
				t.Fatalf("accepted request %+v", rv)
			}
			if rv.Op.Financial() && (len(rv.PAN) < MinPANLen || len(rv.Currency) != 3 || len(rv.Expiry) != 4 || len(rv.Amount) == 0) {
				t.Fatalf("accepted financial request %+v", rv)
			}
			if rv.Op == OpCancel && len(rv.OrigRef) == 0 {
				t.Fatalf("accepted cancel %+v", rv)
			}
		} else if !errors.Is(err, ErrInvalidField) {
			t.Fatalf("RequestView error %v", err)
		}
		var sv ResponseView
		if err := sv.Parse(&fr); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("ResponseView error %v", err)
		}
		if e := ErrorOf(&fr); e == nil {
			t.Fatal("ErrorOf nil")
		}
	})
}
