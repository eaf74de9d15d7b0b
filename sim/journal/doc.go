// Package journal writes and reads the simulator's JSONL journal: one JSON
// object per line for every message a simulated center received or sent,
// every line/center event, and the end-of-day totals written at cutover and
// at close.
//
//	{"t":"2026-11-23T10:00:00.123Z","type":"msg","center":"cardnet","line":1,"dir":"in",
//	 "mti":"0200","key":"000123","date":"20261123",
//	 "fields":{"2":"411111******1111","3":"000000","4":"000000001000",...},
//	 "dedup":"new","changes":[{"center":"cardnet","date":"20261123","key":"000123",
//	 "mti":"0200","status":"approved","category":"debit","amount":1000,"code":"00","counted":true}]}
//	{"t":...,"type":"msg","center":"cardnet","line":1,"dir":"out","mti":"0210","key":"000123","code":"00",...}
//	{"t":...,"type":"event","center":"cardnet","line":1,"event":"signon"}
//	{"t":...,"type":"totals","center":"cardnet","date":"20261123","detail":"cutover",
//	 "totals":{"credits_count":0,...,"debits_count":12,"debits_amount":120000,...}}
//
// Invariants:
//   - Changes are the only input of the final view: replaying the changes of
//     every record in file order rebuilds each transaction's state, and the sum
//     of the changes marked counted equals the center's totals (View.Totals).
//     A repeat (dedup "repeat") carries no change, so it is never counted twice.
//   - A totals record is a snapshot; a later one for the same center and date
//     supersedes it (View.EOD keeps the last).
//   - PANs are masked (codec.MaskPAN) before they reach a record.
//   - The writer is bounded: Write blocks while its queue is full; nothing is dropped.
package journal
