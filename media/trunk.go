package media

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// TrunkFailure reports whether a call's end points at the trunk (carrier gateway) rather
// than the callee: it failed before any ringing or answer with a cause a gateway or an
// overloaded network gives. Such an attempt is placed again on another trunk and not
// charged to the contact.
func TrunkFailure(h Hangup) bool {
	if h.Answered || h.Ringing || h.NodeLost {
		return false
	}
	if h.SIPCode == 503 || h.SIPCode == 502 || h.SIPCode == 504 {
		return true
	}
	switch h.Cause.Code {
	case CauseNormalCircuitCongestion, CauseNetworkOutOfOrder, CauseNormalTemporaryFailure,
		CauseSwitchCongestion, CauseRecoveryOnTimerExpire, causeServiceUnavailable, causeGatewayDown:
		return true
	}
	return false
}

const (
	causeServiceUnavailable = 63
	causeGatewayDown        = 609 // FreeSWITCH: the sofia gateway is down
)

// TrunkConfig is one carrier trunk, reachable from every node through the dial template of
// the node's kind.
type TrunkConfig struct {
	Name string
	// Templates maps a node kind to its dial template ({number}, {e164}).
	Templates map[Kind]string
	// MaxCalls caps the trunk's concurrent calls (0: no cap); CallsPerSecond its call rate.
	MaxCalls       int
	CallsPerSecond float64
	// Priority orders the trunks: the lowest number is used first.
	Priority int
	// OpenAfter failures in a row open the breaker (default 5); it stays open for
	// OpenFor (default 30s), then lets one call through to probe.
	OpenAfter int
	OpenFor   time.Duration
}

// Breaker states.
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half_open"
)

// TrunkStatus is a trunk's state for the API.
type TrunkStatus struct {
	Name      string    `json:"name"`
	Priority  int       `json:"priority"`
	State     string    `json:"state"`
	Failures  int       `json:"consecutive_failures"`
	Active    int       `json:"active_calls"`
	MaxCalls  int       `json:"max_calls"`
	Calls     uint64    `json:"calls"`
	Failed    uint64    `json:"failed"`
	OpenedAt  time.Time `json:"opened_at,omitzero"`
	OpenUntil time.Time `json:"open_until,omitzero"`
}

// Trunks chooses a trunk for each call: the first by priority whose breaker lets calls
// through and which has room. A trunk whose calls fail OpenAfter times in a row is opened
// like a circuit breaker; after OpenFor one probe call goes through, and its result
// closes or reopens it. Safe for concurrent use; time comes as arguments.
type Trunks struct {
	mu     sync.Mutex
	trunks []*trunk
	calls  map[string]*trunk
}

type trunk struct {
	cfg       TrunkConfig
	failures  int
	openUntil time.Time
	openedAt  time.Time
	probing   bool
	active    int
	tokens    float64
	refilled  time.Time
	calls     uint64
	failed    uint64
}

// NewTrunks validates the trunks and returns the chooser; none configured is valid (the
// nodes' own dial templates apply).
func NewTrunks(cfgs []TrunkConfig) (*Trunks, error) {
	t := &Trunks{calls: map[string]*trunk{}}
	seen := map[string]bool{}
	for i, c := range cfgs {
		if c.Name == "" || seen[c.Name] {
			return nil, fmt.Errorf("trunks[%d]: name must be set and unique", i)
		}
		seen[c.Name] = true
		if len(c.Templates) == 0 {
			return nil, fmt.Errorf("trunks[%d] %s: templates: give the dial template per node kind", i, c.Name)
		}
		if c.OpenAfter <= 0 {
			c.OpenAfter = 5
		}
		if c.OpenFor <= 0 {
			c.OpenFor = 30 * time.Second
		}
		t.trunks = append(t.trunks, &trunk{cfg: c, tokens: max(c.CallsPerSecond, 1)})
	}
	slices.SortStableFunc(t.trunks, func(a, b *trunk) int { return a.cfg.Priority - b.cfg.Priority })
	return t, nil
}

// Len is the number of trunks.
func (t *Trunks) Len() int {
	if t == nil {
		return 0
	}
	return len(t.trunks)
}

// Acquire picks a trunk for callID at now and counts the call on it; ok is false when no
// trunk can take a call now.
func (t *Trunks) Acquire(callID string, now time.Time) (name string, templates map[Kind]string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.trunks {
		halfOpen := !tr.openUntil.IsZero()
		if halfOpen && (now.Before(tr.openUntil) || tr.probing) {
			continue
		}
		if tr.cfg.MaxCalls > 0 && tr.active >= tr.cfg.MaxCalls {
			continue
		}
		if tr.cfg.CallsPerSecond > 0 {
			if el := now.Sub(tr.refilled); el > 0 {
				tr.tokens = min(tr.tokens+el.Seconds()*tr.cfg.CallsPerSecond, max(tr.cfg.CallsPerSecond, 1))
				tr.refilled = now
			}
			if tr.tokens < 1 {
				continue
			}
			tr.tokens--
		}
		// Half-open: this call probes. Marked only once the call is taken, so a trunk
		// that is full or out of tokens now is probed by a later call.
		tr.probing = halfOpen
		tr.active++
		tr.calls++
		t.calls[callID] = tr
		return tr.cfg.Name, tr.cfg.Templates, true
	}
	return "", nil, false
}

// Release ends callID on its trunk: failed tells whether the trunk is to blame
// (TrunkFailure); it reports whether the trunk's breaker opened now.
func (t *Trunks) Release(callID string, failed bool, now time.Time) (opened bool) {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tr := t.calls[callID]
	if tr == nil {
		return false
	}
	delete(t.calls, callID)
	tr.active--
	if !failed {
		tr.failures, tr.probing, tr.openUntil, tr.openedAt = 0, false, time.Time{}, time.Time{}
		return false
	}
	tr.failed++
	tr.failures++
	if tr.probing || (tr.openUntil.IsZero() && tr.failures >= tr.cfg.OpenAfter) {
		tr.probing = false
		tr.openUntil, tr.openedAt = now.Add(tr.cfg.OpenFor), now
		return true
	}
	return false
}

// Status lists the trunks by priority at now.
func (t *Trunks) Status(now time.Time) []TrunkStatus {
	if t == nil {
		return []TrunkStatus{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]TrunkStatus, 0, len(t.trunks))
	for _, tr := range t.trunks {
		st := TrunkStatus{Name: tr.cfg.Name, Priority: tr.cfg.Priority, State: BreakerClosed, Failures: tr.failures,
			Active: tr.active, MaxCalls: tr.cfg.MaxCalls, Calls: tr.calls, Failed: tr.failed}
		if !tr.openUntil.IsZero() {
			st.State, st.OpenedAt, st.OpenUntil = BreakerOpen, tr.openedAt, tr.openUntil
			if !now.Before(tr.openUntil) {
				st.State = BreakerHalfOpen
			}
		}
		out = append(out, st)
	}
	return out
}
