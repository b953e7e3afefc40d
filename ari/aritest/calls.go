package aritest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/callplane/callplane/media/sim"
)

// maxUniqueID is AST_MAX_PUBLIC_UNIQUEID.
const maxUniqueID = 149

type channel struct {
	vars                        map[string]string // set at originate (the request's variables)
	id, name, state, protocolID string
	number                      string // destination digits
	dialstring                  string // resource part of the endpoint
	caller                      callerJSON
	created                     string
	app                         string
	args                        []string
	appName, appData            string // dialplan location
	inStasis                    bool
	bridge                      string
	wasBridged                  bool
	pressed                     bool // the scripted digits were pressed
	plan                        sim.Plan
	ring                        time.Duration // scaled ringing time
	done                        bool
	stop                        chan struct{} // closed when the channel is destroyed
}

func (ch *channel) json() *channelJSON {
	return &channelJSON{
		ID: ch.id, Name: ch.name, State: ch.state, ProtocolID: ch.protocolID,
		Caller: ch.caller, Connected: ch.caller, AccountCode: "",
		Dialplan:     dialplanJSON{Context: "default", Exten: "s", Priority: 1, AppName: ch.appName, AppData: ch.appData},
		CreationTime: ch.created, Language: "en",
	}
}

type bridge struct {
	id, name, typ, created string
	app                    string   // of the first channel added
	channels               []string // newest first, as Asterisk lists them
}

func (b *bridge) json() *bridgeJSON {
	return &bridgeJSON{ID: b.id, Technology: "simple_bridge", BridgeType: b.typ, BridgeClass: "stasis",
		Creator: "Stasis", Name: b.name, Channels: append([]string{}, b.channels...), CreationTime: b.created,
		VideoMode: "talker"}
}

type playback struct {
	id, media, channel, state string
	stop                      chan struct{}
}

func (p *playback) json() *playbackJSON {
	return &playbackJSON{ID: p.id, MediaURI: p.media, TargetURI: "channel:" + p.channel, Language: "en", State: p.state}
}

type liveRecording struct {
	name, format, channel, state string
	started                      time.Time // callee time
	stop                         chan struct{}
}

func (l *liveRecording) json() *recordingJSON {
	return &recordingJSON{Name: l.name, Format: l.format, State: l.state, TargetURI: "channel:" + l.channel}
}

var knownTech = map[string]bool{"PJSIP": true, "SIP": true, "IAX2": true, "DAHDI": true, "Local": true}

// parseCallerID splits `"Name" <number>` / `Name <number>` / `number`.
func parseCallerID(s string) callerJSON {
	if i := strings.LastIndex(s, "<"); i >= 0 && strings.HasSuffix(s, ">") {
		return callerJSON{Name: strings.Trim(strings.TrimSpace(s[:i]), `"`), Number: s[i+1 : len(s)-1]}
	}
	return callerJSON{Number: s}
}

// ---- REST: channels ----

func (s *Server) originate(r *http.Request) (int, any, *apiError) {
	q := r.URL.Query()
	endpoint, app, id := q.Get("endpoint"), q.Get("app"), q.Get("channelId")
	if len(id) > maxUniqueID || len(q.Get("otherChannelId")) > maxUniqueID {
		return 0, nil, errf(400, "Uniqueid length exceeds maximum of %d", maxUniqueID)
	}
	if endpoint == "" {
		return 0, nil, errf(400, "Endpoint must be specified")
	}
	tech, resource, _ := strings.Cut(endpoint, "/")
	if tech == "" || resource == "" {
		return 0, nil, errf(400, "Invalid endpoint specified")
	}
	if app == "" {
		if q.Get("extension") != "" {
			return 0, nil, errf(501, "aritest: dialplan originate is not supported")
		}
		return 0, nil, errf(400, "Application or extension must be specified")
	}
	if s.opts.App != "" && app != s.opts.App {
		return 0, nil, errf(400, "aritest: application %s is not accepted by this node", app)
	}
	timeout := 30 * time.Second
	if t := q.Get("timeout"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return 0, nil, errf(400, "timeout: not an integer")
		}
		switch {
		case n > 0:
			timeout = time.Duration(n) * time.Second
		case n == -1:
			timeout = 0 // no timeout
		}
	}
	var body struct {
		Variables map[string]string `json:"variables"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			return 0, nil, errf(400, "Request body is not valid JSON: %v", err)
		}
	}
	number, peer, hasAt := strings.Cut(resource, "@")
	if !hasAt {
		peer = resource
	}
	number = strings.TrimPrefix(number, "+")

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, nil, errAlloc
	}
	s.stats.Originates[number]++
	s.stats.TotalOriginates++
	if id != "" && s.channels[id] != nil {
		return 0, nil, errf(409, "Channel with given unique ID already exists")
	}
	if !knownTech[tech] || len(s.endpoints) > 0 && !s.endpoints[peer] {
		return 0, nil, errAlloc
	}
	if s.opts.MaxCalls > 0 && len(s.channels) >= s.opts.MaxCalls {
		return 0, nil, errAlloc
	}
	s.seq++
	if id == "" {
		id = fmt.Sprintf("%d.%d", s.epoch.Unix(), s.seq)
	}
	plan, scripted := s.scripts[number]
	if hasAt && slices.Contains(s.opts.DownGateways, peer) {
		plan, scripted = sim.GatewayDown, true
	}
	if !scripted {
		plan = s.opts.Model.Plan(s.rng, number, timeout)
	}
	ring := plan.Ring
	if plan.Result == sim.NoAnswer && (ring <= 0 || timeout > 0 && ring > timeout) {
		ring = timeout // rings until the originate timeout
	}
	if timeout > 0 && ring > timeout && (plan.Result == sim.Answer || plan.Result == sim.Reject) {
		plan.Result, ring = sim.NoAnswer, timeout
	}
	ch := &channel{
		id: id, name: fmt.Sprintf("%s/%s-%08x", tech, peer, s.seq), state: "Down",
		protocolID: uuid.NewString(), number: number, dialstring: resource,
		caller: parseCallerID(q.Get("callerId")), created: s.ts(), app: app,
		appName: "AppDial2", appData: "(Outgoing Line)", plan: plan, ring: s.scaled(ring),
		stop: make(chan struct{}), vars: body.Variables,
	}
	if a := q.Get("appArgs"); a != "" {
		ch.args = strings.Split(a, ",")
	}
	s.channels[id] = ch
	s.wg.Add(1)
	go s.runCall(ch)
	s.log.Debug("originate", "channel", id, "number", number, "result", plan.Result, "ring", ring)
	return http.StatusOK, ch.json(), nil
}

func (s *Server) listChannels(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*channelJSON, 0, len(s.channels))
	for _, ch := range s.channels {
		out = append(out, ch.json())
	}
	slices.SortFunc(out, func(a, b *channelJSON) int { return strings.Compare(a.CreationTime+a.ID, b.CreationTime+b.ID) })
	return http.StatusOK, out, nil
}

func (s *Server) channelLocked(r *http.Request) (*channel, *apiError) {
	ch := s.channels[r.PathValue("id")]
	if ch == nil {
		return nil, errf(404, "Channel not found")
	}
	return ch, nil
}

// stasisLocked finds a channel that is in the application (404 / 409 otherwise).
func (s *Server) stasisLocked(r *http.Request) (*channel, *apiError) {
	ch, err := s.channelLocked(r)
	if err != nil {
		return nil, err
	}
	if !ch.inStasis {
		return nil, errf(409, "Channel not in Stasis application")
	}
	return ch, nil
}

func (s *Server) getChannel(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.channelLocked(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ch.json(), nil
}

// getVariable is GET /channels/{id}/variable?variable=NAME: {"value": ...}, or 404 for a
// variable the channel does not have, as Asterisk answers.
func (s *Server) getVariable(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.channelLocked(r)
	if err != nil {
		return 0, nil, err
	}
	name := r.URL.Query().Get("variable")
	if name == "" {
		return 0, nil, errf(400, "Variable name is required")
	}
	v, ok := ch.vars[name]
	if !ok {
		return 0, nil, errf(404, "Provided variable was not found")
	}
	return http.StatusOK, map[string]string{"value": v}, nil
}

func (s *Server) hangup(r *http.Request) (int, any, *apiError) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.channelLocked(r)
	if err != nil {
		return 0, nil, err
	}
	code := 16
	reason, reasonCode := q.Get("reason"), q.Get("reason_code")
	switch {
	case reason != "" && reasonCode != "":
		return 0, nil, errf(400, "The reason and reason_code can't both be specified")
	case reasonCode != "":
		n, perr := strconv.Atoi(reasonCode)
		if perr != nil {
			return 0, nil, errf(400, "Invalid reason for hangup reason code provided")
		}
		code = n
	case reason != "":
		n, ok := reasonCodes[reason]
		if !ok {
			return 0, nil, errf(400, "Invalid reason for hangup reason provided")
		}
		code = n
	}
	s.appHangupLocked(ch, code)
	return http.StatusNoContent, nil, nil
}

func (s *Server) answer(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.stasisLocked(r); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil // originated channels are Up once in Stasis
}

func (s *Server) dtmf(r *http.Request) (int, any, *apiError) {
	digits := r.URL.Query().Get("dtmf")
	s.mu.Lock()
	defer s.mu.Unlock()
	if digits == "" {
		return 0, nil, errf(400, "DTMF is required")
	}
	ch, err := s.stasisLocked(r)
	if err != nil {
		return 0, nil, err
	}
	s.sentDTMF[ch.id] += digits
	return http.StatusNoContent, nil, nil
}

// ---- the life of a call ----

// wait sleeps d or until the channel is destroyed or the server closes; false unless the
// full time passed.
func (s *Server) wait(ch *channel, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-ch.stop:
			return false
		case <-s.closing:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ch.stop:
		return false
	case <-s.closing:
		return false
	}
}

// step runs f under the lock unless the channel is gone.
func (s *Server) step(ch *channel, f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch.done || s.closed {
		return false
	}
	f()
	return true
}

// runCall plays the channel's plan, as captured from Asterisk 22 + chan_pjsip.
func (s *Server) runCall(ch *channel) {
	defer s.wg.Done()
	res := ch.plan.Result
	rings := res != sim.Unavailable && res != sim.Fail
	if !s.step(ch, func() {
		s.dialLocked(ch, "", ch.dialstring)
		if rings {
			ch.state = "Ringing"
			s.emitLocked(ch.app, &event{Type: "ChannelStateChange", Channel: ch.json()})
			s.dialLocked(ch, "RINGING", ch.dialstring)
		}
		if ch.plan.EarlyMedia {
			s.dialLocked(ch, "PROGRESS", ch.dialstring)
		}
	}) {
		return
	}
	if res == sim.NoAnswer && ch.ring <= 0 {
		select { // no timeout: rings until someone hangs up
		case <-ch.stop:
		case <-s.closing:
		}
		return
	}
	if !s.wait(ch, ch.ring) {
		return
	}
	switch res {
	case sim.Answer:
		if !s.step(ch, func() { s.answerLocked(ch) }) {
			return
		}
		if !s.wait(ch, s.scaled(ch.plan.Talk)) {
			return
		}
		s.step(ch, func() { s.remoteHangupLocked(ch) })
	case sim.Busy:
		s.step(ch, func() { s.failLocked(ch, 17, 486, "BUSY") })
	case sim.Reject:
		s.step(ch, func() { s.failLocked(ch, 21, 603, "NOANSWER") })
	case sim.Invalid:
		s.step(ch, func() { s.failLocked(ch, 1, 404, "NOANSWER") })
	case sim.Unavailable:
		s.step(ch, func() { s.failLocked(ch, 19, 480, "NOANSWER") })
	case sim.Fail:
		s.step(ch, func() { s.failLocked(ch, 34, 503, "CONGESTION") })
	default: // NoAnswer: the dial times out; no hang-up request, no final Dial.
		s.step(ch, func() { s.destroyLocked(ch, 19, 480) })
	}
}

func (s *Server) dialLocked(ch *channel, status, dialstring string) {
	s.emitLocked(ch.app, &event{Type: "Dial", DialStatus: ptr(status), Forward: ptr(""),
		DialString: ptr(dialstring), Peer: ch.json()})
}

func (s *Server) varsetLocked(ch *channel, name, value string) {
	s.emitLocked(ch.app, &event{Type: "ChannelVarset", Variable: ptr(name), Value: ptr(value), Channel: ch.json()})
}

func (s *Server) answerLocked(ch *channel) {
	ch.state = "Up"
	s.emitLocked(ch.app, &event{Type: "ChannelStateChange", Channel: ch.json()})
	s.dialLocked(ch, "ANSWER", ch.dialstring)
	ch.appName, ch.appData = "Stasis", strings.Join(append([]string{ch.app}, ch.args...), ",")
	s.varsetLocked(ch, "STASISSTATUS", "")
	ch.inStasis = true
	args := append([]string{}, ch.args...)
	s.emitLocked(ch.app, &event{Type: "StasisStart", Args: &args, Channel: ch.json()})
}

// stopMediaLocked ends the channel's playbacks and recordings before it goes away.
func (s *Server) stopMediaLocked(ch *channel) {
	for _, p := range s.playbacks {
		if p.channel == ch.id {
			s.finishPlaybackLocked(p, "done")
		}
	}
	for _, l := range s.live {
		if l.channel == ch.id {
			s.finishRecordingLocked(l)
		}
	}
}

func (s *Server) leaveStasisLocked(ch *channel) {
	if ch.bridge != "" {
		s.leaveBridgeLocked(ch)
	}
	if ch.inStasis {
		ch.inStasis = false
		s.emitLocked(ch.app, &event{Type: "StasisEnd", Channel: ch.json()})
		ch.appName, ch.appData = "AppDial2", "(Outgoing Line)"
		s.varsetLocked(ch, "STASISSTATUS", "SUCCESS")
	}
}

// remoteHangupLocked: the answered callee hangs up. An originated, unbridged channel ends
// with cause 0 "Unknown"; a bridged one with 16.
func (s *Server) remoteHangupLocked(ch *channel) {
	s.stopMediaLocked(ch)
	s.varsetLocked(ch, "RTPAUDIOQOS", "ssrc=0;themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;txjitter=0.000000;txcount=0")
	s.emitLocked(ch.app, &event{Type: "ChannelHangupRequest", Channel: ch.json()})
	cause := 0
	if ch.bridge != "" || ch.wasBridged {
		cause = 16
	}
	s.leaveStasisLocked(ch)
	s.destroyLocked(ch, cause, 0)
}

// appHangupLocked: DELETE /channels/{id}. The request shows cause 32 soft; the channel
// ends with the reason code.
func (s *Server) appHangupLocked(ch *channel, code int) {
	s.stopMediaLocked(ch)
	s.emitLocked(ch.app, &event{Type: "ChannelHangupRequest", Cause: ptr(32), Soft: true, Channel: ch.json()})
	if ch.state != "Up" {
		s.dialLocked(ch, "CANCEL", ch.dialstring)
	}
	s.leaveStasisLocked(ch)
	s.destroyLocked(ch, code, 0)
}

// failLocked: the far end answered the INVITE with a failure.
func (s *Server) failLocked(ch *channel, cause, sip int, dialstatus string) {
	s.stopMediaLocked(ch)
	s.emitLocked(ch.app, &event{Type: "ChannelHangupRequest", Cause: ptr(cause), TechCause: sip, Channel: ch.json()})
	if ch.inStasis {
		s.leaveStasisLocked(ch)
	} else {
		s.dialLocked(ch, dialstatus, ch.dialstring)
	}
	s.destroyLocked(ch, cause, sip)
}

func (s *Server) destroyLocked(ch *channel, cause, sip int) {
	s.emitLocked(ch.app, &event{Type: "ChannelDestroyed", Cause: ptr(cause), CauseTxt: ptr(causeText(cause)),
		TechCause: sip, Channel: ch.json()})
	ch.done = true
	close(ch.stop)
	delete(s.channels, ch.id)
}

// ---- playbacks ----

func (s *Server) play(r *http.Request) (int, any, *apiError) {
	q := r.URL.Query()
	media := q.Get("media")
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.stasisLocked(r)
	if err != nil {
		return 0, nil, err
	}
	if media == "" {
		return 0, nil, errf(400, "media parameter is required")
	}
	id := q.Get("playbackId")
	if id == "" {
		id = uuid.NewString()
	}
	if s.playbacks[id] != nil {
		return 0, nil, errf(409, "Playback %s already exists", id)
	}
	p := &playback{id: id, media: media, channel: ch.id, state: "queued", stop: make(chan struct{})}
	s.playbacks[id] = p
	resp := p.json()
	s.wg.Add(1)
	go s.runPlayback(p)
	return http.StatusCreated, resp, nil
}

func (s *Server) runPlayback(p *playback) {
	defer s.wg.Done()
	s.mu.Lock()
	if p.state != "queued" || s.closed {
		s.mu.Unlock()
		return
	}
	p.state = "playing"
	app := s.appOf(p.channel)
	s.emitLocked(app, &event{Type: "PlaybackStarted", Playback: p.json()})
	name, _ := strings.CutPrefix(p.media, "sound:")
	if s.missing[name] {
		s.finishPlaybackLocked(p, "failed")
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	t := time.NewTimer(s.scaled(s.opts.PlaybackDuration))
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.stop:
		return
	case <-s.closing:
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.playbacks[p.id] == p {
		s.finishPlaybackLocked(p, "done")
	}
}

func (s *Server) appOf(channelID string) string {
	if ch := s.channels[channelID]; ch != nil {
		return ch.app
	}
	return s.opts.App
}

func (s *Server) finishPlaybackLocked(p *playback, state string) {
	if s.playbacks[p.id] != p {
		return
	}
	delete(s.playbacks, p.id)
	close(p.stop)
	if p.state == "queued" { // never started: Asterisk still reports it
		p.state = "playing"
		s.emitLocked(s.appOf(p.channel), &event{Type: "PlaybackStarted", Playback: p.json()})
	}
	p.state = state
	s.emitLocked(s.appOf(p.channel), &event{Type: "PlaybackFinished", Playback: p.json()})
	if ch := s.channels[p.channel]; ch != nil && state == "done" {
		s.pressAfterPromptLocked(ch)
	}
}

func (s *Server) getPlayback(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.playbacks[r.PathValue("id")]
	if p == nil {
		return 0, nil, errf(404, "Playback not found")
	}
	return http.StatusOK, p.json(), nil
}

func (s *Server) stopPlayback(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.playbacks[r.PathValue("id")]
	if p == nil {
		return 0, nil, errf(404, "Playback not found")
	}
	s.finishPlaybackLocked(p, "done")
	return http.StatusNoContent, nil, nil
}

// ---- recordings ----

var knownFormats = map[string]bool{"wav": true, "WAV": true, "wav16": true, "gsm": true, "ulaw": true,
	"alaw": true, "sln": true, "g722": true, "g729": true}

func (s *Server) record(r *http.Request) (int, any, *apiError) {
	q := r.URL.Query()
	name, format, ifExists := q.Get("name"), q.Get("format"), q.Get("ifExists")
	maxDur, _ := strconv.Atoi(q.Get("maxDurationSeconds"))
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.stasisLocked(r)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case name == "" || strings.Contains(name, ".."):
		return 0, nil, errf(400, "Recording name invalid")
	case format == "":
		return 0, nil, errf(400, "format is required")
	case maxDur < 0:
		return 0, nil, errf(400, "max_duration_seconds cannot be negative")
	case ifExists != "" && ifExists != "fail" && ifExists != "overwrite" && ifExists != "append":
		return 0, nil, errf(400, "ifExists invalid")
	case !knownFormats[format]:
		return 0, nil, errf(422, "specified format is unknown on this system")
	case ch.bridge != "":
		return 0, nil, errf(409, "Channel is currently bridged")
	}
	if s.live[name] != nil || (ifExists == "" || ifExists == "fail") && s.stored[name] != "" {
		return 0, nil, errf(409, "Recording '%s' already exists and can not be overwritten", name)
	}
	l := &liveRecording{name: name, format: format, channel: ch.id, state: "queued", stop: make(chan struct{})}
	s.live[name] = l
	resp := l.json()
	l.state, l.started = "recording", s.vnow()
	s.emitLocked(ch.app, &event{Type: "RecordingStarted", Recording: l.json()})
	if maxDur > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTimer(s.scaled(time.Duration(maxDur) * time.Second))
			defer t.Stop()
			select {
			case <-t.C:
				s.mu.Lock()
				if s.live[name] == l {
					s.finishRecordingLocked(l)
				}
				s.mu.Unlock()
			case <-l.stop:
			case <-s.closing:
			}
		}()
	}
	return http.StatusCreated, resp, nil
}

func (s *Server) finishRecordingLocked(l *liveRecording) {
	if s.live[l.name] != l {
		return
	}
	delete(s.live, l.name)
	close(l.stop)
	l.state = "done"
	ev := l.json()
	ev.Duration = ptr(int(s.vnow().Sub(l.started).Round(time.Second) / time.Second))
	s.stored[l.name] = l.format
	s.emitLocked(s.appOf(l.channel), &event{Type: "RecordingFinished", Recording: ev})
}

func (s *Server) getLive(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.live[r.PathValue("name")]
	if l == nil {
		return 0, nil, errf(404, "Recording not found")
	}
	return http.StatusOK, l.json(), nil
}

// liveAction serves POST /recordings/live/{name}/stop.
func (s *Server) liveAction(r *http.Request) (int, any, *apiError) {
	name, ok := strings.CutSuffix(r.PathValue("name"), "/stop")
	if !ok {
		return 0, nil, errf(404, "Resource not found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.live[name]
	if l == nil {
		return 0, nil, errf(404, "Recording not found")
	}
	s.finishRecordingLocked(l)
	return http.StatusNoContent, nil, nil
}

func (s *Server) getStored(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.PathValue("name")
	f, ok := s.stored[name]
	if !ok {
		return 0, nil, errf(404, "Recording not found")
	}
	return http.StatusOK, storedJSON{Name: name, Format: f}, nil
}

func (s *Server) deleteStored(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.PathValue("name")
	if _, ok := s.stored[name]; !ok {
		return 0, nil, errf(404, "Recording not found")
	}
	delete(s.stored, name)
	return http.StatusNoContent, nil, nil
}

// storedAction serves POST /recordings/stored/{name}/copy.
func (s *Server) storedAction(r *http.Request) (int, any, *apiError) {
	name, ok := strings.CutSuffix(r.PathValue("name"), "/copy")
	if !ok {
		return 0, nil, errf(404, "Resource not found")
	}
	dest := r.URL.Query().Get("destinationRecordingName")
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.stored[name]
	switch {
	case !ok:
		return 0, nil, errf(404, "Recording not found")
	case dest == "" || strings.Contains(dest, ".."):
		return 0, nil, errf(400, "Invalid destination recording name")
	case s.stored[dest] != "":
		return 0, nil, errf(409, "A recording with the same name already exists on the system")
	}
	s.stored[dest] = f
	return http.StatusOK, storedJSON{Name: dest, Format: f}, nil
}

// ---- bridges ----

func (s *Server) createBridge(r *http.Request) (int, any, *apiError) {
	q := r.URL.Query()
	id, typ := q.Get("bridgeId"), q.Get("type")
	if id == "" {
		id = uuid.NewString()
	}
	if typ == "" {
		typ = "mixing"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bridges[id] != nil {
		return 0, nil, errf(409, "Bridge with id '%s' already exists", id)
	}
	b := &bridge{id: id, name: q.Get("name"), typ: typ, created: s.ts()}
	s.bridges[id] = b
	return http.StatusOK, b.json(), nil
}

func (s *Server) getBridge(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bridges[r.PathValue("id")]
	if b == nil {
		return 0, nil, errf(404, "Bridge not found")
	}
	return http.StatusOK, b.json(), nil
}

func (s *Server) bridgeChannelsLocked(r *http.Request) (*bridge, []*channel, *apiError) {
	b := s.bridges[r.PathValue("id")]
	if b == nil {
		return nil, nil, errf(404, "Bridge not found")
	}
	param := r.URL.Query().Get("channel")
	if param == "" {
		return nil, nil, errf(400, "Missing parameter channel")
	}
	var chs []*channel
	for _, id := range strings.Split(param, ",") {
		ch := s.channels[strings.TrimSpace(id)]
		if ch == nil {
			return nil, nil, errf(400, "Channel not found")
		}
		chs = append(chs, ch)
	}
	return b, chs, nil
}

func (s *Server) addChannel(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, chs, err := s.bridgeChannelsLocked(r)
	if err != nil {
		return 0, nil, err
	}
	for _, ch := range chs {
		if !ch.inStasis {
			return 0, nil, errf(422, "Channel not in Stasis application")
		}
		for _, l := range s.live {
			if l.channel == ch.id {
				return 0, nil, errf(409, "Channel currently recording")
			}
		}
	}
	for _, ch := range chs {
		if ch.bridge == b.id {
			continue
		}
		if ch.bridge != "" {
			s.leaveBridgeLocked(ch)
		}
		ch.bridge, ch.wasBridged = b.id, true
		if b.app == "" {
			b.app = ch.app
		}
		b.channels = append([]string{ch.id}, b.channels...)
		s.emitLocked(ch.app, &event{Type: "ChannelEnteredBridge", Bridge: b.json(), Channel: ch.json()})
	}
	if len(b.channels) > 1 {
		for _, id := range b.channels {
			if ch := s.channels[id]; ch != nil {
				s.varsetLocked(ch, "BRIDGEPEER", strings.Join(slices.DeleteFunc(slices.Clone(b.channels),
					func(x string) bool { return x == id }), ","))
			}
		}
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) leaveBridgeLocked(ch *channel) {
	b := s.bridges[ch.bridge]
	ch.bridge = ""
	if b == nil {
		return
	}
	b.channels = slices.DeleteFunc(b.channels, func(x string) bool { return x == ch.id })
	s.emitLocked(ch.app, &event{Type: "ChannelLeftBridge", Bridge: b.json(), Channel: ch.json()})
}

func (s *Server) removeChannel(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, chs, err := s.bridgeChannelsLocked(r)
	if err != nil {
		return 0, nil, err
	}
	for _, ch := range chs {
		if ch.bridge != b.id {
			return 0, nil, errf(422, "Channel not in this bridge")
		}
	}
	for _, ch := range chs {
		s.leaveBridgeLocked(ch)
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) destroyBridge(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bridges[r.PathValue("id")]
	if b == nil {
		return 0, nil, errf(404, "Bridge not found")
	}
	for _, id := range slices.Clone(b.channels) {
		if ch := s.channels[id]; ch != nil {
			s.leaveBridgeLocked(ch)
		}
	}
	delete(s.bridges, b.id)
	if b.app != "" {
		s.emitLocked(b.app, &event{Type: "BridgeDestroyed", Bridge: b.json()})
	}
	return http.StatusNoContent, nil, nil
}
