package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media/sim"
)

type agentResp struct {
	ID      int64  `json:"id"`
	State   string `json:"state"`
	LegNode string `json:"leg_node"`
	Today   struct {
		Calls int `json:"calls"`
	} `json:"today"`
}

// agents lists the agents with the given ids, in that order (all without ids): the
// package's tests share one database.
func (c client) agents(ids ...int64) []agentResp {
	c.t.Helper()
	var out struct {
		Agents []agentResp `json:"agents"`
	}
	c.json("GET", "/api/v1/agents", nil, &out)
	if len(ids) == 0 {
		return out.Agents
	}
	var mine []agentResp
	for _, id := range ids {
		for _, a := range out.Agents {
			if a.ID == id {
				mine = append(mine, a)
			}
		}
	}
	return mine
}

// login logs an agent in once a node for its phone is up (before that, login is refused
// with 422).
func (c client) login(id int64) {
	c.t.Helper()
	var code int
	c.until("agent login", func() bool {
		code = c.json("POST", fmt.Sprintf("/api/v1/agents/%d/login", id), nil, nil)
		return code != 422
	})
	if code != 200 {
		c.t.Fatalf("login %d: %d", id, code)
	}
}

// until polls cond; the deadline only guards against a hang.
func (c client) until(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s: %+v", what, c.agents())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// liveLog collects the /api/v1/events stream.
type liveLog struct {
	mu     sync.Mutex
	events []map[string]any
}

func (c client) follow() *liveLog {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		c.t.Fatalf("events: %v %v", resp, err)
	}
	l := &liveLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		typ := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				typ = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var ev map[string]any
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev) == nil {
					ev["type"] = typ
					l.mu.Lock()
					l.events = append(l.events, ev)
					l.mu.Unlock()
				}
			}
		}
	}()
	c.t.Cleanup(func() { resp.Body.Close(); <-done })
	return l
}

func (l *liveLog) count(match func(map[string]any) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.events {
		if match(ev) {
			n++
		}
	}
	return n
}

// A predictive campaign worked by ten agents with nailed-up legs on a FreeSWITCH and an
// Asterisk node: answered calls are bridged to agents on their own node, agent states
// stream live, and calls answered while every agent is paused are abandoned, hear the
// compliance message and land in the ledger.
func TestPredictiveCampaignWithAgents(t *testing.T) {
	model := fastModel(0.5)
	model.TalkMedian = 150 * time.Millisecond
	fs := startFS(t, esltest.Options{Model: model, Seed: 11})
	ast := startAst(t, aritest.Options{Username: "u", Password: "p", App: "callplane", Model: model, Seed: 12})
	phone := sim.Plan{Result: sim.Answer, Ring: 20 * time.Millisecond, Talk: time.Hour}
	for i := range 10 {
		fs.Script(fmt.Sprint(2001+i), phone)
		ast.Script(fmt.Sprint(2001+i), phone)
	}
	c := startApp(t,
		NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
			DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1, MaxCalls: 100, CallsPerSecond: 200},
		NodeConfig{Name: "ast1", Kind: "asterisk", Address: ast.URL(), Username: "u", Password: "p", App: "callplane",
			DialTemplate: "PJSIP/{number}@x", Pools: []string{"default"}, Weight: 1, MaxCalls: 100, CallsPerSecond: 200})
	live := c.follow()

	var camp struct {
		ID int64 `json:"id"`
	}
	if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "predictive", "dial_mode": "predictive",
		"max_concurrent": 40, "calls_per_second": 200, "max_attempts": 1, "ring_timeout_seconds": 3,
		"abandon_after_ms": 100, "abandon_prompt": "callplane/abandon.wav"}, &camp); code != 201 {
		t.Fatalf("create campaign: %d", code)
	}
	var rows []map[string]string
	for i := range 400 {
		rows = append(rows, map[string]string{"phone": fmt.Sprintf("+86137%08d", 10000+i), "name": fmt.Sprintf("客户%d", i)})
	}
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows, nil)
	// The first ten people (one call per ready agent at the start) answer late: by then
	// every agent has paused, so exactly these ten are abandoned.
	late := sim.Plan{Result: sim.Answer, Ring: 1500 * time.Millisecond, Talk: 2 * time.Second}
	for i := range 10 {
		fs.Script(fmt.Sprintf("86137%08d", 10000+i), late)
		ast.Script(fmt.Sprintf("86137%08d", 10000+i), late)
	}

	var ids []int64
	for i := range 10 {
		kind, node, ep := "freeswitch", "fs1", fmt.Sprintf("user/%d", 2001+i)
		if i%2 == 1 {
			kind, node, ep = "asterisk", "ast1", fmt.Sprintf("PJSIP/%d", 2001+i)
		}
		var a agentResp
		if code := c.json("POST", "/api/v1/agents", map[string]any{"name": fmt.Sprintf("坐席%d", i), "team": "t1",
			"endpoints": map[string]string{kind: ep}, "node": node, "max_wrap_ms": 30,
			"campaigns": []map[string]any{{"campaign_id": camp.ID, "priority": 1}}}, &a); code != 201 {
			t.Fatalf("create agent: %d", code)
		}
		ids = append(ids, a.ID)
	}
	if code := c.json("POST", fmt.Sprintf("/api/v1/agents/%d/ready", ids[0]), nil, nil); code != 409 {
		t.Errorf("ready while logged out: %d, want 409", code)
	}
	for _, id := range ids {
		c.login(id)
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

	bridged := func() int {
		n := 0
		for _, a := range c.agents(ids...) {
			n += a.Today.Calls
		}
		return n
	}
	c.until("the first calls", func() bool { return fs.Stats().TotalOriginates+ast.Stats().TotalOriginates >= 10+10 })
	// Everyone pauses: the calls in flight find no agent when they answer.
	for _, id := range ids {
		if code := c.json("POST", fmt.Sprintf("/api/v1/agents/%d/pause", id), map[string]string{"reason": "meeting"}, nil); code != 200 {
			t.Fatalf("pause %d: %d", id, code)
		}
	}
	type ledger struct {
		Last24h struct {
			Answered  int     `json:"answered"`
			Abandoned int     `json:"abandoned"`
			Rate      float64 `json:"rate"`
		} `json:"last_24h"`
		Recent []struct {
			CallID string `json:"call_id"`
			Node   string `json:"node"`
			Phone  string `json:"phone"`
		} `json:"recent"`
	}
	var led ledger
	c.until("an abandoned call in the ledger", func() bool {
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/abandons", camp.ID), nil, &led)
		return led.Last24h.Abandoned >= 10
	})
	if led.Last24h.Abandoned != 10 || bridged() != 0 {
		t.Errorf("%d abandoned, %d bridged while every agent paused; want 10 and 0", led.Last24h.Abandoned, bridged())
	}
	for _, id := range ids {
		if code := c.json("POST", fmt.Sprintf("/api/v1/agents/%d/ready", id), nil, nil); code != 200 {
			t.Fatalf("ready %d: %d", id, code)
		}
	}
	c.waitCompleted(camp.ID)

	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/abandons", camp.ID), nil, &led)
	abandonedEvents := live.count(func(ev map[string]any) bool { return ev["type"] == "call.abandoned" })
	if led.Last24h.Abandoned != abandonedEvents || len(led.Recent) != led.Last24h.Abandoned {
		t.Errorf("ledger has %d abandons (%d listed), the stream %d", led.Last24h.Abandoned, len(led.Recent), abandonedEvents)
	}
	if want := float64(led.Last24h.Abandoned) / float64(led.Last24h.Answered); led.Last24h.Rate != want {
		t.Errorf("rate %v, want %v", led.Last24h.Rate, want)
	}
	// Abandoned calls heard the compliance message and were never bridged.
	played := map[string]bool{}
	for _, cmd := range fs.Commands() {
		f := strings.Fields(cmd)
		for i, x := range f {
			if x == "uuid_broadcast" && i+2 < len(f) && f[i+2] == "callplane/abandon.wav" {
				played[f[i+1]] = true
			}
		}
	}
	bridgedCalls := map[string]bool{}
	live.count(func(ev map[string]any) bool {
		if ev["type"] == "call.bridged" {
			bridgedCalls[ev["call_id"].(string)] = true
		}
		return false
	})
	for _, ab := range led.Recent {
		if bridgedCalls[ab.CallID] {
			t.Errorf("abandoned call %s was bridged", ab.CallID)
		}
		late := ab.Phone < "+8613700010010" // the ten who answered late stayed on to hear it
		if ab.Node == "fs1" && late && !played[ab.CallID] {
			t.Errorf("abandoned call %s on fs1 did not hear the message", ab.CallID)
		}
	}
	// Both node kinds bridged calls to their own agents.
	perNode := map[string]int{}
	for _, a := range c.agents(ids...) {
		perNode[a.LegNode] += a.Today.Calls
		if a.State != "ready" {
			t.Errorf("agent %d is %s after the campaign", a.ID, a.State)
		}
	}
	if perNode["fs1"] == 0 || perNode["ast1"] == 0 {
		t.Errorf("bridged calls per node: %v", perNode)
	}
	if n := live.count(func(ev map[string]any) bool { return ev["type"] == "call.bridged" }); n != bridged() {
		t.Errorf("%d call.bridged events, agents counted %d calls", n, bridged())
	}
	for _, st := range []string{"ready", "reserved", "on_call", "wrap_up", "not_ready"} {
		if live.count(func(ev map[string]any) bool { return ev["type"] == "agent.state" && ev["state"] == st }) == 0 {
			t.Errorf("no agent.state %s event", st)
		}
	}
	c.checkOriginates(camp.ID, map[string]func() map[string]int{
		"fs1": func() map[string]int { return fs.Stats().Originates }, "ast1": func() map[string]int { return ast.Stats().Originates }})
}

// Preview: the agent sees the contact (masked) before the call, skips one (logged as a
// decision, offered again later) and dials the other; the person who answers is bridged
// to that agent.
func TestPreviewCampaign(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(1), Seed: 5})
	fs.Script("3001", sim.Plan{Result: sim.Answer, Ring: 20 * time.Millisecond, Talk: time.Hour})
	c := startApp(t, NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
		DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1})
	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "preview", "dial_mode": "preview", "max_concurrent": 5,
		"calls_per_second": 50, "max_attempts": 2, "ring_timeout_seconds": 1}, &camp)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), []map[string]string{
		{"phone": "+8613600000001", "name": "张三"}, {"phone": "+8613600000002", "name": "李四"}}, nil)
	var a agentResp
	c.json("POST", "/api/v1/agents", map[string]any{"name": "preview-agent", "endpoints": map[string]string{"freeswitch": "user/3001"},
		"max_wrap_ms": 20, "campaigns": []map[string]any{{"campaign_id": camp.ID}}}, &a)
	c.login(a.ID)
	c.until("agent ready", func() bool { return c.agents(a.ID)[0].State == "ready" })
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)

	type offered struct {
		Preview *struct {
			CallID string `json:"call_id"`
			Name   string `json:"name"`
			Phone  string `json:"phone"`
		} `json:"preview"`
		State string `json:"state"`
	}
	offer := func() offered {
		var o offered
		c.until("a contact offered", func() bool {
			var out struct {
				Agents []struct {
					ID int64 `json:"id"`
					offered
				} `json:"agents"`
			}
			c.json("GET", "/api/v1/agents", nil, &out)
			for _, x := range out.Agents {
				if x.ID == a.ID {
					o = x.offered
				}
			}
			return o.Preview != nil
		})
		return o
	}
	first := offer()
	if first.State != "reserved" || first.Preview.Name != "张三" || strings.Contains(first.Preview.Phone, "13600000001") {
		t.Errorf("first offer: %+v %+v", first, first.Preview)
	}
	if fs.Stats().TotalOriginates != 1 { // only the agent's leg
		t.Errorf("originates before the agent chose: %d", fs.Stats().TotalOriginates)
	}
	c.json("POST", fmt.Sprintf("/api/v1/agents/%d/skip", a.ID), nil, nil)
	second := offer()
	if second.Preview.Name != "李四" {
		t.Fatalf("after a skip, offered %+v", second.Preview)
	}
	c.json("POST", fmt.Sprintf("/api/v1/agents/%d/dial", a.ID), nil, nil)
	c.until("the call bridged and ended", func() bool { return c.agents(a.ID)[0].Today.Calls == 1 })
	third := offer()
	if third.Preview.Name != "张三" {
		t.Fatalf("the skipped contact was not offered again: %+v", third.Preview)
	}
	c.json("POST", fmt.Sprintf("/api/v1/agents/%d/dial", a.ID), nil, nil)
	c.waitCompleted(camp.ID)
	if n := c.agents(a.ID)[0].Today.Calls; n != 2 {
		t.Errorf("agent took %d calls, want 2", n)
	}
	var list contactsResp
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), nil, &list)
	for _, ct := range list.Contacts {
		if ct.Attempts != 1 || ct.Status != "answered" {
			t.Errorf("%s: %d attempts, %s", ct.Phone, ct.Attempts, ct.Status)
		}
		if ct.Phone == "+8613600000001" {
			var d struct {
				Decisions []struct {
					Action string `json:"action"`
					Reason string `json:"reason"`
				} `json:"decisions"`
			}
			c.json("GET", fmt.Sprintf("/api/v1/contacts/%d/decisions", ct.ID), nil, &d)
			if len(d.Decisions) != 2 || d.Decisions[0].Reason != fmt.Sprintf("preview:skipped agent=%d", a.ID) || d.Decisions[1].Action != "dial" {
				t.Errorf("decisions of the skipped contact: %+v", d.Decisions)
			}
		}
	}
	if got := fs.Originates("8613600000001") + fs.Originates("8613600000002"); got != 2 {
		t.Errorf("%d customer originates, want 2", got)
	}
}

// A callback promised by an agent, at a wall-clock time in the contact's zone, is dialed
// when due with that agent reserved (not the other ready one), past max_attempts, and the
// campaign does not complete before it.
func TestAgentCallback(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(1), Seed: 9})
	for _, ext := range []string{"4001", "4002"} {
		fs.Script(ext, sim.Plan{Result: sim.Answer, Ring: 20 * time.Millisecond, Talk: time.Hour})
	}
	fs.Script("8613700000099", sim.Plan{Result: sim.Answer, Ring: 20 * time.Millisecond, Talk: 300 * time.Millisecond})
	c := startApp(t, NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
		DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1})
	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "callbacks", "dial_mode": "progressive", "max_concurrent": 5,
		"calls_per_second": 50, "max_attempts": 1, "ring_timeout_seconds": 1}, &camp)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), []map[string]string{{"phone": "+8613700000099", "name": "王五"}}, nil)
	var ids []int64
	for _, ext := range []string{"4001", "4002"} {
		var a agentResp
		c.json("POST", "/api/v1/agents", map[string]any{"name": "cb-" + ext, "endpoints": map[string]string{"freeswitch": "user/" + ext},
			"max_wrap_ms": 600000, "campaigns": []map[string]any{{"campaign_id": camp.ID}}}, &a)
		c.login(a.ID)
		ids = append(ids, a.ID)
	}
	c.until("agents ready", func() bool {
		as := c.agents(ids...)
		return as[0].State == "ready" && as[1].State == "ready"
	})
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
	var owner struct {
		ID     int64  `json:"id"`
		CallID string `json:"call_id"`
	}
	c.until("the call in wrap-up", func() bool {
		var out struct {
			Agents []struct {
				ID     int64  `json:"id"`
				State  string `json:"state"`
				CallID string `json:"call_id"`
			} `json:"agents"`
		}
		c.json("GET", "/api/v1/agents", nil, &out)
		for _, a := range out.Agents {
			if a.State == "wrap_up" && (a.ID == ids[0] || a.ID == ids[1]) {
				owner.ID, owner.CallID = a.ID, a.CallID
				return true
			}
		}
		return false
	})
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	due := time.Now().Add(2 * time.Second).In(shanghai).Format("2006-01-02 15:04:05")
	if code := c.json("POST", "/api/v1/calls/"+owner.CallID+"/disposition", map[string]any{"disposition": "call_back",
		"callback_at": "2020-01-01 10:00"}, nil); code != 422 {
		t.Errorf("a callback in the past: %d", code)
	}
	var disp struct {
		Callback struct {
			ID   int64  `json:"id"`
			Zone string `json:"zone"`
		} `json:"callback"`
	}
	if code := c.json("POST", "/api/v1/calls/"+owner.CallID+"/disposition", map[string]any{"disposition": "call_back",
		"notes": "下午再打", "callback_at": due}, &disp); code != 200 || disp.Callback.Zone != "Asia/Shanghai" {
		t.Fatalf("disposition: %d %+v", code, disp)
	}
	var st statsResp
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/stats", camp.ID), nil, &st)
	if st.State != "running" {
		t.Errorf("campaign %s with a callback pending", st.State)
	}
	c.waitCompleted(camp.ID)
	for _, a := range c.agents(ids...) {
		want := 0
		if a.ID == owner.ID {
			want = 2
		}
		if a.Today.Calls != want {
			t.Errorf("agent %d took %d calls, want %d", a.ID, a.Today.Calls, want)
		}
	}
	var cbs struct {
		Callbacks []struct {
			State string `json:"state"`
		} `json:"callbacks"`
	}
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/callbacks", camp.ID), nil, &cbs)
	if len(cbs.Callbacks) != 1 || cbs.Callbacks[0].State != "done" {
		t.Errorf("callbacks: %+v", cbs)
	}
	if n := fs.Originates("8613700000099"); n != 2 {
		t.Errorf("contact dialed %d times, want 2", n)
	}
}
