package client_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/ipc/client"
)

// An app sends a sale and, when the outcome is unknown (timeout or a lost
// connection), asks for it by its reference instead of guessing.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "unix", "/var/lib/fxd/fxd.sock", client.WithToken("app-token"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	s, err := c.OpenSession(ctx, "cardnet")
	if err != nil {
		fmt.Println(err) // e.g. ipc: 13 recovery required: ...
		return
	}
	go func() {
		for n := range s.Notices() {
			fmt.Println("notice", n.Kind, n.Detail) // cutover 20261124
		}
	}()
	req := &client.Request{Op: ipc.OpSale, Ref: "POS1-000123", PAN: "4999990000000001",
		Expiry: "2812", Amount: 1500, Currency: "392", Terminal: "POS00001", Merchant: "MERCHANT0000001"}
	r, err := s.Do(ctx, req)
	switch {
	case errors.Is(err, ipc.ErrTimeout):
		// The daemon is cancelling toward the center; the final outcome
		// (normally cancelled) comes from an inquiry.
		r, err = s.Inquire(ctx, req.Ref)
	case errors.Is(err, ipc.ErrBusy):
		// A bound was reached: retry the same request later; the same
		// reference with the same content is idempotent.
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Result, r.AuthCode, r.STAN, r.BusinessDate)
}
