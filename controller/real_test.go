//go:build realservers

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
	// FreeSWITCH speaks the menu (speak fires no playback events of its own: the driver
	// follows its execution); Asterisk plays the file.
	spoken := strings.NewReplacer("id: realmenu", "id: realmenutts", "file: press-1.wav", `tts: "Press 3 or 4."`).Replace(flow)
	if code := c.do("PUT", "/api/v1/flows/realmenutts", "application/yaml", []byte(spoken), nil); code != 200 {
		t.Fatalf("publish: %d", code)
	}
	for k, node := range nodes {
		pool := node.Pools[0]
		var camp struct {
			ID int64 `json:"id"`
		}
		if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "real-menu-" + pool, "max_concurrent": 10,
			"calls_per_second": 10, "max_attempts": 1, "ring_timeout_seconds": 5, "media_pool": pool, "flow": map[bool]string{true: "realmenutts", false: "realmenu"}[node.Kind == "freeswitch"]}, &camp); code != 201 {
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

// TestRealKill9MidCampaign kills `callplane serve` with SIGKILL while a campaign's calls
// are up on the real FreeSWITCH and starts it again: the campaign completes, no call is
// left in progress, and the callee (CALLPLANE_REAL_CALLEE_LOG, its log of INVITEs)
// received no number more often than callplane recorded attempts for it.
func TestRealKill9MidCampaign(t *testing.T) {
	addr, logPath := os.Getenv("CALLPLANE_REAL_FS_ESL"), os.Getenv("CALLPLANE_REAL_CALLEE_LOG")
	if addr == "" || logPath == "" {
		t.Skip("needs CALLPLANE_REAL_FS_* and CALLPLANE_REAL_CALLEE_LOG")
	}
	mark, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	httpAddr := freeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "callplane.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
dialer:
  tick: 20ms
  lost_grace: 5s
  drain_timeout: 1s
  default_prompt: hello-world.wav
media:
  nodes:
    - name: fs-real
      kind: freeswitch
      address: %s
      password: %s
      dial_template: %q
      max_calls: 60
      calls_per_second: 30
`, addr, os.Getenv("CALLPLANE_REAL_FS_PASSWORD"), os.Getenv("CALLPLANE_REAL_FS_DIAL"))), 0o644)
	env := append(os.Environ(), "DATABASE_URL="+db.URL, "CALLPLANE_HTTP_ADDR="+httpAddr, "CALLPLANE_ADMIN_TOKEN="+token)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--config", cfgPath)
		cmd.Env = env
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("serve log tail:\n%s", tail(out.String(), 30))
			}
		})
		waitHTTP(t, "http://"+httpAddr+"/healthz")
		return cmd
	}
	serve := start()
	c := client{t: t, base: "http://" + httpAddr}
	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "real-kill9", "dial_mode": "broadcast",
		"max_concurrent": 30, "calls_per_second": 20, "max_attempts": 3, "retry_after_seconds": 1, "ring_timeout_seconds": 3}, &camp)
	var rows []map[string]string
	for i := range 120 {
		rows = append(rows, map[string]string{"phone": fmt.Sprintf("+861398%04d10%d", i, i%10)})
	}
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows, nil)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
	c.until("calls in flight", func() bool {
		var st statsResp
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/stats", camp.ID), nil, &st)
		return st.Attempts >= 40 && st.InProgress > 10
	})
	serve.Process.Signal(syscall.SIGKILL)
	serve.Wait()
	serve = start()
	defer func() { serve.Process.Signal(syscall.SIGTERM); serve.Wait() }()
	st := c.waitCompleted(camp.ID)
	if st.InProgress != 0 {
		t.Errorf("%d calls left in progress", st.InProgress)
	}

	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	invites := map[string]int{}
	for _, line := range strings.Split(string(b[mark.Size():]), "\n") {
		if f := strings.Fields(line); len(f) >= 5 && f[4] == "INVITE" {
			invites[strings.TrimSuffix(f[3], "]")]++
		}
	}
	var list contactsResp
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/contacts?limit=1000", camp.ID), nil, &list)
	for _, ct := range list.Contacts {
		if n := invites[strings.TrimPrefix(ct.Phone, "+")]; n > ct.Attempts || n == 0 {
			t.Errorf("%s: the callee was called %d times, callplane recorded %d attempts", ct.Phone, n, ct.Attempts)
		}
	}
	t.Logf("after kill -9 on the real FreeSWITCH: %+v", st)
}

// TestRealAgents logs agent phones in on each real server (the callee's agent numbers stay
// up until hung up), runs a progressive and a predictive campaign of answering numbers,
// and checks that answered people were bridged to agents, dispositions are written, the
// agents go through wrap-up back to ready, and log out.
func TestRealAgents(t *testing.T) {
	c, nodes := startRealApp(t)
	live := c.follow()
	var logMark int64
	if fi, err := os.Stat(os.Getenv("CALLPLANE_REAL_CALLEE_LOG")); err == nil {
		logMark = fi.Size()
	}
	for k, node := range nodes {
		for m, mode := range []string{"progressive", "predictive"} {
			pool := node.Pools[0]
			var camp struct {
				ID int64 `json:"id"`
			}
			if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "real-" + mode + "-" + pool, "dial_mode": mode,
				"max_concurrent": 10, "calls_per_second": 10, "max_attempts": 1, "ring_timeout_seconds": 5,
				"abandon_prompt": "hello-world.wav", "media_pool": pool}, &camp); code != 201 {
				t.Fatalf("%s %s: create %d", pool, mode, code)
			}
			var rows []map[string]string
			for i := range 12 {
				rows = append(rows, map[string]string{"phone": fmt.Sprintf("+86139%d%d%03d100", 3+k, m, i), "name": "客户"})
			}
			var imp struct {
				Imported int `json:"imported"`
			}
			if c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows, &imp); imp.Imported != len(rows) {
				t.Fatalf("%s %s: imported %d of %d", pool, mode, imp.Imported, len(rows))
			}
			var ids []int64
			for i := range 3 {
				ep := strings.ReplaceAll(node.DialTemplate, "{number}", fmt.Sprintf("agent%d%d%d", 7+k, m, i))
				var a agentResp
				if code := c.json("POST", "/api/v1/agents", map[string]any{"name": fmt.Sprintf("坐席%s%s%d", pool, mode, i), "team": "real",
					"endpoints": map[string]string{node.Kind: ep}, "node": node.Name, "max_wrap_ms": 200,
					"campaigns": []map[string]any{{"campaign_id": camp.ID}}}, &a); code != 201 {
					t.Fatalf("%s: agent %d", pool, code)
				}
				ids = append(ids, a.ID)
				c.login(a.ID)
			}
			c.until("agents ready", func() bool {
				for _, a := range c.agents(ids...) {
					if a.State != "ready" {
						return false
					}
				}
				return true
			})
			c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
			st := c.waitCompleted(camp.ID)
			bridged := 0
			for _, a := range c.agents(ids...) {
				bridged += a.Today.Calls
			}
			var led struct {
				Last24h struct {
					Abandoned int `json:"abandoned"`
				} `json:"last_24h"`
			}
			c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/abandons", camp.ID), nil, &led)
			if bridged == 0 || bridged+led.Last24h.Abandoned != st.Outcomes["answered"] {
				t.Errorf("%s %s: %d bridged + %d abandoned, %d answered", pool, mode, bridged, led.Last24h.Abandoned, st.Outcomes["answered"])
			}
			// A disposition on one bridged call of this campaign.
			var callID string
			live.count(func(ev map[string]any) bool {
				if ev["type"] == "call.bridged" && fmt.Sprint(ev["campaign_id"]) == fmt.Sprint(camp.ID) && callID == "" {
					callID, _ = ev["call_id"].(string)
				}
				return false
			})
			if callID == "" {
				t.Errorf("%s %s: no call.bridged event", pool, mode)
			} else if code := c.json("POST", "/api/v1/calls/"+callID+"/disposition", map[string]any{"disposition": "sale", "notes": "真实服务器"}, nil); code != 200 {
				t.Errorf("%s %s: disposition %d", pool, mode, code)
			}
			c.until("agents back to ready", func() bool {
				for _, a := range c.agents(ids...) {
					if a.State != "ready" {
						return false
					}
				}
				return true
			})
			for _, id := range ids {
				if code := c.json("POST", fmt.Sprintf("/api/v1/agents/%d/logout", id), nil, nil); code != 200 {
					t.Errorf("logout %d: %d", id, code)
				}
			}
			if logPath := os.Getenv("CALLPLANE_REAL_CALLEE_LOG"); logPath != "" {
				// Audio both ways: every customer the callee hung up on had received about as
				// many RTP packets (the agent phone's tone, through the bridge) as it sent.
				prefix := strings.TrimPrefix(rows[0]["phone"], "+")[:8]
				heard, calls := audioHeard(t, logPath, prefix, logMark)
				if calls == 0 || heard != calls {
					t.Errorf("%s %s: %d of %d customer calls received audio through the bridge", pool, mode, heard, calls)
				}
			}
			t.Logf("%s %s: %d answered, %d bridged to agents, %d abandoned", pool, mode, st.Outcomes["answered"], bridged, led.Last24h.Abandoned)
		}
	}
}

// audioHeard reads the callee's log for calls to numbers starting with prefix: how many
// ended with the callee's BYE, and in how many of those it received at least half as many
// RTP packets as it sent; from is where the test's part of the log begins.
func audioHeard(t *testing.T, logPath, prefix string, from int64) (heard, calls int) {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b[min(from, int64(len(b))):]), "\n") {
		var tx, rx int
		i := strings.Index(line, "sending BYE (rtp tx ")
		if i < 0 || !strings.Contains(line, " "+prefix) {
			continue
		}
		if _, err := fmt.Sscanf(line[i:], "sending BYE (rtp tx %d rx %d)", &tx, &rx); err != nil {
			continue
		}
		calls++
		if tx > 0 && 2*rx >= tx {
			heard++
		}
	}
	return heard, calls
}
