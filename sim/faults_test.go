package sim

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/codec"
)

// sendWithEcho sends a request and an echo in one write, then reads until
// the echo's answer: what came before it is what the request got. A line
// answers in order, so a missing answer shows without any timer.
func sendWithEcho(t *testing.T, c *cnClient, mti string, f *codec.ISOFields) [][]byte {
	t.Helper()
	req, err := c.spec.Append(nil, mti, f)
	if err != nil {
		t.Fatal(err)
	}
	c.stan++
	var e codec.ISOFields
	e.SetString(7, "1123100000")
	e.SetUint(11, uint64(900000+c.stan))
	e.SetString(70, nmEcho)
	echo, err := c.spec.Append(nil, "0800", &e)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.frame.AppendFrame(nil, req)
	b, _ = c.frame.AppendFrame(b, echo)
	if _, err := c.conn.Write(b); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for {
		p := c.mustRead()
		var m codec.ISOMessage
		if c.spec.Decode(&m, p) == nil && string(m.MTI()) == "0810" {
			return got
		}
		got = append(got, p)
	}
}

// dropPattern runs 40 sales against a fresh simulator and returns which were answered.
func dropPattern(t *testing.T, seed int64) string {
	fs, err := ParseFaults([]byte(`{"faults":[{"center":"cardnet","kind":"0200","action":"drop_response","rate":0.5}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, func(o *Options) { o.Seed, o.Faults = seed, fs })
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	var pat []byte
	for i := uint32(1); i <= 40; i++ {
		if len(sendWithEcho(t, c, "0200", fin(i, "000000", testPAN, 100, "1123"))) == 1 {
			pat = append(pat, '1')
		} else {
			pat = append(pat, '0')
		}
	}
	// drop_response: processed all the same.
	if tot, _ := s.Totals(CenterCardnet, testDate); tot.DebitsCount != 40 {
		t.Fatalf("drop_response must not undo processing: %+v", tot)
	}
	return string(pat)
}

func TestFaultsReproducibleUnderSeed(t *testing.T) {
	a, b := dropPattern(t, 42), dropPattern(t, 42)
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if !bytes.Contains([]byte(a), []byte("0")) || !bytes.Contains([]byte(a), []byte("1")) {
		t.Fatalf("rate 0.5 hit all or nothing: %s", a)
	}
	if c := dropPattern(t, 43); c == a {
		t.Fatalf("different seeds gave the same 40 decisions: %s", c)
	}
}

func TestFaultActions(t *testing.T) {
	for _, tc := range []struct {
		rule    string
		answers int // answers before the echo
		counted int64
		check   func(t *testing.T, c *cnClient, got [][]byte)
	}{
		{rule: `{action: drop_request}`, answers: 0, counted: 0},
		{rule: `{action: drop_response}`, answers: 0, counted: 1},
		{rule: `{action: duplicate}`, answers: 2, counted: 1, check: func(t *testing.T, _ *cnClient, got [][]byte) {
			if !bytes.Equal(got[0], got[1]) {
				t.Fatalf("duplicate differs")
			}
		}},
		{rule: `{action: corrupt}`, answers: 1, counted: 1, check: func(t *testing.T, c *cnClient, got [][]byte) {
			var m codec.ISOMessage
			if !bytes.HasPrefix(got[0], []byte("ZZZZ")) || c.spec.Decode(&m, got[0]) == nil {
				t.Fatalf("corrupt frame decodes: %q", got[0])
			}
		}},
		// Delayed answers come after the echo that was sent after them.
		{rule: `{action: delay, delay_ms: 30, max_delay_ms: 60}`, answers: 0, counted: 1, check: expectLate},
		{rule: `{action: late, delay_ms: 30}`, answers: 0, counted: 1, check: expectLate},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			fs, err := ParseFaults([]byte("faults: [" + tc.rule[:len(tc.rule)-1] + ", center: cardnet, kind: \"0200\"}]"))
			if err != nil {
				t.Fatal(err)
			}
			s := startSim(t, func(o *Options) { o.Faults = fs })
			c := dialCardnet(t, s)
			c.netMgmt(nmSignon)
			got := sendWithEcho(t, c, "0200", fin(1, "000000", testPAN, 100, "1123"))
			if len(got) != tc.answers {
				t.Fatalf("%d answers before the echo, want %d", len(got), tc.answers)
			}
			if tc.check != nil {
				tc.check(t, c, got)
			}
			if tot, _ := s.Totals(CenterCardnet, testDate); tot.DebitsCount != tc.counted {
				t.Fatalf("counted %d, want %d", tot.DebitsCount, tc.counted)
			}
		})
	}
}

func expectLate(t *testing.T, c *cnClient, _ [][]byte) {
	t.Helper()
	m := c.recv()
	expectCode(t, m, "0210", "00")
}

func TestFaultDisconnectSkipCountAndRefuse(t *testing.T) {
	fs, err := ParseFaults([]byte(`
faults:
  - {center: cardnet, kind: "0200", action: disconnect, skip: 1, count: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, func(o *Options) { o.Faults = fs })
	c := dialCardnet(t, s)
	c.netMgmt(nmSignon)
	expectCode(t, c.rt("0200", fin(1, "000000", testPAN, 100, "1123")), "0210", "00") // skipped
	c.send("0200", fin(2, "000000", testPAN, 100, "1123"))
	c.expectClosed()
	// The rule has used its count: a new line works.
	c = dialCardnet(t, s)
	c.netMgmt(nmSignon)
	expectCode(t, c.rt("0200", fin(2, "000000", testPAN, 100, "1123")), "0210", "00")

	// Refuse connections (CAFIS only) until the rules are replaced.
	if err := s.SetFaults(FaultSet{Faults: []Fault{{Center: CenterCafis, Action: ActRefuse}}}); err != nil {
		t.Fatal(err)
	}
	cf := dialCafis(t, s)
	cf.expectClosed()
	c = dialCardnet(t, s)
	c.netMgmt(nmEcho)
	if err := s.SetFaults(FaultSet{}); err != nil {
		t.Fatal(err)
	}
	cf = dialCafis(t, s)
	cf.simple(codec.KindEchoReq)
}

func TestFaultCafisDropThenRetransmission(t *testing.T) {
	// The first sales record is dropped unseen; its retransmission is new to
	// the center and counts once.
	fs := FaultSet{Faults: []Fault{{Center: CenterCafis, Kind: codec.KindSalesReq, Action: ActDropRequest, Count: 1}}}
	s := startSim(t, func(o *Options) { o.Faults = fs })
	c := dialCafis(t, s)
	c.simple(codec.KindSignonReq)
	b, _ := c.spec.Append(nil, cfHeader(codec.KindSalesReq, 7, testDate, false), salesFields(c, 100))
	c.writeFrame(b) // dropped: never answered
	c.simple(codec.KindEchoReq)
	r := c.sales(7, testDate, codec.OpSale, testPAN, 100, true)
	expectResult(t, r, codec.KindSalesResp, codec.ResultApproved)
	if tot, _ := s.Totals(CenterCafis, testDate); tot.DebitsCount != 1 {
		t.Fatalf("%+v", tot)
	}
}

func TestFaultValidation(t *testing.T) {
	for _, bad := range []string{
		`faults: [{action: explode}]`,
		`faults: [{action: delay}]`,
		`faults: [{action: late}]`,
		`faults: [{action: duplicate, rate: 1.5}]`,
		`faults: [{action: duplicate, center: visa}]`,
		`faults: [{action: duplicate, kind: "02"}]`,
		`faults: [{action: delay, delay_ms: 50, max_delay_ms: 10}]`,
		`faults: [{action: duplicate, skip: -1}]`,
		`faults: {`,
	} {
		if _, err := ParseFaults([]byte(bad)); !errors.Is(err, ErrInvalidFaults) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	var many FaultSet
	for i := 0; i <= MaxFaults; i++ {
		many.Faults = append(many.Faults, Fault{Action: ActDuplicate})
	}
	if err := many.Validate(); !errors.Is(err, ErrInvalidFaults) {
		t.Errorf("too many rules: %v", err)
	}
	if _, err := LoadFaults(writeFile(t, "f.json", `{"faults":[{"action":"corrupt","rate":0.25}]}`)); err != nil {
		t.Errorf("json file: %v", err)
	}
	if _, err := LoadFaults("/nonexistent/faults.yaml"); !errors.Is(err, ErrInvalidFaults) {
		t.Errorf("missing file: %v", err)
	}
}

// stepClock is a clock the test moves by hand.
type stepClock struct{ ns atomic.Int64 }

func (c *stepClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *stepClock) add(d time.Duration) { c.ns.Add(int64(d)) }

func TestFaultRefuseForAPeriod(t *testing.T) {
	clk := &stepClock{}
	clk.ns.Store(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).UnixNano())
	fs := FaultSet{Faults: []Fault{{Center: CenterCardnet, Action: ActRefuse, StartMs: 1000, ForMs: 5000}}}
	s := startSim(t, func(o *Options) { o.Faults, o.Clock = fs, clk })
	dialCardnet(t, s).netMgmt(nmEcho) // before the window
	clk.add(2 * time.Second)
	dialCardnet(t, s).expectClosed() // inside it
	clk.add(5 * time.Second)
	dialCardnet(t, s).netMgmt(nmEcho) // after it
}

// Decisions depend on the message identity, not on arrival order.
func TestFaultDecisionsIgnoreInterleaving(t *testing.T) {
	fs := FaultSet{Faults: []Fault{
		{Center: CenterCardnet, Kind: "0200", Action: ActDelay, Rate: 0.3, DelayMs: 10, MaxDelayMs: 500},
		{Action: ActDuplicate, Rate: 0.2},
	}}
	clk := fixedClock{time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	a, b := newFaultEngine(9, clk, fs), newFaultEngine(9, clk, fs)
	const n = 500
	key := func(i int) []byte { return []byte(pad6(uint32(i))) }
	got := make(map[int]decision, n)
	for i := 0; i < n; i++ {
		got[i] = a.decide(CenterCardnet, []byte("0200"), key(i), []byte("1123"))
	}
	hits := 0
	for i := n - 1; i >= 0; i-- { // reverse order
		d := b.decide(CenterCardnet, []byte("0200"), key(i), []byte("1123"))
		if d != got[i] {
			t.Fatalf("message %d: %+v then %+v", i, got[i], d)
		}
		if d.action != "" {
			hits++
			if d.action == ActDelay && (d.delay < 10*time.Millisecond || d.delay > 500*time.Millisecond) {
				t.Fatalf("delay %v out of range", d.delay)
			}
		}
	}
	// 1 - 0.7*0.8 = 44% expected; a wide band keeps this free of flakiness.
	if hits < n/4 || hits > n*3/4 {
		t.Fatalf("%d hits of %d", hits, n)
	}
	// Sending the same message again draws afresh.
	c := newFaultEngine(9, clk, FaultSet{Faults: []Fault{{Action: ActDropRequest, Rate: 0.5}}})
	seen := map[Action]bool{}
	for i := 0; i < 64; i++ {
		seen[c.decide(CenterCafis, []byte("0100"), []byte("000001"), []byte(testDate)).action] = true
	}
	if !seen[ActDropRequest] || !seen[""] {
		t.Fatalf("a resent message always gets the same decision: %v", seen)
	}
}

func TestMaxLines(t *testing.T) {
	s := startSim(t, func(o *Options) { o.MaxLines = 1 })
	a := dialCardnet(t, s)
	a.netMgmt(nmEcho)
	dialCardnet(t, s).expectClosed()
	a.netMgmt(nmEcho)
}
