//go:build realservers

package main

import (
	"fmt"
	"os"
	"testing"
)

// realNodes are the real servers make test-real points at (see scripts/test-real.sh), each
// in a pool named after its kind; the test is skipped when there is none.
func realNodes(t *testing.T) []NodeConfig {
	t.Helper()
	var nodes []NodeConfig
	if addr := os.Getenv("CALLPLANE_REAL_FS_ESL"); addr != "" {
		nodes = append(nodes, NodeConfig{Name: "fs-real", Kind: "freeswitch", Address: addr,
			Password: os.Getenv("CALLPLANE_REAL_FS_PASSWORD"), DialTemplate: os.Getenv("CALLPLANE_REAL_FS_DIAL"),
			Pools: []string{"freeswitch"}, Weight: 1, MaxCalls: 60, CallsPerSecond: 30})
	}
	if u := os.Getenv("CALLPLANE_REAL_ARI_URL"); u != "" {
		nodes = append(nodes, NodeConfig{Name: "ast-real", Kind: "asterisk", Address: u,
			Username: os.Getenv("CALLPLANE_REAL_ARI_USER"), Password: os.Getenv("CALLPLANE_REAL_ARI_PASSWORD"),
			App: "callplane-real", DialTemplate: os.Getenv("CALLPLANE_REAL_ARI_DIAL"),
			Pools: []string{"asterisk"}, Weight: 1, MaxCalls: 60, CallsPerSecond: 30})
	}
	if len(nodes) == 0 {
		t.Skip("no real server configured (CALLPLANE_REAL_FS_* / CALLPLANE_REAL_ARI_*)")
	}
	return nodes
}

// startRealApp runs the daemon against the real servers, with a prompt both rigs carry.
func startRealApp(t *testing.T) (client, []NodeConfig) {
	nodes := realNodes(t)
	return startAppWith(t, func(cfg *Config, _ *Options) {
		cfg.Dialer.DefaultPrompt = "hello-world.wav"
		cfg.Dialer.Tick = 50e6
	}, nodes...), nodes
}

// calleeOutcome is what the rig callee does for a number, by its last digit.
var calleeOutcome = map[byte]string{'0': "answered", '1': "answered", '2': "answered", '3': "answered",
	'4': "answered", '5': "answered", '6': "busy", '7': "no_answer", '8': "invalid_number", '9': "unavailable"}

// TestRealBroadcastOutcomes places a broadcast campaign of a few hundred numbers on each
// real server: every contact's outcome is the one the callee chose for its number, each
// dialled once.
func TestRealBroadcastOutcomes(t *testing.T) {
	c, nodes := startRealApp(t)
	for k, node := range nodes {
		pool := node.Pools[0]
		var camp struct {
			ID int64 `json:"id"`
		}
		if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "real-broadcast-" + pool, "dial_mode": "broadcast",
			"max_concurrent": 40, "calls_per_second": 20, "max_attempts": 1, "ring_timeout_seconds": 3, "media_pool": pool}, &camp); code != 201 {
			t.Fatalf("%s: create %d", pool, code)
		}
		const n = 250
		var rows []map[string]string
		want := map[string]string{}
		for i := range n {
			// The digit before the last is 0: no DTMF; the third from the end 1: the tone.
			num := fmt.Sprintf("+86139%d%04d10%d", 5+k, i, i%10)
			rows = append(rows, map[string]string{"phone": num, "name": "真实" + num[len(num)-4:]})
			want[num] = calleeOutcome[num[len(num)-1]]
		}
		var imp struct {
			Imported int `json:"imported"`
		}
		if code := c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows, &imp); code != 200 || imp.Imported != n {
			t.Fatalf("%s: import %d, %d imported", pool, code, imp.Imported)
		}
		c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
		st := c.waitCompleted(camp.ID)
		var list contactsResp
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/contacts?limit=1000", camp.ID), nil, &list)
		matched := 0
		for _, ct := range list.Contacts {
			got := ""
			if ct.LastOutcome != nil {
				got = *ct.LastOutcome
			}
			if got != want[ct.Phone] || ct.Attempts != 1 {
				t.Errorf("%s: %s ended %q after %d attempts, want %q once", pool, ct.Phone, got, ct.Attempts, want[ct.Phone])
				continue
			}
			matched++
		}
		t.Logf("%s: %d calls placed, %d outcomes matched the callee's, outcomes %v", pool, st.Attempts, matched, st.Outcomes)
	}
}

// TestRealMenuDigits runs a menu on each real server that the callee answers with its DTMF
// digit (the digit before the last of its number, sent 3 s after answering); the path and
// the digits are stored with the attempt.
func TestRealMenuDigits(t *testing.T) {
	c, nodes := startRealApp(t)
	flow := `id: realmenu
version: 1
start: main
nodes:
  main:
    kind: menu
    prompt:
      file: press-1.wav
    choices:
      "3": three
      "4": four
    timeout: 8s
    retries: 0
  three:
    kind: hangup
  four:
    kind: hangup
`
	if code := c.do("PUT", "/api/v1/flows/realmenu", "application/yaml", []byte(flow), nil); code != 200 {
		t.Fatalf("publish: %d", code)
	}
	for k, node := range nodes {
		pool := node.Pools[0]
		var camp struct {
			ID int64 `json:"id"`
		}
		if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "real-menu-" + pool, "max_concurrent": 10,
			"calls_per_second": 10, "max_attempts": 1, "ring_timeout_seconds": 5, "media_pool": pool, "flow": "realmenu"}, &camp); code != 201 {
			t.Fatalf("%s: create %d", pool, code)
		}
		var rows []map[string]string
		for i := range 10 {
			digit := 3 + i%2
			rows = append(rows, map[string]string{"phone": fmt.Sprintf("+86139%d%04d1%d0", 7+k, i, digit)})
		}
		c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows, nil)
		c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
		c.waitCompleted(camp.ID)
		var res struct {
			Calls int                       `json:"calls"`
			Nodes map[string]map[string]int `json:"nodes"`
		}
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/flow-results", camp.ID), nil, &res)
		if res.Nodes["main"]["choice:3"] != 5 || res.Nodes["main"]["choice:4"] != 5 {
			t.Errorf("%s: menu results %v, want choice:3 5 and choice:4 5", pool, res.Nodes)
		}
		t.Logf("%s: %d calls, digits received: %v", pool, res.Calls, res.Nodes["main"])
	}
}
