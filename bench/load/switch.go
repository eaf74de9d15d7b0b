package load

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
)

// Card data of the generated traffic: a test PAN the simulator approves,
// and a merchant id of 15 characters (DE42).
const (
	benchPAN      = "4111111111111111"
	benchExpiry   = "2912"
	benchCurrency = "392" // JPY
	benchMerchant = "FXBENCHMERCH001"
)

// refSource hands out app references, unique per run and across runs: the
// daemon treats a reference as an idempotency key for the whole business
// date, so a second run against the same fxd must not reuse the first's.
type refSource struct {
	prefix string
	n      atomic.Uint64
}

func newRefSource(start time.Time) *refSource {
	// Base 36 of the start time in nanoseconds: 13 characters, so a
	// reference stays within the 32 allowed.
	return &refSource{prefix: "B" + strconv.FormatInt(start.UnixNano(), 36) + "-"}
}

func (r *refSource) next() string {
	return r.prefix + strconv.FormatUint(r.n.Add(1), 36)
}

// switchTarget drives fxd through the IPC client: Conns connections,
// Sessions sessions spread over them round-robin, Concurrency workers per
// session sharing it (Session.Do is pipelined).
type switchTarget struct {
	clients  []*client.Client
	sessions []*client.Session
	conc     int
}

func newSwitch(ctx context.Context, o *Options) (*switchTarget, error) {
	t := &switchTarget{conc: o.Concurrency, sessions: make([]*client.Session, o.Sessions)}
	perConn := (o.Sessions + o.Conns - 1) / o.Conns * o.Concurrency
	for i := 0; i < o.Conns; i++ {
		cl, err := client.Dial(ctx, o.Network, o.Addr, client.WithMaxOutstanding(max(client.DefaultMaxOutstanding, perConn+16)))
		if err != nil {
			t.close()
			return nil, fmt.Errorf("%w: dial fxd %s %s: %w", ErrSetup, o.Network, o.Addr, err)
		}
		t.clients = append(t.clients, cl)
	}
	// Open the sessions, one goroutine per connection (pipelined within it).
	var wg sync.WaitGroup
	errs := make(chan error, o.Conns)
	for c := 0; c < o.Conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for s := c; s < o.Sessions; s += o.Conns {
				sess, err := t.clients[c].OpenSession(ctx, o.Center)
				if err != nil {
					errs <- fmt.Errorf("%w: open session %d on %s: %w", ErrSetup, s, o.Center, err)
					return
				}
				t.sessions[s] = sess
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *switchTarget) worker(i int) worker {
	s := i / t.conc
	return &switchWorker{sess: t.sessions[s], terminal: fmt.Sprintf("B%07d", s%10_000_000)}
}

func (t *switchTarget) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range t.sessions {
		if s != nil {
			_ = s.CloseSession(ctx)
		}
	}
	for _, c := range t.clients {
		c.Close()
	}
	return nil
}

type switchWorker struct {
	sess     *client.Session
	terminal string
	req      client.Request
}

func (w *switchWorker) do(ctx context.Context, t *txn) (answer, error) {
	w.req = client.Request{Op: t.op, Ref: t.ref, Terminal: w.terminal, Merchant: benchMerchant}
	if t.op == ipc.OpCancel {
		w.req.OrigRef = t.orig.ref
	} else {
		w.req.PAN, w.req.Expiry, w.req.Currency, w.req.Amount = benchPAN, benchExpiry, benchCurrency, t.amount
	}
	res, err := w.sess.Do(ctx, &w.req)
	if err != nil {
		var ie *ipc.Error
		if errors.As(err, &ie) && ie.Code == ipc.CodeBusy && strings.Contains(ie.Text, "exhausted") {
			return answer{}, fmt.Errorf("%w: %w", ErrKeysExhausted, err)
		}
		if errors.Is(err, client.ErrClosed) {
			return answer{}, fmt.Errorf("%w: %w", errStopWorker, err)
		}
		return answer{}, err
	}
	switch res.Result {
	case ipc.ResultApproved:
		return answer{out: outApproved, orig: original{ref: t.ref, amount: t.amount}}, nil
	case ipc.ResultDeclined:
		return answer{out: outDeclined}, nil
	case ipc.ResultCancelled:
		return answer{out: outCancelled}, nil
	}
	return answer{}, fmt.Errorf("load: result %s (code %s)", res.Result, res.RespCode)
}
