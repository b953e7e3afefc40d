package ari_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callplane/callplane/ari"
	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

const ms = time.Millisecond

// collector gathers a driver's events by call.
type collector struct {
	mu     sync.Mutex
	byCall map[string][]media.Event
	notify chan struct{}
	done   chan struct{}
}

func collect(d *ari.Driver) *collector {
	c := &collector{byCall: map[string][]media.Event{}, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ev := range d.Events() {
			c.mu.Lock()
			c.byCall[ev.CallID] = append(c.byCall[ev.CallID], ev)
			c.mu.Unlock()
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}
	}()
	return c
}

func (c *collector) get(id string) []media.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.byCall[id])
}

// await waits until the call has an event of kind k and returns it.
func (c *collector) await(t *testing.T, id string, k media.EventKind) media.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, ev := range c.get(id) {
			if ev.Kind == k {
				return ev
			}
		}
		select {
		case <-c.notify:
		case <-c.done:
			t.Fatalf("%s: events closed before %s: %v", id, k, kindsOf(c.get(id)))
		case <-deadline:
			t.Fatalf("%s: no %s: %v", id, k, kindsOf(c.get(id)))
		}
	}
}

func kindsOf(evs []media.Event) []media.EventKind {
	var out []media.EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

// ---- replaying the captures through the driver ----

// replayNode serves a capture: originates answer with the captured channel, and the event
// WebSocket sends the captured events once release is called.
type replayNode struct {
	srv      *httptest.Server
	channels map[string]json.RawMessage
	events   [][]byte
	release  chan struct{}
	stop     chan struct{}
}

func newReplayNode(t *testing.T, scenario string) *replayNode {
	t.Helper()
	n := &replayNode{channels: map[string]json.RawMessage{}, events: captureLines(t, scenario),
		release: make(chan struct{}), stop: make(chan struct{})}
	files, _ := filepath.Glob(filepath.Join("testdata", scenario, "http-*originate*.json"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var c struct{ Body json.RawMessage }
		json.Unmarshal(b, &c)
		var ch struct{ ID string }
		json.Unmarshal(c.Body, &ch)
		n.channels[ch.ID] = c.Body
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ari/channels", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("[]")) })
	mux.HandleFunc("POST /ari/channels", func(w http.ResponseWriter, r *http.Request) {
		w.Write(n.channels[r.URL.Query().Get("channelId")])
	})
	mux.HandleFunc("POST /ari/channels/{id}/record", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		w.Write([]byte(`{"name":"` + r.URL.Query().Get("name") + `","format":"wav","state":"queued"}`))
	})
	mux.HandleFunc("GET /ari/events", func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		ctx := conn.CloseRead(context.Background())
		select {
		case <-n.release:
		case <-n.stop:
			return
		case <-ctx.Done():
			return
		}
		for _, e := range n.events {
			if conn.Write(ctx, websocket.MessageText, e) != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-n.stop:
		}
	})
	n.srv = httptest.NewServer(mux)
	t.Cleanup(n.srv.Close)
	t.Cleanup(func() { close(n.stop) })
	return n
}

func TestReplayCaptures(t *testing.T) {
	type call struct {
		id    string
		kinds []media.EventKind
		check func(t *testing.T, evs []media.Event)
	}
	R, A, H := media.EventRinging, media.EventAnswered, media.EventHangup
	hangupIs := func(want media.Outcome, cause, sip int) func(*testing.T, []media.Event) {
		return func(t *testing.T, evs []media.Event) {
			h := evs[len(evs)-1].Hangup
			if h.Outcome() != want || h.Cause.Code != cause || h.SIPCode != sip || h.NodeLost {
				t.Errorf("hangup %+v: want %s cause %d sip %d", *h, want, cause, sip)
			}
		}
	}
	cases := []struct {
		scenario string
		record   string // call Record on the first call before the events flow
		calls    []call
	}{
		{"originate-answer", "", []call{{"dialer-ans-1", []media.EventKind{R, A, media.EventDTMF, H},
			func(t *testing.T, evs []media.Event) {
				hangupIs(media.OutcomeAnswered, 16, 0)(t, evs)
				// Up at 02:20:05.530, destroyed at 02:20:16.046.
				if h := evs[3].Hangup; h.Talk != 10516*ms || !h.Ringing {
					t.Errorf("talk %v ringing %v", h.Talk, h.Ringing)
				}
				if evs[2].Digit != "1" {
					t.Errorf("digit %q", evs[2].Digit)
				}
			}}}},
		{"originate-busy", "", []call{{"dialer-busy-1", []media.EventKind{R, H}, hangupIs(media.OutcomeBusy, 17, 486)}}},
		{"originate-noanswer", "", []call{{"dialer-noans-1", []media.EventKind{R, H}, hangupIs(media.OutcomeNoAnswer, 19, 480)}}},
		{"originate-reject404", "", []call{{"dialer-rej-1", []media.EventKind{R, H}, hangupIs(media.OutcomeInvalidNumber, 1, 404)}}},
		{"originate-app-hangup", "", []call{{"dialer-apphup-1", []media.EventKind{R, A, H}, hangupIs(media.OutcomeAnswered, 16, 0)}}},
		{"media-playback-record-dtmf", "rec-demo-1.wav", []call{{"dialer-long-1", []media.EventKind{R, A,
			media.EventPlaybackStarted, media.EventPlaybackFinished, media.EventPlaybackStarted, media.EventPlaybackFinished,
			media.EventDTMF, media.EventRecordingFinished, media.EventDTMF, H},
			func(t *testing.T, evs []media.Event) {
				hangupIs(media.OutcomeAnswered, 16, 0)(t, evs)
				if evs[2].File != "hello-world" || evs[5].File != "no-such-sound-file" {
					t.Errorf("playback files %q %q", evs[2].File, evs[5].File)
				}
				if r := evs[7]; r.File != "rec-demo-1.wav" || r.Duration != 4*time.Second {
					t.Errorf("recording %q %v", r.File, r.Duration)
				}
			}}}},
		{"bridge-two-legs", "", []call{
			{"dialer-cust-1", []media.EventKind{R, A, media.EventBridged, H}, hangupIs(media.OutcomeAnswered, 16, 0)},
			{"dialer-agent-1", []media.EventKind{R, A, media.EventBridged, H}, hangupIs(media.OutcomeAnswered, 16, 0)},
		}},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			checkNoLeaks(t)
			n := newReplayNode(t, c.scenario)
			d := ari.New(ari.Config{Name: "replay", URL: n.srv.URL, App: "dialer", DialTemplate: "PJSIP/{number}@sipp"}, nil, testLogger())
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			col := collect(d)
			for _, cl := range c.calls {
				if err := d.Originate(ctx, media.OriginateRequest{CallID: cl.id, Number: "+1000"}); err != nil {
					t.Fatal(err)
				}
			}
			if c.record != "" {
				if err := d.Record(ctx, c.calls[0].id, c.record); err != nil {
					t.Fatal(err)
				}
			}
			close(n.release)
			for _, cl := range c.calls {
				col.await(t, cl.id, H)
				evs := col.get(cl.id)
				if !slices.Equal(kindsOf(evs), cl.kinds) {
					t.Fatalf("%s: events %v, want %v", cl.id, kindsOf(evs), cl.kinds)
				}
				for _, ev := range evs {
					if ev.Node != "replay" || ev.At.IsZero() {
						t.Errorf("event %+v: want node and time", ev)
					}
				}
				cl.check(t, evs)
			}
		})
	}
}

// ---- driver behaviour against the fake ----

func TestOriginateErrors(t *testing.T) {
	checkNoLeaks(t)
	srv := startFake(t, aritest.Options{MaxCalls: 1})
	srv.Script("8613800000001", sim.Plan{Result: sim.NoAnswer, Ring: time.Hour})
	ctx := context.Background()

	t.Run("NotStarted", func(t *testing.T) {
		d := ari.New(ari.Config{URL: srv.URL()}, nil, nil)
		defer d.Close()
		err := d.Originate(ctx, media.OriginateRequest{CallID: "x", Number: "+1"})
		if !errors.Is(err, media.ErrNotSent) {
			t.Fatalf("not connected: %v", err)
		}
	})
	t.Run("UnknownTechnology", func(t *testing.T) {
		d := startDriver(t, srv, ari.Config{DialTemplate: "FOO/{number}"})
		err := d.Originate(ctx, media.OriginateRequest{CallID: "bad-tech", Number: "+8613800000002"})
		// Refused by the driver's grammar before any request: not sent, and not to be
		// placed on another node either.
		if !errors.Is(err, media.ErrInvalid) || errors.Is(err, media.ErrNotSent) || ari.StatusOf(err) != 0 {
			t.Fatalf("unknown tech: %v", err)
		}
	})
	t.Run("Capacity", func(t *testing.T) {
		d := startDriver(t, srv, ari.Config{})
		col := collect(d)
		if err := d.Originate(ctx, media.OriginateRequest{CallID: "cap-1", Number: "+8613800000001"}); err != nil {
			t.Fatal(err)
		}
		err := d.Originate(ctx, media.OriginateRequest{CallID: "cap-2", Number: "+8613800000001"})
		if !errors.Is(err, ari.ErrRefused) || ari.StatusOf(err) != 500 {
			t.Fatalf("beyond capacity: %v", err)
		}
		// The refused id is not tracked: the same id may be placed again once there is room.
		if err := d.Hangup(ctx, "cap-1", ""); err != nil {
			t.Fatal(err)
		}
		col.await(t, "cap-1", media.EventHangup)
		if err := d.Originate(ctx, media.OriginateRequest{CallID: "cap-2", Number: "+8613800000001"}); err != nil {
			t.Fatalf("after room: %v", err)
		}
		d.Hangup(ctx, "cap-2", "")
		col.await(t, "cap-2", media.EventHangup)
	})
	t.Run("ConnectionRefused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		c, err := ari.NewClient("http://"+addr, "u", "p", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Originate(ctx, ari.OriginateParams{Endpoint: "PJSIP/1@x", App: "a"})
		if !errors.Is(err, ari.ErrRequestNotSent) {
			t.Fatalf("refused connection: %v", err)
		}
	})
	t.Run("AmbiguousTimeout", func(t *testing.T) {
		srv.Script("8613800000003", sim.Plan{Result: sim.Busy, Ring: 10 * ms})
		d := startDriver(t, srv, ari.Config{RequestTimeout: 100 * ms})
		col := collect(d)
		srv.Hold(true)
		err := d.Originate(ctx, media.OriginateRequest{CallID: "amb-1", Number: "+8613800000003"})
		if err == nil || errors.Is(err, media.ErrNotSent) || errors.Is(err, ari.ErrRefused) {
			srv.Hold(false)
			t.Fatalf("timeout after sending: %v", err)
		}
		if err := d.Originate(ctx, media.OriginateRequest{CallID: "amb-1", Number: "+8613800000003"}); err == nil ||
			!strings.Contains(err.Error(), "already live") {
			t.Errorf("ambiguous call not tracked: %v", err)
		}
		srv.Hold(false)
		// The stalled node acted on the request after all: the tracked call reports its end.
		h := col.await(t, "amb-1", media.EventHangup).Hangup
		if h.Outcome() != media.OutcomeBusy {
			t.Errorf("ambiguous call ended %+v", *h)
		}
	})
}

func TestHangupCausesAndCancel(t *testing.T) {
	checkNoLeaks(t)
	srv := startFake(t, aritest.Options{})
	srv.Script("1", sim.Plan{Result: sim.Answer, Ring: 5 * ms, Talk: time.Hour})
	srv.Script("2", sim.Plan{Result: sim.NoAnswer, Ring: time.Hour})
	d := startDriver(t, srv, ari.Config{})
	col := collect(d)
	ctx := context.Background()
	for _, id := range []string{"up", "ringing"} {
		num := map[string]string{"up": "+1", "ringing": "+2"}[id]
		if err := d.Originate(ctx, media.OriginateRequest{CallID: id, Number: num}); err != nil {
			t.Fatal(err)
		}
	}
	col.await(t, "up", media.EventAnswered)
	col.await(t, "ringing", media.EventRinging)
	if err := d.Hangup(ctx, "up", "USER_BUSY"); err != nil {
		t.Fatal(err)
	}
	if err := d.Hangup(ctx, "ringing", ""); err != nil {
		t.Fatal(err)
	}
	if h := col.await(t, "up", media.EventHangup).Hangup; h.Cause.Code != 17 || h.Outcome() != media.OutcomeAnswered {
		t.Errorf("answered call hung up USER_BUSY: %+v", *h)
	}
	if h := col.await(t, "ringing", media.EventHangup).Hangup; h.Cause.Code != media.CauseOriginatorCancel ||
		h.Outcome() != media.OutcomeCanceled || !h.Ringing {
		t.Errorf("ringing call hung up by us: %+v", *h)
	}
	reqs := strings.Join(srv.Requests(), "\n")
	for _, want := range []string{"DELETE /ari/channels/up?reason_code=17", "DELETE /ari/channels/ringing?reason_code=16",
		"channelId=up", "app=callplane", "endpoint=PJSIP%2F1%40carrier-a", "timeout=30"} {
		if !strings.Contains(reqs, want) {
			t.Errorf("requests lack %q:\n%s", want, reqs)
		}
	}
	for _, op := range []func() error{
		func() error { return d.Hangup(ctx, "nope", "") },
		func() error { return d.Play(ctx, "nope", "hello") },
		func() error { return d.Record(ctx, "nope", "r.wav") },
		func() error { return d.StopRecord(ctx, "nope", "r.wav") },
		func() error { return d.Bridge(ctx, "nope", "nope2") },
	} {
		if err := op(); !errors.Is(err, media.ErrUnknownCall) {
			t.Errorf("operation on unknown call: %v", err)
		}
	}
}

func TestPlayAndLiveCalls(t *testing.T) {
	checkNoLeaks(t)
	srv := startFake(t, aritest.Options{PlaybackDuration: 10 * ms})
	srv.Script("1", sim.Plan{Result: sim.Answer, Ring: 5 * ms, Talk: time.Hour})
	d := startDriver(t, srv, ari.Config{})
	col := collect(d)
	ctx := context.Background()
	if err := d.Originate(ctx, media.OriginateRequest{CallID: "p1", Number: "+1", Vars: map[string]string{"lead_id": "7"}}); err != nil {
		t.Fatal(err)
	}
	col.await(t, "p1", media.EventAnswered)
	ids, err := d.LiveCalls(ctx)
	if err != nil || !slices.Equal(ids, []string{"p1"}) {
		t.Fatalf("live calls %v %v", ids, err)
	}
	if err := d.Play(ctx, "p1", "prompts/hello.wav"); err != nil {
		t.Fatal(err)
	}
	if ev := col.await(t, "p1", media.EventPlaybackFinished); ev.File != "prompts/hello.wav" {
		t.Errorf("playback file %q", ev.File)
	}
	if !strings.Contains(strings.Join(srv.Requests(), "\n"), "media=sound%3Aprompts%2Fhello") {
		t.Errorf("play request: %v", srv.Requests())
	}
	d.Hangup(ctx, "p1", "")
	col.await(t, "p1", media.EventHangup)
}

func TestNodeLostAfterGrace(t *testing.T) {
	checkNoLeaks(t)
	srv := startFake(t, aritest.Options{})
	srv.Script("1", sim.Plan{Result: sim.Answer, Ring: 5 * ms, Talk: time.Hour})
	d := startDriver(t, srv, ari.Config{LostGrace: 50 * ms, RequestTimeout: 100 * ms})
	col := collect(d)
	ctx := context.Background()
	if err := d.Originate(ctx, media.OriginateRequest{CallID: "g1", Number: "+1"}); err != nil {
		t.Fatal(err)
	}
	col.await(t, "g1", media.EventAnswered)
	srv.Hold(true) // reconnects stall
	srv.DropConnections()
	h := col.await(t, "g1", media.EventHangup).Hangup
	if !h.NodeLost || !h.Answered || h.Outcome() != media.OutcomeAnswered {
		t.Errorf("lost call: %+v", *h)
	}
	if d.Up() {
		t.Error("Up while the node is held")
	}
	if err := d.Originate(ctx, media.OriginateRequest{CallID: "g2", Number: "+1"}); !errors.Is(err, media.ErrNotSent) {
		t.Errorf("originate while down: %v", err)
	}
	srv.Hold(false)
	waitFor(t, d.Up)
	// The call still lives on the node but is no longer ours: nothing more is delivered.
	d.Hangup(ctx, "g1", "")
	// The node sent g1's end before answering the DELETE; a later call's event on the same
	// stream proves the driver has read past it.
	if err := d.Originate(ctx, media.OriginateRequest{CallID: "g3", Number: "+1"}); err != nil {
		t.Fatal(err)
	}
	col.await(t, "g3", media.EventAnswered)
	if got := kindsOf(col.get("g1")); !slices.Equal(got, []media.EventKind{media.EventRinging, media.EventAnswered, media.EventHangup}) {
		t.Errorf("events after NodeLost: %v", got)
	}
	d.Hangup(ctx, "g3", "")
	col.await(t, "g3", media.EventHangup)
}

func TestReconcileAfterReconnect(t *testing.T) {
	checkNoLeaks(t)
	srv := startFake(t, aritest.Options{})
	srv.Script("1", sim.Plan{Result: sim.Answer, Ring: 5 * ms, Talk: time.Hour})
	d := startDriver(t, srv, ari.Config{RequestTimeout: 100 * ms})
	col := collect(d)
	ctx := context.Background()
	for _, id := range []string{"gone", "stays"} {
		if err := d.Originate(ctx, media.OriginateRequest{CallID: id, Number: "+1"}); err != nil {
			t.Fatal(err)
		}
		col.await(t, id, media.EventAnswered)
	}
	srv.Hold(true)
	srv.DropConnections()
	waitFor(t, func() bool { return !d.Up() })
	if err := srv.HangupFar("gone"); err != nil { // its events reach no one
		t.Fatal(err)
	}
	srv.Hold(false)
	h := col.await(t, "gone", media.EventHangup).Hangup
	if !h.NodeLost || !h.Answered {
		t.Errorf("call gone from the node: %+v", *h)
	}
	waitFor(t, d.Up)
	if err := srv.HangupFar("stays"); err != nil {
		t.Fatal(err)
	}
	if h := col.await(t, "stays", media.EventHangup).Hangup; h.NodeLost || h.Outcome() != media.OutcomeAnswered {
		t.Errorf("call that stayed: %+v", *h)
	}
}

func TestCloseClosesEvents(t *testing.T) {
	checkNoLeaks(t)
	srv := startFake(t, aritest.Options{TimeScale: 100})
	d := startDriver(t, srv, ari.Config{})
	ctx := context.Background()
	for i := range 20 {
		d.Originate(ctx, media.OriginateRequest{CallID: "c" + string(rune('a'+i)), Number: "+8613800000000"})
	}
	// Nobody reads Events: Close must still return and close the channel.
	d.Close()
	for range d.Events() {
	}
	if d.Up() {
		t.Error("Up after Close")
	}
	if err := d.Originate(ctx, media.OriginateRequest{CallID: "late", Number: "+1"}); !errors.Is(err, media.ErrNotSent) {
		t.Errorf("originate after close: %v", err)
	}
}

func TestStartWithoutNode(t *testing.T) {
	checkNoLeaks(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	d := ari.New(ari.Config{URL: "http://" + addr, ReconnectMin: 5 * ms}, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*ms)
	defer cancel()
	if err := d.Start(ctx); err == nil {
		t.Fatal("Start succeeded without a node")
	}
	d.Close()
	if err := ari.New(ari.Config{}, nil, nil).Start(ctx); err == nil {
		t.Error("Start without URL succeeded")
	}
	if err := (ari.Config{URL: "http://x", DialTemplate: "PJSIP/123"}).Validate(); err == nil {
		t.Error("template without {number} accepted")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(2 * ms)
	}
}

// A wrong ARI password says so, in one line.
func TestWrongPasswordSaysSo(t *testing.T) {
	srv := startFake(t, aritest.Options{})
	c, err := ari.NewClient(srv.URL(), "asterisk", "wrong", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Connect(context.Background(), "callplane")
	if ari.StatusOf(err) != 401 || !strings.Contains(err.Error(), `refused ARI user "asterisk" or its password`) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("wrong password: %v", err)
	}
}
