package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

// TestPathParams: path parameters are unescaped exactly once, and ids no resource can
// have are 404 (or, for a flow being published, 422), never a 500 or a stored oddity.
func TestPathParams(t *testing.T) {
	a := startAPI(t, nil)
	_, body := a.do("POST", "/api/v1/campaigns", "application/json",
		`{"name":"p","max_concurrent":1,"calls_per_second":1,"max_attempts":1}`)
	var camp struct{ ID int64 }
	json.Unmarshal([]byte(body), &camp)
	const flow = "id: %s\nversion: 1\nstart: bye\nnodes:\n  bye:\n    kind: hangup\n"
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"escaped campaign id", "GET", fmt.Sprintf("/api/v1/campaigns/%%%x", '0'+camp.ID), "", 200},
		{"flow id with a space", "PUT", "/api/v1/flows/a%20b", fmt.Sprintf(flow, `"a b"`), 422},
		{"flow id with a slash", "PUT", "/api/v1/flows/a%2Fb", fmt.Sprintf(flow, `"a/b"`), 422},
		{"flow id escaped twice", "PUT", "/api/v1/flows/a%2520b", fmt.Sprintf(flow, `"a%20b"`), 422},
		{"flow id too long", "PUT", "/api/v1/flows/" + strings.Repeat("a", 65), fmt.Sprintf(flow, strings.Repeat("a", 65)), 422},
		{"get flow with a space", "GET", "/api/v1/flows/a%20b", "", 404},
		{"get flow with NUL", "GET", "/api/v1/flows/a%00b", "", 404},
		{"caller-id pool with NUL", "POST", "/api/v1/caller-id-pools/a%00b/numbers", `{"numbers":["13800138000"]}`, 404},
		{"caller-id pool with bad UTF-8", "POST", "/api/v1/caller-id-pools/a%FFb/numbers", `{"numbers":["13800138000"]}`, 404},
		{"caller-id pool name too long", "POST", "/api/v1/caller-id-pools/" + strings.Repeat("a", 300) + "/numbers", `{"numbers":[]}`, 404},
		{"agent id with NUL", "POST", "/api/v1/agents/1%00/login", "", 404},
		{"call id with NUL", "POST", "/api/v1/calls/%00/disposition", `{"disposition":"x"}`, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := "application/json"
			if strings.HasPrefix(tt.path, "/api/v1/flows/") {
				ct = "application/yaml"
			}
			if code, body := a.do(tt.method, tt.path, ct, tt.body); code != tt.want {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, code, short(body), tt.want)
			}
		})
	}
	if code, body := a.do("GET", "/api/v1/flows", "", ""); code != 200 || strings.Contains(body, `"id":"a`) {
		t.Errorf("flows = %d %s; want none stored", code, body)
	}
	if code, body := a.do("PUT", "/api/v1/flows/ok_flow-1", "application/yaml", fmt.Sprintf(flow, "ok_flow-1")); code != 200 {
		t.Errorf("publish ok_flow-1 = %d %s", code, body)
	}
}

// TestUnknownCampaign: every route under /campaigns/{id} answers 404 for a campaign that
// does not exist.
func TestUnknownCampaign(t *testing.T) {
	a := startAPI(t, nil)
	for _, r := range []struct{ method, path, ct, body string }{
		{"GET", "", "", ""},
		{"PATCH", "", "application/json", `{"max_concurrent":2}`},
		{"GET", "/stats", "", ""},
		{"GET", "/contacts", "", ""},
		{"POST", "/contacts", "text/csv", "phone\n13800138000\n"},
		{"POST", "/start", "", ""},
		{"GET", "/dnc", "", ""},
		{"POST", "/dnc", "text/csv", "phone\n13800138000\n"},
		{"GET", "/abandons", "", ""},
		{"GET", "/compliance", "", ""},
		{"GET", "/callbacks", "", ""},
		{"GET", "/flow-results", "", ""},
	} {
		path := "/api/v1/campaigns/999999" + r.path
		if code, body := a.do(r.method, path, r.ct, r.body); code != 404 {
			t.Errorf("%s %s = %d %s, want 404", r.method, path, code, short(body))
		}
	}
}

// TestBearerScheme: the scheme name is matched ignoring case (RFC 9110); the token is not.
func TestBearerScheme(t *testing.T) {
	a := startAPI(t, nil)
	for _, tt := range []struct {
		auth string
		want int
	}{
		{"Bearer " + testToken, 200},
		{"bearer " + testToken, 200},
		{"BEARER " + testToken, 200},
		{"Bearer  " + testToken, 200},
		{"Bearer " + strings.ToUpper(testToken), 401},
		{"Bearer " + testToken + "x", 401},
		{"Bearer " + testToken[:len(testToken)-1], 401},
		{"Basic " + testToken, 401},
		{"Bearer" + testToken, 401},
		{testToken, 401},
		{"Bearer", 401},
		{"", 401},
	} {
		if code, body := a.doAuth("GET", "/api/v1/flows", "", "", tt.auth); code != tt.want {
			t.Errorf("Authorization %q = %d %s, want %d", tt.auth, code, short(body), tt.want)
		}
	}
}

// TestReady: /readyz says why it is not ready without the database's error (which names
// hosts and sockets), and reports each media pool.
func TestReady(t *testing.T) {
	var dbDown atomic.Bool
	a := startAPI(t, func(d *Deps) {
		d.Ping = func(ctx context.Context) error {
			if dbDown.Load() {
				return errors.New(`dial unix /var/run/postgresql/.s.PGSQL.5432: connect: no such file or directory`)
			}
			return db.PingContext(ctx)
		}
	})
	ready := func() (int, map[string]any) {
		t.Helper()
		code, body := a.doAuth("GET", "/readyz", "", "", "")
		var out map[string]any
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("readyz: %d %s", code, body)
		}
		return code, out
	}
	code, out := ready()
	if code != 200 || out["status"] != "ready" || fmt.Sprint(out["pools"]) != "map[default:map[total:1 up:1]]" {
		t.Errorf("readyz = %d %v; want ready, pool default 1/1", code, out)
	}

	dbDown.Store(true)
	code, out = ready()
	if code != 503 || fmt.Sprint(out["problems"]) != "[database unreachable]" {
		t.Errorf("readyz with the database down = %d %v; want 503 [database unreachable]", code, out)
	}
	dbDown.Store(false)

	// A running campaign whose pool has no node up makes it not ready; an idle pool does not.
	_, body := a.do("POST", "/api/v1/campaigns", "application/json",
		`{"name":"r","max_concurrent":1,"calls_per_second":1,"max_attempts":1}`)
	var camp struct{ ID int64 }
	json.Unmarshal([]byte(body), &camp)
	a.node.up.Store(false)
	if code, out = ready(); code != 503 || fmt.Sprint(out["problems"]) != "[media: no node is up]" {
		t.Errorf("readyz with the node down = %d %v", code, out)
	}
	if code, body := a.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), "", ""); code != 200 {
		t.Fatalf("start: %d %s", code, body)
	}
	a.deps.Pool.Add(mediaNode("fs2", "other"), newFakeNode(true))
	code, out = ready()
	want := `[media pool "default": no node up, and a running campaign dials through it]`
	if code != 503 || fmt.Sprint(out["problems"]) != want ||
		fmt.Sprint(out["pools"]) != "map[default:map[total:1 up:0] other:map[total:1 up:1]]" {
		t.Errorf("readyz with a running campaign's pool down = %d %v; want 503 %s", code, out, want)
	}
	a.node.up.Store(true)
	if code, out = ready(); code != 200 {
		t.Errorf("readyz with the node back = %d %v", code, out)
	}
}
