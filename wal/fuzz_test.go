package wal

import (
	"testing"
)

// FuzzDecodeRecords feeds arbitrary bodies (with a valid checksum, so the
// decoders proper are reached) to every record decoder: each must return a
// value or an error naming the key, never panic.
func FuzzDecodeRecords(f *testing.F) {
	s, err := newSealer(make([]byte, 32))
	if err != nil {
		f.Fatal(err)
	}
	ns := newNonceSource()
	r := sampleRequest("cardnet", 1)
	r.ID = 1
	f.Add(encodeRequest(nil, s, ns, requestKey(1), r)[1:])
	res := &Resolution{RequestID: 1, Status: StatusApproved, Msg: []byte("x"),
		Effects: []Effect{{Date: "20261123", Category: CategoryDebit, Amount: 5}}}
	f.Add(encodeResolution(nil, s, ns, resolvedKey(1), res)[1:])
	f.Add(encodeCancel(nil, s, ns, cancelKey(1), &CancelAttempt{RequestID: 1, Msg: []byte("c")})[1:])
	f.Add(encodeTotals(&Totals{DebitsCount: 1, Reconciliation: ReconInBalance})[1:])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		v := endValue(append([]byte{recordVersion}, body...))
		k := []byte("k")
		_, _ = decodeRequest(s, requestKey(1), v)
		_, _ = decodeRequestHead(k, v)
		_, _ = decodeResolution(s, resolvedKey(1), v)
		_, _ = decodeCancel(s, cancelKey(1), v)
		_, _, _ = decodeAdvice(k, v)
		_, _ = decodeTotals(k, v)
		_, _, _ = decodeEffect(k, v)
		_, _ = decodeRange(k, v)
		// The totals fold reads resolutions without opening them: where the
		// full decoder accepts a record, the fold must agree with it.
		for _, rv := range [][]byte{v, endValue(append([]byte{resolutionVersion}, body...))} {
			var fold Totals
			ver, matched, ferr := foldResolution(k, rv, "20261123", &fold)
			full, err := decodeResolution(s, resolvedKey(1), rv)
			if err != nil {
				continue
			}
			if ferr != nil {
				t.Fatalf("fold refuses a record the decoder accepts: %v", ferr)
			}
			var want Totals
			hit := false
			for _, e := range full.Effects {
				if e.Date == "20261123" {
					hit = true
					if ver == resolutionVersion {
						want.add(e.Category, e.Amount)
					}
				}
			}
			if hit != matched || want != fold {
				t.Fatalf("fold %+v matched %v, decoder gives %+v", fold, matched, full.Effects)
			}
		}
		_, _ = openValue(k, body)
		_, _ = s.open(k, body)
	})
}
