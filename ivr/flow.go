package ivr

import (
	"regexp"
	"slices"
	"time"
)

// Kind names a node kind.
type Kind string

const (
	KindPlay     Kind = "play"     // play a prompt, then next
	KindMenu     Kind = "menu"     // play a prompt and wait for one digit
	KindCollect  Kind = "collect"  // play a prompt and gather several digits into a variable
	KindBranch   Kind = "branch"   // go to the first node whose condition holds
	KindSet      Kind = "set"      // set variables from templates
	KindRecord   Kind = "record"   // record the caller (voicemail)
	KindTransfer Kind = "transfer" // hand the call to an agent queue or an external number
	KindWebhook  Kind = "webhook"  // call an HTTP endpoint and copy fields of its answer
	KindDNC      Kind = "dnc"      // put the number on a do-not-call list
	KindHangup   Kind = "hangup"   // optionally play a prompt, then hang up
)

// Kinds lists every node kind, in the order the documentation uses.
var Kinds = []Kind{KindPlay, KindMenu, KindCollect, KindBranch, KindSet, KindRecord,
	KindTransfer, KindWebhook, KindDNC, KindHangup}

// Defaults and limits the loader applies.
const (
	DefaultInputTimeout    = 5 * time.Second  // menu and collect timeout
	DefaultRetries         = 2                // menu and collect retries after the first try
	DefaultTerminator      = "#"              // collect terminator
	DefaultRecordLength    = 60 * time.Second // record max_length
	MaxRecordLength        = 10 * time.Minute // record max_length upper bound
	DefaultTransferTimeout = 30 * time.Second // transfer timeout
	DefaultWebhookTimeout  = 3 * time.Second  // webhook timeout
	MaxWebhookTimeout      = 30 * time.Second // webhook timeout upper bound
	MaxDigits              = 128              // collect max_digits upper bound (FreeSWITCH's)
	MaxRetries             = 10               // menu and collect retries upper bound
)

// Size limits of a flow file. A flow beyond one of them is refused with that one problem,
// before it is validated, so that a hostile file costs little (validation is linear in
// the size of the flow within them). The largest shipped flow is a few KiB.
const (
	MaxFlowBytes = 1 << 20 // bytes of YAML
	MaxNodes     = 2000    // nodes of a flow
	// MaxValues bounds the YAML values (scalars, mappings, lists) of a flow, each alias
	// counted as a copy of what it names, so that aliases cannot multiply the work.
	MaxValues = 1 << 18
	// MaxProblems bounds the problems reported for one file; the rest are summed up in one
	// more problem.
	MaxProblems = 200
)

// What a POST webhook sends of the contact (the flow's webhook_contact).
const (
	// WebhookContactMasked, the default: the number shows only its country code and last
	// 4 digits (Contact.MaskedNumber, "+86*******8000"); the name and the custom fields
	// are sent as they are, since flows post them on purpose (a name to greet, an order id).
	WebhookContactMasked = "masked"
	WebhookContactFull   = "full" // the number, the name and the fields as they are
	WebhookContactNone   = "none" // no number, name or fields
)

// DNC lists a dnc node may add to.
const (
	DNCCampaign = "campaign"
	DNCGlobal   = "global"
)

// Flow is one loaded and validated IVR flow. It is immutable once returned by Load or
// Parse: share it freely, do not modify it.
type Flow struct {
	// File is the name the flow was parsed under (the path given to Load).
	File        string
	ID          string
	Version     int
	Description string
	// Variables are the defaults of vars.X, set when a call starts.
	Variables map[string]string
	// Start names the first node.
	Start string
	// WebhookContact is what webhook bodies carry of the contact: WebhookContactMasked
	// (the default), WebhookContactFull or WebhookContactNone.
	WebhookContact string
	// Nodes by name.
	Nodes map[string]*Node

	order []string // node names in file order
}

// NodeNames returns the node names in the order the file lists them.
func (f *Flow) NodeNames() []string { return slices.Clone(f.order) }

// Speaking lists, in file order, the nodes with a text-to-speech prompt: a flow with any
// can run only on media servers that synthesize speech (FreeSWITCH, not Asterisk).
func (f *Flow) Speaking() []string {
	var out []string
	for _, name := range f.order {
		n := f.Nodes[name]
		for _, p := range []*Prompt{n.Prompt, n.Invalid, n.NoInput} {
			if p != nil && !p.TTS.IsZero() {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// Node is one step of a flow. Which fields apply depends on Kind; the loader rejects the
// keys that do not apply and fills in the defaults. A target that is "" means hang up.
type Node struct {
	Name string
	Kind Kind
	// Line and Col locate the node's name in its file.
	Line, Col int

	// Prompt: play, menu, collect (required); record, hangup (optional).
	Prompt *Prompt
	// Next: play, collect, set, record, webhook, dnc.
	Next string
	// Timeout: menu and collect (waiting for input), transfer, webhook.
	Timeout time.Duration

	// Menu and collect: failed attempts allowed after the first, and the prompts played
	// before prompting again after a bad entry (Invalid) or none (NoInput); both optional.
	Retries int
	Invalid *Prompt
	NoInput *Prompt

	// Menu: digit ("0"-"9", "*", "#") -> node; where to go when the retries are spent.
	Choices   map[string]string
	OnTimeout string
	OnInvalid string

	// Collect: digit bounds, the key ending the entry ("" for none), an optional pattern
	// the whole entry must match, the variable receiving it.
	MinDigits, MaxDigits int
	Terminator           string
	Pattern              *regexp.Regexp
	// Into: collect (the digits), record (the recording's reference).
	Into string
	// OnFail: collect (retries spent), transfer (not connected).
	OnFail string

	// Branch: the first condition that holds picks the node, else Else.
	Conditions []Condition
	Else       string

	// Set: assignments in file order.
	Assign []Assignment

	// Record: length bound, beep before recording, end after this much silence (0: never).
	MaxLength      time.Duration
	Beep           bool
	SilenceTimeout time.Duration

	// Transfer: exactly one of an agent queue name and an external E.164 number.
	Queue  string
	Number string

	// Webhook: GET or POST to URL; Extract maps a variable to a dotted JSON path of the
	// answer ("result.segment"); OnError is taken on a failure or an answer that is not JSON.
	Method  string
	URL     Template
	Extract map[string]string
	OnError string

	// DNC: DNCCampaign or DNCGlobal.
	List string

	edges []edge // every target, in file order, for the validator and Mermaid
}

// edge is one possible transition out of a node. to == "" is a hang-up.
type edge struct {
	to        string
	label     string // "", a digit, "timeout", "invalid", "fail", "error", a condition, "else"
	line, col int    // where the target is written; the node's position when implicit
}

// Prompt is what the caller hears: an audio file or text to speech. Both may contain
// variables ({{contact.name}}).
//
// The loader holds both to media.CheckPrompt's grammar. A file without variables must be
// a prompt CheckPrompt accepts. A file with variables is a sound file name: its fixed
// parts use only letters, digits, '_', '-', '.' and '/', and it must be a valid name with
// every variable standing for a word ("greetings/{{contact.fields.lang}}.wav"); the value
// it renders to is checked again each time it is played. Text to speak must fit the tts
// grammar as written (no '{', '}', '$', '\' or control characters), and the voice too;
// variables filled into it are made to fit with media.CleanTTS.
type Prompt struct {
	File  Template
	TTS   Template
	Voice string // TTS voice; "" for the media server's default
}

// Condition is one case of a branch node.
type Condition struct {
	If   string // the expression as written
	Then string

	expr expr
}

// Assignment is one variable a set node sets.
type Assignment struct {
	Var   string
	Value Template
}
