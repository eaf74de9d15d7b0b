package load

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fxswitch/fxswitch/ipc"
)

// DefaultMix is the operation mix of a run that does not choose one: mostly
// sales, as at a retail acquirer, with some refunds, authorizations and
// cancels of earlier approved sales.
const DefaultMix = "sale=70,refund=10,authorize=10,cancel=10"

// maxMixWeight bounds one weight so that the sum cannot overflow.
const maxMixWeight = 1_000_000

// Mix is a weighted choice of operations. Pick is a pure function of its
// argument, so a seeded run draws the same sequence every time.
type Mix struct {
	ops     []ipc.Op
	cum     []uint64 // cumulative weights, same order as ops
	total   uint64
	weights map[ipc.Op]uint64
}

// mixOps are the operations a run may draw. Advice and inquiry are not load:
// an advice is answered once durable without waiting for the center, and an
// inquiry reads back what was already measured.
var mixOps = []ipc.Op{ipc.OpSale, ipc.OpRefund, ipc.OpAuthorize, ipc.OpCancel}

// ParseMix reads "op=weight,..." (ops: sale, refund, authorize, cancel;
// weights non-negative integers, at least one positive). Weights are
// relative: "sale=7,refund=1" is the same mix as "sale=70,refund=10". An
// op may appear once; ops left out have weight 0.
func ParseMix(s string) (*Mix, error) {
	m := &Mix{weights: map[ipc.Op]uint64{}}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrMix)
	}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not op=weight", ErrMix, part)
		}
		op, ok := ipc.ParseOp([]byte(strings.TrimSpace(name)))
		if !ok || !mixable(op) {
			return nil, fmt.Errorf("%w: unknown op %q (sale, refund, authorize, cancel)", ErrMix, name)
		}
		if _, dup := m.weights[op]; dup {
			return nil, fmt.Errorf("%w: op %s given twice", ErrMix, op)
		}
		w, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		if err != nil || w > maxMixWeight {
			return nil, fmt.Errorf("%w: weight %q of %s (0..%d)", ErrMix, val, op, maxMixWeight)
		}
		m.weights[op] = w
	}
	for _, op := range mixOps {
		if w := m.weights[op]; w > 0 {
			m.total += w
			m.ops = append(m.ops, op)
			m.cum = append(m.cum, m.total)
		}
	}
	if m.total == 0 {
		return nil, fmt.Errorf("%w: every weight is 0", ErrMix)
	}
	if len(m.ops) == 1 && m.ops[0] == ipc.OpCancel {
		return nil, fmt.Errorf("%w: cancels need approved sales to cancel", ErrMix)
	}
	return m, nil
}

func mixable(op ipc.Op) bool {
	for _, o := range mixOps {
		if o == op {
			return true
		}
	}
	return false
}

// Pick maps a uniform random number to an operation according to the weights.
func (m *Mix) Pick(r uint64) ipc.Op {
	x := r % m.total
	for i, c := range m.cum {
		if x < c {
			return m.ops[i]
		}
	}
	return m.ops[len(m.ops)-1]
}

// Weight is the weight of op (0 when absent).
func (m *Mix) Weight(op ipc.Op) uint64 { return m.weights[op] }

// String writes the mix back in canonical order ("sale=70,refund=10,...").
func (m *Mix) String() string {
	var b strings.Builder
	for _, op := range mixOps {
		if w, ok := m.weights[op]; ok {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(op.String())
			b.WriteByte('=')
			b.WriteString(strconv.FormatUint(w, 10))
		}
	}
	return b.String()
}
