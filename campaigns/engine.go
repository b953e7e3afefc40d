package campaigns

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/callplane/callplane/campaigns/compliance"
	"github.com/callplane/callplane/media"
)

// engine drives one campaign. Everything below is owned by its run goroutine.
type engine struct {
	d     *Dialer
	id    int64
	log   *slog.Logger
	c     Campaign
	inbox *mailbox

	calls    map[string]*liveCall
	pending  map[string]Result // ended calls whose row could not be written yet
	tokens   float64           // calls-per-second budget
	refilled time.Time
	lock     *sql.Conn // holds the campaign's advisory lock while non-nil
	recheck  time.Time
	idle     time.Time         // no lead was due: do not look again before this
	pace     *pacer            // agent campaigns only
	forAgent bool              // set at creation (read by the dialer): the campaign bridges to agents
	cbNext   time.Time         // agent campaigns: when to look for due callbacks again
	win      windows           // the schedule and the zones closed now
	xfers    map[string]string // flow transfers: outbound leg -> the call transferred
}

type liveCall struct {
	node     string
	started  time.Time
	answered *time.Time
	verified bool // seen on a node or originated by this engine
	ag       agentCall
	ivr      *ivrCall // running the campaign's flow
}

// lockSpace marks callplane's per-campaign advisory locks ("CPL1").
const lockSpace = 0x43504c31

// lockKeys are the two int4 keys of campaign id's advisory lock: the id's high half mixed
// with lockSpace, and its low half. The map is one to one, so no two campaigns share a lock
// whatever their ids (the int4 pair form has a key space of its own in PostgreSQL).
func lockKeys(id int64) (hi, lo int32) {
	return int32(uint32(uint64(id)>>32) ^ lockSpace), int32(uint32(id))
}

func newEngine(d *Dialer, c Campaign) *engine {
	return &engine{
		d: d, id: c.ID, c: c, inbox: newMailbox(), forAgent: agentMode(c.DialMode),
		log:   d.log.With("campaign_id", c.ID),
		calls: map[string]*liveCall{}, pending: map[string]Result{}, xfers: map[string]string{},
	}
}

func (e *engine) run(ctx context.Context) {
	if !e.acquire(ctx) {
		return
	}
	defer e.unlock()
	e.log.Info("engine started", "name", e.c.Name, "pool", e.c.MediaPool)
	e.reconcile(ctx)
	if agentMode(e.c.DialMode) {
		e.startAgents(ctx)
		defer e.stopAgents()
	}
	tick := time.NewTicker(e.d.cfg.Tick)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-e.inbox.ready:
			e.handleInbox(ctx)
		case <-tick.C:
			if e.step(ctx) {
				e.log.Info("engine stopped", "state", e.c.State)
				return
			}
		}
	}
	e.drain(context.WithoutCancel(ctx))
}

// drain stops dialing and keeps handling events until the calls end or DrainTimeout.
func (e *engine) drain(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, e.d.cfg.DrainTimeout)
	defer cancel()
	e.releaseOffers(ctx)
	for len(e.calls) > 0 || len(e.pending) > 0 {
		e.flushPending(ctx)
		select {
		case <-ctx.Done():
			e.log.Warn("shutdown with calls in flight; the next start reconciles them", "calls", len(e.calls))
			return
		case <-e.inbox.ready:
			e.handleInbox(ctx)
		case <-time.After(e.d.cfg.Tick):
		}
	}
}

// step runs one engine tick and reports whether the engine is done.
func (e *engine) step(ctx context.Context) bool {
	now := e.d.clock.Now()
	if !now.Before(e.recheck) {
		e.recheck = now.Add(e.d.cfg.Recheck)
		if c, err := e.d.store.Campaign(ctx, e.id); err == nil {
			e.c = c
		} else if errors.Is(err, ErrNotFound) {
			e.c.State = StateStopped
		}
		e.checkLock(ctx)
		e.flushPending(ctx)
		e.verify(ctx)
		if e.c.State == StateRunning && e.lock != nil {
			e.checkWindows(ctx, now)
		}
		if e.c.State == StateRunning && len(e.calls) == 0 && len(e.pending) == 0 && e.lock != nil {
			if done, err := e.d.store.CompleteIfDone(ctx, e.id, now); err != nil {
				e.log.Warn("completion check", "err", err)
			} else if done {
				e.c.State = StateCompleted
				e.log.Info("campaign completed")
				e.d.hub.Publish(LiveEvent{Type: "campaign.state", At: now, CampaignID: e.id, State: StateCompleted})
			}
		}
	}
	if e.pace != nil {
		e.matchWaiting(ctx, now)
	}
	e.flowTimers(ctx, now)
	if e.c.State != StateRunning {
		e.releaseOffers(ctx)
		return len(e.calls) == 0 && len(e.pending) == 0
	}
	if e.lock != nil {
		e.dial(ctx, now)
	}
	return false
}

func (e *engine) dial(ctx context.Context, now time.Time) {
	if el := now.Sub(e.refilled); el > 0 {
		e.tokens = min(e.tokens+el.Seconds()*e.c.CallsPerSecond, max(e.c.CallsPerSecond, 1))
		e.refilled = now
	}
	if !e.win.open {
		return // outside the campaign's schedule: calls are held
	}
	if e.pace != nil && e.c.MaxConcurrent > len(e.calls) {
		e.dialCallbacks(ctx, now)
	}
	n := min(e.c.MaxConcurrent-len(e.calls), int(e.tokens), e.d.pool.Free(e.c.MediaPool))
	if n <= 0 || now.Before(e.idle) {
		return
	}
	if e.c.DialMode == ModePreview {
		e.offerPreviews(ctx, now, n)
		return
	}
	var nodes []string // agent campaigns: the node of each call, where its agent will be
	if e.pace != nil {
		nodes = e.agentDials(now)
		n = min(n, len(nodes))
		if n <= 0 {
			return
		}
	}
	leases := e.lease(ctx, n, now)
	for i, l := range leases {
		e.tokens--
		if !e.dncCleared(ctx, l, now) {
			continue
		}
		e.calls[l.CallID] = &liveCall{started: now, verified: true}
		e.d.claim(l.CallID, e)
		on := ""
		if nodes != nil {
			on = nodes[i]
		}
		if !e.originate(ctx, l, on) {
			// Never sent anywhere: give this and the remaining leases back undialed.
			for _, back := range leases[i:] {
				e.unlease(ctx, back.CallID)
			}
			return
		}
	}
}

// lease takes up to n due leads outside the closed zones and within the attempt caps.
func (e *engine) lease(ctx context.Context, n int, now time.Time) []Lease {
	leases, err := e.d.store.leaseLeads(ctx, e.id, n, e.d.cfg.Owner, now, e.win.closedKey)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("lease leads", "err", err)
		}
		return nil
	}
	if len(leases) == 0 {
		// Nothing is due: spare the database a query every tick until the next recheck.
		e.idle = e.recheck
	}
	return e.withinCaps(ctx, leases, now)
}

// dncCleared is the last word before the originate: a number put on a list since the
// lease is skipped (false).
func (e *engine) dncCleared(ctx context.Context, l Lease, now time.Time) bool {
	reason, err := e.d.store.CheckDNC(ctx, e.id, l.Phone, now)
	if err == nil && reason == "" {
		return true
	}
	if err != nil {
		e.log.Warn("do-not-call check failed; not dialing", "call_id", l.CallID, "err", err)
		e.d.metrics.Unleased.Inc()
		if err := e.d.store.Unlease(ctx, l.CallID, now); err != nil {
			e.log.Warn("return lease", "call_id", l.CallID, "err", err)
		}
	} else if err := e.d.store.SkipLeased(ctx, l.CallID, reason, now); err != nil {
		e.log.Warn("skip lead on do-not-call list", "call_id", l.CallID, "err", err)
	}
	return false
}

// originate places a leased call (on node, or any node of the pool when ""); false means
// no node could take it and the lease is still to be returned.
func (e *engine) originate(ctx context.Context, l Lease, node string) bool {
	req := media.OriginateRequest{
		CallID:         l.CallID,
		Number:         l.Phone,
		CallerIDNumber: e.c.CallerID,
		RingTimeout:    time.Duration(e.c.RingTimeoutSeconds) * time.Second,
		Vars: map[string]string{
			"callplane_campaign": strconv.FormatInt(e.id, 10),
			"callplane_lead":     strconv.FormatInt(l.LeadID, 10),
			"callplane_attempt":  strconv.Itoa(l.AttemptNo),
		},
	}
	now := e.d.clock.Now()
	if pool := e.c.CallerIDPool; pool != "" {
		num, ok, err := e.d.cids.Pick(ctx, pool, l.CallID, l.Phone, now)
		if err != nil || !ok {
			if err != nil {
				e.log.Warn("caller-id pool", "pool", pool, "err", err)
			}
			e.idle = e.recheck // every number capped or cooling down: look again later
			return false
		}
		req.CallerIDNumber = num
	}
	trunk, trunks := "", e.d.cfg.Trunks
	if trunks.Len() > 0 {
		name, tpls, ok := trunks.Acquire(l.CallID, now)
		if !ok {
			e.d.cids.Unpick(l.CallID)
			return false
		}
		trunk, req.Templates = name, tpls
	}
	got, err := e.d.pool.OriginateOn(ctx, e.c.MediaPool, node, req)
	if err != nil && trunk != "" {
		trunks.Release(l.CallID, false, now)
	}
	if errors.Is(err, media.ErrNoCapacity) {
		e.d.cids.Unpick(l.CallID)
	}
	switch {
	case err == nil:
		e.calls[l.CallID].node = got
		e.d.metrics.Originates.WithLabelValues(got).Inc()
		e.publish("call.originated", l.CallID, got, "")
		if err := e.d.store.SetAttemptRoute(ctx, l.CallID, got, trunk, req.CallerIDNumber); err != nil {
			e.log.Warn("record attempt route", "call_id", l.CallID, "node", got, "err", err)
		}
	case errors.Is(err, media.ErrNoCapacity):
		return false
	case errors.Is(err, media.ErrInvalid):
		// Refused by the driver's grammar: nothing was sent, and no node would take it.
		e.log.Warn("originate refused", "call_id", l.CallID, "err", err)
		e.finish(ctx, l.CallID, Result{Outcome: media.OutcomeFailed, Cause: "INVALID_NUMBER_FORMAT"})
	default:
		// It may have reached the callee: the attempt counts, and is not retried now.
		e.log.Warn("originate failed", "call_id", l.CallID, "node", got, "err", err)
		e.d.metrics.Originates.WithLabelValues(got).Inc()
		e.finish(ctx, l.CallID, Result{Outcome: media.OutcomeFailed, Cause: "ORIGINATE_ERROR"})
	}
	return true
}

func (e *engine) publish(typ, callID, node, outcome string) {
	e.d.hub.Publish(LiveEvent{Type: typ, At: e.d.clock.Now(), CampaignID: e.id, CallID: callID, Node: node, Outcome: outcome})
}

func (e *engine) unlease(ctx context.Context, callID string) {
	delete(e.calls, callID)
	e.d.release(callID)
	e.d.metrics.Unleased.Inc()
	if err := e.d.store.Unlease(ctx, callID, e.d.clock.Now()); err != nil {
		// The attempt stays open; verify() closes it as lost once the grace has passed.
		e.log.Warn("return lease", "call_id", callID, "err", err)
		e.calls[callID] = &liveCall{started: e.d.clock.Now()}
		e.d.claim(callID, e)
	}
}

func (e *engine) handleInbox(ctx context.Context) {
	for _, ev := range e.inbox.take() {
		e.handle(ctx, ev)
	}
	if e.pace != nil {
		// Also woken when an agent became ready: a waiting call may have one now.
		e.matchWaiting(ctx, e.d.clock.Now())
	}
}

func (e *engine) handle(ctx context.Context, ev media.Event) {
	if ev.Kind == evWrapped {
		if e.pace != nil && ev.Duration > 0 {
			e.pace.tracker.Wrapped(ev.Duration)
		}
		return
	}
	call := e.calls[ev.CallID]
	if call == nil {
		if _, ok := e.xfers[ev.CallID]; ok {
			e.transferEvent(ctx, ev)
		}
		return
	}
	call.verified = true
	if ev.Node != "" {
		call.node = ev.Node
	}
	if ev.Kind != media.EventHangup && e.flowMediaEvent(ctx, ev, call) {
		return
	}
	switch ev.Kind {
	case media.EventAnswered:
		t := ev.At
		if t.IsZero() {
			t = e.d.clock.Now()
		}
		call.answered = &t
		e.publish("call.answered", ev.CallID, call.node, "")
		if e.pace != nil {
			e.answeredForAgent(ctx, ev.CallID, call, t)
			return
		}
		if e.c.Flow != "" && e.startFlow(ctx, ev.CallID, call, t) {
			return
		}
		prompt := e.c.Prompt
		if prompt == "" {
			prompt = e.d.cfg.DefaultPrompt
		}
		if prompt == "" {
			e.command(ctx, ev.CallID, call.node, "hangup", func(ctx context.Context, drv media.Driver) error {
				return drv.Hangup(ctx, ev.CallID, "NORMAL_CLEARING")
			})
			return
		}
		e.command(ctx, ev.CallID, call.node, "play", func(ctx context.Context, drv media.Driver) error {
			return drv.Play(ctx, ev.CallID, prompt)
		})
	case media.EventPlaybackFinished:
		e.command(ctx, ev.CallID, call.node, "hangup", func(ctx context.Context, drv media.Driver) error {
			return drv.Hangup(ctx, ev.CallID, "NORMAL_CLEARING")
		})
	case media.EventHangup:
		h := ev.Hangup
		if h == nil {
			h = &media.Hangup{NodeLost: true}
		}
		answered := call.answered
		if answered == nil && h.Answered {
			t := ev.At
			answered = &t
		}
		r := Result{Outcome: h.Outcome(), Cause: h.Cause.String(), SIPCode: h.SIPCode, AnsweredAt: answered, Talk: h.Talk,
			TrunkFailed: e.d.cfg.Trunks.Len() > 0 && media.TrunkFailure(*h)}
		if e.pace != nil {
			e.agentCallEnded(ev.CallID, call, h, &r)
		}
		if call.ivr != nil {
			e.flowEnded(ctx, ev.CallID, call)
		}
		e.finish(ctx, ev.CallID, r)
	default:
		if e.pace != nil {
			e.agentEvent(ctx, ev, call)
		}
	}
}

// command sends a media command without holding up the engine loop; a failed play
// hangs the call up so it cannot sit in silence.
func (e *engine) command(ctx context.Context, callID, node, what string, fn func(context.Context, media.Driver) error) {
	drv := e.d.pool.Driver(node)
	if drv == nil {
		e.log.Warn("no driver for call", "call_id", callID, "node", node)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := fn(ctx, drv); err != nil && !errors.Is(err, media.ErrUnknownCall) {
			e.log.Warn(what+" failed", "call_id", callID, "node", node, "err", err)
			if what == "play" {
				_ = drv.Hangup(ctx, callID, "NORMAL_CLEARING")
			}
		}
	}()
}

// finish ends a call: its row is written now, or kept and retried until PostgreSQL takes it.
func (e *engine) finish(ctx context.Context, callID string, r Result) {
	node := ""
	if c := e.calls[callID]; c != nil {
		node = c.node
	}
	e.publish("call.ended", callID, node, string(r.Outcome))
	now := e.d.clock.Now()
	if e.d.cfg.Trunks.Release(callID, r.TrunkFailed, now) {
		e.log.Warn("trunk breaker opened: calls go to the next trunk", "call_id", callID, "cause", r.Cause)
	}
	if e.c.CallerIDPool != "" {
		counted := !r.TrunkFailed && r.Outcome != media.OutcomeNodeLost
		e.d.cids.Done(ctx, e.c.CallerIDPool, callID, counted, r.Outcome == media.OutcomeAnswered, now)
	}
	delete(e.calls, callID)
	e.d.release(callID)
	e.d.metrics.Outcomes.WithLabelValues(string(r.Outcome)).Inc()
	e.pending[callID] = r
	e.flushPending(ctx)
}

func (e *engine) flushPending(ctx context.Context) {
	for id, r := range e.pending {
		var pack *compliance.Pack
		if p, ok := e.d.cfg.Rules.Packs[e.c.RulePack]; ok {
			pack = &p
		}
		after, most := e.c.retry(r.Outcome, e.d.clock.Now(), pack)
		after = time.Duration(float64(after) / e.d.cfg.TimeScale)
		if err := e.d.store.EndAttempt(ctx, id, r, after, most, e.d.clock.Now()); err != nil {
			e.log.Warn("write attempt outcome (will retry)", "call_id", id, "err", err)
			return
		}
		delete(e.pending, id)
	}
}

// reconcile adopts the campaign's attempts left open by an earlier run (a crash, a
// restart, another controller that lost its lock).
func (e *engine) reconcile(ctx context.Context) {
	open, err := e.d.store.OpenAttempts(ctx, e.id)
	if err != nil {
		e.log.Warn("list open attempts", "err", err)
		return
	}
	for _, a := range open {
		if e.calls[a.CallID] != nil {
			continue
		}
		c := &liveCall{started: a.StartedAt}
		if a.Node != nil {
			c.node = *a.Node
		}
		e.calls[a.CallID] = c
		e.d.claim(a.CallID, e)
	}
	if len(open) > 0 {
		e.log.Info("reconciling open attempts", "count", len(open))
		e.verify(ctx)
	}
}

// verify checks the calls this engine is unsure of against the nodes' channel lists: a
// call still on a node is adopted; a call no node has, older than LostGrace, ends as
// node_lost (it may have rung, so it counts as an attempt).
func (e *engine) verify(ctx context.Context) {
	now := e.d.clock.Now()
	var unsure []string
	for id, c := range e.calls {
		if c.ag.offered != nil {
			continue // not dialed yet
		}
		if now.Sub(c.started) > e.d.cfg.MaxCallAge {
			c.verified = false
		}
		if !c.verified {
			unsure = append(unsure, id)
		}
	}
	if len(unsure) == 0 {
		return
	}
	live := map[string]string{} // call id -> node
	asked := map[string]bool{}
	allAsked := true
	for _, st := range e.d.pool.Status() {
		drv := e.d.pool.Driver(st.Name)
		if !st.Up || drv == nil {
			allAsked = false
			continue
		}
		ids, err := drv.LiveCalls(ctx)
		if err != nil {
			allAsked = false
			e.log.Warn("list live calls", "node", st.Name, "err", err)
			continue
		}
		asked[st.Name] = true
		for _, id := range ids {
			live[id] = st.Name
		}
	}
	for _, id := range unsure {
		c := e.calls[id]
		if node, ok := live[id]; ok {
			if err := e.d.pool.Adopt(id, node); err == nil {
				c.node, c.verified = node, true
				c.started = now // re-check after another MaxCallAge
			}
			continue
		}
		known := allAsked || (c.node != "" && asked[c.node])
		if known && now.Sub(c.started) > e.d.cfg.LostGrace {
			e.log.Warn("open attempt not found on any node: ending it as lost", "call_id", id)
			e.finish(ctx, id, Result{Outcome: media.OutcomeNodeLost, Cause: "NODE_LOST"})
		}
	}
}

func (e *engine) acquire(ctx context.Context) bool {
	conn, err := e.d.db.Conn(ctx)
	if err != nil {
		e.log.Warn("lock connection", "err", err)
		return false
	}
	var ok bool
	hi, lo := lockKeys(e.id)
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, hi, lo).Scan(&ok); err != nil || !ok {
		conn.Close()
		return false
	}
	e.lock = conn
	return true
}

// checkLock notices a lost lock (its connection died with a PostgreSQL restart) and takes
// it again; without it the engine dials nothing but still finishes its calls.
func (e *engine) checkLock(ctx context.Context) {
	if e.lock != nil {
		if err := e.lock.PingContext(ctx); err == nil {
			return
		}
		e.log.Warn("campaign lock lost; dialing paused until it is held again")
		e.lock.Close()
		e.lock = nil
	}
	if e.acquire(ctx) {
		e.log.Info("campaign lock held again")
	}
}

func (e *engine) unlock() {
	if e.lock == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hi, lo := lockKeys(e.id)
	_, _ = e.lock.ExecContext(ctx, `SELECT pg_advisory_unlock($1, $2)`, hi, lo)
	e.lock.Close()
	e.lock = nil
}
