package compliance

import (
	"strings"
	"testing"
	"time"
)

func compile(t *testing.T, s Schedule) *CompiledSchedule {
	t.Helper()
	c, err := s.Compile()
	if err != nil {
		t.Fatalf("Compile(%+v): %v", s, err)
	}
	return c
}

var (
	weekdaysNY = Schedule{TimeZone: "America/New_York", Open: []string{"0 9 * * 1-5"}, Close: []string{"0 18 * * 1-5"}, Holidays: []string{"us-2026"}}
	// cnDaily opens every morning and never closes, so only holidays close it.
	cnDaily = Schedule{TimeZone: "Asia/Shanghai", Open: []string{"0 8 * * *"}, Holidays: []string{"cn-2026"}}
)

func TestScheduleIsOpen(t *testing.T) {
	tests := []struct {
		name   string
		sched  Schedule
		now    string
		open   bool
		reason string
	}{
		{"weekday before opening, EST", weekdaysNY, "2026-03-06T13:59:00Z", false, "schedule:closed"},
		{"weekday opening at 09:00 EST is 14:00Z", weekdaysNY, "2026-03-06T14:00:00Z", true, "schedule:open"},
		{"weekday closing at 18:00 EST is 23:00Z", weekdaysNY, "2026-03-06T23:00:00Z", false, "schedule:closed"},
		{"weekend", weekdaysNY, "2026-03-07T15:00:00Z", false, "schedule:closed"},
		{"Monday after spring forward, before 13:00Z", weekdaysNY, "2026-03-09T12:59:00Z", false, "schedule:closed"},
		{"Monday after spring forward opens 13:00Z", weekdaysNY, "2026-03-09T13:00:00Z", true, "schedule:open"},
		{"Friday before fall back opens 13:00Z", weekdaysNY, "2026-10-30T13:00:00Z", true, "schedule:open"},
		{"Monday after fall back opens 14:00Z", weekdaysNY, "2026-11-02T13:30:00Z", false, "schedule:closed"},
		{"holiday closes the whole local day", weekdaysNY, "2026-07-03T14:00:00Z", false, "holiday:us 2026-07-03"},
		{"day before the holiday", weekdaysNY, "2026-07-02T14:00:00Z", true, "schedule:open"},
		{"cn National Day", cnDaily, "2026-10-01T04:00:00Z", false, "holiday:cn 2026-10-01"},
		{"cn the day after National Day, before 08:00", cnDaily, "2026-10-07T17:00:00Z", true, "schedule:open"},
		{"spec with its own CRON_TZ", Schedule{Open: []string{"CRON_TZ=Asia/Shanghai 0 9 * * *"}, Close: []string{"CRON_TZ=Asia/Shanghai 0 18 * * *"}}, "2026-03-08T01:00:00Z", true, "schedule:open"},
		{"spec with its own CRON_TZ, closed", Schedule{Open: []string{"CRON_TZ=Asia/Shanghai 0 9 * * *"}, Close: []string{"CRON_TZ=Asia/Shanghai 0 18 * * *"}}, "2026-03-08T10:00:00Z", false, "schedule:closed"},
		{"close and open at once: close wins", Schedule{Open: []string{"0 9 * * *"}, Close: []string{"0 9 * * *"}}, "2026-03-08T10:00:00Z", false, "schedule:closed"},
		{"open fired within 8 days", Schedule{Open: []string{"0 9 1 * *"}}, "2026-03-08T10:00:00Z", true, "schedule:open"},
		{"open fired more than 8 days ago", Schedule{Open: []string{"0 9 1 * *"}}, "2026-03-09T09:00:00Z", false, "schedule:closed"},
		{"several specs, latest wins", Schedule{Open: []string{"0 9 * * *", "0 14 * * *"}, Close: []string{"0 12 * * *", "0 20 * * *"}}, "2026-03-08T13:00:00Z", false, "schedule:closed"},
		{"several specs, afternoon session", Schedule{Open: []string{"0 9 * * *", "0 14 * * *"}, Close: []string{"0 12 * * *", "0 20 * * *"}}, "2026-03-08T14:00:00Z", true, "schedule:open"},
		// Cron follows the wall clock: these pin the pitfalls Schedule's comment warns about.
		{"close in spring-forward gap does not fire", Schedule{TimeZone: "America/New_York", Open: []string{"0 1 * * *"}, Close: []string{"30 2 * * *"}}, "2026-03-08T08:00:00Z", true, "schedule:open"},
		{"open in fall-back hour fires twice", Schedule{TimeZone: "America/New_York", Open: []string{"30 1 * * *"}, Close: []string{"0 1 * * *"}}, "2026-11-01T06:30:00Z", true, "schedule:open"},
		{"between the repeated fall-back firings", Schedule{TimeZone: "America/New_York", Open: []string{"30 1 * * *"}, Close: []string{"0 1 * * *"}}, "2026-11-01T06:10:00Z", false, "schedule:closed"},
		{"empty schedule", Schedule{}, "2026-03-08T10:00:00Z", true, "schedule:open"},
		{"holidays only", Schedule{TimeZone: "Europe/Paris", Holidays: []string{"fr-2026"}}, "2026-12-25T10:00:00Z", false, "holiday:fr 2026-12-25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open, reason := compile(t, tt.sched).IsOpen(at(t, tt.now))
			if open != tt.open || reason != tt.reason {
				t.Errorf("IsOpen(%s) = %v, %q; want %v, %q", tt.now, open, reason, tt.open, tt.reason)
			}
		})
	}
}

func TestScheduleZoneDoesNotDependOnNow(t *testing.T) {
	c := compile(t, Schedule{TimeZone: "Asia/Shanghai", Open: []string{"0 9 * * *"}, Close: []string{"0 18 * * *"}})
	for _, loc := range zonesOf(t, "UTC", "America/New_York", "Asia/Tokyo") {
		now := at(t, "2026-03-08T01:30:00Z").In(loc) // 09:30 in Shanghai
		if open, _ := c.IsOpen(now); !open {
			t.Errorf("closed at %v", now)
		}
	}
	if c.Location().String() != "Asia/Shanghai" {
		t.Errorf("Location = %v", c.Location())
	}
}

func TestNilScheduleIsOpen(t *testing.T) {
	var c *CompiledSchedule
	if open, _ := c.IsOpen(at(t, "2026-03-08T10:00:00Z")); !open {
		t.Error("nil schedule closed")
	}
	if !c.NextChange(at(t, "2026-03-08T10:00:00Z")).IsZero() {
		t.Error("nil schedule changes")
	}
}

func TestScheduleNextChange(t *testing.T) {
	tests := []struct {
		name  string
		sched Schedule
		now   string
		want  string // "" for the zero time
	}{
		{"open weekday to its close", weekdaysNY, "2026-03-06T14:00:00Z", "2026-03-06T23:00:00Z"},
		{"weekend over spring forward to Monday 13:00Z", weekdaysNY, "2026-03-07T15:00:00Z", "2026-03-09T13:00:00Z"},
		{"weekend over fall back to Monday 14:00Z", weekdaysNY, "2026-10-31T15:00:00Z", "2026-11-02T14:00:00Z"},
		{"open day before a holiday closes at 18:00", weekdaysNY, "2026-07-02T14:00:00Z", "2026-07-02T22:00:00Z"},
		{"skips the holiday's opening", weekdaysNY, "2026-07-02T23:00:00Z", "2026-07-06T13:00:00Z"},
		{"holiday starts at local midnight", cnDaily, "2026-09-30T12:00:00Z", "2026-09-30T16:00:00Z"},
		{"holiday ends at local midnight", cnDaily, "2026-10-01T04:00:00Z", "2026-10-07T16:00:00Z"},
		{"open ages out of the 8-day look-back", Schedule{Open: []string{"0 9 1 * *"}}, "2026-03-05T00:00:00Z", "2026-03-09T09:00:00Z"},
		{"empty schedule never changes", Schedule{}, "2026-03-05T00:00:00Z", ""},
		{"always open never changes", Schedule{Open: []string{"* * * * *"}}, "2026-03-05T00:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := compile(t, tt.sched)
			now := at(t, tt.now)
			got := c.NextChange(now)
			if tt.want == "" {
				if !got.IsZero() {
					t.Errorf("NextChange = %v, want zero", got.UTC())
				}
				return
			}
			want := at(t, tt.want)
			if !got.Equal(want) {
				t.Fatalf("NextChange = %v, want %v", got.UTC(), want)
			}
			before, _ := c.IsOpen(want.Add(-time.Second))
			after, _ := c.IsOpen(want)
			if before == after {
				t.Errorf("IsOpen is %v on both sides of %v", after, want)
			}
		})
	}
}

func TestScheduleCompileErrors(t *testing.T) {
	tests := []struct {
		name  string
		sched Schedule
		errs  []string
	}{
		{"seconds field", Schedule{Open: []string{"0 9 * * *", "0 0 9 * * 1"}}, []string{"schedule.open[1]: expected exactly 5 fields, found 6"}},
		{"bad close and bad open together", Schedule{Open: []string{"0 25 * * *"}, Close: []string{"x"}}, []string{"schedule.open[0]: ", "schedule.close[0]: expected exactly 5 fields, found 1"}},
		{"every is refused", Schedule{Open: []string{"0 9 * * *"}, Close: []string{"@every 1h"}}, []string{"schedule.close[0]: @every has no fixed firing times"}},
		{"bad CRON_TZ", Schedule{Open: []string{"CRON_TZ=Mars/Base 0 9 * * *"}}, []string{"schedule.open[0]: provided bad location Mars/Base"}},
		{"unknown time zone", Schedule{TimeZone: "Mars/Base"}, []string{`schedule.time_zone: unknown time zone "Mars/Base"`}},
		{"close without open", Schedule{Close: []string{"0 18 * * *"}}, []string{"schedule.open: empty while close is set"}},
		{"unknown calendar", Schedule{Holidays: []string{"us-2026", "xx-2026"}}, []string{`schedule.holidays: unknown holiday calendar "xx-2026"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.sched.Compile()
			if err == nil {
				t.Fatalf("Compile succeeded, want %q", tt.errs)
			}
			for _, e := range tt.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not contain %q", err, e)
				}
			}
		})
	}
}

func TestScheduleCompileWithConfigCalendars(t *testing.T) {
	cals := Calendars()
	cals["acme-shutdown"] = Calendar{Region: "acme", Dates: []string{"2026-08-14"}}
	h, err := NewHolidays(cals)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Schedule{TimeZone: "Europe/Paris", Holidays: []string{"acme-shutdown"}}.Compile(h)
	if err != nil {
		t.Fatal(err)
	}
	if open, reason := c.IsOpen(at(t, "2026-08-14T10:00:00Z")); open || reason != "holiday:acme 2026-08-14" {
		t.Errorf("IsOpen = %v, %q", open, reason)
	}
}
