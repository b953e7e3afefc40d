package campaigns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/callplane/callplane/media"
)

// Desk keeps every agent's live state in memory and decides answer-to-agent in
// microseconds; PostgreSQL records the states after the fact. At login the desk calls the
// agent's phone once and keeps that leg up (nailed-up): a customer who answers is bridged
// to it at once, without a new ring. Its methods are safe for concurrent use: the API and
// every campaign engine call them.
//
// A restart loses the legs: agents start logged out and log in again.
type Desk struct {
	store *Store
	pool  *media.Pool
	clock media.Clock
	log   *slog.Logger
	hub   *Hub

	mu     sync.Mutex
	seats  map[int64]*seat
	legs   map[string]int64  // nailed-up leg call id -> agent
	active map[int64]bool    // campaigns whose engines dial for agents now
	dirty  map[int64]bool    // states not yet written
	wake   chan struct{}     // the writer has dirty states
	ready  func()            // tells the engines an agent became free
	decide func(media.Event) // hands a preview decision to the campaign's engine
	// wrapped tells a campaign's engine how long a wrap-up of one of its calls took.
	wrapped func(campaignID int64, d time.Duration)
}

type seat struct {
	a        Agent // configuration; a.State etc. are the live state
	leg      string
	legUp    bool
	call     string // the customer call reserved, on, or in wrap-up
	campaign int64  // the campaign of call
	wrapTill time.Time
	wrapOf   int64  // the campaign of the call being wrapped up
	pause    string // pause reason to apply when the call ends
	idle     time.Time
}

// ErrAgentState is returned for an action the agent's state does not allow.
var ErrAgentState = fmt.Errorf("agent state does not allow this: %w", ErrConflict)

// NewDesk builds a desk; Load fills it.
func NewDesk(store *Store, pool *media.Pool, clock media.Clock, log *slog.Logger, hub *Hub) *Desk {
	return &Desk{store: store, pool: pool, clock: clock, log: log, hub: hub,
		seats: map[int64]*seat{}, legs: map[string]int64{}, active: map[int64]bool{},
		dirty: map[int64]bool{}, wake: make(chan struct{}, 1), ready: func() {}, decide: func(media.Event) {},
		wrapped: func(int64, time.Duration) {}}
}

// Load reads the agents from PostgreSQL; those recorded in another state than logged out
// (their legs died with the previous process) are logged out.
func (k *Desk) Load(ctx context.Context) error {
	as, err := k.store.Agents(ctx)
	if err != nil {
		return err
	}
	now := k.clock.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, a := range as {
		if s := k.seats[a.ID]; s != nil {
			s.a.Campaigns = a.Campaigns
			continue
		}
		if a.State != AgentLoggedOut {
			a.State, a.Since, a.PauseReason = AgentLoggedOut, now, ""
			k.dirty[a.ID] = true
		}
		k.seats[a.ID] = &seat{a: a}
	}
	k.signal()
	return nil
}

// Add puts a newly created agent on the desk.
func (k *Desk) Add(a Agent) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.seats[a.ID] == nil {
		k.seats[a.ID] = &seat{a: a}
	}
}

// Run writes state changes to PostgreSQL and ends overdue wrap-ups until ctx ends.
func (k *Desk) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-k.wake:
		case <-t.C:
			k.endWraps()
		}
		k.flush(ctx)
	}
	k.flush(context.WithoutCancel(ctx))
}

func (k *Desk) flush(ctx context.Context) {
	k.mu.Lock()
	type row struct {
		id            int64
		state, reason string
		since         time.Time
	}
	var rows []row
	for id := range k.dirty {
		s := k.seats[id]
		rows = append(rows, row{id, s.a.State, s.a.PauseReason, s.a.Since})
	}
	clear(k.dirty)
	k.mu.Unlock()
	for _, r := range rows {
		if err := k.store.SaveAgentState(ctx, r.id, r.state, r.since, r.reason); err != nil {
			k.log.Warn("record agent state", "agent_id", r.id, "err", err)
		}
	}
}

func (k *Desk) signal() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// set changes a seat's state. k.mu held.
func (k *Desk) set(s *seat, state, reason string) {
	now := k.clock.Now()
	if state == AgentReady && s.a.State != AgentReady {
		s.idle = now
	}
	if s.a.State == AgentWrapUp && state != AgentWrapUp && s.wrapOf != 0 {
		c, d, wrapped := s.wrapOf, now.Sub(s.a.Since), k.wrapped
		s.wrapOf = 0
		go wrapped(c, d)
	}
	s.a.State, s.a.Since, s.a.PauseReason = state, now, reason
	k.dirty[s.a.ID] = true
	k.signal()
	k.hub.Publish(LiveEvent{Type: "agent.state", At: now, AgentID: s.a.ID, CampaignID: s.campaign,
		CallID: s.call, Node: s.a.LegNode, State: state, Reason: reason})
	if state == AgentReady {
		go k.ready()
	}
}

func (k *Desk) seat(id int64) (*seat, error) {
	s := k.seats[id]
	if s == nil {
		return nil, fmt.Errorf("agent %d: %w", id, ErrNotFound)
	}
	return s, nil
}

// Login calls the agent's phone; the agent is not_ready ("connecting") until it answers,
// then ready.
func (k *Desk) Login(ctx context.Context, id int64) (Agent, error) {
	k.mu.Lock()
	s, err := k.seat(id)
	if err != nil {
		k.mu.Unlock()
		return Agent{}, err
	}
	if s.a.State != AgentLoggedOut {
		k.mu.Unlock()
		return Agent{}, fmt.Errorf("log in agent %d (%s): %w", id, s.a.State, ErrAgentState)
	}
	s.leg, s.legUp = uuid.NewString(), false
	k.legs[s.leg] = id
	k.set(s, AgentNotReady, "connecting")
	a, leg := s.a, s.leg
	k.mu.Unlock()

	node, endpoint := k.pickNode(a)
	if endpoint == "" {
		k.loginFailed(id, leg)
		return Agent{}, &ValidationError{Problems: []string{fmt.Sprintf("agent %d: no media node up for its endpoints", id)}}
	}
	req := media.OriginateRequest{
		CallID: leg, Endpoint: endpoint, CallerIDName: "callplane", RingTimeout: 30 * time.Second,
		Vars: map[string]string{"callplane_agent": strconv.FormatInt(id, 10), "park_after_bridge": "true"},
	}
	got, err := k.pool.OriginateOn(ctx, "", node, req)
	if err != nil {
		k.loginFailed(id, leg)
		return Agent{}, fmt.Errorf("log in agent %d: call its phone on %s: %w", id, node, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if s.leg == leg {
		s.a.LegNode = got
	}
	return k.view(s), nil
}

// pickNode chooses the agent's node (its own, else the up node of a kind it has an
// endpoint for with the most room) and the endpoint to dial there.
func (k *Desk) pickNode(a Agent) (string, string) {
	best, endpoint, room := "", "", -1
	for _, st := range k.pool.Status() {
		ep := a.Endpoints[string(st.Kind)]
		if !st.Up || ep == "" || (a.Node != "" && st.Name != a.Node) {
			continue
		}
		r := st.MaxCalls - st.ActiveCalls
		if st.MaxCalls == 0 {
			r = math.MaxInt32 - st.ActiveCalls // no cap
		}
		if r > room {
			best, endpoint, room = st.Name, ep, r
		}
	}
	return best, endpoint
}

func (k *Desk) loginFailed(id int64, leg string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.legs, leg)
	if s := k.seats[id]; s != nil && s.leg == leg {
		s.leg, s.a.LegNode = "", ""
		k.set(s, AgentLoggedOut, "")
	}
}

// Ready makes a logged-in agent available (from not_ready or wrap-up).
func (k *Desk) Ready(id int64) (Agent, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.seat(id)
	if err != nil {
		return Agent{}, err
	}
	switch {
	case s.a.State == AgentReady:
	case (s.a.State == AgentNotReady || s.a.State == AgentWrapUp) && s.legUp:
		s.pause = ""
		k.endCall(s)
		k.set(s, AgentReady, "")
	default:
		return Agent{}, fmt.Errorf("agent %d is %s: %w", id, s.a.State, ErrAgentState)
	}
	return k.view(s), nil
}

// Pause makes an agent not ready with a reason; on a call, the pause starts when it ends.
func (k *Desk) Pause(id int64, reason string) (Agent, error) {
	if reason == "" {
		reason = "break"
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s, err := k.seat(id)
	if err != nil {
		return Agent{}, err
	}
	switch s.a.State {
	case AgentReady, AgentWrapUp, AgentNotReady:
		if !s.legUp {
			return Agent{}, fmt.Errorf("agent %d is still connecting: %w", id, ErrAgentState)
		}
		k.endCall(s)
		k.set(s, AgentNotReady, reason)
	case AgentReserved, AgentOnCall:
		s.pause = reason
	default:
		return Agent{}, fmt.Errorf("agent %d is %s: %w", id, s.a.State, ErrAgentState)
	}
	return k.view(s), nil
}

// Logout hangs up the agent's leg; an agent on a call logs out when it ends.
func (k *Desk) Logout(ctx context.Context, id int64) (Agent, error) {
	k.mu.Lock()
	s, err := k.seat(id)
	if err != nil {
		k.mu.Unlock()
		return Agent{}, err
	}
	if s.a.State == AgentReserved || s.a.State == AgentOnCall {
		k.mu.Unlock()
		return Agent{}, fmt.Errorf("agent %d is on a call: %w", id, ErrAgentState)
	}
	leg, node := s.leg, s.a.LegNode
	delete(k.legs, leg)
	s.leg, s.legUp, s.a.LegNode = "", false, ""
	k.endCall(s)
	if s.a.State != AgentLoggedOut {
		k.set(s, AgentLoggedOut, "")
	}
	a := k.view(s)
	k.mu.Unlock()
	if drv := k.pool.Driver(node); leg != "" && drv != nil {
		if err := drv.Hangup(ctx, leg, "NORMAL_CLEARING"); err != nil && !errors.Is(err, media.ErrUnknownCall) {
			k.log.Warn("hang up agent leg", "agent_id", id, "call_id", leg, "err", err)
		}
	}
	return a, nil
}

// endCall forgets the seat's finished call. k.mu held.
func (k *Desk) endCall(s *seat) { s.call, s.campaign, s.a.CallID, s.a.Preview = "", 0, "", nil }

// Disposed ends the wrap-up of the agent who took callID (their disposition is stored).
func (k *Desk) Disposed(agentID int64, callID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.seats[agentID]; s != nil && s.call == callID && s.a.State == AgentWrapUp {
		k.afterWrap(s)
	}
}

// afterWrap: ready, or the pause asked for during the call. k.mu held.
func (k *Desk) afterWrap(s *seat) {
	k.endCall(s)
	if s.pause != "" {
		r := s.pause
		s.pause = ""
		k.set(s, AgentNotReady, r)
		return
	}
	k.set(s, AgentReady, "")
}

func (k *Desk) endWraps() {
	now := k.clock.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range k.seats {
		if s.a.State == AgentWrapUp && !now.Before(s.wrapTill) {
			k.afterWrap(s)
		}
	}
}

// IsLeg tells whether callID is an agent's nailed-up leg.
func (k *Desk) IsLeg(callID string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.legs[callID]
	return ok
}

// LegEvent handles an event of an agent's leg: answered makes the agent ready; the end
// of the leg logs the agent out.
func (k *Desk) LegEvent(ev media.Event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id, ok := k.legs[ev.CallID]
	if !ok {
		return
	}
	s := k.seats[id]
	switch ev.Kind {
	case media.EventAnswered:
		if s.leg == ev.CallID && !s.legUp {
			s.legUp = true
			if ev.Node != "" {
				s.a.LegNode = ev.Node
			}
			k.set(s, AgentReady, "")
		}
	case media.EventHangup:
		delete(k.legs, ev.CallID)
		if s.leg == ev.CallID {
			k.log.Info("agent leg ended: agent logged out", "agent_id", id, "call_id", ev.CallID)
			s.leg, s.legUp, s.a.LegNode = "", false, ""
			k.endCall(s)
			k.set(s, AgentLoggedOut, "")
		}
	}
}

// SetActive marks a campaign as dialing for agents (its engine runs) or not.
func (k *Desk) SetActive(campaignID int64, on bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if on {
		k.active[campaignID] = true
	} else {
		delete(k.active, campaignID)
	}
}

// OnReady sets the function called (in its own goroutine) when an agent becomes ready.
func (k *Desk) OnReady(f func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ready = f
}

// onDecide sets the function that hands a preview decision to the campaign's engine.
func (k *Desk) onDecide(f func(media.Event)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.decide = f
}

// primary is the active campaign an agent works first (best priority). k.mu held.
func (k *Desk) primary(s *seat) int64 {
	best, prio := int64(0), 0
	for _, c := range s.a.Campaigns {
		if k.active[c.CampaignID] && (best == 0 || c.Priority < prio) {
			best, prio = c.CampaignID, c.Priority
		}
	}
	return best
}

// Team is what pacing needs of the agents working a campaign first (their best-priority
// active campaign): how many are ready per node, and the time spent so far by those on a
// call and in wrap-up.
type Team struct {
	Ready    map[string]int // node -> ready agents
	Reserved int
	OnCall   []time.Duration
	InWrap   []time.Duration
}

// ReadyTotal is the number of ready agents on every node.
func (t Team) ReadyTotal() int {
	n := 0
	for _, r := range t.Ready {
		n += r
	}
	return n
}

// Team returns the campaign's team now.
func (k *Desk) Team(campaignID int64) Team {
	now := k.clock.Now()
	t := Team{Ready: map[string]int{}}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range k.seats {
		if s.a.State == AgentLoggedOut || k.primary(s) != campaignID {
			continue
		}
		switch s.a.State {
		case AgentReady:
			t.Ready[s.a.LegNode]++
		case AgentReserved:
			t.Reserved++
		case AgentOnCall:
			t.OnCall = append(t.OnCall, now.Sub(s.a.Since))
		case AgentWrapUp:
			t.InWrap = append(t.InWrap, now.Sub(s.a.Since))
		}
	}
	return t
}

// Reserve promises a ready agent on node to a call of campaign: an agent who works the
// campaign, those with it as their best priority first, then the longest idle. It
// returns the agent and the leg to bridge to.
func (k *Desk) Reserve(campaignID int64, node, callID string) (int64, string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var best *seat
	bestPrio := 0
	for _, s := range k.seats {
		if s.a.State != AgentReady || !s.legUp || s.a.LegNode != node {
			continue
		}
		i := slices.IndexFunc(s.a.Campaigns, func(c AgentCampaign) bool { return c.CampaignID == campaignID })
		if i < 0 {
			continue
		}
		prio := s.a.Campaigns[i].Priority
		if k.primary(s) == campaignID {
			prio = 0
		}
		if best == nil || prio < bestPrio || (prio == bestPrio && s.idle.Before(best.idle)) {
			best, bestPrio = s, prio
		}
	}
	if best == nil {
		return 0, "", false
	}
	best.call, best.campaign, best.a.CallID = callID, campaignID, callID
	k.set(best, AgentReserved, "")
	return best.a.ID, best.leg, true
}

// Unreserve gives a reserved agent back (the bridge failed, or the call ended first).
func (k *Desk) Unreserve(agentID int64, callID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.seats[agentID]; s != nil && s.call == callID && s.a.State == AgentReserved {
		k.endCall(s)
		if s.legUp {
			k.set(s, AgentReady, "")
		}
	}
}

// Bridged: the agent is talking to the call.
func (k *Desk) Bridged(agentID int64, callID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.seats[agentID]; s != nil && s.call == callID && s.a.State == AgentReserved {
		k.set(s, AgentOnCall, "")
	}
}

// CallEnded: the customer hung up; the agent wraps up for at most MaxWrapMs.
func (k *Desk) CallEnded(agentID int64, callID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.seats[agentID]
	if s == nil || s.call != callID || (s.a.State != AgentOnCall && s.a.State != AgentReserved) {
		return
	}
	if !s.legUp {
		k.endCall(s)
		k.set(s, AgentLoggedOut, "")
		return
	}
	s.wrapTill = k.clock.Now().Add(time.Duration(s.a.MaxWrapMs) * time.Millisecond)
	s.wrapOf = s.campaign
	k.set(s, AgentWrapUp, "")
}

// Agents lists the agents with their live state and today's counts.
func (k *Desk) Agents(ctx context.Context) ([]Agent, error) {
	now := k.clock.Now().UTC()
	today, err := k.store.AgentsToday(ctx, time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]Agent, 0, len(k.seats))
	for _, s := range k.seats {
		a := k.view(s)
		a.Today = today[a.ID]
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Agent) int { return int(a.ID - b.ID) })
	return out, nil
}

// view copies a seat's agent. k.mu held.
func (k *Desk) view(s *seat) Agent {
	a := s.a
	a.Campaigns = slices.Clone(a.Campaigns)
	if a.Preview != nil {
		o := *a.Preview
		a.Preview = &o
	}
	return a
}

// Offer is a contact an agent previews before dialing (preview mode).
type Offer struct {
	CallID     string `json:"call_id"`
	CampaignID int64  `json:"campaign_id"`
	LeadID     int64  `json:"lead_id"`
	ContactID  int64  `json:"contact_id"`
	Name       string `json:"name"`
	// Phone is masked; the agent dials through callplane, not by hand.
	Phone string `json:"phone"`
}

// previewSlot is a ready agent a preview campaign can offer a contact to.
type previewSlot struct {
	agent int64
	node  string
}

// previewSlots lists the ready agents who work campaignID first, without an offer.
func (k *Desk) previewSlots(campaignID int64) []previewSlot {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []previewSlot
	for _, s := range k.seats {
		if s.a.State == AgentReady && s.legUp && k.primary(s) == campaignID {
			out = append(out, previewSlot{s.a.ID, s.a.LegNode})
		}
	}
	slices.SortFunc(out, func(a, b previewSlot) int { return int(a.agent - b.agent) })
	return out
}

// offer reserves a ready agent for a contact to preview; false if the agent is no longer
// ready.
func (k *Desk) offer(agentID int64, o Offer) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.seats[agentID]
	if s == nil || s.a.State != AgentReady {
		return false
	}
	s.call, s.campaign, s.a.CallID = o.CallID, o.CampaignID, o.CallID
	s.a.Preview = &o
	k.set(s, AgentReserved, "preview")
	return true
}

// Decide is the agent's choice on the contact offered: dial it, or skip it. The campaign's
// engine carries it out.
func (k *Desk) Decide(agentID int64, dial bool) (Agent, error) {
	k.mu.Lock()
	s, err := k.seat(agentID)
	if err != nil {
		k.mu.Unlock()
		return Agent{}, err
	}
	o := s.a.Preview
	if o == nil || s.a.State != AgentReserved {
		k.mu.Unlock()
		return Agent{}, fmt.Errorf("agent %d has no contact to preview: %w", agentID, ErrAgentState)
	}
	s.a.Preview = nil
	if !dial {
		k.endCall(s)
		k.set(s, AgentReady, "")
	}
	a, decide := k.view(s), k.decide
	k.mu.Unlock()
	kind := evPreviewSkip
	if dial {
		kind = evPreviewDial
	}
	decide(media.Event{Kind: kind, CallID: o.CallID, At: k.clock.Now()})
	return a, nil
}

// leg returns the agent's nailed-up leg ("" when it has none).
func (k *Desk) leg(agentID int64) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.seats[agentID]; s != nil && s.legUp {
		return s.leg
	}
	return ""
}

// readyFor lists the ready agents who work campaignID at any priority.
func (k *Desk) readyFor(campaignID int64) []previewSlot {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []previewSlot
	for _, s := range k.seats {
		if s.a.State == AgentReady && s.legUp &&
			slices.ContainsFunc(s.a.Campaigns, func(c AgentCampaign) bool { return c.CampaignID == campaignID }) {
			out = append(out, previewSlot{s.a.ID, s.a.LegNode})
		}
	}
	slices.SortFunc(out, func(a, b previewSlot) int { return a.idleCmp(b, k) })
	return out
}

// idleCmp orders the longest idle first. k.mu held.
func (p previewSlot) idleCmp(q previewSlot, k *Desk) int {
	return k.seats[p.agent].idle.Compare(k.seats[q.agent].idle)
}

// reserveFor reserves a ready agent for callID (a callback it will take).
func (k *Desk) reserveFor(agentID int64, campaignID int64, callID string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.seats[agentID]
	if s == nil || s.a.State != AgentReady {
		return false
	}
	s.call, s.campaign, s.a.CallID = callID, campaignID, callID
	k.set(s, AgentReserved, "callback")
	return true
}
