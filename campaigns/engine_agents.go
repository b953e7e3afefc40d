package campaigns

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/callplane/callplane/campaigns/pacing"
	"github.com/callplane/callplane/crm"
	"github.com/callplane/callplane/media"
)

// Internal events an engine sends itself from its command goroutines.
const (
	evBridgeFailed media.EventKind = "callplane.bridge_failed"
	evPreviewDial  media.EventKind = "callplane.preview_dial" // the agent dials the contact offered
	evPreviewSkip  media.EventKind = "callplane.preview_skip" // the agent skips it
	evWrapped      media.EventKind = "callplane.wrapped"      // an agent's wrap-up took Duration
)

// agentCall is the agent side of a live call in an agent campaign.
type agentCall struct {
	agent    int64     // reserved or bridged agent, 0 when none
	bridged  time.Time // when the bridge was confirmed
	deadline time.Time // an answered call without an agent by then is abandoned
	waiting  bool
	abandon  *time.Time
	offered  *Lease // preview: leased and offered to agent, not dialed yet
	// bridgeFails counts failed bridges of the call.
	bridgeFails int
}

// pacer holds an agent campaign's pacing state. Owned by the engine loop.
type pacer struct {
	tracker *pacing.Tracker
	policy  pacing.Policy
}

// tracker priors: nominal figures weighted as a few dials, so the first calls are paced
// progressively (Predictive needs MinDials real observations) and the estimates follow
// what the campaign actually meets.
var priorStats = pacing.Stats{
	Dials: 20, AnswerRate: 0.3, RingOutShare: 0.5,
	Ring: pacing.LogNormalMedian(8*time.Second, 0.5), Fail: pacing.LogNormalMedian(3*time.Second, 1),
	Talk: pacing.LogNormalMean(120*time.Second, 0.8), Wrap: pacing.LogNormalMean(10*time.Second, 0.5),
}

func (e *engine) startAgents(ctx context.Context) {
	prior := priorStats
	prior.RingTimeout = time.Duration(e.c.RingTimeoutSeconds) * time.Second
	e.pace = &pacer{tracker: pacing.NewTracker(24*time.Hour, prior)}
	switch e.c.DialMode {
	case ModePredictive:
		e.pace.policy = pacing.Predictive{}
	case ModeProgressive:
		e.pace.policy = pacing.Progressive{}
	default:
		e.pace.policy = pacing.Preview{}
	}
	now := e.d.clock.Now()
	counts, err := e.d.store.abandonCounts(ctx, e.id, now.Add(-24*time.Hour))
	if err != nil {
		e.log.Warn("seed abandon budget from the ledger", "err", err)
	}
	for _, m := range counts {
		e.pace.tracker.Add(m.Minute, m.Ans, m.Ab)
	}
	e.d.desk.SetActive(e.id, true)
}

func (e *engine) stopAgents() {
	if e.pace != nil {
		e.d.desk.SetActive(e.id, false)
	}
}

// agentDials is how many calls the pacing policy places now, and on which nodes: the
// nodes where the campaign's agents are, in proportion to their ready agents.
func (e *engine) agentDials(now time.Time) []string {
	team := e.d.desk.Team(e.id)
	var ringing []time.Duration
	waiting := 0
	perNode := map[string]int{} // calls not yet with an agent, per node
	for _, c := range e.calls {
		switch {
		case c.answered == nil:
			ringing = append(ringing, now.Sub(c.started))
			perNode[c.node]++
		case c.ag.waiting:
			waiting++
			perNode[c.node]++
		}
	}
	s := pacing.Snapshot{
		Now: now, Ready: team.ReadyTotal(), Reserved: team.Reserved, OnCall: team.OnCall, InWrap: team.InWrap,
		Ringing: ringing, Waiting: waiting, Stats: e.pace.tracker.Stats(),
		Budget: e.pace.tracker.Budget(now, e.c.AbandonTarget, e.c.AbandonHardCap, time.Duration(e.c.AbandonAfterMs)*time.Millisecond),
	}
	n := e.pace.policy.Dials(s)
	if n <= 0 {
		return nil
	}
	// Spread the calls over the nodes with agents: each goes where ready agents are least
	// covered by calls already in flight. Nodes without ready agents share by the agents
	// busy there, who will be free first.
	type nodeLoad struct {
		name   string
		agents float64
		calls  int
	}
	var loads []*nodeLoad
	for node, r := range team.Ready {
		loads = append(loads, &nodeLoad{name: node, agents: float64(r), calls: perNode[node]})
	}
	if len(loads) == 0 {
		for node := range perNode {
			loads = append(loads, &nodeLoad{name: node, agents: 1, calls: perNode[node]})
		}
	}
	if len(loads) == 0 {
		return nil
	}
	sort.Slice(loads, func(i, j int) bool { return loads[i].name < loads[j].name })
	out := make([]string, 0, n)
	for range n {
		best := loads[0]
		for _, l := range loads[1:] {
			if float64(l.calls+1)/l.agents < float64(best.calls+1)/best.agents {
				best = l
			}
		}
		best.calls++
		out = append(out, best.name)
	}
	return out
}

// answeredForAgent: a person answered; bridge them to a ready agent now (the agent who
// dialed them, in preview), or wait for one until the abandon deadline.
func (e *engine) answeredForAgent(ctx context.Context, callID string, call *liveCall, at time.Time) {
	e.pace.tracker.Connected(at.Sub(call.started))
	call.ag.deadline = at.Add(time.Duration(e.c.AbandonAfterMs) * time.Millisecond)
	if call.ag.agent != 0 {
		if leg := e.d.desk.leg(call.ag.agent); leg != "" {
			if drv := e.d.pool.Driver(call.node); drv != nil {
				e.bridgeCmd(ctx, drv, callID, leg, call.node)
				return
			}
		}
		e.d.desk.Unreserve(call.ag.agent, callID)
		call.ag.agent = 0
	}
	if !e.reserveAgent(ctx, callID, call) {
		call.ag.waiting = true
	}
}

// offerPreviews leases one due contact for each ready agent of a preview campaign and
// offers it to them.
func (e *engine) offerPreviews(ctx context.Context, now time.Time, n int) {
	slots := e.d.desk.previewSlots(e.id)
	n = min(n, len(slots))
	if n <= 0 {
		return
	}
	for i, l := range e.lease(ctx, n, now) {
		if !e.dncCleared(ctx, l, now) {
			continue
		}
		slot := slots[i]
		l := l
		e.calls[l.CallID] = &liveCall{started: now, verified: true, node: slot.node, ag: agentCall{agent: slot.agent, offered: &l}}
		e.d.claim(l.CallID, e)
		name, err := e.d.store.contactName(ctx, l.ContactID)
		if err != nil {
			e.log.Warn("contact of a preview", "call_id", l.CallID, "err", err)
		}
		o := Offer{CallID: l.CallID, CampaignID: e.id, LeadID: l.LeadID, ContactID: l.ContactID, Name: name, Phone: crm.MaskPhone(l.Phone)}
		if !e.d.desk.offer(slot.agent, o) {
			e.unlease(ctx, l.CallID)
		}
	}
}

// dialCallbacks dials the due callbacks for the campaign's ready agents, each with its
// agent reserved first. It looks at most once per Recheck.
func (e *engine) dialCallbacks(ctx context.Context, now time.Time) {
	if now.Before(e.cbNext) {
		return
	}
	e.cbNext = now.Add(e.d.cfg.Recheck)
	slots := e.d.desk.readyFor(e.id)
	if len(slots) == 0 {
		return
	}
	agents := make([]int64, len(slots))
	node := map[int64]string{}
	for i, s := range slots {
		agents[i], node[s.agent] = s.agent, s.node
	}
	leases, err := e.d.store.leaseCallbacks(ctx, e.id, agents, e.d.cfg.Owner, now, e.win.closedKey)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("lease callbacks", "err", err)
		}
		return
	}
	for _, l := range leases {
		if !e.dncCleared(ctx, l.Lease, now) {
			continue
		}
		if !e.d.desk.reserveFor(l.AgentID, e.id, l.CallID) {
			e.unlease(ctx, l.CallID)
			continue
		}
		e.calls[l.CallID] = &liveCall{started: now, verified: true, node: node[l.AgentID], ag: agentCall{agent: l.AgentID}}
		e.d.claim(l.CallID, e)
		if !e.originate(ctx, l.Lease, node[l.AgentID]) {
			e.d.desk.Unreserve(l.AgentID, l.CallID)
			e.unlease(ctx, l.CallID)
		}
	}
}

// previewDecision carries out an agent's choice on a contact offered.
func (e *engine) previewDecision(ctx context.Context, ev media.Event, c *liveCall) {
	l := c.ag.offered
	if l == nil {
		return
	}
	c.ag.offered = nil
	now := e.d.clock.Now()
	if ev.Kind == evPreviewSkip {
		delete(e.calls, l.CallID)
		e.d.release(l.CallID)
		after, _ := e.c.rule(media.OutcomeCanceled)
		reason := "preview:skipped agent=" + strconv.FormatInt(c.ag.agent, 10)
		if err := e.d.store.DeferLeased(ctx, l.CallID, now.Add(after), reason, now); err != nil {
			e.log.Warn("return a skipped preview", "call_id", l.CallID, "err", err)
		}
		return
	}
	c.started = now
	if !e.originate(ctx, *l, c.node) {
		e.d.desk.Unreserve(c.ag.agent, l.CallID)
		e.unlease(ctx, l.CallID)
	}
}

// releaseOffers gives back the contacts offered and not dialed (the campaign stops, or
// the controller shuts down).
func (e *engine) releaseOffers(ctx context.Context) {
	for id, c := range e.calls {
		if c.ag.offered != nil {
			e.d.desk.Unreserve(c.ag.agent, id)
			e.unlease(ctx, id)
		}
	}
}

// reserveAgent promises a ready agent on the call's node to it and sends the bridge.
func (e *engine) reserveAgent(ctx context.Context, callID string, call *liveCall) bool {
	agent, leg, ok := e.d.desk.Reserve(e.id, call.node, callID)
	if !ok {
		return false
	}
	call.ag.agent, call.ag.waiting = agent, false
	drv := e.d.pool.Driver(call.node)
	if drv == nil {
		e.d.desk.Unreserve(agent, callID)
		call.ag.agent = 0
		return false
	}
	e.bridgeCmd(ctx, drv, callID, leg, call.node)
	return true
}

// bridgeCmd sends the bridge without holding up the loop; a failure comes back as an
// evBridgeFailed event.
func (e *engine) bridgeCmd(ctx context.Context, drv media.Driver, callID, leg, node string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := drv.Bridge(ctx, callID, leg); err != nil {
			e.log.Warn("bridge to agent failed", "call_id", callID, "leg", leg, "node", node, "err", err)
			e.inbox.push(media.Event{Kind: evBridgeFailed, CallID: callID, Node: node})
		}
	}()
}

// matchWaiting bridges waiting calls to agents who became ready and abandons those past
// their deadline.
func (e *engine) matchWaiting(ctx context.Context, now time.Time) {
	var ids []string
	for id, c := range e.calls {
		if c.ag.waiting {
			ids = append(ids, id)
		}
	}
	// The longest waiting first.
	sort.Slice(ids, func(i, j int) bool { return e.calls[ids[i]].ag.deadline.Before(e.calls[ids[j]].ag.deadline) })
	for _, id := range ids {
		c := e.calls[id]
		if e.reserveAgent(ctx, id, c) {
			continue
		}
		if !now.Before(c.ag.deadline) {
			e.abandon(ctx, id, c, now)
		}
	}
}

// abandon: no agent in time. The person hears the compliance message, then the call
// ends; the attempt goes to the abandon ledger.
func (e *engine) abandon(ctx context.Context, callID string, c *liveCall, now time.Time) {
	c.ag.waiting = false
	c.ag.abandon = &now
	e.pace.tracker.Abandoned(now)
	e.d.metrics.Abandons.Inc()
	e.publish("call.abandoned", callID, c.node, "")
	if e.c.Flow != "" && e.startFlow(ctx, callID, c, now) {
		return // an agent campaign's flow is its abandon message (configs/flows/abandon.yaml)
	}
	prompt := e.c.AbandonPrompt
	if prompt == "" {
		prompt = e.d.cfg.AbandonPrompt
	}
	if prompt == "" {
		e.command(ctx, callID, c.node, "hangup", func(ctx context.Context, drv media.Driver) error {
			return drv.Hangup(ctx, callID, "NORMAL_CLEARING")
		})
		return
	}
	e.command(ctx, callID, c.node, "play", func(ctx context.Context, drv media.Driver) error {
		return drv.Play(ctx, callID, prompt)
	})
}

// agentEvent handles the events of an agent campaign's call that broadcast has not.
func (e *engine) agentEvent(ctx context.Context, ev media.Event, c *liveCall) {
	switch ev.Kind {
	case evPreviewDial, evPreviewSkip:
		e.previewDecision(ctx, ev, c)
	case media.EventBridged:
		if c.ag.agent != 0 && c.ag.bridged.IsZero() {
			c.ag.bridged = ev.At
			if c.ag.bridged.IsZero() {
				c.ag.bridged = e.d.clock.Now()
			}
			e.d.desk.Bridged(c.ag.agent, ev.CallID)
			e.pace.tracker.Answered(c.ag.bridged)
			e.d.hub.Publish(LiveEvent{Type: "call.bridged", At: c.ag.bridged, CampaignID: e.id, CallID: ev.CallID,
				Node: c.node, AgentID: c.ag.agent})
			if err := e.d.store.SetAttemptAgent(ctx, ev.CallID, c.ag.agent, c.ag.bridged); err != nil {
				e.log.Warn("record the agent of a call", "call_id", ev.CallID, "err", err)
			}
		}
	case evBridgeFailed:
		if c.ag.agent != 0 && c.ag.bridged.IsZero() {
			e.d.desk.Unreserve(c.ag.agent, ev.CallID)
			c.ag.agent = 0
			c.ag.bridgeFails++
			// Another agent may take it, once: a call that fails twice is most likely
			// gone (its hang-up is on the way) and waits for its deadline.
			c.ag.waiting = c.ag.abandon == nil && c.ag.bridgeFails < 2
			if !c.ag.waiting && c.ag.abandon == nil {
				e.abandon(ctx, ev.CallID, c, e.d.clock.Now())
			}
		}
	}
}

// agentCallEnded settles the agent and the estimates when an agent campaign's call ends.
func (e *engine) agentCallEnded(callID string, c *liveCall, h *media.Hangup, r *Result) {
	now := e.d.clock.Now()
	if c.answered == nil {
		e.pace.tracker.NotConnected(now.Sub(c.started), h.Outcome() == media.OutcomeNoAnswer)
	}
	switch {
	case c.ag.agent != 0 && !c.ag.bridged.IsZero():
		e.pace.tracker.Talked(now.Sub(c.ag.bridged))
		e.d.desk.CallEnded(c.ag.agent, callID)
	case c.ag.agent != 0:
		e.d.desk.Unreserve(c.ag.agent, callID)
	}
	if c.ag.waiting {
		// Hung up while waiting for an agent: abandoned all the same.
		c.ag.abandon = &now
		e.pace.tracker.Abandoned(now)
		e.d.metrics.Abandons.Inc()
		e.publish("call.abandoned", callID, c.node, "")
	}
	r.AbandonedAt = c.ag.abandon
}
