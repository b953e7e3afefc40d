package ari_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callplane/callplane/ari"
)

func captureLines(t testing.TB, scenario string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", scenario, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, append([]byte(nil), l...))
		}
	}
	return out
}

var scenarios = []string{"originate-answer", "originate-busy", "originate-noanswer", "originate-reject404",
	"originate-app-hangup", "media-playback-record-dtmf", "bridge-two-legs"}

func TestParseCaptures(t *testing.T) {
	counts := map[string]int{}
	for _, sc := range scenarios {
		for i, line := range captureLines(t, sc) {
			ev, err := ari.ParseEvent(line)
			if err != nil {
				t.Fatalf("%s line %d: %v", sc, i+1, err)
			}
			b := ev.Base()
			if b.Type == "" || b.Application != "dialer" || b.Timestamp.IsZero() || b.AsteriskID == "" {
				t.Errorf("%s line %d: base %+v", sc, i+1, *b)
			}
			counts[b.Type]++
			switch e := ev.(type) {
			case *ari.Dial:
				if e.Peer.ID == "" || e.Peer.CreationTime.IsZero() {
					t.Errorf("%s: Dial without peer: %+v", sc, e)
				}
			case *ari.ChannelDestroyed:
				if e.Channel.ID == "" || e.CauseTxt == "" {
					t.Errorf("%s: %+v", sc, e)
				}
			case *ari.ChannelEnteredBridge:
				if e.Bridge.ID != "br-demo-1" || e.Channel == nil || e.Bridge.BridgeType != "mixing" {
					t.Errorf("%s: %+v", sc, e)
				}
			case *ari.RecordingFinished:
				if e.Recording.Name != "rec-demo-1" || e.Recording.Duration != 4 || e.Recording.TargetURI != "channel:dialer-long-1" {
					t.Errorf("%s: %+v", sc, e)
				}
			case *ari.Other:
				if e.Type != "ChannelVarset" && e.Type != "ChannelLeftBridge" && e.Type != "BridgeDestroyed" {
					t.Errorf("%s: unexpected untyped event %s", sc, e.Type)
				}
			}
		}
	}
	for _, typ := range []string{"Dial", "ChannelStateChange", "StasisStart", "StasisEnd", "ChannelDtmfReceived",
		"ChannelHangupRequest", "ChannelDestroyed", "PlaybackStarted", "PlaybackFinished", "RecordingStarted",
		"RecordingFinished", "ChannelEnteredBridge", "ChannelVarset"} {
		if counts[typ] == 0 {
			t.Errorf("no %s parsed from the captures", typ)
		}
	}
}

func TestParseSpecifics(t *testing.T) {
	lines := captureLines(t, "originate-busy")
	ev, err := ari.ParseEvent(lines[len(lines)-1])
	if err != nil {
		t.Fatal(err)
	}
	d, ok := ev.(*ari.ChannelDestroyed)
	if !ok || d.Cause != 17 || d.TechCause != 486 || d.CauseTxt != "User busy" || d.Channel.State != "Ringing" {
		t.Fatalf("busy ChannelDestroyed: %#v", ev)
	}
	want := time.Date(2026, 11, 24, 2, 22, 10, 803e6, time.UTC)
	if !d.Timestamp.Equal(want) {
		t.Errorf("timestamp %v, want %v", d.Timestamp, want)
	}
	lines = captureLines(t, "originate-app-hangup")
	for _, l := range lines {
		ev, _ := ari.ParseEvent(l)
		if h, ok := ev.(*ari.ChannelHangupRequest); ok && (h.Cause != 32 || !h.Soft) {
			t.Errorf("app hang-up request: %+v", h)
		}
	}
	for _, bad := range []string{``, `{}`, `{"type":""}`, `[1]`, `{"type":"Dial","peer":7}`} {
		if _, err := ari.ParseEvent([]byte(bad)); err == nil {
			t.Errorf("ParseEvent(%q): no error", bad)
		}
	}
}

func TestTimeRoundTrip(t *testing.T) {
	var tm ari.Time
	if err := tm.UnmarshalJSON([]byte(`"2026-11-24T02:17:38.765+0000"`)); err != nil {
		t.Fatal(err)
	}
	b, _ := tm.MarshalJSON()
	if string(b) != `"2026-11-24T02:17:38.765+0000"` {
		t.Errorf("round trip: %s", b)
	}
}

func FuzzParseEvent(f *testing.F) {
	for _, sc := range scenarios {
		for _, l := range captureLines(f, sc) {
			f.Add(l)
		}
	}
	f.Add([]byte(`{"type":"ChannelDestroyed","timestamp":"bad"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ari.ParseEvent(data)
		if err != nil {
			if ev != nil {
				t.Fatal("event with error")
			}
			return
		}
		if ev.Base().Type == "" {
			t.Fatal("parsed event without type")
		}
	})
}
