package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/mediatest"
	"github.com/callplane/callplane/media/sim"
)

// TestInjectionCorpus pushes mediatest.InjectionCorpus through every string field of every
// route and into contact data that flows speak, play and post, then dials. No request may
// answer 5xx, and every byte that reaches the fake nodes (each logs what it received) must
// parse as a command callplane means: one leg, park, known variables, media references of
// the prompt grammar and no application call but speak.
func TestInjectionCorpus(t *testing.T) {
	model := fastModel(1)
	fs := startFS(t, esltest.Options{Model: model, Seed: 61, PromptLength: 5 * time.Millisecond})
	ast := startAst(t, aritest.Options{Username: "u", Password: "p", App: "callplane", Model: model, Seed: 62,
		PlaybackDuration: 5 * time.Millisecond})
	c := startAppOn(t, db.Fresh(t), // the corpus leaves rows the package's other tests must not see
		NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
			DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"freeswitch"}, Weight: 1},
		NodeConfig{Name: "ast1", Kind: "asterisk", Address: ast.URL(), Username: "u", Password: "p", App: "callplane",
			DialTemplate: "PJSIP/{number}@x", Pools: []string{"asterisk"}, Weight: 1})

	var camp struct {
		ID int64 `json:"id"`
	}
	if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "inj-base", "max_concurrent": 1,
		"calls_per_second": 1, "max_attempts": 1, "media_pool": "freeswitch"}, &camp); code != 201 {
		t.Fatalf("base campaign: %d", code)
	}
	campaignFields := []string{"name", "dial_mode", "media_pool", "prompt", "caller_id", "abandon_prompt",
		"caller_id_pool", "flow", "rule_pack", "time_zone"}
	routes := []struct {
		method, path string
		body         func() any // a valid body; fields are paths into it
		fields       []string
	}{
		{"POST", "/api/v1/campaigns", func() any {
			return map[string]any{"name": "inj", "max_concurrent": 1, "calls_per_second": 1, "max_attempts": 1, "media_pool": "freeswitch"}
		}, campaignFields},
		{"PATCH", fmt.Sprintf("/api/v1/campaigns/%d", camp.ID), func() any { return map[string]any{} }, campaignFields},
		{"POST", "/api/v1/agents", func() any {
			return map[string]any{"name": "a", "endpoints": map[string]any{"freeswitch": "user/1001"}}
		}, []string{"name", "team", "department", "node", "endpoints.freeswitch", "endpoints.asterisk"}},
		{"POST", "/api/v1/caller-id-pools", func() any {
			return map[string]any{"name": "p", "numbers": []any{"+8610123456789"}}
		}, []string{"name", "numbers.0"}},
		{"POST", "/api/v1/dnc", func() any {
			return []any{map[string]any{"phone": "+8613800138000", "note": "n", "source": "s"}}
		}, []string{"0.phone", "0.note", "0.source", "0.expires_at"}},
		{"POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), func() any {
			return []any{map[string]any{"phone": "+8613800138001", "name": "n"}}
		}, []string{"0.phone", "0.name", "0.note", "0.timezone"}},
		{"POST", "/api/v1/calls/00000000-0000-0000-0000-000000000000/disposition", func() any {
			return map[string]any{"disposition": "sale"}
		}, []string{"disposition", "notes", "callback_at"}},
	}
	for _, r := range routes {
		for _, field := range r.fields {
			for i, v := range mediatest.InjectionCorpus {
				body := r.body()
				setPath(body, strings.Split(field, "."), v)
				if code := c.json(r.method, r.path, body, nil); code >= 500 {
					t.Errorf("%s %s with %s = corpus[%d]: %d", r.method, r.path, field, i, code)
				}
			}
		}
	}
	for i, v := range mediatest.InjectionCorpus {
		for _, p := range []string{"/api/v1/flows/%s", "/api/v1/campaigns/%s/stats", "/api/v1/contacts/%s/decisions",
			"/api/v1/caller-id-pools/%s/numbers", "/api/v1/dnc/%s"} {
			path := fmt.Sprintf(p, url.PathEscape(v))
			for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
				if code := c.do(m, path, "application/json", []byte(`[]`), nil); code >= 500 {
					t.Errorf("%s %s (corpus[%d]): %d", m, p, i, code)
				}
			}
		}
	}
	for i, v := range mediatest.InjectionCorpus {
		q, _ := json.Marshal(v) // a JSON string is a YAML double-quoted scalar
		for _, field := range []string{"description", "tts", "file", "voice", "url", "number", "queue", "value"} {
			if code := c.do("PUT", "/api/v1/flows/inj", "application/yaml", []byte(hostileFlow(field, string(q))), nil); code >= 500 {
				t.Errorf("flow %s = corpus[%d]: %d", field, i, code)
			}
		}
	}

	// Contact data that flows render into prompts: spoken on FreeSWITCH, a file name on both.
	publish := func(id, speak string) {
		flow := fmt.Sprintf(`id: %s
version: 1
start: hello
nodes:
  hello:
    kind: play
    prompt:
      %s
    next: file
  file:
    kind: play
    prompt:
      file: "callplane/{{contact.fields.note}}.wav"
    next: bye
  bye:
    kind: hangup
`, id, speak)
		if code := c.do("PUT", "/api/v1/flows/"+id, "application/yaml", []byte(flow), nil); code != 200 {
			t.Fatalf("publish %s: %d", id, code)
		}
	}
	publish("injfs", `tts: "Hello {{contact.name}}, {{contact.fields.note}}"`)
	publish("injast", `file: "callplane/hello.wav"`)
	for k, node := range []struct{ pool, flow string }{{"freeswitch", "injfs"}, {"asterisk", "injast"}} {
		var run struct {
			ID int64 `json:"id"`
		}
		if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "inj-" + node.pool, "max_concurrent": 10,
			"calls_per_second": 100, "max_attempts": 1, "ring_timeout_seconds": 2, "media_pool": node.pool, "flow": node.flow}, &run); code != 201 {
			t.Fatalf("campaign %s: %d", node.pool, code)
		}
		var rows []map[string]string
		for i, v := range mediatest.InjectionCorpus {
			num := fmt.Sprintf("8613%d%08d", 7+k, i)
			fs.Script(num, sim.Plan{Result: sim.Answer, Ring: 10 * time.Millisecond, Talk: time.Second})
			ast.Script(num, sim.Plan{Result: sim.Answer, Ring: 10 * time.Millisecond, Talk: time.Second})
			rows = append(rows, map[string]string{"phone": "+" + num, "name": v, "note": v})
		}
		var imp struct {
			Imported int `json:"imported"`
		}
		if code := c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", run.ID), rows, &imp); code != 200 || imp.Imported < len(rows)/2 {
			t.Fatalf("import %s: %d, %d imported", node.pool, code, imp.Imported)
		}
		c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", run.ID), nil, nil)
		c.waitCompleted(run.ID)
	}

	plays := 0
	for _, line := range fs.Commands() {
		plays += checkESLCommand(t, line)
	}
	if plays == 0 {
		t.Error("no prompt was played on FreeSWITCH: the corpus did not reach the driver")
	}
	for _, line := range ast.Requests() {
		checkARIRequest(t, line)
	}
}

// hostileFlow is a flow with value (a YAML scalar) in the place named by field.
func hostileFlow(field, value string) string {
	v := map[string]string{"description": `"d"`, "tts": `"hi"`, "file": `"ivr/a.wav"`, "voice": `"kal"`,
		"url": `"https://hooks.example.com/x"`, "number": `"+8613800138000"`, "queue": `"sales"`, "value": `"v"`}
	v[field] = value
	return fmt.Sprintf(`id: inj
version: 1
description: %s
start: hello
nodes:
  hello:
    kind: play
    prompt:
      tts: %s
      voice: %s
    next: file
  file:
    kind: play
    prompt:
      file: %s
    next: hook
  hook:
    kind: webhook
    url: %s
    next: set
  set:
    kind: set
    vars:
      x: %s
    next: out
  out:
    kind: transfer
    number: %s
    next: q
  q:
    kind: transfer
    queue: %s
`, v["description"], v["tts"], v["voice"], v["file"], v["url"], v["value"], v["number"], v["queue"])
}

func setPath(v any, path []string, val string) {
	key := path[0]
	switch x := v.(type) {
	case map[string]any:
		if len(path) == 1 {
			x[key] = val
			return
		}
		setPath(x[key], path[1:], val)
	case []any:
		i, _ := strconv.Atoi(key)
		if len(path) == 1 {
			x[i] = val
			return
		}
		setPath(x[i], path[1:], val)
	}
}

var (
	eslVarName   = regexp.MustCompile(`^(origination_uuid|callplane_call_id|presence_data|originate_timeout|origination_caller_id_number|origination_caller_id_name|callplane_campaign|callplane_lead|callplane_attempt|callplane_agent|callplane_transfer_of|park_after_bridge)$`)
	toneStream   = regexp.MustCompile(`^tone_stream://%\([0-9]+,0,[0-9]+\)$`)
	callIDRE     = regexp.MustCompile(`^[0-9a-fA-F-]{36}$`)
	hangupCause  = regexp.MustCompile(`^[A-Z_]+$`)
	safeRecorded = func(p string) bool { return media.CheckRecordPath(p) == nil }
)

// checkESLCommand fails the test unless line is a command callplane means, and returns
// 1 for a uuid_broadcast.
func checkESLCommand(t *testing.T, line string) int {
	t.Helper()
	word, rest, _ := strings.Cut(line, " ")
	if word == "auth" || word == "event" || word == "filter" || word == "noevents" || word == "exit" || word == "nixevent" {
		return 0
	}
	if word == "bgapi" || word == "api" {
		word, rest, _ = strings.Cut(rest, " ")
	}
	bad := func(why string) { t.Errorf("node received %.300q: %s", line, why) }
	switch word {
	case "originate":
		o, err := esltest.ParseOriginate(rest)
		if err != nil {
			bad(err.Error())
			return 0
		}
		if o.App != "&park()" || media.CheckEndpoint(media.KindFreeSWITCH, o.Leg) != nil {
			bad("not one leg parked")
		}
		for k := range o.Vars {
			if !eslVarName.MatchString(k) {
				bad("unexpected variable " + k)
			}
		}
		return 0
	case "status", "show", "global_getvar":
		if strings.ContainsAny(rest, "&|{}$") {
			bad("unexpected argument")
		}
		return 0
	}
	args := esltest.Args(rest)
	if len(args) == 0 || !callIDRE.MatchString(args[0]) {
		bad("not a command on a call")
		return 0
	}
	switch {
	case word == "uuid_broadcast" && len(args) == 3 && args[2] == "aleg":
		p := args[1]
		if app, text, ok := strings.Cut(p, "::"); ok {
			if app != "speak" || !strings.HasPrefix(text, "flite|") || strings.Count(text, "|") != 2 || strings.ContainsAny(text, "${}\\") {
				bad("an application other than speak, or speak with expandable text")
			}
		} else if media.CheckPrompt(p) != nil && !toneStream.MatchString(p) {
			bad("not a media reference")
		}
		return 1
	case word == "uuid_kill" && len(args) == 2 && hangupCause.MatchString(args[1]):
	case word == "uuid_record" && len(args) == 3 && (args[1] == "start" || args[1] == "stop") && safeRecorded(args[2]):
	case word == "uuid_bridge" && len(args) == 2 && callIDRE.MatchString(args[1]):
	default:
		bad("not a command callplane sends")
	}
	return 0
}

// checkARIRequest fails the test unless an ARI request's endpoint and media follow the
// grammars.
func checkARIRequest(t *testing.T, line string) {
	t.Helper()
	_, target, _ := strings.Cut(line, " ")
	u, err := url.Parse(target)
	if err != nil {
		t.Errorf("ARI request %.200q: %v", line, err)
		return
	}
	q := u.Query()
	if e := q.Get("endpoint"); e != "" && media.CheckEndpoint(media.KindAsterisk, e) != nil {
		t.Errorf("ARI request %.200q: endpoint %q", line, e)
	}
	for _, m := range q["media"] {
		name, sound := strings.CutPrefix(m, "sound:")
		if !sound && !regexp.MustCompile(`^tone:[0-9]+/[0-9]+$`).MatchString(m) || sound && media.CheckPrompt(name) != nil {
			t.Errorf("ARI request %.200q: media %q", line, m)
		}
	}
	for _, p := range strings.Split(u.Path, "/") {
		if p == ".." {
			t.Errorf("ARI request %.200q: path traversal", line)
		}
	}
}
