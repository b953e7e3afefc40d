package compliance

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Calendar is a named list of local dates on which calls are not made, editable in config.
type Calendar struct {
	// Name is how packs and schedules refer to the calendar ("fr-2026"); in a map of
	// calendars the key is the name.
	Name string `yaml:"name" json:"name"`
	// Region labels the calendar in decision-log reasons ("holiday:fr 2026-12-25");
	// the name when empty.
	Region string `yaml:"region" json:"region"`
	// Dates are the closed days, YYYY-MM-DD, read in the zone being judged: the callee's
	// for a pack, the campaign's for a schedule.
	Dates []string `yaml:"dates" json:"dates"`
}

// Holidays is a set of checked calendars, immutable once built and safe for concurrent
// use. A nil *Holidays holds no calendars.
type Holidays struct {
	byName map[string]*calendar
	list   []*calendar // sorted by name, so the first match is stable
}

type calendar struct {
	name, region string
	dates        map[string]bool // "2026-12-25"
}

// NewHolidays checks the calendars, keyed by name, and builds the set. Errors name the
// calendar and field: calendar fr-2026: dates[3]: bad date "2026-02-30".
func NewHolidays(cals map[string]Calendar) (*Holidays, error) {
	h := &Holidays{byName: make(map[string]*calendar, len(cals))}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(cals)) {
		c := cals[name]
		if strings.TrimSpace(name) == "" {
			errs = append(errs, errors.New("calendar: empty name"))
			continue
		}
		if c.Name != "" && c.Name != name {
			errs = append(errs, fmt.Errorf("calendar %s: name %q differs from its key", name, c.Name))
			continue
		}
		cal := &calendar{name: name, region: c.Region, dates: make(map[string]bool, len(c.Dates))}
		if cal.region == "" {
			cal.region = name
		}
		for i, d := range c.Dates {
			t, err := time.Parse(time.DateOnly, strings.TrimSpace(d))
			if err != nil {
				errs = append(errs, fmt.Errorf("calendar %s: dates[%d]: bad date %q: want YYYY-MM-DD", name, i, d))
				continue
			}
			cal.dates[t.Format(time.DateOnly)] = true
		}
		h.byName[name] = cal
		h.list = append(h.list, cal)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return h, nil
}

// Closed reports whether t falls, on the wall clock of loc (UTC when nil), on a date of
// one of the set's calendars, and that calendar's name.
func (h *Holidays) Closed(loc *time.Location, t time.Time) (closed bool, name string) {
	if h == nil {
		return false, ""
	}
	if c, _ := closedOn(h.list, t.In(orUTC(loc))); c != nil {
		return true, c.name
	}
	return false, ""
}

// Select returns the set of the named calendars, or an error naming those it lacks.
// Config loading uses it to check the calendars packs and schedules refer to.
func (h *Holidays) Select(names ...string) (*Holidays, error) {
	cals, err := lookupCalendars(names, []*Holidays{h})
	if err != nil {
		return nil, err
	}
	out := &Holidays{byName: make(map[string]*calendar, len(cals))}
	for _, c := range cals {
		out.byName[c.name] = c
	}
	out.list = slices.SortedFunc(maps.Values(out.byName), func(a, b *calendar) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// lookupCalendars finds each name in the first set holding it; with no sets, in the
// built-in calendars.
func lookupCalendars(names []string, sets []*Holidays) ([]*calendar, error) {
	if len(sets) == 0 {
		sets = []*Holidays{builtinHolidays}
	}
	var out []*calendar
	var missing []string
	for _, name := range names {
		found := false
		for _, h := range sets {
			if c, ok := h.get(name); ok {
				out = append(out, c)
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%q", name))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("unknown holiday calendar %s", strings.Join(missing, ", "))
	}
	return out, nil
}

func (h *Holidays) get(name string) (*calendar, bool) {
	if h == nil {
		return nil, false
	}
	c, ok := h.byName[name]
	return c, ok
}

// closedOn returns the first calendar holding local's date, and that date.
func closedOn(cals []*calendar, local time.Time) (*calendar, string) {
	date := local.Format(time.DateOnly)
	for _, c := range cals {
		if c.dates[date] {
			return c, date
		}
	}
	return nil, ""
}

// holidayReason is the decision-log reason for a day closed by c.
func holidayReason(c *calendar, date string) string { return "holiday:" + c.region + " " + date }

// Calendars returns the built-in example calendars, keyed by name, as a fresh map the
// caller may edit and pass to NewHolidays. They cover 2026 only: add the next year's
// calendars in config.
func Calendars() map[string]Calendar {
	return map[string]Calendar{
		// China, 2026, as published by the General Office of the State Council on
		// 2025-11-04 (国办发明电, "关于2026年部分节假日安排的通知"). Only days off are listed;
		// the make-up working days (1-04, 2-14, 2-28, 5-09, 9-20, 10-10) are ordinary days
		// for the cn pack, which calls every day of the week anyway.
		"cn-2026": {Name: "cn-2026", Region: "cn", Dates: slices.Concat(
			days(2026, time.January, 1, 3),     // 元旦 New Year
			days(2026, time.February, 15, 23),  // 春节 Spring Festival
			days(2026, time.April, 4, 6),       // 清明 Qingming
			days(2026, time.May, 1, 5),         // 劳动节 Labour Day
			days(2026, time.June, 19, 21),      // 端午 Dragon Boat
			days(2026, time.September, 25, 27), // 中秋 Mid-Autumn
			days(2026, time.October, 1, 7),     // 国庆 National Day
		)},
		// France, 2026: the eleven jours fériés of the Code du travail (art. L3133-1),
		// Easter on 5 April. Alsace-Moselle's Good Friday and 26 December are not included.
		"fr-2026": {Name: "fr-2026", Region: "fr", Dates: []string{
			"2026-01-01", // Jour de l'an
			"2026-04-06", // Lundi de Pâques
			"2026-05-01", // Fête du Travail
			"2026-05-08", // Victoire 1945
			"2026-05-14", // Ascension
			"2026-05-25", // Lundi de Pentecôte
			"2026-07-14", // Fête nationale
			"2026-08-15", // Assomption
			"2026-11-01", // Toussaint
			"2026-11-11", // Armistice
			"2026-12-25", // Noël
		}},
		// United Kingdom, 2026: bank holidays in England and Wales as listed on gov.uk;
		// Scotland and Northern Ireland differ (add them in config if needed).
		"uk-2026": {Name: "uk-2026", Region: "uk", Dates: []string{
			"2026-01-01", // New Year's Day
			"2026-04-03", // Good Friday
			"2026-04-06", // Easter Monday
			"2026-05-04", // Early May bank holiday
			"2026-05-25", // Spring bank holiday
			"2026-08-31", // Summer bank holiday
			"2026-12-25", // Christmas Day
			"2026-12-28", // Boxing Day (substitute day: 26 December is a Saturday)
		}},
		// United States, 2026: federal holidays (5 U.S.C. 6103), observed dates.
		"us-2026": {Name: "us-2026", Region: "us", Dates: []string{
			"2026-01-01", // New Year's Day
			"2026-01-19", // Birthday of Martin Luther King, Jr.
			"2026-02-16", // Washington's Birthday
			"2026-05-25", // Memorial Day
			"2026-06-19", // Juneteenth
			"2026-07-03", // Independence Day (observed: 4 July is a Saturday)
			"2026-09-07", // Labor Day
			"2026-10-12", // Columbus Day
			"2026-11-11", // Veterans Day
			"2026-11-26", // Thanksgiving Day
			"2026-12-25", // Christmas Day
		}},
	}
}

// builtinHolidays is the set of Calendars(), used when no set is given.
var builtinHolidays = func() *Holidays {
	h, err := NewHolidays(Calendars())
	if err != nil {
		panic("compliance: built-in calendars: " + err.Error())
	}
	return h
}()

// BuiltinHolidays returns the set of the built-in calendars (Calendars).
func BuiltinHolidays() *Holidays { return builtinHolidays }

// days lists the dates from first to last of one month, YYYY-MM-DD.
func days(y int, m time.Month, first, last int) []string {
	var out []string
	for d := first; d <= last; d++ {
		out = append(out, time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
	}
	return out
}
