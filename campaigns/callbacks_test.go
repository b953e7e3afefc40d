package campaigns

import (
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/campaigns/compliance"
	"github.com/callplane/callplane/media"
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

func TestRetryAfterRules(t *testing.T) {
	c := Campaign{TimeZone: "Asia/Shanghai", RetryAfterSeconds: 60, RetryRules: RetryRules{
		"busy": {After: "10m"}, "no_answer": {After: "next_day", Max: 3}, "failed": {AfterSeconds: 300},
		"unavailable": {After: "next_day 10:30"}}}
	cn := DefaultRules().Packs["cn"]
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) // 20:00 in Shanghai
	for _, tc := range []struct {
		outcome string
		pack    bool
		want    time.Duration
		max     int
	}{
		{"busy", true, 10 * time.Minute, 0},
		{"no_answer", true, 13 * time.Hour, 3},  // 09:00 tomorrow, the cn pack's first window
		{"no_answer", false, 13 * time.Hour, 3}, // 09:00 without a pack too
		{"unavailable", false, 14*time.Hour + 30*time.Minute, 0},
		{"failed", true, 5 * time.Minute, 0},
		{"rejected", true, time.Minute, 0}, // no rule: retry_after_seconds
	} {
		var p *compliance.Pack
		if tc.pack {
			p = &cn
		}
		got, most := c.retry(media.Outcome(tc.outcome), now, p)
		if got != tc.want || most != tc.max {
			t.Errorf("%s: %v max %d, want %v max %d", tc.outcome, got, most, tc.want, tc.max)
		}
	}
	bad := Campaign{Name: "x", MaxConcurrent: 1, CallsPerSecond: 1, MaxAttempts: 1, RetryRules: RetryRules{"busy": {After: "whenever"}}}
	if err := bad.Normalize(); err == nil || !strings.Contains(err.Error(), "retry_rules.busy.after") {
		t.Errorf("a bad after: %v", err)
	}
}
