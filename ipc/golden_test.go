package ipc

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// TestWireGolden pins the bytes of DESIGN §5 by hand, so that a mistake
// shared by Builder and Parse cannot hide behind their round trip.
func TestWireGolden(t *testing.T) {
	want := strings.Join([]string{
		"0000002b",                 // length of the rest: 20 (header) + 8 + 7 + 8 (fields) = 43
		"01",                       // version
		"05",                       // kind Request
		"0000",                     // flags
		"0000000000000007",         // session 7
		"0000000000000102",         // correlation 258
		"0002", "0004", "73616c65", // tag 2 op "sale"  (8 bytes)
		"0003", "0003", "523031", //   tag 3 ref "R01"  (7 bytes)
		"0006", "0004", "31353030", // tag 6 amount "1500" (8 bytes)
	}, "")
	b := Begin(nil, KindRequest, 7, 258)
	b.Str(TagOp, "sale")
	b.Str(TagRef, "R01")
	b.Uint(TagAmount, 1500)
	got, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != want {
		t.Fatalf("wire bytes\n got %x\nwant %s", got, want)
	}
	raw, _ := hex.DecodeString(want)
	var f Frame
	if err := f.Parse(raw); err != nil {
		t.Fatal(err)
	}
	if f.Session() != 7 || f.Correlation() != 258 || !bytes.Equal(f.Field(TagAmount), []byte("1500")) {
		t.Fatal("parse of the golden bytes")
	}

	// Error frame: code 15 as ASCII decimal in tag 30, text in tag 31.
	e := AppendError(nil, 7, 258, CodeInvalidField, "x")
	if got, want := hex.EncodeToString(e[HeaderSize:]), "001e0002"+"3135"+"001f0001"+"78"; got != want {
		t.Fatalf("error fields %s, want %s", got, want)
	}
	if e[5] != 7 {
		t.Fatalf("Error kind byte %d", e[5])
	}
}
