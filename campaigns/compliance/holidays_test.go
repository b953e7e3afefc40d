package compliance

import (
	"strings"
	"testing"
	"time"
)

func TestHolidaysClosed(t *testing.T) {
	tests := []struct {
		name     string
		calendar string // the calendar selected, as a pack or schedule names it
		zone     string
		now      string
		closed   bool
	}{
		{"Paris Christmas", "fr-2026", "Europe/Paris", "2026-12-25T10:00:00Z", true},
		{"Christmas starts at local midnight in Paris", "fr-2026", "Europe/Paris", "2026-12-24T23:00:00Z", true},
		{"still Christmas Eve in UTC", "fr-2026", "UTC", "2026-12-24T23:00:00Z", false},
		{"Shanghai Spring Festival first day", "cn-2026", "Asia/Shanghai", "2026-02-14T16:00:00Z", true},
		{"Shanghai make-up working day", "cn-2026", "Asia/Shanghai", "2026-02-28T02:00:00Z", false},
		{"New York observed Independence Day", "us-2026", "America/New_York", "2026-07-03T14:00:00Z", true},
		{"London Boxing Day substitute", "uk-2026", "Europe/London", "2026-12-28T10:00:00Z", true},
		{"ordinary day", "uk-2026", "Europe/London", "2026-06-10T10:00:00Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := BuiltinHolidays().Select(tt.calendar)
			if err != nil {
				t.Fatal(err)
			}
			closed, cal := sel.Closed(zone(t, tt.zone), at(t, tt.now))
			if want := map[bool]string{true: tt.calendar}[tt.closed]; closed != tt.closed || cal != want {
				t.Errorf("Closed = %v, %q; want %v, %q", closed, cal, tt.closed, want)
			}
		})
	}
	var none *Holidays
	if closed, _ := none.Closed(time.UTC, at(t, "2026-12-25T10:00:00Z")); closed {
		t.Error("a nil set closed a day")
	}
}

func TestBuiltinCalendarWeekdays(t *testing.T) {
	// Holidays defined by weekday rule land on that weekday.
	tests := []struct {
		name, date string
		want       time.Weekday
	}{
		{"us Martin Luther King Jr. Day, third Monday of January", "2026-01-19", time.Monday},
		{"us Washington's Birthday, third Monday of February", "2026-02-16", time.Monday},
		{"us Memorial Day, last Monday of May", "2026-05-25", time.Monday},
		{"us Independence Day observed on Friday", "2026-07-03", time.Friday},
		{"us Labor Day, first Monday of September", "2026-09-07", time.Monday},
		{"us Columbus Day, second Monday of October", "2026-10-12", time.Monday},
		{"us Thanksgiving, fourth Thursday of November", "2026-11-26", time.Thursday},
		{"uk Good Friday", "2026-04-03", time.Friday},
		{"uk Early May bank holiday", "2026-05-04", time.Monday},
		{"uk Summer bank holiday", "2026-08-31", time.Monday},
		{"fr Easter Monday", "2026-04-06", time.Monday},
		{"fr Ascension Thursday", "2026-05-14", time.Thursday},
		{"fr Whit Monday", "2026-05-25", time.Monday},
		{"cn Spring Festival starts on Sunday", "2026-02-15", time.Sunday},
		{"cn National Day ends on Wednesday", "2026-10-07", time.Wednesday},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := time.Parse(time.DateOnly, tt.date)
			if err != nil {
				t.Fatal(err)
			}
			if d.Weekday() != tt.want {
				t.Errorf("%s is a %s, want %s", tt.date, d.Weekday(), tt.want)
			}
			found := false
			for _, c := range Calendars() {
				for _, x := range c.Dates {
					found = found || x == tt.date
				}
			}
			if !found {
				t.Errorf("%s is in no built-in calendar", tt.date)
			}
		})
	}
	if n := len(Calendars()["cn-2026"].Dates); n != 3+9+3+5+3+3+7 {
		t.Errorf("cn-2026 has %d days, want 33", n)
	}
}

func TestNewHolidaysErrors(t *testing.T) {
	tests := []struct {
		name string
		cals map[string]Calendar
		err  string
	}{
		{"bad date", map[string]Calendar{"x": {Dates: []string{"2026-01-01", "2026-02-30"}}}, `calendar x: dates[1]: bad date "2026-02-30"`},
		{"name differs from key", map[string]Calendar{"x": {Name: "y"}}, `calendar x: name "y" differs from its key`},
		{"empty key", map[string]Calendar{"": {}}, "calendar: empty name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewHolidays(tt.cals); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestSelectUnknownCalendar(t *testing.T) {
	_, err := BuiltinHolidays().Select("fr-2026", "fr-2027", "xx")
	if err == nil || !strings.Contains(err.Error(), `unknown holiday calendar "fr-2027", "xx"`) {
		t.Errorf("error = %v", err)
	}
}
