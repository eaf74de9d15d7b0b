package journal

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The hand-written encoder must read back exactly as encoding/json would.
func TestAppendRecordMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		str := rapid.String()
		r := Record{
			Time:   time.Unix(rapid.Int64Range(0, 4e9).Draw(t, "sec"), rapid.Int64Range(0, 999999999).Draw(t, "ns")).UTC(),
			Type:   str.Draw(t, "type"),
			Center: str.Draw(t, "center"),
			Line:   rapid.Uint64().Draw(t, "line"),
			Dir:    str.Draw(t, "dir"),
			MTI:    str.Draw(t, "mti"),
			Key:    str.Draw(t, "key"),
			Date:   str.Draw(t, "date"),
			Fields: rapid.MapOfN(str, str, 0, 20).Draw(t, "fields"),
			Code:   str.Draw(t, "code"),
			Dedup:  str.Draw(t, "dedup"),
			Fault:  str.Draw(t, "fault"),
			Event:  str.Draw(t, "event"),
			Detail: str.Draw(t, "detail"),
		}
		if len(r.Fields) == 0 {
			r.Fields = nil
		}
		for i := rapid.IntRange(0, 3).Draw(t, "nch"); i > 0; i-- {
			c := Change{TxnKey: TxnKey{str.Draw(t, "c"), str.Draw(t, "d"), str.Draw(t, "k")},
				MTI: str.Draw(t, "m"), Status: Status(str.Draw(t, "s")), Category: Category(str.Draw(t, "cat")),
				Amount: rapid.Int64().Draw(t, "amt"), Code: str.Draw(t, "code"), Counted: rapid.Bool().Draw(t, "counted")}
			if rapid.Bool().Draw(t, "orig") {
				c.Original = &TxnKey{str.Draw(t, "oc"), str.Draw(t, "od"), str.Draw(t, "ok")}
			}
			r.Changes = append(r.Changes, c)
		}
		if rapid.Bool().Draw(t, "tot") {
			r.Totals = &Totals{DebitsCount: rapid.Int64().Draw(t, "dc"), CreditReversalsAmount: rapid.Int64().Draw(t, "cra")}
		}
		var fromOurs, fromStd Record
		ours := appendRecord(nil, &r)
		if err := json.Unmarshal(ours, &fromOurs); err != nil {
			t.Fatalf("invalid JSON %s: %v", ours, err)
		}
		std, _ := json.Marshal(&r)
		if err := json.Unmarshal(std, &fromStd); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromOurs, fromStd) {
			t.Fatalf("differs:\nours %s\nstd  %s", ours, std)
		}
	})
}
