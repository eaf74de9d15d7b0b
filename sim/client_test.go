package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/codec"
)

// testDate is the business date every test simulator starts with.
const testDate = "20261123"

// fixedClock pins journal times and the default date.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func startSim(t *testing.T, mod func(*Options)) *Sim {
	t.Helper()
	o := Options{CardnetAddr: "127.0.0.1:0", CafisAddr: "127.0.0.1:0", Date: testDate, EventLoops: 1}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// ioDeadline bounds every read of a test client: a missing answer fails the
// test instead of hanging it. It is a safety net, not a timing assertion.
const ioDeadline = 10 * time.Second

// rawClient speaks one framing over a plain TCP connection.
type rawClient struct {
	t     *testing.T
	conn  net.Conn
	frame codec.Framing
	buf   []byte
}

func dialRaw(t *testing.T, addr string, f codec.Framing) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, conn: c, frame: f}
}

func (c *rawClient) writeFrame(payload []byte) {
	c.t.Helper()
	b, err := c.frame.AppendFrame(nil, payload)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// readFrame returns the next payload (a copy), or an error (io.EOF when the
// simulator closed the line).
func (c *rawClient) readFrame() ([]byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(ioDeadline))
	for {
		p, total, err := c.frame.Split(c.buf, 0)
		if err != nil {
			return nil, err
		}
		if total > 0 {
			out := bytes.Clone(p)
			c.buf = c.buf[total:]
			return out, nil
		}
		var tmp [65536]byte
		n, err := c.conn.Read(tmp[:])
		c.buf = append(c.buf, tmp[:n]...)
		if err != nil && n == 0 {
			return nil, err
		}
	}
}

func (c *rawClient) mustRead() []byte {
	c.t.Helper()
	p, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return p
}

func (c *rawClient) expectClosed() {
	c.t.Helper()
	for {
		_, err := c.readFrame()
		if err == nil {
			continue // answers already on the way may arrive first
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return
		}
		c.t.Fatalf("want the line closed, got %v", err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// ---- CARDNET ----

type cnClient struct {
	*rawClient
	spec *codec.ISOSpec
	stan uint32
}

func dialCardnet(t *testing.T, s *Sim) *cnClient {
	return &cnClient{rawClient: dialRaw(t, s.CardnetAddr(), codec.FrameBin2), spec: codec.CardnetSpec()}
}

func (c *cnClient) send(mti string, f *codec.ISOFields) {
	c.t.Helper()
	b, err := c.spec.Append(nil, mti, f)
	if err != nil {
		c.t.Fatal(err)
	}
	c.writeFrame(b)
}

func (c *cnClient) recv() *codec.ISOMessage {
	c.t.Helper()
	var m codec.ISOMessage
	if err := c.spec.Decode(&m, c.mustRead()); err != nil {
		c.t.Fatal(err)
	}
	return &m
}

func (c *cnClient) rt(mti string, f *codec.ISOFields) *codec.ISOMessage {
	c.t.Helper()
	c.send(mti, f)
	return c.recv()
}

func (c *cnClient) netMgmt(code string) *codec.ISOMessage {
	c.t.Helper()
	c.stan++
	var f codec.ISOFields
	f.SetString(7, "1123100000")
	f.SetUint(11, uint64(900000+c.stan))
	f.SetString(70, code)
	m := c.rt("0800", &f)
	if string(m.MTI()) != "0810" || string(m.Get(39)) != "00" {
		c.t.Fatalf("0800 %s answered %s DE39 %q", code, m.MTI(), m.Get(39))
	}
	return m
}

const testPAN = "4111111111111111"

// fin builds a financial request with the usual elements.
func fin(stan uint32, proc, pan string, amount uint64, de15 string) *codec.ISOFields {
	var f codec.ISOFields
	f.SetString(2, pan)
	f.SetString(3, proc)
	f.SetUint(4, amount)
	f.SetString(7, de7For(stan))
	f.SetUint(11, uint64(stan))
	if de15 != "" {
		f.SetString(15, de15)
	}
	f.SetString(32, "123456")
	f.SetString(37, fmt.Sprintf("RRN%09d", stan))
	f.SetString(41, "TERM0001")
	f.SetString(49, "392")
	return &f
}

func de7For(stan uint32) string { return fmt.Sprintf("1123%06d", stan%1000000) }

// reversalOf builds a 0400/0420 for the original (STAN, DE7, acquirer 123456).
func reversalOf(stan, origStan uint32, origMTI string, amount uint64, de15 string) *codec.ISOFields {
	f := fin(stan, "000000", testPAN, amount, de15)
	f.Set(90, codec.AppendDE90(nil, []byte(origMTI), origStan, []byte(de7For(origStan)), []byte("123456")))
	return f
}

func expectCode(t *testing.T, m *codec.ISOMessage, mti, code string) {
	t.Helper()
	if string(m.MTI()) != mti || string(m.Get(39)) != code {
		t.Fatalf("got %s DE39 %q, want %s DE39 %q", m.MTI(), m.Get(39), mti, code)
	}
}

// ---- CAFIS ----

type cfClient struct {
	*rawClient
	spec *codec.CafisSpec
	x    cafisIdx
}

func dialCafis(t *testing.T, s *Sim) *cfClient {
	spec := codec.CafisBuiltin()
	x, err := resolveCafis(spec)
	if err != nil {
		t.Fatal(err)
	}
	return &cfClient{rawClient: dialRaw(t, s.CafisAddr(), codec.FrameASCII4), spec: spec, x: x}
}

func cfHeader(kind string, serial uint32, date string, retrans bool) *codec.CafisHeader {
	h := &codec.CafisHeader{Serial: serial, Retrans: retrans}
	h.SetKind(kind)
	h.SetMerchant("MERCHANT0001")
	copy(h.Date[:], date)
	copy(h.Time[:], "100000")
	return h
}

func (c *cfClient) rt(h *codec.CafisHeader, f *codec.CafisFields) *codec.CafisRecord {
	c.t.Helper()
	b, err := c.spec.Append(nil, h, f)
	if err != nil {
		c.t.Fatal(err)
	}
	c.writeFrame(b)
	return c.recv()
}

func (c *cfClient) recv() *codec.CafisRecord {
	c.t.Helper()
	var r codec.CafisRecord
	if err := c.spec.Decode(&r, c.mustRead()); err != nil {
		c.t.Fatal(err)
	}
	return &r
}

func (c *cfClient) simple(kind string) {
	c.t.Helper()
	r := c.rt(cfHeader(kind, 1, testDate, false), nil)
	if string(r.Result()) != codec.ResultApproved {
		c.t.Fatalf("%s answered %s", kind, r.Result())
	}
}

func (c *cfClient) sales(serial uint32, date, op, pan string, amount uint64, retrans bool) *codec.CafisRecord {
	c.t.Helper()
	var f codec.CafisFields
	f.SetString(c.x.salesOp, op)
	f.SetString(c.x.salesPAN, pan)
	f.SetString(c.spec.MustFieldIndex(codec.KindSalesReq, "expiry"), "2812")
	f.SetUint(c.x.salesAmount, amount)
	f.SetString(c.spec.MustFieldIndex(codec.KindSalesReq, "currency"), "392")
	f.SetString(c.spec.MustFieldIndex(codec.KindSalesReq, "terminal_id"), "TERM0001")
	return c.rt(cfHeader(codec.KindSalesReq, serial, date, retrans), &f)
}

func (c *cfClient) cancel(kind string, serial uint32, date string, origSerial uint32, origDate string, amount uint64, retrans bool) *codec.CafisRecord {
	c.t.Helper()
	var f codec.CafisFields
	switch kind {
	case codec.KindCancelReq:
		f.SetUint(c.x.cancelSerial, uint64(origSerial))
		f.SetString(c.x.cancelDate, origDate)
		f.SetUint(c.x.cancelAmount, amount)
		f.SetString(c.spec.MustFieldIndex(codec.KindCancelReq, "pan"), testPAN)
	case codec.KindCancelCommand:
		f.SetUint(c.x.cmdSerial, uint64(origSerial))
		f.SetString(c.x.cmdDate, origDate)
		f.SetUint(c.x.cmdAmount, amount)
	case codec.KindCancelConfirm:
		f.SetUint(c.x.confSerial, uint64(origSerial))
		f.SetString(c.x.confDate, origDate)
	}
	return c.rt(cfHeader(kind, serial, date, retrans), &f)
}

func expectResult(t *testing.T, r *codec.CafisRecord, kind, result string) {
	t.Helper()
	if string(r.Kind()) != kind || string(r.Result()) != result {
		t.Fatalf("got %s result %s, want %s result %s", r.Kind(), r.Result(), kind, result)
	}
}

func tempJournal(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "journal.jsonl")
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
