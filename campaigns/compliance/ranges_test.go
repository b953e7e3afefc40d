package compliance

import (
	"strings"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		name, in string
		want     Range
		err      string
	}{
		{"morning", "09:00-12:00", Range{540, 720}, ""},
		{"spaces and single-digit hour", " 9:00 - 12:30 ", Range{540, 750}, ""},
		{"to midnight", "20:00-24:00", Range{1200, 1440}, ""},
		{"from midnight", "00:00-08:00", Range{0, 480}, ""},
		{"end before start", "10:00-09:00", Range{}, "end 09:00 is not after start 10:00"},
		{"empty range", "10:00-10:00", Range{}, "not after start"},
		{"start at 24:00", "24:00-24:00", Range{}, "not after start"},
		{"bad hour", "25:00-26:00", Range{}, `bad time "25:00"`},
		{"bad minute", "09:60-10:00", Range{}, `bad time "09:60"`},
		{"no dash", "09:00", Range{}, "want HH:MM-HH:MM"},
		{"signed number", "+9:00-10:00", Range{}, "bad time"},
		{"seconds", "09:00:00-10:00", Range{}, "bad time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRange(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRange(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRange(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if back, err := ParseRange(got.String()); err != nil || back != got {
				t.Errorf("ParseRange(%q) = %v, %v; want the range back", got.String(), back, err)
			}
		})
	}
}

func TestWallInstants(t *testing.T) {
	tests := []struct {
		name  string
		zone  string
		date  string // YYYY-MM-DD
		clock string // HH:MM
		want  []string
	}{
		{"ordinary day", "America/New_York", "2026-03-07", "08:00", []string{"2026-03-07T13:00:00Z"}},
		{"after US spring forward", "America/New_York", "2026-03-08", "08:00", []string{"2026-03-08T12:00:00Z"}},
		{"US spring-forward gap opens at gap end", "America/New_York", "2026-03-08", "02:30", []string{"2026-03-08T07:00:00Z"}},
		{"US fall-back hour occurs twice", "America/New_York", "2026-11-01", "01:30", []string{"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"}},
		{"after US fall back", "America/New_York", "2026-11-01", "08:00", []string{"2026-11-01T13:00:00Z"}},
		{"London spring-forward gap", "Europe/London", "2026-03-29", "01:30", []string{"2026-03-29T01:00:00Z"}},
		{"London fall-back hour occurs twice", "Europe/London", "2026-10-25", "01:30", []string{"2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"}},
		{"Shanghai has no DST", "Asia/Shanghai", "2026-03-08", "09:00", []string{"2026-03-08T01:00:00Z"}},
		{"half-hour fall back", "Australia/Lord_Howe", "2026-04-05", "01:45", []string{"2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z"}},
		{"midnight at end of day", "America/New_York", "2026-03-07", "24:00", []string{"2026-03-08T05:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := time.Parse(time.DateOnly, tt.date)
			min, err := parseClock(tt.clock)
			if err != nil {
				t.Fatal(err)
			}
			got := wallInstants(d.Year(), d.Month(), d.Day(), min, zone(t, tt.zone))
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if w := at(t, tt.want[i]); !got[i].Equal(w) {
					t.Errorf("instant %d = %v, want %v", i, got[i].UTC(), w)
				}
			}
		})
	}
}
