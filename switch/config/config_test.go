package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "./data" || c.IPC.Unix != "fxd.sock" || c.IPC.TCP != "127.0.0.1:7600" || c.Ctl.Unix != "ctl.sock" {
		t.Fatalf("defaults: %+v", c)
	}
	if got := c.Centers["cardnet"].ReconcileDelay.D(); got != 5*time.Minute {
		t.Fatalf("reconcile_delay default %v", got)
	}
	if c.Path("fxd.sock") != "data/fxd.sock" || c.Path("/abs") != "/abs" || c.Path("") != "" {
		t.Fatal("Path")
	}
}

func TestParseDesignExample(t *testing.T) {
	c, err := Parse([]byte(`
data_dir: ./data
ipc: {unix: fxd.sock, tcp: "127.0.0.1:7600"}
ctl: {unix: ctl.sock}
admin: ""
key_file: fxd.key
centers:
  cardnet: {lines: ["127.0.0.1:7700"], timeout: 5s, reconcile_delay: 5m}
  cafis:   {lines: ["127.0.0.1:7800"], timeout: 250ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Centers["cafis"].Timeout.D() != 250*time.Millisecond || c.Centers["cafis"].CancelMode != "reversal" {
		t.Fatalf("cafis: %+v", c.Centers["cafis"])
	}
}

func TestInvalid(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"centers: {visa: {lines: [\"a:1\"]}}", "centers.visa: unknown center"},
		{"centers: {cafis: {lines: []}}", "centers.cafis.lines"},
		{"centers: {cafis: {lines: [\"nohost\"]}}", "centers.cafis.lines"},
		{"centers: {cardnet: {lines: [\"a:1\"], cancel_mode: maybe}}", "cancel_mode"},
		{"log: {format: xml}", "log.format"},
		{"acquirer_id: abc", "acquirer_id"},
		{"limits: {max_frame_bytes: 10}", "max_frame_bytes"},
		{"ipc: {unix: \"\", tcp: \"\"}", "ipc"},
	} {
		c, err := Parse([]byte(tc.yaml))
		if err == nil {
			err = c.Validate()
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := Parse([]byte("tiemout: 5s")); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown key accepted: %v", err)
	}
	if _, err := Parse([]byte("centers: {cafis: {lines: [\"a:1\"], timeout: soon}}")); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad duration accepted: %v", err)
	}
}
