package wal

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The crash sweeps run a scripted workload from many goroutines against a
// crashable in-memory filesystem, take crash images (CrashClone) while it
// runs, and afterwards reopen every image and check the invariants against
// what had been acknowledged when the image was taken.

var crashCenters = []string{"cafis", "cardnet"}

// crashModel records what was issued (everything) and what was acknowledged.
type crashModel struct {
	mu       sync.Mutex
	issued   map[uint64]*Request      // every request handed to AppendRequest
	acked    ackSet                   // acknowledged so far
	resIssue map[uint64][]*Resolution // every resolution handed to AppendResolution
	dates    map[string][]string      // business dates set per center, in order
}

type ackSet struct {
	reqs     map[uint64]bool
	res      map[uint64]Status // the first resolution, as reported to the caller
	cancels  map[uint64]uint32 // highest acknowledged attempt
	advices  map[uint64]uint32 // acknowledged advice attempts
	dateIdx  map[string]int    // index into dates of the last acknowledged date
	maxReqID uint64
}

func newCrashModel() *crashModel {
	return &crashModel{
		issued: map[uint64]*Request{}, resIssue: map[uint64][]*Resolution{}, dates: map[string][]string{},
		acked: ackSet{reqs: map[uint64]bool{}, res: map[uint64]Status{}, cancels: map[uint64]uint32{},
			advices: map[uint64]uint32{}, dateIdx: map[string]int{}},
	}
}

func (m *crashModel) snapshot() ackSet {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := ackSet{reqs: map[uint64]bool{}, res: map[uint64]Status{}, cancels: map[uint64]uint32{},
		advices: map[uint64]uint32{}, dateIdx: map[string]int{}, maxReqID: m.acked.maxReqID}
	for k, v := range m.acked.reqs {
		s.reqs[k] = v
	}
	for k, v := range m.acked.res {
		s.res[k] = v
	}
	for k, v := range m.acked.cancels {
		s.cancels[k] = v
	}
	for k, v := range m.acked.advices {
		s.advices[k] = v
	}
	for k, v := range m.acked.dateIdx {
		s.dateIdx[k] = v
	}
	return s
}

type crashImage struct {
	fs    *vfs.MemFS
	acked ackSet
	what  string
}

type crashWorkload struct {
	t        *testing.T
	w        *WAL
	m        *crashModel
	writers  int
	iters    int
	onAck    func(seed uint64) // called by a worker after recording an ack
	fatalErr chan error
}

func (cw *crashWorkload) fail(err error) {
	select {
	case cw.fatalErr <- err:
	default:
	}
}

func waitErr(fn func(done func(error)) error) error {
	ch := make(chan error, 1)
	if err := fn(func(err error) { ch <- err }); err != nil {
		return err
	}
	return <-ch
}

// run drives the workload to completion.
func (cw *crashWorkload) run(seed uint64) {
	var wg sync.WaitGroup
	for g := 0; g < cw.writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for i := 0; i < cw.iters; i++ {
				if err := cw.step(rng, g, i); err != nil {
					cw.fail(err)
					return
				}
			}
		}(g)
	}
	// Business-date changes (cutover) interleave with the traffic.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 4; i++ {
			for _, c := range crashCenters {
				date := fmt.Sprintf("202611%02d", 20+i)
				cw.m.mu.Lock()
				cw.m.dates[c] = append(cw.m.dates[c], date)
				idx := len(cw.m.dates[c]) - 1
				cw.m.mu.Unlock()
				if err := cw.w.SetBusinessDate(c, date); err != nil {
					cw.fail(err)
					return
				}
				cw.m.mu.Lock()
				cw.m.acked.dateIdx[c] = idx
				cw.m.mu.Unlock()
			}
		}
	}()
	wg.Wait()
}

func (cw *crashWorkload) step(rng *rand.Rand, g, i int) error {
	m := cw.m
	center := crashCenters[rng.IntN(2)]
	pan := []byte(fmt.Sprintf("45%014d", rng.Int64N(1e14)))
	cat := []Category{CategoryNone, CategoryDebit, CategoryCredit}[rng.IntN(3)]
	r := &Request{
		Center: center, Key: uint32(g*1000 + i), Date: fmt.Sprintf("202611%02d", 20+rng.IntN(3)),
		Op: uint8(cat), Category: cat, Amount: 1 + rng.Int64N(99999), AppID: fmt.Sprintf("app%d", g),
		Session: uint64(g), AppRef: fmt.Sprintf("g%d-%d", g, i), Advice: rng.IntN(5) == 0,
		PAN: pan, Msg: append([]byte("MSG"), pan...), TimeUnixNano: int64(i),
	}
	ch := make(chan error, 1)
	if err := appendRetry(func() error { return cw.w.AppendRequest(r, func(err error) { ch <- err }) }); err != nil {
		return err
	}
	cp := *r
	m.mu.Lock()
	m.issued[r.ID] = &cp
	m.mu.Unlock()
	if err := <-ch; err != nil {
		return err
	}
	m.mu.Lock()
	m.acked.reqs[r.ID] = true
	m.acked.maxReqID = max(m.acked.maxReqID, r.ID)
	m.mu.Unlock()
	cw.onAck(rng.Uint64())

	if rng.IntN(4) == 0 {
		for a := uint32(1); a <= uint32(1+rng.IntN(2)); a++ {
			ca := &CancelAttempt{RequestID: r.ID, Kind: 4, Attempt: a, Key: r.Key + 1, Msg: append([]byte("CXL"), pan...)}
			if err := waitErr(func(d func(error)) error { return cw.w.AppendCancelAttempt(ca, d) }); err != nil {
				return err
			}
			m.mu.Lock()
			m.acked.cancels[r.ID] = a
			m.mu.Unlock()
			cw.onAck(rng.Uint64())
		}
	}
	if r.Advice && rng.IntN(2) == 0 {
		if err := waitErr(func(d func(error)) error { return cw.w.AppendAdviceAttempt(r.ID, d) }); err != nil {
			return err
		}
		m.mu.Lock()
		m.acked.advices[r.ID]++
		m.mu.Unlock()
		cw.onAck(rng.Uint64())
	}
	if rng.IntN(10) < 7 {
		n := 1 + rng.IntN(2) // sometimes a duplicate
		for k := 0; k < n; k++ {
			status := Status(rng.IntN(4))
			res := &Resolution{RequestID: r.ID, Status: status, RespCode: fmt.Sprintf("%02d", status), Msg: []byte("RSP")}
			if status == StatusApproved && cat != CategoryNone {
				res.Effects = append(res.Effects, Effect{Date: r.Date, Category: cat, Amount: r.Amount})
				if rng.IntN(3) == 0 { // approved late and reversed
					rev := CategoryDebitReversal
					if cat == CategoryCredit {
						rev = CategoryCreditReversal
					}
					res.Effects = append(res.Effects, Effect{Date: "20261123", Category: rev, Amount: r.Amount})
				}
			}
			m.mu.Lock()
			m.resIssue[r.ID] = append(m.resIssue[r.ID], res)
			m.mu.Unlock()
			type out struct {
				first *Resolution
				dup   bool
				err   error
			}
			rc := make(chan out, 1)
			if err := appendRetry(func() error {
				return cw.w.AppendResolution(res, func(f *Resolution, dup bool, err error) { rc <- out{f, dup, err} })
			}); err != nil {
				return err
			}
			o := <-rc
			if o.err != nil {
				return o.err
			}
			if (k == 0) == o.dup {
				return fmt.Errorf("resolution %d of request %d: dup=%v", k, r.ID, o.dup)
			}
			st := status
			if o.dup {
				st = o.first.Status
			}
			m.mu.Lock()
			if prev, ok := m.acked.res[r.ID]; ok && prev != st {
				m.mu.Unlock()
				return fmt.Errorf("request %d: first resolution %v, duplicate reports %v", r.ID, prev, st)
			}
			m.acked.res[r.ID] = st
			m.mu.Unlock()
			cw.onAck(rng.Uint64())
		}
	}
	return nil
}

// verifyImage reopens one crash image and checks the invariants.
func verifyImage(t *testing.T, img crashImage, m *crashModel) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s", img.what, fmt.Sprintf(format, args...))
	}
	w, err := Open("data", testOpts(img.fs))
	if err != nil {
		fail("reopen: %v", err)
	}
	defer w.Close()
	a := img.acked

	// Ground truth from the store itself: requests and resolutions present.
	present := map[uint64]*Request{}
	resolved := map[uint64]*Resolution{}
	scanIDs := func(prefix byte, fn func(id uint64)) {
		p := []byte{prefix, '/'}
		it, err := w.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			fail("iter: %v", err)
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			id, _ := trailingID(it.Key())
			fn(id)
		}
	}
	var ids []uint64
	scanIDs(pRequest, func(id uint64) { ids = append(ids, id) })
	maxPresent := uint64(0)
	for _, id := range ids {
		r, res, err := w.Lookup(id)
		if err != nil {
			fail("lookup %d: %v", id, err)
		}
		want := m.issued[id]
		if want == nil {
			fail("request %d present but never issued", id)
		}
		if r.Center != want.Center || r.Key != want.Key || r.Amount != want.Amount || r.AppRef != want.AppRef ||
			r.Advice != want.Advice || !bytes.Equal(r.PAN, want.PAN) || !bytes.Equal(r.Msg, want.Msg) {
			fail("request %d = %+v, issued %+v", id, r, want)
		}
		present[id] = r
		if res != nil {
			resolved[id] = res
		}
		maxPresent = max(maxPresent, id)
	}
	scanIDs(pResolved, func(id uint64) {
		if present[id] == nil {
			fail("resolution %d without its request", id)
		}
	})
	// Every acknowledged append survived.
	for id := range a.reqs {
		if present[id] == nil {
			fail("acknowledged request %d lost", id)
		}
	}
	for id, st := range a.res {
		res := resolved[id]
		if res == nil {
			fail("acknowledged resolution of %d lost", id)
		}
		if res.Status != st {
			fail("request %d resolved %v, acknowledged %v", id, res.Status, st)
		}
	}
	// Present resolutions are ones that were issued.
	for id, res := range resolved {
		ok := false
		for _, cand := range m.resIssue[id] {
			if cand.Status == res.Status && cand.RespCode == res.RespCode && len(cand.Effects) == len(res.Effects) {
				ok = true
			}
		}
		if !ok {
			fail("resolution of %d = %+v was never issued", id, res)
		}
	}
	// In-flight index == requests without resolution; advice queue likewise.
	for _, c := range crashCenters {
		inf, err := w.InFlight(c)
		if err != nil {
			fail("in flight %s: %v", c, err)
		}
		var got, want, gotAdv, wantAdv []uint64
		for _, e := range inf {
			got = append(got, e.Req.ID)
			if n := a.cancels[e.Req.ID]; n > 0 && (e.Cancel == nil || e.Cancel.Attempt < n) {
				fail("request %d: cancel attempt %d acknowledged, entry has %+v", e.Req.ID, n, e.Cancel)
			}
			if e.Req.Advice && e.AdviceAttempts < a.advices[e.Req.ID] {
				fail("advice %d: %d attempts acknowledged, entry has %d", e.Req.ID, a.advices[e.Req.ID], e.AdviceAttempts)
			}
		}
		for id, r := range present {
			if r.Center == c && resolved[id] == nil {
				want = append(want, id)
				if r.Advice {
					wantAdv = append(wantAdv, id)
				}
			}
		}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		sort.Slice(wantAdv, func(i, j int) bool { return wantAdv[i] < wantAdv[j] })
		if fmt.Sprint(got) != fmt.Sprint(want) {
			fail("%s in flight %v, unresolved requests %v", c, got, want)
		}
		advs, err := w.Advices(c)
		if err != nil {
			fail("advices: %v", err)
		}
		for _, e := range advs {
			gotAdv = append(gotAdv, e.Req.ID)
		}
		if fmt.Sprint(gotAdv) != fmt.Sprint(wantAdv) {
			fail("%s advices %v, want %v", c, gotAdv, wantAdv)
		}
		// Totals: running == VerifyTotals' fold == fold of the acknowledged resolutions.
		fold := map[string]*Totals{}
		for id, res := range resolved {
			if present[id].Center != c {
				continue
			}
			for _, e := range res.Effects {
				if fold[e.Date] == nil {
					fold[e.Date] = &Totals{}
				}
				fold[e.Date].add(e.Category, e.Amount)
			}
		}
		dates, err := w.TotalsDates(c)
		if err != nil {
			fail("dates: %v", err)
		}
		for _, d := range dates {
			running, _, err := w.VerifyTotals(c, d)
			if err != nil {
				fail("verify %s %s: %v", c, d, err)
			}
			want := Totals{}
			if fold[d] != nil {
				want = *fold[d]
			}
			if !running.sameCounts(want) {
				fail("%s %s totals %+v, resolutions fold to %+v", c, d, running, want)
			}
			delete(fold, d)
		}
		for d, f := range fold {
			if *f != (Totals{}) {
				fail("%s %s: resolutions with effects but no totals", c, d)
			}
		}
		// Business date: the last acknowledged or a later one.
		bd, err := w.BusinessDate(c)
		if err != nil {
			fail("business date: %v", err)
		}
		if idx, ok := a.dateIdx[c]; ok {
			okDate := false
			for _, d := range m.dates[c][idx:] {
				okDate = okDate || d == bd
			}
			if !okDate {
				fail("%s business date %q, acknowledged %q", c, bd, m.dates[c][idx])
			}
		}
	}
	// The reopened WAL takes new requests with fresh IDs.
	r := sampleRequest("cafis", 1)
	if err := waitErr(func(d func(error)) error { return w.AppendRequest(r, d) }); err != nil {
		fail("append after reopen: %v", err)
	}
	if r.ID <= maxPresent || r.ID <= a.maxReqID {
		fail("new ID %d not above %d / %d", r.ID, maxPresent, a.maxReqID)
	}
}

// TestCrashAtEverySync: a small workload, a crash image after every sync.
func TestCrashAtEverySync(t *testing.T) {
	fs := vfs.NewCrashableMem()
	m := newCrashModel()
	var imgs []crashImage
	var imgMu sync.Mutex
	opts := testOpts(fs)
	opts.OnSync = func(records int, _ time.Duration) {
		// Runs before this batch's callbacks: the acknowledged set is what
		// a caller could have been told when the machine died here.
		acked := m.snapshot()
		clone := fs.CrashClone(vfs.CrashCloneCfg{})
		imgMu.Lock()
		imgs = append(imgs, crashImage{fs: clone, acked: acked, what: fmt.Sprintf("sync %d", len(imgs)+1)})
		imgMu.Unlock()
	}
	w, err := Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	// And an image at every acknowledgement: nothing acknowledged may be
	// missing from what was synced at that moment.
	onAck := func(uint64) {
		acked := m.snapshot()
		clone := fs.CrashClone(vfs.CrashCloneCfg{})
		imgMu.Lock()
		imgs = append(imgs, crashImage{fs: clone, acked: acked, what: fmt.Sprintf("ack after image %d", len(imgs))})
		imgMu.Unlock()
	}
	cw := &crashWorkload{t: t, w: w, m: m, writers: 4, iters: 6, onAck: onAck, fatalErr: make(chan error, 1)}
	cw.run(1)
	w.Close()
	select {
	case err := <-cw.fatalErr:
		t.Fatal(err)
	default:
	}
	if len(imgs) < 20 {
		t.Fatalf("only %d sync points", len(imgs))
	}
	for _, img := range imgs {
		verifyImage(t, img, m)
	}
	t.Logf("%d crash images verified", len(imgs))
}

// TestCrashAtRandomPoints: a larger workload from many goroutines, crash
// images at random points that include a random share of unsynced data.
func TestCrashAtRandomPoints(t *testing.T) {
	fs := vfs.NewCrashableMem()
	m := newCrashModel()
	opts := testOpts(fs)
	opts.MemTableBytes = 1 << 20 // memtable flushes (and the in-flight index across them) happen mid-run
	w, err := Open("data", opts)
	if err != nil {
		t.Fatal(err)
	}
	var imgs []crashImage
	var imgMu sync.Mutex
	const wantImages = 30
	onAck := func(r uint64) {
		if r%80 != 0 { // about one ack in 80 takes an image
			return
		}
		imgMu.Lock()
		defer imgMu.Unlock()
		if len(imgs) >= wantImages {
			return
		}
		acked := m.snapshot()
		rng := rand.New(rand.NewPCG(r, uint64(len(imgs))))
		pct := []int{0, 10, 50, 90, 100}[len(imgs)%5]
		clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng})
		imgs = append(imgs, crashImage{fs: clone, acked: acked, what: fmt.Sprintf("image %d (%d%% unsynced)", len(imgs)+1, pct)})
	}
	cw := &crashWorkload{t: t, w: w, m: m, writers: 32, iters: 50, onAck: onAck, fatalErr: make(chan error, 1)}
	cw.run(2)
	// And one at the very end, before Close, with half the unsynced data.
	imgs = append(imgs, crashImage{fs: fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(3, 4))}),
		acked: m.snapshot(), what: "final"})
	w.Close()
	select {
	case err := <-cw.fatalErr:
		t.Fatal(err)
	default:
	}
	if len(imgs) < 10 {
		t.Fatalf("only %d images", len(imgs))
	}
	for _, img := range imgs {
		verifyImage(t, img, m)
	}
	t.Logf("%d crash images verified, %d requests issued", len(imgs), len(m.issued))
}

// TestCrashAfterFirstOpen: a data directory created by Open (with its
// parents) survives a crash together with what was acknowledged in it.
func TestCrashAfterFirstOpen(t *testing.T) {
	fs := vfs.NewCrashableMem()
	dir := fs.PathJoin("srv", "fxd", "data", "wal")
	w, err := Open(dir, testOpts(fs))
	if err != nil {
		t.Fatal(err)
	}
	r := sampleRequest("cardnet", 1)
	if err := waitErr(func(done func(error)) error { return w.AppendRequest(r, done) }); err != nil {
		t.Fatal(err)
	}
	img := fs.CrashClone(vfs.CrashCloneCfg{})
	w.Close()
	w2, err := Open(dir, testOpts(img))
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	got, _, err := w2.Lookup(r.ID)
	if err != nil {
		t.Fatalf("acknowledged request lost in the crash: %v", err)
	}
	if got.AppRef != r.AppRef {
		t.Fatalf("got %q, want %q", got.AppRef, r.AppRef)
	}
}
