package ivr

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callplane/callplane/media"
)

// FuzzParse: Parse never panics, every problem has a position (line >= 1, col >= 1), a
// flow comes back exactly when no problem is an error, at most MaxProblems+1 problems
// come back, and a flow that loads can be drawn and started, emitting only prompts
// media.CheckPrompt accepts, whatever the contact's data.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{filepath.Join(flowsDir, "*.yaml"), "testdata/broken/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("id: x\nversion: 1\nstart: a\nnodes:\n  a: &a {kind: play, prompt: {tts: x}, next: a}\n  b: *a\n"))
	// Hostile input.
	const head = "id: h\nversion: 1\nstart: a\nnodes:\n"
	for _, file := range []string{"../../etc/passwd", "system::touch /tmp/x", "{{contact.fields.f}}", "a/{{contact.name}}.wav",
		"{{", "%00", "tone:{{vars.x}}/1", "tts:{{contact.name}}:x"} {
		f.Add([]byte(head + "  a: {kind: play, prompt: {file: '" + file + "'}, next: b}\n  b: {kind: hangup, prompt: {tts: 'Bye {{contact.name}}', voice: en}}\n"))
	}
	for _, u := range []string{"http://{{contact.fields.h}}:8080/x", "http://169.254.169.254/", "http://[::1]/", "http://0x7f.1/",
		"http://a@b/", "http://exämple.com/", "https://h/{{call.number}}?a={{contact.name}}&b=%00#x", "http://h/..", "::", "{{"} {
		f.Add([]byte(head + "  a: {kind: webhook, url: '" + u + "', next: b}\n  b: {kind: hangup}\n"))
	}
	f.Add(chainFlow(30))
	f.Add([]byte("id: b\nversion: 1\nstart: a\nvariables:\n  l: &l [x, x]\n  m: &m [*l, *l]\n  n: [*m, *m]\nnodes:\n  a: {kind: hangup}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		flow, probs := Parse("fuzz.yaml", data)
		if len(probs) > MaxProblems+1 {
			t.Fatalf("%d problems", len(probs))
		}
		for _, p := range probs {
			if p.Line < 1 || p.Col < 1 || p.File != "fuzz.yaml" || p.Msg == "" {
				t.Fatalf("problem without a position or message: %+v", p)
			}
		}
		if (flow == nil) != HasErrors(probs) {
			t.Fatalf("flow %v with problems %v", flow != nil, probs)
		}
		if flow == nil {
			return
		}
		Mermaid(flow)
		hostile := "../{{x}}::a b/$\\"
		ctx := Context{Contact: Contact{Name: hostile, Number: hostile, Fields: map[string]string{}}}
		for _, ref := range strings.Split(string(data), "{{") {
			name, _, _ := strings.Cut(ref, "}}")
			if field, ok := strings.CutPrefix(strings.TrimSpace(name), "contact.fields."); ok {
				ctx.Contact.Fields[field] = hostile
			}
		}
		st, acts, _, err := Step(flow, State{}, Event{Kind: EventStart}, ctx)
		if err == nil && st.Phase == PhaseNew {
			t.Fatalf("Start left the flow unstarted: %+v", st)
		}
		checkPrompts(t, acts)
		for _, k := range []EventKind{EventPlaybackDone, EventInputTimeout, EventWebhookFailed, EventTransferFailed, EventCallerHungUp} {
			if next, acts, _, err := Step(flow, st, Event{Kind: k, Digits: "1"}, ctx); err == nil {
				st = next
				checkPrompts(t, acts)
			}
		}
	})
}

// checkPrompts fails t when an action would play a prompt media.CheckPrompt refuses.
func checkPrompts(t *testing.T, acts []Action) {
	t.Helper()
	for _, a := range acts {
		var p Play
		switch a := a.(type) {
		case Play:
			p = a
		case Collect:
			if a.Prompt == (Play{}) {
				continue
			}
			p = a.Prompt
		default:
			continue
		}
		prompt := p.File
		if prompt == "" {
			prompt = media.TTS(p.Voice, p.TTS)
		}
		if err := media.CheckPrompt(prompt); err != nil {
			t.Fatalf("Step emitted %+v: %v", a, err)
		}
	}
}

// FuzzWebhookURL: the URL check never panics, locates its problem inside the URL, and a
// URL it accepts has its scheme and host written out before any variable, so that no
// value filled in (escaped for the path or the query) changes where the request goes.
func FuzzWebhookURL(f *testing.F) {
	for _, s := range []string{
		"https://crm.example.com/api/surveys?number={{call.number}}",
		"http://{{contact.fields.h}}:8080/x", "http://crm.example.com:{{vars.p}}/x", "{{vars.u}}", "{{", "}}{{",
		"http://h/{{", "http://h/::", "http://h/?a={{vars.a}}&b={{vars.b}}", "http://h/%00", "http://h/%zz",
		"http://h/a/../b", "http://h/{{vars.x}}/..", "http://h/./{{vars.x}}", "http://user@h/", "http://{{vars.u}}@h/",
		"http://h@{{vars.h}}/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::1]:8080/{{vars.x}}",
		"http://[fe80::1%25eth0]/", "http://0x7f.1/", "http://2130706433/", "http://127.1/", "http://exämple.com/",
		"http://xn--exmple-cua.com/", "http://h:0/", "http://h:65536/", "http://h:/", "http://h#{{vars.x}}",
		"HTTP://H/{{vars.x}}", "http:/h/{{vars.x}}", "http:\\h\\{{vars.x}}", "ftp://h/", "http://h?{{vars.x}}",
		"http://h/{{contact.name}}?{{contact.name}}#{{contact.name}}", "http://h\t/", "http://h /x", "http://[::ffff:127.0.0.1]/",
	} {
		f.Add(s)
	}
	values := []string{"", "evil.example", "@evil.example", "/..", "..", ".", "?#", "#", "%00", "x:y@z", "\\evil", "[::1]",
		"{{vars.x}}", "exämple", "a b", "//evil.example/", "http://evil.example/"}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := parseTemplate(s)
		if err != nil {
			return
		}
		if pe := checkWebhookURL(tpl); pe != nil {
			if pe.off < 0 || pe.off > len(s) || pe.msg == "" {
				t.Fatalf("problem %+v outside %q", pe, s)
			}
			return
		}
		probe, err := tpl.renderURL(env{}, func(string) string { return "x" })
		if err != nil {
			t.Fatalf("accepted %q but its probe fails: %v", s, err)
		}
		want, err := url.Parse(probe)
		if err != nil || want.Host == "" || want.User != nil || (want.Scheme != "http" && want.Scheme != "https") {
			t.Fatalf("accepted %q: probe %q parses as %+v, %v", s, probe, want, err)
		}
		fixed := s
		if i := strings.Index(s, "{{"); i >= 0 {
			fixed = s[:i]
		}
		if !strings.HasPrefix(strings.ToLower(fixed), strings.ToLower(want.Scheme+"://"+want.Host)) {
			t.Fatalf("accepted %q: its scheme and host %s://%s are not written before the first variable", s, want.Scheme, want.Host)
		}
		if rest := strings.TrimPrefix(strings.ToLower(fixed), strings.ToLower(want.Scheme+"://"+want.Host)); rest == "" && len(fixed) < len(s) {
			t.Fatalf("accepted %q: a variable follows the host directly", s)
		}
		for _, v := range values {
			got, err := tpl.renderURL(env{}, func(string) string { return v })
			if err != nil {
				continue // a refused value fails the webhook
			}
			u, err := url.Parse(got)
			if err != nil || !strings.EqualFold(u.Host, want.Host) || u.Scheme != want.Scheme || u.User != nil {
				t.Fatalf("%q with %q renders %q: host %q, want %q (%v)", s, v, got, u.Host, want.Host, err)
			}
		}
	})
}
