package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/sim/journal"
	"github.com/fxswitch/fxswitch/switch/mac"
)

func testMACKey(t *testing.T, b byte) *mac.Key {
	t.Helper()
	k, err := mac.New(bytes.Repeat([]byte{b}, mac.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signed encodes mti/f with a DE128 signed by k (nil: no DE128 at all).
func signed(t *testing.T, k *mac.Key, mti string, f *codec.ISOFields) []byte {
	t.Helper()
	if k != nil {
		f.SetString(128, mac.MACPlaceholder)
	}
	b, err := codec.CardnetSpec().Append(nil, mti, f)
	if err != nil {
		t.Fatal(err)
	}
	if k != nil {
		if err := k.Sign(b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// recvVerified reads the next answer and checks its MAC.
func (c *cnClient) recvVerified(k *mac.Key) *codec.ISOMessage {
	c.t.Helper()
	p := c.mustRead()
	if err := k.Verify(p); err != nil {
		c.t.Fatalf("answer %q: %v", p, err)
	}
	var m codec.ISOMessage
	if err := c.spec.Decode(&m, p); err != nil {
		c.t.Fatal(err)
	}
	return &m
}

func netMgmtFields(stan uint64, code string) *codec.ISOFields {
	var f codec.ISOFields
	f.SetString(7, "1123100000")
	f.SetUint(11, stan)
	f.SetString(70, code)
	return &f
}

func TestCardnetMAC(t *testing.T) {
	key := testMACKey(t, 0x11)
	jpath := tempJournal(t)
	s := startSim(t, func(o *Options) { o.MACKey = key; o.JournalPath = jpath })
	c := dialCardnet(t, s)

	c.writeFrame(signed(t, key, "0800", netMgmtFields(900001, nmSignon)))
	expectCode(t, c.recvVerified(key), "0810", "00")

	// Good MAC: processed, answered with a valid MAC.
	c.writeFrame(signed(t, key, "0200", fin(1, "000000", testPAN, 1000, "1123")))
	expectCode(t, c.recvVerified(key), "0210", "00")

	// Bad MAC: signed, then the amount altered on the way.
	bad := signed(t, key, "0200", fin(2, "000000", testPAN, 1000, "1123"))
	i := bytes.Index(bad, []byte("000000001000"))
	if i < 0 {
		t.Fatal("amount not found")
	}
	bad[i+7] = '9'
	c.writeFrame(bad)
	// Wrong key.
	c.writeFrame(signed(t, testMACKey(t, 0x22), "0200", fin(3, "000000", testPAN, 1000, "1123")))
	// Missing MAC.
	c.writeFrame(signed(t, nil, "0200", fin(4, "000000", testPAN, 1000, "1123")))
	// The next answer on the line is the echo's: the three refused messages
	// were not answered (answers on one line keep their order).
	c.writeFrame(signed(t, key, "0800", netMgmtFields(900002, nmEcho)))
	m := c.recvVerified(key)
	expectCode(t, m, "0810", "00")
	if string(m.Get(11)) != "900002" {
		t.Fatalf("answer to STAN %s, want the echo's", m.Get(11))
	}

	tot, _ := s.Totals(CenterCardnet, testDate)
	if want := (Totals{DebitsCount: 1, DebitsAmount: 1000}); tot != want {
		t.Fatalf("totals %+v, want %+v (refused messages changed state)", tot, want)
	}
	// A refused STAN is new when it comes again with a good MAC.
	c.writeFrame(signed(t, key, "0200", fin(2, "000000", testPAN, 1000, "1123")))
	if m := c.recvVerified(key); string(m.Get(11)) != "000002" || string(m.Get(39)) != "00" {
		t.Fatalf("resend: STAN %s DE39 %s", m.Get(11), m.Get(39))
	}
	if st := s.Stats(); st.CardnetBadMAC != 3 || !st.MAC {
		t.Fatalf("stats %+v", st)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stats", nil))
	var st Stats
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.CardnetBadMAC != 3 {
		t.Fatalf("GET /stats %s: %v", rec.Body.String(), err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	v, err := journal.Read(jpath)
	if err != nil {
		t.Fatal(err)
	}
	if v.Events["bad_mac"] != 3 {
		t.Fatalf("journal bad_mac events %d, want 3", v.Events["bad_mac"])
	}
	for _, stan := range []string{"000003", "000004"} {
		if _, ok := v.Txns[journal.TxnKey{Center: CenterCardnet, Date: testDate, Key: stan}]; ok {
			t.Fatalf("refused STAN %s reached the center's state", stan)
		}
	}
}

// TestCardnetMACCutover: the center's own 0800 is signed, and its 0810 must
// be too.
func TestCardnetMACCutover(t *testing.T) {
	key := testMACKey(t, 0x33)
	s := startSim(t, func(o *Options) { o.MACKey = key; o.CutoverAnswerTimeout = 300 * time.Millisecond })
	c := dialCardnet(t, s)
	c.writeFrame(signed(t, key, "0800", netMgmtFields(900001, nmSignon)))
	expectCode(t, c.recvVerified(key), "0810", "00")

	answer := func(k *mac.Key) error {
		done := make(chan error, 1)
		go func() { _, err := s.TriggerCutover(context.Background()); done <- err }()
		m := c.recvVerified(key)
		if string(m.MTI()) != "0800" || string(m.Get(70)) != nmCutover {
			t.Fatalf("center sent %s DE70 %s", m.MTI(), m.Get(70))
		}
		var f codec.ISOFields
		f.Set(11, m.Get(11))
		f.Set(15, m.Get(15))
		f.SetString(39, "00")
		f.SetString(70, nmCutover)
		c.writeFrame(signed(t, k, "0810", &f))
		return <-done
	}
	if err := answer(key); err != nil {
		t.Fatalf("signed 0810: %v", err)
	}
	if err := answer(nil); !errors.Is(err, ErrCutoverTimeout) {
		t.Fatalf("unsigned 0810: %v, want it ignored (timeout)", err)
	}
	if n := s.Stats().CardnetBadMAC; n != 1 {
		t.Fatalf("bad MAC count %d", n)
	}
}

// TestCardnetMACOff: without a key DE128 is neither checked nor sent.
func TestCardnetMACOff(t *testing.T) {
	s := startSim(t, nil)
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	f := fin(1, "000000", testPAN, 1000, "1123")
	f.SetString(128, "0123456789ABCDEF") // not a valid MAC under any key we hold
	m := c.rt("0200", f)
	expectCode(t, m, "0210", "00")
	if m.Has(128) {
		t.Fatalf("answer carries DE128 %q without a key", m.Get(128))
	}
	if st := s.Stats(); st.CardnetBadMAC != 0 || st.MAC {
		t.Fatalf("stats %+v", st)
	}
}
