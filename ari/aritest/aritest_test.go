package aritest_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/media/sim"
)

const capDir = "../testdata"

type obj = map[string]any

// loadEvents reads a captured events.jsonl.
func loadEvents(t *testing.T, scenario string) []obj {
	t.Helper()
	f, err := os.Open(filepath.Join(capDir, scenario, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []obj
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var o obj
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

type capturedHTTP struct {
	Request string          `json:"request"`
	Status  int             `json:"status"`
	Body    json.RawMessage `json:"body"`
}

func loadHTTP(t *testing.T, scenario, file string) capturedHTTP {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(capDir, scenario, file))
	if err != nil {
		t.Fatal(err)
	}
	var c capturedHTTP
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// wsTap is a raw event WebSocket client that keeps every message.
type wsTap struct {
	mu     sync.Mutex
	evs    []obj
	notify chan struct{}
	conn   *websocket.Conn
	done   chan struct{}
}

func authHeader(user, pass string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	return h
}

func tap(t *testing.T, srv *aritest.Server, app string) *wsTap {
	t.Helper()
	u := strings.Replace(srv.URL(), "http://", "ws://", 1) + "/ari/events?app=" + app + "&subscribeAll=false"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: authHeader("asterisk", "asterisk")})
	if err != nil {
		t.Fatal(err)
	}
	w := &wsTap{notify: make(chan struct{}, 1), conn: conn, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var o obj
			if err := json.Unmarshal(b, &o); err != nil {
				panic(err)
			}
			w.mu.Lock()
			w.evs = append(w.evs, o)
			w.mu.Unlock()
			select {
			case w.notify <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { conn.CloseNow(); <-w.done })
	return w
}

// waitFor waits for an event matching pred and returns it.
func (w *wsTap) waitFor(t *testing.T, what string, pred func(obj) bool) obj {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		w.mu.Lock()
		for _, e := range w.evs {
			if pred(e) {
				w.mu.Unlock()
				return e
			}
		}
		w.mu.Unlock()
		select {
		case <-w.notify:
		case <-deadline:
			t.Fatalf("no %s event", what)
		}
	}
}

func (w *wsTap) all() []obj {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.evs)
}

func isType(typ, channel string) func(obj) bool {
	return func(e obj) bool { return e["type"] == typ && (channel == "" || chanOf(e) == channel) }
}

func chanOf(e obj) string {
	for _, k := range []string{"channel", "peer"} {
		if c, ok := e[k].(obj); ok {
			return c["id"].(string)
		}
	}
	for _, k := range []string{"playback", "recording"} {
		if c, ok := e[k].(obj); ok {
			return strings.TrimPrefix(c["target_uri"].(string), "channel:")
		}
	}
	return ""
}

// sig is what must match between the capture and the fake for one event.
func sig(e obj) string {
	s := e["type"].(string)
	switch s {
	case "Dial":
		s += " " + e["dialstatus"].(string)
	case "ChannelStateChange":
		s += " " + e["channel"].(obj)["state"].(string)
	case "ChannelHangupRequest", "ChannelDestroyed":
		s += fmt.Sprintf(" cause=%v tech=%v soft=%v txt=%v", e["cause"], e["tech_cause"], e["soft"], e["cause_txt"])
	case "PlaybackStarted", "PlaybackFinished":
		s += " " + e["playback"].(obj)["state"].(string) + " " + e["playback"].(obj)["media_uri"].(string)
	case "RecordingStarted", "RecordingFinished":
		s += " " + e["recording"].(obj)["state"].(string)
	case "ChannelEnteredBridge", "ChannelLeftBridge":
		s += fmt.Sprint(" ", e["bridge"].(obj)["channels"])
	case "ChannelDtmfReceived":
		s += " " + e["digit"].(string)
	case "StasisStart":
		s += fmt.Sprint(" ", e["args"])
	}
	return s
}

// sigs lists the signatures of one channel's events, without ChannelVarset noise, from the
// first event matching from (when set).
func sigs(evs []obj, channel, from string) []string {
	var out []string
	for _, e := range evs {
		if e["type"] == "ChannelVarset" || chanOf(e) != channel {
			continue
		}
		s := sig(e)
		if from != "" && len(out) == 0 && s != from {
			continue
		}
		out = append(out, s)
	}
	return out
}

func keys(o obj) []string {
	var ks []string
	for k := range o {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// sameShape compares key sets of two JSON objects, recursing into nested objects.
func sameShape(t *testing.T, where string, want, got obj) {
	t.Helper()
	if !slices.Equal(keys(want), keys(got)) {
		t.Errorf("%s: keys %v, capture has %v", where, keys(got), keys(want))
		return
	}
	for k, v := range want {
		if wo, ok := v.(obj); ok {
			if gob, ok := got[k].(obj); ok {
				sameShape(t, where+"."+k, wo, gob)
			} else {
				t.Errorf("%s.%s: not an object: %v", where, k, got[k])
			}
		}
	}
}

// compareShapes checks that each event type the fake sent has the capture's fields.
func compareShapes(t *testing.T, capture, fake []obj) {
	t.Helper()
	byType := map[string]obj{}
	for _, e := range capture {
		typ := e["type"].(string)
		if _, ok := byType[typ]; !ok {
			byType[typ] = e
		}
	}
	seen := map[string]bool{}
	for _, e := range fake {
		typ := e["type"].(string)
		if seen[typ] {
			continue
		}
		if c, ok := byType[typ]; ok {
			seen[typ] = true
			if typ == "ChannelHangupRequest" || typ == "ChannelDestroyed" {
				continue // optional fields vary by cause; compared by signature
			}
			sameShape(t, typ, c, e)
		}
	}
}

type rest struct {
	t    *testing.T
	base string
}

func (r rest) call(method, pathQuery string, body any) (int, json.RawMessage) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, r.base+pathQuery, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	req.SetBasicAuth("asterisk", "asterisk")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// replay issues a captured request and checks status and body shape against the capture.
func (r rest) replay(c capturedHTTP) json.RawMessage {
	r.t.Helper()
	method, pq, _ := strings.Cut(c.Request, " ")
	pq = strings.TrimPrefix(pq, "/ari")
	// Escape the query as a client would (captures show it readable).
	if p, q, ok := strings.Cut(pq, "?"); ok {
		vals := url.Values{}
		for _, kv := range strings.Split(q, "&") {
			k, v, _ := strings.Cut(kv, "=")
			v, _ = url.QueryUnescape(v)
			vals.Add(k, v)
		}
		pq = p + "?" + vals.Encode()
	}
	status, body := r.call(method, pq, nil)
	if status != c.Status {
		r.t.Fatalf("%s: status %d (%s), capture %d", c.Request, status, body, c.Status)
	}
	if string(c.Body) == "null" {
		if len(strings.TrimSpace(string(body))) != 0 {
			r.t.Errorf("%s: body %s, capture has none", c.Request, body)
		}
		return body
	}
	var want, got obj
	if err := json.Unmarshal(c.Body, &want); err != nil {
		r.t.Fatal(err)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		r.t.Fatalf("%s: body %s: %v", c.Request, body, err)
	}
	sameShape(r.t, c.Request, want, got)
	if msg, ok := want["message"]; ok && got["message"] != msg {
		r.t.Errorf("%s: message %v, capture %v", c.Request, got["message"], msg)
	}
	if msg, ok := want["error"]; ok && got["error"] != msg {
		r.t.Errorf("%s: error %v, capture %v", c.Request, got["error"], msg)
	}
	return body
}

func newFake(t *testing.T, opts aritest.Options) (*aritest.Server, rest) {
	t.Helper()
	srv := aritest.New(opts)
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, rest{t: t, base: srv.URL() + "/ari"}
}

const ms = time.Millisecond

func TestCapturedSequences(t *testing.T) {
	long := sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: time.Hour}
	cases := []struct {
		scenario, channel, number string
		plan                      sim.Plan
		from                      string // compare from this signature on
		drive                     func(t *testing.T, srv *aritest.Server, r rest, w *wsTap)
	}{
		{"originate-answer", "dialer-ans-1", "1000", long, "", func(t *testing.T, srv *aritest.Server, r rest, w *wsTap) {
			w.waitFor(t, "StasisStart", isType("StasisStart", "dialer-ans-1"))
			if err := srv.PressDigits("dialer-ans-1", "1"); err != nil {
				t.Fatal(err)
			}
			if err := srv.HangupFar("dialer-ans-1"); err != nil {
				t.Fatal(err)
			}
		}},
		{"originate-busy", "dialer-busy-1", "2000", sim.Plan{Result: sim.Busy, Ring: 10 * ms}, "", nil},
		{"originate-noanswer", "dialer-noans-1", "3000", sim.Plan{Result: sim.NoAnswer, Ring: 20 * ms}, "", nil},
		{"originate-reject404", "dialer-rej-1", "5000", sim.Plan{Result: sim.Invalid, Ring: 10 * ms}, "", nil},
		{"originate-app-hangup", "dialer-apphup-1", "1005", long, "ChannelStateChange Up",
			func(t *testing.T, srv *aritest.Server, r rest, w *wsTap) {
				w.waitFor(t, "StasisStart", isType("StasisStart", "dialer-apphup-1"))
				r.replay(loadHTTP(t, "originate-app-hangup", "http-02-hangup.json"))
			}},
		{"media-playback-record-dtmf", "dialer-long-1", "4000", long, "",
			func(t *testing.T, srv *aritest.Server, r rest, w *wsTap) {
				const id = "dialer-long-1"
				w.waitFor(t, "StasisStart", isType("StasisStart", id))
				r.replay(loadHTTP(t, "media-playback-record-dtmf", "http-02-get-channel.json"))
				r.replay(loadHTTP(t, "media-playback-record-dtmf", "http-05-play.json"))
				w.waitFor(t, "PlaybackFinished", isType("PlaybackFinished", id))
				r.replay(loadHTTP(t, "media-playback-record-dtmf", "http-06-play-missing.json"))
				w.waitFor(t, "PlaybackFinished failed", func(e obj) bool {
					return e["type"] == "PlaybackFinished" && e["playback"].(obj)["state"] == "failed"
				})
				r.replay(loadHTTP(t, "media-playback-record-dtmf", "http-07-record.json"))
				srv.PressDigits(id, "1")
				if s, b := r.call("POST", "/recordings/live/rec-demo-1/stop", nil); s != 204 {
					t.Fatalf("stop recording: %d %s", s, b)
				}
				r.replay(loadHTTP(t, "media-playback-record-dtmf", "http-08-stored-recording.json"))
				srv.PressDigits(id, "2")
				r.replay(loadHTTP(t, "media-playback-record-dtmf", "http-09-send-dtmf.json"))
				r.replay(loadHTTP(t, "media-playback-record-dtmf", "http-10-hangup.json"))
			}},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			srv, r := newFake(t, aritest.Options{MissingSounds: []string{"no-such-sound-file"},
				PlaybackDuration: 20 * ms})
			srv.Script(c.number, c.plan)
			w := tap(t, srv, "dialer")
			orig := loadHTTP(t, c.scenario, "http-01-originate.json")
			body := r.replay(orig)
			var ch obj
			json.Unmarshal(body, &ch)
			if ch["id"] != c.channel || ch["state"] != "Down" {
				t.Errorf("originate answered %s", body)
			}
			if c.drive != nil {
				c.drive(t, srv, r, w)
			}
			w.waitFor(t, "ChannelDestroyed", isType("ChannelDestroyed", c.channel))
			capture := loadEvents(t, c.scenario)
			want, got := sigs(capture, c.channel, c.from), sigs(w.all(), c.channel, c.from)
			if !slices.Equal(want, got) {
				t.Errorf("event sequence differs\ncapture: %q\nfake:    %q", want, got)
				for _, e := range w.all() {
					t.Log(sig(e), chanOf(e))
				}
			}
			compareShapes(t, capture, w.all())
			if st := srv.Stats(); st.ActiveCalls != 0 || st.Originates[c.number] != 1 || st.TotalOriginates != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestCapturedBridge(t *testing.T) {
	srv, r := newFake(t, aritest.Options{})
	long := sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: time.Hour}
	srv.Script("4001", long)
	srv.Script("1002", long)
	w := tap(t, srv, "dialer")
	const sc = "bridge-two-legs"
	r.replay(loadHTTP(t, sc, "http-01-create-bridge.json"))
	r.replay(loadHTTP(t, sc, "http-02-originate-customer.json"))
	w.waitFor(t, "StasisStart", isType("StasisStart", "dialer-cust-1"))
	r.replay(loadHTTP(t, sc, "http-03-originate-agent.json"))
	w.waitFor(t, "StasisStart", isType("StasisStart", "dialer-agent-1"))
	r.replay(loadHTTP(t, sc, "http-04-add-channels.json"))
	if err := srv.HangupFar("dialer-agent-1"); err != nil {
		t.Fatal(err)
	}
	r.replay(loadHTTP(t, sc, "http-05-hangup-customer.json"))
	r.replay(loadHTTP(t, sc, "http-06-destroy-bridge.json"))
	w.waitFor(t, "BridgeDestroyed", isType("BridgeDestroyed", ""))
	capture := loadEvents(t, sc)
	for _, id := range []string{"dialer-cust-1", "dialer-agent-1"} {
		want, got := sigs(capture, id, "ChannelStateChange Up"), sigs(w.all(), id, "ChannelStateChange Up")
		if !slices.Equal(want, got) {
			t.Errorf("%s: event sequence differs\ncapture: %q\nfake:    %q", id, want, got)
		}
	}
	compareShapes(t, capture, w.all())
}

func TestRESTErrors(t *testing.T) {
	srv, r := newFake(t, aritest.Options{Endpoints: []string{"carrier-a"}, MaxCalls: 1})
	srv.Script("100", sim.Plan{Result: sim.Answer, Ring: time.Hour})
	const sc = "originate-bad-endpoint"
	r.replay(loadHTTP(t, sc, "http-01-originate-unknown-endpoint.json"))
	r.replay(loadHTTP(t, sc, "http-02-originate-unknown-tech.json"))
	r.replay(loadHTTP(t, sc, "http-03-originate-missing-endpoint.json"))

	check := func(method, pq string, wantStatus int, wantBody string) {
		t.Helper()
		status, body := r.call(method, pq, nil)
		if status != wantStatus || wantBody != "" && strings.TrimSpace(string(body)) != wantBody {
			t.Errorf("%s %s: %d %s, want %d %s", method, pq, status, body, wantStatus, wantBody)
		}
	}
	check("GET", "/channels/nope", 404, `{"message":"Channel not found"}`)
	check("DELETE", "/channels/nope", 404, `{"message":"Channel not found"}`)
	check("POST", "/channels/nope/play?media=sound:x", 404, `{"message":"Channel not found"}`)
	check("POST", "/channels?endpoint=PJSIP/100@carrier-a&app=dialer&channelId=c1", 200, "")
	check("POST", "/channels?endpoint=PJSIP/100@carrier-a&app=dialer&channelId=c1", 409,
		`{"message":"Channel with given unique ID already exists"}`)
	check("POST", "/channels?endpoint=PJSIP/101@carrier-a&app=dialer&channelId=c2", 500, `{"error":"Allocation failed"}`)
	check("POST", "/channels/c1/play?media=sound:x", 409, `{"message":"Channel not in Stasis application"}`)
	check("POST", "/channels?endpoint=PJSIP&app=dialer", 400, `{"message":"Invalid endpoint specified"}`)
	check("POST", "/channels?endpoint=PJSIP/1@carrier-a", 400, `{"message":"Application or extension must be specified"}`)
	check("DELETE", "/channels/c1?reason=bogus", 400, `{"message":"Invalid reason for hangup reason provided"}`)
	check("POST", "/bridges/nope/addChannel?channel=c1", 404, `{"message":"Bridge not found"}`)
	check("POST", "/recordings/live/nope/stop", 404, `{"message":"Recording not found"}`)
	check("GET", "/recordings/stored/nope", 404, `{"message":"Recording not found"}`)
	check("GET", "/playbacks/nope", 404, `{"message":"Playback not found"}`)
	check("DELETE", "/channels/c1?reason_code=16", 204, "")

	// Authentication: none, wrong, api_key.
	resp, err := http.Get(srv.URL() + "/ari/channels")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || strings.TrimSpace(string(b)) != `{"message":"Authentication required"}` ||
		resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no auth: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	resp, err = http.Get(srv.URL() + "/ari/channels?api_key=asterisk:asterisk")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("api_key: %d", resp.StatusCode)
	}

	st := srv.Stats()
	// Counted once the endpoint names a number: 1000 twice from the captures, 100, 100, 101.
	if st.TotalOriginates != 5 || st.Originates["100"] != 2 || st.Originates["1000"] != 2 || st.ActiveCalls != 0 {
		t.Errorf("stats %+v", st)
	}
	resp, err = http.Get(srv.URL() + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Originates map[string]int `json:"originates"`
		Total      int            `json:"total_originates"`
		Active     int            `json:"active_calls"`
	}
	json.NewDecoder(resp.Body).Decode(&js)
	resp.Body.Close()
	if js.Total != 5 || js.Originates["100"] != 2 || js.Active != 0 {
		t.Errorf("GET /stats: %+v", js)
	}
}

func TestCallsOutliveConnections(t *testing.T) {
	srv, r := newFake(t, aritest.Options{})
	srv.Script("100", sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: time.Hour})
	w1 := tap(t, srv, "dialer")
	r.call("POST", "/channels?endpoint=PJSIP/100@x&app=dialer&channelId=c1", nil)
	w1.waitFor(t, "StasisStart", isType("StasisStart", "c1"))
	srv.DropConnections()
	<-w1.done
	status, body := r.call("GET", "/channels", nil)
	if status != 200 || !strings.Contains(string(body), `"id":"c1"`) || !strings.Contains(string(body), `"state":"Up"`) {
		t.Fatalf("after drop: %d %s", status, body)
	}
	w2 := tap(t, srv, "dialer")
	srv.PressDigits("c1", "5")
	r.call("DELETE", "/channels/c1", nil)
	w2.waitFor(t, "ChannelDestroyed", isType("ChannelDestroyed", "c1"))
	want := []string{"ChannelDtmfReceived 5", "ChannelHangupRequest cause=32 tech=<nil> soft=true txt=<nil>",
		"StasisEnd", "ChannelDestroyed cause=16 tech=<nil> soft=<nil> txt=Normal Clearing"}
	if got := sigs(w2.all(), "c1", ""); !slices.Equal(got, want) {
		t.Errorf("later client got %q, want %q", got, want)
	}
}

func TestHold(t *testing.T) {
	srv, r := newFake(t, aritest.Options{})
	srv.Hold(true)
	done := make(chan int)
	go func() {
		s, _ := r.call("GET", "/channels", nil)
		done <- s
	}()
	select {
	case s := <-done:
		t.Fatalf("held node answered %d", s)
	case <-time.After(50 * ms):
	}
	srv.Hold(false)
	if s := <-done; s != 200 {
		t.Fatalf("after release: %d", s)
	}
}

func TestModelDrivenCalls(t *testing.T) {
	// The zero Options use sim.Default; scaled time makes its calls end quickly.
	srv, r := newFake(t, aritest.Options{TimeScale: 1000, Seed: 7})
	w := tap(t, srv, "app")
	for i := range 20 {
		r.call("POST", fmt.Sprintf("/channels?endpoint=PJSIP/%d@x&app=app&channelId=m%d&timeout=30", 8613800000+i, i), nil)
	}
	for i := range 20 {
		w.waitFor(t, "ChannelDestroyed", isType("ChannelDestroyed", fmt.Sprintf("m%d", i)))
	}
	if st := srv.Stats(); st.ActiveCalls != 0 || st.TotalOriginates != 20 {
		t.Errorf("stats %+v", st)
	}
}
