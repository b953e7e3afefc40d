package pacesim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/callplane/callplane/campaigns/pacing"
	"github.com/callplane/callplane/media/sim"
)

// epoch is virtual time zero: midnight before day 0. Only its time of day matters.
var epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

const (
	day  = int64(24 * time.Hour)
	hour = int64(time.Hour)
	sec  = int64(time.Second)
)

// Call outcomes, decided when the call is placed.
const (
	outNoConnect      uint8 = iota // busy, rejected, failed: ends after its ring time
	outRingOut                     // rang until the ring timeout
	outAMDMachine                  // a machine detected by AMD: hung up
	outAMDFalsePos                 // a live person AMD took for a machine: hung up
	outHuman                       // a live person handed to the dialer
	outMachineThrough              // a machine AMD missed: handed to the dialer
)

// Call states.
const (
	callRinging uint8 = iota
	callWaiting
	callTalking
	callDone
)

type call struct {
	dialAt  int64
	ansAt   int64 // when a screened call was answered (0: not screened)
	talk    int64
	outcome uint8
	state   uint8
	ringPos int32 // index in run.ringing while ringing
	// gen bumps whenever the slot is reused, so that an abandon event or a waiting-queue
	// entry left by the slot's previous call is recognised as stale.
	gen uint32
}

type waitEntry struct {
	call int32
	gen  uint32
}

// Agent states.
const (
	agOff uint8 = iota
	agReady
	agTalk
	agWrap
	agBreak
)

type agent struct {
	state      uint8
	since      int64 // when the current state began
	readyAt    int64 // when the agent last became free
	readySeq   uint32
	gen        uint32 // bumps on login, so a previous day's break events are stale
	breaksDue  int    // breaks due, taken once free
	nextBreak  int    // index of the next break to take
	call       int32
	talk, wrap int64
	login      int64
	breakTime  int64 // this shift
}

type readyEntry struct {
	agent int32
	seq   uint32
}

// dialer is how a run asks a policy for calls.
type dialer interface {
	// dials is asked at every callplane tick and whenever an agent becomes ready; a
	// dialer that paces on its own loop returns 0 there.
	dials(r *run) int
}

// runStats are the raw counters of one run.
type runStats struct {
	dials, connects, contacts int64
	talk, wrap, loggedIn      int64 // ns
	waitSum                   int64 // ns
	waits                     int64
	waitHist                  []int64 // 100 ms bins, last one is overflow
	// per hour of the run
	liveAns, liveAb, drops, agentLive, agentMachine, falsePos []int32
	ended                                                     int64 // calls that ended
}

const waitBin = int64(100 * time.Millisecond)
const waitBins = 6000 // 10 min

type run struct {
	sc    *Scenario
	model sim.Model
	rc    *rand.Rand // call outcomes
	ra    *rand.Rand // agents: wrap-up, breaks, machine talk
	h     eventHeap
	now   int64

	calls   []call
	free    []int32 // reusable call slots
	ringing []int32
	waiting []waitEntry // FIFO; stale entries skipped
	waitHd  int
	nWait   int

	agents []agent
	ready  []readyEntry // FIFO; stale entries skipped
	readHd int
	nReady int
	nTalk  int

	closing    bool
	dayIdx     int
	tracker    *pacing.Tracker
	policy     pacing.Policy
	dialer     dialer
	vd         *vicidial
	snapOn     []time.Duration
	snapWrap   []time.Duration
	snapRing   []time.Duration
	snapScreen []time.Duration

	st runStats
}

func newRun(sc *Scenario, policy string, seed uint64) *run {
	c := sc.Calls
	r := &run{
		sc: sc,
		model: sim.Model{
			AnswerRate:       c.AnswerRate,
			BusyShare:        c.BusyShare,
			RejectShare:      c.RejectShare,
			UnavailableShare: c.UnavailableShare,
			FailShare:        c.FailShare,
			RingMedian:       c.Ring.median(),
			RingSigma:        c.Ring.Sigma,
			TalkMedian:       c.Talk.median(),
			TalkSigma:        c.Talk.Sigma,
		},
		// Common random numbers: every policy sees the same stream of call outcomes and
		// of agent behaviour for a seed.
		rc:     rand.New(rand.NewPCG(seed, 0x63616c6c)),
		ra:     rand.New(rand.NewPCG(seed, 0x6167656e)),
		agents: make([]agent, sc.Agents),
	}
	hours := sc.Days * 24
	r.st.liveAns = make([]int32, hours)
	r.st.liveAb = make([]int32, hours)
	r.st.drops = make([]int32, hours)
	r.st.agentLive = make([]int32, hours)
	r.st.agentMachine = make([]int32, hours)
	r.st.falsePos = make([]int32, hours)
	r.st.waitHist = make([]int64, waitBins+1)
	// The tracker starts from the scenario's nominal figures, weighted as a few dials, so
	// that real observations take over within minutes.
	prior := pacing.Stats{
		Dials:       20,
		AnswerRate:  c.AnswerRate * (1 - c.MachineShare*sc.AMD.Sensitivity*b2f(sc.AMD.Enabled)),
		Ring:        pacing.LogNormalMedian(c.Ring.median(), c.Ring.Sigma),
		Fail:        pacing.LogNormalMedian(c.Ring.median()/4, 1),
		RingTimeout: c.RingTimeout,
		Talk:        pacing.LogNormalMean(c.Talk.mean(), c.Talk.Sigma),
		Wrap:        pacing.LogNormalMean(c.Wrap.mean(), c.Wrap.Sigma),
	}
	if sc.AMD.Enabled {
		prior.Screens = prior.Dials
		prior.Screen = pacing.LogNormalMedian(sc.AMD.Delay, 0)
		prior.ScreenPass = c.MachineShare*(1-sc.AMD.Sensitivity) + (1-c.MachineShare)*(1-sc.AMD.FalsePositiveRate)
	}
	r.tracker = pacing.NewTracker(sc.Pacing.BudgetWindow, prior)
	switch policy {
	case PolicyProgressive:
		r.policy = pacing.Progressive{}
		r.dialer = policyDialer{}
	case PolicyPredictive:
		p := sc.Pacing
		r.policy = pacing.Predictive{MinAgents: p.MinAgents, MinDials: p.MinDials, Gain: p.Gain, Reserve: p.Reserve, RelErr: p.RelErr, Boost: p.Boost}
		r.dialer = policyDialer{}
	case PolicyVICIdialTapered, PolicyVICIdialHard:
		r.vd = newVICIdial(sc.VICIdial, policy == PolicyVICIdialHard)
		r.dialer = r.vd
	}
	return r
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// policyDialer asks a pacing.Policy with a Snapshot of the run.
type policyDialer struct{}

func (policyDialer) dials(r *run) int { return r.policy.Dials(r.snapshot()) }

func (r *run) at(d int64) time.Time { return epoch.Add(time.Duration(d)) }

// simulate runs every day of the scenario.
func (r *run) simulate() {
	r.schedule()
	for r.step() {
	}
}

// schedule queues the days' shifts.
func (r *run) schedule() {
	sc := r.sc
	for d := 0; d < sc.Days; d++ {
		start := int64(d)*day + int64(sc.Shift.Start)
		r.h.push(event{at: start, kind: evShiftStart, id: int32(d)})
		r.h.push(event{at: start + int64(sc.Shift.Length), kind: evShiftEnd, id: int32(d)})
		if r.vd != nil {
			r.h.push(event{at: int64(d) * day, kind: evMidnight, id: int32(d)})
		}
	}
}

// step handles the next event; it reports false when none is left.
func (r *run) step() bool {
	if r.h.len() == 0 {
		return false
	}
	e := r.h.pop()
	r.now = e.at
	r.handle(e)
	return true
}

func (r *run) handle(e event) {
	switch e.kind {
	case evShiftStart:
		r.shiftStart(int(e.id))
	case evShiftEnd:
		r.closing = true
		r.maybeClose()
	case evTick:
		if !r.closing {
			r.decide()
			r.h.push(event{at: r.now + int64(r.sc.Pacing.Tick), kind: evTick})
		}
	case evCallEnd:
		r.callEnd(e.id)
	case evAbandon:
		r.abandon(e.id, e.gen)
	case evTalkEnd:
		r.talkEnd(e.id)
	case evWrapEnd:
		a := &r.agents[e.id]
		r.st.wrap += a.wrap
		r.tracker.Wrapped(time.Duration(a.wrap))
		r.agentFree(e.id)
	case evBreakDue:
		r.breakDue(e.id, e.gen)
	case evBreakEnd:
		a := &r.agents[e.id]
		a.breakTime += r.now - a.since
		r.agentFree(e.id)
	case evVDLoop:
		if !r.closing {
			r.place(r.vd.loop(r))
			r.h.push(event{at: r.now + int64(r.sc.VICIdial.Loop), kind: evVDLoop})
		}
	case evVDSecond:
		if !r.closing || r.loggedIn() > 0 {
			r.vd.second(r)
			r.h.push(event{at: r.now + sec, kind: evVDSecond})
		}
	case evMidnight:
		r.vd.midnight()
	}
}

func (r *run) shiftStart(d int) {
	r.closing = false
	r.dayIdx = d
	for i := range r.agents {
		a := &r.agents[i]
		a.gen++
		*a = agent{gen: a.gen, login: r.now, readySeq: a.readySeq}
		for _, b := range r.sc.Breaks {
			due := r.now + int64(b.At)
			if b.Jitter > 0 {
				due += int64((2*r.ra.Float64() - 1) * float64(b.Jitter))
			}
			r.h.push(event{at: due, kind: evBreakDue, id: int32(i), gen: a.gen})
		}
		r.makeReady(int32(i))
	}
	if r.vd != nil {
		r.vd.shiftStart()
		r.h.push(event{at: r.now, kind: evVDSecond})
		r.h.push(event{at: r.now, kind: evVDLoop})
	} else if r.policy != nil {
		r.h.push(event{at: r.now, kind: evTick})
	}
}

func (r *run) loggedIn() int {
	n := 0
	for i := range r.agents {
		if r.agents[i].state != agOff {
			n++
		}
	}
	return n
}

// decide asks a callplane policy and places its calls.
func (r *run) decide() {
	if r.closing || r.policy == nil {
		return
	}
	r.place(r.dialer.dials(r))
}

func (r *run) snapshot() pacing.Snapshot {
	r.snapOn, r.snapWrap, r.snapRing, r.snapScreen = r.snapOn[:0], r.snapWrap[:0], r.snapRing[:0], r.snapScreen[:0]
	for i := range r.agents {
		a := &r.agents[i]
		if a.breaksDue > 0 {
			continue // pauses after this call: not coming back to the dialer soon
		}
		switch a.state {
		case agTalk:
			r.snapOn = append(r.snapOn, time.Duration(r.now-a.since))
		case agWrap:
			r.snapWrap = append(r.snapWrap, time.Duration(r.now-a.since))
		}
	}
	for _, id := range r.ringing {
		// The dialer sees the answer: a call being screened by AMD is no longer ringing.
		if k := &r.calls[id]; k.ansAt > 0 && r.now >= k.ansAt {
			r.snapScreen = append(r.snapScreen, time.Duration(r.now-k.ansAt))
		} else {
			r.snapRing = append(r.snapRing, time.Duration(r.now-k.dialAt))
		}
	}
	now := r.at(r.now)
	p := r.sc.Pacing
	return pacing.Snapshot{
		Now:       now,
		Ready:     r.nReady,
		OnCall:    r.snapOn,
		InWrap:    r.snapWrap,
		Ringing:   r.snapRing,
		Screening: r.snapScreen,
		Waiting:   r.nWait,
		Stats:     r.tracker.Stats(),
		Budget:    r.tracker.Budget(now, p.Target, p.HardCap, r.sc.Abandon.After),
	}
}

// answerRate is the drifted answer rate now.
func (r *run) answerRate() float64 {
	c := &r.sc.Calls
	if len(c.Drift) == 0 {
		return c.AnswerRate
	}
	t := time.Duration(r.now - int64(r.dayIdx)*day - int64(r.sc.Shift.Start))
	f := c.Drift[0].Factor
	for i, p := range c.Drift {
		if t >= p.At {
			f = p.Factor
			continue
		}
		if i > 0 {
			q := c.Drift[i-1]
			f = q.Factor + (p.Factor-q.Factor)*float64(t-q.At)/float64(p.At-q.At)
		}
		break
	}
	return min(1, c.AnswerRate*f)
}

// place dials n calls now.
func (r *run) place(n int) {
	if n <= 0 || r.closing {
		return
	}
	c := &r.sc.Calls
	m := r.model
	m.AnswerRate = r.answerRate()
	for ; n > 0; n-- {
		plan := m.Plan(r.rc, "", c.RingTimeout)
		k := call{dialAt: r.now, state: callRinging}
		end := r.now + int64(plan.Ring)
		switch plan.Result {
		case sim.Answer:
			machine := r.rc.Float64() < c.MachineShare
			detect := r.rc.Float64()
			if r.sc.AMD.Enabled {
				k.ansAt = end
				end += int64(r.sc.AMD.Delay)
			}
			switch {
			case machine && r.sc.AMD.Enabled && detect < r.sc.AMD.Sensitivity:
				k.outcome = outAMDMachine
			case !machine && r.sc.AMD.Enabled && detect < r.sc.AMD.FalsePositiveRate:
				k.outcome = outAMDFalsePos
			case machine:
				k.outcome = outMachineThrough
				k.talk = int64(lognormal(r.rc, c.MachineTalk.median(), c.MachineTalk.Sigma))
			default:
				k.outcome = outHuman
				k.talk = int64(plan.Talk)
			}
		case sim.NoAnswer:
			k.outcome = outRingOut
		default:
			k.outcome = outNoConnect
		}
		id := r.newCall(k)
		r.calls[id].ringPos = int32(len(r.ringing))
		r.ringing = append(r.ringing, id)
		r.h.push(event{at: end, kind: evCallEnd, id: id})
		r.st.dials++
		if r.vd != nil {
			r.vd.dialed(r.now)
		}
	}
}

func (r *run) newCall(k call) int32 {
	if n := len(r.free); n > 0 {
		id := r.free[n-1]
		r.free = r.free[:n-1]
		k.gen = r.calls[id].gen + 1
		r.calls[id] = k
		return id
	}
	r.calls = append(r.calls, k)
	return int32(len(r.calls) - 1)
}

func (r *run) endCall(id int32) {
	r.calls[id].state = callDone
	r.free = append(r.free, id)
	r.st.ended++
}

func (r *run) hourIdx() int {
	h := int(r.now / hour)
	return min(max(h, 0), len(r.st.liveAns)-1)
}

// callEnd: the ring (and AMD) is over.
func (r *run) callEnd(id int32) {
	k := &r.calls[id]
	// Leave the ringing list.
	last := r.ringing[len(r.ringing)-1]
	r.ringing[k.ringPos] = last
	r.calls[last].ringPos = k.ringPos
	r.ringing = r.ringing[:len(r.ringing)-1]
	if k.ansAt > 0 {
		r.tracker.Screened(time.Duration(r.now-k.ansAt), k.outcome == outHuman || k.outcome == outMachineThrough)
	}
	switch k.outcome {
	case outNoConnect, outRingOut, outAMDMachine, outAMDFalsePos:
		r.tracker.NotConnected(time.Duration(r.now-k.dialAt), k.outcome == outRingOut)
		if k.outcome == outAMDFalsePos {
			r.st.falsePos[r.hourIdx()]++
		}
		r.endCall(id)
		r.maybeClose()
		return
	}
	r.st.connects++
	answered := r.now
	if k.ansAt > 0 {
		answered = k.ansAt // screened: the ring ended at the answer
	}
	r.tracker.Connected(time.Duration(answered - k.dialAt))
	if k.outcome == outHuman {
		r.st.liveAns[r.hourIdx()]++
	}
	if a, ok := r.popReady(); ok {
		r.assign(a, id)
		return
	}
	k.state = callWaiting
	r.waiting = append(r.waiting, waitEntry{call: id, gen: k.gen})
	r.nWait++
	r.h.push(event{at: r.now + int64(r.sc.Abandon.After), kind: evAbandon, id: id, gen: k.gen})
}

func (r *run) abandon(id int32, gen uint32) {
	k := &r.calls[id]
	if k.gen != gen || k.state != callWaiting {
		return // taken by an agent, and maybe the slot reused since
	}
	r.nWait--
	h := r.hourIdx()
	r.st.drops[h]++
	if k.outcome == outHuman {
		r.st.liveAb[h]++
	}
	r.tracker.Abandoned(r.at(r.now))
	if r.vd != nil {
		r.vd.dropped(r.now)
	}
	r.endCall(id)
	r.maybeClose()
}

// assign bridges call id to agent a.
func (r *run) assign(ai int32, id int32) {
	a := &r.agents[ai]
	k := &r.calls[id]
	k.state = callTalking
	w := r.now - a.readyAt
	r.st.waitSum += w
	r.st.waits++
	r.st.waitHist[min(w/waitBin, waitBins)]++
	a.state, a.since, a.call, a.talk = agTalk, r.now, id, k.talk
	r.nTalk++
	h := r.hourIdx()
	if k.outcome == outHuman {
		r.st.contacts++
		r.st.agentLive[h]++
	} else {
		r.st.agentMachine[h]++
	}
	r.tracker.Answered(r.at(r.now))
	if r.vd != nil {
		r.vd.handled(k.outcome == outHuman)
	}
	r.h.push(event{at: r.now + k.talk, kind: evTalkEnd, id: ai})
}

func (r *run) talkEnd(ai int32) {
	a := &r.agents[ai]
	r.st.talk += a.talk
	r.tracker.Talked(time.Duration(a.talk))
	r.endCall(a.call)
	r.nTalk--
	c := &r.sc.Calls
	a.wrap = int64(lognormal(r.ra, c.Wrap.median(), c.Wrap.Sigma))
	a.state, a.since = agWrap, r.now
	r.h.push(event{at: r.now + a.wrap, kind: evWrapEnd, id: ai})
	r.maybeClose()
}

// agentFree: an agent finished wrap-up or a break.
func (r *run) agentFree(ai int32) {
	a := &r.agents[ai]
	if !r.closing && a.breaksDue > 0 {
		a.breaksDue--
		r.startBreak(ai)
		return
	}
	if id, ok := r.popWaiting(); ok {
		a.readyAt = r.now
		r.assign(ai, id)
		return
	}
	if r.closing && len(r.ringing) == 0 {
		r.logoff(ai)
		return
	}
	r.makeReady(ai)
	r.decide()
}

func (r *run) startBreak(ai int32) {
	a := &r.agents[ai]
	a.state, a.since = agBreak, r.now
	// Breaks are taken in the order they are listed.
	b := r.sc.Breaks[min(a.nextBreak, len(r.sc.Breaks)-1)]
	a.nextBreak++
	r.h.push(event{at: r.now + int64(b.Length), kind: evBreakEnd, id: ai})
}

func (r *run) makeReady(ai int32) {
	a := &r.agents[ai]
	a.state, a.since, a.readyAt = agReady, r.now, r.now
	a.readySeq++
	r.ready = append(r.ready, readyEntry{agent: ai, seq: a.readySeq})
	r.nReady++
}

func (r *run) popReady() (int32, bool) {
	for r.readHd < len(r.ready) {
		e := r.ready[r.readHd]
		r.readHd++
		a := &r.agents[e.agent]
		if a.state == agReady && a.readySeq == e.seq {
			r.nReady--
			r.compactReady()
			return e.agent, true
		}
	}
	r.compactReady()
	return 0, false
}

func (r *run) compactReady() {
	if r.readHd > 1024 && r.readHd*2 > len(r.ready) {
		n := copy(r.ready, r.ready[r.readHd:])
		r.ready = r.ready[:n]
		r.readHd = 0
	}
}

func (r *run) popWaiting() (int32, bool) {
	for r.waitHd < len(r.waiting) {
		e := r.waiting[r.waitHd]
		r.waitHd++
		if k := &r.calls[e.call]; k.gen == e.gen && k.state == callWaiting {
			r.nWait--
			if r.waitHd > 1024 && r.waitHd*2 > len(r.waiting) {
				n := copy(r.waiting, r.waiting[r.waitHd:])
				r.waiting = r.waiting[:n]
				r.waitHd = 0
			}
			return e.call, true
		}
	}
	r.waiting, r.waitHd = r.waiting[:0], 0
	return 0, false
}

func (r *run) breakDue(ai int32, gen uint32) {
	a := &r.agents[ai]
	if a.gen != gen || a.state == agOff || r.closing {
		return
	}
	if a.state == agReady {
		r.nReady--
		a.readySeq++ // its queue entry goes stale
		r.startBreak(ai)
		return
	}
	a.breaksDue++
}

// maybeClose logs the ready agents off once the shift is over and no call is in flight.
func (r *run) maybeClose() {
	if !r.closing || len(r.ringing) > 0 || r.nWait > 0 {
		return
	}
	for i := range r.agents {
		if r.agents[i].state == agReady {
			r.nReady--
			r.agents[i].readySeq++
			r.logoff(int32(i))
		}
	}
}

// logoff ends a free agent's shift: one that is ready, or has just finished a call's
// wrap-up or a break (whose time evBreakEnd has already counted).
func (r *run) logoff(ai int32) {
	a := &r.agents[ai]
	r.st.loggedIn += r.now - a.login - a.breakTime
	a.state = agOff
}

func lognormal(r *rand.Rand, median time.Duration, sigma float64) time.Duration {
	if median <= 0 {
		return 0
	}
	return time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
}
