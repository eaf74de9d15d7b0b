package client

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fxswitch/fxswitch/ipc"
)

// testServer is a small daemon stand-in built on net.Listener and the ipc
// helpers, the way fxd's event loops use them: split frames out of the read
// buffer, parse in place, answer into one write buffer per read.
//
// Behaviour by app reference: "hold-*" is answered only by release();
// "notice-N-*" first sends N cutover notices; "close-*" gets an Error frame
// with correlation 0 (code 1) and the connection is closed; amounts of
// 100000 or more are declined. Inquiry answers from the results kept.
type testServer struct {
	t      testing.TB
	ln     net.Listener
	token  string // required on OpenSession when set
	forget bool   // keep no results (benchmarks: inquiry then fails)

	mu       sync.Mutex
	conns    map[net.Conn]*sync.Mutex // write lock per connection
	nextSess uint64
	sessions map[uint64]bool
	results  map[string][]byte // ref → the fields of its Response
	held     []heldReply
	stan     uint64
	wg       sync.WaitGroup
}

type heldReply struct {
	conn  net.Conn
	frame []byte
}

func newTestServer(t testing.TB, network, addr string) *testServer {
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln)
}

func serveOn(t testing.TB, ln net.Listener) *testServer {
	s := &testServer{t: t, ln: ln, conns: map[net.Conn]*sync.Mutex{}, sessions: map[uint64]bool{}, results: map[string][]byte{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = &sync.Mutex{}
			s.mu.Unlock()
			s.wg.Add(1)
			go s.serve(c)
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *testServer) write(c net.Conn, b []byte) {
	s.mu.Lock()
	wl := s.conns[c]
	s.mu.Unlock()
	if wl == nil {
		return
	}
	wl.Lock()
	defer wl.Unlock()
	c.Write(b)
}

// release sends every held reply.
func (s *testServer) release() {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, h := range held {
		s.write(h.conn, h.frame)
	}
}

// heldCount reports how many replies are held.
func (s *testServer) heldCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// notifyAll sends a notice with session 0 to every connection.
func (s *testServer) notifyAll(kind, detail string) {
	frame, _ := ipc.AppendNotice(nil, 0, kind, detail)
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		s.write(c, frame)
	}
}

func (s *testServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, 0, 256<<10)
	var out []byte
	for {
		n, err := c.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return
		}
		buf = buf[:len(buf)+n]
		off := 0
		out = out[:0]
		closeAfter := false
		for !closeAfter {
			frame, fn, err := ipc.Split(buf[off:])
			if err != nil {
				out = ipc.AppendError(out, 0, 0, ipc.CodeMalformed, err.Error())
				closeAfter = true
				break
			}
			if frame == nil {
				break
			}
			off += fn
			out, closeAfter = s.handle(c, frame, out)
		}
		if len(out) > 0 {
			s.write(c, out)
		}
		if closeAfter {
			return
		}
		buf = buf[:copy(buf, buf[off:])]
	}
}

func (s *testServer) handle(c net.Conn, frame, out []byte) ([]byte, bool) {
	var f ipc.Frame
	if err := f.Parse(frame); err != nil {
		var e *ipc.Error
		errors.As(err, &e)
		out = ipc.AppendError(out, 0, f.Correlation(), e.Code, e.Text)
		return out, e.Code.ClosesConnection()
	}
	sess, corr := f.Session(), f.Correlation()
	switch f.Kind() {
	case ipc.KindPing:
		b := ipc.Begin(out, ipc.KindPong, 0, corr)
		out, _ = b.Finish()
	case ipc.KindOpenSession:
		center := string(f.Field(ipc.TagCenter))
		if s.token != "" && string(f.Field(ipc.TagAppToken)) != s.token {
			return ipc.AppendError(out, 0, corr, ipc.CodeUnauthorized, "missing or wrong app token"), false
		}
		if center != "cafis" && center != "cardnet" {
			return ipc.AppendError(out, 0, corr, ipc.CodeUnknownCenter, "center "+strconv.Quote(center)), false
		}
		s.mu.Lock()
		s.nextSess++
		id := s.nextSess
		s.sessions[id] = true
		s.mu.Unlock()
		b := ipc.Begin(out, ipc.KindSessionOpened, id, corr)
		b.Str(ipc.TagCenter, center)
		b.Str(ipc.TagBusinessDate, "20261123")
		out, _ = b.Finish()
	case ipc.KindCloseSession:
		s.mu.Lock()
		ok := s.sessions[sess]
		delete(s.sessions, sess)
		s.mu.Unlock()
		if !ok {
			return ipc.AppendError(out, sess, corr, ipc.CodeUnknownSession, "session "+strconv.FormatUint(sess, 10)), false
		}
		b := ipc.Begin(out, ipc.KindSessionClosed, sess, corr)
		out, _ = b.Finish()
	case ipc.KindRequest:
		return s.request(c, &f, out)
	default:
		return ipc.AppendError(out, sess, corr, ipc.CodeUnknownKind, f.Kind().String()+" is not a request"), false
	}
	return out, false
}

func (s *testServer) request(c net.Conn, f *ipc.Frame, out []byte) ([]byte, bool) {
	sess, corr := f.Session(), f.Correlation()
	s.mu.Lock()
	known := s.sessions[sess]
	s.mu.Unlock()
	if !known {
		return ipc.AppendError(out, sess, corr, ipc.CodeUnknownSession, "session "+strconv.FormatUint(sess, 10)), false
	}
	var v ipc.RequestView
	if err := v.Parse(f); err != nil {
		var e *ipc.Error
		errors.As(err, &e)
		return ipc.AppendError(out, sess, corr, e.Code, e.Text), false
	}
	if v.Op == ipc.OpInquiry {
		s.mu.Lock()
		fields, ok := s.results[string(v.Ref)]
		s.mu.Unlock()
		if !ok {
			return ipc.AppendError(out, sess, corr, ipc.CodeUnknownReference, "reference "+strconv.Quote(string(v.Ref))), false
		}
		b := ipc.Begin(out, ipc.KindResponse, sess, corr)
		out, _ = b.Finish()
		out = append(out, fields...)
		patchLen(out[len(out)-ipc.HeaderSize-len(fields):])
		return out, false
	}
	ref := v.Ref
	switch {
	case bytes.HasPrefix(ref, []byte("close-")):
		return ipc.AppendError(out, 0, 0, ipc.CodeMalformed, "closing as asked"), true
	case bytes.HasPrefix(ref, []byte("busy-")):
		return ipc.AppendError(out, sess, corr, ipc.CodeBusy, "in-flight bound of the session reached"), false
	case bytes.HasPrefix(ref, []byte("notice-")):
		n, _ := strconv.Atoi(strings.Split(string(ref), "-")[1])
		for i := range n {
			out, _ = ipc.AppendNotice(out, sess, ipc.NoticeCutover, strconv.Itoa(20261124+i))
		}
	}
	result, rc := ipc.ResultApproved, "00"
	var authBuf [24]byte
	auth := strconv.AppendUint(append(authBuf[:0], 'A'), v.AmountMinor%100000, 10)
	if v.AmountMinor >= 100000 {
		result, rc, auth = ipc.ResultDeclined, "51", nil
	}
	s.mu.Lock()
	s.stan++
	stan := s.stan
	s.mu.Unlock()
	start := len(out)
	b := ipc.Begin(out, ipc.KindResponse, sess, corr)
	b.Str(ipc.TagResult, string(result))
	b.Str(ipc.TagRespCode, rc)
	if auth != nil {
		b.Bytes(ipc.TagAuthCode, auth)
	}
	b.Uint(ipc.TagSTAN, stan)
	b.Str(ipc.TagBusinessDate, "20261123")
	b.Bytes(ipc.TagRRN, ref) // echoes the reference so tests can check the pairing
	out, _ = b.Finish()
	resp := out[start:]
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.forget {
		s.results[string(ref)] = append([]byte(nil), resp[ipc.HeaderSize:]...)
	}
	if bytes.HasPrefix(ref, []byte("hold-")) {
		s.held = append(s.held, heldReply{c, append([]byte(nil), resp...)})
		return out[:start], false
	}
	return out, false
}

// patchLen fixes the length prefix of a frame assembled by hand.
func patchLen(frame []byte) {
	l := len(frame) - 4
	frame[0], frame[1], frame[2], frame[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
}
