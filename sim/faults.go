package sim

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"
)

// Action is what a fault does to a message or a line.
type Action string

// Fault actions.
const (
	// ActDelay answers after delay_ms, or after a duration drawn uniformly from
	// [delay_ms, max_delay_ms] when max_delay_ms is set. The request is
	// processed at once; only the answer waits.
	ActDelay Action = "delay"
	// ActLate is a fixed delay meant to land after the daemon's timeout:
	// processed at once, answered after delay_ms.
	ActLate Action = "late"
	// ActDropRequest ignores the request: no state change, no answer.
	ActDropRequest Action = "drop_request"
	// ActDropResponse processes the request (state changes, totals count) but
	// never answers: the daemon cannot know the outcome.
	ActDropResponse Action = "drop_response"
	// ActDuplicate sends the answer twice.
	ActDuplicate Action = "duplicate"
	// ActCorrupt processes the request and sends a frame of the right length
	// whose message cannot be decoded (MTI / kind overwritten with "ZZZZ").
	ActCorrupt Action = "corrupt"
	// ActDisconnect closes the line on receipt, without processing.
	ActDisconnect Action = "disconnect"
	// ActRefuse closes new connections to the center while the rule is active
	// (see start_ms / for_ms); kind does not apply.
	ActRefuse Action = "refuse"
)

// MaxFaults bounds the rules of one FaultSet.
const MaxFaults = 64

// Fault is one fault rule.
type Fault struct {
	// Center is "cardnet", "cafis" or empty for both.
	Center string `json:"center,omitempty" yaml:"center,omitempty"`
	// Kind is the CARDNET MTI ("0200", "0401") or CAFIS kind code ("0100")
	// of the request; empty matches every request.
	Kind   string `json:"kind,omitempty" yaml:"kind,omitempty"`
	Action Action `json:"action" yaml:"action"`
	// Rate is the probability that a matching message is hit, in [0, 1];
	// 0 (omitted) means every matching message.
	Rate float64 `json:"rate,omitempty" yaml:"rate,omitempty"`
	// DelayMs is the fixed delay (delay, late), or the lower bound of a random delay.
	DelayMs int `json:"delay_ms,omitempty" yaml:"delay_ms,omitempty"`
	// MaxDelayMs, when > DelayMs, makes the delay random in [DelayMs, MaxDelayMs].
	MaxDelayMs int `json:"max_delay_ms,omitempty" yaml:"max_delay_ms,omitempty"`
	// Skip lets the first Skip matching messages through untouched.
	Skip int `json:"skip,omitempty" yaml:"skip,omitempty"`
	// Count stops the rule after it hit Count messages (or connections); 0: no limit.
	Count int `json:"count,omitempty" yaml:"count,omitempty"`
	// StartMs and ForMs bound when the rule is active, relative to the moment
	// the fault set was installed; ForMs 0 means until replaced.
	StartMs int `json:"start_ms,omitempty" yaml:"start_ms,omitempty"`
	ForMs   int `json:"for_ms,omitempty" yaml:"for_ms,omitempty"`
}

// FaultSet is the list of fault rules; the first rule that hits a message decides.
type FaultSet struct {
	Faults []Fault `json:"faults" yaml:"faults"`
}

// ParseFaults parses a fault set from YAML or JSON.
func ParseFaults(b []byte) (FaultSet, error) {
	var fs FaultSet
	if err := yaml.Unmarshal(b, &fs); err != nil {
		return FaultSet{}, fmt.Errorf("%w: %v", ErrInvalidFaults, err)
	}
	if err := fs.Validate(); err != nil {
		return FaultSet{}, err
	}
	return fs, nil
}

// LoadFaults reads a fault set file (YAML or JSON).
func LoadFaults(path string) (FaultSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return FaultSet{}, fmt.Errorf("%w: %w", ErrInvalidFaults, err)
	}
	return ParseFaults(b)
}

// Validate checks every rule.
func (fs FaultSet) Validate() error {
	if len(fs.Faults) > MaxFaults {
		return fmt.Errorf("%w: %d rules (max %d)", ErrInvalidFaults, len(fs.Faults), MaxFaults)
	}
	for i, f := range fs.Faults {
		if err := f.validate(); err != nil {
			return fmt.Errorf("%w: rule %d: %s", ErrInvalidFaults, i, err)
		}
	}
	return nil
}

func (f Fault) validate() error {
	switch f.Center {
	case "", CenterCardnet, CenterCafis:
	default:
		return fmt.Errorf("center %q", f.Center)
	}
	if f.Kind != "" && (len(f.Kind) != 4 || !allDigits(f.Kind)) {
		return fmt.Errorf("kind %q (4 digits)", f.Kind)
	}
	switch f.Action {
	case ActDelay:
		if f.DelayMs <= 0 && f.MaxDelayMs <= 0 {
			return fmt.Errorf("delay needs delay_ms or max_delay_ms")
		}
	case ActLate:
		if f.DelayMs <= 0 {
			return fmt.Errorf("late needs delay_ms > 0")
		}
	case ActDropRequest, ActDropResponse, ActDuplicate, ActCorrupt, ActDisconnect, ActRefuse:
	default:
		return fmt.Errorf("action %q", f.Action)
	}
	if f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("rate %v out of [0, 1]", f.Rate)
	}
	const maxMs = 24 * 3600 * 1000
	for _, v := range []int{f.DelayMs, f.MaxDelayMs, f.StartMs, f.ForMs} {
		if v < 0 || v > maxMs {
			return fmt.Errorf("duration %d ms out of [0, 24h]", v)
		}
	}
	if f.MaxDelayMs != 0 && f.MaxDelayMs < f.DelayMs {
		return fmt.Errorf("max_delay_ms %d < delay_ms %d", f.MaxDelayMs, f.DelayMs)
	}
	if f.Skip < 0 || f.Count < 0 {
		return fmt.Errorf("negative skip or count")
	}
	return nil
}

// decision is the fault applied to one message.
type decision struct {
	action Action
	delay  time.Duration
	rule   int
}

// ruleState counts the messages a rule saw and hit.
type ruleState struct {
	matched int
	hit     int
	// seen counts occurrences of each message identity, so that a message
	// sent again (same identity) draws a fresh decision instead of repeating
	// the first one forever. Cleared when it reaches maxSeen.
	seen map[uint64]uint32
}

const maxSeen = 1 << 20

// faultEngine applies a FaultSet. Decisions are pure functions of the seed,
// the rule, the message identity (center, MTI/kind, STAN/serial, date) and
// how many times that identity was seen, so the same traffic meets the same
// faults whatever the interleaving of lines.
type faultEngine struct {
	seed  uint64
	clock Clock

	mu        sync.Mutex
	set       FaultSet
	installed time.Time
	state     []ruleState
	// empty lets the event loops skip the mutex while no rule is installed
	// (the common, high-throughput case).
	empty atomic.Bool
}

func newFaultEngine(seed int64, clock Clock, fs FaultSet) *faultEngine {
	e := &faultEngine{seed: uint64(seed), clock: clock}
	e.install(fs)
	return e
}

func (e *faultEngine) install(fs FaultSet) {
	cp := FaultSet{Faults: append([]Fault(nil), fs.Faults...)}
	e.mu.Lock()
	e.set = cp
	e.installed = e.clock.Now()
	e.state = make([]ruleState, len(cp.Faults))
	e.empty.Store(len(cp.Faults) == 0)
	e.mu.Unlock()
}

func (e *faultEngine) current() FaultSet {
	e.mu.Lock()
	defer e.mu.Unlock()
	return FaultSet{Faults: append([]Fault{}, e.set.Faults...)}
}

// mix is splitmix64: a fixed mixing function, stable across processes and
// Go versions, so a seed replays the same decisions anywhere.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// identity is a stable 64-bit hash of a message identity (FNV-1a then mixed).
func identity(center string, kind, key, date []byte) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(center); i++ {
		h ^= uint64(center[i])
		h *= 1099511628211
	}
	for _, s := range [...][]byte{kind, key, date} {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return mix(h)
}

func (e *faultEngine) active(f *Fault, now time.Time) bool {
	el := now.Sub(e.installed)
	start := time.Duration(f.StartMs) * time.Millisecond
	if el < start {
		return false
	}
	return f.ForMs == 0 || el < start+time.Duration(f.ForMs)*time.Millisecond
}

// draw returns a uniform float in [0,1) and a second word for delays.
func (e *faultEngine) draw(rule int, id uint64, occ uint32) (float64, uint64) {
	x := mix(e.seed ^ mix(uint64(rule)+1) ^ id ^ mix(uint64(occ)<<1|1))
	return float64(x>>11) / (1 << 53), mix(x)
}

// decide returns the fault for one request (action "" when none).
func (e *faultEngine) decide(center string, kind, key, date []byte) decision {
	if e.empty.Load() {
		return decision{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	var id uint64
	idDone := false
	for i := range e.set.Faults {
		f := &e.set.Faults[i]
		if f.Action == ActRefuse || (f.Center != "" && f.Center != center) || (f.Kind != "" && f.Kind != string(kind)) {
			continue
		}
		if !e.active(f, now) {
			continue
		}
		st := &e.state[i]
		if f.Count > 0 && st.hit >= f.Count {
			continue
		}
		st.matched++
		if st.matched <= f.Skip {
			continue
		}
		if !idDone {
			id, idDone = identity(center, kind, key, date), true
		}
		if st.seen == nil || len(st.seen) >= maxSeen {
			st.seen = make(map[uint64]uint32)
		}
		occ := st.seen[id]
		st.seen[id] = occ + 1
		u, w := e.draw(i, id, occ)
		if f.Rate > 0 && u >= f.Rate {
			continue
		}
		st.hit++
		d := decision{action: f.Action, rule: i}
		if f.Action == ActDelay || f.Action == ActLate {
			d.delay = time.Duration(f.DelayMs) * time.Millisecond
			if f.Action == ActDelay && f.MaxDelayMs > f.DelayMs {
				span := uint64(f.MaxDelayMs-f.DelayMs) + 1
				d.delay = time.Duration(f.DelayMs+int(w%span)) * time.Millisecond
			}
		}
		return d
	}
	return decision{}
}

// refuse reports whether a new connection (the seq-th to this center) is to be refused.
func (e *faultEngine) refuse(center string, seq uint64) (bool, int) {
	if e.empty.Load() {
		return false, -1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	for i := range e.set.Faults {
		f := &e.set.Faults[i]
		if f.Action != ActRefuse || (f.Center != "" && f.Center != center) || !e.active(f, now) {
			continue
		}
		st := &e.state[i]
		if f.Count > 0 && st.hit >= f.Count {
			continue
		}
		st.matched++
		if st.matched <= f.Skip {
			continue
		}
		u, _ := e.draw(i, identity(center, []byte("conn"), nil, nil), uint32(seq))
		if f.Rate > 0 && u >= f.Rate {
			continue
		}
		st.hit++
		return true, i
	}
	return false, -1
}
