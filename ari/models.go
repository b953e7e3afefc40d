package ari

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// TimeLayout is how Asterisk writes timestamps: milliseconds and an offset without a colon
// (2026-11-24T02:17:38.765+0000), so not RFC 3339.
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// Time is an ARI timestamp.
type Time struct{ time.Time }

// UnmarshalJSON accepts Asterisk's layout, RFC 3339 as a fallback, "" and null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("ari time: %w", err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(TimeLayout, s)
	if err != nil {
		v, err = time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("ari time %q: %w", s, err)
		}
	}
	t.Time = v
	return nil
}

// MarshalJSON writes Asterisk's layout.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.Format(TimeLayout))
}

// CallerID is ARI's CallerID model.
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// DialplanCEP is a channel's dialplan location.
type DialplanCEP struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// Channel is ARI's Channel model (the fields callplane reads).
type Channel struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	ProtocolID   string            `json:"protocol_id"`
	Caller       CallerID          `json:"caller"`
	Connected    CallerID          `json:"connected"`
	AccountCode  string            `json:"accountcode"`
	Dialplan     DialplanCEP       `json:"dialplan"`
	CreationTime Time              `json:"creationtime"`
	Language     string            `json:"language"`
	ChannelVars  map[string]string `json:"channelvars,omitempty"`
}

// Channel states as Asterisk names them (ast_state2str).
const (
	StateDown    = "Down"
	StateRing    = "Ring"
	StateRinging = "Ringing"
	StateUp      = "Up"
	StateBusy    = "Busy"
)

// Bridge is ARI's Bridge model.
type Bridge struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`
	BridgeClass  string   `json:"bridge_class"`
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	CreationTime Time     `json:"creationtime"`
	VideoMode    string   `json:"video_mode"`
}

// Playback is ARI's Playback model. State is queued, playing, paused, continuing, done or
// failed.
type Playback struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language"`
	State        string `json:"state"`
}

// LiveRecording is ARI's LiveRecording model. Durations are whole seconds. State is queued,
// recording, paused, done, failed or canceled.
type LiveRecording struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	TargetURI       string `json:"target_uri"`
	State           string `json:"state"`
	Duration        int    `json:"duration,omitempty"`
	TalkingDuration int    `json:"talking_duration,omitempty"`
	SilenceDuration int    `json:"silence_duration,omitempty"`
	Cause           string `json:"cause,omitempty"`
}

// StoredRecording is ARI's StoredRecording model.
type StoredRecording struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}
