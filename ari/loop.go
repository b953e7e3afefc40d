package ari

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/callplane/callplane/media"
)

// run owns the event WebSocket: it connects, reconciles, reads, and reconnects with
// backoff. It is the only goroutine that sends on d.events, so each call's events keep
// the node's order.
func (d *Driver) run() {
	defer d.wg.Done()
	backoff := d.cfg.ReconnectMin
	var grace *time.Timer // runs from the loss of a connection until the next one
	var graceC <-chan time.Time
	stopGrace := func() {
		if grace != nil {
			grace.Stop()
		}
		grace, graceC = nil, nil
	}
	defer stopGrace()
	for {
		established, err := d.session()
		if d.ctx.Err() != nil {
			return
		}
		if established {
			backoff = d.cfg.ReconnectMin
			stopGrace()
			grace = time.NewTimer(d.cfg.LostGrace)
			graceC = grace.C
			d.log.Warn("ari events disconnected", "err", err)
		} else {
			d.log.Warn("ari events connect failed", "err", err, "retry_in", backoff)
		}
		wait := time.NewTimer(backoff)
	waiting:
		for {
			select {
			case <-d.ctx.Done():
				wait.Stop()
				return
			case <-graceC:
				graceC = nil
				d.endAllLost()
			case <-wait.C:
				break waiting
			}
		}
		if !established {
			backoff = min(backoff*2, d.cfg.ReconnectMax)
		}
	}
}

// session runs one connection: dial, reconcile, read until it fails. established reports
// whether the driver was Up during it.
func (d *Driver) session() (established bool, err error) {
	stream, err := d.client.Connect(d.ctx, d.cfg.App)
	if err != nil {
		return false, err
	}
	defer stream.Close()
	if err := d.reconcile(); err != nil {
		return false, err
	}
	d.up.Store(true)
	defer d.up.Store(false)
	select {
	case <-d.ready:
	default:
		close(d.ready)
	}
	d.log.Info("ari events connected", "app", d.cfg.App)

	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	pingDone := make(chan struct{})
	go func() {
		defer close(pingDone)
		t := time.NewTicker(d.cfg.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(ctx, d.cfg.RequestTimeout)
				err := stream.Ping(pctx)
				pcancel()
				if err != nil && ctx.Err() == nil {
					d.log.Warn("ari events ping failed", "err", err)
					stream.Close()
					return
				}
			}
		}
	}()
	defer func() { cancel(); <-pingDone }()
	for {
		ev, err := stream.Read(ctx)
		if err != nil {
			if errors.Is(err, ErrBadEvent) {
				d.log.Warn("ari event skipped", "err", err)
				continue
			}
			return true, err
		}
		d.emit(d.handle(ev))
	}
}

// emit sends events in order, blocking while the consumer is behind; only Close
// abandons a send.
func (d *Driver) emit(evs []media.Event) {
	for _, ev := range evs {
		select {
		case d.events <- ev:
		case <-d.ctx.Done():
			return
		}
	}
}

// reconcile runs after each (re)connect, before Up: tracked calls the node no longer has
// end with NodeLost; calls that advanced while we were away get their missing events.
func (d *Driver) reconcile() error {
	chs, err := d.client.Channels(d.ctx)
	if err != nil {
		return err
	}
	live := make(map[string]string, len(chs))
	for _, ch := range d.ours(d.ctx, chs) {
		live[ch.ID] = ch.State
	}
	now := d.clock.Now()
	var out []media.Event
	d.mu.Lock()
	for id, c := range d.calls {
		state, ok := live[id]
		if !ok {
			out = append(out, d.lostLocked(c, now)...)
			continue
		}
		switch state {
		case StateRinging:
			out = append(out, d.ringingLocked(c, now)...)
		case StateUp:
			out = append(out, d.answeredLocked(c, now, time.Time{})...)
		}
	}
	d.mu.Unlock()
	d.emit(out)
	return nil
}

// endAllLost ends every tracked call with NodeLost: the grace after a lost connection ran out.
func (d *Driver) endAllLost() {
	now := d.clock.Now()
	var out []media.Event
	d.mu.Lock()
	for _, c := range d.calls {
		out = append(out, d.lostLocked(c, now)...)
	}
	d.mu.Unlock()
	if len(out) > 0 {
		d.log.Warn("node lost: ending tracked calls", "calls", len(out))
	}
	d.emit(out)
}

func (d *Driver) ev(kind media.EventKind, callID string, at time.Time) media.Event {
	return media.Event{Kind: kind, CallID: callID, Node: d.cfg.Name, At: at}
}

func (d *Driver) lostLocked(c *call, now time.Time) []media.Event {
	d.lost[c.id] = true
	out := d.endLocked(c, now)
	e := d.ev(media.EventHangup, c.id, now)
	e.Hangup = &media.Hangup{Cause: media.CauseFromCode(0), Answered: c.answered, Ringing: c.ringing, NodeLost: true}
	return append(out, e)
}

// endLocked forgets a call and flushes what must precede its hang-up: a recording that
// never reported its end is reported now, since nothing may follow the hang-up.
func (d *Driver) endLocked(c *call, now time.Time) []media.Event {
	delete(d.calls, c.id)
	var out []media.Event
	for name, r := range d.recordings {
		if r.callID != c.id {
			continue
		}
		delete(d.recordings, name)
		if !r.started.IsZero() {
			e := d.ev(media.EventRecordingFinished, c.id, now)
			e.File = r.path
			out = append(out, e)
		}
	}
	if c.bridge != "" {
		// A bridge left with one call is destroyed: the survivor (an agent's nailed-up
		// leg) returns to the Stasis application, up and silent, ready for the next bridge.
		alive := 0
		for _, m := range d.bridges[c.bridge] {
			if m != c.id && d.calls[m] != nil {
				alive++
			}
		}
		if alive < 2 {
			for _, m := range d.bridges[c.bridge] {
				if o := d.calls[m]; o != nil && o.bridge == c.bridge {
					o.bridge = ""
				}
			}
			delete(d.bridges, c.bridge)
			d.destroyBridgeLocked(c.bridge)
		}
	}
	return out
}

func (d *Driver) ringingLocked(c *call, now time.Time) []media.Event {
	if c.ringing || c.answered {
		return nil
	}
	c.ringing = true
	return []media.Event{d.ev(media.EventRinging, c.id, now)}
}

func (d *Driver) answeredLocked(c *call, now, nodeAt time.Time) []media.Event {
	if c.answered {
		return nil
	}
	c.answered = true
	c.answeredAt = nodeAt
	c.answeredCk = now
	return []media.Event{d.ev(media.EventAnswered, c.id, now)}
}

// handle turns one ARI event into media events, updating call state.
func (d *Driver) handle(ev Event) []media.Event {
	now := d.clock.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	switch e := ev.(type) {
	case *Dial:
		c := d.calls[e.Peer.ID]
		if c == nil {
			return nil
		}
		switch e.DialStatus {
		case "RINGING":
			return d.ringingLocked(c, now)
		case "PROGRESS":
			if c.early || c.answered {
				return nil
			}
			c.early = true
			return []media.Event{d.ev(media.EventEarlyMedia, c.id, now)}
		case "ANSWER":
			return d.answeredLocked(c, now, e.Timestamp.Time)
		}
	case *ChannelStateChange:
		c := d.calls[e.Channel.ID]
		if c == nil {
			return nil
		}
		switch e.Channel.State {
		case StateRinging:
			return d.ringingLocked(c, now)
		case StateUp:
			return d.answeredLocked(c, now, e.Timestamp.Time)
		}
	case *StasisStart:
		// An originated channel enters the application on answer.
		if c := d.calls[e.Channel.ID]; c != nil && e.Channel.State == StateUp {
			return d.answeredLocked(c, now, e.Timestamp.Time)
		}
	case *ChannelDtmfReceived:
		if c := d.calls[e.Channel.ID]; c != nil {
			out := d.ev(media.EventDTMF, c.id, now)
			out.Digit = e.Digit
			return []media.Event{out}
		}
	case *PlaybackStarted:
		return d.playbackLocked(e.Playback, media.EventPlaybackStarted, now, false)
	case *PlaybackFinished:
		return d.playbackLocked(e.Playback, media.EventPlaybackFinished, now, true)
	case *RecordingStarted:
		if r := d.recordings[e.Recording.Name]; r != nil {
			r.started = e.Timestamp.Time
			if r.started.IsZero() {
				r.started = now
			}
		}
	case *RecordingFinished:
		return d.recordingDoneLocked(e.Recording, e.Timestamp.Time, now)
	case *RecordingFailed:
		d.log.Warn("recording failed", "recording", e.Recording.Name, "cause", e.Recording.Cause)
		return d.recordingDoneLocked(e.Recording, e.Timestamp.Time, now)
	case *ChannelEnteredBridge:
		if e.Channel == nil {
			return nil
		}
		if c := d.calls[e.Channel.ID]; c != nil {
			if c.bridge == "" {
				c.bridge = e.Bridge.ID
			}
			return []media.Event{d.ev(media.EventBridged, c.id, now)}
		}
	case *ChannelDestroyed:
		c := d.calls[e.Channel.ID]
		if c == nil {
			return nil
		}
		out := d.endLocked(c, now)
		h := &media.Hangup{
			Cause:    media.CauseFromCode(e.Cause),
			SIPCode:  e.TechCause,
			Answered: c.answered,
			Ringing:  c.ringing,
		}
		switch {
		case c.answered && e.Cause == 0:
			// Asterisk reports 0 for a far-end hang-up after answer: normal clearing.
			h.Cause = media.CauseFromCode(media.CauseNormalClearing)
		case !c.answered && c.hangupSent && (e.Cause == c.hangupCode || e.Cause == 0 ||
			e.Cause == media.CauseNormalClearing):
			// We hung up before answer: canceled, as FreeSWITCH names it.
			h.Cause = media.CauseFromCode(media.CauseOriginatorCancel)
		}
		if c.answered {
			end := e.Timestamp.Time
			switch {
			case !c.answeredAt.IsZero() && !end.IsZero() && end.After(c.answeredAt):
				h.Talk = end.Sub(c.answeredAt)
			case now.After(c.answeredCk):
				h.Talk = now.Sub(c.answeredCk)
			}
		}
		hev := d.ev(media.EventHangup, c.id, now)
		hev.Hangup = h
		return append(out, hev)
	}
	return nil
}

func targetChannel(uri string) string {
	id, ok := strings.CutPrefix(uri, "channel:")
	if !ok {
		return ""
	}
	return id
}

func (d *Driver) playbackLocked(pb Playback, kind media.EventKind, now time.Time, done bool) []media.Event {
	c := d.calls[targetChannel(pb.TargetURI)]
	file, ok := d.playbacks[pb.ID]
	if done {
		delete(d.playbacks, pb.ID)
	}
	if c == nil {
		return nil
	}
	if !ok {
		file = strings.TrimPrefix(pb.MediaURI, "sound:")
	}
	e := d.ev(kind, c.id, now)
	e.File = file
	return []media.Event{e}
}

func (d *Driver) recordingDoneLocked(rec LiveRecording, at, now time.Time) []media.Event {
	r := d.recordings[rec.Name]
	if r == nil {
		return nil
	}
	delete(d.recordings, rec.Name)
	c := d.calls[r.callID]
	if c == nil {
		return nil
	}
	e := d.ev(media.EventRecordingFinished, c.id, now)
	e.File = r.path
	// ARI reports whole seconds; below one second use the events' millisecond timestamps.
	e.Duration = time.Duration(rec.Duration) * time.Second
	if e.Duration == 0 && !r.started.IsZero() && at.After(r.started) {
		e.Duration = at.Sub(r.started)
	}
	return []media.Event{e}
}
