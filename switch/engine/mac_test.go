package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fxswitch/fxswitch/ipc"
	"github.com/fxswitch/fxswitch/sim"
	"github.com/fxswitch/fxswitch/switch/config"
	"github.com/fxswitch/fxswitch/switch/mac"
)

func TestCardnetMAC(t *testing.T) {
	dir := t.TempDir()
	ours, err := mac.NewKeyFile(filepath.Join(dir, "mac.key"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := mac.NewKeyFile(filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	tune := func(c *config.Config) {
		fastTimeouts(c)
		cc := c.Centers["cardnet"]
		cc.MACKeyFile = filepath.Join(dir, "mac.key")
		c.Centers["cardnet"] = cc
	}
	t.Run("same key", func(t *testing.T) {
		h := newHarness(t, sim.Options{MACKey: ours}, tune)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := h.e.Signon(ctx, "cardnet"); err != nil {
			t.Fatal(err)
		}
		_, s := h.session("cardnet")
		if res, err := s.Do(ctx, sale("M1", 1000)); err != nil || res.Result != ipc.ResultApproved {
			t.Fatalf("sale: %+v %v", res, err)
		}
		if n := h.sim.Stats().CardnetBadMAC; n != 0 {
			t.Fatalf("center rejected %d of our messages", n)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		h := newHarness(t, sim.Options{MACKey: other}, tune)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// The center refuses our signon (bad MAC, not answered): nothing is processed.
		if err := h.e.Signon(ctx, "cardnet"); err == nil {
			t.Fatal("signon succeeded with a key the center does not share")
		}
		if n := h.sim.Stats().CardnetBadMAC; n == 0 {
			t.Fatal("the center did not count our bad MACs")
		}
	})
	t.Run("center without MAC", func(t *testing.T) {
		h := newHarness(t, sim.Options{}, tune)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// The center answers without DE128: we refuse to process its answers.
		if err := h.e.Signon(ctx, "cardnet"); err == nil {
			t.Fatal("signon accepted an answer without a MAC")
		}
		if n := h.e.centers["cardnet"].unmatched.Load(); n == 0 {
			t.Fatal("answers without a MAC were not counted")
		}
	})
}
