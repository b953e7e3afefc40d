package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A route that takes a body, with the body built around one value at field: str(v)
// places a JSON string value, num(v) a JSON number (nil: the route has no number field).
type bodyRoute struct {
	name, method, path string
	contentType        string
	strField, numField string
	str, num           func(v string) string
	// rows: the body is a contact or do-not-call upload, whose bad values are rejected
	// rows (with their index), not a refused request.
	rows bool
	// optional: an empty body is no body.
	optional bool
}

// hostileValue is a value put at a route's field and what must come back.
type hostileValue struct {
	name  string
	value string
	// refused: the request is refused (4xx) whatever the field; otherwise a domain check
	// may still accept the value (2xx), and must name the field when it refuses it.
	refused bool
	// rowRejected: in an upload, the row holding the value is rejected (uploads take
	// numbers for text and the other way round).
	rowRejected bool
}

var (
	hostileStrings = []hostileValue{
		{"NUL", `"a\u0000b"`, true, true},
		{"NUL alone", `"\u0000"`, true, true},
		{"invalid UTF-8", "\"a\xffb\"", true, true},
		{"UTF-8 of a surrogate", "\"\xed\xa0\x80\"", true, true},
		{"900 KB string", `"` + strings.Repeat("a", 900<<10) + `"`, true, true},
		{"64 KiB + 1 string", `"` + strings.Repeat("é", 32<<10) + `a"`, true, true},
		{"number for a string", `12`, true, false},
		{"object for a string", `{"a":1}`, true, true},
	}
	hostileNumbers = []hostileValue{
		{"2147483648", `2147483648`, false, false},
		{"1e308", `1e308`, false, false},
		{"-1", `-1`, false, false},
		{"2^62", `4611686018427387904`, false, false},
		{"2^64", `18446744073709551616`, false, false},
		{"1e400", `1e400`, true, false},
		{"-0.5", `-0.5`, false, false},
		{"string for a number", `"1"`, true, false},
	}
)

// TestHostileBodies sends, to every route that takes a body, values PostgreSQL refuses,
// text encoding/json would change silently, malformed JSON and numbers at the edges of
// Go's and PostgreSQL's types. No answer may be a 5xx; a refusal names the field (a
// contact or do-not-call upload instead rejects the row, by index, and keeps the others).
func TestHostileBodies(t *testing.T) {
	a := startAPI(t, nil)
	code, body := a.do("POST", "/api/v1/campaigns", "application/json",
		`{"name":"target","max_concurrent":1,"calls_per_second":1,"max_attempts":1}`)
	if code != 201 {
		t.Fatalf("create campaign: %d %s", code, body)
	}
	var camp struct{ ID int64 }
	json.Unmarshal([]byte(body), &camp)
	if code, body := a.do("POST", "/api/v1/caller-id-pools", "application/json", `{"name":"cids"}`); code != 201 {
		t.Fatalf("create caller-id pool: %d %s", code, body)
	}
	code, body = a.do("POST", "/api/v1/agents", "application/json", `{"name":"agent","endpoints":{"freeswitch":"user/1001"}}`)
	if code != 201 {
		t.Fatalf("create agent: %d %s", code, body)
	}
	var agent struct{ ID int64 }
	json.Unmarshal([]byte(body), &agent)

	unique := 0
	name := func() string { unique++; return fmt.Sprintf(`"n%d"`, unique) }
	// rows is an upload of two rows, the first with field set to v, each with a new number.
	rows := func(field, v string) string {
		unique++
		return fmt.Sprintf(`[{"phone":"1380000%04d","%s":%s},{"phone":"1390000%04d"}]`, unique, field, v, unique)
	}
	routes := []bodyRoute{
		{name: "create campaign", method: "POST", path: "/api/v1/campaigns", strField: "name", numField: "max_concurrent",
			str: func(v string) string {
				return `{"name":` + v + `,"max_concurrent":1,"calls_per_second":1,"max_attempts":1}`
			},
			num: func(v string) string {
				return `{"name":` + name() + `,"max_concurrent":` + v + `,"calls_per_second":1,"max_attempts":1}`
			}},
		{name: "create campaign, float", method: "POST", path: "/api/v1/campaigns", strField: "prompt", numField: "calls_per_second",
			str: func(v string) string {
				return `{"name":` + name() + `,"prompt":` + v + `,"max_concurrent":1,"calls_per_second":1,"max_attempts":1}`
			},
			num: func(v string) string {
				return `{"name":` + name() + `,"max_concurrent":1,"calls_per_second":` + v + `,"max_attempts":1}`
			}},
		{name: "create campaign, nested", method: "POST", path: "/api/v1/campaigns",
			strField: "schedule.time_zone", numField: "retry_rules.busy.after_seconds",
			str: func(v string) string {
				return `{"name":` + name() + `,"max_concurrent":1,"calls_per_second":1,"max_attempts":1,"schedule":{"time_zone":` + v + `}}`
			},
			num: func(v string) string {
				return `{"name":` + name() + `,"max_concurrent":1,"calls_per_second":1,"max_attempts":1,"retry_rules":{"busy":{"after_seconds":` + v + `}}}`
			}},
		{name: "patch campaign", method: "PATCH", path: fmt.Sprintf("/api/v1/campaigns/%d", camp.ID),
			strField: "prompt", numField: "max_concurrent",
			str: func(v string) string { return `{"prompt":` + v + `}` },
			num: func(v string) string { return `{"max_concurrent":` + v + `}` }},
		{name: "patch campaign, float", method: "PATCH", path: fmt.Sprintf("/api/v1/campaigns/%d", camp.ID),
			strField: "time_zone", numField: "calls_per_second",
			str: func(v string) string { return `{"time_zone":` + v + `}` },
			num: func(v string) string { return `{"calls_per_second":` + v + `}` }},
		{name: "create caller-id pool", method: "POST", path: "/api/v1/caller-id-pools", strField: "name", numField: "hourly_cap",
			str: func(v string) string { return `{"name":` + v + `}` },
			num: func(v string) string { return `{"name":` + name() + `,"hourly_cap":` + v + `}` }},
		{name: "create caller-id pool, float", method: "POST", path: "/api/v1/caller-id-pools", strField: "numbers[0]", numField: "min_answer_rate",
			str: func(v string) string { return `{"name":` + name() + `,"numbers":[` + v + `]}` },
			num: func(v string) string { return `{"name":` + name() + `,"min_answer_rate":` + v + `}` }},
		{name: "add caller ids", method: "POST", path: "/api/v1/caller-id-pools/cids/numbers", strField: "numbers[0]",
			str: func(v string) string { return `{"numbers":[` + v + `]}` }},
		{name: "create agent", method: "POST", path: "/api/v1/agents", strField: "endpoints.freeswitch", numField: "max_wrap_ms",
			str: func(v string) string { return `{"name":` + name() + `,"endpoints":{"freeswitch":` + v + `}}` },
			num: func(v string) string {
				return `{"name":` + name() + `,"endpoints":{"freeswitch":"user/1"},"max_wrap_ms":` + v + `}`
			}},
		{name: "create agent, campaigns", method: "POST", path: "/api/v1/agents", strField: "team", numField: "campaigns[0].priority",
			str: func(v string) string {
				return `{"name":` + name() + `,"team":` + v + `,"endpoints":{"freeswitch":"user/1"}}`
			},
			num: func(v string) string {
				return fmt.Sprintf(`{"name":%s,"endpoints":{"freeswitch":"user/1"},"campaigns":[{"campaign_id":%d,"priority":%s}]}`, name(), camp.ID, v)
			}},
		{name: "create agent, campaign id", method: "POST", path: "/api/v1/agents", strField: "name", numField: "campaigns[0].campaign_id",
			str: func(v string) string { return `{"name":` + v + `,"endpoints":{"freeswitch":"user/1"}}` },
			num: func(v string) string {
				return `{"name":` + name() + `,"endpoints":{"freeswitch":"user/1"},"campaigns":[{"campaign_id":` + v + `}]}`
			}},
		{name: "pause agent", method: "POST", path: fmt.Sprintf("/api/v1/agents/%d/pause", agent.ID), strField: "reason",
			optional: true,
			str:      func(v string) string { return `{"reason":` + v + `}` }},
		{name: "disposition", method: "POST", path: "/api/v1/calls/6a1c3b5e-8f0e-4a57-9a43-2f1f3f1f3f1f/disposition", strField: "notes",
			str: func(v string) string { return `{"disposition":"sale","notes":` + v + `}` }},
		{name: "import contacts", method: "POST", path: fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), rows: true,
			strField: "name", numField: "age",
			str: func(v string) string { return rows("name", v) },
			num: func(v string) string { return rows("age", v) }},
		{name: "add global dnc", method: "POST", path: "/api/v1/dnc", rows: true, strField: "note",
			str: func(v string) string { return rows("note", v) }},
		{name: "add campaign dnc", method: "POST", path: fmt.Sprintf("/api/v1/campaigns/%d/dnc", camp.ID), rows: true, strField: "source",
			str: func(v string) string { return rows("source", v) }},
	}
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			if r.contentType == "" {
				r.contentType = "application/json"
			}
			send := func(body string) (int, string) {
				t.Helper()
				code, resp := a.do(r.method, r.path, r.contentType, body)
				if code >= 500 {
					t.Errorf("%s %s = %d %s", r.method, r.path, code, resp)
				}
				return code, resp
			}
			// A refusal names the field: its path, or (for the domain checks, which
			// name fields their own way) its first or last part.
			names := func(resp, field string) bool {
				first, last := field, field
				if i := strings.IndexAny(field, ".["); i >= 0 {
					first = field[:i]
				}
				if i := strings.LastIndexAny(field, ".]"); i >= 0 {
					last = field[i+1:]
				}
				return strings.Contains(resp, field) || strings.Contains(resp, `"`+first) ||
					strings.Contains(resp, first+":") || last != "" && strings.Contains(resp, last)
			}
			check := func(v hostileValue, field, body string) {
				t.Helper()
				code, resp := send(body)
				if r.rows {
					if v.rowRejected && !rejectedFirst(resp) || !v.rowRejected && !tookBoth(resp) {
						t.Errorf("%s at %s: %d %s; want the row at index 0 rejected %v, the other imported", v.name, field, code, short(resp), v.rowRejected)
					}
					return
				}
				if v.refused && (code < 400 || code > 499) {
					t.Errorf("%s at %s: %d %s; want a 4xx", v.name, field, code, short(resp))
				}
				if code >= 400 && code < 500 && !names(resp, field) {
					t.Errorf("%s at %s: %d %s does not name the field", v.name, field, code, short(resp))
				}
			}
			for _, v := range hostileStrings {
				check(v, r.strField, r.str(v.value))
			}
			if r.num != nil {
				for _, v := range hostileNumbers {
					check(v, r.numField, r.num(v.value))
				}
			}
			valid := r.str(name())
			key := r.strField
			if i := strings.IndexAny(key, ".["); i >= 0 {
				key = key[:i]
			}
			for _, tt := range []struct {
				name, body string
				upload     bool // an upload refuses it whole too
			}{
				{"trailing garbage", valid + " x", true},
				{"second object", valid + valid, true},
				{"second value", valid + " 1", true},
				{"truncated", valid[:len(valid)-1], true},
				{"empty", "", !r.optional},
				{"nested too deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), false},
			} {
				code, resp := send(tt.body)
				if (!r.rows || tt.upload) && (tt.name != "empty" || !r.optional) && code != 400 {
					t.Errorf("%s: %d %s; want 400", tt.name, code, short(resp))
				}
			}
			// A key given twice (the first time null, which any field takes): in an upload,
			// the row is rejected.
			dup := strings.Replace(valid, `{`, `{"`+key+`":null,`, 1)
			if r.rows {
				dup = strings.Replace(r.str(`"x"`), `{`, `{"phone":null,`, 1)
			}
			code, resp := send(dup)
			switch {
			case r.rows && !rejectedFirst(resp):
				t.Errorf("duplicate key: %d %s; want the row rejected", code, short(resp))
			case !r.rows && (code != 400 || !strings.Contains(resp, "duplicate key") || !names(resp, key)):
				t.Errorf("duplicate key: %d %s; want 400 duplicate key naming %s", code, short(resp), key)
			}
			if !r.rows {
				// Keys match fields exactly: "NAME" is not "name".
				upper := strings.Replace(valid, `"`+key+`":`, `"`+strings.ToUpper(key)+`":`, 1)
				if code, resp := send(upper); code != 400 || !strings.Contains(resp, "unknown field") {
					t.Errorf("upper-case key: %d %s; want 400 unknown field", code, short(resp))
				}
			}
		})
	}
	// A flow is YAML, stored as sent: it must be text PostgreSQL stores as it is.
	t.Run("publish flow", func(t *testing.T) {
		const flow = "id: f\nversion: 1\nstart: bye\nnodes:\n  bye:\n    kind: hangup\n"
		for _, tt := range []struct{ name, body string }{
			{"NUL", flow + "# \x00\n"},
			{"invalid UTF-8", flow + "# \xff\n"},
			{"over 1 MiB", flow + "# " + strings.Repeat("a", 1<<20) + "\n"},
			{"empty", ""},
			{"not YAML", "{{{"},
			{"JSON", `{"id":"f","id":"g"}`},
		} {
			if code, body := a.do("PUT", "/api/v1/flows/f", "application/yaml", tt.body); code < 400 || code > 499 {
				t.Errorf("%s: %d %s; want a 4xx", tt.name, code, short(body))
			}
		}
	})
}

// rejectedFirst tells whether an upload's answer rejects the row at index 0 and takes
// the one at index 1; tookBoth whether it takes both.
func rejectedFirst(resp string) bool { return uploaded(resp, 1, true) }

func tookBoth(resp string) bool { return uploaded(resp, 2, false) }

func uploaded(resp string, took int, firstRejected bool) bool {
	var res struct {
		Imported *int `json:"imported"`
		Added    *int `json:"added"`
		Updated  *int `json:"updated"`
		Rejected []struct {
			Index *int   `json:"index"`
			Error string `json:"error"`
		} `json:"rejected"`
	}
	if json.Unmarshal([]byte(resp), &res) != nil {
		return false
	}
	if firstRejected != (len(res.Rejected) == 1 && res.Rejected[0].Index != nil && *res.Rejected[0].Index == 0) ||
		!firstRejected && len(res.Rejected) != 0 {
		return false
	}
	switch {
	case res.Imported != nil:
		return *res.Imported == took
	case res.Added != nil:
		return *res.Added+*res.Updated == took
	}
	return false
}

func short(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// TestImportKeepsGoodRows: one row with a NUL in a 1,000-row JSON import is rejected by
// its index; the 999 others are imported.
func TestImportKeepsGoodRows(t *testing.T) {
	a := startAPI(t, nil)
	_, body := a.do("POST", "/api/v1/campaigns", "application/json",
		`{"name":"rows","max_concurrent":1,"calls_per_second":1,"max_attempts":1}`)
	var camp struct{ ID int64 }
	json.Unmarshal([]byte(body), &camp)
	var b strings.Builder
	b.WriteString("[")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		note := "ok"
		if i == 500 {
			note = `bad\u0000note`
		}
		fmt.Fprintf(&b, `{"phone":"1380000%04d","name":"客户%d","note":"%s"}`, i, i, note)
	}
	b.WriteString("]")
	code, body := a.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), "application/json", b.String())
	want := `{"imported":999,"rejected":[{"index":500,"error":"field \"note\" contains a NUL character"}]}`
	if code != 200 || strings.TrimSpace(body) != want {
		t.Fatalf("import = %d %s\nwant 200 %s", code, short(body), want)
	}
}
