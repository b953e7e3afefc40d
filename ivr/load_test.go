package ivr

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const flowsDir = "../configs/flows"

// TestExamples: the shipped flows load with no problem at all.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(flowsDir, "*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("example flows: %v %v", files, err)
	}
	for _, path := range files {
		f, probs, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if f == nil || len(probs) > 0 {
			t.Errorf("%s: %v", path, probs)
			continue
		}
		if f.File != path || f.ID != strings.TrimSuffix(filepath.Base(path), ".yaml") {
			t.Errorf("%s: File %q, ID %q: want the path and the file's base name", path, f.File, f.ID)
		}
	}
}

// TestBrokenCorpus runs the loader on every testdata/broken/*.yaml and compares its
// problems with the sibling .want file, one "line:col: severity: substring" per problem.
func TestBrokenCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/broken/*.yaml")
	if len(files) < 11 {
		t.Fatalf("only %d broken flows", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			wantData, err := os.ReadFile(strings.TrimSuffix(path, ".yaml") + ".want")
			if err != nil {
				t.Fatal(err)
			}
			f, probs := Parse(filepath.Base(path), data)
			want := strings.Split(strings.TrimSpace(string(wantData)), "\n")
			if HasErrors(probs) != (f == nil) {
				t.Errorf("flow %v with problems %v: a flow must be returned exactly when there is no error", f != nil, probs)
			}
			for i := 0; i < max(len(want), len(probs)); i++ {
				if i >= len(want) {
					t.Errorf("unexpected problem %s", probs[i])
					continue
				}
				if i >= len(probs) {
					t.Errorf("missing problem %s", want[i])
					continue
				}
				p := probs[i]
				loc, msg, _ := strings.Cut(want[i], " ")
				sev, sub, _ := strings.Cut(msg, ": ")
				if got := strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col) + ":"; got != loc ||
					string(p.Severity) != strings.TrimSuffix(sev, ":") || !strings.Contains(p.Msg, sub) {
					t.Errorf("problem %d = %s\n                   want %s", i, p, want[i])
				}
				if p.File != filepath.Base(path) {
					t.Errorf("problem %d names file %q", i, p.File)
				}
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	p := Problem{File: "f.yaml", Line: 3, Col: 7, Severity: SeverityWarning, Msg: "node \"x\" cannot be reached"}
	if got, want := p.String(), `f.yaml:3:7: warning: node "x" cannot be reached`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	f, probs, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || f != nil || probs != nil {
		t.Errorf("Load(missing) = %v, %v, %v: want fs.ErrNotExist", f, probs, err)
	}
}

// TestDefaults: omitted keys get the documented defaults.
func TestDefaults(t *testing.T) {
	f := mustParse(t, `
id: d
version: 1
start: m
nodes:
  m:
    kind: menu
    prompt: {file: m.wav}
    choices: {"1": c, "2": r, "3": w, "4": x, "5": t}
  c:
    kind: collect
    prompt: {file: c.wav}
    max_digits: 4
    into: code
    next: m
  r:
    kind: record
    next: m
  w:
    kind: webhook
    url: https://x.example/
    next: m
  x:
    kind: dnc
    next: m
  t:
    kind: transfer
    queue: q
`)
	n := f.Nodes
	checks := []struct {
		name      string
		got, want any
	}{
		{"menu timeout", n["m"].Timeout, DefaultInputTimeout},
		{"menu retries", n["m"].Retries, DefaultRetries},
		{"menu on_timeout", n["m"].OnTimeout, ""},
		{"collect timeout", n["c"].Timeout, 5 * time.Second},
		{"collect retries", n["c"].Retries, 2},
		{"collect terminator", n["c"].Terminator, "#"},
		{"collect min_digits", n["c"].MinDigits, 1},
		{"record max_length", n["r"].MaxLength, 60 * time.Second},
		{"record beep", n["r"].Beep, true},
		{"record silence", n["r"].SilenceTimeout, time.Duration(0)},
		{"webhook timeout", n["w"].Timeout, 3 * time.Second},
		{"webhook method", n["w"].Method, "POST"},
		{"dnc list", n["x"].List, DNCCampaign},
		{"transfer timeout", n["t"].Timeout, DefaultTransferTimeout},
		{"node order", f.NodeNames(), []string{"m", "c", "r", "w", "x", "t"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestParseProblems covers problems the corpus does not, with their positions.
func TestParseProblems(t *testing.T) {
	const head = "id: p\nversion: 1\nstart: a\nnodes:\n"
	tests := []struct {
		name string
		src  string
		want string // one of the problems, without the file name
	}{
		{"empty file", "", "1:1: error: empty flow file"},
		{"comments only", "# nothing\n", "1:1: error: empty flow file"},
		{"not a mapping", "- a\n- b\n", "1:1: error: flow: want a mapping, got a list"},
		{"scanner error line", "id: p\n  version: 1\n", "2:3: error: YAML: mapping values are not allowed in this context"},
		{"parser error line", "id: p\nversion: [1\n", "2:1: error: YAML: did not find expected ',' or ']'"},
		{"bad indentation", head + "  a:\n    kind: hangup\n   prompt: x\n", "5:3: error: YAML: did not find expected key"},
		{"no nodes", "id: p\nversion: 1\nstart: a\nnodes: {}\n", "1:1: error: a flow needs at least one node"},
		{"missing id", "version: 1\nstart: a\nnodes:\n  a: {kind: hangup}\n", "1:1: error: missing id"},
		{"start unknown", "id: p\nversion: 1\nstart: b\nnodes:\n  a: {kind: hangup}\n", "3:8: error: start: no node named \"b\""},
		{"node without kind", head + "  a: {prompt: {tts: x}}\n", "5:3: error: node \"a\" has no kind"},
		{"node not a mapping", head + "  a: hangup\n", "5:6: error: node a: want a mapping, got the string \"hangup\""},
		{"prompt with both", head + "  a:\n    kind: hangup\n    prompt: {file: a.wav, tts: A}\n", "7:27: error: prompt has file or tts, not both"},
		{"voice without tts", head + "  a:\n    kind: hangup\n    prompt: {file: a.wav, voice: v}\n", "7:27: error: voice applies to tts only"},
		{"unknown prompt key", head + "  a:\n    kind: hangup\n    prompt: {tts: a, lang: en}\n", "7:22: error: unknown key \"lang\" in prompt"},
		{"min above max", head + "  a:\n    kind: collect\n    prompt: {tts: a}\n    min_digits: 5\n    max_digits: 4\n    into: x\n    next: a\n", "8:5: error: min_digits 5 is more than max_digits 4"},
		{"max_digits over the limit", head + "  a:\n    kind: collect\n    prompt: {tts: a}\n    max_digits: 200\n    into: x\n    next: a\n", "8:17: error: max_digits is 200: want 1 to 128"},
		{"retries over the limit", head + "  a:\n    kind: menu\n    prompt: {tts: a}\n    choices: {\"1\": a}\n    retries: 11\n", "9:14: error: retries is 11: want 0 to 10"},
		{"bad terminator", head + "  a:\n    kind: collect\n    prompt: {tts: a}\n    max_digits: 4\n    terminator: \"##\"\n    into: x\n    next: a\n", "9:17: error: terminator \"##\""},
		{"webhook timeout limit", head + "  a:\n    kind: webhook\n    url: http://h/\n    timeout: 31s\n    next: a\n", "8:14: error: timeout is 31s: the limit is 30s"},
		{"url without host", head + "  a:\n    kind: webhook\n    url: \"https:///{{vars.x}}\"\n    next: a\n", "7:10: error: url \"https:///{{vars.x}}\""},
		{"transfer without target", head + "  a:\n    kind: transfer\n", "5:3: error: transfer node \"a\" needs queue or number"},
		{"bad variable name", "id: p\nversion: 1\nvariables: {\"a.b\": 1}\nstart: a\nnodes:\n  a: {kind: hangup}\n", "3:13: error: bad variable name \"a.b\""},
		{"set into a bad name", head + "  a:\n    kind: set\n    vars: {\"x y\": 1}\n    next: a\n", "7:12: error: variable: bad variable name \"x y\""},
		{"condition without then", head + "  a:\n    kind: branch\n    conditions:\n      - if: call.number == \"1\"\n    else: a\n", "8:9: error: condition needs then"},
		{"conditions not a list", head + "  a:\n    kind: branch\n    conditions: {if: x}\n    else: a\n", "7:17: error: conditions: want a list"},
		{"second document", "id: p\nversion: 1\nstart: a\nnodes:\n  a: {kind: hangup}\n---\nid: q\n", "7:1: error: a flow file holds one YAML document"},
		{"anchor and alias resolve", head + "  a:\n    kind: hangup\n    prompt: &p {tts: Bye}\n  b:\n    kind: play\n    prompt: *p\n    next: a\n", "8:3: warning: node \"b\" cannot be reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := Parse("f", []byte(tt.src))
			for _, p := range probs {
				if strings.HasPrefix(strings.TrimPrefix(p.String(), "f:"), tt.want) {
					return
				}
			}
			t.Errorf("problems %v\nwant one starting %s", probs, tt.want)
		})
	}
}

// TestSchemaMatchesLoader keeps configs/flows/schema.json and the loader from drifting
// apart: the same top-level keys, node kinds, keys per kind and prompt keys.
func TestSchemaMatchesLoader(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(flowsDir, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	type object struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var schema struct {
		Schema     string                     `json:"$schema"`
		Properties map[string]json.RawMessage `json:"properties"`
		Defs       map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("schema.json is not valid JSON: %v", err)
	}
	if schema.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %q, want draft 2020-12", schema.Schema)
	}
	sameKeys := func(what string, got map[string]json.RawMessage, want []string) {
		t.Helper()
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(keys, want) {
			t.Errorf("%s: schema has %v, the loader %v", what, keys, want)
		}
	}
	sameKeys("top-level keys", schema.Properties, topKeys)

	var node struct {
		Properties struct {
			Kind struct {
				Enum []Kind `json:"enum"`
			} `json:"kind"`
		} `json:"properties"`
		AllOf []struct {
			Then struct {
				Ref string `json:"$ref"`
			} `json:"then"`
		} `json:"allOf"`
	}
	if err := json.Unmarshal(schema.Defs["node"], &node); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(node.Properties.Kind.Enum, Kinds) {
		t.Errorf("node kinds: schema has %v, the loader %v", node.Properties.Kind.Enum, Kinds)
	}
	if len(kindKeys) != len(Kinds) {
		t.Errorf("kindKeys has %d kinds, Kinds %d", len(kindKeys), len(Kinds))
	}
	var refs []string
	for _, a := range node.AllOf {
		refs = append(refs, a.Then.Ref)
	}
	for _, k := range Kinds {
		if !slices.Contains(refs, "#/$defs/"+string(k)) {
			t.Errorf("node.allOf does not dispatch kind %s", k)
		}
		var def object
		if err := json.Unmarshal(schema.Defs[string(k)], &def); err != nil || def.Properties == nil {
			t.Errorf("$defs.%s missing or not an object schema: %v", k, err)
			continue
		}
		sameKeys("keys of "+string(k), def.Properties, kindKeys[k])
	}
	var prompt object
	if err := json.Unmarshal(schema.Defs["prompt"], &prompt); err != nil {
		t.Fatal(err)
	}
	sameKeys("prompt keys", prompt.Properties, promptKeys)
}

// TestLoops: a loop is an error only when it can never end: no hangup, transfer or
// hang-up target is reachable from it and it never waits for the caller.
func TestLoops(t *testing.T) {
	const head = "id: l\nversion: 1\nstart: a\nnodes:\n"
	tests := []struct {
		name  string
		nodes string
		loop  string // the nodes named by the error; "" for none
	}{
		{"play to itself", "  a: {kind: play, prompt: {tts: x}, next: a}\n", "a"},
		{"through a transfer", "  a: {kind: transfer, queue: q, on_fail: b}\n  b: {kind: play, prompt: {tts: x}, next: a}\n", ""},
		{"collect retrying forever", "  a: {kind: collect, prompt: {tts: x}, max_digits: 1, into: v, next: a, on_fail: a}\n", ""},
		{"menu back to itself", "  a: {kind: menu, prompt: {tts: x}, choices: {\"1\": a}, on_timeout: a, on_invalid: a}\n", ""},
		{"set and branch with an else out", "  a: {kind: set, vars: {v: x}, next: b}\n  b: {kind: branch, conditions: [{if: 'vars.v == \"x\"', then: a}], else: c}\n  c: {kind: hangup}\n", ""},
		{"webhook erroring back to itself", "  a: {kind: webhook, url: 'http://h/', next: b, on_error: a}\n  b: {kind: record, next: a}\n", "a, b"},
		{"dnc loop after a way out", "  a: {kind: play, prompt: {tts: x}, next: b}\n  b: {kind: dnc, next: c}\n  c: {kind: set, vars: {v: x}, next: b}\n", "b, c"},
		{"webhook default on_error hangs up", "  a: {kind: webhook, url: 'http://h/', next: a}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := Parse("f", []byte(head+tt.nodes))
			var loops []string
			for _, p := range probs {
				if rest, ok := strings.CutPrefix(p.Msg, "loop with no way out through "); ok {
					loops = append(loops, strings.Split(rest, ":")[0])
				} else {
					t.Errorf("unexpected problem %s", p)
				}
			}
			if want := slices.DeleteFunc([]string{tt.loop}, func(s string) bool { return s == "" }); !slices.Equal(loops, want) {
				t.Errorf("loops %q, want %q", loops, want)
			}
		})
	}
}
