package ivr

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/callplane/callplane/media"
)

// TestHostileFlowsRefused: what a flow may not write, refused at load with the position
// of the problem; and the look-alikes that are fine.
func TestHostileFlowsRefused(t *testing.T) {
	const bye = "  b: {kind: hangup}\n"
	hook := func(url string) string {
		return "  a:\n    kind: webhook\n    url: " + url + "\n    next: b\n" + bye
	}
	file := func(f string) string {
		return "  a:\n    kind: play\n    prompt:\n      file: " + f + "\n    next: b\n" + bye
	}
	tts := func(text, voice string) string {
		return "  a:\n    kind: play\n    prompt:\n      tts: " + text + "\n      voice: " + voice + "\n    next: b\n" + bye
	}
	tests := []struct {
		name  string
		nodes string
		top   string // more top-level keys, before start (moving the nodes down)
		want  string // "line:col: error: substring"; "" for no problem at all
	}{
		{"templated host", hook(`"http://{{contact.fields.h}}:8080/x"`), "", "7:18: error: url"},
		{"templated port", hook(`"http://crm.example.com:{{vars.p}}/x"`), "", "7:34: error: url"},
		{"templated scheme and host", hook(`"{{contact.fields.u}}"`), "", "7:10: error: url"},
		{"templated host after user info", hook(`"http://a@{{contact.fields.h}}/"`), "", "7:20: error: url"},
		{"user info", hook(`"http://crm.example.com@evil.example/"`), "", "7:33: error: url"},
		{"hex host", hook(`"http://0x7f.1/"`), "", "7:18: error: url"},
		{"decimal host", hook(`"http://2130706433/"`), "", "7:18: error: url"},
		{"unicode host", hook(`"http://exämple.com/x"`), "", "7:18: error: url"},
		{"IPv6 zone", hook(`"http://[fe80::1%25eth0]/x"`), "", "7:19: error: url"},
		{"variable in the fragment", hook(`"https://crm.example.com/x#{{vars.f}}"`), "variables: {f: x}\n", "8:39: error: url"},
		{"dot segment", hook(`"http://crm.example.com/a/../b"`), "", "7:10: error: url"},
		{"host ends at the query", hook(`"http://crm.example.com?q={{call.number}}"`), "", ""},
		{"path and query", hook(`"https://crm.example.com:8443/c/{{contact.fields.id}}?n={{call.number}}&x=1"`), "", ""},
		{"IPv6 literal", hook(`"http://[2001:db8::1]:8080/{{contact.name}}"`), "", ""},
		{"metadata address (refused when connecting)", hook(`"http://169.254.169.254/latest"`), "", ""},

		{"parent directories", file(`"../../etc/passwd"`), "", "8:13: error: file"},
		{"an application call", file(`"system::touch /tmp/x"`), "", "8:13: error: file"},
		{"an absolute path", file(`/etc/passwd`), "", "8:13: error: file"},
		{"a URL", file(`"http://evil.example/x.wav"`), "", "8:13: error: file"},
		{"bad tone", file(`"tone:5/5"`), "", "8:13: error: file"},
		{"templated application call", file(`"{{contact.fields.f}}::b"`), "", "8:34: error: file"},
		{"templated parent directory", file(`"../{{contact.fields.f}}.wav"`), "", "8:13: error: file"},
		{"templated absolute path", file(`"/{{contact.fields.f}}.wav"`), "", "8:13: error: file"},
		{"templated tone", file(`"tone:{{vars.hz}}/200"`), "variables: {hz: \"440\"}\n", "9:18: error: file"},
		{"templated file name", file(`"greetings/{{contact.fields.lang}}.wav"`), "", ""},
		{"tone", file(`"tone:440/200"`), "", ""},
		{"beep", file(`tone:beep`), "", ""},
		{"voice with a colon", tts(`hi`, `"en:x"`), "", "9:14: error: voice"},
		{"voice with a blank", tts(`hi`, `"Bad Voice"`), "", "9:14: error: voice"},
		{"text with a $", tts(`"costs ${x}"`, `anna`), "", "8:12: error: tts"},
		{"text with a backslash", tts(`'a\b'`, `anna`), "", "8:12: error: tts"},
		{"text with variables", tts(`"Hello {{contact.name}}"`, `anna`), "", ""},
		{"bad webhook_contact", hook(`"http://crm.example.com/"`), "webhook_contact: everything\n", "3:18: error: webhook_contact"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "id: h\nversion: 1\n" + tt.top + "start: a\nnodes:\n" + tt.nodes
			f, probs := Parse("f", []byte(src))
			if tt.want == "" {
				if len(probs) > 0 || f == nil {
					t.Fatalf("problems %v, want none", probs)
				}
				return
			}
			loc, rest, _ := strings.Cut(tt.want, " error: ")
			for _, p := range probs {
				if fmt.Sprintf("%d:%d:", p.Line, p.Col) == loc && p.Severity == SeverityError && strings.HasPrefix(p.Msg, rest) {
					return
				}
			}
			t.Errorf("problems %v\nwant %s", probs, tt.want)
		})
	}
}

// chainFlow is a flow of n nodes, node i going to node i+1, the last hanging up.
func chainFlow(n int) []byte {
	var b strings.Builder
	b.WriteString("id: chain\nversion: 1\nstart: n0\nnodes:\n")
	for i := 0; i < n-1; i++ {
		fmt.Fprintf(&b, "  n%d: {kind: play, prompt: {tts: hi}, next: n%d}\n", i, i+1)
	}
	fmt.Fprintf(&b, "  n%d: {kind: hangup}\n", n-1)
	return []byte(b.String())
}

// TestFlowSizeLimits: a flow beyond a size limit gets that one problem (and is not
// validated); a flow at the limit loads. No timing is asserted: BenchmarkLoadChain
// measures the growth.
func TestFlowSizeLimits(t *testing.T) {
	// 100 aliases of 100 aliases of a list of 100: a million values from a small file.
	var bomb strings.Builder
	bomb.WriteString("id: bomb\nversion: 1\nstart: a\nvariables:\n  l0: &l0 [" + strings.Repeat("x,", 99) + "x]\n")
	bomb.WriteString("  l1: &l1 [" + strings.Repeat("*l0,", 99) + "*l0]\n")
	bomb.WriteString("  l2: [" + strings.Repeat("*l1,", 99) + "*l1]\nnodes:\n  a: {kind: hangup}\n")
	huge := append([]byte("id: big\nversion: 1\nstart: a\ndescription: "), strings.Repeat("x", MaxFlowBytes)...)
	huge = append(huge, "\nnodes:\n  a: {kind: hangup}\n"...)

	tests := []struct {
		name string
		src  []byte
		want string // the one problem
	}{
		{"12,000-node chain", chainFlow(12000), "4:1: error: flow has 12000 nodes: the limit is 2000"},
		{"over 1 MiB", huge, "1:1: error: flow file is over the size limit of 1048576 bytes"},
		{"alias bomb", []byte(bomb.String()), "1:1: error: flow is too large: more than 262144 YAML values"},
		{"alias inside itself", []byte("id: c\nversion: 1\nstart: a\nvariables: &v {x: *v}\nnodes:\n  a: {kind: hangup}\n"), "1:1: error: a YAML alias names a value that contains it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, probs := Parse("f", tt.src)
			if f != nil || len(probs) != 1 || !strings.HasPrefix(strings.TrimPrefix(probs[0].String(), "f:"), tt.want) {
				t.Fatalf("flow %v, problems %v\nwant only %s", f != nil, probs, tt.want)
			}
		})
	}

	t.Run("2,000-node chain loads", func(t *testing.T) {
		if f, probs := Parse("f", chainFlow(MaxNodes)); f == nil || len(probs) > 0 {
			t.Fatalf("problems %v", probs)
		}
	})
	t.Run("problems are capped", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("id: many\nversion: 1\nstart: a\nnodes:\n  a: {kind: hangup}\n")
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(&b, "  u%d: {kind: hangup}\n", i)
		}
		f, probs := Parse("f", []byte(b.String()))
		if f == nil || len(probs) != MaxProblems+1 {
			t.Fatalf("flow %v with %d problems, want a flow with %d", f != nil, len(probs), MaxProblems+1)
		}
		last := probs[len(probs)-1]
		if last.Severity != SeverityWarning || !strings.Contains(last.Msg, "800 more are not listed") {
			t.Errorf("last problem %s, want a warning counting 800 more", last)
		}
	})
}

// BenchmarkLoadChain parses and validates chains of 100, 1,000 and 2,000 nodes (the
// limit): the time per node should stay flat.
func BenchmarkLoadChain(b *testing.B) {
	for _, n := range []int{100, 1000, MaxNodes} {
		src := chainFlow(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for i := 0; i < b.N; i++ {
				if f, probs := Parse("f", src); f == nil || len(probs) > 0 {
					b.Fatal(probs)
				}
			}
		})
	}
}

// TestRenderedPromptsRefused: whatever contact data fills into a prompt, Step emits only
// prompts media.CheckPrompt accepts; one that is refused is skipped, as if played.
func TestRenderedPromptsRefused(t *testing.T) {
	f := mustParse(t, `
id: p
version: 1
start: a
nodes:
  a:
    kind: play
    prompt: {file: "{{contact.fields.f}}"}
    next: m
  m:
    kind: menu
    prompt: {file: "menus/{{contact.fields.f}}.wav"}
    choices: {"1": b}
  b:
    kind: hangup
    prompt: {tts: "Bye {{contact.name}}"}
`)
	played := func(acts []Action) []Play {
		var out []Play
		for _, a := range acts {
			switch a := a.(type) {
			case Play:
				out = append(out, a)
			case Collect:
				if a.Prompt != (Play{}) {
					out = append(out, a.Prompt)
				}
			}
		}
		return out
	}
	for _, value := range []string{"a::b", "system::touch /tmp/x", "../../etc/passwd", "/etc/passwd", "", "x y", "tone:1/1",
		"http://evil.example/x", "{{vars.x}}", "a/./b", "${system(id)}", strings.Repeat("a", 300)} {
		t.Run(value, func(t *testing.T) {
			ctx := Context{Contact: Contact{Name: value, Fields: map[string]string{"f": value}}}
			st, acts, log, err := Step(f, State{}, ev(EventStart), ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(acts) != 1 || acts[0] != (Collect{MinDigits: 1, MaxDigits: 1, Timeout: DefaultInputTimeout}) {
				t.Errorf("actions %s, want only a Collect without a prompt", show(acts))
			}
			var path []string
			for _, tr := range log {
				path = append(path, pathString(tr))
			}
			if want := []string{"a prompt_refused -> a", "a played -> m", "m prompt_refused -> m"}; !reflect.DeepEqual(path, want) {
				t.Errorf("path %q, want %q", path, want)
			}
			_, bye, _, err := Step(f, st, digits("1"), ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range played(append(acts, bye...)) {
				prompt := p.File
				if prompt == "" {
					prompt = media.TTS(p.Voice, p.TTS)
				}
				if err := media.CheckPrompt(prompt); err != nil {
					t.Errorf("emitted %+v: %v", p, err)
				}
			}
		})
	}

	ctx := Context{Contact: Contact{Name: "Li", Fields: map[string]string{"f": "zh"}}}
	_, acts, _, _ := Step(f, State{}, ev(EventStart), ctx)
	if want := []Action{Play{File: "zh"}}; !reflect.DeepEqual(acts, want) {
		t.Errorf("a valid value: actions %s, want %s", show(acts), show(want))
	}
}

func TestWebhookURLEscaping(t *testing.T) {
	f := mustParse(t, `
id: w
version: 1
start: a
nodes:
  a:
    kind: webhook
    method: GET
    url: "https://crm.example.com/c/{{contact.fields.id}}?q={{contact.name}}"
    next: b
    on_error: c
  b: {kind: hangup}
  c: {kind: hangup}
`)
	tests := []struct {
		id, name string
		want     string // the URL; "" for a failed webhook
	}{
		{"a b/../c?d#e", "Li Lei&x=1", "https://crm.example.com/c/a%20b%2F..%2Fc%3Fd%23e?q=Li+Lei%26x%3D1"},
		{"@evil.example", "#", "https://crm.example.com/c/@evil.example?q=%23"},
		{"%00", "%00", "https://crm.example.com/c/%2500?q=%2500"},
		{"..", "x", ""},
		{".", "x", ""},
	}
	for _, tt := range tests {
		ctx := Context{Contact: Contact{Name: tt.name, Fields: map[string]string{"id": tt.id}}}
		_, acts, log, err := Step(f, State{}, ev(EventStart), ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tt.want == "" {
			if len(log) != 2 || log[0].Result != "failed" || log[0].Next != "c" {
				t.Errorf("id %q: actions %s, path %+v: want the webhook failed without a request", tt.id, show(acts), log)
			}
			continue
		}
		if len(acts) != 1 || acts[0].(Webhook).URL != tt.want {
			t.Errorf("id %q, name %q: actions %s, want the URL %s", tt.id, tt.name, show(acts), tt.want)
		}
	}
}

func TestWebhookBodyContact(t *testing.T) {
	const nodes = "start: a\nnodes:\n  a: {kind: webhook, url: 'https://crm.example.com/x', next: b}\n  b: {kind: hangup}\n"
	contact := Contact{Name: "Ann", Number: "+8613800138000", Fields: map[string]string{"city": "Beijing"}}
	tests := []struct {
		setting string
		masked  string // Contact.MaskedNumber
		want    map[string]any
	}{
		{"", "", map[string]any{"number": "+*********8000", "name": "Ann", "fields": map[string]any{"city": "Beijing"}}},
		{"webhook_contact: masked\n", "+86*******8000", map[string]any{"number": "+86*******8000", "name": "Ann", "fields": map[string]any{"city": "Beijing"}}},
		{"webhook_contact: full\n", "+86*******8000", map[string]any{"number": "+8613800138000", "name": "Ann", "fields": map[string]any{"city": "Beijing"}}},
		{"webhook_contact: none\n", "+86*******8000", map[string]any{}},
	}
	for _, tt := range tests {
		f := mustParse(t, "id: w\nversion: 2\n"+tt.setting+nodes)
		c := contact
		c.MaskedNumber = tt.masked
		_, acts, _, err := Step(f, State{}, ev(EventStart), Context{Contact: c})
		if err != nil || len(acts) != 1 {
			t.Fatalf("%s: %s %v", tt.setting, show(acts), err)
		}
		var body map[string]any
		if err := json.Unmarshal(acts[0].(Webhook).Body, &body); err != nil {
			t.Fatal(err)
		}
		tt.want["flow"], tt.want["version"], tt.want["node"], tt.want["vars"] = "w", 2.0, "a", map[string]any{}
		if !reflect.DeepEqual(body, tt.want) {
			t.Errorf("%q: body %v\nwant %v", tt.setting, body, tt.want)
		}
	}
}
