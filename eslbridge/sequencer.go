package eslbridge

import (
	"container/heap"
	"time"

	"github.com/callplane/callplane/media"
)

// eventHeap orders pending events by Event-Sequence (BACKGROUND_JOB included: it is
// numbered from the same counter).
type eventHeap []*rawEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].seq != h[j].seq {
		return h[i].seq < h[j].seq
	}
	return h[i].arrived.Before(h[j].arrived)
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*rawEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return x
}

// op is work for the sequencer goroutine: it runs after every event queued before it
// has been applied when flush is set.
type op struct {
	fn    func(n *normalizer)
	flush bool
	done  chan struct{}
}

// sequence is the driver's single event goroutine. Events wait here for ReorderWindow
// (0 by default: the connection already delivers them in the node's order) and leave
// in Event-Sequence order; the normalizer then turns them into media events. It owns
// the normalizer and returns when stop closes.
func (d *Driver) sequence() {
	defer d.wg.Done()
	defer close(d.events)
	n := newNormalizer(d.cfg.Name, d.clock.Now, d.deliver)
	var pending eventHeap
	core := ""
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	release := func(all bool) {
		now := time.Now()
		for len(pending) > 0 {
			if !all && now.Sub(pending[0].arrived) < d.cfg.ReorderWindow {
				timer.Reset(d.cfg.ReorderWindow - now.Sub(pending[0].arrived))
				return
			}
			n.handle(heap.Pop(&pending).(*rawEvent))
		}
	}
	push := func(e *rawEvent) {
		if e.core != "" && e.core != core {
			// A new FreeSWITCH process numbers events afresh.
			release(true)
			core = e.core
		}
		heap.Push(&pending, e)
		if d.cfg.ReorderWindow <= 0 {
			release(true)
		} else if len(pending) == 1 {
			timer.Reset(d.cfg.ReorderWindow)
		}
	}
	for {
		select {
		case e := <-d.in:
			push(e)
		case <-timer.C:
			release(false)
		case o := <-d.ops:
			if o.flush {
				// Events queued before the op was sent come first.
				for drained := false; !drained; {
					select {
					case e := <-d.in:
						push(e)
					default:
						drained = true
					}
				}
				release(true)
			}
			o.fn(n)
			close(o.done)
		case <-d.stop:
			return
		}
	}
}

// deliver sends one normalized event to Events, blocking while the consumer is behind;
// after Close it gives up.
func (d *Driver) deliver(e media.Event) {
	select {
	case d.events <- e:
		d.delivered.Add(1)
	case <-d.stop:
	}
}

// do runs fn on the sequencer goroutine and waits for it; false if the driver stopped.
func (d *Driver) do(flush bool, fn func(n *normalizer)) bool {
	o := op{fn: fn, flush: flush, done: make(chan struct{})}
	select {
	case d.ops <- o:
	case <-d.stop:
		return false
	}
	select {
	case <-o.done:
		return true
	case <-d.stop:
		return false
	}
}
