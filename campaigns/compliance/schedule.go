package compliance

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is when a campaign dials, as configured. The campaign is open at an instant when
// the latest Open firing at or before it is later than the latest Close firing at or before
// it (firings within the 8 days before; a Close at the same instant as an Open wins), and
// the day is not a holiday. A schedule with no Open and no Close specs is always open
// (holidays aside).
//
// Specs are standard 5-field cron ("0 9 * * 1-5": minute, hour, day of month, month, day
// of week; no seconds) read in TimeZone, unless a spec names its own zone with a
// CRON_TZ= prefix. Cron follows the wall clock: a firing in a spring-forward gap is
// skipped and one in a fall-back hour fires twice, so keep boundaries out of 01:00-03:00.
type Schedule struct {
	// TimeZone is the campaign's IANA zone ("Europe/Paris"); UTC when empty.
	TimeZone string `yaml:"time_zone" json:"time_zone"`
	// Open are cron specs at which the campaign opens.
	Open []string `yaml:"open" json:"open"`
	// Close are cron specs at which the campaign closes.
	Close []string `yaml:"close" json:"close"`
	// Holidays names calendars whose dates close the campaign all day, in TimeZone.
	Holidays []string `yaml:"holidays" json:"holidays"`
}

// CompiledSchedule is a checked Schedule, immutable and safe for concurrent use. A nil
// *CompiledSchedule is always open.
type CompiledSchedule struct {
	loc         *time.Location
	open, close []cron.Schedule
	hol         []*calendar
}

// lookback is how far back IsOpen looks for the latest firings.
const lookback = 8 * 24 * time.Hour

// changeHorizon is how far ahead NextChange looks.
const changeHorizon = 31 * 24 * time.Hour

// Compile checks the schedule and prepares it. Holiday calendars are looked up in sets,
// the first holding a name winning, or with no sets in the built-in calendars. Errors name
// the field and index: schedule.open[1]: expected exactly 5 fields, found 6: [...].
func (s Schedule) Compile(sets ...*Holidays) (*CompiledSchedule, error) {
	var errs []error
	c := &CompiledSchedule{loc: time.UTC}
	if name := strings.TrimSpace(s.TimeZone); name != "" {
		loc, err := loadZone(name)
		if err != nil {
			return nil, fmt.Errorf("schedule.time_zone: %w", err)
		}
		c.loc = loc
	}
	for i, spec := range s.Open {
		sched, err := parseSpec(spec, c.loc)
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule.open[%d]: %w", i, err))
		}
		c.open = append(c.open, sched)
	}
	for i, spec := range s.Close {
		sched, err := parseSpec(spec, c.loc)
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule.close[%d]: %w", i, err))
		}
		c.close = append(c.close, sched)
	}
	if len(s.Open) == 0 && len(s.Close) > 0 {
		errs = append(errs, errors.New("schedule.open: empty while close is set, so the campaign would never open"))
	}
	hol, err := lookupCalendars(s.Holidays, sets)
	if err != nil {
		errs = append(errs, fmt.Errorf("schedule.holidays: %w", err))
	}
	c.hol = hol
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// parseSpec parses a 5-field cron spec, read in loc unless it carries its own CRON_TZ=.
func parseSpec(spec string, loc *time.Location) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(strings.TrimSpace(spec))
	if err != nil {
		return nil, err
	}
	ss, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, errors.New("@every has no fixed firing times; use a 5-field spec")
	}
	// Without CRON_TZ= the parser leaves time.Local, which cron reads as "the zone of the
	// time passed to Next"; pin it to the schedule's zone instead.
	if ss.Location == time.Local {
		ss.Location = loc
	}
	return ss, nil
}

// Location returns the schedule's zone, in which holidays are read.
func (s *CompiledSchedule) Location() *time.Location {
	if s == nil {
		return time.UTC
	}
	return s.loc
}

// IsOpen reports whether the campaign is open at now, with the reason: "schedule:open",
// "schedule:closed" or "holiday:us 2026-07-03".
func (s *CompiledSchedule) IsOpen(now time.Time) (open bool, reason string) {
	if s == nil {
		return true, "schedule:open"
	}
	if c, date := closedOn(s.hol, now.In(s.loc)); c != nil {
		return false, holidayReason(c, date)
	}
	if len(s.open) == 0 {
		return true, "schedule:open"
	}
	o := latestFiring(s.open, now)
	if o.IsZero() || !o.After(latestFiring(s.close, now)) {
		return false, "schedule:closed"
	}
	return true, "schedule:open"
}

// NextChange returns the first instant after now at which IsOpen's answer differs from
// its answer at now, in now's location; the zero time when it does not change within 31
// days.
func (s *CompiledSchedule) NextChange(now time.Time) time.Time {
	if s == nil {
		return time.Time{}
	}
	cur, _ := s.IsOpen(now)
	limit := now.Add(changeHorizon)
	for t := now; ; {
		// Only these can change the answer: a Close (or the latest Open ageing out of the
		// look-back) while open, an Open while closed, and a local midnight (a holiday
		// starting or ending).
		var next []time.Time
		if cur {
			next = append(next, nextFiring(s.close, t))
			if o := latestFiring(s.open, t); !o.IsZero() {
				next = append(next, o.Add(lookback))
			}
		} else {
			next = append(next, nextFiring(s.open, t))
		}
		if len(s.hol) > 0 {
			local := t.In(s.loc)
			next = append(next, wallInstants(local.Year(), local.Month(), local.Day()+1, 0, s.loc)[0])
		}
		n := earliest(next)
		if n.IsZero() || n.After(limit) {
			return time.Time{}
		}
		if open, _ := s.IsOpen(n); open != cur {
			return n.In(now.Location())
		}
		t = n
	}
}

// latestFiring returns the latest firing of any of scheds at or before now, within the
// look-back; zero if none. It steps Next forward from an hour back, then a day, then the
// whole look-back, so frequent specs stay cheap.
func latestFiring(scheds []cron.Schedule, now time.Time) time.Time {
	var latest time.Time
	for _, sched := range scheds {
		for _, back := range []time.Duration{time.Hour, 24 * time.Hour, lookback} {
			var last time.Time
			for t := sched.Next(now.Add(-back)); !t.IsZero() && !t.After(now); t = sched.Next(t) {
				last = t
			}
			if !last.IsZero() {
				if last.After(latest) {
					latest = last
				}
				break
			}
		}
	}
	return latest
}

// nextFiring returns the earliest firing of any of scheds after t; zero if none.
func nextFiring(scheds []cron.Schedule, t time.Time) time.Time {
	var next []time.Time
	for _, sched := range scheds {
		next = append(next, sched.Next(t))
	}
	return earliest(next)
}

// earliest returns the earliest non-zero time; zero if none.
func earliest(ts []time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out
}
