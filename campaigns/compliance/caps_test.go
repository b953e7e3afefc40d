package compliance

import (
	"testing"
	"time"
)

func TestCheckCaps(t *testing.T) {
	ts := func(ss ...string) []time.Time {
		var out []time.Time
		for _, s := range ss {
			out = append(out, at(t, s))
		}
		return out
	}
	tests := []struct {
		name     string
		caps     Caps
		attempts []time.Time
		now      string
		zone     string
		ok       bool
		reason   string
	}{
		{"no caps", Caps{}, ts("2026-03-08T10:00:00Z", "2026-03-08T11:00:00Z"), "2026-03-08T12:00:00Z", "UTC", true, ""},
		{"under the daily cap", Caps{PerDay: 3}, ts("2026-03-08T10:00:00Z", "2026-03-08T11:00:00Z"), "2026-03-08T12:00:00Z", "UTC", true, ""},
		{"daily cap reached", Caps{PerDay: 2}, ts("2026-03-08T10:00:00Z", "2026-03-08T11:00:00Z"), "2026-03-08T12:00:00Z", "UTC", false, "cap:daily"},
		{"same UTC day but yesterday in New York", Caps{PerDay: 1}, ts("2026-03-08T03:00:00Z"), "2026-03-08T12:00:00Z", "America/New_York", true, ""},
		{"same local day in Shanghai", Caps{PerDay: 1}, ts("2026-03-08T03:00:00Z"), "2026-03-08T12:00:00Z", "Asia/Shanghai", false, "cap:daily"},
		{"previous UTC day but today in Shanghai", Caps{PerDay: 1}, ts("2026-03-07T16:30:00Z"), "2026-03-08T12:00:00Z", "Asia/Shanghai", false, "cap:daily"},
		{"local day spans a DST change", Caps{PerDay: 1}, ts("2026-03-08T05:30:00Z"), "2026-03-09T03:59:00Z", "America/New_York", false, "cap:daily"},
		{"30-day cap reached", Caps{Per30Days: 4}, ts("2026-02-10T10:00:00Z", "2026-02-20T10:00:00Z", "2026-03-01T10:00:00Z", "2026-03-05T10:00:00Z"), "2026-03-08T12:00:00Z", "Europe/Paris", false, "cap:30d"},
		{"30-day window has moved on", Caps{Per30Days: 4}, ts("2026-02-06T11:59:00Z", "2026-02-20T10:00:00Z", "2026-03-01T10:00:00Z", "2026-03-05T10:00:00Z"), "2026-03-08T12:00:00Z", "Europe/Paris", true, ""},
		{"total cap reported before the others", Caps{PerDay: 1, Total: 2, Per30Days: 1}, ts("2026-01-01T10:00:00Z", "2026-03-08T10:00:00Z"), "2026-03-08T12:00:00Z", "UTC", false, "cap:total"},
		{"30-day before daily", Caps{PerDay: 1, Per30Days: 1}, ts("2026-03-08T10:00:00Z"), "2026-03-08T12:00:00Z", "UTC", false, "cap:30d"},
		{"future attempts ignored", Caps{Total: 1}, ts("2026-03-09T10:00:00Z"), "2026-03-08T12:00:00Z", "UTC", true, ""},
		{"nil zone is UTC", Caps{PerDay: 1}, ts("2026-03-08T00:30:00Z"), "2026-03-08T23:30:00Z", "", false, "cap:daily"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var loc *time.Location
			if tt.zone != "" {
				loc = zone(t, tt.zone)
			}
			ok, reason := CheckCaps(tt.caps, tt.attempts, at(t, tt.now), loc)
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("CheckCaps = %v, %q; want %v, %q", ok, reason, tt.ok, tt.reason)
			}
		})
	}
}

func TestCapsStricter(t *testing.T) {
	got := Caps{PerDay: 3, Total: 10}.Stricter(Caps{PerDay: 2, Per30Days: 4})
	if want := (Caps{PerDay: 2, Total: 10, Per30Days: 4}); got != want {
		t.Errorf("Stricter = %+v, want %+v", got, want)
	}
}
