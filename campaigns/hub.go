package campaigns

import (
	"sync"
	"time"
)

// LiveEvent is one state change for the supervisor stream (GET /api/v1/events).
type LiveEvent struct {
	// Type: call.originated, call.answered, call.bridged, call.abandoned, call.ended,
	// campaign.state, agent.state.
	Type       string    `json:"type"`
	At         time.Time `json:"at"`
	CampaignID int64     `json:"campaign_id,omitempty"`
	AgentID    int64     `json:"agent_id,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	CallID     string    `json:"call_id,omitempty"`
	Node       string    `json:"node,omitempty"`
	Outcome    string    `json:"outcome,omitempty"`
	State      string    `json:"state,omitempty"`
}

// Hub fans live events out to subscribers. Publishing never blocks the engines: a
// subscriber that falls more than its buffer behind loses events and is told how many
// (Dropped). The record of truth is PostgreSQL; the stream is for watching.
type Hub struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

// Subscription receives live events on C until Close.
type Subscription struct {
	C       chan LiveEvent
	hub     *Hub
	mu      sync.Mutex
	dropped int
}

// NewHub returns a hub without subscribers.
func NewHub() *Hub { return &Hub{subs: map[*Subscription]struct{}{}} }

// Subscribe starts a subscription with room for buffer events.
// After Close the subscription starts closed.
func (h *Hub) Subscribe(buffer int) *Subscription {
	s := &Subscription{C: make(chan LiveEvent, buffer), hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.C)
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

// Close ends every subscription (server shutdown: streams must end for it to finish).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.C)
	}
}

// Close ends the subscription; C is closed.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if _, ok := s.hub.subs[s]; ok {
		delete(s.hub.subs, s)
		close(s.C)
	}
}

// Dropped returns and resets the number of events this subscriber missed.
func (s *Subscription) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.dropped
	s.dropped = 0
	return n
}

// Publish sends ev to every subscriber that has room. A nil hub publishes nothing.
func (h *Hub) Publish(ev LiveEvent) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.C <- ev:
		default:
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
		}
	}
}
