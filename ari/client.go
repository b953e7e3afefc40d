package ari

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Client is a focused ARI client: the REST routes callplane uses and the event WebSocket.
// It is safe for concurrent use.
type Client struct {
	base     *url.URL // scheme://host[:port], without /ari
	username string
	password string
	timeout  time.Duration
	http     *http.Client
}

// NewClient returns a client for the ARI server at baseURL (http://host:8088; a trailing
// /ari is accepted). Every REST call is bounded by timeout (default 5 s) on top of its ctx.
func NewClient(baseURL, username, password string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("ari url %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("ari url %q: want http(s)://host:port", baseURL)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/ari")
	u.RawQuery, u.Fragment = "", ""
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Client{
		base: u, username: username, password: password, timeout: timeout,
		http: &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}},
	}, nil
}

// CloseIdleConnections releases the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Error is a non-2xx answer from Asterisk, with its status and message ({"message":...}
// for most errors, {"error":...} for "Allocation failed").
type Error struct {
	Method  string
	Path    string
	Status  int
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("ari %s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// ErrRequestNotSent marks a REST call that failed before the request was written to
// Asterisk (connection refused, ctx done before sending): Asterisk did not act on it.
var ErrRequestNotSent = errors.New("ari request not sent")

// do performs one REST call. body is JSON-encoded when non-nil; out is decoded from a 2xx
// answer when non-nil.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// path is already escaped (esc); build the URL as text so %2F stays encoded.
	target := c.base.String() + "/ari" + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("ari %s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ari %s %s: %w: %w", method, path, ErrRequestNotSent, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return fmt.Errorf("ari %s %s: %w: %w", method, path, ErrRequestNotSent, err)
	}
	req.SetBasicAuth(c.username, c.password)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// The transport reports the write from its own goroutine.
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	}))
	resp, err := c.http.Do(req)
	if err != nil {
		if !wrote.Load() {
			return fmt.Errorf("ari %s %s: %w: %w", method, path, ErrRequestNotSent, err)
		}
		return fmt.Errorf("ari %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("ari %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var m struct {
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		_ = json.Unmarshal(data, &m)
		msg := m.Message
		if msg == "" {
			msg = m.Error
		}
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Message: msg}
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("ari %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

func esc(s string) string { return url.PathEscape(s) }

// OriginateParams are the query and body of POST /ari/channels.
type OriginateParams struct {
	Endpoint  string // PJSIP/8613800138000@carrier-a
	App       string // Stasis application that gets the channel on answer
	AppArgs   []string
	ChannelID string // the id the channel gets (callplane's call id)
	CallerID  string // "Name <number>" or "number"
	// Timeout is the ring timeout; rounded up to whole seconds, 0 = Asterisk's default
	// (30 s), negative = no timeout.
	Timeout   time.Duration
	Variables map[string]string
}

// Originate creates an outbound channel and dials it (POST /ari/channels).
func (c *Client) Originate(ctx context.Context, p OriginateParams) (*Channel, error) {
	q := url.Values{}
	if p.Endpoint != "" {
		q.Set("endpoint", p.Endpoint)
	}
	if p.App != "" {
		q.Set("app", p.App)
	}
	if len(p.AppArgs) > 0 {
		q.Set("appArgs", strings.Join(p.AppArgs, ","))
	}
	if p.ChannelID != "" {
		q.Set("channelId", p.ChannelID)
	}
	if p.CallerID != "" {
		q.Set("callerId", p.CallerID)
	}
	switch {
	case p.Timeout < 0:
		q.Set("timeout", "-1")
	case p.Timeout > 0:
		q.Set("timeout", strconv.FormatInt(int64((p.Timeout+time.Second-1)/time.Second), 10))
	}
	var body any
	if len(p.Variables) > 0 {
		body = map[string]any{"variables": p.Variables}
	}
	var ch Channel
	if err := c.do(ctx, http.MethodPost, "/channels", q, body, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// Channel returns one channel (GET /ari/channels/{id}).
func (c *Client) Channel(ctx context.Context, id string) (*Channel, error) {
	var ch Channel
	if err := c.do(ctx, http.MethodGet, "/channels/"+esc(id), nil, nil, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// Channels lists the node's live channels (GET /ari/channels).
func (c *Client) Channels(ctx context.Context) ([]Channel, error) {
	var chs []Channel
	if err := c.do(ctx, http.MethodGet, "/channels", nil, nil, &chs); err != nil {
		return nil, err
	}
	return chs, nil
}

// Variable reads a channel variable (GET /ari/channels/{id}/variable); a variable the
// channel does not have is an error with status 404, as is a channel that is gone.
func (c *Client) Variable(ctx context.Context, id, name string) (string, error) {
	var v struct {
		Value string `json:"value"`
	}
	if err := c.do(ctx, http.MethodGet, "/channels/"+esc(id)+"/variable", url.Values{"variable": {name}}, nil, &v); err != nil {
		return "", err
	}
	return v.Value, nil
}

// Hangup hangs a channel up with a Q.850 reason code (DELETE /ari/channels/{id}?reason_code=);
// code 0 lets Asterisk choose (normal clearing).
func (c *Client) Hangup(ctx context.Context, id string, reasonCode int) error {
	q := url.Values{}
	if reasonCode > 0 {
		q.Set("reason_code", strconv.Itoa(reasonCode))
	}
	return c.do(ctx, http.MethodDelete, "/channels/"+esc(id), q, nil, nil)
}

// HangupReason hangs a channel up with one of Asterisk's reason names (normal, busy,
// congestion, no_answer, timeout, rejected, unallocated, ...).
func (c *Client) HangupReason(ctx context.Context, id, reason string) error {
	q := url.Values{}
	q.Set("reason", reason)
	return c.do(ctx, http.MethodDelete, "/channels/"+esc(id), q, nil, nil)
}

// Answer answers a channel that is in the application.
func (c *Client) Answer(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/channels/"+esc(id)+"/answer", nil, nil, nil)
}

// Play starts media (sound:name, recording:name, tone:...) on a channel; Asterisk answers
// 201 with state "queued" even for a missing file, which then fails as PlaybackFinished.
func (c *Client) Play(ctx context.Context, channelID, media, playbackID string) (*Playback, error) {
	q := url.Values{}
	q.Set("media", media)
	if playbackID != "" {
		q.Set("playbackId", playbackID)
	}
	var pb Playback
	if err := c.do(ctx, http.MethodPost, "/channels/"+esc(channelID)+"/play", q, nil, &pb); err != nil {
		return nil, err
	}
	return &pb, nil
}

// RecordParams are the query of POST /ari/channels/{id}/record.
type RecordParams struct {
	Name        string // relative to Asterisk's recording directory, no extension
	Format      string // wav, gsm, ulaw...
	MaxDuration time.Duration
	MaxSilence  time.Duration
	IfExists    string // fail, overwrite, append
	Beep        bool
	TerminateOn string // none, any, *, #
}

// Record starts a live recording of a channel.
func (c *Client) Record(ctx context.Context, channelID string, p RecordParams) (*LiveRecording, error) {
	q := url.Values{}
	q.Set("name", p.Name)
	q.Set("format", p.Format)
	q.Set("maxDurationSeconds", strconv.Itoa(int(p.MaxDuration/time.Second)))
	q.Set("maxSilenceSeconds", strconv.Itoa(int(p.MaxSilence/time.Second)))
	if p.IfExists != "" {
		q.Set("ifExists", p.IfExists)
	}
	q.Set("beep", strconv.FormatBool(p.Beep))
	if p.TerminateOn != "" {
		q.Set("terminateOn", p.TerminateOn)
	}
	var rec LiveRecording
	if err := c.do(ctx, http.MethodPost, "/channels/"+esc(channelID)+"/record", q, nil, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// SendDTMF sends digits to a channel.
func (c *Client) SendDTMF(ctx context.Context, channelID, dtmf string, between, duration time.Duration) error {
	q := url.Values{}
	q.Set("dtmf", dtmf)
	if between > 0 {
		q.Set("between", strconv.Itoa(int(between/time.Millisecond)))
	}
	if duration > 0 {
		q.Set("duration", strconv.Itoa(int(duration/time.Millisecond)))
	}
	return c.do(ctx, http.MethodPost, "/channels/"+esc(channelID)+"/dtmf", q, nil, nil)
}

// CreateBridge creates a bridge (type "mixing" for two parties talking).
func (c *Client) CreateBridge(ctx context.Context, bridgeID, typ, name string) (*Bridge, error) {
	q := url.Values{}
	if typ != "" {
		q.Set("type", typ)
	}
	if bridgeID != "" {
		q.Set("bridgeId", bridgeID)
	}
	if name != "" {
		q.Set("name", name)
	}
	var b Bridge
	if err := c.do(ctx, http.MethodPost, "/bridges", q, nil, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// Bridge returns one bridge.
func (c *Client) Bridge(ctx context.Context, bridgeID string) (*Bridge, error) {
	var b Bridge
	if err := c.do(ctx, http.MethodGet, "/bridges/"+esc(bridgeID), nil, nil, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// AddChannel adds channels to a bridge (400 when a channel does not exist).
func (c *Client) AddChannel(ctx context.Context, bridgeID string, channelIDs ...string) error {
	q := url.Values{}
	q.Set("channel", strings.Join(channelIDs, ","))
	return c.do(ctx, http.MethodPost, "/bridges/"+esc(bridgeID)+"/addChannel", q, nil, nil)
}

// RemoveChannel removes channels from a bridge.
func (c *Client) RemoveChannel(ctx context.Context, bridgeID string, channelIDs ...string) error {
	q := url.Values{}
	q.Set("channel", strings.Join(channelIDs, ","))
	return c.do(ctx, http.MethodPost, "/bridges/"+esc(bridgeID)+"/removeChannel", q, nil, nil)
}

// DestroyBridge destroys a bridge; its channels return to the application.
func (c *Client) DestroyBridge(ctx context.Context, bridgeID string) error {
	return c.do(ctx, http.MethodDelete, "/bridges/"+esc(bridgeID), nil, nil, nil)
}

// StopRecording stops a live recording and stores it (POST /recordings/live/{name}/stop).
func (c *Client) StopRecording(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/recordings/live/"+esc(name)+"/stop", nil, nil, nil)
}

// StoredRecording returns a stored recording.
func (c *Client) StoredRecording(ctx context.Context, name string) (*StoredRecording, error) {
	var r StoredRecording
	if err := c.do(ctx, http.MethodGet, "/recordings/stored/"+esc(name), nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// CopyStoredRecording copies a stored recording to dest (409 when dest exists).
func (c *Client) CopyStoredRecording(ctx context.Context, name, dest string) (*StoredRecording, error) {
	q := url.Values{}
	q.Set("destinationRecordingName", dest)
	var r StoredRecording
	if err := c.do(ctx, http.MethodPost, "/recordings/stored/"+esc(name)+"/copy", q, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteStoredRecording deletes a stored recording.
func (c *Client) DeleteStoredRecording(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/recordings/stored/"+esc(name), nil, nil, nil)
}

// Playback returns a playback.
func (c *Client) Playback(ctx context.Context, id string) (*Playback, error) {
	var pb Playback
	if err := c.do(ctx, http.MethodGet, "/playbacks/"+esc(id), nil, nil, &pb); err != nil {
		return nil, err
	}
	return &pb, nil
}

// StopPlayback stops a playback (DELETE /ari/playbacks/{id}).
func (c *Client) StopPlayback(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/playbacks/"+esc(id), nil, nil, nil)
}

// EventStream is one connection of the ARI event WebSocket. Read and Ping may run on
// different goroutines; Read must not be called concurrently with itself.
type EventStream struct {
	conn *websocket.Conn
}

// Connect opens the event WebSocket for app (GET /ari/events?app=&subscribeAll=false)
// with basic auth. The dial is bounded by the client's timeout.
func (c *Client) Connect(ctx context.Context, app string) (*EventStream, error) {
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.base
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path = c.base.Path + "/ari/events"
	q := url.Values{}
	q.Set("app", app)
	q.Set("subscribeAll", "false")
	u.RawQuery = q.Encode()
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.username+":"+c.password)))
	conn, resp, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{
		HTTPClient:   c.http,
		HTTPHeader:   h,
		Subprotocols: []string{"ari"},
	})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, &Error{Method: http.MethodGet, Path: "/events", Status: resp.StatusCode,
				Message: fmt.Sprintf("Asterisk refused ARI user %q or its password (ari.conf)", c.username)}
		}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &Error{Method: http.MethodGet, Path: "/events", Status: resp.StatusCode, Message: err.Error()}
		}
		return nil, fmt.Errorf("ari events %s: %w", app, err)
	}
	conn.SetReadLimit(4 << 20)
	return &EventStream{conn: conn}, nil
}

// Read returns the next event. Malformed messages are returned as errors that do not end
// the stream (errors.Is(err, ErrBadEvent)); connection errors end it.
func (s *EventStream) Read(ctx context.Context) (Event, error) {
	typ, data, err := s.conn.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("ari events: %w", err)
	}
	if typ != websocket.MessageText {
		return nil, fmt.Errorf("%w: binary message", ErrBadEvent)
	}
	ev, err := ParseEvent(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	return ev, nil
}

// ErrBadEvent marks a WebSocket message that is not a valid ARI event.
var ErrBadEvent = errors.New("bad ari event")

// Ping checks the connection; it needs a concurrent Read to receive the pong.
func (s *EventStream) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// Close closes the connection without waiting for the peer.
func (s *EventStream) Close() error { return s.conn.CloseNow() }
