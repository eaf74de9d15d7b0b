package load

import (
	"errors"
	"testing"

	"github.com/fxswitch/fxswitch/ipc"
)

func TestParseMix(t *testing.T) {
	m, err := ParseMix(" sale=70, refund=10,authorize=10 ,cancel=10")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.String(); got != DefaultMix {
		t.Fatalf("String = %q, want %q", got, DefaultMix)
	}
	for op, w := range map[ipc.Op]uint64{ipc.OpSale: 70, ipc.OpRefund: 10, ipc.OpAuthorize: 10, ipc.OpCancel: 10} {
		if m.Weight(op) != w {
			t.Errorf("weight of %s = %d, want %d", op, m.Weight(op), w)
		}
	}
	// Pick over one full period of the weights hits each op exactly its weight.
	counts := map[ipc.Op]uint64{}
	for r := uint64(0); r < 100; r++ {
		counts[m.Pick(r)]++
	}
	for _, op := range mixOps {
		if counts[op] != m.Weight(op) {
			t.Errorf("Pick over one period: %s %d times, want %d", op, counts[op], m.Weight(op))
		}
	}
	// Pick is a pure function of its argument.
	for _, r := range []uint64{0, 69, 70, 99, 100, 1<<63 + 5, ^uint64(0)} {
		if m.Pick(r) != m.Pick(r) {
			t.Fatalf("Pick(%d) not deterministic", r)
		}
	}
	if m.Pick(69) != ipc.OpSale || m.Pick(70) != ipc.OpRefund || m.Pick(99) != ipc.OpCancel {
		t.Errorf("boundaries: %s %s %s", m.Pick(69), m.Pick(70), m.Pick(99))
	}
}

func TestParseMixZeroWeightsAndOrder(t *testing.T) {
	m, err := ParseMix("refund=0,sale=1")
	if err != nil {
		t.Fatal(err)
	}
	for r := uint64(0); r < 10; r++ {
		if m.Pick(r) != ipc.OpSale {
			t.Fatalf("Pick(%d) = %s, want sale only", r, m.Pick(r))
		}
	}
	if got := m.String(); got != "sale=1,refund=0" {
		t.Errorf("String = %q", got)
	}
}

func TestParseMixErrors(t *testing.T) {
	for _, s := range []string{
		"", "sale", "sale=", "sale=-1", "sale=x", "sale=70,sale=30", "inquiry=1", "advice=1", "bogus=1",
		"sale=0,refund=0", "cancel=5", "sale=1000001", "sale=1,,refund=1",
	} {
		if _, err := ParseMix(s); !errors.Is(err, ErrMix) {
			t.Errorf("ParseMix(%q) = %v, want ErrMix", s, err)
		}
	}
}
