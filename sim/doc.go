// Package sim simulates the two card-network centers fxd talks to, CARDNET
// (ISO 8583 model) and CAFIS (fixed-length record model), as documented in
// DESIGN §2 and docs/ARCHITECTURE.md. The wire bytes are package codec's; this
// package decides what the centers answer, keeps their per-date totals,
// injects faults on demand and journals everything it saw, so that a test can
// check the switch's invariants from the center's side.
//
// # Shape
//
//	fxd lines ──TCP──► gnet event loops (per center, several lines each)
//	                    │  OnTraffic: split frames → decode in place → fault decision
//	                    │  → center state (one mutex per center) → answer encoded into
//	                    │  the line's batch → fault on the answer → one Write per batch
//	                    ├─► journal queue (bounded) ──► writer goroutine ──► JSONL file
//	HTTP control ───────┤   POST /cutover  GET|PUT /faults  GET /totals  GET /stats  GET /healthz
//	cutover timer ──────┘   (CARDNET: 0800 DE70 201 on one signed-on line)
//
// # CARDNET model
//
//	request          answer  rule
//	0800 DE70 001    0810 00 the line is signed on (開局)
//	0800 DE70 002    0810 00 the line is signed off (閉局)
//	0800 DE70 301    0810 00 echo, also before signon
//	0800 DE70 201    0810 00 cutover asked by the daemon: adopt DE15 (MMDD) as the
//	                         business date, journal the closed date's totals; DE15 echoed
//	0100 / 0200      0110 / 0210  rules below; 0100 never settles
//	0220 / 0221      0230 00 advice: recorded as approved whatever the rules
//	0400 / 0401      0410    reversal, original found by DE90 (STAN + DE7, and the
//	0420 / 0421      0430    acquirer id when both sides carry one):
//	                         00 the original was approved and is now reversed;
//	                         25 no approved original (unknown or declined)
//	0500             0510 00 reconciliation (精査) of DE15's date: DE74-77, 86-89
//	                         and 97 are the center's own figures; DE66 1 when the
//	                         request's figures equal them, 2 otherwise
//
// Rules for 0100/0200 (Rules, --rules): a PAN on the block list → 05; an
// amount whose decimal digits end in a configured suffix → that suffix's code
// (default "51" → 51); otherwise 00 with DE38 = a 6-digit code derived from
// STAN and date. Any financial or reconciliation request on a line that has
// not signed on → 91. The answer echoes DE2, 3, 4, 7, 11, 32, 37, 41, 49 (and
// DE90 on reversals) and always carries DE15, the date the message was
// attributed to (DE15 of the request, or the current business date without it).
// An unknown MTI class or a bad DE15 → 30. When MaxTransactions is reached, new
// requests → 96, not counted.
//
// Repeats and deduplication: the key of a request is (MTI class with the
// repeat digit cleared, STAN, DE41, business date). The same key with the same
// content (DE2, 3, 4, 49, 90; DE7 may differ) is answered exactly as the first
// time and not counted again; with different content → 94. This holds for
// 0100/0200 too, and for a repeat whose first attempt the center never saw (it
// is simply new). A second, different reversal (or CAFIS cancel) of an
// original that is already reversed finds no approved original: it is
// answered 25 (025) and nothing counts, so a daemon that sent it counts
// nothing either.
//
// Timed cutover (24-hour operation; Options.CutoverEvery / --cutover-every,
// or daily at Options.CutoverAt / --cutover-at HH:MM; also TriggerCutover and
// POST /cutover): the center moves to the next day first, then
// sends 0800 DE70 201 DE15=new MMDD (DE7, DE11 its own) on the oldest
// signed-on line and waits CutoverAnswerTimeout for the 0810. The date moves
// even when no line is signed on or nobody answers (journal event
// cutover_unsent / cutover_unanswered): the center's clock rules.
//
// MAC (Options.MACKey, --mac-key FILE; algorithm in package switch/mac):
// every CARDNET message the center sends carries DE128 signed with the key,
// and every inbound CARDNET message, request or answer, must carry a DE128
// that verifies. One that does not (bit 128 absent, wrong key, altered on
// the way) is dropped before the fault decision and before any state is
// touched: no answer (answering would confirm to a forger that the message
// reached the center; the genuine sender times out and repeats or cancels
// as for a lost message), a journal event bad_mac naming the line, MTI and
// STAN, and one more in Stats.CardnetBadMAC (GET /stats). Without a key,
// DE128 is neither checked nor sent.
//
// # CAFIS model
//
//	kind  answer  rule
//	0010  0011    signon (開局) of the line; 0020 → 0021 signoff; 0030 → 0031 echo
//	0100  0101    sales: op 10 sale (debit), 20 refund (credit), 30 authorization
//	              only (never settles); rules as CARDNET, result "0"+code
//	              (000, 005, 051); auth_code on approval
//	0200  0201    app cancel, and
//	0300  0301    cancel command (取消指令), of (orig_serial, orig_date):
//	              000 the original was approved and is now cancelled (counts as a
//	              debit/credit reversal in the cancel's own header date);
//	              025 nothing to cancel (unknown, declined, or an amount other than
//	              the approved one; 0 means "the whole amount")
//	0400  0401    cancel confirmation (取消確認指令): result 000, status C cancelled,
//	              S stands (approved, not cancelled), N not known (unknown or
//	              declined); amount is the original's (0 for N). It changes nothing
//	              and is answered from the current state every time.
//
// Financial kinds on a line not signed on → 091. Key: (kind, 通番 serial,
// cut-target date); a retransmission (flag 1) or resend with the same body and
// merchant gets the first answer, uncounted; different content → 094. A record
// whose header names a request kind but whose fields do not decode → the
// response kind with result 030. The header of an answer echoes the request's
// retransmission flag, merchant, serial and date. The simulator's CAFIS
// "business date" is the latest cut-target date seen (or set by a cutover).
//
// # Totals
//
// Per center × business date × category (credits, credit reversals, debits,
// debit reversals; count and amount in minor units), attributed by the date
// the message carries, per docs/ARCHITECTURE.md. Dates older than
// RetainDates before the current one are forgotten for matching at cutover;
// their totals stay.
//
// # Faults
//
// A FaultSet (Options.Faults, --faults FILE, PUT /faults) is a list of rules;
// for each request the first rule that hits decides. YAML or JSON:
//
//	faults:
//	  - center: cardnet        # cardnet | cafis | omitted: both
//	    kind: "0200"           # MTI / CAFIS kind of the request; omitted: all
//	                           # (the code spaces overlap: give center too)
//	    action: drop_response  # see below
//	    rate: 0.1              # hit probability; 0 / omitted: every match
//	    delay_ms: 200          # delay, late
//	    max_delay_ms: 800      # delay: uniform in [delay_ms, max_delay_ms]
//	    skip: 0                # let the first N matches through
//	    count: 0               # at most N hits (0: unlimited)
//	    start_ms: 0            # active window, relative to installation
//	    for_ms: 0              # 0: until replaced
//
// Actions: delay / late (processed now, answered later), drop_request (not
// processed, never answered), drop_response (processed: state and totals
// change, no answer), duplicate (answer sent twice), corrupt (processed; the
// answer frame keeps its length but its first 4 bytes become "ZZZZ"),
// disconnect (line closed on receipt, not processed), refuse (new connections
// to the center are closed at once while the rule is active).
//
// Determinism: whether a rule hits a message is a pure function of Options.Seed
// (--seed), the rule's index, the message identity (center, MTI/kind,
// STAN/serial, DE15/date) and how often that identity was seen before under
// the rule; delays are drawn the same way. The same traffic therefore meets
// the same faults on every run, whatever the interleaving of lines; skip and
// count follow arrival order.
//
// # Journal
//
// Options.JournalPath / --journal FILE: JSONL, one object per line, read back
// with package sim/journal (journal.Read → the center's final view of each
// transaction keyed by center, date and STAN/serial, plus per-date totals):
//
//	{"t":"2026-11-23T10:00:00.1Z","type":"msg","center":"cardnet","line":1,"dir":"in",
//	 "mti":"0400","key":"000004","date":"20261124",
//	 "fields":{"11":"000004","15":"1124","2":"411111******1111","90":"0200000001...",...},
//	 "code":"00","dedup":"new","changes":[
//	   {"center":"cardnet","date":"20261123","key":"000001","mti":"0200","status":"reversed",
//	    "category":"debit","amount":1000,"code":"00"},
//	   {"center":"cardnet","date":"20261124","key":"000004","mti":"0400","status":"accepted",
//	    "category":"debit_reversal","amount":1000,"code":"00","counted":true,
//	    "original":{"center":"cardnet","date":"20261123","key":"000001"}}]}
//	{"t":...,"type":"msg","center":"cardnet","line":1,"dir":"out","mti":"0410","key":"000004",
//	 "date":"20261124","code":"00","fault":"drop_response"}
//	{"t":...,"type":"event","center":"cardnet","line":1,"event":"signon"}
//	{"t":...,"type":"totals","center":"cardnet","date":"20261123","detail":"cutover",
//	 "totals":{"credits_count":0,"credits_amount":0,...,"debit_reversals_amount":0}}
//
// type: msg (dir in/out; mti is the MTI or CAFIS kind; key the STAN/serial;
// date the business date the message carries; fields the decoded data
// elements, or the CAFIS header and body fields by name, PAN masked with
// codec.MaskPAN; code the response code; dedup new/repeat/conflict; fault the
// fault applied; changes the center-side state changes), event (connect,
// disconnect, refused, signon, signoff, cutover, cutover_unsent,
// cutover_unanswered, reconciliation, malformed, encode_error, bad_mac,
// faults, listening) or totals (end of day: at every cutover, and for every date held
// at Close). Change status: approved, declined, reversed (CARDNET original),
// cancelled (CAFIS original), accepted (a reversal/cancel that took effect),
// no_original. Only changes with counted:true add to the totals, in the
// change's own date. Records go through a bounded queue to one writer
// goroutine; when it is full the event loop waits (the journal is never lossy).
//
// # Invariants
//
//   - A message is counted at most once: only the first sight of a key changes
//     state; repeats and conflicts change nothing.
//   - A reversal/cancel counts only if it moved an approved original to
//     reversed/cancelled; an original is reversed at most once.
//   - The totals equal the fold of the journal's counted changes (journal.View.Totals)
//     and the last end-of-day record per date (journal.View.EOD).
//   - Every queue is bounded: journal queue, delayed answers (beyond
//     65,536 they go out at once), lines per center, frame size, bytes owed to
//     a peer that does not read (16 MiB, then the line is closed), transactions
//     remembered per center.
//   - The answers of one OnTraffic are written with one Write.
//
// Locks never nest: each center's state mutex, the fault engine's mutex, a
// center server's line table mutex, the journal writer's close guard and the
// Sim's lifecycle mutex are each taken alone, and no center, line-table or
// fault lock is held while a journal record is queued (a full journal queue
// stalls an event loop, never a holder of a lock the event loops need).
package sim
