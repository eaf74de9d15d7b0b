package sim

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Rules are the deterministic approve/decline rules of both centers. CARDNET
// answers the two-digit code; CAFIS the same code as a three-digit result
// ("51" → "051").
type Rules struct {
	// AmountSuffix maps a suffix of the decimal amount to a decline code;
	// the longest matching suffix wins. Default: {"51": "51"} (insufficient funds).
	AmountSuffix map[string]string `json:"amount_suffix" yaml:"amount_suffix"`
	// BlockedPANs are declined with BlockedCode whatever the amount.
	BlockedPANs []string `json:"blocked_pans" yaml:"blocked_pans"`
	// BlockedCode is the answer for a blocked PAN. Default "05" (do not honour).
	BlockedCode string `json:"blocked_code" yaml:"blocked_code"`

	blocked map[string]struct{}
}

// DefaultBlockedPAN is on the default block list.
const DefaultBlockedPAN = "4000000000000002"

// DefaultRules returns the documented default rules.
func DefaultRules() Rules {
	return Rules{
		AmountSuffix: map[string]string{"51": "51"},
		BlockedPANs:  []string{DefaultBlockedPAN},
		BlockedCode:  "05",
	}
}

// LoadRules reads rules from a YAML or JSON file. A key that is present
// replaces its default entirely (amount_suffix: {} means no amount rule);
// omitted keys keep their defaults.
func LoadRules(path string) (Rules, error) {
	var r Rules
	b, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("%w: %w", ErrInvalidRules, err)
	}
	if err := yaml.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%w: %s: %v", ErrInvalidRules, path, err)
	}
	def := DefaultRules()
	if r.AmountSuffix == nil {
		r.AmountSuffix = def.AmountSuffix
	}
	if r.BlockedPANs == nil {
		r.BlockedPANs = def.BlockedPANs
	}
	if r.BlockedCode == "" {
		r.BlockedCode = def.BlockedCode
	}
	return r, r.Validate()
}

// Validate checks the codes and builds the PAN index.
func (r *Rules) Validate() error {
	for suf, code := range r.AmountSuffix {
		if suf == "" || !allDigits(suf) || len(suf) > 12 {
			return fmt.Errorf("%w: amount suffix %q", ErrInvalidRules, suf)
		}
		if !isDeclineCode(code) {
			return fmt.Errorf("%w: code %q for suffix %q (two digits, not 00)", ErrInvalidRules, code, suf)
		}
	}
	if len(r.BlockedPANs) > 0 && !isDeclineCode(r.BlockedCode) {
		return fmt.Errorf("%w: blocked code %q (two digits, not 00)", ErrInvalidRules, r.BlockedCode)
	}
	r.blocked = make(map[string]struct{}, len(r.BlockedPANs))
	for _, p := range r.BlockedPANs {
		if len(p) < 12 || len(p) > 19 || !allDigits(p) {
			return fmt.Errorf("%w: blocked PAN of %d characters (12-19 digits)", ErrInvalidRules, len(p))
		}
		r.blocked[p] = struct{}{}
	}
	return nil
}

// Decide returns the two-digit response code for a purchase / refund /
// authorization of amount on pan: "00" approves.
func (r *Rules) Decide(pan string, amount int64) string {
	if _, ok := r.blocked[pan]; ok {
		return r.BlockedCode
	}
	if len(r.AmountSuffix) == 0 {
		return "00"
	}
	var buf [20]byte
	a := strconv.AppendInt(buf[:0], amount, 10)
	code, best := "00", 0
	for suf, c := range r.AmountSuffix {
		if len(suf) > best && strings.HasSuffix(string(a), suf) {
			code, best = c, len(suf)
		}
	}
	return code
}

func isDeclineCode(c string) bool { return len(c) == 2 && allDigits(c) && c != "00" }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
