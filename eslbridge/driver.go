package eslbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/textproto"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callplane/callplane/media"
)

// Config is one FreeSWITCH node. Zero durations take the defaults in the comments.
type Config struct {
	// Name identifies the node in events and logs.
	Name string
	// Address is the event socket, host:port (FreeSWITCH listens on 8021).
	Address string
	// Password is the event socket password; default ClueCon, FreeSWITCH's default.
	Password string
	// DialTemplate turns a number into a dial string with media.DialString, e.g.
	// "sofia/gateway/carrier-a/{number}".
	DialTemplate string
	// DialTimeout bounds connecting and authenticating; default 5 s.
	DialTimeout time.Duration
	// CommandTimeout bounds every command; a timeout marks the connection dead, since
	// replies would no longer match commands. Default 5 s.
	CommandTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff; default 200 ms and 5 s.
	ReconnectMin, ReconnectMax time.Duration
	// LostGrace is how long in-flight calls wait for a reconnect before they end with
	// NodeLost; default 10 s.
	LostGrace time.Duration
	// RingTimeout is the originate_timeout when a request has none; default 30 s.
	RingTimeout time.Duration
	// RecordingsDir is where relative recording paths go on the node; default the
	// node's own recordings_dir (global_getvar, read when connecting).
	RecordingsDir string
	// KeepAlive is the idle interval of the `status` probe that finds a hung node;
	// default 5 s, negative disables it.
	KeepAlive time.Duration
	// ReorderWindow is how long an event waits for older ones that arrive late, before
	// events leave in Event-Sequence order: eslgo runs each event listener in its own
	// goroutine, so events arrive reordered by a few microseconds to milliseconds.
	// Default 20 ms; negative disables the wait.
	ReorderWindow time.Duration
	// EventBuffer is the capacity of the Events channel; default 4096.
	EventBuffer int
}

func (c *Config) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&c.DialTimeout, 5*time.Second)
	set(&c.CommandTimeout, 5*time.Second)
	set(&c.ReconnectMin, 200*time.Millisecond)
	set(&c.ReconnectMax, 5*time.Second)
	set(&c.LostGrace, 10*time.Second)
	set(&c.RingTimeout, 30*time.Second)
	set(&c.KeepAlive, 5*time.Second)
	set(&c.ReorderWindow, 20*time.Millisecond)
	if c.EventBuffer <= 0 {
		c.EventBuffer = 4096
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.Name == "" {
		c.Name = c.Address
	}
	if c.Password == "" {
		c.Password = "ClueCon"
	}
	if c.DialTemplate == "" {
		c.DialTemplate = "sofia/gateway/default/{number}"
	}
}

// liveMarker is set as the channel's presence_data, the one field of `show channels`
// that carries a value chosen at originate: LiveCalls finds callplane's channels by it
// after a controller restart.
const liveMarker = "callplane"

// subscribed is every event the driver needs, and no more.
var subscribed = []string{"CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_ANSWER",
	"CHANNEL_HANGUP_COMPLETE", "CHANNEL_BRIDGE", "BACKGROUND_JOB", "DTMF", "PLAYBACK_START",
	"PLAYBACK_STOP", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "RECORD_STOP"}

var errNotConnected = errors.New("not connected")

// Driver is one FreeSWITCH node over one inbound event socket connection.
type Driver struct {
	cfg   Config
	clock media.Clock
	log   *slog.Logger

	events chan media.Event
	in     chan *rawEvent
	ops    chan op
	stop   chan struct{} // closed by Close
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	sess    *eslConn
	started bool
	closed  bool
	up      atomic.Bool
	wg      sync.WaitGroup

	originates, notSent, ambiguous, reconnects, delivered atomic.Int64
	recDir                                                atomic.Pointer[string] // the node's recordings_dir
}

var _ media.Driver = (*Driver)(nil)

// New builds a driver; Start connects it.
func New(cfg Config, clock media.Clock, log *slog.Logger) *Driver {
	cfg.defaults()
	if clock == nil {
		clock = media.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Driver{
		cfg:    cfg,
		clock:  clock,
		log:    log.With("node", cfg.Name),
		events: make(chan media.Event, cfg.EventBuffer),
		in:     make(chan *rawEvent, 1024),
		ops:    make(chan op),
		stop:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
	}
}

// Start runs the event sequencer and the connect loop in the background; the loop
// reconnects with backoff until Close or until ctx ends.
func (d *Driver) Start(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started || d.closed {
		return
	}
	d.started = true
	d.wg.Add(2)
	go d.sequence()
	go d.connectLoop(ctx)
}

// Events delivers normalized call events; see the package documentation for the order.
func (d *Driver) Events() <-chan media.Event { return d.events }

// Up reports whether the driver is connected, authenticated and subscribed.
func (d *Driver) Up() bool { return d.up.Load() }

// Close disconnects without sending exit, stops reconnecting and closes Events once
// every goroutine has ended. Events not yet delivered are discarded.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	started := d.started
	sess := d.sess
	d.mu.Unlock()
	close(d.stop)
	d.cancel()
	if sess != nil {
		sess.kill()
	}
	d.wg.Wait()
	if !started {
		close(d.events)
	}
	return nil
}

// Counters are cumulative figures for metrics.
type Counters struct {
	Originates, NotSent, Ambiguous, Reconnects, Delivered int64
}

// Counters returns the driver's counters.
func (d *Driver) Counters() Counters {
	return Counters{d.originates.Load(), d.notSent.Load(), d.ambiguous.Load(), d.reconnects.Load(), d.delivered.Load()}
}

// send runs one command on c within CommandTimeout; Close cancels it.
func (d *Driver) send(ctx context.Context, c *eslConn, cmd string) (frame, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.CommandTimeout)
	defer cancel()
	stop := context.AfterFunc(d.ctx, cancel)
	defer stop()
	return c.send(ctx, cmd)
}

// api runs `api <cmd>` on the current connection and returns the reply text.
func (d *Driver) api(ctx context.Context, cmd string) (string, error) {
	c := d.session()
	if c == nil {
		return "", errNotConnected
	}
	f, _, err := d.send(ctx, c, "api "+cmd)
	if err != nil {
		return "", err
	}
	return f.replyText(), nil
}

func (d *Driver) session() *eslConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sess
}

// Originate sends `bgapi originate {vars}<dial string> &park()` with the call id as
// origination_uuid.
func (d *Driver) Originate(ctx context.Context, req media.OriginateRequest) error {
	if req.CallID == "" || (req.Number == "" && req.Endpoint == "") {
		return fmt.Errorf("originate %q: call id and number or endpoint are required: %w", req.CallID, media.ErrNotSent)
	}
	if !validCallID(req.CallID) {
		return fmt.Errorf("originate %q: invalid call id: %w", req.CallID, media.ErrInvalid)
	}
	if err := media.CheckOriginate(media.KindFreeSWITCH, req, d.dialString(req)); err != nil {
		return err
	}
	s := d.session()
	if s == nil || !d.Up() {
		d.notSent.Add(1)
		return fmt.Errorf("originate %s on %s: %w: %w", req.CallID, d.cfg.Name, media.ErrNotSent, errNotConnected)
	}
	var dup bool
	if !d.do(false, func(n *normalizer) { dup = !n.track(req.CallID) }) {
		return fmt.Errorf("originate %s: driver closed: %w", req.CallID, media.ErrNotSent)
	}
	if dup {
		return fmt.Errorf("originate %s: call id already in progress on %s", req.CallID, d.cfg.Name)
	}
	d.originates.Add(1)
	// The job's result finds the call by the origination_uuid in its arguments.
	resp, sent, err := d.send(ctx, s, "bgapi originate "+d.originateArgs(req))
	if err != nil {
		if !sent {
			d.do(false, func(n *normalizer) { n.untrack(req.CallID) })
			d.notSent.Add(1)
			return fmt.Errorf("originate %s on %s: %w: %w", req.CallID, d.cfg.Name, media.ErrNotSent, err)
		}
		// Written but unanswered: the node may be dialing. The call stays tracked and
		// is settled by its events or by the reconcile after reconnecting.
		d.ambiguous.Add(1)
		return fmt.Errorf("originate %s on %s: no reply, the call may be placed: %w", req.CallID, d.cfg.Name, err)
	}
	if t := resp.replyText(); !strings.HasPrefix(t, "+OK") {
		d.do(false, func(n *normalizer) { n.untrack(req.CallID) })
		d.notSent.Add(1)
		return fmt.Errorf("originate %s on %s: refused %q: %w", req.CallID, d.cfg.Name, t, media.ErrNotSent)
	}
	return nil
}

// originateArgs builds `{vars}<dial string> &park()`.
func (d *Driver) originateArgs(req media.OriginateRequest) string {
	ring := req.RingTimeout
	if ring <= 0 {
		ring = d.cfg.RingTimeout
	}
	vars := []string{
		"origination_uuid=" + req.CallID,
		"callplane_call_id=" + req.CallID,
		"presence_data=" + liveMarker,
	}
	if req.CallerIDNumber != "" {
		vars = append(vars, "origination_caller_id_number="+escapeVar(req.CallerIDNumber))
	}
	if req.CallerIDName != "" {
		vars = append(vars, "origination_caller_id_name="+escapeVar(req.CallerIDName))
	}
	vars = append(vars, fmt.Sprintf("originate_timeout=%d", int(math.Ceil(ring.Seconds()))))
	keys := make([]string, 0, len(req.Vars))
	for k := range req.Vars {
		if validVarName(k) && !reservedVar[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		vars = append(vars, k+"="+escapeVar(req.Vars[k]))
	}
	return "{" + strings.Join(vars, ",") + "}" + d.dialString(req) + " &park()"
}

// dialString is the request's endpoint, or its number through the dial template; Originate
// checks it against media.CheckEndpoint, whose grammar has nothing to escape.
func (d *Driver) dialString(req media.OriginateRequest) string {
	if req.Endpoint != "" {
		return req.Endpoint
	}
	return media.DialString(req.Template(media.KindFreeSWITCH, d.cfg.DialTemplate), req.Number)
}

// validCallID: callplane's call ids are UUIDs; only their characters reach a command.
func validCallID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

var reservedVar = map[string]bool{"origination_uuid": true, "callplane_call_id": true, "presence_data": true,
	"originate_timeout": true, "origination_caller_id_number": true, "origination_caller_id_name": true}

func validVarName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Hangup ends the call at once with `api uuid_kill` (sendmsg hangup would wait
// behind a running playback).
func (d *Driver) Hangup(ctx context.Context, callID, cause string) error {
	if cause == "" {
		cause = "NORMAL_CLEARING"
	}
	if media.CauseFromName(cause).Code < 0 {
		cause = "NORMAL_CLEARING" // only cause names of the table reach the node
	}
	return d.callCommand(ctx, "hangup", callID, "uuid_kill "+callID+" "+cause)
}

// Play broadcasts a prompt to the call's A leg. Only prompts of media.CheckPrompt's grammar
// are sent: a file name is played as it is (it holds no "::", so uuid_broadcast never reads
// it as an application), a tone becomes tone_stream://, and text to speech
// ("tts:<voice>:<text>", media.TTS) is spoken with mod_flite through the speak application,
// its text made inert first (no '|' to split the speak arguments, no '$' or braces to
// expand).
func (d *Driver) Play(ctx context.Context, callID, file string) error {
	arg, err := broadcastArg(file)
	if err != nil {
		return fmt.Errorf("play on %s: %w: %w", callID, media.ErrInvalid, err)
	}
	d.do(false, func(n *normalizer) { n.playing(callID, arg, file) })
	return d.callCommand(ctx, "play", callID, "uuid_broadcast "+callID+" "+escapeArg(arg)+" aleg")
}

// broadcastArg turns a checked prompt into uuid_broadcast's path argument.
func broadcastArg(file string) (string, error) {
	if err := media.CheckPrompt(file); err != nil {
		return "", err
	}
	if hz, ms, err := media.ParseTone(file); err == nil {
		return fmt.Sprintf("tone_stream://%%(%d,0,%d)", ms, hz), nil
	}
	if voice, text, ok := media.ParseTTS(file); ok {
		if voice == "" {
			voice = "kal"
		}
		return "speak::flite|" + voice + "|" + strings.ReplaceAll(media.CleanTTS(text), "|", " "), nil
	}
	return file, nil
}

// Record starts recording the call to path on the node: an absolute path, or one
// relative to the node's recordings directory (FreeSWITCH itself would put a relative
// path under its sound prefix, and then not find it to stop: see nodePath).
func (d *Driver) Record(ctx context.Context, callID, path string) error {
	if err := media.CheckRecordPath(path); err != nil {
		return fmt.Errorf("record %s: %w: %w", callID, media.ErrInvalid, err)
	}
	abs := d.nodePath(path)
	d.do(false, func(n *normalizer) { n.recording(callID, abs, path) })
	return d.callCommand(ctx, "record", callID, "uuid_record "+callID+" start "+escapeArg(abs))
}

// StopRecord stops the recording to path; EventRecordingFinished follows with File = path.
func (d *Driver) StopRecord(ctx context.Context, callID, path string) error {
	if err := media.CheckRecordPath(path); err != nil {
		return fmt.Errorf("stop record %s: %w: %w", callID, media.ErrInvalid, err)
	}
	return d.callCommand(ctx, "stop record", callID, "uuid_record "+callID+" stop "+escapeArg(d.nodePath(path)))
}

// nodePath is path as the node is to be given it: absolute paths as they are, relative
// ones under the recordings directory (Config.RecordingsDir, else the node's own
// recordings_dir, read when connecting). uuid_record resolves a relative path against
// the sound prefix at start but compares stop's path unresolved, so a relative path
// could never be stopped (seen on FreeSWITCH 1.10.12).
func (d *Driver) nodePath(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	dir := d.cfg.RecordingsDir
	if dir == "" {
		if v := d.recDir.Load(); v != nil {
			dir = *v
		}
	}
	if dir == "" {
		return p
	}
	return strings.TrimSuffix(dir, "/") + "/" + p
}

// Bridge connects two answered calls on this node.
func (d *Driver) Bridge(ctx context.Context, callA, callB string) error {
	if !validCallID(callB) {
		return fmt.Errorf("bridge %s %q: %w", callA, callB, media.ErrUnknownCall)
	}
	return d.callCommand(ctx, "bridge", callA, "uuid_bridge "+callA+" "+callB)
}

// unknownReplies are the mod_commands replies meaning "no such channel".
var unknownReplies = []string{"-ERR No such channel", "-ERR invalid uuid", "-ERR Invalid uuid", "-ERR Cannot locate session"}

func (d *Driver) callCommand(ctx context.Context, what, callID, cmd string) error {
	if !validCallID(callID) {
		return fmt.Errorf("%s %q: %w", what, callID, media.ErrUnknownCall)
	}
	reply, err := d.api(ctx, cmd)
	if err != nil {
		return fmt.Errorf("%s %s on %s: %w", what, callID, d.cfg.Name, err)
	}
	reply = strings.TrimSpace(reply)
	if strings.HasPrefix(reply, "+OK") {
		return nil
	}
	for _, u := range unknownReplies {
		if strings.HasPrefix(reply, u) {
			return fmt.Errorf("%s %s on %s: %s: %w", what, callID, d.cfg.Name, reply, media.ErrUnknownCall)
		}
	}
	return fmt.Errorf("%s %s on %s: %s", what, callID, d.cfg.Name, reply)
}

// channelRow is the part of a `show channels as json` row the driver reads.
type channelRow struct {
	UUID         string `json:"uuid"`
	PresenceData string `json:"presence_data"`
}

func (d *Driver) showChannels(ctx context.Context) ([]channelRow, error) {
	reply, err := d.api(ctx, "show channels as json")
	if err != nil {
		return nil, err
	}
	reply = strings.TrimSpace(reply)
	if strings.HasPrefix(reply, "-ERR") {
		return nil, fmt.Errorf("show channels: %s", reply)
	}
	var out struct {
		Rows []channelRow `json:"rows"`
	}
	if err := json.Unmarshal([]byte(reply), &out); err != nil {
		return nil, fmt.Errorf("show channels: %w", err)
	}
	return out.Rows, nil
}

// LiveCalls lists callplane's calls on the node: channels the driver tracks or that
// carry callplane's marker. Marked channels it did not know are adopted, so their
// later events are delivered.
func (d *Driver) LiveCalls(ctx context.Context) ([]string, error) {
	rows, err := d.showChannels(ctx)
	if err != nil {
		return nil, fmt.Errorf("live calls on %s: %w", d.cfg.Name, err)
	}
	var ids []string
	d.do(false, func(n *normalizer) {
		for _, r := range rows {
			if r.PresenceData == liveMarker {
				n.adopt(r.UUID)
			}
			if n.tracked(r.UUID) {
				ids = append(ids, r.UUID)
			}
		}
	})
	return ids, nil
}

// connectLoop keeps one session up until Close.
func (d *Driver) connectLoop(ctx context.Context) {
	defer d.wg.Done()
	backoff := d.cfg.ReconnectMin
	var downSince time.Time // zero while up or before the first connection
	expired := false
	for {
		if d.stopped(ctx) {
			return
		}
		s, err := d.connect(ctx)
		if err == nil {
			err = d.reconcile(ctx, s)
			if err != nil {
				s.kill()
			}
		}
		if err != nil {
			d.log.Warn("connect failed", "addr", d.cfg.Address, "err", err)
			if downSince.IsZero() {
				downSince = time.Now()
			}
			wait := backoff
			backoff = min(2*backoff, d.cfg.ReconnectMax)
			if !expired {
				if left := d.cfg.LostGrace - time.Since(downSince); left <= 0 {
					expired = true
					d.loseAll()
				} else {
					wait = min(wait, left)
				}
			}
			if !d.sleep(ctx, wait) {
				return
			}
			continue
		}
		backoff = d.cfg.ReconnectMin
		downSince, expired = time.Time{}, false
		d.mu.Lock()
		d.sess = s
		d.mu.Unlock()
		d.up.Store(true)
		d.log.Info("connected", "addr", d.cfg.Address)
		d.keepAlive(ctx, s)
		d.up.Store(false)
		d.mu.Lock()
		d.sess = nil
		d.mu.Unlock()
		s.kill()
		if d.stopped(ctx) {
			return
		}
		d.reconnects.Add(1)
		d.log.Warn("disconnected", "addr", d.cfg.Address)
		downSince = time.Now()
		if !d.sleep(ctx, d.cfg.ReconnectMin) {
			return
		}
	}
}

func (d *Driver) stopped(ctx context.Context) bool {
	select {
	case <-d.stop:
		return true
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

func (d *Driver) sleep(ctx context.Context, dur time.Duration) bool {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-d.stop:
		return false
	case <-ctx.Done():
		return false
	}
}

// keepAlive waits until the session dies, probing an idle node with `status` so that a
// hung node is noticed within KeepAlive + CommandTimeout.
func (d *Driver) keepAlive(ctx context.Context, s *eslConn) {
	var tick <-chan time.Time
	if d.cfg.KeepAlive > 0 {
		t := time.NewTicker(d.cfg.KeepAlive)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-s.dead:
			return
		case <-d.stop:
			return
		case <-ctx.Done():
			return
		case <-tick:
			if _, _, err := d.send(ctx, s, "api status"); err != nil {
				d.log.Warn("keepalive failed", "err", err)
				s.kill()
				return
			}
		}
	}
}

// loseAll ends every tracked call with NodeLost: the node stayed away past LostGrace.
func (d *Driver) loseAll() {
	d.do(true, func(n *normalizer) {
		ids := make([]string, 0, len(n.calls))
		for id := range n.calls {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			n.lost(id)
		}
	})
}

// reconcile runs after (re)connecting: tracked calls that are gone from the node ended
// while the driver was away and end with NodeLost; marked calls it did not know are
// adopted.
func (d *Driver) reconcile(ctx context.Context, s *eslConn) error {
	d.mu.Lock()
	d.sess = s
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		if d.sess == s {
			d.sess = nil
		}
		d.mu.Unlock()
	}()
	rows, err := d.showChannels(ctx)
	if err != nil {
		return err
	}
	// Let events that arrived with the reply reach the sequencer, which flushes them
	// before the reconcile runs.
	if d.cfg.ReorderWindow > 0 && !d.sleep(ctx, 2*d.cfg.ReorderWindow) {
		return context.Canceled
	}
	d.do(true, func(n *normalizer) {
		live := make(map[string]bool, len(rows))
		for _, r := range rows {
			live[r.UUID] = true
			if r.PresenceData == liveMarker {
				n.adopt(r.UUID)
			}
		}
		var gone []string
		for id := range n.calls {
			if !live[id] {
				gone = append(gone, id)
			}
		}
		sort.Strings(gone)
		for _, id := range gone {
			n.lost(id)
		}
	})
	return nil
}

// connect dials, authenticates and subscribes, within DialTimeout.
func (d *Driver) connect(ctx context.Context) (*eslConn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(d.ctx, cancel)
	defer stop()
	c, err := dialESL(ctx, d.cfg.Address, d.cfg.Password, d.cfg.DialTimeout, d.log, d.onEvent)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", d.cfg.Address, err)
	}
	f, _, err := d.send(ctx, c, "event plain "+strings.Join(subscribed, " "))
	if err != nil {
		c.kill()
		return nil, fmt.Errorf("subscribe on %s: %w", d.cfg.Address, err)
	}
	if t := f.replyText(); !strings.HasPrefix(t, "+OK") {
		c.kill()
		return nil, fmt.Errorf("subscribe on %s: %s", d.cfg.Address, t)
	}
	if d.cfg.RecordingsDir == "" {
		f, _, err := d.send(ctx, c, "api global_getvar recordings_dir")
		if err != nil {
			c.kill()
			return nil, fmt.Errorf("recordings_dir of %s: %w", d.cfg.Address, err)
		}
		if dir := strings.TrimSpace(f.replyText()); strings.HasPrefix(dir, "/") {
			d.recDir.Store(&dir)
		}
	}
	return c, nil
}

// onEvent runs on a connection's reader goroutine, in the node's order.
func (d *Driver) onEvent(h textproto.MIMEHeader, body []byte) {
	e := decode(h, body, time.Now())
	select {
	case d.in <- e:
	case <-d.stop:
	}
}
