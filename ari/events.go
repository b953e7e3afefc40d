package ari

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Event is one message of the ARI event WebSocket, parsed by ParseEvent into one of the
// typed structs below (or *Other for the types callplane does not read).
type Event interface {
	Base() *EventBase
}

// EventBase holds the fields every ARI event carries.
type EventBase struct {
	Type        string `json:"type"`
	Application string `json:"application"`
	Timestamp   Time   `json:"timestamp"`
	AsteriskID  string `json:"asterisk_id,omitempty"`
}

// Base returns the common fields.
func (e *EventBase) Base() *EventBase { return e }

// StasisStart: a channel entered the application (for an originated channel: on answer).
type StasisStart struct {
	EventBase
	Args           []string `json:"args"`
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
}

// StasisEnd: a channel left the application.
type StasisEnd struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelStateChange: a channel's state changed (Ringing, Up...).
type ChannelStateChange struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDtmfReceived: the far end pressed a key.
type ChannelDtmfReceived struct {
	EventBase
	Digit      string  `json:"digit"`
	DurationMs int     `json:"duration_ms"`
	Channel    Channel `json:"channel"`
}

// ChannelHangupRequest: a hang-up was requested; Soft is set when the application asked.
type ChannelHangupRequest struct {
	EventBase
	Cause     int     `json:"cause"`
	TechCause int     `json:"tech_cause"`
	Soft      bool    `json:"soft"`
	Channel   Channel `json:"channel"`
}

// ChannelDestroyed: the channel is gone; Cause is Q.850 (0 after a far-end hang-up of an
// answered originated channel), TechCause the SIP status when there was one.
type ChannelDestroyed struct {
	EventBase
	Cause     int     `json:"cause"`
	CauseTxt  string  `json:"cause_txt"`
	TechCause int     `json:"tech_cause"`
	Channel   Channel `json:"channel"`
}

// Dial reports dialing progress of Peer: "" (started), RINGING, PROGRESS, ANSWER, BUSY,
// NOANSWER, CONGESTION, CANCEL...
type Dial struct {
	EventBase
	Caller     *Channel `json:"caller,omitempty"`
	Peer       Channel  `json:"peer"`
	Forward    string   `json:"forward"`
	Forwarded  *Channel `json:"forwarded,omitempty"`
	DialString string   `json:"dialstring"`
	DialStatus string   `json:"dialstatus"`
}

// PlaybackStarted: a playback began.
type PlaybackStarted struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackFinished: a playback ended; Playback.State is "done" or "failed".
type PlaybackFinished struct {
	EventBase
	Playback Playback `json:"playback"`
}

// RecordingStarted: a live recording began.
type RecordingStarted struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFinished: a live recording ended and was stored.
type RecordingFinished struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFailed: a live recording failed.
type RecordingFailed struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// ChannelEnteredBridge: a channel joined a bridge.
type ChannelEnteredBridge struct {
	EventBase
	Bridge  Bridge   `json:"bridge"`
	Channel *Channel `json:"channel,omitempty"`
}

// ChannelLeftBridge: a channel left a bridge.
type ChannelLeftBridge struct {
	EventBase
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

// Other is any event type callplane does not read (ChannelVarset, ChannelDialplan,
// BridgeDestroyed...): only the common fields are parsed.
type Other struct {
	EventBase
}

// ErrNoType marks a message without a "type".
var ErrNoType = errors.New("ari event without type")

// ParseEvent parses one WebSocket message.
func ParseEvent(data []byte) (Event, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("parse ari event: %w", err)
	}
	var ev Event
	switch head.Type {
	case "":
		return nil, ErrNoType
	case "StasisStart":
		ev = new(StasisStart)
	case "StasisEnd":
		ev = new(StasisEnd)
	case "ChannelStateChange":
		ev = new(ChannelStateChange)
	case "ChannelDtmfReceived":
		ev = new(ChannelDtmfReceived)
	case "ChannelHangupRequest":
		ev = new(ChannelHangupRequest)
	case "ChannelDestroyed":
		ev = new(ChannelDestroyed)
	case "Dial":
		ev = new(Dial)
	case "PlaybackStarted":
		ev = new(PlaybackStarted)
	case "PlaybackFinished":
		ev = new(PlaybackFinished)
	case "RecordingStarted":
		ev = new(RecordingStarted)
	case "RecordingFinished":
		ev = new(RecordingFinished)
	case "RecordingFailed":
		ev = new(RecordingFailed)
	case "ChannelEnteredBridge":
		ev = new(ChannelEnteredBridge)
	case "ChannelLeftBridge":
		ev = new(ChannelLeftBridge)
	default:
		// ChannelVarset and friends: noise for callplane; skip their payload.
		var o Other
		if err := json.Unmarshal(data, &o.EventBase); err != nil {
			return nil, fmt.Errorf("parse ari %s event: %w", head.Type, err)
		}
		return &o, nil
	}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("parse ari %s event: %w", head.Type, err)
	}
	return ev, nil
}
