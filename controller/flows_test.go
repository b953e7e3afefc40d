package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media/sim"
)

// A press-1 broadcast campaign runs the configs/flows/press1.yaml flow the same way on
// FreeSWITCH and on Asterisk (there with recorded files for its spoken prompts): the callee who presses 1 is bridged to a ready agent, 2
// leaves a recording indexed with the attempt, 9 lands on the campaign's do-not-call list,
// and the results per digit are in the API.
func TestPressOneFlowOnBothNodeKinds(t *testing.T) {
	model := fastModel(1)
	fs := startFS(t, esltest.Options{Model: model, Seed: 41, PromptLength: 30 * time.Millisecond})
	ast := startAst(t, aritest.Options{Username: "u", Password: "p", App: "callplane", Model: model, Seed: 42,
		PlaybackDuration: 30 * time.Millisecond})
	agentPhone := sim.Plan{Result: sim.Answer, Ring: 20 * time.Millisecond, Talk: time.Hour}
	fs.Script("5001", agentPhone)
	ast.Script("5002", agentPhone)
	c := startApp(t,
		NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
			DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"freeswitch"}, Weight: 1},
		NodeConfig{Name: "ast1", Kind: "asterisk", Address: ast.URL(), Username: "u", Password: "p", App: "callplane",
			DialTemplate: "PJSIP/{number}@x", Pools: []string{"asterisk"}, Weight: 1})

	src, err := os.ReadFile("../configs/flows/press1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var bad struct {
		Problems []string `json:"problems"`
	}
	broken := strings.Replace(string(src), `"9": opt_out`, `"9": nowhere`, 1)
	if code := c.do("PUT", "/api/v1/flows/press1", "application/yaml", []byte(broken), &bad); code != 422 ||
		len(bad.Problems) == 0 || !strings.HasPrefix(bad.Problems[0], "press1.yaml:") {
		t.Fatalf("a broken flow: %d %v", code, bad.Problems)
	}
	var pub struct {
		Version int `json:"version"`
	}
	if code := c.do("PUT", "/api/v1/flows/press1", "application/yaml", src, &pub); code != 200 || pub.Version != 1 {
		t.Fatalf("publish: %d %+v", code, pub)
	}
	// Asterisk cannot speak text: a campaign that would run the spoken flow there is
	// refused, naming the nodes that speak; its copy of the flow plays recorded files.
	var refused struct {
		Problems []string `json:"problems"`
	}
	if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "press1-tts-on-asterisk", "max_concurrent": 5,
		"calls_per_second": 5, "max_attempts": 1, "media_pool": "asterisk", "flow": "press1"}, &refused); code != 422 ||
		len(refused.Problems) != 1 || !strings.Contains(refused.Problems[0], "speaks text (tts) at greeting, main") ||
		!strings.Contains(refused.Problems[0], "node ast1") {
		t.Fatalf("a tts flow on an Asterisk pool: %d %v", code, refused.Problems)
	}
	n := 0
	recorded := regexp.MustCompile(`(?m)^(\s+)tts: .*$`).ReplaceAllStringFunc(strings.Replace(string(src), "id: press1", "id: press1files", 1),
		func(line string) string {
			n++
			return strings.Repeat(" ", len(line)-len(strings.TrimLeft(line, " "))) + fmt.Sprintf("file: callplane/press1/%d.wav", n)
		})
	if code := c.do("PUT", "/api/v1/flows/press1files", "application/yaml", []byte(recorded), &pub); code != 200 {
		t.Fatalf("publish press1files: %d %+v", code, pub)
	}

	for i, node := range []struct{ pool, kind, ext, flow string }{{"freeswitch", "freeswitch", "user/5001", "press1"}, {"asterisk", "asterisk", "PJSIP/5002", "press1files"}} {
		var camp struct {
			ID int64 `json:"id"`
		}
		if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "press1-" + node.kind, "max_concurrent": 5,
			"calls_per_second": 50, "max_attempts": 1, "ring_timeout_seconds": 2, "media_pool": node.pool, "flow": node.flow}, &camp); code != 201 {
			t.Fatalf("campaign: %d", code)
		}
		var a agentResp
		c.json("POST", "/api/v1/agents", map[string]any{"name": "ivr-" + node.kind, "endpoints": map[string]string{node.kind: node.ext},
			"max_wrap_ms": 20, "campaigns": []map[string]any{{"campaign_id": camp.ID}}}, &a)
		c.login(a.ID)
		c.until("agent ready", func() bool { return c.agents(a.ID)[0].State == "ready" })

		press := map[string]string{}
		var rows []map[string]string
		for j, digit := range []string{"1", "2", "9"} {
			num := fmt.Sprintf("86133%d000000%d", i, j)
			press[num] = digit
			fs.PressAfterPrompt(num, digit)
			ast.PressAfterPrompt(num, digit)
			stay := sim.Plan{Result: sim.Answer, Ring: 20 * time.Millisecond, Talk: 1500 * time.Millisecond}
			fs.Script(num, stay)
			ast.Script(num, stay)
			rows = append(rows, map[string]string{"phone": "+" + num, "name": "客户" + digit})
		}
		c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows, nil)
		c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
		c.waitCompleted(camp.ID)

		var res struct {
			Calls      int                       `json:"calls"`
			Nodes      map[string]map[string]int `json:"nodes"`
			Recordings []struct {
				Phone string `json:"phone"`
				Path  string `json:"path"`
				Node  string `json:"node"`
			} `json:"recordings"`
		}
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/flow-results", camp.ID), nil, &res)
		want := map[string]int{"choice:1": 1, "choice:2": 1, "choice:9": 1}
		for k, n := range want {
			if res.Nodes["main"][k] != n {
				t.Errorf("%s: main %s = %d, want %d (%+v)", node.kind, k, res.Nodes["main"][k], n, res.Nodes)
			}
		}
		if res.Calls != 3 || res.Nodes["agent"]["transferred"] != 1 || res.Nodes["opt_out"]["added"] != 1 || res.Nodes["voicemail"]["recorded"] != 1 {
			t.Errorf("%s: results %+v", node.kind, res)
		}
		if len(res.Recordings) != 1 || press[strings.TrimPrefix(res.Recordings[0].Phone, "+")] != "2" || res.Recordings[0].Path == "" {
			t.Errorf("%s: recordings %+v", node.kind, res.Recordings)
		}
		if n := c.agents(a.ID)[0].Today.Calls; n != 1 {
			t.Errorf("%s: the agent took %d calls, want 1", node.kind, n)
		}
		var dnc struct {
			Entries []struct {
				Phone  string `json:"phone"`
				Source string `json:"source"`
			} `json:"entries"`
		}
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/dnc", camp.ID), nil, &dnc)
		if len(dnc.Entries) != 1 || press[strings.TrimPrefix(dnc.Entries[0].Phone, "+")] != "9" || dnc.Entries[0].Source != "ivr:"+node.flow {
			t.Errorf("%s: do-not-call entries %+v", node.kind, dnc.Entries)
		}
	}
}

// A flow's transfer to an external number calls it on the caller's node and bridges the
// two when it answers (FreeSWITCH here); when the number is busy (Asterisk here) the flow
// takes its failure branch.
func TestFlowTransferToANumber(t *testing.T) {
	model := fastModel(1)
	fs := startFS(t, esltest.Options{Model: model, Seed: 43, PromptLength: 30 * time.Millisecond})
	ast := startAst(t, aritest.Options{Username: "u", Password: "p", App: "callplane", Model: model, Seed: 44,
		PlaybackDuration: 30 * time.Millisecond})
	fs.Script("8613800138000", sim.Plan{Result: sim.Answer, Ring: 20 * time.Millisecond, Talk: 300 * time.Millisecond})
	ast.Script("8613800138000", sim.Plan{Result: sim.Busy, Ring: 20 * time.Millisecond})
	c := startApp(t,
		NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
			DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"freeswitch"}, Weight: 1},
		NodeConfig{Name: "ast1", Kind: "asterisk", Address: ast.URL(), Username: "u", Password: "p", App: "callplane",
			DialTemplate: "PJSIP/{number}@x", Pools: []string{"asterisk"}, Weight: 1})
	flow := `id: operator
version: 1
start: main
nodes:
  main:
    kind: menu
    prompt: {file: ivr/menu.wav}
    choices:
      "0": operator
    timeout: 2s
    retries: 0
  operator:
    kind: transfer
    number: "+8613800138000"
    timeout: 5s
    on_fail: sorry
  sorry:
    kind: hangup
    prompt: {file: ivr/sorry.wav}
`
	if code := c.do("PUT", "/api/v1/flows/operator", "application/yaml", []byte(flow), nil); code != 200 {
		t.Fatalf("publish: %d", code)
	}
	for i, tc := range []struct{ pool, result string }{{"freeswitch", "transferred"}, {"asterisk", "failed"}} {
		var camp struct {
			ID int64 `json:"id"`
		}
		var e map[string]any
		if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "operator-" + tc.pool, "max_concurrent": 2,
			"calls_per_second": 50, "max_attempts": 1, "ring_timeout_seconds": 2, "media_pool": tc.pool, "flow": "operator"}, &e); code != 201 {
			t.Fatalf("campaign: %d %v", code, e)
		}
		camp.ID = int64(e["id"].(float64))
		num := fmt.Sprintf("861330090%04d", 1000+i)
		fs.PressAfterPrompt(num, "0")
		ast.PressAfterPrompt(num, "0")
		fs.Script(num, sim.Plan{Result: sim.Answer, Ring: 20 * time.Millisecond, Talk: 3 * time.Second})
		ast.Script(num, sim.Plan{Result: sim.Answer, Ring: 20 * time.Millisecond, Talk: 3 * time.Second})
		var imp map[string]any
		c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), []map[string]string{{"phone": "+" + num}}, &imp)
		if imp["imported"] != float64(1) {
			t.Fatalf("import: %v", imp)
		}
		c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
		c.waitCompleted(camp.ID)
		var res struct {
			Nodes map[string]map[string]int `json:"nodes"`
		}
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/flow-results", camp.ID), nil, &res)
		if res.Nodes["operator"][tc.result] != 1 || (tc.result == "failed") != (res.Nodes["sorry"]["hangup"] == 1) {
			t.Errorf("%s: %+v", tc.pool, res.Nodes)
		}
	}
	if fs.Originates("8613800138000") != 1 || ast.Stats().Originates["8613800138000"] != 1 {
		t.Errorf("the number was called %d + %d times", fs.Originates("8613800138000"), ast.Stats().Originates["8613800138000"])
	}
}

// In an agent campaign the flow is the abandon message: a person with no agent in time
// hears configs/flows/abandon.yaml (text to speech on FreeSWITCH) and the call is in the
// ledger.
func TestAbandonMessageFlow(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(1), Seed: 45, PromptLength: 30 * time.Millisecond})
	fs.Script("6001", sim.Plan{Result: sim.Answer, Ring: 20 * time.Millisecond, Talk: time.Hour})
	fs.Script("8613300906001", sim.Plan{Result: sim.Answer, Ring: 800 * time.Millisecond, Talk: 2 * time.Second})
	c := startApp(t, NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
		DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1})
	src, err := os.ReadFile("../configs/flows/abandon.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.do("PUT", "/api/v1/flows/abandon", "application/yaml", src, nil)
	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "abandon-flow", "dial_mode": "progressive", "max_concurrent": 2,
		"calls_per_second": 50, "max_attempts": 1, "ring_timeout_seconds": 3, "abandon_after_ms": 100, "flow": "abandon"}, &camp)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), []map[string]string{{"phone": "+8613300906001"}}, nil)
	var a agentResp
	c.json("POST", "/api/v1/agents", map[string]any{"name": "abandon-agent", "endpoints": map[string]string{"freeswitch": "user/6001"},
		"campaigns": []map[string]any{{"campaign_id": camp.ID}}}, &a)
	c.login(a.ID)
	c.until("agent ready", func() bool { return c.agents(a.ID)[0].State == "ready" })
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
	c.until("the call placed", func() bool { return fs.Originates("8613300906001") == 1 })
	c.json("POST", fmt.Sprintf("/api/v1/agents/%d/pause", a.ID), nil, nil) // before the person answers
	c.waitCompleted(camp.ID)
	var res struct {
		Nodes map[string]map[string]int `json:"nodes"`
	}
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/flow-results", camp.ID), nil, &res)
	var led struct {
		Last24h struct {
			Abandoned int `json:"abandoned"`
		} `json:"last_24h"`
	}
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/abandons", camp.ID), nil, &led)
	spoke := false
	for _, cmd := range fs.Commands() {
		spoke = spoke || strings.Contains(cmd, `speak::flite|kal|This\sis\sCallplane`) // blanks escaped as ESL wants
	}
	if res.Nodes["message"]["hangup"] != 1 || led.Last24h.Abandoned != 1 || !spoke {
		t.Errorf("abandon flow: %+v, ledger %d, spoken %v", res.Nodes, led.Last24h.Abandoned, spoke)
	}
}
