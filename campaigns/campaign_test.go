package campaigns

import (
	"strings"
	"testing"
)

// TestNormalizeBounds: every field has a range or a grammar; a value outside it is a
// problem naming the field (never a database error later).
func TestNormalizeBounds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(c *Campaign)
		field string // "" means valid
	}{
		{"valid", func(c *Campaign) {}, ""},
		{"chinese name", func(c *Campaign) { c.Name = "双十一 回访 活动" }, ""},
		{"max_concurrent past int32", func(c *Campaign) { c.MaxConcurrent = 2147483648 }, "max_concurrent"},
		{"max_concurrent zero", func(c *Campaign) { c.MaxConcurrent = 0 }, "max_concurrent"},
		{"calls_per_second huge", func(c *Campaign) { c.CallsPerSecond = 1e308 }, "calls_per_second"},
		{"calls_per_second tiny", func(c *Campaign) { c.CallsPerSecond = 1e-300 }, "calls_per_second"},
		{"retry_after_seconds 2^62", func(c *Campaign) { c.RetryAfterSeconds = 1 << 62 }, "retry_after_seconds"},
		{"max_attempts huge", func(c *Campaign) { c.MaxAttempts = 1 << 40 }, "max_attempts"},
		{"retry rule after huge", func(c *Campaign) { c.RetryRules = RetryRules{"busy": {AfterSeconds: 1 << 40}} }, "retry_rules.busy.after_seconds"},
		{"retry rule max huge", func(c *Campaign) { c.RetryRules = RetryRules{"busy": {Max: 1 << 40}} }, "retry_rules.busy.max"},
		{"name NUL", func(c *Campaign) { c.Name = "a\x00b" }, "name"},
		{"name 900 KB", func(c *Campaign) { c.Name = strings.Repeat("x", 900<<10) }, "name"},
		{"name invalid UTF-8", func(c *Campaign) { c.Name = "a\xffb" }, "name"},
		{"flow overlong", func(c *Campaign) { c.Flow = strings.Repeat("f", 101) }, "flow"},
		{"prompt runs an application", func(c *Campaign) { c.Prompt = "system::touch /tmp/x" }, "prompt"},
		{"abandon prompt traversal", func(c *Campaign) { c.AbandonPrompt = "../../../../etc/passwd" }, "abandon_prompt"},
		{"prompt ok", func(c *Campaign) { c.Prompt = "ivr/welcome.wav"; c.AbandonPrompt = "tone:beep" }, ""},
		{"caller id injection", func(c *Campaign) { c.CallerID = "123}sofia/gateway/evil/999 &park(){x=" }, "caller_id"},
		{"caller id ok", func(c *Campaign) { c.CallerID = "+8610123456789" }, ""},
		{"schedule too large", func(c *Campaign) { c.Schedule = []byte(`{"x":"` + strings.Repeat("a", 70<<10) + `"}`) }, "schedule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Campaign{Name: "x", MaxConcurrent: 5, CallsPerSecond: 2, MaxAttempts: 3}
			tc.edit(&c)
			err := c.Normalize()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.field+": ") {
				t.Fatalf("err = %.300v, want a problem naming %s", err, tc.field)
			}
		})
	}
}

func TestAgentEndpointsFollowTheirKindsGrammar(t *testing.T) {
	for _, tc := range []struct {
		endpoints Endpoints
		ok        bool
	}{
		{Endpoints{"freeswitch": "user/1001", "asterisk": "PJSIP/1001"}, true},
		{Endpoints{"asterisk": "PJSIP/1001&PJSIP/evil?x=1"}, false},
		{Endpoints{"freeswitch": "user/1001,sofia/gateway/evil/999"}, false},
		{Endpoints{"freeswitch": "PJSIP/1001"}, false},
		{Endpoints{"sip": "user/1001"}, false},
	} {
		a := Agent{Name: "李雷", Endpoints: tc.endpoints}
		if err := a.Normalize(); (err == nil) != tc.ok {
			t.Errorf("%v: %v, want ok=%v", tc.endpoints, err, tc.ok)
		}
	}
}

// Campaign ids are int8: ids 2^32 apart, or past int4, must not share an advisory lock.
func TestLockKeysAreOneToOne(t *testing.T) {
	seen := map[[2]int32]int64{}
	for _, id := range []int64{1, 2, 1 << 31, 1<<31 + 1, 1 << 32, 1<<32 + 1, 1<<62 + 1, 1<<63 - 1} {
		hi, lo := lockKeys(id)
		k := [2]int32{hi, lo}
		if other, dup := seen[k]; dup {
			t.Errorf("campaigns %d and %d share the lock %v", other, id, k)
		}
		seen[k] = id
	}
}

func TestCallerIDPoolNameIsBounded(t *testing.T) {
	for _, name := range []string{strings.Repeat("池", MaxRefLen+1), "a\x00b", "a\nb"} {
		p := CallerIDPool{Name: name}
		if err := p.Normalize(); err == nil || !strings.Contains(err.Error(), "name: ") {
			t.Errorf("%.20q: %v", name, err)
		}
	}
}
