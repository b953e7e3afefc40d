package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/campaigns/compliance"
	"github.com/callplane/callplane/eslbridge/esltest"
)

// shiftedClock runs at the wall clock's pace from another instant.
type shiftedClock struct{ by time.Duration }

func (c shiftedClock) Now() time.Time { return time.Now().Add(c.by) }

// With the cn rule pack, at 11:00 in Shanghai (22:00 in New York), the Shanghai numbers are
// dialed, the New York ones never reach the node and their decisions say why; numbers on
// the do-not-call list are not dialed either.
func TestCallingHoursAndDNCThroughTheAPI(t *testing.T) {
	at := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC) // a Wednesday, no holiday
	fs := startFS(t, esltest.Options{Model: fastModel(1), Seed: 51})
	c := startAppWith(t, func(_ *Config, o *Options) { o.Clock = shiftedClock{by: time.Until(at)} },
		NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
			DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1})
	if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "hours", "max_concurrent": 5, "calls_per_second": 50,
		"max_attempts": 1, "rule_pack": "nope"}, nil); code != 422 {
		t.Errorf("unknown rule pack: %d", code)
	}
	if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "hours", "max_concurrent": 5, "calls_per_second": 50,
		"max_attempts": 1, "schedule": map[string]any{"open": []string{"0 9 * *"}}}, nil); code != 422 {
		t.Errorf("bad schedule: %d", code)
	}
	var camp struct {
		ID int64 `json:"id"`
	}
	if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "hours", "max_concurrent": 5, "calls_per_second": 50,
		"max_attempts": 1, "ring_timeout_seconds": 1, "rule_pack": "cn", "time_zone": "Asia/Shanghai"}, &camp); code != 201 {
		t.Fatalf("campaign: %d", code)
	}
	shanghai := []string{"+862150001001", "+862150001002", "+862150001003"}
	newYork := []string{"+12125550101", "+12125550102"}
	var rows []map[string]string
	for _, p := range append(append([]string{}, shanghai...), newYork...) {
		rows = append(rows, map[string]string{"phone": p})
	}
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows, nil)
	c.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/dnc", camp.ID), "text/csv", []byte("phone,source\n"+shanghai[2]+",complaint\n"), nil)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)

	var list contactsResp
	c.until("the Shanghai calls end and New York is held", func() bool {
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), nil, &list)
		done := 0
		for _, ct := range list.Contacts {
			if ct.Status == "answered" || ct.Status == "dnc" {
				done++
			}
		}
		return done == 3
	})
	for _, ct := range list.Contacts {
		n := fs.Originates(strings.TrimPrefix(ct.Phone, "+"))
		var d struct {
			Decisions []struct {
				Action string `json:"action"`
				Reason string `json:"reason"`
			} `json:"decisions"`
		}
		c.json("GET", fmt.Sprintf("/api/v1/contacts/%d/decisions", ct.ID), nil, &d)
		switch {
		case strings.HasPrefix(ct.Phone, "+1"):
			if n != 0 || ct.Status != "pending" || len(d.Decisions) != 1 ||
				!strings.HasPrefix(d.Decisions[0].Reason, "window:closed local=22:00 America/New_York") {
				t.Errorf("%s outside its hours: %d originates, %s, %+v", ct.Phone, n, ct.Status, d.Decisions)
			}
		case ct.Phone == shanghai[2]:
			if n != 0 || ct.Status != "dnc" || len(d.Decisions) != 1 || d.Decisions[0].Reason != "dnc:campaign" {
				t.Errorf("%s on the list: %d originates, %s, %+v", ct.Phone, n, ct.Status, d.Decisions)
			}
		default:
			if n != 1 || ct.Status != "answered" {
				t.Errorf("%s in its hours: %d originates, %s", ct.Phone, n, ct.Status)
			}
		}
	}
	var comp struct {
		Skips map[string]int `json:"skips"`
	}
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/compliance", camp.ID), nil, &comp)
	if comp.Skips["window:closed"] != 2 || comp.Skips["dnc:campaign"] != 1 {
		t.Errorf("compliance skips: %v", comp.Skips)
	}
	if code := c.json("PATCH", fmt.Sprintf("/api/v1/campaigns/%d", camp.ID), map[string]any{"rule_pack": "xx"}, nil); code != 422 {
		t.Errorf("patch to an unknown pack: %d", code)
	}
	// A schedule whose window closed at 10:00 yesterday (UTC) holds every call; patched
	// to an open one, the campaign resumes by itself.
	var held struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "scheduled", "max_concurrent": 5, "calls_per_second": 50,
		"max_attempts": 1, "ring_timeout_seconds": 1,
		"schedule": map[string]any{"time_zone": "UTC", "open": []string{"0 9 * * *"}, "close": []string{"0 10 * * *"}}}, &held)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", held.ID), []map[string]string{{"phone": "+862150001009"}}, nil)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", held.ID), nil, nil)
	if code := c.json("PATCH", fmt.Sprintf("/api/v1/campaigns/%d", held.ID), map[string]any{
		"schedule": map[string]any{"time_zone": "UTC", "open": []string{"0 1 * * *"}, "close": []string{"0 10 * * *"}}}, nil); code != 200 {
		t.Fatalf("patch the schedule: %d", code)
	}
	c.waitCompleted(held.ID)
	if n := fs.Originates("862150001009"); n != 1 {
		t.Errorf("after the window opened: %d originates", n)
	}
}

// A rule pack's daily cap counts a number's attempts across campaigns: the second
// campaign does not call a number the first already called today, and says why.
func TestAttemptCapAcrossCampaigns(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(0), Seed: 52}) // nobody answers
	c := startAppWith(t, func(cfg *Config, _ *Options) {
		cfg.Compliance.Packs = map[string]compliance.Pack{"strict": {
			Hours: compliance.Week{"mon": {"00:00-24:00"}, "tue": {"00:00-24:00"}, "wed": {"00:00-24:00"}, "thu": {"00:00-24:00"},
				"fri": {"00:00-24:00"}, "sat": {"00:00-24:00"}, "sun": {"00:00-24:00"}},
			MaxAttemptsDay: 1}}
	}, NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
		DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1})
	phone := "+8613300907001"
	var ids []int64
	for _, name := range []string{"first", "second"} {
		var camp struct {
			ID int64 `json:"id"`
		}
		if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "cap-" + name, "max_concurrent": 1, "calls_per_second": 50,
			"max_attempts": 3, "retry_after_seconds": 0, "ring_timeout_seconds": 1, "rule_pack": "strict"}, &camp); code != 201 {
			t.Fatalf("campaign: %d", code)
		}
		c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), []map[string]string{{"phone": phone}}, nil)
		ids = append(ids, camp.ID)
	}
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", ids[0]), nil, nil)
	c.until("the first call over", func() bool {
		var st statsResp
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/stats", ids[0]), nil, &st)
		return st.Attempts == 1 && st.InProgress == 0
	})
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", ids[1]), nil, nil)
	var comp struct {
		Skips map[string]int `json:"skips"`
	}
	c.until("both campaigns held by the cap", func() bool {
		n := 0
		for _, id := range ids {
			c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/compliance", id), nil, &comp)
			n += comp.Skips["cap:daily"]
		}
		return n == 2 // the first campaign's retry and the second campaign's first try
	})
	if got := fs.Originates(strings.TrimPrefix(phone, "+")); got != 1 {
		t.Errorf("%s dialed %d times today, cap 1", phone, got)
	}
}
