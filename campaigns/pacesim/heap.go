package pacesim

// event is one scheduled happening. Events at the same time run in the order they were
// scheduled (seq), so a run is a pure function of its seed.
type event struct {
	at   int64 // virtual ns since the start of day 0
	seq  uint64
	kind uint8
	id   int32  // call or agent index, or day
	gen  uint32 // agent generation for events that a state change makes stale
}

const (
	evTick       uint8 = iota // callplane policy tick
	evShiftStart              // id: day
	evShiftEnd
	evCallEnd  // id: call — ring (and AMD) over: connect or end
	evAbandon  // id: call — waited AbandonAfter
	evTalkEnd  // id: agent
	evWrapEnd  // id: agent
	evBreakDue // id: agent, gen
	evBreakEnd // id: agent
	evVDLoop   // VICIdial auto-dial loop
	evVDSecond // VICIdial adapt loop (sampling, drops, dial level)
	evMidnight // day roll-over for since-midnight counters
)

// eventHeap is a binary min-heap on (at, seq).
type eventHeap struct {
	ev  []event
	seq uint64
}

func (h *eventHeap) less(i, j int) bool {
	a, b := &h.ev[i], &h.ev[j]
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (h *eventHeap) push(e event) {
	h.seq++
	e.seq = h.seq
	h.ev = append(h.ev, e)
	i := len(h.ev) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.ev[i], h.ev[p] = h.ev[p], h.ev[i]
		i = p
	}
}

func (h *eventHeap) pop() event {
	top := h.ev[0]
	n := len(h.ev) - 1
	h.ev[0] = h.ev[n]
	h.ev = h.ev[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.ev[i], h.ev[m] = h.ev[m], h.ev[i]
		i = m
	}
	return top
}

func (h *eventHeap) len() int { return len(h.ev) }
