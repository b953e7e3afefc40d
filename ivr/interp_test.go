package ivr

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testFlow uses every node kind.
const testFlow = `
id: test
version: 3
variables:
  lang: en
start: greet
nodes:
  greet:
    kind: play
    prompt: {tts: "Hello {{contact.name}} ({{contact.fields.city}})", voice: anna}
    next: main
  main:
    kind: menu
    prompt: {file: "menu-{{vars.lang}}.wav"}
    choices: {"1": agent, "2": vm, "3": ask, "9": optout, "#": ext}
    timeout: 4s
    retries: 1
    invalid: {tts: Invalid.}
    on_timeout: bye
  agent:
    kind: transfer
    queue: sales
    timeout: 20s
    on_fail: sorry
  ext:
    kind: transfer
    number: "+8613800138000"
  sorry:
    kind: hangup
    prompt: {tts: Sorry.}
  vm:
    kind: record
    prompt: {tts: After the beep.}
    max_length: 30s
    silence_timeout: 3s
    into: msg
    next: bye
  ask:
    kind: collect
    prompt: {tts: "Score?"}
    max_digits: 2
    pattern: "[1-5]"
    retries: 1
    no_input: {tts: "Hello?"}
    into: score
    next: hook
    on_fail: bye
  hook:
    kind: webhook
    url: "https://crm.example/s?n={{call.number}}"
    timeout: 2s
    set: {seg: result.segment, n: result.count}
    next: route
    on_error: bye
  route:
    kind: branch
    conditions:
      - if: vars.seg == "gold" && vars.score >= 4
        then: vip
    else: bye
  vip:
    kind: set
    vars: {tag: "vip-{{vars.seg}}"}
    next: agent
  optout:
    kind: dnc
    list: global
    next: bye
  bye:
    kind: hangup
    prompt: {tts: "Bye {{contact.name}}."}
`

var (
	testContact = Contact{Name: "Ann", Number: "+8613900000001", Fields: map[string]string{"city": "Beijing"}}
	testNow     = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
)

func mustParse(t *testing.T, src string) *Flow {
	t.Helper()
	f, probs := Parse("test.yaml", []byte(src))
	if f == nil || len(probs) > 0 {
		t.Fatalf("Parse: %v", probs)
	}
	return f
}

func ev(k EventKind) Event        { return Event{Kind: k} }
func digits(d string) Event       { return Event{Kind: EventDigits, Digits: d} }
func webhookOK(body string) Event { return Event{Kind: EventWebhookResult, Body: []byte(body)} }

var (
	playMenu = Collect{Prompt: Play{File: "menu-en.wav"}, MinDigits: 1, MaxDigits: 1, Timeout: 4 * time.Second}
	playBye  = Play{TTS: "Bye Ann."}
	hangup   = Hangup{Cause: CauseNormal}
	askScore = Collect{Prompt: Play{TTS: "Score?"}, MinDigits: 1, MaxDigits: 2, Terminator: "#", Timeout: 5 * time.Second}
	toSales  = Transfer{Queue: "sales", Timeout: 20 * time.Second}
)

// toMenu is the start of every scenario: the greeting, then the menu.
var toMenu = []step{
	{ev: ev(EventStart), want: []Action{Play{TTS: "Hello Ann (Beijing)", Voice: "anna"}}},
	{ev: ev(EventPlaybackDone), want: []Action{playMenu}},
}

type step struct {
	ev     Event
	want   []Action
	err    error // errors.Is
	ignore bool  // do not check the actions (checked by another case)
}

func TestStep(t *testing.T) {
	f := mustParse(t, testFlow)
	tests := []struct {
		name  string
		vars  map[string]string // state before Start
		steps []step
		phase Phase
		want  map[string]string // variables at the end (a subset)
		unset []string          // variables that must not be set at the end
		path  []string
	}{
		{
			name:  "menu 1 transfers to the sales queue",
			steps: append(toMenu[:2:2], step{ev: digits("1"), want: []Action{toSales}}, step{ev: ev(EventTransferDone)}),
			phase: PhaseDone,
			path:  []string{"greet played -> main", "main choice 1 -> agent", "agent transferred -> end"},
		},
		{
			name: "transfer failure plays sorry and hangs up",
			steps: append(toMenu[:2:2],
				step{ev: digits("1"), want: []Action{toSales}},
				step{ev: ev(EventTransferFailed), want: []Action{Play{TTS: "Sorry."}}},
				step{ev: ev(EventPlaybackDone), want: []Action{hangup}}),
			phase: PhaseDone,
			path:  []string{"greet played -> main", "main choice 1 -> agent", "agent failed -> sorry", "sorry hangup -> end"},
		},
		{
			name:  "# transfers to an external number",
			steps: append(toMenu[:2:2], step{ev: digits("#"), want: []Action{Transfer{Number: "+8613800138000", Timeout: DefaultTransferTimeout}}}),
			phase: PhaseTransfer,
			path:  []string{"greet played -> main", "main choice # -> ext"},
		},
		{
			name: "menu timeout prompts again, then on_timeout",
			steps: append(toMenu[:2:2],
				step{ev: ev(EventInputTimeout), want: []Action{playMenu}},
				step{ev: ev(EventInputTimeout), want: []Action{playBye}},
				step{ev: ev(EventPlaybackDone), want: []Action{hangup}}),
			phase: PhaseDone,
			path:  []string{"greet played -> main", "main timeout -> main", "main timeout_exhausted -> bye", "bye hangup -> end"},
		},
		{
			name: "menu invalid key plays invalid, prompts again, then hangs up by default",
			steps: append(toMenu[:2:2],
				step{ev: digits("7"), want: []Action{Play{TTS: "Invalid."}}},
				step{ev: ev(EventPlaybackDone), want: []Action{playMenu}},
				step{ev: digits("8"), want: []Action{hangup}}),
			phase: PhaseDone,
			path:  []string{"greet played -> main", "main invalid 7 -> main", "main invalid_exhausted 8 -> end"},
		},
		{
			name: "retry then a valid key: 9 adds to the global DNC list",
			steps: append(toMenu[:2:2],
				step{ev: ev(EventInputTimeout), want: []Action{playMenu}},
				step{ev: digits("9"), want: []Action{AddDNC{List: DNCGlobal, Number: "+8613900000001"}, playBye}},
				step{ev: ev(EventPlaybackDone), want: []Action{hangup}}),
			phase: PhaseDone,
			path:  []string{"greet played -> main", "main timeout -> main", "main choice 9 -> optout", "optout added -> bye", "bye hangup -> end"},
		},
		{
			name: "voicemail: prompt, record, reference into a variable",
			steps: append(toMenu[:2:2],
				step{ev: digits("2"), want: []Action{Play{TTS: "After the beep."}}},
				step{ev: ev(EventPlaybackDone), want: []Action{Record{MaxLength: 30 * time.Second, Beep: true, SilenceTimeout: 3 * time.Second}}},
				step{ev: Event{Kind: EventRecordingDone, Ref: "/rec/1.wav", Duration: 12 * time.Second}, want: []Action{playBye}}),
			phase: PhasePrompt,
			want:  map[string]string{"msg": "/rec/1.wav"},
			path:  []string{"greet played -> main", "main choice 2 -> vm", "vm recorded -> bye"},
		},
		{
			name: "collect, POST webhook, branch to vip, set, transfer",
			steps: append(toMenu[:2:2],
				step{ev: digits("3"), want: []Action{askScore}},
				step{ev: digits("5#"), want: []Action{Webhook{Method: "POST", URL: "https://crm.example/s?n=%2B8613900000001", Timeout: 2 * time.Second,
					Body: []byte(`{"flow":"test","version":3,"node":"hook","number":"+*********0001","name":"Ann","fields":{"city":"Beijing"},"vars":{"lang":"en","score":"5"}}`)}}},
				step{ev: webhookOK(`{"result":{"segment":"gold","count":7}}`), want: []Action{toSales}}),
			phase: PhaseTransfer,
			want:  map[string]string{"score": "5", "seg": "gold", "n": "7", "tag": "vip-gold"},
			path: []string{"greet played -> main", "main choice 3 -> ask", "ask collected 5 -> hook", "hook ok -> route",
				"route condition 1 -> vip", "vip set -> agent"},
		},
		{
			name: "branch else when the condition does not hold; a missing path is empty",
			steps: append(toMenu[:2:2],
				step{ev: digits("3"), want: []Action{askScore}},
				step{ev: digits("5"), ignore: true}, // the webhook action is checked above
				step{ev: webhookOK(`{"result":{"segment":"silver"}}`), want: []Action{playBye}}),
			phase: PhasePrompt,
			want:  map[string]string{"seg": "silver", "n": ""},
			path:  []string{"greet played -> main", "main choice 3 -> ask", "ask collected 5 -> hook", "hook ok -> route", "route else -> bye"},
		},
		{
			name: "branch else on a low score",
			steps: append(toMenu[:2:2],
				step{ev: digits("3"), want: []Action{askScore}},
				step{ev: digits("3"), ignore: true},
				step{ev: webhookOK(`{"result":{"segment":"gold"}}`), want: []Action{playBye}}),
			phase: PhasePrompt,
			path:  []string{"greet played -> main", "main choice 3 -> ask", "ask collected 3 -> hook", "hook ok -> route", "route else -> bye"},
		},
		{
			name: "webhook failure goes to on_error",
			steps: append(toMenu[:2:2],
				step{ev: digits("3"), want: []Action{askScore}},
				step{ev: digits("4"), ignore: true},
				step{ev: ev(EventWebhookFailed), want: []Action{playBye}}),
			phase: PhasePrompt,
			path:  []string{"greet played -> main", "main choice 3 -> ask", "ask collected 4 -> hook", "hook failed -> bye"},
		},
		{
			name: "a webhook answer that is not JSON is a failure",
			steps: append(toMenu[:2:2],
				step{ev: digits("3"), want: []Action{askScore}},
				step{ev: digits("4"), ignore: true},
				step{ev: webhookOK(`<html>502</html>`), want: []Action{playBye}}),
			phase: PhasePrompt,
			path:  []string{"greet played -> main", "main choice 3 -> ask", "ask collected 4 -> hook", "hook failed -> bye"},
		},
		{
			name: "collect: no input plays no_input, a bad entry spends the last retry, on_fail",
			steps: append(toMenu[:2:2],
				step{ev: digits("3"), want: []Action{askScore}},
				step{ev: ev(EventInputTimeout), want: []Action{Play{TTS: "Hello?"}}},
				step{ev: ev(EventPlaybackDone), want: []Action{askScore}},
				step{ev: digits("77"), want: []Action{playBye}}),
			phase: PhasePrompt,
			unset: []string{"score"},
			path:  []string{"greet played -> main", "main choice 3 -> ask", "ask timeout -> ask", "ask failed 77 -> bye"},
		},
		{
			name: "collect: a bare terminator is no input, too many digits is invalid",
			steps: append(toMenu[:2:2],
				step{ev: digits("3"), want: []Action{askScore}},
				step{ev: digits("#"), want: []Action{Play{TTS: "Hello?"}}},
				step{ev: ev(EventPlaybackDone), want: []Action{askScore}},
				step{ev: digits("123"), want: []Action{playBye}}),
			phase: PhasePrompt,
			path:  []string{"greet played -> main", "main choice 3 -> ask", "ask timeout -> ask", "ask failed 123 -> bye"},
		},
		{
			name: "retries count per node: the menu's retry does not spend the collect's",
			steps: append(toMenu[:2:2],
				step{ev: ev(EventInputTimeout), want: []Action{playMenu}},
				step{ev: digits("3"), want: []Action{askScore}},
				step{ev: ev(EventInputTimeout), want: []Action{Play{TTS: "Hello?"}}}),
			phase: PhasePrompt,
			path:  []string{"greet played -> main", "main timeout -> main", "main choice 3 -> ask", "ask timeout -> ask"},
		},
		{
			name: "the caller hangs up mid-flow; later events are refused, a second hang-up ignored",
			steps: append(toMenu[:2:2],
				step{ev: ev(EventCallerHungUp)},
				step{ev: digits("1"), err: ErrUnexpectedEvent},
				step{ev: ev(EventCallerHungUp)}),
			phase: PhaseDone,
			path:  []string{"greet played -> main", "main caller_hangup -> end"},
		},
		{
			name: "an event the flow does not wait for changes nothing",
			steps: []step{
				{ev: ev(EventPlaybackDone), err: ErrUnexpectedEvent},
				toMenu[0],
				{ev: digits("1"), err: ErrUnexpectedEvent},
				{ev: ev(EventStart), err: ErrUnexpectedEvent},
				{ev: ev(EventTransferDone), err: ErrUnexpectedEvent},
				toMenu[1],
			},
			phase: PhaseInput,
			path:  []string{"greet played -> main"},
		},
		{
			name:  "variables the controller sets before the start override the defaults",
			vars:  map[string]string{"lang": "zh"},
			steps: []step{toMenu[0], {ev: ev(EventPlaybackDone), want: []Action{Collect{Prompt: Play{File: "menu-zh.wav"}, MinDigits: 1, MaxDigits: 1, Timeout: 4 * time.Second}}}},
			phase: PhaseInput,
			want:  map[string]string{"lang": "zh"},
			path:  []string{"greet played -> main"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := State{Vars: tt.vars}
			var path []Transition
			for i, s := range tt.steps {
				before := maps.Clone(st.Vars)
				next, acts, log, err := Step(f, st, s.ev, Context{Contact: testContact, Now: testNow.Add(time.Duration(i) * time.Second)})
				if !maps.Equal(before, st.Vars) {
					t.Fatalf("step %d (%s) modified the state it was given", i, s.ev.Kind)
				}
				if s.err != nil {
					if !errors.Is(err, s.err) {
						t.Fatalf("step %d (%s): err = %v, want %v", i, s.ev.Kind, err, s.err)
					}
					if !reflect.DeepEqual(next, st) || acts != nil || log != nil {
						t.Fatalf("step %d (%s): a refused event changed something: %+v %v %v", i, s.ev.Kind, next, acts, log)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d (%s): %v", i, s.ev.Kind, err)
				}
				if !s.ignore && !reflect.DeepEqual(acts, s.want) {
					t.Fatalf("step %d (%s): actions\n got %s\nwant %s", i, s.ev.Kind, show(acts), show(s.want))
				}
				for _, tr := range log {
					if want := testNow.Add(time.Duration(i) * time.Second); !tr.At.Equal(want) {
						t.Errorf("transition %+v: At = %v, want the context's %v", tr, tr.At, want)
					}
				}
				path = append(path, log...)
				st = next
			}
			if st.Phase != tt.phase {
				t.Errorf("phase = %q, want %q", st.Phase, tt.phase)
			}
			for k, v := range tt.want {
				if got, ok := st.Vars[k]; !ok || got != v {
					t.Errorf("vars[%s] = %q (set %v), want %q", k, got, ok, v)
				}
			}
			for _, k := range tt.unset {
				if v, ok := st.Vars[k]; ok {
					t.Errorf("vars[%s] = %q, want it unset", k, v)
				}
			}
			var got []string
			for i, tr := range path {
				if tr.Seq != i {
					t.Errorf("transition %d has Seq %d", i, tr.Seq)
				}
				if n := f.Nodes[tr.Node]; n == nil || n.Kind != tr.Kind {
					t.Errorf("transition %d: kind %q does not match node %q", i, tr.Kind, tr.Node)
				}
				got = append(got, pathString(tr))
			}
			if !reflect.DeepEqual(got, tt.path) {
				t.Errorf("path\n got %q\nwant %q", got, tt.path)
			}
			if st.Steps != len(path) {
				t.Errorf("state counts %d steps, the log has %d", st.Steps, len(path))
			}
		})
	}
}

func pathString(tr Transition) string {
	s := tr.Node + " " + tr.Result
	if tr.Digits != "" {
		s += " " + tr.Digits
	}
	next := tr.Next
	if next == "" {
		next = "end"
	}
	return s + " -> " + next
}

func show(acts []Action) string {
	var s []string
	for _, a := range acts {
		s = append(s, fmt.Sprintf("%T%+v", a, a))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// A loop through nodes that do not wait passes the validator when it has a way out, so
// Step bounds it at run time.
func TestStepLoopGuard(t *testing.T) {
	f := mustParse(t, `
id: spin
version: 1
variables: {x: "1"}
start: spin
nodes:
  spin:
    kind: set
    vars: {x: "1"}
    next: check
  check:
    kind: branch
    conditions:
      - if: vars.x == "1"
        then: spin
    else: done
  done:
    kind: hangup
`)
	st, acts, log, err := Step(f, State{}, ev(EventStart), Context{Now: testNow})
	if !errors.Is(err, ErrLoop) {
		t.Fatalf("err = %v, want ErrLoop", err)
	}
	if !st.Done() || len(acts) == 0 || acts[len(acts)-1] != (Hangup{Cause: CauseNormal}) {
		t.Fatalf("state %+v, actions %v: want done with a final hang-up", st, acts)
	}
	if len(log) != MaxTransitions+1 || log[len(log)-1].Result != ResultLoopLimit {
		t.Fatalf("log has %d entries ending %+v, want %d ending in %s", len(log), log[len(log)-1], MaxTransitions+1, ResultLoopLimit)
	}
}

func TestStepSmallNodes(t *testing.T) {
	f := mustParse(t, `
id: small
version: 1
start: hello
nodes:
  hello:
    kind: play
    prompt: {file: "p/{{contact.fields.lang}}/hello.wav"}
    next: hook
  hook:
    kind: webhook
    url: "http://crm.local/lookup?name={{contact.name}}"
    method: get
    set: {id: items.1.id, raw: items}
    next: vm
  vm:
    kind: record
    beep: false
    next: done
  done:
    kind: hangup
`)
	c := Context{Contact: Contact{Name: "Li Lei&co", Fields: map[string]string{"lang": "zh"}}, Now: testNow}
	steps := []struct {
		ev   Event
		want []Action
	}{
		{ev(EventStart), []Action{Play{File: "p/zh/hello.wav"}}},
		{ev(EventPlaybackDone), []Action{Webhook{Method: "GET", URL: "http://crm.local/lookup?name=Li+Lei%26co", Timeout: DefaultWebhookTimeout}}},
		{webhookOK(`{"items":[{"id":1},{"id":"b2"}]}`), []Action{Record{MaxLength: DefaultRecordLength}}},
		{Event{Kind: EventRecordingDone, Ref: "r"}, []Action{hangup}},
	}
	var st State
	for i, s := range steps {
		next, acts, _, err := Step(f, st, s.ev, c)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !reflect.DeepEqual(acts, s.want) {
			t.Fatalf("step %d: actions\n got %s\nwant %s", i, show(acts), show(s.want))
		}
		st = next
	}
	if st.Vars["id"] != "b2" || st.Vars["raw"] != `[{"id":1},{"id":"b2"}]` {
		t.Errorf("vars = %v: want id b2 and raw as JSON text", st.Vars)
	}
	if !st.Done() {
		t.Errorf("state %+v, want done", st)
	}
}

// TestStateJSON: a state stored as JSON between events resumes the call.
func TestStateJSON(t *testing.T) {
	f := mustParse(t, testFlow)
	c := Context{Contact: testContact, Now: testNow}
	st, _, _, err := Step(f, State{}, ev(EventStart), c)
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _, err = Step(f, st, ev(EventPlaybackDone), c); err != nil {
		t.Fatal(err)
	}
	if st, _, _, err = Step(f, st, ev(EventInputTimeout), c); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"node":"main","phase":"input","vars":{"lang":"en"},"retries":1,"steps":2}`; string(data) != want {
		t.Errorf("JSON %s, want %s", data, want)
	}
	var back State
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	// The stored retry counts: a second timeout spends the last retry.
	_, acts, log, err := Step(f, back, ev(EventInputTimeout), c)
	if err != nil || !reflect.DeepEqual(acts, []Action{playBye}) || log[0].Result != "timeout_exhausted" {
		t.Errorf("after the round trip: %v %v %v", acts, log, err)
	}
}
