package ivr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/callplane/callplane/media"
)

// EventKind names what happened on the call.
type EventKind string

const (
	EventStart          EventKind = "start"           // the call is answered: run the flow
	EventPlaybackDone   EventKind = "playback_done"   // the Play action finished
	EventDigits         EventKind = "digits"          // the Collect action gathered Digits
	EventInputTimeout   EventKind = "input_timeout"   // the Collect action got no digits in time
	EventRecordingDone  EventKind = "recording_done"  // the Record action finished: Ref, Duration
	EventTransferDone   EventKind = "transfer_done"   // the Transfer action connected the call
	EventTransferFailed EventKind = "transfer_failed" // the Transfer action did not connect
	EventWebhookResult  EventKind = "webhook_result"  // the Webhook action answered 2xx with Body
	EventWebhookFailed  EventKind = "webhook_failed"  // the Webhook action failed or timed out
	EventCallerHungUp   EventKind = "caller_hung_up"  // the callee hung up; the flow ends
)

// Event is one input to Step; the fields besides Kind apply to the kinds named.
type Event struct {
	Kind EventKind
	// Digits: EventDigits. A trailing terminator is ignored; "" counts as no input.
	Digits string
	// Ref and Duration: EventRecordingDone, the recording's reference (a path on the node).
	Ref      string
	Duration time.Duration
	// Body: EventWebhookResult, the JSON answer.
	Body []byte
}

// Context is what Step knows about the call besides its state.
type Context struct {
	Contact Contact
	// Now stamps the transitions; Step never reads the clock.
	Now time.Time
}

// Action is one thing the media driver or the controller must do: Play, Collect, Record,
// Transfer, Webhook, AddDNC or Hangup.
type Action interface{ isAction() }

// Play plays a prompt: an audio file or text to speech. PlaybackDone follows.
//
// Step only emits prompts media.CheckPrompt accepts (File, or media.TTS(Voice, TTS)):
// text to speak is cleaned with media.CleanTTS once its variables are filled in, and a
// prompt whose rendered value is still refused (a file "{{contact.fields.f}}" that
// renders to "a::b" or "../x", text that is empty) is never emitted. The flow goes on as
// if it had played: its path records ResultPromptRefused at the node, then, at a play
// node, "played"; a menu or collect waits for input with a zero Collect.Prompt.
type Play struct {
	File  string
	TTS   string
	Voice string
}

// Collect plays Prompt and gathers digits (FreeSWITCH play_and_get_digits, ARI playback
// plus DTMF): it ends after MaxDigits digits, on Terminator (when not ""), or after Timeout
// without a digit. Digits or InputTimeout follows. A zero Prompt (refused, see Play) means
// waiting for input at once.
type Collect struct {
	Prompt     Play
	MinDigits  int
	MaxDigits  int
	Terminator string
	Timeout    time.Duration
}

// Record records the caller, after a beep when Beep, for at most MaxLength, stopping after
// SilenceTimeout of silence when it is not 0. RecordingDone follows.
type Record struct {
	MaxLength      time.Duration
	Beep           bool
	SilenceTimeout time.Duration
}

// Transfer hands the call to an agent queue (Queue) or an external number (Number),
// giving up after Timeout. TransferDone or TransferFailed follows.
type Transfer struct {
	Queue   string
	Number  string
	Timeout time.Duration
}

// Webhook calls an HTTP endpoint; Body is JSON for POST (see WebhookBody) and nil for GET.
// WebhookResult (2xx) or WebhookFailed follows.
//
// URL's scheme and host are the flow's, as written (the loader refuses variables there);
// values filled into the path are url.PathEscape'd and into the query url.QueryEscape'd.
// A value that would make a path segment "." or ".." fails the webhook in Step itself
// (the path records "failed" and the flow takes on_error): no action is emitted.
type Webhook struct {
	Method  string
	URL     string
	Body    []byte
	Timeout time.Duration
}

// AddDNC puts Number on a do-not-call list: DNCCampaign (the call's campaign) or
// DNCGlobal. No event follows; the flow goes on at once.
type AddDNC struct {
	List   string
	Number string
}

// Hangup ends the call with a Q.850 cause name. No event follows; the flow is done.
type Hangup struct {
	Cause string
}

func (Play) isAction()     {}
func (Collect) isAction()  {}
func (Record) isAction()   {}
func (Transfer) isAction() {}
func (Webhook) isAction()  {}
func (AddDNC) isAction()   {}
func (Hangup) isAction()   {}

// CauseNormal is the cause of every hang-up the flow decides.
const CauseNormal = "NORMAL_CLEARING"

// WebhookBody is the JSON a POST webhook sends. What it carries of the contact follows
// the flow's webhook_contact: masked (the default) sends Contact.MaskedNumber (or, when
// that is empty, only the number's last 4 digits) with the name and fields; full sends
// them as they are; none sends none of the three. Variables written into the URL are the
// flow author's explicit choice and are not masked.
type WebhookBody struct {
	Flow    string            `json:"flow"`
	Version int               `json:"version"`
	Node    string            `json:"node"`
	Number  string            `json:"number,omitempty"`
	Name    string            `json:"name,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
	Vars    map[string]string `json:"vars"`
}

// Phase is what a call's flow is waiting for.
type Phase string

const (
	PhaseNew      Phase = ""         // not started: waiting for Start
	PhasePrompt   Phase = "prompt"   // PlaybackDone
	PhaseInput    Phase = "input"    // Digits or InputTimeout
	PhaseRecord   Phase = "record"   // RecordingDone
	PhaseTransfer Phase = "transfer" // TransferDone or TransferFailed
	PhaseWebhook  Phase = "webhook"  // WebhookResult or WebhookFailed
	PhaseDone     Phase = "done"     // the flow has ended
)

// State is where one call is in its flow. The zero value is a call that has not started.
// It is a plain value: store it (JSON) and pass it back to Step with the next event.
type State struct {
	Node  string            `json:"node,omitempty"`
	Phase Phase             `json:"phase,omitempty"`
	Vars  map[string]string `json:"vars,omitempty"`
	// Retries counts the failed attempts at the current menu or collect node.
	Retries int `json:"retries,omitempty"`
	// Steps counts the transitions so far; it is the Seq of the next one.
	Steps int `json:"steps"`
}

// Done reports whether the flow has ended.
func (s State) Done() bool { return s.Phase == PhaseDone }

// Transition is one entry of a call's path through its flow: what happened at Node and
// where the flow went (Next, "" for a hang-up or the end of the flow).
type Transition struct {
	Seq    int       `json:"seq"`
	Node   string    `json:"node"`
	Kind   Kind      `json:"kind"`
	Digits string    `json:"digits,omitempty"`
	Result string    `json:"result"`
	Next   string    `json:"next,omitempty"`
	At     time.Time `json:"at"`
}

// Transition results, by node kind:
//
//	play      played
//	menu      choice (Digits), invalid, timeout (retrying), invalid_exhausted, timeout_exhausted
//	collect   collected (Digits), invalid, timeout (retrying), failed (retries spent)
//	branch    condition N (1-based), else
//	set       set
//	record    recorded
//	transfer  transferred, failed
//	webhook   ok, failed
//	dnc       added
//	hangup    hangup
//	any       caller_hangup; loop_limit (MaxTransitions reached); prompt_refused (a
//	          rendered prompt media.CheckPrompt refuses was skipped, see Play)
const (
	ResultCallerHangup  = "caller_hangup"
	ResultLoopLimit     = "loop_limit"
	ResultPromptRefused = "prompt_refused"
)

// MaxTransitions bounds the nodes one Step may pass through without waiting for an event
// (set, branch and dnc nodes move on at once), against loops the validator cannot see.
const MaxTransitions = 100

var (
	// ErrUnexpectedEvent is returned, with the state unchanged and no actions, for an
	// event the flow is not waiting for (Digits while a prompt plays, Start twice...).
	ErrUnexpectedEvent = errors.New("ivr: unexpected event")
	// ErrLoop is returned when a Step passes MaxTransitions nodes; the flow is then done
	// and the actions end with a Hangup, which the caller should still carry out.
	ErrLoop = errors.New("ivr: too many transitions without waiting")
)

// Step advances a call's flow by one event. It returns the new state, the actions to
// carry out in order, and the transitions taken (the call's path, to be stored with the
// attempt). Each returned action list ends with at most one action that waits for an
// event (the state's Phase says which); AddDNC never waits, Hangup ends the flow.
//
// Step is pure: it reads the clock only from ctx.Now and does not modify st. Passing the
// log back separately keeps State small to store between events.
//
// CallerHungUp ends the flow from any phase, and is ignored once the flow is done.
func Step(f *Flow, st State, ev Event, ctx Context) (State, []Action, []Transition, error) {
	if f == nil {
		return st, nil, nil, errors.New("ivr: nil flow")
	}
	r := &run{f: f, ctx: ctx, st: st}
	r.st.Vars = maps.Clone(st.Vars)
	if err := r.handle(ev); err != nil {
		if errors.Is(err, ErrLoop) {
			return r.st, r.actions, r.log, err
		}
		return st, nil, nil, err
	}
	return r.st, r.actions, r.log, nil
}

// run is one Step in progress.
type run struct {
	f       *Flow
	ctx     Context
	st      State
	actions []Action
	log     []Transition
	hops    int
}

func (r *run) unexpected(ev Event) error {
	return fmt.Errorf("%w: %s at node %q in phase %q", ErrUnexpectedEvent, ev.Kind, r.st.Node, r.st.Phase)
}

func (r *run) handle(ev Event) error {
	if ev.Kind == EventCallerHungUp {
		if r.st.Phase == PhaseDone {
			return nil
		}
		kind := Kind("")
		if n := r.f.Nodes[r.st.Node]; n != nil {
			kind = n.Kind
		}
		r.record(r.st.Node, kind, "", ResultCallerHangup, "")
		r.st.Phase = PhaseDone
		return nil
	}
	if r.st.Phase == PhaseNew {
		if ev.Kind != EventStart {
			return r.unexpected(ev)
		}
		vars := maps.Clone(r.f.Variables)
		if vars == nil {
			vars = map[string]string{}
		}
		maps.Copy(vars, r.st.Vars) // values the controller set before the start win
		r.st.Vars = vars
		return r.goTo(r.f.Start)
	}
	if r.st.Phase == PhaseDone {
		return r.unexpected(ev)
	}
	n := r.f.Nodes[r.st.Node]
	if n == nil {
		return fmt.Errorf("ivr: flow %s has no node %q (state from another version?)", r.f.ID, r.st.Node)
	}
	switch {
	case r.st.Phase == PhasePrompt && ev.Kind == EventPlaybackDone:
		return r.afterPrompt(n)
	case r.st.Phase == PhaseInput && (ev.Kind == EventDigits || ev.Kind == EventInputTimeout):
		return r.input(n, ev)
	case r.st.Phase == PhaseRecord && ev.Kind == EventRecordingDone:
		if n.Into != "" {
			r.st.Vars[n.Into] = ev.Ref
		}
		r.record(n.Name, n.Kind, "", "recorded", n.Next)
		return r.goTo(n.Next)
	case r.st.Phase == PhaseTransfer && ev.Kind == EventTransferDone:
		r.record(n.Name, n.Kind, "", "transferred", "")
		r.st.Phase = PhaseDone
		return nil
	case r.st.Phase == PhaseTransfer && ev.Kind == EventTransferFailed:
		r.record(n.Name, n.Kind, "", "failed", n.OnFail)
		return r.goTo(n.OnFail)
	case r.st.Phase == PhaseWebhook && ev.Kind == EventWebhookResult:
		vals, ok := extract(ev.Body, n.Extract)
		if !ok {
			r.record(n.Name, n.Kind, "", "failed", n.OnError)
			return r.goTo(n.OnError)
		}
		maps.Copy(r.st.Vars, vals)
		r.record(n.Name, n.Kind, "", "ok", n.Next)
		return r.goTo(n.Next)
	case r.st.Phase == PhaseWebhook && ev.Kind == EventWebhookFailed:
		r.record(n.Name, n.Kind, "", "failed", n.OnError)
		return r.goTo(n.OnError)
	}
	return r.unexpected(ev)
}

// goTo enters node name ("" hangs up) and moves through the nodes that do not wait, until
// one waits for an event or the flow ends.
func (r *run) goTo(name string) error {
	for {
		if name == "" {
			r.hangup()
			return nil
		}
		n := r.f.Nodes[name]
		if n == nil {
			return fmt.Errorf("ivr: flow %s has no node %q", r.f.ID, name)
		}
		if r.hops++; r.hops > MaxTransitions {
			r.record(name, n.Kind, "", ResultLoopLimit, "")
			r.hangup()
			return fmt.Errorf("%w: %d transitions, last at node %q", ErrLoop, MaxTransitions, name)
		}
		r.st.Node, r.st.Retries = name, 0
		switch n.Kind {
		case KindPlay:
			return r.play(n, *n.Prompt)
		case KindMenu, KindCollect:
			r.collect(n)
			return nil
		case KindRecord:
			if n.Prompt != nil {
				return r.play(n, *n.Prompt)
			}
			r.startRecord(n)
			return nil
		case KindTransfer:
			r.actions = append(r.actions, Transfer{Queue: n.Queue, Number: n.Number, Timeout: n.Timeout})
			r.st.Phase = PhaseTransfer
			return nil
		case KindWebhook:
			return r.webhook(n)
		case KindHangup:
			if n.Prompt != nil {
				return r.play(n, *n.Prompt)
			}
			r.record(n.Name, n.Kind, "", "hangup", "")
			r.hangup()
			return nil
		case KindSet:
			e := r.env()
			for _, a := range n.Assign {
				r.st.Vars[a.Var] = a.Value.render(e, nil)
			}
			r.record(n.Name, n.Kind, "", "set", n.Next)
			name = n.Next
		case KindBranch:
			name = n.Else
			result := "else"
			for i, c := range n.Conditions {
				if c.expr.eval(r.env()) {
					name, result = c.Then, "condition "+strconv.Itoa(i+1)
					break
				}
			}
			r.record(n.Name, n.Kind, "", result, name)
		case KindDNC:
			r.actions = append(r.actions, AddDNC{List: n.List, Number: r.ctx.Contact.Number})
			r.record(n.Name, n.Kind, "", "added", n.Next)
			name = n.Next
		default:
			return fmt.Errorf("ivr: node %q has unknown kind %q", n.Name, n.Kind)
		}
	}
}

// afterPrompt continues the current node once its prompt has played.
func (r *run) afterPrompt(n *Node) error {
	switch n.Kind {
	case KindPlay:
		r.record(n.Name, n.Kind, "", "played", n.Next)
		return r.goTo(n.Next)
	case KindRecord:
		r.startRecord(n)
	case KindHangup:
		r.record(n.Name, n.Kind, "", "hangup", "")
		r.hangup()
	default: // menu, collect: an invalid or no-input prompt was played; prompt again
		r.collect(n)
	}
	return nil
}

// input handles digits or their absence at a menu or collect node.
func (r *run) input(n *Node, ev Event) error {
	digits := ev.Digits
	if n.Kind == KindCollect && n.Terminator != "" {
		digits = strings.TrimSuffix(digits, n.Terminator)
	}
	if ev.Kind == EventInputTimeout || digits == "" {
		return r.retry(n, "timeout", "")
	}
	if n.Kind == KindMenu {
		to, ok := n.Choices[digits]
		if !ok {
			return r.retry(n, "invalid", digits)
		}
		r.record(n.Name, n.Kind, digits, "choice", to)
		return r.goTo(to)
	}
	if len(digits) < n.MinDigits || len(digits) > n.MaxDigits || (n.Pattern != nil && !n.Pattern.MatchString(digits)) {
		return r.retry(n, "invalid", digits)
	}
	r.st.Vars[n.Into] = digits
	r.record(n.Name, n.Kind, digits, "collected", n.Next)
	return r.goTo(n.Next)
}

// retry counts a failed attempt (why: "timeout" or "invalid") and prompts again, or,
// with the retries spent, leaves by the node's failure target.
func (r *run) retry(n *Node, why, digits string) error {
	r.st.Retries++
	if r.st.Retries > n.Retries {
		to, result := n.OnFail, "failed"
		if n.Kind == KindMenu {
			to, result = n.OnTimeout, "timeout_exhausted"
			if why == "invalid" {
				to, result = n.OnInvalid, "invalid_exhausted"
			}
		}
		r.record(n.Name, n.Kind, digits, result, to)
		return r.goTo(to)
	}
	r.record(n.Name, n.Kind, digits, why, n.Name)
	p := n.NoInput
	if why == "invalid" {
		p = n.Invalid
	}
	if p != nil {
		return r.play(n, *p)
	}
	r.collect(n)
	return nil
}

func (r *run) env() env { return env{vars: r.st.Vars, contact: r.ctx.Contact} }

// render fills in a prompt's variables; ok is false when media.CheckPrompt refuses the
// result (see Play).
func (r *run) render(p Prompt) (pl Play, ok bool) {
	e := r.env()
	if !p.File.IsZero() {
		pl.File = p.File.render(e, nil)
		return pl, media.CheckPrompt(pl.File) == nil
	}
	pl.TTS, pl.Voice = media.CleanTTS(p.TTS.render(e, nil)), p.Voice
	return pl, media.CheckPrompt(media.TTS(pl.Voice, pl.TTS)) == nil
}

// play plays prompt p of node n, or, when its rendered value is refused, goes on as if
// it had played.
func (r *run) play(n *Node, p Prompt) error {
	pl, ok := r.render(p)
	if !ok {
		r.record(n.Name, n.Kind, "", ResultPromptRefused, n.Name)
		return r.afterPrompt(n)
	}
	r.actions = append(r.actions, pl)
	r.st.Phase = PhasePrompt
	return nil
}

func (r *run) collect(n *Node) {
	prompt, ok := r.render(*n.Prompt)
	if !ok {
		r.record(n.Name, n.Kind, "", ResultPromptRefused, n.Name)
		prompt = Play{}
	}
	c := Collect{Prompt: prompt, MinDigits: 1, MaxDigits: 1, Timeout: n.Timeout}
	if n.Kind == KindCollect {
		c.MinDigits, c.MaxDigits, c.Terminator = n.MinDigits, n.MaxDigits, n.Terminator
	}
	r.actions = append(r.actions, c)
	r.st.Phase = PhaseInput
}

func (r *run) startRecord(n *Node) {
	r.actions = append(r.actions, Record{MaxLength: n.MaxLength, Beep: n.Beep, SilenceTimeout: n.SilenceTimeout})
	r.st.Phase = PhaseRecord
}

func (r *run) webhook(n *Node) error {
	u, err := n.URL.renderURL(r.env(), nil)
	if err != nil {
		r.record(n.Name, n.Kind, "", "failed", n.OnError)
		return r.goTo(n.OnError)
	}
	w := Webhook{Method: n.Method, URL: u, Timeout: n.Timeout}
	if n.Method == "POST" {
		body := WebhookBody{Flow: r.f.ID, Version: r.f.Version, Node: n.Name, Vars: r.st.Vars}
		c := r.ctx.Contact
		switch r.f.WebhookContact {
		case WebhookContactFull:
			body.Number, body.Name, body.Fields = c.Number, c.Name, c.Fields
		case WebhookContactNone:
		default:
			body.Number, body.Name, body.Fields = c.MaskedNumber, c.Name, c.Fields
			if body.Number == "" {
				body.Number = lastDigits(c.Number, 4)
			}
		}
		// Marshaling strings and maps of strings cannot fail.
		w.Body, _ = json.Marshal(body)
	}
	r.actions = append(r.actions, w)
	r.st.Phase = PhaseWebhook
	return nil
}

// lastDigits masks every digit of number but the last keep with '*', keeping a leading
// '+' and dropping anything else: "+8613800138000" gives "+**********8000".
func lastDigits(number string, keep int) string {
	var digits []byte
	for i := 0; i < len(number); i++ {
		if c := number[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	for i := 0; i < len(digits)-keep; i++ {
		digits[i] = '*'
	}
	if strings.HasPrefix(number, "+") {
		return "+" + string(digits)
	}
	return string(digits)
}

func (r *run) hangup() {
	r.actions = append(r.actions, Hangup{Cause: CauseNormal})
	r.st.Phase = PhaseDone
}

func (r *run) record(node string, kind Kind, digits, result, next string) {
	r.log = append(r.log, Transition{Seq: r.st.Steps, Node: node, Kind: kind, Digits: digits,
		Result: result, Next: next, At: r.ctx.Now})
	r.st.Steps++
}

// extract reads the variables of a webhook's set from its JSON answer. A path that is not
// there gives ""; strings are copied as they are, other values as JSON text. ok is false
// when the body is not JSON.
func extract(body []byte, paths map[string]string) (map[string]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	out := make(map[string]string, len(paths))
	for name, path := range paths {
		v := doc
		for _, seg := range strings.Split(path, ".") {
			switch x := v.(type) {
			case map[string]any:
				v = x[seg]
			case []any:
				i, err := strconv.Atoi(seg)
				if err != nil || i < 0 || i >= len(x) {
					v = nil
				} else {
					v = x[i]
				}
			default:
				v = nil
			}
		}
		out[name] = jsonText(v)
	}
	return out, true
}

func jsonText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v) // values decoded from JSON marshal back
	return string(b)
}
