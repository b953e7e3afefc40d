package compliance

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// minutesPerDay is the length of a local day on the wall clock, in minutes.
const minutesPerDay = 24 * 60

// Range is a span of local wall-clock time within one day: from Start (inclusive) to End
// (exclusive), both in minutes after local midnight. End may be 24*60, midnight at the
// end of the day; a range never crosses midnight (write two ranges on consecutive days).
type Range struct {
	Start, End int
}

// ParseRange parses a local time range written "HH:MM-HH:MM" in 24-hour time ("09:00-12:00",
// "20:00-24:00"). The end must be after the start.
func ParseRange(s string) (Range, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Range{}, fmt.Errorf("range %q: want HH:MM-HH:MM", s)
	}
	start, err := parseClock(strings.TrimSpace(from))
	if err != nil {
		return Range{}, fmt.Errorf("range %q: %w", s, err)
	}
	end, err := parseClock(strings.TrimSpace(to))
	if err != nil {
		return Range{}, fmt.Errorf("range %q: %w", s, err)
	}
	if end <= start {
		return Range{}, fmt.Errorf("range %q: end %s is not after start %s", s, clock(end), clock(start))
	}
	return Range{Start: start, End: end}, nil
}

// String returns the range as ParseRange reads it.
func (r Range) String() string { return clock(r.Start) + "-" + clock(r.End) }

// contains reports whether sec, seconds after local midnight, is inside the range.
func (r Range) contains(sec int) bool { return sec >= r.Start*60 && sec < r.End*60 }

// parseClock parses "HH:MM" (or "H:MM") into minutes after midnight; "24:00" is allowed.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !digits(h) || !digits(m) {
		return 0, fmt.Errorf("bad time %q: want HH:MM", s)
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if hh == 24 && mm == 0 {
		return minutesPerDay, nil
	}
	if hh > 23 || mm > 59 {
		return 0, fmt.Errorf("bad time %q: want 00:00 to 24:00", s)
	}
	return hh*60 + mm, nil
}

func digits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// clock formats minutes after midnight as "HH:MM".
func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// Week is a pack's calling hours: for each weekday, keyed mon, tue, wed, thu, fri, sat or
// sun (any case), the local time ranges in which calls are allowed, as ParseRange reads
// them ("08:00-21:00"). A weekday without a key, or with no ranges, has no calling hours.
type Week map[string][]string

var weekdayKeys = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// parse checks the week and returns its ranges by time.Weekday, each day's sorted by start.
// Errors name the field: hours.mon[1], hours.funday.
func (w Week) parse() ([7][]Range, error) {
	var out [7][]Range
	var seen [7]string
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(w)) {
		wd, ok := weekdayKeys[strings.ToLower(key)]
		if !ok {
			errs = append(errs, fmt.Errorf("hours.%s: unknown weekday (want mon, tue, wed, thu, fri, sat or sun)", key))
			continue
		}
		if seen[wd] != "" {
			errs = append(errs, fmt.Errorf("hours.%s: weekday already given as hours.%s", key, seen[wd]))
			continue
		}
		seen[wd] = key
		for i, s := range w[key] {
			r, err := ParseRange(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("hours.%s[%d]: %w", key, i, err))
				continue
			}
			out[wd] = append(out[wd], r)
		}
		slices.SortFunc(out[wd], func(a, b Range) int { return a.Start - b.Start })
		for i := 1; i < len(out[wd]); i++ {
			if prev, cur := out[wd][i-1], out[wd][i]; cur.Start < prev.End {
				errs = append(errs, fmt.Errorf("hours.%s: ranges %s and %s overlap", key, prev, cur))
			}
		}
	}
	return out, errors.Join(errs...)
}

// secondOfDay is t's local wall-clock time as seconds after midnight.
func secondOfDay(t time.Time) int { return t.Hour()*3600 + t.Minute()*60 + t.Second() }

// wallInstants returns the instants at which the wall clock in loc reads minute min (after
// midnight, may be 24*60) of the local date y-m-d: usually one, two when a fall-back
// change repeats that reading, and when a spring-forward change skips it, the instant the
// gap ends (the first instant reading later), so that a window starting in the gap opens
// as soon as the clock passes its start.
func wallInstants(y int, m time.Month, d, min int, loc *time.Location) []time.Time {
	naive := time.Date(y, m, d, 0, min, 0, 0, time.UTC)
	t := time.Date(y, m, d, 0, min, 0, 0, loc)
	start, end := t.ZoneBounds()
	probes := []time.Time{t}
	if !start.IsZero() {
		probes = append(probes, start.Add(-time.Nanosecond))
	}
	if !end.IsZero() {
		probes = append(probes, end)
	}
	var out []time.Time
	for _, p := range probes {
		_, offset := p.Zone()
		u := naive.Add(-time.Duration(offset) * time.Second)
		if wallAsUTC(u.In(loc)).Equal(naive) && !slices.ContainsFunc(out, u.Equal) {
			out = append(out, u)
		}
	}
	if len(out) == 0 { // in a gap: t is just before or just after the change
		if wallAsUTC(t).Before(naive) {
			return []time.Time{end}
		}
		return []time.Time{start}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// wallAsUTC is t's wall-clock reading in its own location, as a UTC time.
func wallAsUTC(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// orUTC is loc, or UTC when loc is nil.
func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
