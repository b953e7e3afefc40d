package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/eslbridge/esltest"
)

// A trunk whose gateway fails every call is opened within 10 attempts; the calls go out
// on the next trunk and no contact is charged for the failures.
func TestTrunkFailover(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(1), Seed: 21, DownGateways: []string{"bad"}})
	ast := startAst(t, aritest.Options{Username: "u", Password: "p", App: "callplane", Model: fastModel(1), Seed: 22,
		DownGateways: []string{"bad"}})
	c := startAppWith(t, func(cfg *Config, _ *Options) {
		cfg.Media.Trunks = []TrunkConfig{
			{Name: "good", Priority: 2, Templates: map[string]string{"freeswitch": "sofia/gateway/good/{number}", "asterisk": "PJSIP/{number}@good"}},
			{Name: "bad", Priority: 1, OpenFor: time.Hour, Templates: map[string]string{"freeswitch": "sofia/gateway/bad/{number}", "asterisk": "PJSIP/{number}@bad"}},
		}
	},
		NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
			DialTemplate: "sofia/gateway/unused/{number}", Pools: []string{"default"}, Weight: 1},
		NodeConfig{Name: "ast1", Kind: "asterisk", Address: ast.URL(), Username: "u", Password: "p", App: "callplane",
			DialTemplate: "PJSIP/{number}@unused", Pools: []string{"default"}, Weight: 1})
	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "trunks", "max_concurrent": 3, "calls_per_second": 100,
		"max_attempts": 1, "ring_timeout_seconds": 1}, &camp)
	var rows []map[string]string
	for i := range 30 {
		rows = append(rows, map[string]string{"phone": fmt.Sprintf("+86135%08d", i)})
	}
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows, nil)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
	c.waitCompleted(camp.ID)

	var tr struct {
		Trunks []struct {
			Name   string `json:"name"`
			State  string `json:"state"`
			Calls  int    `json:"calls"`
			Failed int    `json:"failed"`
		} `json:"trunks"`
	}
	c.json("GET", "/api/v1/media/trunks", nil, &tr)
	if len(tr.Trunks) != 2 || tr.Trunks[0].Name != "bad" || tr.Trunks[0].State != "open" || tr.Trunks[0].Failed > 10 ||
		tr.Trunks[0].Failed != tr.Trunks[0].Calls || tr.Trunks[1].Calls < 30 || tr.Trunks[1].Failed != 0 {
		t.Fatalf("trunks: %+v", tr.Trunks)
	}
	var list contactsResp
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/contacts?limit=100", camp.ID), nil, &list)
	failedOver := 0
	for _, ct := range list.Contacts {
		if ct.Status != "answered" || ct.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts", ct.Phone, ct.Status, ct.Attempts)
		}
		n := fs.Originates(strings.TrimPrefix(ct.Phone, "+")) + ast.Stats().Originates[strings.TrimPrefix(ct.Phone, "+")]
		if n > 1 {
			failedOver++
			var d struct {
				Decisions []struct {
					Reason string `json:"reason"`
				} `json:"decisions"`
			}
			c.json("GET", fmt.Sprintf("/api/v1/contacts/%d/decisions", ct.ID), nil, &d)
			if len(d.Decisions) != 3 || !strings.HasPrefix(d.Decisions[1].Reason, "trunk:bad failed") {
				t.Errorf("%s: dialed %d times, decisions %+v", ct.Phone, n, d.Decisions)
			}
		}
	}
	if failedOver != tr.Trunks[0].Failed {
		t.Errorf("%d contacts placed again, %d trunk failures", failedOver, tr.Trunks[0].Failed)
	}
	var comp struct {
		Dials     int            `json:"dials"`
		Uncharged int            `json:"uncharged"`
		Skips     map[string]int `json:"skips"`
		Breaches  []struct {
			Kind  string `json:"kind"`
			Count int    `json:"count"`
		} `json:"breaches"`
	}
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/compliance", camp.ID), nil, &comp)
	if comp.Dials != 30 || comp.Uncharged != failedOver || comp.Skips["trunk:bad"] != failedOver || len(comp.Breaches) != 2 {
		t.Errorf("compliance: %+v", comp)
	}
	for _, b := range comp.Breaches {
		if b.Count != 0 {
			t.Errorf("breach %s: %d", b.Kind, b.Count)
		}
	}
}

// A campaign with a caller-id pool presents its numbers within their caps: with two
// numbers capped at 5 calls an hour, 10 of 16 contacts are dialed and the rest wait; the
// usage per number is in the API and matches what the node received.
func TestCallerIDPoolCaps(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(0.5), Seed: 31})
	c := startApp(t, NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
		DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1})
	if code := c.json("POST", "/api/v1/caller-id-pools", map[string]any{"name": "sales", "hourly_cap": 5,
		"numbers": []string{"010 6234 5678", "021-5000-1234", "not a number"}}, nil); code != 201 {
		t.Fatalf("create pool: %d", code)
	}
	var camp struct {
		ID int64 `json:"id"`
	}
	if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "cid", "max_concurrent": 4, "calls_per_second": 100,
		"max_attempts": 1, "ring_timeout_seconds": 1, "caller_id_pool": "nope"}, nil); code != 422 {
		t.Errorf("unknown pool: %d", code)
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "cid", "max_concurrent": 4, "calls_per_second": 100,
		"max_attempts": 1, "ring_timeout_seconds": 1, "caller_id_pool": "sales"}, &camp)
	var rows []map[string]string
	for i := range 16 {
		rows = append(rows, map[string]string{"phone": fmt.Sprintf("+86134%08d", i)})
	}
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows, nil)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
	c.until("ten calls ended", func() bool {
		var st statsResp
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/stats", camp.ID), nil, &st)
		return st.Attempts == 10 && st.InProgress == 0
	})
	var pools struct {
		Pools []struct {
			Name    string `json:"name"`
			Numbers []struct {
				Number string `json:"number"`
				Usage  struct {
					LastHour int `json:"last_hour"`
				} `json:"usage"`
			} `json:"numbers"`
		} `json:"pools"`
	}
	c.json("GET", "/api/v1/caller-id-pools", nil, &pools)
	if len(pools.Pools) != 1 || len(pools.Pools[0].Numbers) != 2 {
		t.Fatalf("pools: %+v", pools)
	}
	presented := map[string]int{}
	for _, cmd := range fs.Commands() {
		if i := strings.Index(cmd, "origination_caller_id_number="); i >= 0 {
			num, _, _ := strings.Cut(cmd[i+len("origination_caller_id_number="):], ",")
			presented[num]++
		}
	}
	for _, n := range pools.Pools[0].Numbers {
		if n.Usage.LastHour != 5 || presented[n.Number] != 5 {
			t.Errorf("%s: usage %d, presented %d times; want 5", n.Number, n.Usage.LastHour, presented[n.Number])
		}
	}
	if got := fs.Stats().TotalOriginates; got != 10 {
		t.Errorf("%d originates, want 10", got)
	}
}
