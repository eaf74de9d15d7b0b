//go:build unix

package ctl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const fuzzMaxRequestBytes = 256 // the smallest allowed, so fuzzing reaches the oversize path

// FuzzServeLine feeds arbitrary bytes to one control connection, split in
// two writes at an arbitrary point and again one byte per read, and checks, line by line, that the
// request decoder and the server agree: every non-blank line gets exactly one
// answer, in order; valid requests (and only those) reach the Handler and
// succeed; bad ones get bad_request or invalid_argument with the id they
// carried; an oversize line is answered once and ends the connection.
// Seed corpus: testdata/fuzz/FuzzServeLine.
func FuzzServeLine(f *testing.F) {
	f.Add([]byte(`{"v":1,"id":1,"cmd":"status"}`+"\n"), uint16(7))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		checkDecoder(t, data)

		cli, srv := socketPair(t)
		defer cli.Close()
		s := &server{h: newFake(), ctx: context.Background()}
		s.opts.MaxRequestBytes = fuzzMaxRequestBytes
		s.opts.EnsureDefaults()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer srv.Close()
			s.lineLoop(srv, peer{})
		}()

		answers := make(chan []response, 1)
		go func() {
			var got []response
			br := bufio.NewReader(cli)
			for {
				line, err := br.ReadBytes('\n')
				if err != nil {
					answers <- got
					return
				}
				var r response
				if err := json.Unmarshal(line, &r); err != nil {
					t.Errorf("answer %q is not JSON: %v", line, err)
				}
				got = append(got, r)
			}
		}()
		at := 0
		if len(data) > 0 {
			at = int(split) % (len(data) + 1)
		}
		// Writes may fail once the daemon closed after an oversize line.
		cli.Write(data[:at])
		cli.Write(data[at:])
		cli.CloseWrite()
		got := <-answers
		<-done

		want := expectAnswers(data)
		checkAnswers(t, "two writes", data, got, want)

		// The same input delivered one byte per read: every split at once.
		sc := &scriptedConn{}
		for i := range data {
			sc.in = append(sc.in, data[i:i+1])
		}
		s.lineLoop(sc, peer{})
		var oneByOne []response
		for _, line := range bytes.SplitAfter(sc.out.Bytes(), []byte{'\n'}) {
			if len(line) == 0 {
				continue
			}
			var r response
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("answer %q is not JSON: %v", line, err)
			}
			oneByOne = append(oneByOne, r)
		}
		checkAnswers(t, "one byte per read", data, oneByOne, want)

		okCount := 0
		for _, w := range want {
			if w.ok {
				okCount++
			}
		}
		if calls := s.h.(*fakeHandler).Calls(); len(calls) != 2*okCount {
			t.Fatalf("%d handler calls for %d valid requests in two passes: %q", len(calls), okCount, calls)
		}
	})
}

func checkAnswers(t *testing.T, how string, data []byte, got []response, want []wantAnswer) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d answers, want %d\ninput %q\nanswers %+v", how, len(got), len(want), data, got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.V != ProtocolVersion || g.OK != w.ok || g.ID != w.id || (g.Error == nil) != w.ok ||
			(g.Error != nil && g.Error.Code != w.code) {
			t.Fatalf("%s: answer %d = %+v (error %+v), want %+v\ninput %q", how, i, g, g.Error, w, data)
		}
	}
}

// scriptedConn hands its input to Read in the given chunks (then EOF) and
// collects what is written; deadlines are accepted and ignored.
type scriptedConn struct {
	in  [][]byte
	out bytes.Buffer
}

func (c *scriptedConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.in[0])
	if c.in[0] = c.in[0][n:]; len(c.in[0]) == 0 {
		c.in = c.in[1:]
	}
	return n, nil
}

func (c *scriptedConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *scriptedConn) Close() error                     { return nil }
func (c *scriptedConn) LocalAddr() net.Addr              { return nil }
func (c *scriptedConn) RemoteAddr() net.Addr             { return nil }
func (c *scriptedConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(time.Time) error { return nil }

type wantAnswer struct {
	ok   bool
	id   uint64
	code string
}

// expectAnswers predicts the server's answers from the decoder alone.
func expectAnswers(data []byte) []wantAnswer {
	var want []wantAnswer
	for len(data) > 0 {
		seg, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		if len(seg) >= fuzzMaxRequestBytes {
			// No newline within the reader's buffer: refused, then closed.
			return append(want, wantAnswer{code: CodeBadRequest})
		}
		line := bytes.TrimSpace(seg)
		if len(line) == 0 {
			continue
		}
		req, err := decodeRequest(line)
		if err != nil {
			want = append(want, wantAnswer{id: req.ID, code: err.Code})
		} else {
			want = append(want, wantAnswer{ok: true, id: req.ID})
		}
	}
	return want
}

// checkDecoder checks decodeRequest on its own: accepted requests are
// complete and survive a round trip; refusals carry a protocol code.
func checkDecoder(t *testing.T, data []byte) {
	req, err := decodeRequest(data)
	if err != nil {
		if err.Code != CodeBadRequest && err.Code != CodeInvalidArgument {
			t.Fatalf("decoder refused %q with code %s", data, err.Code)
		}
		line := encodeResponse(req.ID, nil, err)
		if bytes.IndexByte(line, '\n') != len(line)-1 || !json.Valid(line[:len(line)-1]) {
			t.Fatalf("error answer %q is not one JSON line", line)
		}
		return
	}
	spec, ok := commands[req.Cmd]
	if !ok || req.V != ProtocolVersion || req.TimeoutMs < 0 || checkArgs(req, spec) != nil {
		t.Fatalf("decoder accepted an invalid request %+v from %q", req, data)
	}
	again, merr := json.Marshal(req)
	if merr != nil {
		t.Fatal(merr)
	}
	req2, derr := decodeRequest(again)
	if derr != nil || req2 != req {
		t.Fatalf("round trip of %+v: %+v, %v", req, req2, derr)
	}
}

// socketPair returns the two ends of a connected Unix stream socket pair,
// so that the client side can half-close like a real fxctl.
func socketPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]*net.UnixConn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "ctl-fuzz")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.UnixConn)
	}
	return conns[0], conns[1]
}
