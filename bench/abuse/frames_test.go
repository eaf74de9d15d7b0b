package main

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/fxswitch/fxswitch/ipc"
)

// The bad bytes must be refused by fxd's own splitter as soon as the
// length prefix is in, and the half frame must look unfinished, not bad.
func TestBadPrefixesAreMalformed(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := map[string][]byte{"oversize": oversizePrefix(), "undersize": undersizePrefix()}
	for i := 0; i < 100; i++ {
		cases["garbage"] = garbage(r, 1+r.IntN(600))
		for name, b := range cases {
			_, _, err := ipc.Split(b)
			if !errors.Is(err, ipc.ErrMalformed) {
				t.Fatalf("%s: Split error %v, want malformed", name, err)
			}
		}
	}
	if f, n, err := ipc.Split(halfFrame()); f != nil || n != 0 || err != nil {
		t.Fatalf("half frame: Split = %v, %d, %v; want incomplete", f != nil, n, err)
	}
}

func TestSessionAndRequests(t *testing.T) {
	var f ipc.Frame
	if err := f.Parse(openSession("cardnet", "tok", 7)); err != nil || f.Kind() != ipc.KindOpenSession ||
		string(f.Field(ipc.TagCenter)) != "cardnet" || string(f.Field(ipc.TagAppToken)) != "tok" || f.Correlation() != 7 {
		t.Fatalf("OpenSession: %v", err)
	}

	// Two invalid requests then a malformed one, back to back as flooded.
	out := invalidRequest(nil, 5, 1)
	out = invalidRequest(out, 5, 2)
	out = malformedRequest(out, 5, 3)
	for i := 1; i <= 2; i++ {
		frame, n, err := ipc.Split(out)
		if err != nil || n == 0 {
			t.Fatalf("invalid request %d: Split %v", i, err)
		}
		if err := f.Parse(frame); err != nil || f.Kind() != ipc.KindRequest || f.Session() != 5 {
			t.Fatalf("invalid request %d: Parse %v", i, err)
		}
		var v ipc.RequestView
		err = v.Parse(&f)
		var ie *ipc.Error
		if !errors.As(err, &ie) || ie.Code != ipc.CodeInvalidField {
			t.Fatalf("invalid request %d: RequestView.Parse %v, want code 15", i, err)
		}
		out = out[n:]
	}
	frame, n, err := ipc.Split(out)
	if err != nil || n != len(out) {
		t.Fatalf("malformed request: Split %v, %d of %d bytes", err, n, len(out))
	}
	err = f.Parse(frame)
	var ie *ipc.Error
	if !errors.As(err, &ie) || ie.Code != ipc.CodeMalformed {
		t.Fatalf("malformed request: Parse %v, want code 1", err)
	}
}
