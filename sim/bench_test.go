package sim

import (
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/codec"
)

// Throughput benchmarks: a raw codec client on loopback, several lines per
// center, each keeping a window of requests in flight (batched writes, as a
// switch does). The figure is answered messages per second, client and
// simulator sharing the machine's cores.
//
//	go test -run '^$' -bench Throughput -benchtime 3s ./sim/

const (
	benchLines  = 16
	benchWindow = 64
)

func BenchmarkCardnetThroughput(b *testing.B) { benchCardnet(b, false) }

func BenchmarkCardnetThroughputJournal(b *testing.B) { benchCardnet(b, true) }

func BenchmarkCafisThroughput(b *testing.B) { benchCafis(b) }

// benchLoad runs b.N requests over benchLines connections; encode appends
// the n-th request of line ln to dst; check validates one answer payload.
func benchLoad(b *testing.B, addr string, fr codec.Framing, signon []byte,
	encode func(dst []byte, ln, n int) []byte, newCheck func() func(p []byte) bool) {
	b.Helper()
	conns := make([]net.Conn, benchLines)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
		if err := roundTrip(c, fr, signon); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var bad atomic.Int64
	var wg sync.WaitGroup
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func(ln int, c net.Conn) {
			defer wg.Done()
			check := newCheck()
			var out []byte
			var in []byte
			tmp := make([]byte, 64<<10)
			for {
				// Claim a window of requests.
				first := next.Add(benchWindow) - benchWindow
				if first >= int64(b.N) {
					return
				}
				k := int(min(int64(benchWindow), int64(b.N)-first))
				out = out[:0]
				for j := 0; j < k; j++ {
					hdr := len(out)
					out = fr.ReserveHeader(out)
					out = encode(out, ln, int(first)+j)
					_ = fr.PutHeader(out[hdr:hdr+fr.HeaderLen()], len(out)-hdr-fr.HeaderLen())
				}
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := c.Write(out); err != nil {
					bad.Add(int64(k))
					return
				}
				for got := 0; got < k; {
					p, total, err := fr.Split(in, 0)
					if err != nil {
						bad.Add(int64(k - got))
						return
					}
					if total > 0 {
						if !check(p) {
							bad.Add(1)
						}
						in = in[total:]
						got++
						continue
					}
					if len(in) == 0 {
						in = in[:0:0]
					}
					n, err := c.Read(tmp)
					in = append(in, tmp[:n]...)
					if err != nil && n == 0 {
						bad.Add(int64(k - got))
						return
					}
				}
			}
		}(i, c)
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	if n := bad.Load(); n > 0 {
		b.Fatalf("%d bad or missing answers", n)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	// What the center keeps per remembered transaction (dedup and matching state).
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/float64(b.N), "heapB/txn")
}

func roundTrip(c net.Conn, fr codec.Framing, payload []byte) error {
	b, err := fr.AppendFrame(nil, payload)
	if err != nil {
		return err
	}
	if _, err := c.Write(b); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var in []byte
	tmp := make([]byte, 4096)
	for {
		_, total, err := fr.Split(in, 0)
		if err != nil {
			return err
		}
		if total > 0 {
			return nil
		}
		n, err := c.Read(tmp)
		in = append(in, tmp[:n]...)
		if err != nil && n == 0 {
			return err
		}
	}
}

func benchSim(b *testing.B, journal bool) *Sim {
	o := Options{CardnetAddr: "127.0.0.1:0", CafisAddr: "127.0.0.1:0", Date: testDate}
	if journal {
		o.JournalPath = filepath.Join(b.TempDir(), "journal.jsonl")
	}
	s, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func benchCardnet(b *testing.B, journal bool) {
	s := benchSim(b, journal)
	spec := codec.CardnetSpec()
	var f codec.ISOFields
	f.SetString(7, "1123100000")
	f.SetUint(11, 1)
	f.SetString(70, nmSignon)
	signon, _ := spec.Append(nil, "0800", &f)
	terms := make([]string, benchLines)
	for i := range terms {
		terms[i] = fmt.Sprintf("T%07d", i)
	}
	days := []string{"1123", "1124", "1125", "1126", "1127", "1128", "1129", "1130"}
	encode := func(dst []byte, ln, n int) []byte {
		var f codec.ISOFields
		f.SetString(2, testPAN)
		f.SetString(3, "000000")
		f.SetUint(4, uint64(1000+n%50))
		f.SetString(7, "1123100000")
		f.SetUint(11, uint64(n%999999+1))
		f.SetString(15, days[(n/999999)%len(days)])
		f.SetString(32, "123456")
		f.SetString(37, "RRN000000001")
		f.SetString(41, terms[ln])
		f.SetString(49, "392")
		dst, err := spec.Append(dst, "0200", &f)
		if err != nil {
			panic(err)
		}
		return dst
	}
	check := func() func(p []byte) bool {
		var m codec.ISOMessage
		return func(p []byte) bool {
			return spec.Decode(&m, p) == nil && string(m.MTI()) == "0210" && string(m.Get(39)) == "00"
		}
	}
	benchLoad(b, s.CardnetAddr(), codec.FrameBin2, signon, encode, check)
}

func benchCafis(b *testing.B) {
	s := benchSim(b, false)
	spec := codec.CafisBuiltin()
	x, _ := resolveCafis(spec)
	h := cfHeader(codec.KindSignonReq, 1, testDate, false)
	signon, _ := spec.Append(nil, h, nil)
	expiry := spec.MustFieldIndex(codec.KindSalesReq, "expiry")
	cur := spec.MustFieldIndex(codec.KindSalesReq, "currency")
	term := spec.MustFieldIndex(codec.KindSalesReq, "terminal_id")
	dates := []string{"20261123", "20261124", "20261125", "20261126"}
	encode := func(dst []byte, ln, n int) []byte {
		// Serials are unique per date: the n-th request overall gets serial
		// n mod 999999 + 1 and a new date every 999999 requests.
		h := cfHeader(codec.KindSalesReq, uint32(n%999999+1), dates[(n/999999)%len(dates)], false)
		var f codec.CafisFields
		f.SetString(x.salesOp, codec.OpSale)
		f.SetString(x.salesPAN, testPAN)
		f.SetString(expiry, "2812")
		f.SetUint(x.salesAmount, uint64(1000+n%50))
		f.SetString(cur, "392")
		f.SetString(term, "TERM0001")
		dst, err := spec.Append(dst, h, &f)
		if err != nil {
			panic(err)
		}
		return dst
	}
	check := func() func(p []byte) bool {
		return func(p []byte) bool {
			return len(p) > codec.CafisHeaderLen && string(p[0:4]) == codec.KindSalesResp && string(p[38:41]) == codec.ResultApproved
		}
	}
	benchLoad(b, s.CafisAddr(), codec.FrameASCII4, signon, encode, check)
}
