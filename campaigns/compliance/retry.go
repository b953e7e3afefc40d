package compliance

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// RetryRule says when a number is tried again after an attempt ended with Outcome.
type RetryRule struct {
	// Outcome is the attempt outcome the rule applies to ("busy", "no_answer").
	Outcome string `yaml:"outcome" json:"outcome"`
	// After is the wait: a Go duration ("10m", "2h"), "next_day" (the next local day at
	// the start of the pack's first range that weekday, else 09:00) or "next_day HH:MM".
	After string `yaml:"after" json:"after"`
	// Max is how many retries the outcome allows; 0 means no limit but the caps.
	Max int `yaml:"max" json:"max"`
}

// Validate checks the rule; errors name the outcome and field.
func (r RetryRule) Validate() error {
	if strings.TrimSpace(r.Outcome) == "" {
		return errors.New("retry: outcome: empty")
	}
	if _, err := parseAfter(r.After); err != nil {
		return fmt.Errorf("retry %s: after %q: %w", r.Outcome, r.After, err)
	}
	if r.Max < 0 {
		return fmt.Errorf("retry %s: max: %d is negative", r.Outcome, r.Max)
	}
	return nil
}

// Exhausted reports whether retries, the retries already made for this outcome, uses up Max.
func (r RetryRule) Exhausted(retries int) bool { return r.Max > 0 && retries >= r.Max }

// Next returns when to retry after an attempt at last, for a callee in loc (UTC when
// nil). A duration is added to last as elapsed time; next_day is read on loc's wall clock
// (a time in a spring-forward gap moves to the end of the gap). p, which may be nil,
// gives next_day's default time. Next does not check calling windows: the dialer still
// gates the retry with Pack.NextOpen. The zero time when After is invalid.
func (r RetryRule) Next(last time.Time, loc *time.Location, p *Pack) time.Time {
	a, err := parseAfter(r.After)
	if err != nil {
		return time.Time{}
	}
	if !a.nextDay {
		return last.Add(a.wait)
	}
	local := last.In(orUTC(loc))
	date := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, time.UTC)
	at := a.at
	if at < 0 {
		at = 9 * 60
		if p != nil {
			if week, err := p.Hours.parse(); err == nil && len(week[date.Weekday()]) > 0 {
				at = week[date.Weekday()][0].Start
			}
		}
	}
	return wallInstants(date.Year(), date.Month(), date.Day(), at, local.Location())[0].In(last.Location())
}

// after is a parsed RetryRule.After.
type after struct {
	wait    time.Duration
	nextDay bool
	at      int // minutes after midnight for next_day; -1 for the default
}

func parseAfter(s string) (after, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 0:
		return after{}, errors.New("empty")
	case f[0] == "next_day" && len(f) == 1:
		return after{nextDay: true, at: -1}, nil
	case f[0] == "next_day" && len(f) == 2:
		at, err := parseClock(f[1])
		if err != nil || at == minutesPerDay {
			return after{}, fmt.Errorf("bad time %q: want next_day HH:MM", f[1])
		}
		return after{nextDay: true, at: at}, nil
	case len(f) == 1:
		d, err := time.ParseDuration(f[0])
		if err != nil {
			return after{}, errors.New(`want a duration ("10m", "2h"), "next_day" or "next_day HH:MM"`)
		}
		if d <= 0 {
			return after{}, errors.New("duration must be positive")
		}
		return after{wait: d}, nil
	}
	return after{}, errors.New(`want a duration ("10m", "2h"), "next_day" or "next_day HH:MM"`)
}
