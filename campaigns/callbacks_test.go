package campaigns

import (
	"testing"
	"time"
)

func TestParseCallbackTime(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	sh, _ := time.LoadLocation("Asia/Shanghai")
	for _, c := range []struct {
		name string
		in   string
		loc  *time.Location
		want time.Time
		bad  bool
	}{
		{"wall clock in Shanghai", "2026-11-25 10:00", sh, time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC), false},
		{"T separator with seconds", "2026-11-25T10:00:30", sh, time.Date(2026, 11, 25, 2, 0, 30, 0, time.UTC), false},
		{"RFC 3339 keeps its offset", "2026-11-25T10:00:00+09:00", sh, time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC), false},
		{"New York before the spring change", "2026-03-07 09:00", ny, time.Date(2026, 3, 7, 14, 0, 0, 0, time.UTC), false},
		{"New York after the spring change", "2026-03-09 09:00", ny, time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC), false},
		{"a time the spring change skips", "2026-03-08 02:30", ny, time.Time{}, true},
		{"not a time", "tomorrow", sh, time.Time{}, true},
	} {
		got, err := ParseCallbackTime(c.in, c.loc)
		if (err != nil) != c.bad || (!c.bad && !got.Equal(c.want)) {
			t.Errorf("%s: %v %v, want %v (error %v)", c.name, got.UTC(), err, c.want, c.bad)
		}
	}
}
