package compliance

import (
	"sync"
	"testing"
	"time"
)

// everyDayPack is a pack open in the given ranges on all seven days.
func everyDayPack(name string, ranges ...string) Pack {
	return Pack{Name: name, Hours: everyDay(ranges...)}
}

func TestOpen(t *testing.T) {
	cnHols := everyDayPack("cnh", "09:00-12:00", "14:00-20:00")
	cnHols.Holidays = []string{"cn-2026"}
	tests := []struct {
		name   string
		pack   Pack
		zones  []string
		now    string
		open   bool
		reason string
	}{
		// America/New_York, 08:00-21:00: EST (UTC-5) until 2026-03-08 07:00Z, then EDT (UTC-4).
		{"us before spring forward, 07:59 EST", pack(t, "us"), []string{"America/New_York"}, "2026-03-06T12:59:00Z", false, "window:closed local=07:59 America/New_York"},
		{"us before spring forward, opens 13:00Z", pack(t, "us"), []string{"America/New_York"}, "2026-03-06T13:00:00Z", true, "window:open"},
		{"us before spring forward, last second", pack(t, "us"), []string{"America/New_York"}, "2026-03-07T01:59:59Z", true, "window:open"},
		{"us before spring forward, closes 02:00Z", pack(t, "us"), []string{"America/New_York"}, "2026-03-07T02:00:00Z", false, "window:closed local=21:00 America/New_York"},
		{"us spring-forward day opens 12:00Z", pack(t, "us"), []string{"America/New_York"}, "2026-03-08T12:00:00Z", true, "window:open"},
		{"us spring-forward day, 07:59 EDT", pack(t, "us"), []string{"America/New_York"}, "2026-03-08T11:59:00Z", false, "window:closed local=07:59 America/New_York"},
		{"us after spring forward, closes 01:00Z", pack(t, "us"), []string{"America/New_York"}, "2026-03-10T01:00:00Z", false, "window:closed local=21:00 America/New_York"},
		{"us after spring forward, 20:59 EDT", pack(t, "us"), []string{"America/New_York"}, "2026-03-10T00:59:00Z", true, "window:open"},
		{"us before fall back, opens 12:00Z", pack(t, "us"), []string{"America/New_York"}, "2026-10-31T12:00:00Z", true, "window:open"},
		{"us fall-back day, 07:30 EST", pack(t, "us"), []string{"America/New_York"}, "2026-11-01T12:30:00Z", false, "window:closed local=07:30 America/New_York"},
		{"us fall-back day opens 13:00Z", pack(t, "us"), []string{"America/New_York"}, "2026-11-01T13:00:00Z", true, "window:open"},
		{"us after fall back, closes 02:00Z", pack(t, "us"), []string{"America/New_York"}, "2026-11-03T02:00:00Z", false, "window:closed local=21:00 America/New_York"},

		// Europe/London, uk pack: BST from 2026-03-29 01:00Z to 2026-10-25 01:00Z.
		{"uk Saturday before BST opens 09:00Z", pack(t, "uk"), []string{"Europe/London"}, "2026-03-28T09:00:00Z", true, "window:open"},
		{"uk Saturday before BST, 08:59 GMT", pack(t, "uk"), []string{"Europe/London"}, "2026-03-28T08:59:00Z", false, "window:closed local=08:59 Europe/London"},
		{"uk BST starts Sunday, 08:59 BST", pack(t, "uk"), []string{"Europe/London"}, "2026-03-29T07:59:00Z", false, "window:closed local=08:59 Europe/London"},
		{"uk BST starts Sunday, opens 08:00Z", pack(t, "uk"), []string{"Europe/London"}, "2026-03-29T08:00:00Z", true, "window:open"},
		{"uk Monday in BST opens 07:00Z", pack(t, "uk"), []string{"Europe/London"}, "2026-03-30T07:00:00Z", true, "window:open"},
		{"uk last BST Saturday opens 08:00Z", pack(t, "uk"), []string{"Europe/London"}, "2026-10-24T08:00:00Z", true, "window:open"},
		{"uk BST ends Sunday, 08:30 GMT", pack(t, "uk"), []string{"Europe/London"}, "2026-10-25T08:30:00Z", false, "window:closed local=08:30 Europe/London"},
		{"uk BST ends Sunday, opens 09:00Z", pack(t, "uk"), []string{"Europe/London"}, "2026-10-25T09:00:00Z", true, "window:open"},
		{"uk BST ends Sunday, closes 21:00Z", pack(t, "uk"), []string{"Europe/London"}, "2026-10-25T21:00:00Z", false, "window:closed local=21:00 Europe/London"},

		// Asia/Shanghai (UTC+8, no DST), cn pack 09:00-12:00 and 14:00-20:00.
		{"cn evening", pack(t, "cn"), []string{"Asia/Shanghai"}, "2026-03-08T14:14:00Z", false, "window:closed local=22:14 Asia/Shanghai"},
		{"cn morning", pack(t, "cn"), []string{"Asia/Shanghai"}, "2026-03-08T01:00:00Z", true, "window:open"},
		{"cn lunch break", pack(t, "cn"), []string{"Asia/Shanghai"}, "2026-03-08T04:30:00Z", false, "window:closed local=12:30 Asia/Shanghai"},
		{"cn afternoon", pack(t, "cn"), []string{"Asia/Shanghai"}, "2026-03-08T06:00:00Z", true, "window:open"},
		{"cn pack with cn-2026 on National Day", cnHols, []string{"Asia/Shanghai"}, "2026-10-01T02:00:00Z", false, "holiday:cn 2026-10-01"},
		{"cn holiday is the local date", cnHols, []string{"Asia/Shanghai"}, "2026-10-07T17:00:00Z", false, "window:closed local=01:00 Asia/Shanghai"},

		// Europe/Paris, fr pack: weekdays only, public holidays closed.
		{"fr Christmas", pack(t, "fr"), []string{"Europe/Paris"}, "2026-12-25T10:00:00Z", false, "holiday:fr 2026-12-25"},
		{"fr Saturday", pack(t, "fr"), []string{"Europe/Paris"}, "2026-12-26T10:00:00Z", false, "window:closed local=11:00 Europe/Paris"},
		{"fr Monday morning", pack(t, "fr"), []string{"Europe/Paris"}, "2026-12-28T09:00:00Z", true, "window:open"},
		{"fr Monday lunch", pack(t, "fr"), []string{"Europe/Paris"}, "2026-12-28T12:00:00Z", false, "window:closed local=13:00 Europe/Paris"},

		// Several zones: open only where every zone is open; the reason names the first closed.
		{"us number in two zones, west not yet open", pack(t, "us"), []string{"America/New_York", "America/Los_Angeles"}, "2026-01-15T14:00:00Z", false, "window:closed local=06:00 America/Los_Angeles"},
		{"us number in two zones, east closed", pack(t, "us"), []string{"America/New_York", "America/Los_Angeles"}, "2026-01-16T02:30:00Z", false, "window:closed local=21:30 America/New_York"},
		{"us number in two zones, both open", pack(t, "us"), []string{"America/New_York", "America/Los_Angeles"}, "2026-01-15T16:00:00Z", true, "window:open"},

		// Fail closed.
		{"no zones", pack(t, "us"), nil, "2026-01-15T16:00:00Z", false, "zone:none"},
		{"invalid pack", Pack{Name: "bad", Hours: Week{"mon": {"9-5"}}}, []string{"UTC"}, "2026-01-12T10:00:00Z", false, "pack:invalid bad"},
		{"unknown calendar", Pack{Name: "fr27", Hours: everyDay("00:00-24:00"), Holidays: []string{"fr-2027"}}, []string{"UTC"}, "2026-01-12T10:00:00Z", false, "pack:invalid fr27"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open, reason := tt.pack.Open(at(t, tt.now), zonesOf(t, tt.zones...))
			if open != tt.open || reason != tt.reason {
				t.Errorf("Open(%s) = %v, %q; want %v, %q", tt.now, open, reason, tt.open, tt.reason)
			}
		})
	}
}

func TestOpenHolidaySets(t *testing.T) {
	extra, err := NewHolidays(map[string]Calendar{"fr-2026": {Region: "fr-test", Dates: []string{"2026-01-12"}}})
	if err != nil {
		t.Fatal(err)
	}
	paris := zonesOf(t, "Europe/Paris")
	monday := at(t, "2026-01-12T10:00:00Z")
	if open, reason := pack(t, "fr").Open(monday, paris, extra, BuiltinHolidays()); open || reason != "holiday:fr-test 2026-01-12" {
		t.Errorf("first set holding the name should win: %v %q", open, reason)
	}
	if open, reason := pack(t, "fr").Open(monday, paris); !open {
		t.Errorf("built-in fr-2026 has no 2026-01-12: %v %q", open, reason)
	}
}

func TestOpenNilZoneIsUTC(t *testing.T) {
	p := everyDayPack("x", "09:00-10:00")
	if open, reason := p.Open(at(t, "2026-01-12T09:30:00Z"), []*time.Location{nil}); !open {
		t.Errorf("Open = %v, %q", open, reason)
	}
}

func TestNextOpen(t *testing.T) {
	tests := []struct {
		name  string
		pack  Pack
		zones []string
		now   string
		want  string // "" for the zero time
	}{
		{"open now is now", pack(t, "us"), []string{"America/New_York"}, "2026-03-06T15:04:05Z", "2026-03-06T15:04:05Z"},
		{"us EST evening to next morning 13:00Z", pack(t, "us"), []string{"America/New_York"}, "2026-03-06T02:00:00Z", "2026-03-06T13:00:00Z"},
		{"us over spring forward to 12:00Z", pack(t, "us"), []string{"America/New_York"}, "2026-03-08T02:00:00Z", "2026-03-08T12:00:00Z"},
		{"us over fall back to 13:00Z", pack(t, "us"), []string{"America/New_York"}, "2026-11-01T01:00:00Z", "2026-11-01T13:00:00Z"},
		{"uk over BST start to 08:00Z", pack(t, "uk"), []string{"Europe/London"}, "2026-03-28T21:00:00Z", "2026-03-29T08:00:00Z"},
		{"uk over BST end to 09:00Z", pack(t, "uk"), []string{"Europe/London"}, "2026-10-24T20:00:00Z", "2026-10-25T09:00:00Z"},
		{"cn lunch to 14:00 local", pack(t, "cn"), []string{"Asia/Shanghai"}, "2026-06-01T04:00:00Z", "2026-06-01T06:00:00Z"},
		{"cn evening to next 09:00 local", pack(t, "cn"), []string{"Asia/Shanghai"}, "2026-06-01T12:00:00Z", "2026-06-02T01:00:00Z"},
		{"fr over Christmas and the weekend", pack(t, "fr"), []string{"Europe/Paris"}, "2026-12-24T19:00:00Z", "2026-12-28T09:00:00Z"},
		{"fr over the weekend and CEST start", pack(t, "fr"), []string{"Europe/Paris"}, "2026-03-27T19:00:00Z", "2026-03-30T08:00:00Z"},
		{"two zones wait for the western one", pack(t, "us"), []string{"America/New_York", "America/Los_Angeles"}, "2026-01-15T14:00:00Z", "2026-01-15T16:00:00Z"},
		{"two zones four hours apart between US and EU changes", everyDayPack("x", "09:00-17:00"), []string{"America/New_York", "Europe/London"}, "2026-03-10T00:00:00Z", "2026-03-10T13:00:00Z"},
		{"two zones five hours apart after EU change", everyDayPack("x", "09:00-17:00"), []string{"Europe/London", "America/New_York"}, "2026-03-31T00:00:00Z", "2026-03-31T13:00:00Z"},
		{"start in spring-forward gap opens at 03:00 EDT", everyDayPack("x", "02:30-05:00"), []string{"America/New_York"}, "2026-03-08T05:00:00Z", "2026-03-08T07:00:00Z"},
		{"start in fall-back hour, first pass", everyDayPack("x", "01:30-05:00"), []string{"America/New_York"}, "2026-11-01T04:00:00Z", "2026-11-01T05:30:00Z"},
		{"start in fall-back hour, second pass", everyDayPack("x", "01:30-05:00"), []string{"America/New_York"}, "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z"},
		{"end in fall-back hour reopens as the clock turns back", everyDayPack("x", "00:00-01:30"), []string{"America/New_York"}, "2026-11-01T05:40:00Z", "2026-11-01T06:00:00Z"},
		{"no overlap between Shanghai and New York", pack(t, "cn"), []string{"Asia/Shanghai", "America/New_York"}, "2026-01-15T00:00:00Z", ""},
		{"pack with no hours", Pack{Name: "never"}, []string{"UTC"}, "2026-01-15T00:00:00Z", ""},
		{"invalid pack", Pack{Name: "bad", Hours: Week{"mon": {"x"}}}, []string{"UTC"}, "2026-01-15T00:00:00Z", ""},
		{"no zones", pack(t, "us"), nil, "2026-01-15T00:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.pack.NextOpen(at(t, tt.now), zonesOf(t, tt.zones...))
			if tt.want == "" {
				if !got.IsZero() {
					t.Errorf("NextOpen(%s) = %v, want zero", tt.now, got.UTC())
				}
				return
			}
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("NextOpen(%s) = %v, want %v", tt.now, got.UTC(), want)
			}
		})
	}
}

// TestNextOpenMatchesMinuteScan checks NextOpen against the slow definition: the first
// whole minute at which Open is true, for starts around every DST change in the tests.
func TestNextOpenMatchesMinuteScan(t *testing.T) {
	packs := []Pack{
		pack(t, "us"), pack(t, "uk"), pack(t, "cn"), pack(t, "fr"),
		everyDayPack("gap", "02:30-05:00"),
		everyDayPack("ambiguous", "00:00-01:30", "01:45-03:00"),
	}
	zoneSets := [][]string{
		{"America/New_York"}, {"Europe/London"}, {"Asia/Shanghai"},
		{"America/New_York", "America/Chicago"}, {"Europe/Paris", "Europe/London"},
	}
	starts := []string{"2026-03-07T20:17:00Z", "2026-03-28T22:00:00Z", "2026-10-24T23:59:00Z", "2026-10-31T21:00:00Z", "2026-12-24T18:00:00Z"}
	for _, p := range packs {
		for _, zs := range zoneSets {
			for _, s := range starts {
				now, zones := at(t, s), zonesOf(t, zs...)
				r, err := p.rules(nil)
				if err != nil {
					t.Fatal(err)
				}
				var want time.Time
				for m := now; m.Before(now.Add(openHorizon)); m = m.Add(time.Minute) {
					if ok, _ := r.open(m, zones); ok {
						want = m
						break
					}
				}
				if got := p.NextOpen(now, zones); !got.Equal(want) {
					t.Errorf("pack %s zones %v from %s: NextOpen = %v, minute scan = %v", p.Name, zs, s, got.UTC(), want.UTC())
				}
			}
		}
	}
}

func TestOpenConcurrent(t *testing.T) {
	p := pack(t, "fr")
	zones := zonesOf(t, "Europe/Paris")
	now := at(t, "2026-12-24T19:00:00Z")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				p.Open(now, zones)
				p.NextOpen(now, zones)
			}
		})
	}
	wg.Wait()
}
