package aritest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/callplane/callplane/media/sim"
)

// Options configure the fake node; the zero value works.
type Options struct {
	// Username and Password of the single ARI user (default "asterisk"/"asterisk").
	Username string
	Password string
	// App, when set, is the only Stasis application accepted (on originate and on the
	// event WebSocket); others get 400. Empty accepts any.
	App string
	// Model decides the callees' behaviour (zero: sim.Default()).
	Model sim.Model
	// TimeScale divides every duration (ring, talk, playback, recording limits, the
	// originate timeout); timestamps and reported durations stay in the callee's time.
	// Default 1.
	TimeScale float64
	// Seed makes the model's draws reproducible.
	Seed uint64
	// MaxCalls caps live channels; beyond it originate fails as Asterisk does when it
	// cannot allocate a channel: 500 {"error":"Allocation failed"}. 0 = unlimited.
	MaxCalls int
	// Press, when set, is how callees answer IVR prompts: after the first playback ends, a
	// callee presses what the model draws (numbers given to PressAfterPrompt follow their
	// script instead).
	Press *sim.PressModel
	// DownGateways are PJSIP endpoints (the part after '@') whose carrier is down: every
	// call through them fails at once (sim.GatewayDown: 503, cause 41).
	DownGateways []string
	// Endpoints are the PJSIP endpoints (the part after '@', or the whole resource) the
	// node knows; others fail with 500 "Allocation failed". Empty = any.
	Endpoints []string
	// MissingSounds are sound names whose playback fails (PlaybackFinished "failed").
	MissingSounds []string
	// PlaybackDuration is how long every sound plays (default 2 s, scaled).
	PlaybackDuration time.Duration
	// Logger receives the fake's own log (default: discard).
	Logger *slog.Logger
}

// Stats counts what the fake received.
type Stats struct {
	// Originates per destination number (digits, without '+').
	Originates      map[string]int `json:"originates"`
	TotalOriginates int            `json:"total_originates"`
	ActiveCalls     int            `json:"active_calls"`
}

// Server is a fake Asterisk speaking ARI (REST + event WebSocket) on loopback. Its calls
// follow media/sim and outlive WebSocket connections, as on a real node.
type Server struct {
	opts       Options
	log        *slog.Logger
	scale      float64
	asteriskID string
	epoch      time.Time
	endpoints  map[string]bool
	missing    map[string]bool

	mu        sync.Mutex
	rng       *rand.Rand
	channels  map[string]*channel
	bridges   map[string]*bridge
	playbacks map[string]*playback
	live      map[string]*liveRecording
	stored    map[string]string // recording name -> format
	scripts   map[string]sim.Plan
	press     sim.PressModel // Options.Press, plus the numbers given to PressAfterPrompt
	clients   map[*wsClient]struct{}
	holdCh    chan struct{} // non-nil while held; closed on release
	stats     Stats
	requests  []string
	sentDTMF  map[string]string
	seq       int
	closed    bool

	held    atomic.Bool
	closing chan struct{}
	wg      sync.WaitGroup
	ln      net.Listener
	srv     *http.Server
	url     string
}

// New returns a fake node; Listen starts it.
func New(opts Options) *Server {
	if opts.Username == "" && opts.Password == "" {
		opts.Username, opts.Password = "asterisk", "asterisk"
	}
	if opts.Model.AnswerRate == 0 && opts.Model.RingMedian == 0 && opts.Model.TalkMedian == 0 &&
		opts.Model.Overrides == nil {
		opts.Model = sim.Default()
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.PlaybackDuration <= 0 {
		opts.PlaybackDuration = 2 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		opts:       opts,
		log:        log.With("fake", "aritest"),
		scale:      opts.TimeScale,
		asteriskID: "02:fc:00:00:00:01",
		epoch:      time.Now(),
		endpoints:  map[string]bool{},
		missing:    map[string]bool{},
		rng:        rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		channels:   map[string]*channel{},
		bridges:    map[string]*bridge{},
		playbacks:  map[string]*playback{},
		live:       map[string]*liveRecording{},
		stored:     map[string]string{},
		scripts:    map[string]sim.Plan{},
		press:      pressModel(opts.Press),
		clients:    map[*wsClient]struct{}{},
		sentDTMF:   map[string]string{},
		stats:      Stats{Originates: map[string]int{}},
		closing:    make(chan struct{}),
	}
	for _, e := range opts.Endpoints {
		s.endpoints[e] = true
	}
	for _, m := range opts.MissingSounds {
		s.missing[m] = true
	}
	return s
}

// Listen binds addr ("127.0.0.1:0" for a free port) and serves.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("aritest listen %s: %w", addr, err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	return nil
}

// URL is the node's base URL (http://127.0.0.1:port), as ari.Config.URL wants it.
func (s *Server) URL() string { return s.url }

// Close stops the node: calls end without events, connections close, goroutines exit.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	if s.holdCh != nil {
		close(s.holdCh)
		s.holdCh = nil
	}
	for c := range s.clients {
		if c.conn != nil {
			c.conn.CloseNow()
		}
	}
	s.mu.Unlock()
	var err error
	if s.srv != nil {
		err = s.srv.Close()
	}
	s.wg.Wait()
	return err
}

// vnow is the callee's time: the wall clock sped up by TimeScale since New.
func (s *Server) vnow() time.Time {
	return s.epoch.Add(time.Duration(float64(time.Since(s.epoch)) * s.scale))
}

func (s *Server) ts() string { return formatTime(s.vnow()) }

func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.scale)
}

// Script makes every later call to number (digits, '+' optional) follow plan.
func (s *Server) Script(number string, plan sim.Plan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[strings.TrimPrefix(number, "+")] = plan
}

// Hold stops (true) or resumes (false) answering: REST requests wait and events queue,
// while calls go on.
func (s *Server) Hold(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.holdCh == nil && !s.closed:
		s.holdCh = make(chan struct{})
		s.held.Store(true)
	case !on && s.holdCh != nil:
		close(s.holdCh)
		s.holdCh = nil
		s.held.Store(false)
		for c := range s.clients {
			c.wake()
		}
	}
}

// waitUnheld blocks while the node is held; false when done closes first.
func (s *Server) waitUnheld(done <-chan struct{}) bool {
	for s.held.Load() {
		s.mu.Lock()
		ch := s.holdCh
		s.mu.Unlock()
		if ch == nil {
			return true
		}
		select {
		case <-ch:
		case <-done:
			return false
		case <-s.closing:
			return false
		}
	}
	return true
}

// DropConnections closes every event WebSocket from the server side, as a broken network
// path would; calls go on.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		if c.conn != nil {
			c.conn.CloseNow()
		}
		delete(s.clients, c)
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Originates: make(map[string]int, len(s.stats.Originates)),
		TotalOriginates: s.stats.TotalOriginates, ActiveCalls: len(s.channels)}
	for k, v := range s.stats.Originates {
		st.Originates[k] = v
	}
	return st
}

// StatsHandler serves GET /stats as JSON.
func (s *Server) StatsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	})
}

// Requests returns the REST requests received so far ("POST /ari/channels?..."), in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// SentDTMF returns the digits the application sent to a channel.
func (s *Server) SentDTMF(channelID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sentDTMF[channelID]
}

// ChannelIDs lists the live channels.
func (s *Server) ChannelIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.channels))
	for id := range s.channels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// HangupFar makes the far end of an answered or ringing channel hang up now.
func (s *Server) HangupFar(channelID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channelID]
	if ch == nil {
		return fmt.Errorf("aritest: no channel %s", channelID)
	}
	if ch.state == "Up" {
		s.remoteHangupLocked(ch)
	} else {
		s.failLocked(ch, 16, 0, "NOANSWER")
	}
	return nil
}

// PressAfterPrompt makes the callee of every later call to number (digits, '+' optional)
// press digits once, just after the first playback to them finishes (an IVR menu).
func (s *Server) PressAfterPrompt(number, digits string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.press.Script == nil {
		s.press.Script = map[string]string{}
	}
	s.press.Script[strings.TrimPrefix(number, "+")] = digits
}

// pressAfterPromptLocked presses ch's scripted digits, or what the press model draws,
// once. s.mu held.
func (s *Server) pressAfterPromptLocked(ch *channel) {
	if ch.pressed || ch.state != "Up" {
		return
	}
	ch.pressed = true
	digits, after, ok := s.press.Press(s.rng, ch.number)
	if !ok || digits == "" {
		return
	}
	press := func() {
		for _, d := range digits {
			s.emitLocked(ch.app, &event{Type: "ChannelDtmfReceived", Digit: string(d), DurationMs: 100, Channel: ch.json()})
		}
	}
	if after <= 0 {
		press()
		return
	}
	id := ch.id
	time.AfterFunc(s.scaled(after), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c := s.channels[id]; c == ch && !s.closed && ch.state == "Up" {
			press()
		}
	})
}

// PressDigits makes the answered callee of channelID press digits, in order.
func (s *Server) PressDigits(channelID, digits string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channelID]
	if ch == nil {
		return fmt.Errorf("aritest: no channel %s", channelID)
	}
	if ch.state != "Up" {
		return fmt.Errorf("aritest: channel %s is %s, not Up", channelID, ch.state)
	}
	for _, d := range digits {
		s.emitLocked(ch.app, &event{Type: "ChannelDtmfReceived", Digit: string(d), DurationMs: 100, Channel: ch.json()})
	}
	return nil
}

// ---- HTTP plumbing ----

type apiError struct {
	status int
	msg    string
	alloc  bool // {"error":"Allocation failed"}
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func errf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

var errAlloc = &apiError{status: 500, msg: "Allocation failed", alloc: true}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeErr(w http.ResponseWriter, e *apiError) {
	if e.alloc {
		writeJSON(w, e.status, map[string]string{"error": e.msg})
		return
	}
	writeJSON(w, e.status, map[string]string{"message": e.msg})
}

// route adapts a handler that returns (status, body, error).
func route(h func(r *http.Request) (int, any, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, body, err := h(r)
		if err != nil {
			writeErr(w, err)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	if u, p, ok := r.BasicAuth(); ok {
		return u == s.opts.Username && p == s.opts.Password
	}
	if k := r.URL.Query().Get("api_key"); k != "" {
		u, p, _ := strings.Cut(k, ":")
		return u == s.opts.Username && p == s.opts.Password
	}
	return false
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ari/events", s.handleEvents)
	mux.HandleFunc("POST /ari/channels", route(s.originate))
	mux.HandleFunc("GET /ari/channels", route(s.listChannels))
	mux.HandleFunc("GET /ari/channels/{id}", route(s.getChannel))
	mux.HandleFunc("DELETE /ari/channels/{id}", route(s.hangup))
	mux.HandleFunc("GET /ari/channels/{id}/variable", route(s.getVariable))
	mux.HandleFunc("POST /ari/channels/{id}/answer", route(s.answer))
	mux.HandleFunc("POST /ari/channels/{id}/play", route(s.play))
	mux.HandleFunc("POST /ari/channels/{id}/record", route(s.record))
	mux.HandleFunc("POST /ari/channels/{id}/dtmf", route(s.dtmf))
	mux.HandleFunc("POST /ari/bridges", route(s.createBridge))
	mux.HandleFunc("GET /ari/bridges/{id}", route(s.getBridge))
	mux.HandleFunc("DELETE /ari/bridges/{id}", route(s.destroyBridge))
	mux.HandleFunc("POST /ari/bridges/{id}/addChannel", route(s.addChannel))
	mux.HandleFunc("POST /ari/bridges/{id}/removeChannel", route(s.removeChannel))
	mux.HandleFunc("GET /ari/playbacks/{id}", route(s.getPlayback))
	mux.HandleFunc("DELETE /ari/playbacks/{id}", route(s.stopPlayback))
	mux.HandleFunc("GET /ari/recordings/live/{name...}", route(s.getLive))
	mux.HandleFunc("POST /ari/recordings/live/{name...}", route(s.liveAction))
	mux.HandleFunc("GET /ari/recordings/stored/{name...}", route(s.getStored))
	mux.HandleFunc("DELETE /ari/recordings/stored/{name...}", route(s.deleteStored))
	mux.HandleFunc("POST /ari/recordings/stored/{name...}", route(s.storedAction))
	mux.HandleFunc("/ari/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, errf(404, "Resource not found"))
	})
	stats := s.StatsHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stats" {
			stats.ServeHTTP(w, r)
			return
		}
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
			writeErr(w, errf(401, "Authentication required"))
			return
		}
		// A held node answers nothing, but like a stalled Asterisk it still acts on what
		// it received once it resumes, even if the client gave up meanwhile.
		if !s.waitUnheld(nil) {
			writeErr(w, errf(503, "Service Unavailable"))
			return
		}
		if r.URL.Path != "/ari/events" {
			s.mu.Lock()
			line := r.Method + " " + r.URL.Path
			if r.URL.RawQuery != "" {
				line += "?" + r.URL.RawQuery
			}
			s.requests = append(s.requests, line)
			s.mu.Unlock()
		}
		mux.ServeHTTP(w, r)
	})
}

// ---- event WebSocket ----

type wsClient struct {
	conn   *websocket.Conn // set under Server.mu once the handshake is done
	apps   map[string]bool
	mu     sync.Mutex
	queue  [][]byte
	notify chan struct{}
}

func (c *wsClient) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *wsClient) push(b []byte) {
	c.mu.Lock()
	c.queue = append(c.queue, b)
	c.mu.Unlock()
	c.wake()
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	appParam := r.URL.Query().Get("app")
	if appParam == "" {
		writeErr(w, errf(400, "Missing parameter app"))
		return
	}
	apps := map[string]bool{}
	for _, a := range strings.Split(appParam, ",") {
		if a = strings.TrimSpace(a); a != "" {
			if s.opts.App != "" && a != s.opts.App {
				writeErr(w, errf(400, "Application %s is not accepted by this node", a))
				return
			}
			apps[a] = true
		}
	}
	// Registered before the handshake completes, so a client that sees the upgrade
	// succeed gets every later event.
	c := &wsClient{apps: apps, notify: make(chan struct{}, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeErr(w, errf(503, "Shutting down"))
		return
	}
	s.wg.Add(1)
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
	}()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"ari"}})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(context.Background())
	s.mu.Lock()
	_, live := s.clients[c]
	if live {
		c.conn = conn
	}
	s.mu.Unlock()
	if !live { // dropped or closed during the handshake
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		case <-c.notify:
		}
		if !s.waitUnheld(ctx.Done()) {
			return
		}
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		c.mu.Unlock()
		for _, b := range batch {
			if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
				return
			}
		}
	}
}

// emitLocked sends ev to the clients of app, stamped now. Called with s.mu held, so the
// order of events is the order of the node's state changes.
func (s *Server) emitLocked(app string, ev *event) {
	if ev.Timestamp == "" {
		ev.Timestamp = s.ts()
	}
	ev.AsteriskID = s.asteriskID
	ev.Application = app
	b, err := json.Marshal(ev)
	if err != nil {
		s.log.Error("marshal event", "err", err)
		return
	}
	for c := range s.clients {
		if c.apps[app] {
			c.push(b)
		}
	}
}

// pressModel copies the callees' press model (an empty one when nil).
func pressModel(m *sim.PressModel) sim.PressModel {
	if m == nil {
		return sim.PressModel{}
	}
	c := *m
	c.Script = maps.Clone(m.Script)
	return c
}
