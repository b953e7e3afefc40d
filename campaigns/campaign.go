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
	"unicode"
	"unicode/utf8"

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

// Bounds of a campaign's fields, checked by Normalize (the API's 422 names the field).
const (
	MaxConcurrentLimit   = 10000          // max_concurrent: 1..10000 calls
	MaxCallsPerSecond    = 1000           // calls_per_second: 0.01..1000
	MaxAttemptsLimit     = 100            // max_attempts and a retry rule's max: up to 100
	MaxRetryAfterSeconds = 30 * 24 * 3600 // retry_after_seconds and after_seconds: up to 30 days
	MaxNameLen           = 200            // name: 1..200 characters
	MaxRefLen            = 100            // media_pool, caller_id_pool, flow, rule_pack, time_zone
	MaxScheduleBytes     = 64 << 10       // schedule: 64 KiB of JSON
)

// inRange returns the problem of a numeric field outside lo..hi.
func inRange[T int | float64](field string, v, lo, hi T) []string {
	if v < lo || v > hi {
		return []string{fmt.Sprintf("%s: %v is out of range; want %v..%v", field, v, lo, hi)}
	}
	return nil
}

// checkText returns the problem of a text field that is too long, not valid UTF-8 or
// holds control characters (PostgreSQL refuses NUL; a line break has no place in a name).
func checkText(field, v string, max int) []string {
	switch {
	case !utf8.ValidString(v):
		return []string{field + ": not valid UTF-8"}
	case utf8.RuneCountInString(v) > max:
		return []string{fmt.Sprintf("%s: %d characters; at most %d", field, utf8.RuneCountInString(v), max)}
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return []string{field + ": control characters are not allowed"}
	}
	return nil
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
	if c.AbandonTarget == 0 {
		c.AbandonTarget = 0.03
	}
	if c.AbandonHardCap == 0 {
		c.AbandonHardCap = 0.03
	}
	if c.RingTimeoutSeconds == 0 {
		c.RingTimeoutSeconds = 30
	}
	p = append(p, inRange("abandon_after_ms", c.AbandonAfterMs, 1, 60000)...)
	p = append(p, inRange("abandon_target", c.AbandonTarget, 0, 1)...)
	p = append(p, inRange("abandon_hard_cap", c.AbandonHardCap, 0, 1)...)
	p = append(p, inRange("max_concurrent", c.MaxConcurrent, 1, MaxConcurrentLimit)...)
	p = append(p, inRange("calls_per_second", c.CallsPerSecond, 0.01, MaxCallsPerSecond)...)
	p = append(p, inRange("max_attempts", c.MaxAttempts, 1, MaxAttemptsLimit)...)
	p = append(p, inRange("retry_after_seconds", c.RetryAfterSeconds, 0, MaxRetryAfterSeconds)...)
	p = append(p, inRange("ring_timeout_seconds", c.RingTimeoutSeconds, 1, 300)...)
	p = append(p, checkText("name", c.Name, MaxNameLen)...)
	for _, f := range []struct{ name, v string }{{"media_pool", c.MediaPool}, {"caller_id_pool", c.CallerIDPool},
		{"flow", c.Flow}, {"rule_pack", c.RulePack}, {"time_zone", c.TimeZone}} {
		p = append(p, checkText(f.name, f.v, MaxRefLen)...)
	}
	for _, f := range []struct{ name, v string }{{"prompt", c.Prompt}, {"abandon_prompt", c.AbandonPrompt}} {
		if f.v != "" {
			if err := media.CheckPrompt(f.v); err != nil {
				p = append(p, f.name+": "+err.Error())
			}
		}
	}
	if c.CallerID != "" {
		if err := media.CheckCallerIDNumber(c.CallerID); err != nil {
			p = append(p, "caller_id: "+err.Error())
		}
	}
	if len(c.Schedule) > MaxScheduleBytes {
		p = append(p, fmt.Sprintf("schedule: %d bytes; at most %d", len(c.Schedule), MaxScheduleBytes))
	}
	p = append(p, c.RetryRules.problems()...)
	if c.RetryRules == nil {
		c.RetryRules = RetryRules{}
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
		p = append(p, inRange("retry_rules."+o+".after_seconds", rule.AfterSeconds, 0, MaxRetryAfterSeconds)...)
		p = append(p, inRange("retry_rules."+o+".max", rule.Max, 0, MaxAttemptsLimit)...)
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
