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
