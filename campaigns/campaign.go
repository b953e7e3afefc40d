package campaigns

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/callplane/callplane/campaigns/compliance"
	"github.com/callplane/callplane/media"
)

// Dial modes.
const (
	ModeBroadcast   = "broadcast"   // no agents: answered calls hear the prompt
	ModePreview     = "preview"     // an agent reviews the contact, then dials or skips
	ModeProgressive = "progressive" // one call per ready agent
	ModePredictive  = "predictive"  // calls ahead of free agents, within an abandon budget
)

// agentMode tells whether a dial mode bridges answered calls to agents.
func agentMode(mode string) bool { return mode != ModeBroadcast }

// Campaign states.
const (
	StateDraft     = "draft"
	StateRunning   = "running"
	StatePaused    = "paused"
	StateStopped   = "stopped"
	StateCompleted = "completed"
)

// Lead statuses: pending and dialing are open; the others are final (dnc: skipped, on a do-not-call list).
const (
	LeadPending   = "pending"
	LeadDialing   = "dialing"
	LeadAnswered  = "answered"
	LeadExhausted = "exhausted"
	LeadInvalid   = "invalid"
	LeadDNC       = "dnc"
)

// Campaign is one dialing job and its limits.
type Campaign struct {
	ID                 int64      `db:"id" json:"id"`
	Name               string     `db:"name" json:"name"`
	DialMode           string     `db:"dial_mode" json:"dial_mode"`
	State              string     `db:"state" json:"state"`
	MaxConcurrent      int        `db:"max_concurrent" json:"max_concurrent"`
	CallsPerSecond     float64    `db:"calls_per_second" json:"calls_per_second"`
	MaxAttempts        int        `db:"max_attempts" json:"max_attempts"`
	RetryAfterSeconds  int        `db:"retry_after_seconds" json:"retry_after_seconds"`
	RetryRules         RetryRules `db:"retry_rules" json:"retry_rules"`
	RingTimeoutSeconds int        `db:"ring_timeout_seconds" json:"ring_timeout_seconds"`
	MediaPool          string     `db:"media_pool" json:"media_pool"`
	Prompt             string     `db:"prompt" json:"prompt"`
	CallerID           string     `db:"caller_id" json:"caller_id"`
	// CallerIDPool names the pool of numbers presented to callees ("": CallerID).
	CallerIDPool string `db:"caller_id_pool" json:"caller_id_pool"`
	// Flow names the IVR flow answered broadcast calls run ("": play Prompt and hang up).
	Flow string `db:"flow" json:"flow"`
	// RulePack names the calling-hours rules (us, uk, cn, fr, ...); "" applies none.
	RulePack string `db:"rule_pack" json:"rule_pack"`
	// TimeZone is the campaign's own zone: for leads whose zone is unknown, and its schedule.
	TimeZone string          `db:"time_zone" json:"time_zone"`
	Schedule json.RawMessage `db:"schedule" json:"schedule"`
	// AbandonAfterMs: an answered call with no agent this long after the answer is
	// abandoned (default 2000). AbandonTarget is the abandon rate predictive pacing spends
	// up to, never above AbandonHardCap (defaults 0.03). AbandonPrompt is played to an
	// abandoned call (the compliance message; default: the dialer's).
	AbandonAfterMs int       `db:"abandon_after_ms" json:"abandon_after_ms"`
	AbandonTarget  float64   `db:"abandon_target" json:"abandon_target"`
	AbandonHardCap float64   `db:"abandon_hard_cap" json:"abandon_hard_cap"`
	AbandonPrompt  string    `db:"abandon_prompt" json:"abandon_prompt"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time `db:"updated_at" json:"updated_at"`
}

// Errors the API maps to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// ValidationError lists what is wrong with a request, field by field.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string { return "invalid: " + strings.Join(e.Problems, "; ") }

// Normalize fills defaults and validates a new campaign.
func (c *Campaign) Normalize() error {
	var p []string
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" {
		p = append(p, "name: required")
	}
	if c.DialMode == "" {
		c.DialMode = ModeBroadcast
	}
	if !slices.Contains([]string{ModeBroadcast, ModePreview, ModeProgressive, ModePredictive}, c.DialMode) {
		p = append(p, fmt.Sprintf("dial_mode: %q is not supported (broadcast, preview, progressive, predictive)", c.DialMode))
	}
	if c.AbandonAfterMs == 0 {
		c.AbandonAfterMs = 2000
	}
	if c.AbandonAfterMs < 0 || c.AbandonAfterMs > 60000 {
		p = append(p, "abandon_after_ms: must be within 1..60000")
	}
	if c.AbandonTarget == 0 {
		c.AbandonTarget = 0.03
	}
	if c.AbandonHardCap == 0 {
		c.AbandonHardCap = 0.03
	}
	if c.AbandonTarget < 0 || c.AbandonTarget > 1 || c.AbandonHardCap < 0 || c.AbandonHardCap > 1 {
		p = append(p, "abandon_target, abandon_hard_cap: must be within 0..1")
	}
	if c.MaxConcurrent <= 0 {
		p = append(p, "max_concurrent: must be > 0")
	}
	if c.CallsPerSecond <= 0 {
		p = append(p, "calls_per_second: must be > 0")
	}
	if c.MaxAttempts <= 0 {
		p = append(p, "max_attempts: must be > 0")
	}
	if c.RetryAfterSeconds < 0 {
		p = append(p, "retry_after_seconds: must be >= 0")
	}
	p = append(p, c.RetryRules.problems()...)
	if c.RetryRules == nil {
		c.RetryRules = RetryRules{}
	}
	if c.RingTimeoutSeconds == 0 {
		c.RingTimeoutSeconds = 30
	}
	if c.RingTimeoutSeconds < 0 || c.RingTimeoutSeconds > 300 {
		p = append(p, "ring_timeout_seconds: must be within 1..300")
	}
	if c.MediaPool == "" {
		c.MediaPool = "default"
	}
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" {
		p = append(p, fmt.Sprintf("time_zone: %q is not an IANA time zone such as Asia/Shanghai", c.TimeZone))
	}
	if len(c.Schedule) == 0 {
		c.Schedule = json.RawMessage("{}")
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// transition returns the state an action leads to from the current state.
func transition(state, action string) (string, error) {
	allowed := map[string][]string{
		"start": {StateDraft, StatePaused, StateStopped},
		"pause": {StateRunning},
		"stop":  {StateDraft, StateRunning, StatePaused},
	}
	to := map[string]string{"start": StateRunning, "pause": StatePaused, "stop": StateStopped}
	from, ok := allowed[action]
	if !ok {
		return "", fmt.Errorf("unknown action %q: %w", action, ErrNotFound)
	}
	for _, s := range from {
		if s == state {
			return to[action], nil
		}
	}
	if state == to[action] {
		return state, nil // idempotent
	}
	return "", fmt.Errorf("cannot %s a campaign that is %s: %w", action, state, ErrConflict)
}

// RetryRule says when a lead is tried again after an attempt ended with one outcome, and
// how many attempts may end that way before the lead is given up.
type RetryRule struct {
	AfterSeconds int `json:"after_seconds"`
	// After, when set, replaces AfterSeconds: a duration ("10m", "2h"), "next_day" (the
	// first calling hour of the next day in the campaign's zone, 09:00 without a rule
	// pack) or "next_day 10:00".
	After string `json:"after,omitempty"`
	// Max caps the attempts ending with this outcome (0: only max_attempts caps them).
	Max int `json:"max,omitempty"`
}

// RetryRules maps outcomes (busy, no_answer, ...) to their rule; it is stored as JSONB.
type RetryRules map[string]RetryRule

// Value stores the rules as JSON.
func (r RetryRules) Value() (driver.Value, error) {
	if r == nil {
		return "{}", nil
	}
	b, err := json.Marshal(r)
	return string(b), err
}

// Scan reads the rules from JSON.
func (r *RetryRules) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("retry rules: cannot scan %T", src)
	}
	return json.Unmarshal(b, r)
}

// rule returns the delay before the next attempt after outcome and that outcome's cap.
func (c *Campaign) rule(o media.Outcome) (time.Duration, int) {
	return c.retry(o, time.Time{}, nil)
}

// retry is rule for an attempt ended at now; pack (may be nil) gives next_day its hour.
func (c *Campaign) retry(o media.Outcome, now time.Time, pack *compliance.Pack) (time.Duration, int) {
	r, ok := c.RetryRules[string(o)]
	if !ok {
		return time.Duration(c.RetryAfterSeconds) * time.Second, 0
	}
	if r.After != "" && !now.IsZero() {
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		if next := (compliance.RetryRule{Outcome: string(o), After: r.After}).Next(now, loc, pack); !next.IsZero() {
			return next.Sub(now), r.Max
		}
	}
	return time.Duration(r.AfterSeconds) * time.Second, r.Max
}

func (r RetryRules) problems() []string {
	var p []string
	for o, rule := range r {
		if !media.Outcome(o).Retryable() || !knownOutcome(media.Outcome(o)) {
			p = append(p, fmt.Sprintf("retry_rules.%s: not a retryable outcome (%s)", o, retryableList))
		}
		if rule.AfterSeconds < 0 || rule.Max < 0 {
			p = append(p, fmt.Sprintf("retry_rules.%s: after_seconds and max must be >= 0", o))
		}
		if rule.After != "" {
			if err := (compliance.RetryRule{Outcome: o, After: rule.After}).Validate(); err != nil {
				p = append(p, fmt.Sprintf("retry_rules.%s.after: %v", o, err))
			}
		}
	}
	sort.Strings(p)
	return p
}

var retryable = []media.Outcome{media.OutcomeNoAnswer, media.OutcomeBusy, media.OutcomeRejected,
	media.OutcomeUnavailable, media.OutcomeCanceled, media.OutcomeFailed, media.OutcomeNodeLost}

var retryableList = func() string {
	s := make([]string, len(retryable))
	for i, o := range retryable {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}()

func knownOutcome(o media.Outcome) bool { return slices.Contains(retryable, o) }
