package ari

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/callplane/callplane/media"
)

// Config is one Asterisk node. Zero durations take the defaults in the comments.
type Config struct {
	// Name is the node's name on events and in logs.
	Name string
	// URL is the ARI HTTP base, e.g. http://127.0.0.1:8088.
	URL      string
	Username string
	Password string
	// App is the Stasis application callplane registers (default "callplane").
	App string
	// DialTemplate turns a number into an endpoint, expanded with media.DialString
	// (default "PJSIP/{number}@carrier-a").
	DialTemplate string
	// RequestTimeout bounds every REST call and the WebSocket handshake (default 5 s).
	RequestTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the WebSocket reconnect backoff (200 ms, 5 s).
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// LostGrace is how long tracked calls survive a lost WebSocket before they end with
	// Hangup.NodeLost (default 10 s).
	LostGrace time.Duration
	// RingTimeout is the originate timeout when the request has none (default 30 s).
	RingTimeout time.Duration
	// PingInterval is how often the WebSocket is pinged to notice a dead path (default 5 s).
	PingInterval time.Duration
}

func (c Config) withDefaults() Config {
	if c.App == "" {
		c.App = "callplane"
	}
	if c.DialTemplate == "" {
		c.DialTemplate = "PJSIP/{number}@carrier-a"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RequestTimeout, 5*time.Second)
	def(&c.ReconnectMin, 200*time.Millisecond)
	def(&c.ReconnectMax, 5*time.Second)
	def(&c.LostGrace, 10*time.Second)
	def(&c.RingTimeout, 30*time.Second)
	def(&c.PingInterval, 5*time.Second)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	return c
}

// Validate reports a configuration the driver cannot run with.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("ari config: URL is required")
	}
	if !strings.Contains(c.DialTemplate, "{number}") && !strings.Contains(c.DialTemplate, "{e164}") {
		return fmt.Errorf("ari config: dial template %q has no {number} or {e164}", c.DialTemplate)
	}
	if !strings.Contains(c.DialTemplate, "/") {
		return fmt.Errorf("ari config: dial template %q is not TECH/resource", c.DialTemplate)
	}
	return nil
}

// ErrRefused marks an originate Asterisk answered with an error status (400 bad request,
// 409 duplicate channel id, 500 "Allocation failed" for an unknown endpoint or a node that
// cannot allocate a channel): no channel was created and no event will follow. It does not
// wrap media.ErrNotSent: callplane's rule is to re-place only what certainly never reached
// the node, and the caller may inspect ari.StatusOf(err) to decide more finely.
var ErrRefused = errors.New("originate refused by asterisk")

// Driver is one Asterisk node behind ARI, implementing media.Driver.
type Driver struct {
	cfg    Config
	clock  media.Clock
	log    *slog.Logger
	client *Client
	cerr   error

	events chan media.Event
	up     atomic.Bool
	ready  chan struct{} // closed at the first successful connection
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	startOnce sync.Once
	closeOnce sync.Once

	mu         sync.Mutex
	closed     bool
	calls      map[string]*call
	lost       map[string]bool       // calls ended as NodeLost that may live on at the node: never adopted again
	playbacks  map[string]string     // playback id -> file
	recordings map[string]*recording // recording name -> recording
	bridges    map[string][]string   // bridge id -> call ids
}

var _ media.Driver = (*Driver)(nil)

type call struct {
	id         string
	ringing    bool
	early      bool
	answered   bool
	answeredAt time.Time // node time of the answer
	answeredCk time.Time // our clock at the answer
	hangupSent bool
	hangupCode int
	bridge     string
}

type recording struct {
	callID  string
	path    string
	started time.Time // node time of RecordingStarted
}

// New returns a driver for one node; Start connects it. A nil clock means the system clock,
// a nil logger discards.
func New(cfg Config, clock media.Clock, log *slog.Logger) *Driver {
	cfg = cfg.withDefaults()
	if clock == nil {
		clock = media.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Driver{
		cfg:        cfg,
		clock:      clock,
		log:        log.With("node", cfg.Name, "driver", "ari"),
		events:     make(chan media.Event, 1024),
		ready:      make(chan struct{}),
		calls:      make(map[string]*call),
		lost:       make(map[string]bool),
		playbacks:  make(map[string]string),
		recordings: make(map[string]*recording),
		bridges:    make(map[string][]string),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if d.cerr = cfg.Validate(); d.cerr == nil {
		d.client, d.cerr = NewClient(cfg.URL, cfg.Username, cfg.Password, cfg.RequestTimeout)
	}
	return d
}

// Client returns the driver's ARI client, for operations outside media.Driver.
func (d *Driver) Client() *Client { return d.client }

// Start launches the connection loop and waits until the event WebSocket is connected or
// ctx is done. When ctx ends first the loop keeps reconnecting in the background (Up
// turns true when it succeeds) and Start returns ctx's error; Close stops it.
func (d *Driver) Start(ctx context.Context) error {
	if d.cerr != nil {
		return d.cerr
	}
	d.startOnce.Do(func() {
		d.wg.Add(1)
		go d.run()
	})
	select {
	case <-d.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ari %s: connect: %w", d.cfg.Name, ctx.Err())
	case <-d.ctx.Done():
		return fmt.Errorf("ari %s: closed", d.cfg.Name)
	}
}

// Events delivers the node's call events, in order per call; it closes after Close.
func (d *Driver) Events() <-chan media.Event { return d.events }

// Up reports whether the event WebSocket is connected and reconciled.
func (d *Driver) Up() bool { return d.up.Load() }

// Close stops the connection loop, closes Events and waits for every goroutine.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		d.cancel()
		d.wg.Wait()
		if d.client != nil {
			d.client.CloseIdleConnections()
		}
		close(d.events)
	})
	return nil
}

// Originate places req with channelId = req.CallID. Errors: wrapping media.ErrNotSent when
// the driver is down or the request was never written; wrapping ErrRefused (with an
// *Error) when Asterisk answered an error status and created no channel; anything else
// (timeout, connection lost after the request was written) is ambiguous: the call stays
// tracked and its events, or reconciliation, settle it.
func (d *Driver) Originate(ctx context.Context, req media.OriginateRequest) error {
	if d.cerr != nil {
		return fmt.Errorf("originate %s: %w: %w", req.CallID, media.ErrNotSent, d.cerr)
	}
	if req.CallID == "" || (req.Number == "" && req.Endpoint == "") {
		return fmt.Errorf("originate: call id and number or endpoint are required: %w", media.ErrNotSent)
	}
	endpoint := req.Endpoint
	if endpoint == "" {
		endpoint = media.DialString(req.Template(media.KindAsterisk, d.cfg.DialTemplate), req.Number)
	}
	if err := media.CheckOriginate(media.KindAsterisk, req, endpoint); err != nil {
		return err
	}
	if !d.up.Load() {
		return fmt.Errorf("originate %s: node %s not connected: %w", req.CallID, d.cfg.Name, media.ErrNotSent)
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return fmt.Errorf("originate %s: driver closed: %w", req.CallID, media.ErrNotSent)
	}
	if _, dup := d.calls[req.CallID]; dup {
		d.mu.Unlock()
		return fmt.Errorf("originate %s: call id already live on node %s", req.CallID, d.cfg.Name)
	}
	// Tracked before the request: Dial events may arrive before the HTTP answer.
	d.calls[req.CallID] = &call{id: req.CallID}
	d.mu.Unlock()

	ring := req.RingTimeout
	if ring <= 0 {
		ring = d.cfg.RingTimeout
	}
	vars := make(map[string]string, len(req.Vars)+1)
	for k, v := range req.Vars {
		vars[k] = v
	}
	vars["CALLPLANE_CALL_ID"] = req.CallID
	callerID := callerIDString(req.CallerIDName, req.CallerIDNumber)
	_, err := d.client.Originate(ctx, OriginateParams{
		Endpoint:  endpoint,
		App:       d.cfg.App,
		ChannelID: req.CallID,
		CallerID:  callerID,
		Timeout:   ring,
		Variables: vars,
	})
	if err == nil {
		return nil
	}
	var ae *Error
	switch {
	case errors.As(err, &ae):
		d.forget(req.CallID)
		return fmt.Errorf("originate %s: %w: %w", req.CallID, ErrRefused, err)
	case errors.Is(err, ErrRequestNotSent):
		d.forget(req.CallID)
		return fmt.Errorf("originate %s: %w: %w", req.CallID, media.ErrNotSent, err)
	}
	d.log.Warn("originate outcome unknown; call stays tracked", "call_id", req.CallID, "err", err)
	return fmt.Errorf("originate %s: outcome unknown: %w", req.CallID, err)
}

// callerIDString is ARI's callerId for a checked name and number (media.CheckOriginate):
// `"name" <number>`, or the number alone.
func callerIDString(name, number string) string {
	if name == "" {
		return number
	}
	return `"` + name + `" <` + number + ">"
}

func (d *Driver) forget(id string) {
	d.mu.Lock()
	delete(d.calls, id)
	d.mu.Unlock()
}

// reasonCode turns a cause name into the reason_code Asterisk accepts: a Q.850 code
// (1..127); FreeSWITCH-only causes such as ORIGINATOR_CANCEL become NORMAL_CLEARING.
func reasonCode(cause string) int {
	if cause == "" {
		return media.CauseNormalClearing
	}
	c := media.CauseFromName(strings.ToUpper(cause))
	if c.Code < 1 || c.Code > 127 {
		return media.CauseNormalClearing
	}
	return c.Code
}

// Hangup ends a call with a Q.850 cause name (DELETE /channels/{id}?reason_code=). A call
// the node does not have gives an error wrapping media.ErrUnknownCall. A call that was not
// answered yet ends with ORIGINATOR_CANCEL (outcome canceled), as FreeSWITCH reports it.
func (d *Driver) Hangup(ctx context.Context, callID, cause string) error {
	code := reasonCode(cause)
	d.mu.Lock()
	if c := d.calls[callID]; c != nil {
		c.hangupSent = true
		c.hangupCode = code
	}
	d.mu.Unlock()
	if err := d.client.Hangup(ctx, callID, code); err != nil {
		return d.callErr("hangup", callID, err)
	}
	return nil
}

func (d *Driver) callErr(op, callID string, err error) error {
	if StatusOf(err) == 404 {
		return fmt.Errorf("%s %s: %w: %w", op, callID, media.ErrUnknownCall, err)
	}
	return fmt.Errorf("%s %s: %w", op, callID, err)
}

// mediaURI turns a prompt of media.CheckPrompt's grammar into an ARI media URI: a file
// name becomes sound:<name> without its extension, a tone tone:<hz>/<ms>. Asterisk has no
// speech synthesis, so a tts prompt is refused (ErrInvalid), as is anything outside the
// grammar (a "../" path, another URI scheme).
func mediaURI(file string) (string, error) {
	if err := media.CheckPrompt(file); err != nil {
		return "", err
	}
	if hz, ms, err := media.ParseTone(file); err == nil {
		return fmt.Sprintf("tone:%d/%d", hz, ms), nil
	}
	if _, _, ok := media.ParseTTS(file); ok {
		return "", fmt.Errorf("prompt %.40q: Asterisk cannot speak text; use a recorded file", file)
	}
	return "sound:" + strings.TrimSuffix(file, path.Ext(file)), nil
}

// Play plays file to the call; EventPlaybackStarted and EventPlaybackFinished follow with
// File = file (a missing file finishes at once: Asterisk reports state "failed").
func (d *Driver) Play(ctx context.Context, callID, file string) error {
	uri, err := mediaURI(file)
	if err != nil {
		return fmt.Errorf("play on %s: %w: %w", callID, media.ErrInvalid, err)
	}
	id := uuid.NewString()
	d.mu.Lock()
	d.playbacks[id] = file
	d.mu.Unlock()
	if _, err := d.client.Play(ctx, callID, uri, id); err != nil {
		d.mu.Lock()
		delete(d.playbacks, id)
		d.mu.Unlock()
		return d.callErr("play", callID, err)
	}
	return nil
}

// recordingName splits a path into Asterisk's recording name (relative to its recording
// directory, without extension) and format (from the extension, default wav).
func recordingName(p string) (name, format string) {
	ext := path.Ext(p)
	name = strings.TrimPrefix(strings.TrimSuffix(p, ext), "/")
	format = strings.TrimPrefix(ext, ".")
	if format == "" {
		format = "wav"
	}
	return name, format
}

// Record starts recording the call to path (relative to Asterisk's recording directory;
// the extension picks the format, default wav), overwriting an existing file.
func (d *Driver) Record(ctx context.Context, callID, p string) error {
	if err := media.CheckRecordPath(p); err != nil {
		return fmt.Errorf("record %s: %w: %w", callID, media.ErrInvalid, err)
	}
	name, format := recordingName(p)
	d.mu.Lock()
	if r := d.recordings[name]; r != nil && r.callID != callID {
		d.mu.Unlock()
		return fmt.Errorf("record %s: %s is being recorded by call %s", callID, p, r.callID)
	}
	d.recordings[name] = &recording{callID: callID, path: p}
	d.mu.Unlock()
	_, err := d.client.Record(ctx, callID, RecordParams{Name: name, Format: format, IfExists: "overwrite"})
	if err != nil {
		d.mu.Lock()
		delete(d.recordings, name)
		d.mu.Unlock()
		return d.callErr("record", callID, err)
	}
	return nil
}

// StopRecord stops the recording of path; EventRecordingFinished follows.
func (d *Driver) StopRecord(ctx context.Context, callID, p string) error {
	name, _ := recordingName(p)
	if err := d.client.StopRecording(ctx, name); err != nil {
		return d.callErr("stop record", callID, err)
	}
	return nil
}

// Bridge creates a mixing bridge and adds both calls; EventBridged follows on each. The
// bridge is destroyed when its last call ends.
func (d *Driver) Bridge(ctx context.Context, callA, callB string) error {
	id := uuid.NewString()
	if _, err := d.client.CreateBridge(ctx, id, "mixing", "callplane-"+callA); err != nil {
		return fmt.Errorf("bridge %s %s: create: %w", callA, callB, err)
	}
	d.mu.Lock()
	d.bridges[id] = []string{callA, callB}
	for _, cid := range []string{callA, callB} {
		if c := d.calls[cid]; c != nil {
			c.bridge = id
		}
	}
	d.mu.Unlock()
	if err := d.client.AddChannel(ctx, id, callA, callB); err != nil {
		d.mu.Lock()
		delete(d.bridges, id)
		d.mu.Unlock()
		d.destroyBridge(id)
		if s := StatusOf(err); s == 400 || s == 404 || s == 422 {
			return fmt.Errorf("bridge %s %s: %w: %w", callA, callB, media.ErrUnknownCall, err)
		}
		return fmt.Errorf("bridge %s %s: %w", callA, callB, err)
	}
	return nil
}

// destroyBridge removes a bridge on the node in the background.
func (d *Driver) destroyBridge(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.destroyBridgeLocked(id)
}

func (d *Driver) destroyBridgeLocked(id string) {
	if d.closed {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.RequestTimeout)
		defer cancel()
		if err := d.client.DestroyBridge(ctx, id); err != nil && StatusOf(err) != 404 {
			d.log.Warn("destroy bridge", "bridge_id", id, "err", err)
		}
	}()
}

// LiveCalls lists every channel id on the node (GET /ari/channels); callers join them with
// their own call ids, which are the channel ids of the calls they originated.
func (d *Driver) LiveCalls(ctx context.Context) ([]string, error) {
	if d.cerr != nil {
		return nil, d.cerr
	}
	chs, err := d.client.Channels(ctx)
	if err != nil {
		return nil, fmt.Errorf("live calls on %s: %w", d.cfg.Name, err)
	}
	ours := d.ours(ctx, chs)
	ids := make([]string, 0, len(ours))
	for _, ch := range ours {
		ids = append(ids, ch.ID)
	}
	return ids, nil
}

// ours keeps the channels that are callplane's: those the driver tracks, and those whose
// CALLPLANE_CALL_ID (set at originate) is their own id, which it adopts, so that a call
// originated before a controller restart is followed to its end. Other applications'
// channels on the node are left out.
func (d *Driver) ours(ctx context.Context, chs []Channel) []Channel {
	var out []Channel
	live := make(map[string]bool, len(chs))
	for _, ch := range chs {
		live[ch.ID] = true
		d.mu.Lock()
		tracked, lost := d.calls[ch.ID] != nil, d.lost[ch.ID]
		d.mu.Unlock()
		if lost {
			continue // reported ended (NodeLost): nothing may follow its hang-up
		}
		if !tracked {
			v, err := d.client.Variable(ctx, ch.ID, "CALLPLANE_CALL_ID")
			if err != nil || v != ch.ID {
				continue
			}
			d.mu.Lock()
			if d.calls[ch.ID] == nil {
				d.calls[ch.ID] = &call{id: ch.ID}
				d.log.Info("adopted a call of an earlier run", "call_id", ch.ID, "state", ch.State)
			}
			d.mu.Unlock()
		}
		out = append(out, ch)
	}
	d.mu.Lock()
	for id := range d.lost {
		if !live[id] {
			delete(d.lost, id) // gone from the node too
		}
	}
	d.mu.Unlock()
	return out
}
