package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media/sim"
	"github.com/callplane/callplane/schema/schematest"
)

var db schematest.DB

func TestMain(m *testing.M) { os.Exit(schematest.Main(m, &db)) }

const token = "test-token"

// client speaks to the API of a running daemon.
type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path, contentType string, body []byte, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func (c client) json(method, path string, in, out any) int {
	c.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	return c.do(method, path, "application/json", body, out)
}

type statsResp struct {
	State             string         `json:"state"`
	Contacts          int            `json:"contacts"`
	Attempts          int            `json:"attempts"`
	InProgress        int            `json:"in_progress"`
	CompletedContacts int            `json:"completed_contacts"`
	Outcomes          map[string]int `json:"outcomes"`
}

type contactsResp struct {
	Total    int `json:"total"`
	Contacts []struct {
		ID          int64   `json:"id"`
		Phone       string  `json:"phone"`
		Status      string  `json:"status"`
		Attempts    int     `json:"attempts"`
		LastOutcome *string `json:"last_outcome"`
	} `json:"contacts"`
}

// waitCompleted polls stats until the campaign completes; the deadline is generous and
// only guards against a hang.
func (c client) waitCompleted(id int64) statsResp {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var st statsResp
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/stats", id), nil, &st)
		if st.State == "completed" {
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("campaign %d did not complete: %+v", id, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// csvWithBadRows builds n valid rows plus three malformed ones at known lines.
func csvWithBadRows(n int) (body []byte, badLines []int) {
	var b strings.Builder
	b.WriteString("\ufeffphone,name,备注\n") // Excel's BOM, Chinese header
	line := 1
	for i := 0; i < n; i++ {
		line++
		switch i {
		case 10:
			b.WriteString("12345,坏号码,too short\n")
			badLines = append(badLines, line)
			line++
		case 50:
			b.WriteString("138abc00138,字母,letters\n")
			badLines = append(badLines, line)
			line++
		case 120:
			b.WriteString("13800000000,多列,x,y,z\n")
			badLines = append(badLines, line)
			line++
		}
		fmt.Fprintf(&b, "138 %04d %04d,客户%d,备注%d\n", 1000+i/100, i, i, i)
	}
	return []byte(b.String()), badLines
}

// startFS and startAst run fake nodes until the test's cleanup, which stops the daemon
// (registered later) first.
func startFS(t *testing.T, opts esltest.Options) *esltest.Server {
	t.Helper()
	s := esltest.New(opts)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func startAst(t *testing.T, opts aritest.Options) *aritest.Server {
	t.Helper()
	s := aritest.New(opts)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// startApp runs the daemon in-process on port 0 against the test database and nodes.
func startApp(t *testing.T, nodes ...NodeConfig) client {
	t.Helper()
	return startAppOn(t, db.URL, nodes...)
}

func startAppOn(t *testing.T, dbURL string, nodes ...NodeConfig) client {
	t.Helper()
	return startAppWith(t, func(cfg *Config, _ *Options) { cfg.Database.URL = dbURL }, nodes...)
}

// startAppWith is startApp with a change to the configuration and options.
func startAppWith(t *testing.T, change func(*Config, *Options), nodes ...NodeConfig) client {
	t.Helper()
	cfg, err := LoadConfig("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Database.URL = db.URL
	cfg.Auth.AdminToken = token
	cfg.Dialer.Tick = 10 * time.Millisecond
	cfg.Dialer.DefaultPrompt = "ivr/welcome.wav"
	cfg.Media.Nodes = nodes
	opts := Options{Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	change(&cfg, &opts)
	app := New(cfg, opts)
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := app.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return client{t: t, base: "http://" + app.Addr()}
}

// fastModel makes simulated calls short so a campaign finishes in seconds.
func fastModel(answer float64) sim.Model {
	m := sim.Default()
	m.AnswerRate = answer
	m.RingMedian = 40 * time.Millisecond
	m.TalkMedian = 60 * time.Millisecond
	return m
}

// runCampaign creates a broadcast campaign on pool, imports n numbers starting at first,
// starts it and waits for completion.
func (c client) runCampaign(name, pool string, first, n int) (int64, statsResp) {
	c.t.Helper()
	var camp struct {
		ID int64 `json:"id"`
	}
	if code := c.json("POST", "/api/v1/campaigns", map[string]any{
		"name": name, "dial_mode": "broadcast", "max_concurrent": 10, "calls_per_second": 100,
		"max_attempts": 2, "retry_after_seconds": 0, "ring_timeout_seconds": 1, "media_pool": pool,
	}, &camp); code != 201 {
		c.t.Fatalf("create %s: %d", name, code)
	}
	var rows []map[string]string
	for i := 0; i < n; i++ {
		rows = append(rows, map[string]string{"phone": fmt.Sprintf("+86139%08d", first+i), "name": fmt.Sprintf("客户%d", i)})
	}
	var imp struct {
		Imported int `json:"imported"`
	}
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows, &imp)
	if imp.Imported != n {
		c.t.Fatalf("%s: imported %d of %d", name, imp.Imported, n)
	}
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
	return camp.ID, c.waitCompleted(camp.ID)
}

// checkOriginates compares the originates each node received per number with the
// attempts callplane recorded, and returns how many calls each node took.
func (c client) checkOriginates(id int64, nodes map[string]func() map[string]int) map[string]int {
	c.t.Helper()
	var list contactsResp
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/contacts?limit=10000", id), nil, &list)
	per := map[string]int{}
	stats := map[string]map[string]int{}
	for name, f := range nodes {
		stats[name] = f()
	}
	for _, ct := range list.Contacts {
		total := 0
		for name, s := range stats {
			n := s[strings.TrimPrefix(ct.Phone, "+")]
			per[name] += n
			total += n
		}
		if total != ct.Attempts || ct.Attempts > 2 {
			c.t.Errorf("%s: %d attempts recorded, %d originates received", ct.Phone, ct.Attempts, total)
		}
	}
	return per
}

func TestBroadcastCampaignEndToEnd(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(0.4), Seed: 7})

	c := startApp(t, NodeConfig{
		Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
		DialTemplate: "sofia/gateway/carrier-a/{number}", MaxCalls: 20, CallsPerSecond: 200,
		Pools: []string{"default"}, Weight: 1,
	})

	// Unauthenticated requests are refused; health needs no token.
	resp, err := http.Get(c.base + "/api/v1/media/nodes")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %v %v", resp.StatusCode, err)
	}
	if resp, err := http.Get(c.base + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}

	var bad map[string]any
	if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "x", "dial_mode": "predictive"}, &bad); code != 422 {
		t.Fatalf("invalid campaign: %d %v", code, bad)
	}
	var camp struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}
	code := c.json("POST", "/api/v1/campaigns", map[string]any{
		"name": "e2e", "dial_mode": "broadcast", "max_concurrent": 15, "calls_per_second": 100,
		"max_attempts": 3, "retry_after_seconds": 0, "ring_timeout_seconds": 1,
	}, &camp)
	if code != 201 || camp.ID == 0 || camp.State != "draft" {
		t.Fatalf("create: %d %+v", code, camp)
	}

	body, badLines := csvWithBadRows(200)
	var imp struct {
		Imported int `json:"imported"`
		Rejected []struct {
			Line  int    `json:"line"`
			Error string `json:"error"`
		} `json:"rejected"`
	}
	if code := c.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), "text/csv", body, &imp); code != 200 {
		t.Fatalf("import: %d", code)
	}
	if imp.Imported != 200 || len(imp.Rejected) != 3 {
		t.Fatalf("import: %+v", imp)
	}
	for i, r := range imp.Rejected {
		if r.Line != badLines[i] || r.Error == "" {
			t.Errorf("rejected[%d] = %+v, want line %d", i, r, badLines[i])
		}
	}
	// The same list again: every number is a duplicate, nothing is dialed twice.
	c.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), "text/csv", body, &imp)
	if imp.Imported != 0 || len(imp.Rejected) != 203 {
		t.Fatalf("re-import: imported %d rejected %d", imp.Imported, len(imp.Rejected))
	}

	if code := c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, &camp); code != 200 || camp.State != "running" {
		t.Fatalf("start: %d %+v", code, camp)
	}
	st := c.waitCompleted(camp.ID)
	sum := 0
	for _, n := range st.Outcomes {
		sum += n
	}
	if sum != st.Attempts || st.InProgress != 0 || st.Contacts != 200 || st.CompletedContacts != 200 {
		t.Fatalf("completed stats: %+v (sum of outcomes %d)", st, sum)
	}
	if st.Outcomes["answered"] == 0 || st.Attempts <= 200 {
		t.Fatalf("a 40%% answer rate with retries should answer some and retry others: %+v", st)
	}

	var list contactsResp
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/contacts?limit=1000", camp.ID), nil, &list)
	if list.Total != 200 || len(list.Contacts) != 200 {
		t.Fatalf("contacts: total %d, listed %d", list.Total, len(list.Contacts))
	}
	originates := fs.Stats().Originates
	for _, ct := range list.Contacts {
		if ct.Attempts < 1 || ct.Attempts > 3 || ct.LastOutcome == nil {
			t.Errorf("contact %s: %d attempts, outcome %v", ct.Phone, ct.Attempts, ct.LastOutcome)
		}
		if n := originates[strings.TrimPrefix(ct.Phone, "+")]; n != ct.Attempts {
			t.Errorf("contact %s: the node received %d originates for %d attempts", ct.Phone, n, ct.Attempts)
		}
	}

	var nodes struct {
		Nodes []struct {
			Name string `json:"name"`
			Up   bool   `json:"up"`
		} `json:"nodes"`
	}
	c.json("GET", "/api/v1/media/nodes", nil, &nodes)
	if len(nodes.Nodes) != 1 || !nodes.Nodes[0].Up {
		t.Fatalf("nodes: %+v", nodes)
	}
	resp, err = http.Get(c.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(metrics, []byte(`callplane_originates_total{node="fs1"}`)) {
		t.Fatalf("metrics lack the originate counter")
	}
}

func TestBroadcastOverFreeSWITCHAndAsterisk(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(0.4), Seed: 11})
	ast := startAst(t, aritest.Options{Username: "cp", Password: "pw", App: "callplane", Model: fastModel(0.4),
		Seed: 12, PlaybackDuration: 20 * time.Millisecond})
	c := startApp(t,
		NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
			DialTemplate: "sofia/gateway/carrier-a/{number}", MaxCalls: 10, Pools: []string{"default", "freeswitch"}, Weight: 1},
		NodeConfig{Name: "ast1", Kind: "asterisk", Address: ast.URL(), Username: "cp", Password: "pw", App: "callplane",
			DialTemplate: "PJSIP/{number}@carrier-a", MaxCalls: 10, Pools: []string{"default", "asterisk"}, Weight: 1},
	)
	nodes := map[string]func() map[string]int{
		"fs1":  func() map[string]int { return fs.Stats().Originates },
		"ast1": func() map[string]int { return ast.Stats().Originates },
	}

	id, st := c.runCampaign("asterisk only", "asterisk", 0, 60)
	per := c.checkOriginates(id, nodes)
	if per["fs1"] != 0 || per["ast1"] != st.Attempts || st.Outcomes["answered"] == 0 {
		t.Fatalf("asterisk pool: per node %v, stats %+v", per, st)
	}

	id, st = c.runCampaign("both kinds", "default", 1000, 120)
	per = c.checkOriginates(id, nodes)
	if per["fs1"] == 0 || per["ast1"] == 0 || per["fs1"]+per["ast1"] != st.Attempts {
		t.Fatalf("default pool must spread calls over both kinds: per node %v, stats %+v", per, st)
	}
	var nodesResp struct {
		Nodes []struct {
			Name       string `json:"name"`
			Kind       string `json:"kind"`
			Up         bool   `json:"up"`
			Originated int    `json:"originated"`
		} `json:"nodes"`
	}
	c.json("GET", "/api/v1/media/nodes", nil, &nodesResp)
	for _, n := range nodesResp.Nodes {
		if !n.Up || n.Originated == 0 {
			t.Errorf("node %+v: want up with calls counted", n)
		}
	}
	t.Logf("default pool: %d attempts, fs1 %d, ast1 %d", st.Attempts, per["fs1"], per["ast1"])
}

func TestAPIErrors(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(1), Seed: 3})
	c := startApp(t, NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
		DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1})

	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "errors", "max_concurrent": 1,
		"calls_per_second": 1, "max_attempts": 1, "ring_timeout_seconds": 1}, &camp)
	base := fmt.Sprintf("/api/v1/campaigns/%d", camp.ID)
	var body map[string]any
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		want        int
	}{
		{"unknown campaign", "GET", "/api/v1/campaigns/999999/stats", "", "", 404},
		{"campaign id not a number", "GET", "/api/v1/campaigns/abc/stats", "", "", 404},
		{"unknown action", "POST", base + "/explode", "", "", 404},
		{"pause a draft", "POST", base + "/pause", "", "", 409},
		{"unknown pool", "POST", "/api/v1/campaigns", "application/json",
			`{"name":"x","max_concurrent":1,"calls_per_second":1,"max_attempts":1,"media_pool":"nowhere"}`, 422},
		{"unknown field", "POST", "/api/v1/campaigns", "application/json", `{"name":"x","max_concurent":1}`, 400},
		{"retry rule for a final outcome", "POST", "/api/v1/campaigns", "application/json",
			`{"name":"x","max_concurrent":1,"calls_per_second":1,"max_attempts":1,"retry_rules":{"answered":{"after_seconds":1}}}`, 422},
		{"malformed JSON", "POST", "/api/v1/campaigns", "application/json", `{"name":`, 400},
		{"campaign as form", "POST", "/api/v1/campaigns", "application/x-www-form-urlencoded", "name=x", 415},
		{"contacts as XML", "POST", base + "/contacts", "application/xml", "<x/>", 415},
		{"CSV without a phone column", "POST", base + "/contacts", "text/csv", "name,city\n张三,北京\n", 400},
		{"JSON that is not an array", "POST", base + "/contacts", "application/json", `{"phone":"13800138000"}`, 400},
		{"bad limit", "GET", base + "/contacts?limit=0", "", "", 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body = nil
			if code := c.do(tt.method, tt.path, tt.contentType, []byte(tt.body), &body); code != tt.want {
				t.Fatalf("%s %s = %d %v, want %d", tt.method, tt.path, code, body, tt.want)
			}
			if body["error"] == nil || body["error"] == "" {
				t.Fatalf("error body without a message: %v", body)
			}
		})
	}
	// A campaign that completed cannot be started again.
	c.do("POST", base+"/contacts", "text/csv", []byte("phone\n13800138000\n"), nil)
	c.json("POST", base+"/start", nil, nil)
	c.waitCompleted(camp.ID)
	if code := c.json("POST", base+"/start", nil, &body); code != 409 {
		t.Fatalf("start a completed campaign = %d %v, want 409", code, body)
	}
}

func TestDoNotCallThroughTheAPI(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(0.5), Seed: 5})
	c := startApp(t, NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
		DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1})

	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "dnc", "max_concurrent": 5,
		"calls_per_second": 50, "max_attempts": 1, "ring_timeout_seconds": 1}, &camp)
	base := fmt.Sprintf("/api/v1/campaigns/%d", camp.ID)
	c.do("POST", base+"/contacts", "text/csv", []byte("phone\n13900000001\n13900000002\n13900000003\n13900000004\n"), nil)

	var added struct {
		Added    int              `json:"added"`
		Rejected []map[string]any `json:"rejected"`
	}
	if code := c.do("POST", "/api/v1/dnc", "text/csv",
		[]byte("phone,source,expires_at\n139 0000 0001,complaint,\n13900000003,x,2020-01-01T00:00:00Z\nnope,,\n"), &added); code != 200 ||
		added.Added != 2 || len(added.Rejected) != 1 {
		t.Fatalf("global list: %d %+v", code, added)
	}
	c.json("POST", base+"/dnc", []map[string]string{{"phone": "+86 139 0000 0002", "source": "ivr", "note": "按9退订"}}, &added)
	if added.Added != 1 {
		t.Fatalf("campaign list: %+v", added)
	}
	c.json("POST", base+"/start", nil, nil)
	st := c.waitCompleted(camp.ID)
	if st.Attempts != 2 {
		t.Fatalf("stats %+v: two numbers are on lists (one expired entry does not count)", st)
	}
	orig := fs.Stats().Originates
	var list contactsResp
	c.json("GET", base+"/contacts", nil, &list)
	for _, ct := range list.Contacts {
		var ds struct {
			Decisions []struct {
				Action string `json:"action"`
				Reason string `json:"reason"`
			} `json:"decisions"`
		}
		c.json("GET", fmt.Sprintf("/api/v1/contacts/%d/decisions", ct.ID), nil, &ds)
		n := orig[strings.TrimPrefix(ct.Phone, "+")]
		want := map[string]string{"+8613900000001": "dnc:global", "+8613900000002": "dnc:campaign"}[ct.Phone]
		switch {
		case want != "" && (n != 0 || len(ds.Decisions) != 1 || ds.Decisions[0].Action != "skip" || ds.Decisions[0].Reason != want):
			t.Errorf("%s: originated %d, decisions %+v; want skipped for %s", ct.Phone, n, ds.Decisions, want)
		case want == "" && (n != 1 || len(ds.Decisions) != 1 || ds.Decisions[0].Action != "dial"):
			t.Errorf("%s: originated %d, decisions %+v; want one dial", ct.Phone, n, ds.Decisions)
		}
	}
	var entries struct {
		Entries []struct {
			ID    int64  `json:"id"`
			Phone string `json:"phone"`
		} `json:"entries"`
	}
	c.json("GET", "/api/v1/dnc?phone=13900000001", nil, &entries)
	if len(entries.Entries) != 1 {
		t.Fatalf("lookup by phone: %+v", entries)
	}
	if code := c.do("DELETE", fmt.Sprintf("/api/v1/dnc/%d", entries.Entries[0].ID), "", nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code := c.do("DELETE", fmt.Sprintf("/api/v1/dnc/%d", entries.Entries[0].ID), "", nil, nil); code != 404 {
		t.Fatalf("delete twice: %d", code)
	}
}

func TestLiveEventStream(t *testing.T) {
	fs := startFS(t, esltest.Options{Model: fastModel(1), Seed: 4})
	c := startApp(t, NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
		DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1})

	req, _ := http.NewRequest("GET", c.base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %v %v", resp, err)
	}
	defer resp.Body.Close()

	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "live", "max_concurrent": 5,
		"calls_per_second": 50, "max_attempts": 1, "ring_timeout_seconds": 1}, &camp)
	c.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), "text/csv",
		[]byte("phone\n13700000001\n13700000002\n13700000003\n"), nil)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)

	counts := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	var typ string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			typ = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var ev struct {
				CampaignID int64  `json:"campaign_id"`
				State      string `json:"state"`
				Outcome    string `json:"outcome"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if ev.CampaignID != camp.ID {
				continue
			}
			counts[typ+":"+ev.State+ev.Outcome]++
		}
		if counts["campaign.state:completed"] == 1 {
			break
		}
	}
	want := map[string]int{"campaign.state:running": 1, "call.originated:": 3, "call.answered:": 3,
		"call.ended:answered": 3, "campaign.state:completed": 1}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d events, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
}
