// Package codec encodes and decodes the messages fxswitch exchanges with the
// card networks' centers — the CARDNET model (ISO 8583:1987, ASCII) and the
// CAFIS model (fixed-length records) — and cuts them out of TCP byte streams.
//
// Every message passes through this package twice (app request → center
// message, center response → app), so it is built to cost almost nothing:
// decoding produces a view (offsets into the received bytes, kept in fixed
// arrays), encoding appends into the caller's buffer, and neither allocates.
// The real network specifications are confidential; the layouts below are
// the documented models that fxsim speaks, and they are data
// (specs/cardnet.yaml, specs/cafis.yaml): a user with the real specification
// loads their own file with LoadISOSpec or LoadCafisSpec instead of
// changing code.
//
// # Framing
//
// Each line carries a stream of frames: a length header, then the payload.
//
//	CARDNET (FrameBin2)                 CAFIS (FrameASCII4)
//	+--------+--------+-------------+   +----+----+----+----+-------------+
//	| len hi | len lo | payload ... |   | d3 | d2 | d1 | d0 | payload ... |
//	+--------+--------+-------------+   +----+----+----+----+-------------+
//	 2-byte big-endian length of          4 ASCII decimal digits, e.g.
//	 the payload, 1..65535                "0096", of the payload, 1..9999
//
// The header counts the payload only. A zero length is rejected (an empty
// message is never valid, and accepting it would let a peer spin a reader
// without progress), as is a length above the caller's maxPayload
// (ErrFrameTooLarge) or a non-digit in an ASCII header (ErrBadLength). After
// a framing error the stream cannot be re-synchronised: close the line.
//
// Framing.Split works on the bytes accumulated so far (for example gnet's
// inbound buffer) and returns the first payload as a sub-slice. Splitter
// does the same for bytes handed over in arbitrary pieces: frames complete
// within a piece are returned as views of that piece; only a frame that
// straddles pieces is assembled in the splitter's own buffer (bounded by two
// maximal frames). Views stay valid until the next Feed. To encode without
// knowing the length in advance: ReserveHeader, append the message,
// PutHeader.
//
// # CARDNET model: ISO 8583:1987, ASCII
//
//	+------+------------------+------------------+-----------+-----------+---
//	| MTI  | primary bitmap   | secondary bitmap | element   | element   | ...
//	| 4 n  | 16 hex chars     | 16 hex chars,    | (lowest   | (next     |
//	|      | bits 1..64       | only if bit 1    |  number   |  number)  |
//	|      |                  | bits 65..128     |  first)   |           |
//	+------+------------------+------------------+-----------+-----------+---
//
// MTI: 4 ASCII digits (ErrBadMTI otherwise). Bitmap: 64 bits as 16 ASCII hex
// characters, most significant first: the first character's high bit is bit
// 1, i.e. DE1. Upper case is written, either case is read. Bit 1 set means a
// secondary bitmap follows; it is written when, and only when, an element
// 65..128 is present, and a secondary bitmap with no bit set is rejected
// (ErrBadBitmap). Bit 65 (a tertiary bitmap) is not part of the model.
//
// Elements follow in ascending order, each as its spec says:
//
//	fixed   value of exactly max characters
//	LL      2 ASCII digits = number of characters, then the value (max <= 99)
//	LLL     3 ASCII digits = number of characters, then the value (max <= 999)
//
//	content n    digits; fixed ones right-aligned, left-padded with '0'
//	        an   letters, digits, space; fixed ones left-aligned, space-padded
//	        ans  printable ASCII 0x20..0x7E; padded like an
//	        b    binary as ASCII hex, 2 characters per byte (max counts characters)
//	        x+n  'C' (credit, >= 0) or 'D' (debit, < 0), then digits
//
// Example, an echo test (what ExampleISOSpec_Append produces):
//
//	offset  bytes               meaning
//	     0  00 37               frame length 55 (FrameBin2)
//	     2  "0800"              MTI network management request
//	     6  "8220000000000000"  primary bitmap: bits 1 (secondary follows), 7, 11
//	    22  "0400000000000000"  secondary bitmap: bit 70
//	    38  "1123080000"        DE7  transmission date and time MMDDhhmmss
//	    48  "000001"            DE11 STAN
//	    54  "301"               DE70 network management code: echo
//
// Elements of the model. DE2–64, 70 and 90 have the lengths and length
// prefixes of iso8583.Spec87 of github.com/moov-io/iso8583 v0.22.0 (checked
// by the tests against that library, in both directions); content types are
// those of ISO 8583:1987. The most used:
//
//	DE   format       meaning
//	 2   n..19 LL     primary account number (PAN)
//	 3   n6           processing code: 00xxxx purchase/debit, 20xxxx refund/credit
//	 4   n12          amount, transaction, minor units
//	 7   n10          transmission date and time MMDDhhmmss
//	11   n6           systems trace audit number (STAN)
//	12   n6 / 13 n4   local time hhmmss / local date MMDD
//	14   n4           expiration date YYMM
//	15   n4           settlement date MMDD = business date the message counts in
//	18   n4           merchant type        22 n3  POS entry mode   25 n2 POS condition
//	32   n..11 LL     acquiring institution id
//	37   an12         retrieval reference number
//	38   an6          authorization code   39 an2 response code
//	41   ans8         terminal id          42 ans15 merchant (card acceptor) id
//	49   n3           currency, ISO 4217 numeric
//	52   b16          PIN block (8 bytes as 16 hex characters)
//	64   b16          MAC
//	66   n1           reconciliation result: 1 in balance, 2 out of balance
//	70   n3           network management code: 001 signon, 002 signoff, 201 cutover, 301 echo
//	74–77  n10        number of credits, credit reversals, debits, debit reversals
//	86–89  n16        amount of credits, credit reversals, debits, debit reversals
//	90   n42          original data elements (reversals), see below
//	97   x+n16        net settlement amount (17 characters), see below
//	128  b16          secondary MAC (16 hex characters)
//
// DE90, original data elements of a reversal or system cancel (AppendDE90,
// ParseDE90):
//
//	+------+--------+------------+-------------+-------------+
//	| MTI  | STAN   | DE7        | acquirer id | forwarding  |
//	| 4    | 6      | 10         | 11, zero-   | 11 zeros    |
//	|      |        | MMDDhhmmss | padded left |             |
//	+------+--------+------------+-------------+-------------+
//	 0      4        10           20            31          42
//
// DE97, net settlement = debits − debit reversals − credits + credit
// reversals (AppendDE97, ParseDE97): 'C' then 16 digits when >= 0, 'D' then
// 16 digits of the magnitude when negative, e.g. "D0000000000000500".
//
// Messages (DESIGN §2): 0100/0110 authorization; 0200/0210 financial;
// 0220/0230 advice, repeat 0221; 0400/0410 reversal or system cancel, repeat
// 0401; 0420/0430 reversal advice, repeat 0421; 0500/0510 reconciliation
// for the settlement date in DE15; 0800/0810 network management (DE70).
// Responses are matched on (MTI class, DE11, DE41). The codec does not
// enforce which elements an MTI carries; that is the switch's and the
// simulator's business.
//
// # CAFIS model: fixed-length records
//
// A record is a 48-byte header and a body whose layout is fixed by the kind
// code in the header. Numeric (n) fields are right-aligned and zero-padded,
// alphanumeric (an: letters, digits, space) fields left-aligned and
// space-padded.
//
//	offset len  field     content
//	     0   4  kind      n   record kind code, e.g. 0100
//	     4   1  retrans   '0' first attempt, '1' retransmission （再）
//	     5  13  merchant  an  center-assigned merchant code
//	    18   6  serial    n   processing serial number 通番, the matching key
//	    24   8  date      n   cut-target date カット対象日付 YYYYMMDD
//	    32   6  time      n   HHMMSS
//	    38   3  result    n   result code; 000 in requests
//	    41   7  reserved      spaces (written as spaces, not interpreted when read)
//	    48      body
//
// Kinds and bodies (offsets from the start of the record; total record
// length, which is also the frame's length header, in brackets):
//
//	0010 signon request 開局 / 0011 response                  [48] no body
//	0020 signoff request 閉局 / 0021 response                 [48] no body
//	0030 echo request / 0031 response                         [48] no body
//
//	0100 sales request                                        [96]
//	    48   2  op           n   10 sale, 20 refund, 30 authorization only
//	    50  19  pan          an
//	    69   4  expiry       n   YYMM
//	    73  12  amount       n   minor units
//	    85   3  currency     n   ISO 4217 numeric
//	    88   8  terminal_id  an
//	0101 sales response                                       [68]
//	    48   2  op           n
//	    50  12  amount       n
//	    62   6  auth_code    an
//
//	0200 cancel request (app-initiated cancel of an approved sale)  [93]
//	    48   6  orig_serial  n   通番 of the sales record
//	    54   8  orig_date    n   its cut-target date YYYYMMDD
//	    62  12  amount       n
//	    74  19  pan          an
//	0201 cancel response                                      [74]
//	    48   6  orig_serial  n
//	    54   8  orig_date    n
//	    62  12  amount       n
//
//	0300 cancel command 取消指令 (daemon-initiated system cancel)   [74]
//	0301 cancel command response                              [74]
//	    48   6  orig_serial  n
//	    54   8  orig_date    n
//	    62  12  amount       n
//
//	0400 cancel-confirmation command 取消確認指令              [62]
//	    48   6  orig_serial  n
//	    54   8  orig_date    n
//	0401 cancel-confirmation response                         [75]
//	    48   6  orig_serial  n
//	    54   8  orig_date    n
//	    62   1  status       an  C cancelled, S stands (approved, not cancelled), N not known
//	    63  12  amount       n
//
// Example, the sales request of ExampleCafisSpec_Append, framed:
//
//	"0096" "0100" "0" "M000000000001" "000042" "20261123" "104500" "000" "       "
//	"10" "4111111111111111   " "2812" "000000012345" "392" "TERM0001"
//
// Result codes (header): 000 approved/done, 005 do not honor, 051
// insufficient funds, 025 nothing to cancel, 091 not signed on, 030 format
// error, 094 duplicate serial with different content.
//
// # API shape
//
// ISOSpec.Decode fills an ISOMessage (reusable, zero value ready): MTI, Has,
// Get (value without prefix, padding kept), Uint (parsed in place). Encoding
// goes through ISOFields (fixed arrays; Set, SetString, SetUint; Reset per
// message) and ISOSpec.Append. CAFIS: CafisSpec.FieldIndex resolves a
// kind's field name to an index once, at init; CafisRecord and CafisFields
// use that index. The index also encodes the kind, so a field of one kind is
// never read from, or written into, a record of another. Append takes any
// []byte, so a pooled buffer works as is:
//
//	bb := bytebufferpool.Get()
//	bb.B = codec.FrameBin2.ReserveHeader(bb.B[:0])
//	bb.B, err = spec.Append(bb.B, codec.MTIAuthReq, &fields)
//	err = codec.FrameBin2.PutHeader(bb.B, len(bb.B)-2)
//
// # Decisions
//
//   - Read leniently where it is harmless, write canonically: bitmap and b
//     elements are read in either hex case and written in upper case.
//   - Strict where leniency would hide a broken peer: zero-length frames,
//     an empty secondary bitmap, bytes after the last element, a CAFIS record
//     whose length is not exactly its kind's, and any byte outside an
//     element's content type are errors.
//   - SetUint zero-pads to the element's length whatever its content type
//     (e.g. a numeric terminal id); x+n elements do not take numbers (use
//     AppendDE97), so the sign is never guessed.
//   - The codec checks form, not meaning: dates and times are checked to be
//     digits, not calendar dates, and which elements an MTI carries is left
//     to the switch and the simulator.
//   - CAFIS: the reserved header bytes are written as spaces and not
//     interpreted when read; a zero-value Result is written as "000" and NUL
//     bytes in Merchant as spaces, so a partly filled CafisHeader encodes
//     sensibly. an means letters, digits and space (the model is ASCII; a
//     spec for the real network with other characters uses ans).
//   - Helpers that cannot fail by signature (AppendDE90, AppendDE97) never
//     truncate: an out-of-range part yields a value that Append rejects.
//
// # Errors
//
// Every error wraps one sentinel (ErrShortFrame, ErrBadLength,
// ErrFrameTooLarge, ErrFieldTooLong, ErrNotNumeric, ErrBadCharacter,
// ErrUnknownField, ErrBadBitmap, ErrBadMTI, ErrMissingField, ErrBadValue,
// ErrBadSpec) inside a *FieldError that names the data element number (or
// CAFIS field index; 0 with a Name for the frame, MTI, bitmap or header),
// and the byte offset in the payload when decoding. Messages start with
// "codec: ", e.g. "codec: not numeric: field 3 (processing code) at offset 22".
//
// # Invariants
//
//   - Decoding never panics and never reads outside the payload, whatever
//     the bytes (fuzzed: FuzzDecodeISO, FuzzDecodeCafis, FuzzSplitter); every
//     element is checked against its content type, and what decodes
//     re-encodes to the same bytes.
//   - A decoded message refers to the payload; it stays valid as long as the
//     payload bytes are not reused. A failed Decode leaves the view empty.
//   - Append leaves dst's length unchanged on error and never produces a
//     message the decoder would reject.
//   - Decode, Append, Split and the Splitter allocate nothing once buffers
//     have grown (TestHotPathAllocs, the benchmarks).
//   - Specs are immutable after loading and safe for concurrent use;
//     ISOMessage, ISOFields, CafisRecord, CafisFields and Splitter are not:
//     one per goroutine or connection.
package codec
