package engine

import (
	"time"

	"github.com/fxswitch/fxswitch/codec"
	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/wal"
)

// msgClass separates matching-key spaces: a CARDNET 0410 answering a system
// cancel carries the original's STAN and terminal, so the class tells it apart
// from the 0110/0210 of the original.
type msgClass uint8

const (
	classFinancial msgClass = iota + 1 // 0100/0200 family, CAFIS sales and app cancel
	classAdvice                        // 0220/0221
	classReversal                      // 0400/0401 (system cancel and app cancel)
	classCancelCmd                     // CAFIS 取消指令
	classConfirm                       // CAFIS 取消確認指令
	classNetwork                       // 0800, CAFIS signon/signoff/echo
	classReconcile                     // 0500
)

// matchKey identifies the answer to a message: (class, terminal, STAN) for
// CARDNET — DESIGN §2's (MTI class, DE11, DE41) — and (class, 0, 通番) for CAFIS.
type matchKey struct {
	class msgClass
	term  uint64
	key   uint32
	// day is the business date the message carries (CARDNET DE15 MMDD,
	// CAFIS header YYYYMMDD) for transaction classes, 0 for network ones:
	// STAN and 通番 restart with each date, so a late answer of a closed
	// date must not match a request of the new one under the same number.
	day uint32
}

// digitsDay reads a date of 4 or 8 digits as a number (0 if malformed).
func digitsDay(b []byte) uint32 {
	n, _ := ipc.ParseUint(b)
	return uint32(n)
}

// inKind classifies an inbound frame.
type inKind uint8

const (
	inResponse      inKind = iota + 1 // answer to something we sent
	inCenterCutover                   // center-initiated cutover request (CARDNET 0800 DE70 201)
	inCenterEcho                      // center-initiated echo (answer it)
)

// cancelOutcome is what the center says about the original a cancel refers to.
type cancelOutcome uint8

const (
	cancelNone     cancelOutcome = iota
	cancelReversed               // the original was approved and is now reversed/cancelled (both count)
	cancelNothing                // no approved original: nothing counts
	cancelStands                 // CAFIS confirmation: the original is approved and not cancelled
)

// netCode is a network-management function.
type netCode uint8

const (
	netSignon netCode = iota + 1
	netSignoff
	netEcho
	netCutover
)

// inbound is a decoded frame from a center. Values are copies (fixed arrays
// and strings on the rare paths), so an inbound outlives the frame buffer.
type inbound struct {
	kind     inKind
	key      matchKey
	approved bool
	code     [3]byte // DE39 (2) or CAFIS result (3)
	codeLen  uint8
	auth     [6]byte
	authLen  uint8
	cancel   cancelOutcome
	date     string // DE15 / header date as YYYYMMDD (network and reconciliation)
	reconIn  bool   // 0510 DE66 == 1
	theirs   wal.Totals
}

func (in *inbound) codeString() string { return string(in.code[:in.codeLen]) }
func (in *inbound) authString() string { return string(in.auth[:in.authLen]) }

// outReq carries what a model needs to encode an app-originated message.
type outReq struct {
	op       ipc.Op
	key      uint32
	date     string // business date YYYYMMDD
	now      time.Time
	pan      []byte
	expiry   []byte
	amount   int64
	currency []byte
	terminal []byte
	merchant []byte
	repeat   bool
	// cancel op: the original request's message and business date
	origMsg  []byte
	origDate string
}

// model is one center's wire model: it maps app operations to messages and
// classifies what comes back. Implementations: cardnetModel, cafisModel.
type model interface {
	framing() codec.Framing
	// category of an app operation (what its approval settles as)
	category(op ipc.Op, origCat wal.Category) wal.Category
	supports(op ipc.Op) bool
	encodeRequest(dst []byte, r *outReq) ([]byte, matchKey, error)
	// encodeCancel builds the system cancel of orig (CARDNET 0400/0401,
	// CAFIS cancel command) or, with confirm, the CAFIS cancel confirmation.
	// origMsg is the original's message; key is the cancel's own key (CAFIS)
	// — CARDNET reuses the original STAN in the reversal class.
	encodeCancel(dst []byte, origMsg []byte, key uint32, date string, now time.Time, repeat, confirm bool) ([]byte, matchKey, error)
	// cancelUsesNewKey: the cancel message needs its own key (CAFIS).
	cancelUsesNewKey() bool
	// rrn appends the retrieval reference number the model gives a request
	// (IPC tag 25), or returns nil when the model has none.
	rrn(dst []byte, date string, key uint32) []byte
	// requestKey recomputes the matching key of a stored request message.
	requestKey(msg []byte) (matchKey, error)
	// messageDate is the business date a stored message carries (ref: the
	// current date, for a model that carries only month and day).
	messageDate(msg []byte, ref string) (string, error)
	encodeNetwork(dst []byte, code netCode, key uint32, date string, now time.Time) ([]byte, matchKey, error)
	// encodeNetworkReply answers a center-initiated network request.
	encodeNetworkReply(dst []byte, req []byte, now time.Time) ([]byte, error)
	encodeReconcile(dst []byte, key uint32, date string, t wal.Totals, now time.Time) ([]byte, matchKey, error)
	decode(payload []byte, in *inbound) error
}
