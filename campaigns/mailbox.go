package campaigns

import (
	"sync"

	"github.com/callplane/callplane/media"
)

// mailbox is an unbounded, ordered event queue: the dispatcher never blocks on a slow
// engine (one waiting for PostgreSQL, say) and never drops an event.
type mailbox struct {
	mu    sync.Mutex
	queue []media.Event
	ready chan struct{} // holds a token while the queue is non-empty
}

func newMailbox() *mailbox { return &mailbox{ready: make(chan struct{}, 1)} }

func (m *mailbox) push(evs ...media.Event) {
	m.mu.Lock()
	m.queue = append(m.queue, evs...)
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

func (m *mailbox) take() []media.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue
	m.queue = nil
	return q
}
