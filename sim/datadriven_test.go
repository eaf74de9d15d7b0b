package sim

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/fxswitch/fxswitch/codec"
)

// TestScenarios replays the scenario files in testdata/: each "cardnet" or
// "cafis" directive sends one message per input line on a line of that
// center and prints the answers; "totals" prints a center's totals;
// "cutover" runs a center cutover (CARDNET: answered by the "cardnet" line).
//
//	cardnet [line=NAME]           MTI key=value ...   (stan amount proc pan de15 orig 70 recon=own|off)
//	cafis [line=NAME]             KIND key=value ...  (serial date op amount pan orig origdate retrans)
//	totals center=C date=YYYYMMDD
//	date center=C
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		s := startSim(t, nil)
		sc := &scenario{t: t, s: s, cn: map[string]*cnClient{}, cf: map[string]*cfClient{}}
		datadriven.RunTest(t, path, sc.run)
	})
}

type scenario struct {
	t  *testing.T
	s  *Sim
	cn map[string]*cnClient
	cf map[string]*cfClient
}

func (sc *scenario) run(t *testing.T, d *datadriven.TestData) string {
	line := "1"
	d.MaybeScanArgs(t, "line", &line)
	switch d.Cmd {
	case "cardnet":
		c := sc.cn[line]
		if c == nil {
			c = dialCardnet(sc.t, sc.s)
			sc.cn[line] = c
		}
		var out strings.Builder
		for _, l := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			out.WriteString(sc.cardnet(t, c, l))
			out.WriteByte('\n')
		}
		return out.String()
	case "cafis":
		c := sc.cf[line]
		if c == nil {
			c = dialCafis(sc.t, sc.s)
			sc.cf[line] = c
		}
		var out strings.Builder
		for _, l := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			out.WriteString(sc.cafis(t, c, l))
			out.WriteByte('\n')
		}
		return out.String()
	case "totals":
		var center, date string
		d.ScanArgs(t, "center", &center)
		d.ScanArgs(t, "date", &date)
		tot, err := sc.s.Totals(center, date)
		if err != nil {
			return err.Error() + "\n"
		}
		return fmt.Sprintf("debits %d/%d credits %d/%d debit_reversals %d/%d credit_reversals %d/%d\n",
			tot.DebitsCount, tot.DebitsAmount, tot.CreditsCount, tot.CreditsAmount,
			tot.DebitReversalsCount, tot.DebitReversalsAmount, tot.CreditReversalsCount, tot.CreditReversalsAmount)
	case "date":
		var center string
		d.ScanArgs(t, "center", &center)
		dt, err := sc.s.BusinessDate(center)
		if err != nil {
			return err.Error() + "\n"
		}
		return dt + "\n"
	case "cutover":
		var center string
		d.ScanArgs(t, "center", &center)
		if center == CenterCafis {
			dt, err := sc.s.TriggerCutoverCenter(t.Context(), center)
			return fmt.Sprintf("%s %v\n", dt, err)
		}
		done := make(chan string, 1)
		go func() {
			dt, err := sc.s.TriggerCutover(t.Context())
			done <- fmt.Sprintf("%s %v", dt, err)
		}()
		got := answerCutover(t, sc.cn[line])
		return fmt.Sprintf("daemon saw 0800 201 DE15=%s; center: %s\n", got, <-done)
	}
	t.Fatalf("unknown command %q", d.Cmd)
	return ""
}

func kv(t *testing.T, fields []string) map[string]string {
	m := map[string]string{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			v = "1"
		}
		m[k] = v
	}
	return m
}

func atou(t *testing.T, s string) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("number %q", s)
	}
	return v
}

func (sc *scenario) cardnet(t *testing.T, c *cnClient, l string) string {
	fields := strings.Fields(l)
	mti, a := fields[0], kv(t, fields[1:])
	var f *codec.ISOFields
	stan := uint32(atou(t, a["stan"]))
	switch {
	case a["70"] != "":
		f = &codec.ISOFields{}
		f.SetString(7, "1123100000")
		f.SetUint(11, uint64(stan))
		if a["de15"] != "" {
			f.SetString(15, a["de15"])
		}
		f.SetString(70, a["70"])
	case a["recon"] != "":
		own, _ := sc.s.Totals(CenterCardnet, nextYear(a["de15"]))
		if a["recon"] == "off" {
			own.DebitsCount++
		}
		f = reconFields(stan, a["de15"], own)
	default:
		proc, pan, de15 := "000000", testPAN, "1123"
		if v, ok := a["proc"]; ok {
			proc = v
		}
		if v, ok := a["pan"]; ok {
			pan = v
		}
		if v, ok := a["de15"]; ok {
			de15 = v
		}
		amount := atou(t, a["amount"])
		if o, ok := a["orig"]; ok {
			f = reversalOf(stan, uint32(atou(t, o)), "0200", amount, de15)
		} else {
			f = fin(stan, proc, pan, amount, de15)
		}
	}
	m := c.rt(mti, f)
	out := fmt.Sprintf("%s %s 39=%s", mti, m.MTI(), m.Get(39))
	for _, de := range []int{38, 15, 66} {
		if v := m.Get(de); v != nil && (de != 15 || mti == "0800") {
			out += fmt.Sprintf(" %d=%s", de, v)
		}
	}
	return out
}

// nextYear expands a scenario's MMDD to the 2026 date (scenarios run in November 2026).
func nextYear(mmdd string) string { return "2026" + mmdd }

func (sc *scenario) cafis(t *testing.T, c *cfClient, l string) string {
	fields := strings.Fields(l)
	kind, a := fields[0], kv(t, fields[1:])
	date := testDate
	if v, ok := a["date"]; ok {
		date = v
	}
	serial := uint32(atou(t, a["serial"]))
	_, retrans := a["retrans"]
	var r *codec.CafisRecord
	switch kind {
	case codec.KindSalesReq:
		pan := testPAN
		if v, ok := a["pan"]; ok {
			pan = v
		}
		r = c.sales(serial, date, a["op"], pan, atou(t, a["amount"]), retrans)
	case codec.KindCancelReq, codec.KindCancelCommand, codec.KindCancelConfirm:
		origDate := testDate
		if v, ok := a["origdate"]; ok {
			origDate = v
		}
		amount := uint64(0)
		if v, ok := a["amount"]; ok {
			amount = atou(t, v)
		}
		r = c.cancel(kind, serial, date, uint32(atou(t, a["orig"])), origDate, amount, retrans)
	default:
		r = c.rt(cfHeader(kind, serial, date, retrans), nil)
	}
	out := fmt.Sprintf("%s %s %s", kind, r.Kind(), r.Result())
	switch string(r.Kind()) {
	case codec.KindSalesResp:
		out += " auth=" + strings.TrimSpace(string(r.Field(c.x.salesRespAuth)))
	case codec.KindCancelConfirmResp:
		amt, _ := r.FieldUint(c.x.confRespAmount)
		out += fmt.Sprintf(" status=%s amount=%d", r.Field(c.x.confRespStatus), amt)
	case codec.KindCancelResp, codec.KindCancelCommandResp:
		idx := c.x.cancelRespAmount
		if string(r.Kind()) == codec.KindCancelCommandResp {
			idx = c.x.cmdRespAmount
		}
		amt, _ := r.FieldUint(idx)
		out += fmt.Sprintf(" amount=%d", amt)
	}
	return out
}
