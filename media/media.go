package media

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Kind names a media-server family.
type Kind string

const (
	KindFreeSWITCH Kind = "freeswitch"
	KindAsterisk   Kind = "asterisk"
)

// Clock is the source of time for every component; tests inject a fake.
type Clock interface {
	Now() time.Time
}

// SystemClock reads the wall clock.
type SystemClock struct{}

// Now returns the current wall-clock time.
func (SystemClock) Now() time.Time { return time.Now() }

// OriginateRequest asks a node to place one outbound call.
type OriginateRequest struct {
	// CallID is chosen by callplane (a UUID) and becomes the channel id on the node
	// (FreeSWITCH origination_uuid, ARI channelId).
	CallID string
	// Number is the destination in E.164 with the leading '+', dialed through the node's
	// dial template.
	Number string
	// Endpoint, when set, is dialed as it is instead of Number (an agent's phone:
	// "user/1001" on FreeSWITCH, "PJSIP/1001" on Asterisk).
	Endpoint string
	// Templates, when set, replace the node's dial template by the template of its kind
	// (the trunk chosen for the call); a node of a kind without one is not used.
	Templates map[Kind]string
	// CallerIDNumber and CallerIDName are presented to the callee when set.
	CallerIDNumber string
	CallerIDName   string
	// RingTimeout bounds the ringing phase; zero means the driver's default (30 s).
	RingTimeout time.Duration
	// Vars are extra channel variables (e.g. campaign and contact ids) that the node
	// carries on the channel; keys are [a-z0-9_].
	Vars map[string]string
}

// Beep is the prompt for a short beep (before a voicemail recording); each driver plays
// its server's own tone for it.
const Beep = "tone:beep"

// TTS writes a text-to-speech prompt for Driver.Play: "tts:<voice>:<text>". FreeSWITCH
// speaks it with mod_flite; Asterisk has no speech synthesis of its own, so flows meant for
// Asterisk use recorded files.
func TTS(voice, text string) string { return "tts:" + voice + ":" + text }

// ParseTTS splits a prompt written by TTS.
func ParseTTS(file string) (voice, text string, ok bool) {
	rest, ok := strings.CutPrefix(file, "tts:")
	if !ok {
		return "", "", false
	}
	voice, text, ok = strings.Cut(rest, ":")
	return voice, text, ok
}

// Template returns the dial template for a node of kind: the request's (its trunk's), or
// the node's own.
func (r OriginateRequest) Template(kind Kind, own string) string {
	if t, ok := r.Templates[kind]; ok {
		return t
	}
	return own
}

// DialString expands a node's dial template: {number} is the E.164 number without '+',
// {e164} with it.
func DialString(template, e164 string) string {
	digits := strings.TrimPrefix(e164, "+")
	return strings.NewReplacer("{number}", digits, "{e164}", "+"+digits).Replace(template)
}

// Driver is one connection to one media node. Implementations: eslbridge (FreeSWITCH)
// and ari (Asterisk).
type Driver interface {
	// Originate places the call. A nil error means the node accepted the request; the
	// outcome arrives as events. An error wrapping ErrNotSent means the request never
	// reached the node and may be placed elsewhere; any other error means it may have
	// reached the callee and must not be retried blindly.
	Originate(ctx context.Context, req OriginateRequest) error
	// Hangup ends the call with a Q.850 cause name (NORMAL_CLEARING when empty).
	Hangup(ctx context.Context, callID, cause string) error
	// Play plays an audio file to the call (the broadcast prompt); EventPlaybackFinished
	// follows when it ends.
	Play(ctx context.Context, callID, file string) error
	// Record starts recording the call to path (a file on the node); Stop ends it and
	// EventRecordingFinished follows with the path and duration.
	Record(ctx context.Context, callID, path string) error
	StopRecord(ctx context.Context, callID, path string) error
	// Bridge connects two of callplane's answered calls on the same node; EventBridged
	// follows on both.
	Bridge(ctx context.Context, callA, callB string) error
	// LiveCalls lists the ids of callplane's calls that exist on the node now; used to
	// reconcile after a reconnect or a controller restart.
	LiveCalls(ctx context.Context) ([]string, error)
	// Events delivers this node's call events: in order per call, terminal events never
	// dropped. The channel closes after Close.
	Events() <-chan Event
	// Up reports whether the driver is connected and authenticated.
	Up() bool
	// Close disconnects and stops reconnecting.
	Close() error
}

// ErrNotSent marks an originate that never reached the node (not connected, refused
// before dialing): the lead was not dialed and may be placed elsewhere.
var ErrNotSent = errors.New("originate not sent")

// ErrUnknownCall is returned for operations on a call the node does not have.
var ErrUnknownCall = errors.New("unknown call")

// EventKind names a normalized call event.
type EventKind string

const (
	EventRinging           EventKind = "ringing"     // the far end is alerting (180)
	EventEarlyMedia        EventKind = "early_media" // 183 with media; NOT answered
	EventAnswered          EventKind = "answered"
	EventDTMF              EventKind = "dtmf"
	EventPlaybackStarted   EventKind = "playback_started"
	EventPlaybackFinished  EventKind = "playback_finished"
	EventRecordingFinished EventKind = "recording_finished"
	EventBridged           EventKind = "bridged"
	EventHangup            EventKind = "hangup" // terminal: the last event of a call
)

// Event is one normalized call event.
type Event struct {
	Kind   EventKind
	CallID string
	Node   string
	At     time.Time
	// Digit is set for EventDTMF.
	Digit string
	// File is the played or recorded file for playback and recording events.
	File string
	// Duration of a finished recording.
	Duration time.Duration
	// Hangup is set for EventHangup.
	Hangup *Hangup
}

// Hangup describes how a call ended, normalized across media servers.
type Hangup struct {
	// Cause is the Q.850 cause (FreeSWITCH Hangup-Cause, Asterisk cause code).
	Cause Cause
	// SIPCode is the final SIP status when the node reports one (486, 603, 480...), or 0.
	SIPCode int
	// Answered is true when the call was answered before it ended.
	Answered bool
	// Ringing is true when the far end was alerting at some point.
	Ringing bool
	// Talk is the answered duration (billsec).
	Talk time.Duration
	// NodeLost is set when the node connection was lost and the call's end was not seen.
	NodeLost bool
}

// Outcome of one call attempt.
func (h Hangup) Outcome() Outcome { return Classify(h) }
