package compliance

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Pack is a named set of calling rules for a jurisdiction: when, by the callee's local
// clock, calls may be made, on which holidays not, and how often. Packs are config
// values (yaml and json); Validate or Merge checks them.
type Pack struct {
	// Name is the pack's key ("fr"); Merge sets it from the map key.
	Name string `yaml:"name" json:"name"`
	// Hours are the calling hours per weekday, local to the callee.
	Hours Week `yaml:"hours" json:"hours"`
	// MaxAttempts30d caps attempts to one number over any 30 days; 0 means no cap.
	MaxAttempts30d int `yaml:"max_attempts_30d" json:"max_attempts_30d"`
	// MaxAttemptsDay caps attempts to one number per local calendar day; 0 means no cap.
	MaxAttemptsDay int `yaml:"max_attempts_day" json:"max_attempts_day"`
	// MaxAttemptsTotal caps attempts to one number ever, across campaigns; 0 means no cap.
	MaxAttemptsTotal int `yaml:"max_attempts_total" json:"max_attempts_total"`
	// Holidays names calendars whose dates, in the callee's zone, have no calling hours.
	Holidays []string `yaml:"holidays" json:"holidays"`
	// Notes says where the rules come from.
	Notes string `yaml:"notes" json:"notes"`
}

// Packs returns the built-in packs, keyed by name, as a fresh map the caller may edit.
// They encode the rules as this project reads them, not legal advice; config can replace
// any of them (Merge).
func Packs() map[string]Pack {
	return map[string]Pack{
		"us": {
			Name:  "us",
			Hours: everyDay("08:00-21:00"),
			Notes: "TCPA, 47 CFR 64.1200(c)(1): no telephone solicitation before 8 a.m. or after 9 p.m. " +
				"at the called party's location. Stricter state laws are not encoded.",
		},
		"uk": {
			Name: "uk",
			Hours: Week{
				"mon": {"08:00-21:00"}, "tue": {"08:00-21:00"}, "wed": {"08:00-21:00"},
				"thu": {"08:00-21:00"}, "fri": {"08:00-21:00"},
				"sat": {"09:00-21:00"}, "sun": {"09:00-21:00"},
			},
			Notes: "No statutory calling hours in the UK: Ofcom's persistent-misuse policy asks for " +
				"reasonable times. Chosen: Mon-Fri 08:00-21:00, weekends 09:00-21:00, as common " +
				"industry practice.",
		},
		"cn": {
			Name:  "cn",
			Hours: everyDay("09:00-12:00", "14:00-20:00"),
			Notes: "Assumed practice for marketing calls in China: mornings and afternoons, " +
				"avoiding the midday rest and the evening. Add cn holiday calendars in config " +
				"if campaigns should also stop on public holidays.",
		},
		"fr": {
			Name: "fr",
			Hours: Week{
				"mon": {"10:00-13:00", "14:00-20:00"}, "tue": {"10:00-13:00", "14:00-20:00"},
				"wed": {"10:00-13:00", "14:00-20:00"}, "thu": {"10:00-13:00", "14:00-20:00"},
				"fri": {"10:00-13:00", "14:00-20:00"},
			},
			MaxAttempts30d: 4,
			Holidays:       []string{"fr-2026"},
			Notes: "Décret n° 2022-1313 (Code de la consommation, D. 223-8), since 2023-03-01: " +
				"weekdays 10:00-13:00 and 14:00-20:00, no calls on Saturdays, Sundays or public " +
				"holidays, at most 4 calls per 30 days. Add each year's fr calendar in config.",
		},
	}
}

func everyDay(ranges ...string) Week {
	w := Week{}
	for key := range weekdayKeys {
		w[key] = slices.Clone(ranges)
	}
	return w
}

// Merge returns the built-in packs with overrides applied: an override replaces the
// built-in pack of the same name whole (copy it from Packs to edit one field) or adds a
// new pack. Every pack is validated; the error joins the problems of all of them.
// Holiday calendar names are checked against calendars with Holidays.Select.
func Merge(overrides map[string]Pack) (map[string]Pack, error) {
	out := Packs()
	for name, p := range overrides {
		p.Name = name
		out[name] = p
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(out)) {
		errs = append(errs, out[name].Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Validate checks the pack; errors name the pack and the field
// (pack fr: hours.mon: ranges 10:00-13:00 and 12:00-14:00 overlap).
func (p Pack) Validate() error {
	_, err := p.check()
	return err
}

// check validates the pack and returns its parsed hours.
func (p Pack) check() ([7][]Range, error) {
	week, err := p.Hours.parse()
	errs := []error{err}
	if p.Name == "" {
		errs = append(errs, errors.New("name: empty"))
	}
	if p.MaxAttempts30d < 0 {
		errs = append(errs, fmt.Errorf("max_attempts_30d: %d is negative", p.MaxAttempts30d))
	}
	if p.MaxAttemptsDay < 0 {
		errs = append(errs, fmt.Errorf("max_attempts_day: %d is negative", p.MaxAttemptsDay))
	}
	for i, h := range p.Holidays {
		if h == "" {
			errs = append(errs, fmt.Errorf("holidays[%d]: empty calendar name", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return week, fmt.Errorf("pack %s: %w", p.Name, err)
	}
	return week, nil
}

// Caps returns the pack's attempt caps, for CheckCaps.
func (p Pack) Caps() Caps {
	return Caps{PerDay: p.MaxAttemptsDay, Per30Days: p.MaxAttempts30d, Total: p.MaxAttemptsTotal}
}

// rules is a pack ready to judge instants.
type rules struct {
	week [7][]Range
	hol  []*calendar
}

func (p Pack) rules(sets []*Holidays) (*rules, error) {
	week, err := p.check()
	if err != nil {
		return nil, err
	}
	hol, err := lookupCalendars(p.Holidays, sets)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", p.Name, err)
	}
	return &rules{week: week, hol: hol}, nil
}

// Open reports whether the pack allows a call at now to a callee who may be in any of
// zones: only when now is inside the calling hours, and not on a holiday, in every zone
// (the most restrictive overlap). The reason names the first zone that is closed
// ("window:closed local=22:14 Asia/Shanghai", "holiday:fr 2026-12-25"), or is
// "window:open". The pack's holiday calendars are looked up in sets, the first holding a
// name winning, or with no sets in the built-in calendars. An invalid pack, or one naming
// an unknown calendar, is closed ("pack:invalid fr"); so is a call with no zones ("zone:none").
// A nil zone is read as UTC.
func (p Pack) Open(now time.Time, zones []*time.Location, sets ...*Holidays) (open bool, reason string) {
	r, err := p.rules(sets)
	if err != nil {
		return false, "pack:invalid " + p.Name
	}
	return r.open(now, zones)
}

func (r *rules) open(now time.Time, zones []*time.Location) (bool, string) {
	if len(zones) == 0 {
		return false, "zone:none"
	}
	for _, loc := range zones {
		loc = orUTC(loc)
		local := now.In(loc)
		if c, date := closedOn(r.hol, local); c != nil {
			return false, holidayReason(c, date)
		}
		sec := secondOfDay(local)
		if !slices.ContainsFunc(r.week[local.Weekday()], func(rg Range) bool { return rg.contains(sec) }) {
			return false, fmt.Sprintf("window:closed local=%s %s", local.Format("15:04"), loc)
		}
	}
	return true, "window:open"
}

// openHorizon is how far ahead NextOpen looks.
const openHorizon = 14 * 24 * time.Hour

// NextOpen returns the first instant at or after now at which Open would be true for the
// same zones and calendars (now itself when open), in now's location; the zero time when
// there is none within 14 days, or the pack is invalid, or zones is empty.
//
// Open can only become true where some zone's wall clock reaches the start of a range
// (or, in a spring-forward gap, skips past it) or jumps at a daylight-saving change, so
// NextOpen tries those instants in order rather than stepping through the minutes.
func (p Pack) NextOpen(now time.Time, zones []*time.Location, sets ...*Holidays) time.Time {
	r, err := p.rules(sets)
	if err != nil || len(zones) == 0 {
		return time.Time{}
	}
	limit := now.Add(openHorizon)
	candidates := []time.Time{now}
	for _, loc := range zones {
		loc = orUTC(loc)
		local := now.In(loc)
		for i := -1; i <= int(openHorizon/(24*time.Hour))+1; i++ {
			date := time.Date(local.Year(), local.Month(), local.Day()+i, 0, 0, 0, 0, time.UTC)
			for _, rg := range r.week[date.Weekday()] {
				candidates = append(candidates, wallInstants(date.Year(), date.Month(), date.Day(), rg.Start, loc)...)
			}
		}
		for t := now; ; {
			_, end := t.In(loc).ZoneBounds()
			if end.IsZero() || end.After(limit) {
				break
			}
			candidates = append(candidates, end)
			t = end
		}
	}
	slices.SortFunc(candidates, time.Time.Compare)
	for _, c := range candidates {
		if c.Before(now) || c.After(limit) {
			continue
		}
		if ok, _ := r.open(c, zones); ok {
			return c.In(now.Location())
		}
	}
	return time.Time{}
}
