package campaigns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/callplane/callplane/ivr"
	"github.com/callplane/callplane/media"
)

// Internal events of a call's flow, sent by the engine's command goroutines.
const (
	evWebhookOK     media.EventKind = "callplane.webhook_ok" // File carries the JSON body
	evWebhookFailed media.EventKind = "callplane.webhook_failed"
)

// ivrCall is a call running a flow. The interpreter (ivr.Step) decides; this carries out
// its actions with the call's driver and turns the driver's events back into flow events,
// so a flow behaves the same on FreeSWITCH and Asterisk. Owned by the engine loop.
type ivrCall struct {
	flow    *ivr.Flow
	version int
	st      ivr.State
	ctx     ivr.Context
	path    []ivr.Transition

	collect    *ivr.Collect // waiting for digits
	digits     string
	promptDone bool
	deadline   time.Time // input: from the end of the prompt; record: the max length
	recording  string    // the file being recorded
	recorded   string
	recLen     time.Duration
	// plays counts the prompts sent and not yet finished: only the end of the last one
	// is the current prompt's (a caller may press during an earlier one).
	plays int
	// xfer is the call to an external number this call is being transferred to.
	xfer string
}

// startFlow runs the campaign's flow on an answered call.
func (e *engine) startFlow(ctx context.Context, callID string, c *liveCall, now time.Time) bool {
	f, version, err := e.d.flows.current(ctx, e.c.Flow, now)
	if err != nil {
		e.log.Warn("flow unavailable: playing the prompt instead", "flow", e.c.Flow, "err", err)
		return false
	}
	contact, err := e.d.store.flowContact(ctx, callID)
	if err != nil {
		e.log.Warn("contact of a flow call", "call_id", callID, "err", err)
	}
	contact.MaskedNumber = maskNumber(contact.Number)
	c.ivr = &ivrCall{flow: f, version: version, ctx: ivr.Context{Contact: contact}}
	e.flowEvent(ctx, callID, c, ivr.Event{Kind: ivr.EventStart}, now)
	return true
}

// flowEvent feeds one event to the call's flow and carries out the actions.
func (e *engine) flowEvent(ctx context.Context, callID string, c *liveCall, ev ivr.Event, now time.Time) {
	r := c.ivr
	r.ctx.Now = now
	st, actions, steps, err := ivr.Step(r.flow, r.st, ev, r.ctx)
	if err != nil && !errors.Is(err, ivr.ErrLoop) {
		e.log.Debug("flow event ignored", "call_id", callID, "event", ev.Kind, "err", err)
		return
	}
	r.st, r.path = st, append(r.path, steps...)
	r.collect = nil
	for _, s := range steps {
		if s.Result == ivr.ResultPromptRefused {
			// Its value came from the contact or the flow's variables (see ivr.Play).
			e.log.Warn("flow prompt refused by media.CheckPrompt: skipped", "call_id", callID, "node", s.Node)
		}
	}
	for _, a := range actions {
		e.flowAction(ctx, callID, c, a, now)
	}
}

func (e *engine) flowAction(ctx context.Context, callID string, c *liveCall, a ivr.Action, now time.Time) {
	r := c.ivr
	play := func(p ivr.Play) {
		file := p.File
		if file == "" {
			file = media.TTS(p.Voice, p.TTS)
		}
		r.plays++
		e.command(ctx, callID, c.node, "play", func(ctx context.Context, drv media.Driver) error {
			return drv.Play(ctx, callID, file)
		})
	}
	switch a := a.(type) {
	case ivr.Play:
		play(a)
	case ivr.Collect:
		r.collect, r.digits, r.promptDone = &a, "", false
		if a.Prompt == (ivr.Play{}) { // refused: wait for input at once
			r.promptDone, r.deadline = true, now.Add(a.Timeout)
			return
		}
		play(a.Prompt)
	case ivr.Record:
		if a.Beep {
			play(ivr.Play{File: media.Beep})
		}
		r.recording = fmt.Sprintf("callplane/recordings/%d/%s-%d.wav", e.id, callID, r.st.Steps)
		r.deadline = now.Add(a.MaxLength)
		path := r.recording
		e.command(ctx, callID, c.node, "record", func(ctx context.Context, drv media.Driver) error {
			return drv.Record(ctx, callID, path)
		})
	case ivr.Transfer:
		if a.Queue == "" {
			e.transferOut(ctx, callID, c, a, now)
			return
		}
		agent, leg, ok := e.d.desk.Reserve(e.id, c.node, callID)
		drv := e.d.pool.Driver(c.node)
		if !ok || drv == nil {
			if ok {
				e.d.desk.Unreserve(agent, callID)
			}
			e.flowEvent(ctx, callID, c, ivr.Event{Kind: ivr.EventTransferFailed}, now)
			return
		}
		c.ag.agent = agent
		e.bridgeCmd(ctx, drv, callID, leg, c.node)
	case ivr.Webhook:
		e.webhook(ctx, callID, a)
	case ivr.AddDNC:
		entry := DNCEntry{Phone: a.Number, Source: "ivr:" + r.flow.ID}
		if a.List != ivr.DNCGlobal {
			id := e.id
			entry.CampaignID = &id
		}
		if _, err := e.d.store.AddDNC(ctx, []DNCEntry{entry}, now); err != nil {
			e.log.Warn("flow: add to the do-not-call list", "call_id", callID, "err", err)
		}
	case ivr.Hangup:
		e.command(ctx, callID, c.node, "hangup", func(ctx context.Context, drv media.Driver) error {
			return drv.Hangup(ctx, callID, a.Cause)
		})
	}
}

// transferOut calls the external number on the call's node; when it answers the two are
// bridged (TransferDone), when it does not the flow takes its failure branch.
func (e *engine) transferOut(ctx context.Context, callID string, c *liveCall, a ivr.Transfer, now time.Time) {
	out := uuid.NewString()
	c.ivr.xfer = out
	e.xfers[out] = callID
	e.d.claim(out, e)
	req := media.OriginateRequest{CallID: out, Number: a.Number, CallerIDNumber: e.c.CallerID, RingTimeout: a.Timeout,
		Vars: map[string]string{"callplane_campaign": strconv.FormatInt(e.id, 10), "callplane_transfer_of": callID}}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := e.d.pool.OriginateOn(ctx, "", c.node, req); err != nil {
			e.log.Warn("flow transfer: call the number", "call_id", callID, "err", err)
			e.inbox.push(media.Event{Kind: media.EventHangup, CallID: out, Hangup: &media.Hangup{Cause: media.CauseFromName("NORMAL_TEMPORARY_FAILURE")}})
		}
	}()
}

// transferEvent handles an event of a transfer's outbound leg.
func (e *engine) transferEvent(ctx context.Context, ev media.Event) {
	callID := e.xfers[ev.CallID]
	c := e.calls[callID]
	switch ev.Kind {
	case media.EventAnswered:
		if c == nil || c.ivr == nil || c.ivr.xfer != ev.CallID {
			e.command(ctx, ev.CallID, ev.Node, "hangup", func(ctx context.Context, drv media.Driver) error {
				return drv.Hangup(ctx, ev.CallID, "NORMAL_CLEARING")
			})
			return
		}
		if drv := e.d.pool.Driver(c.node); drv != nil {
			e.bridgeCmd(ctx, drv, callID, ev.CallID, c.node)
		}
	case media.EventHangup:
		delete(e.xfers, ev.CallID)
		e.d.release(ev.CallID)
		if c != nil && c.ivr != nil && c.ivr.xfer == ev.CallID {
			c.ivr.xfer = ""
			if c.ivr.st.Phase == ivr.PhaseTransfer {
				e.flowEvent(ctx, callID, c, ivr.Event{Kind: ivr.EventTransferFailed}, e.d.clock.Now())
				return
			}
			// The number it was put through to hung up: so does the caller (Asterisk would
			// leave it alone in the bridge).
			e.command(ctx, callID, c.node, "hangup", func(ctx context.Context, drv media.Driver) error {
				return drv.Hangup(ctx, callID, "NORMAL_CLEARING")
			})
		}
	}
}

// webhook calls the endpoint without holding up the loop; the answer comes back as an
// internal event. The request goes out under the dialer's WebhookPolicy (allow-list,
// no private addresses, redirects to the same host only); a refusal is a failed webhook.
func (e *engine) webhook(ctx context.Context, callID string, a ivr.Webhook) {
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Timeout)
		defer cancel()
		var body io.Reader
		if a.Body != nil {
			body = bytes.NewReader(a.Body)
		}
		ev := media.Event{Kind: evWebhookFailed, CallID: callID}
		req, err := http.NewRequestWithContext(ctx, a.Method, a.URL, body)
		if err == nil {
			err = e.d.cfg.Webhooks.check(a.URL)
		}
		if err == nil {
			if a.Body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			var resp *http.Response
			if resp, err = e.d.hooks.Do(req); err == nil {
				b, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				if rerr == nil && resp.StatusCode/100 == 2 {
					ev = media.Event{Kind: evWebhookOK, CallID: callID, File: string(b)}
				}
			}
		}
		if err != nil {
			e.log.Warn("flow webhook failed", "call_id", callID, "err", err)
		}
		e.inbox.push(ev)
	}()
}

// flowMediaEvent turns a driver event of a flow call into a flow event; false when the
// event is not the flow's.
func (e *engine) flowMediaEvent(ctx context.Context, ev media.Event, c *liveCall) bool {
	r := c.ivr
	if r == nil || r.st.Done() {
		return false
	}
	now := e.d.clock.Now()
	switch ev.Kind {
	case media.EventPlaybackFinished:
		if r.plays > 0 {
			r.plays--
		}
		if r.plays > 0 {
			return true // an earlier prompt
		}
		switch r.st.Phase {
		case ivr.PhasePrompt:
			e.flowEvent(ctx, ev.CallID, c, ivr.Event{Kind: ivr.EventPlaybackDone}, now)
		case ivr.PhaseInput:
			if r.collect != nil && !r.promptDone {
				r.promptDone, r.deadline = true, now.Add(r.collect.Timeout)
			}
		}
	case media.EventDTMF:
		if r.st.Phase != ivr.PhaseInput || r.collect == nil {
			return true
		}
		r.digits += ev.Digit
		col := r.collect
		if (col.Terminator != "" && strings.HasSuffix(r.digits, col.Terminator)) || len(r.digits) >= max(col.MaxDigits, 1) {
			e.flowEvent(ctx, ev.CallID, c, ivr.Event{Kind: ivr.EventDigits, Digits: r.digits}, now)
		} else if r.promptDone {
			r.deadline = now.Add(col.Timeout) // the time between digits
		}
	case media.EventRecordingFinished:
		if r.st.Phase == ivr.PhaseRecord {
			r.recorded, r.recLen, r.recording = ev.File, ev.Duration, ""
			e.flowEvent(ctx, ev.CallID, c, ivr.Event{Kind: ivr.EventRecordingDone, Ref: ev.File, Duration: ev.Duration}, now)
		}
	case media.EventBridged:
		if r.st.Phase == ivr.PhaseTransfer && r.xfer != "" {
			e.flowEvent(ctx, ev.CallID, c, ivr.Event{Kind: ivr.EventTransferDone}, now)
			return true
		}
		if r.st.Phase == ivr.PhaseTransfer && c.ag.agent != 0 && c.ag.bridged.IsZero() {
			c.ag.bridged = now
			e.d.desk.Bridged(c.ag.agent, ev.CallID)
			if err := e.d.store.SetAttemptAgent(ctx, ev.CallID, c.ag.agent, now); err != nil {
				e.log.Warn("record the agent of a call", "call_id", ev.CallID, "err", err)
			}
			e.d.hub.Publish(LiveEvent{Type: "call.bridged", At: now, CampaignID: e.id, CallID: ev.CallID, Node: c.node, AgentID: c.ag.agent})
			e.flowEvent(ctx, ev.CallID, c, ivr.Event{Kind: ivr.EventTransferDone}, now)
		}
	case evBridgeFailed:
		if r.st.Phase == ivr.PhaseTransfer && r.xfer != "" {
			e.flowEvent(ctx, ev.CallID, c, ivr.Event{Kind: ivr.EventTransferFailed}, now)
			return true
		}
		if r.st.Phase == ivr.PhaseTransfer && c.ag.agent != 0 {
			e.d.desk.Unreserve(c.ag.agent, ev.CallID)
			c.ag.agent = 0
			e.flowEvent(ctx, ev.CallID, c, ivr.Event{Kind: ivr.EventTransferFailed}, now)
		}
	case evWebhookOK:
		e.flowEvent(ctx, ev.CallID, c, ivr.Event{Kind: ivr.EventWebhookResult, Body: []byte(ev.File)}, now)
	case evWebhookFailed:
		e.flowEvent(ctx, ev.CallID, c, ivr.Event{Kind: ivr.EventWebhookFailed}, now)
	default:
		return false
	}
	return true
}

// flowTimers ends the input waits and recordings whose time is up.
func (e *engine) flowTimers(ctx context.Context, now time.Time) {
	for id, c := range e.calls {
		r := c.ivr
		if r == nil || r.st.Done() || r.deadline.IsZero() || now.Before(r.deadline) {
			continue
		}
		switch {
		case r.st.Phase == ivr.PhaseInput && r.collect != nil && r.promptDone:
			r.deadline = time.Time{}
			if r.digits != "" {
				e.flowEvent(ctx, id, c, ivr.Event{Kind: ivr.EventDigits, Digits: r.digits}, now)
			} else {
				e.flowEvent(ctx, id, c, ivr.Event{Kind: ivr.EventInputTimeout}, now)
			}
		case r.st.Phase == ivr.PhaseRecord && r.recording != "":
			r.deadline = time.Time{}
			path := r.recording
			e.command(ctx, id, c.node, "stop recording", func(ctx context.Context, drv media.Driver) error {
				return drv.StopRecord(ctx, id, path)
			})
		}
	}
}

// flowEnded: the call is over; its path is stored with the attempt.
func (e *engine) flowEnded(ctx context.Context, callID string, c *liveCall) {
	r := c.ivr
	if !r.st.Done() {
		e.flowEvent(ctx, callID, c, ivr.Event{Kind: ivr.EventCallerHungUp}, e.d.clock.Now())
	}
	if out := r.xfer; out != "" {
		// The caller left: the transfer's other leg goes too.
		e.command(ctx, out, c.node, "hangup", func(ctx context.Context, drv media.Driver) error {
			return drv.Hangup(ctx, out, "NORMAL_CLEARING")
		})
	}
	if c.ag.agent != 0 {
		if c.ag.bridged.IsZero() {
			e.d.desk.Unreserve(c.ag.agent, callID)
		} else {
			e.d.desk.CallEnded(c.ag.agent, callID)
		}
	}
	if err := e.d.store.SaveFlowPath(ctx, callID, r.flow.ID, r.version, r.path, r.recorded, r.recLen); err != nil {
		e.log.Warn("record the flow path", "call_id", callID, "err", err)
	}
}
