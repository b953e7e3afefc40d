package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/callplane/callplane/campaigns"
)

// FuzzDecodeJSON: whatever the body, decoding does not panic; a body refused is a 4xx
// *bodyError; a body accepted is valid UTF-8, one JSON value, with no key twice in an
// object and no NUL in any string or key.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"x","max_concurrent":1,"calls_per_second":1.5,"max_attempts":1}`,
		`{"name":"a\u0000b"}`,
		"{\"name\":\"a\xffb\"}",
		`{"name":"a","name":"b"}`,
		`{"name":"a","NAME":"b"}`,
		`{"name":"a"} x`,
		`{"name":"a"}{"name":"b"}`,
		`{"max_concurrent":2147483648}`,
		`{"max_concurrent":1e308,"calls_per_second":1e400}`,
		`{"retry_rules":{"busy":{"after_seconds":4611686018427387904,"max":-1}}}`,
		`{"schedule":{"open":["0 9 * * 1-5"],"x":{"y":[1,{"z":"\u0000"}]}}}`,
		`{"endpoints":{"freeswitch":"user/1","freeswitch":"user/2"}}`,
		`{"campaigns":[{"campaign_id":1,"priority":2},{"campaign_id":"1"}]}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`null`, `""`, `{"\ud800":1}`, `{"a\\u0000":1}`,
	} {
		f.Add([]byte(s))
	}
	targets := []func() any{
		func() any { return new(campaignRequest) },
		func() any { return new(campaigns.CampaignPatch) },
		func() any { return new(agentRequest) },
		func() any { return new(any) },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range targets {
			err := unmarshalStrict(body, target())
			if err != nil {
				var be *bodyError
				if !errors.As(err, &be) || be.Status < 400 || be.Status > 499 {
					t.Fatalf("%T: error %v is not a 4xx bodyError", target(), err)
				}
				continue
			}
			if !utf8.Valid(body) {
				t.Fatalf("%T: accepted a body that is not UTF-8: %q", target(), body)
			}
			if msg := storable(body); msg != "" {
				t.Fatalf("%T: accepted %q: %s", target(), body, msg)
			}
		}
	})
}

// storable says what makes an accepted body one that should have been refused: not one
// value, a key twice in an object, NUL in a string or key. It walks the body with its own
// recursion, apart from the checker's.
func storable(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	var walk func() string
	walk = func() string {
		tok, err := dec.Token()
		if err != nil {
			return "not JSON: " + err.Error()
		}
		switch tok := tok.(type) {
		case string:
			if strings.ContainsRune(tok, 0) {
				return "NUL in a string"
			}
		case json.Delim:
			keys := map[string]bool{}
			for dec.More() {
				if tok == '{' {
					k, err := dec.Token()
					if err != nil {
						return "not JSON: " + err.Error()
					}
					key := k.(string)
					if keys[key] {
						return "key " + key + " twice"
					}
					if strings.ContainsRune(key, 0) {
						return "NUL in a key"
					}
					keys[key] = true
				}
				if msg := walk(); msg != "" {
					return msg
				}
			}
			if _, err := dec.Token(); err != nil {
				return "not JSON: " + err.Error()
			}
		}
		return ""
	}
	if msg := walk(); msg != "" {
		return msg
	}
	if _, err := dec.Token(); err == nil {
		return "more than one value"
	}
	return ""
}

// TestDecodeJSONMessages pins the wording of the refusals a client reads.
func TestDecodeJSONMessages(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`{"name":"a\u0000b"}`, `name: contains a NUL character (\u0000)`},
		{"{\"name\":\"caf\xe9\"}", `name: is not valid UTF-8 text`},
		{`{"name":"a","name":"b"}`, `name: duplicate key`},
		{`{"campaigns":[{"campaign_id":1,"campaign_id":2}]}`, `campaigns[0].campaign_id: duplicate key`},
		{`{"endpoints":{"a b":1}}`, `endpoints["a b"]: want a string, got a number`},
		{`{"max_wrap_ms":"1"}`, `max_wrap_ms: want an integer, got a string`},
		{`{"max_wrap_ms":2147483648}`, `max_wrap_ms: want an integer within -2147483648..2147483647, got 2147483648`},
		{`{"max_wrap_ms":1.5}`, `max_wrap_ms: want an integer, got 1.5`},
		{`{"Name":"x"}`, `Name: unknown field`},
		{`{"name":"x"} {}`, `unexpected data after the JSON value (at offset 14); send one value`},
		{`{"name":`, `the JSON ends early (at offset 8)`},
		{``, `empty body; want an object`},
		{`[]`, `want an object, got an array`},
		{`{"team":"` + strings.Repeat("a", maxJSONString+1) + `"}`, `team: is longer than 65536 bytes`},
	} {
		err := unmarshalStrict([]byte(tt.body), new(agentRequest))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%.40q: %v, want %s", tt.body, err, tt.want)
		}
	}
}
