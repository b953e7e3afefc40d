package compliance

import (
	"strings"
	"testing"
)

func TestRetryRuleNext(t *testing.T) {
	uk := pack(t, "uk")
	tests := []struct {
		name  string
		after string
		last  string
		zone  string
		pack  *Pack
		want  string // "" for the zero time
	}{
		{"minutes", "10m", "2026-03-06T15:00:00Z", "America/New_York", nil, "2026-03-06T15:10:00Z"},
		{"hours are elapsed time across spring forward", "2h", "2026-03-08T06:30:00Z", "America/New_York", nil, "2026-03-08T08:30:00Z"},
		{"next_day without a pack is 09:00", "next_day", "2026-03-05T20:00:00Z", "America/New_York", nil, "2026-03-06T14:00:00Z"},
		{"next_day over spring forward is 09:00 EDT", "next_day", "2026-03-08T01:00:00Z", "America/New_York", nil, "2026-03-08T13:00:00Z"},
		{"next_day over fall back is 09:00 EST", "next_day", "2026-10-31T20:00:00Z", "America/New_York", nil, "2026-11-01T14:00:00Z"},
		{"next_day with uk pack on a weekday is 08:00", "next_day", "2026-03-04T18:00:00Z", "Europe/London", &uk, "2026-03-05T08:00:00Z"},
		{"next_day with uk pack on Saturday is 09:00", "next_day", "2026-03-27T18:00:00Z", "Europe/London", &uk, "2026-03-28T09:00:00Z"},
		{"next_day with uk pack as BST starts", "next_day", "2026-03-28T18:00:00Z", "Europe/London", &uk, "2026-03-29T08:00:00Z"},
		{"next_day with fr pack on Saturday falls back to 09:00", "next_day", "2026-03-27T18:00:00Z", "Europe/Paris", ptr(pack(t, "fr")), "2026-03-28T08:00:00Z"},
		{"next_day at a given time", "next_day 10:00", "2026-06-01T12:00:00Z", "Asia/Shanghai", &uk, "2026-06-02T02:00:00Z"},
		{"next_day counts from the callee's local day", "next_day 10:00", "2026-06-01T17:00:00Z", "Asia/Shanghai", nil, "2026-06-03T02:00:00Z"},
		{"next_day time in spring-forward gap moves to gap end", "next_day 02:30", "2026-03-07T15:00:00Z", "America/New_York", nil, "2026-03-08T07:00:00Z"},
		{"next_day time in fall-back hour takes the first", "next_day 01:30", "2026-10-31T15:00:00Z", "America/New_York", nil, "2026-11-01T05:30:00Z"},
		{"invalid rule", "soon", "2026-03-06T15:00:00Z", "UTC", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := RetryRule{Outcome: "busy", After: tt.after}
			got := r.Next(at(t, tt.last), zone(t, tt.zone), tt.pack)
			if tt.want == "" {
				if !got.IsZero() {
					t.Errorf("Next = %v, want zero", got.UTC())
				}
				return
			}
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("Next = %v, want %v", got.UTC(), want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRetryRuleValidate(t *testing.T) {
	tests := []struct {
		name string
		rule RetryRule
		err  string
	}{
		{"duration", RetryRule{Outcome: "busy", After: "10m", Max: 3}, ""},
		{"next_day", RetryRule{Outcome: "no_answer", After: "next_day"}, ""},
		{"next_day at a time", RetryRule{Outcome: "no_answer", After: "next_day 10:00"}, ""},
		{"no outcome", RetryRule{After: "10m"}, "retry: outcome: empty"},
		{"empty after", RetryRule{Outcome: "busy"}, `retry busy: after "": empty`},
		{"bad duration", RetryRule{Outcome: "busy", After: "2x"}, `retry busy: after "2x": want a duration`},
		{"zero duration", RetryRule{Outcome: "busy", After: "0s"}, "duration must be positive"},
		{"negative duration", RetryRule{Outcome: "busy", After: "-5m"}, "duration must be positive"},
		{"bad next_day time", RetryRule{Outcome: "busy", After: "next_day 25:00"}, `bad time "25:00"`},
		{"next_day at 24:00", RetryRule{Outcome: "busy", After: "next_day 24:00"}, `bad time "24:00"`},
		{"extra words", RetryRule{Outcome: "busy", After: "next_day at 10:00"}, "want a duration"},
		{"negative max", RetryRule{Outcome: "busy", After: "10m", Max: -1}, "retry busy: max: -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rule.Validate()
			if tt.err == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestRetryRuleExhausted(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		retries int
		want    bool
	}{
		{"no limit", 0, 100, false},
		{"retries left", 3, 2, false},
		{"limit reached", 3, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (RetryRule{Max: tt.max}).Exhausted(tt.retries); got != tt.want {
				t.Errorf("Exhausted(%d) = %v", tt.retries, got)
			}
		})
	}
}
