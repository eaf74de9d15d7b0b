// Package config loads and validates fxd.yaml, the daemon's configuration.
//
// The file format is a contract (DESIGN §5). Every key is optional; omitted
// keys take the defaults below. Relative paths: data_dir is relative to the
// working directory, every other path is inside data_dir. An empty string
// turns a listener off; port 0 picks a free port.
//
//	data_dir: ./data
//	ipc: {unix: fxd.sock, tcp: "127.0.0.1:7600"}
//	ctl: {unix: ctl.sock}
//	admin: ""
//	key_file: fxd.key
//	acquirer_id: "00000000001"     # CARDNET DE32, up to 11 digits
//	merchant_code: "FXSWITCH00001" # CAFIS header merchant code, up to 13 characters
//	log: {format: text, level: info}
//	limits: {max_sessions: 20000, max_inflight_per_session: 1024,
//	         max_inflight_per_center: 65536, max_frame_bytes: 65536}
//	centers:
//	  cardnet: {lines: ["127.0.0.1:7700"], timeout: 5s, reconcile_delay: 5m}
//	  cafis:   {lines: ["127.0.0.1:7800"], timeout: 5s}
//
// docs/CONFIG.md is the reference for every key.
package config

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("config: invalid")

// Center names known to the daemon.
const (
	CenterCardnet = "cardnet"
	CenterCafis   = "cafis"
)

// Listeners of the application protocol.
type IPC struct {
	Unix string `yaml:"unix"`
	TCP  string `yaml:"tcp"`
	// TLS, when set, makes the TCP listener speak TLS (1.3 by default).
	TLS *TLSServer `yaml:"tls"`
}

// TLSServer is a TLS server identity; ClientCAFile demands client
// certificates signed by that CA (mutual TLS).
type TLSServer struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
	MinVersion   string `yaml:"min_version"` // "1.2" or "1.3" (default)
}

// TLSClient is how a line authenticates the center and itself.
type TLSClient struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
	MinVersion string `yaml:"min_version"`
}

// Ctl is the operator control listener.
type Ctl struct {
	Unix string `yaml:"unix"`
	// AllowedUIDs may run fxctl; empty: the daemon's own uid and root.
	AllowedUIDs []uint32 `yaml:"allowed_uids"`
}

// Log selects the log format and level.
type Log struct {
	Format string `yaml:"format"` // text | json
	Level  string `yaml:"level"`  // debug | info | warn | error
}

// Limits bound every queue and table; hitting one answers busy (code 14).
type Limits struct {
	MaxSessions           int `yaml:"max_sessions"`
	MaxInFlightPerSession int `yaml:"max_inflight_per_session"`
	MaxInFlightPerCenter  int `yaml:"max_inflight_per_center"`
	MaxFrameBytes         int `yaml:"max_frame_bytes"`
	// MaxConnections bounds app connections; more are closed on arrival.
	MaxConnections int `yaml:"max_connections"`
	// MaxSessionsPerApp bounds the open sessions of one app id (0: only max_sessions).
	MaxSessionsPerApp int `yaml:"max_sessions_per_app"`
	// MaxConnectionsPerApp bounds the connections carrying sessions of one
	// app id (0: only max_connections).
	MaxConnectionsPerApp int `yaml:"max_connections_per_app"`
	// IdleTimeout closes an app connection without sessions that sent
	// nothing for this long; ReadTimeout closes one that started a frame
	// and did not finish it (a slow sender holding a buffer).
	IdleTimeout Duration `yaml:"idle_timeout"`
	ReadTimeout Duration `yaml:"read_timeout"`
}

// Center configures one center module.
type Center struct {
	Lines []string `yaml:"lines"`
	// Timeout of one request; after it the app hears "timeout" and a cancel starts.
	Timeout Duration `yaml:"timeout"`
	// ReconcileDelay: after a center-initiated cutover (CARDNET 24-hour
	// operation) the daemon waits this long before the reconciliation request.
	ReconcileDelay Duration `yaml:"reconcile_delay"`
	// EchoInterval: an idle signed-on line sends an echo test this often.
	EchoInterval Duration `yaml:"echo_interval"`
	// CancelRetry: interval between repeats of an unanswered cancel.
	CancelRetry Duration `yaml:"cancel_retry"`
	// CancelMode for CARDNET timeouts: "reversal" (0400, repeated as 0401)
	// or "advice" (0420/0421 through the store-and-forward queue).
	CancelMode string `yaml:"cancel_mode"`
	// DrainTimeout bounds how long cutover waits for the closed date's
	// in-flight requests before reconciling.
	DrainTimeout Duration `yaml:"drain_timeout"`
	// ReconnectMin/Max bound the exponential backoff of a dropped line.
	// MACKeyFile (CARDNET): key of the DE128 message authentication code;
	// every message is signed and every inbound one must verify.
	MACKeyFile string `yaml:"mac_key_file"`
	// TLS, when set, runs the lines over TLS (client certificates optional).
	TLS          *TLSClient `yaml:"tls"`
	ReconnectMin Duration   `yaml:"reconnect_min"`
	ReconnectMax Duration   `yaml:"reconnect_max"`
}

// Config is the whole fxd.yaml.
type Config struct {
	DataDir string `yaml:"data_dir"`
	IPC     IPC    `yaml:"ipc"`
	Ctl     Ctl    `yaml:"ctl"`
	Admin   string `yaml:"admin"`
	// Metrics: false stops recording metrics (default true); /metrics then
	// answers 404. It exists to measure what recording costs.
	Metrics *bool `yaml:"metrics"`
	// AdminTLS, when set, serves the admin listener over HTTPS.
	AdminTLS *TLSServer `yaml:"admin_tls"`
	KeyFile  string     `yaml:"key_file"`
	// AppTokens names a file of per-app token hashes (see docs/CONFIG.md);
	// "" means sessions open without a credential (app id "").
	AppTokens string `yaml:"app_tokens"`
	// RetentionDays: after an in-balance reconciliation, records of business
	// dates more than this many days older are deleted; 0 keeps everything.
	RetentionDays int               `yaml:"retention_days"`
	AcquirerID    string            `yaml:"acquirer_id"`
	MerchantCode  string            `yaml:"merchant_code"`
	Log           Log               `yaml:"log"`
	Limits        Limits            `yaml:"limits"`
	Centers       map[string]Center `yaml:"centers"`
}

// Duration is a time.Duration written as "5s", "250ms", "5m".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Default returns the configuration used when fxd.yaml is absent or silent.
func Default() *Config {
	c := &Config{
		DataDir: "./data",
		IPC:     IPC{Unix: "fxd.sock", TCP: "127.0.0.1:7600"},
		Ctl:     Ctl{Unix: "ctl.sock"},
		KeyFile: "fxd.key",
		Centers: map[string]Center{
			CenterCardnet: {Lines: []string{"127.0.0.1:7700"}},
			CenterCafis:   {Lines: []string{"127.0.0.1:7800"}},
		},
	}
	c.EnsureDefaults()
	return c
}

// EnsureDefaults fills every unset value.
func (c *Config) EnsureDefaults() {
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.KeyFile == "" {
		c.KeyFile = "fxd.key"
	}
	if c.AcquirerID == "" {
		c.AcquirerID = "00000000001"
	}
	if c.MerchantCode == "" {
		c.MerchantCode = "FXSWITCH00001"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	l := &c.Limits
	if l.MaxSessions == 0 {
		l.MaxSessions = 20000
	}
	if l.MaxInFlightPerSession == 0 {
		l.MaxInFlightPerSession = 1024
	}
	if l.MaxInFlightPerCenter == 0 {
		l.MaxInFlightPerCenter = 65536
	}
	if l.MaxFrameBytes == 0 {
		l.MaxFrameBytes = 65536
	}
	if l.MaxConnections == 0 {
		l.MaxConnections = 20000
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = Duration(2 * time.Minute)
	}
	if l.ReadTimeout == 0 {
		l.ReadTimeout = Duration(10 * time.Second)
	}
	for name, cc := range c.Centers {
		cc.ensureDefaults()
		c.Centers[name] = cc
	}
}

func (cc *Center) ensureDefaults() {
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&cc.Timeout, 5*time.Second)
	def(&cc.ReconcileDelay, 5*time.Minute)
	def(&cc.EchoInterval, 30*time.Second)
	def(&cc.CancelRetry, 2*time.Second)
	def(&cc.DrainTimeout, 30*time.Second)
	def(&cc.ReconnectMin, 100*time.Millisecond)
	def(&cc.ReconnectMax, 10*time.Second)
	if cc.CancelMode == "" {
		cc.CancelMode = "reversal"
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate reports the first problem, naming the key.
func (c *Config) Validate() error {
	if len(c.Centers) == 0 {
		return invalid("centers: at least one center (cafis, cardnet) is required")
	}
	for name, cc := range c.Centers {
		if name != CenterCardnet && name != CenterCafis {
			return invalid("centers.%s: unknown center (known: cafis, cardnet)", name)
		}
		if len(cc.Lines) == 0 {
			return invalid("centers.%s.lines: at least one line address is required", name)
		}
		if len(cc.Lines) > 64 {
			return invalid("centers.%s.lines: at most 64 lines", name)
		}
		for _, a := range cc.Lines {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return invalid("centers.%s.lines: %q: %v", name, a, err)
			}
		}
		if cc.Timeout.D() < time.Millisecond {
			return invalid("centers.%s.timeout: must be at least 1ms", name)
		}
		if cc.CancelMode != "reversal" && cc.CancelMode != "advice" {
			return invalid("centers.%s.cancel_mode: %q (want reversal or advice)", name, cc.CancelMode)
		}
		if t := cc.TLS; t != nil {
			if (t.CertFile == "") != (t.KeyFile == "") {
				return invalid("centers.%s.tls: cert_file and key_file go together", name)
			}
			if _, err := TLSVersion(t.MinVersion); err != nil {
				return invalid("centers.%s.tls.min_version: %v", name, err)
			}
		}
		if cc.MACKeyFile != "" && name != CenterCardnet {
			return invalid("centers.%s.mac_key_file: only the CARDNET model carries a MAC (DE128)", name)
		}
		if cc.ReconnectMax < cc.ReconnectMin {
			return invalid("centers.%s.reconnect_max: below reconnect_min", name)
		}
	}
	if c.IPC.TCP != "" {
		if _, _, err := net.SplitHostPort(c.IPC.TCP); err != nil {
			return invalid("ipc.tcp: %q: %v", c.IPC.TCP, err)
		}
	}
	if t := c.IPC.TLS; t != nil {
		if t.CertFile == "" || t.KeyFile == "" {
			return invalid("ipc.tls: cert_file and key_file are required")
		}
		if _, err := TLSVersion(t.MinVersion); err != nil {
			return invalid("ipc.tls.min_version: %v", err)
		}
	}
	if t := c.AdminTLS; t != nil && (t.CertFile == "" || t.KeyFile == "") {
		return invalid("admin_tls: cert_file and key_file are required")
	}
	if c.Admin != "" {
		if _, _, err := net.SplitHostPort(c.Admin); err != nil {
			return invalid("admin: %q: %v", c.Admin, err)
		}
	}
	if c.IPC.Unix == "" && c.IPC.TCP == "" {
		return invalid("ipc: at least one of unix, tcp is required")
	}
	if c.RetentionDays < 0 {
		return invalid("retention_days: %d (want 0 to keep everything, or a number of days)", c.RetentionDays)
	}
	if len(c.AcquirerID) > 11 || !digits(c.AcquirerID) {
		return invalid("acquirer_id: %q: up to 11 digits", c.AcquirerID)
	}
	if len(c.MerchantCode) > 13 {
		return invalid("merchant_code: %q: at most 13 characters", c.MerchantCode)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return invalid("log.format: %q (want text or json)", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return invalid("log.level: %q (want debug, info, warn or error)", c.Log.Level)
	}
	l := c.Limits
	if l.MaxSessions < 1 || l.MaxInFlightPerSession < 1 || l.MaxInFlightPerCenter < 1 || l.MaxConnections < 1 || l.MaxSessionsPerApp < 0 || l.MaxConnectionsPerApp < 0 {
		return invalid("limits: every limit must be positive")
	}
	if l.MaxFrameBytes < 256 || l.MaxFrameBytes > 65536 {
		return invalid("limits.max_frame_bytes: %d (want 256..65536)", l.MaxFrameBytes)
	}
	return nil
}

// TLSVersion maps "1.2"/"1.3" ("" = 1.3) to the crypto/tls constant.
func TLSVersion(v string) (uint16, error) {
	switch v {
	case "", "1.3":
		return tls.VersionTLS13, nil
	case "1.2":
		return tls.VersionTLS12, nil
	}
	return 0, fmt.Errorf("%q (want 1.2 or 1.3)", v)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// Parse reads a YAML document; unknown keys are an error (a typo must not
// silently fall back to a default).
func Parse(data []byte) (*Config, error) {
	// Start from the defaults so an omitted key keeps its default while an
	// explicit "" still turns a listener off; centers are replaced, not merged.
	c := Default()
	c.Centers = nil
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file means all defaults
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.Centers == nil {
		c.Centers = Default().Centers
	}
	c.EnsureDefaults()
	return c, nil
}

// Load reads and parses path; a missing file is an error (use Default()).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data)
}

// MetricsEnabled reports whether metrics are recorded (the default).
func (c *Config) MetricsEnabled() bool { return c.Metrics == nil || *c.Metrics }

// Path resolves p against data_dir: absolute paths are kept, "" stays "".
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.DataDir, p)
}
