package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// PressModel is how simulated callees answer IVR prompts: which keys they press after a
// prompt and how long they take. Like Model it is immutable once built and draws its
// randomness from the caller's *rand.Rand.
type PressModel struct {
	// Digits maps what a callee presses after a prompt ("1", "9", or several keys such as
	// "1234#") to its probability, 0..1. The rest, 1 minus the sum, press nothing and the
	// prompt times out.
	Digits map[string]float64
	// DelayMedian and DelaySigma parameterize the lognormal time from the end of the
	// prompt to the press.
	DelayMedian time.Duration
	DelaySigma  float64
	// Script forces the keys of a destination (digits without '+') at every prompt:
	// scripted callees for tests. "" presses nothing.
	Script map[string]string
}

// DefaultPress is a plausible broadcast press-1 audience: 8% press 1, 3% press 9 (opt
// out), 2% press a key the menu does not know; the median press comes 2 s after the prompt.
func DefaultPress() PressModel {
	return PressModel{
		Digits:      map[string]float64{"1": 0.08, "9": 0.03, "5": 0.02},
		DelayMedian: 2 * time.Second,
		DelaySigma:  0.5,
	}
}

// Validate reports a model that cannot be sampled.
func (m PressModel) Validate() error {
	sum := 0.0
	for d, p := range m.Digits {
		if !validKeys(d) {
			return fmt.Errorf("press %q: want keys 0-9, * and #", d)
		}
		if p < 0 || p > 1 {
			return fmt.Errorf("press %q probability %v: must be within 0..1", d, p)
		}
		sum += p
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("press probabilities sum to %v: must not exceed 1", sum)
	}
	if m.DelayMedian < 0 || m.DelaySigma < 0 {
		return fmt.Errorf("press delay distribution must not be negative")
	}
	for n, d := range m.Script {
		if d != "" && !validKeys(d) {
			return fmt.Errorf("script for %s: %q: want keys 0-9, * and #", n, d)
		}
	}
	return nil
}

func validKeys(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789*#", c) {
			return false
		}
	}
	return true
}

// Press samples what the callee at number (E.164 with or without '+') does after a
// prompt: the keys pressed and how long after the prompt, or ok false when they press
// nothing and the prompt times out. A scripted number always presses its script.
func (m PressModel) Press(r *rand.Rand, number string) (digits string, after time.Duration, ok bool) {
	after = lognormal(r, m.DelayMedian, m.DelaySigma)
	if d, scripted := m.Script[strings.TrimPrefix(number, "+")]; scripted {
		if d == "" {
			return "", 0, false
		}
		return d, after, true
	}
	// Keys in a fixed order, so that a seed gives the same presses on every run.
	keys := make([]string, 0, len(m.Digits))
	for d := range m.Digits {
		keys = append(keys, d)
	}
	slices.Sort(keys)
	u := r.Float64()
	for _, d := range keys {
		if u < m.Digits[d] {
			return d, after, true
		}
		u -= m.Digits[d]
	}
	return "", 0, false
}
