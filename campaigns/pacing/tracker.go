package pacing

import (
	"math"
	"time"
)

// Tracker turns observed call events into a Snapshot's Stats and Budget. Estimates decay
// exponentially with the number of observations (HalfLife), so they follow an answer rate
// that drifts during the day; the budget counts connected and abandoned calls in a sliding
// window of whole minutes. The zero value is not ready: use NewTracker.
//
// Every method takes the time of the event where it needs one; a Tracker never reads the
// clock. It is not safe for concurrent use.
type Tracker struct {
	// HalfLife is the number of observations after which an old one weighs half (default
	// 1000 for dials, a quarter of that for talk and wrap-up times).
	HalfLife float64
	// RingTimeout is copied into Stats.
	RingTimeout time.Duration

	dials      ewm // x = 1 if the dial connected
	ringOut    ewm // among dials that did not connect: x = 1 if it rang out
	ring       ewm // ln seconds from dial to answer, for connected dials
	fail       ewm // ln seconds to the end of dials that neither connect nor ring out
	talk, wrap ewm // ln seconds
	screen     ewm // ln seconds from answer to the detection's verdict
	screenPass ewm // x = 1 if the screened answer was handed to the dialer

	window  time.Duration
	buckets []bucket // ring of minute buckets
	ans     int
	ab      int
	last    int64 // newest minute counted
}

type bucket struct {
	minute  int64
	ans, ab int
}

// ewm is an exponentially weighted mean and variance.
type ewm struct{ w, mean, m2 float64 }

func (e *ewm) add(x, decay float64) {
	e.w = e.w*decay + 1
	d := x - e.mean
	e.mean += d / e.w
	e.m2 = e.m2*decay + d*(x-e.mean)
}

func (e *ewm) sd() float64 {
	if e.w <= 1 {
		return 0
	}
	return math.Sqrt(max(e.m2/e.w, 0))
}

// NewTracker tracks the abandon budget over window (rounded up to whole minutes; default
// 24 h) and seeds the estimates with prior, weighted as prior.Dials observations, so that a
// campaign's first calls are paced from its configuration until real calls outweigh it.
func NewTracker(window time.Duration, prior Stats) *Tracker {
	if window <= 0 {
		window = 24 * time.Hour
	}
	n := int((window + time.Minute - 1) / time.Minute)
	t := &Tracker{window: window, buckets: make([]bucket, n), last: math.MinInt64, RingTimeout: prior.RingTimeout}
	if w := prior.Dials; w > 0 {
		t.dials = ewm{w: w, mean: prior.AnswerRate}
		t.ringOut = ewm{w: w, mean: prior.RingOutShare}
		for _, x := range []struct {
			e *ewm
			d LogNormal
		}{{&t.ring, prior.Ring}, {&t.fail, prior.Fail}, {&t.talk, prior.Talk}, {&t.wrap, prior.Wrap}} {
			*x.e = ewm{w: w, mean: x.d.Mu, m2: w * x.d.Sigma * x.d.Sigma}
		}
	}
	if w := prior.Screens; w > 0 {
		t.screen = ewm{w: w, mean: prior.Screen.Mu, m2: w * prior.Screen.Sigma * prior.Screen.Sigma}
		t.screenPass = ewm{w: w, mean: prior.ScreenPass}
	}
	return t
}

func (t *Tracker) decay(scale float64) float64 {
	h := t.HalfLife
	if h <= 0 {
		h = 1000
	}
	return math.Exp2(-1 / (h * scale))
}

// Connected records a dial that connected to someone who needs an agent, answered after
// ring (for a screened answer, Screened records the screening).
func (t *Tracker) Connected(ring time.Duration) {
	t.dials.add(1, t.decay(1))
	t.ring.add(lnSec(ring), t.decay(0.25))
}

// NotConnected records a dial that ended after ring without needing an agent; rangOut
// tells whether it rang until the ring timeout.
func (t *Tracker) NotConnected(ring time.Duration, rangOut bool) {
	t.dials.add(0, t.decay(1))
	x := 0.0
	if rangOut {
		x = 1
	} else {
		t.fail.add(lnSec(ring), t.decay(0.25))
	}
	t.ringOut.add(x, t.decay(1))
}

// Screened records an answer that answer-machine detection took d to judge; passed tells
// whether it was handed to the dialer (then Connected records it too).
func (t *Tracker) Screened(d time.Duration, passed bool) {
	t.screen.add(lnSec(d), t.decay(0.25))
	t.screenPass.add(b2f(passed), t.decay(0.25))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Talked records the talk time of a call an agent took.
func (t *Tracker) Talked(d time.Duration) { t.talk.add(lnSec(d), t.decay(0.25)) }

// Wrapped records a wrap-up time.
func (t *Tracker) Wrapped(d time.Duration) { t.wrap.add(lnSec(d), t.decay(0.25)) }

// Answered records at now a connected call that reached an agent in time.
func (t *Tracker) Answered(now time.Time) { t.count(now, 1, 0) }

// Abandoned records at now a connected call that had no agent in time.
func (t *Tracker) Abandoned(now time.Time) { t.count(now, 1, 1) }

func (t *Tracker) count(now time.Time, ans, ab int) {
	t.advance(now)
	m := minuteOf(now)
	if m <= t.last-int64(len(t.buckets)) {
		return // older than the window
	}
	b := &t.buckets[mod(m, len(t.buckets))]
	if b.minute != m {
		*b = bucket{minute: m}
	}
	b.ans += ans
	b.ab += ab
	t.ans += ans
	t.ab += ab
}

// advance drops the minutes that left the window by now.
func (t *Tracker) advance(now time.Time) {
	m := minuteOf(now)
	if m <= t.last {
		return
	}
	n := int64(len(t.buckets))
	from := t.last + 1
	if t.last == math.MinInt64 || m-t.last > n {
		from = m - n + 1
	}
	for x := from; x <= m; x++ {
		b := &t.buckets[mod(x, len(t.buckets))]
		if b.minute != x {
			t.ans -= b.ans
			t.ab -= b.ab
			*b = bucket{minute: x}
		}
	}
	t.last = m
}

// Stats returns the current estimates.
func (t *Tracker) Stats() Stats {
	return Stats{
		Dials:        t.dials.w,
		AnswerRate:   t.dials.mean,
		RingOutShare: t.ringOut.mean,
		Ring:         LogNormal{Mu: t.ring.mean, Sigma: t.ring.sd()},
		Fail:         LogNormal{Mu: t.fail.mean, Sigma: t.fail.sd()},
		RingTimeout:  t.RingTimeout,
		Screens:      t.screen.w,
		Screen:       LogNormal{Mu: t.screen.mean, Sigma: t.screen.sd()},
		ScreenPass:   t.screenPass.mean,
		Talk:         LogNormal{Mu: t.talk.mean, Sigma: t.talk.sd()},
		Wrap:         LogNormal{Mu: t.wrap.mean, Sigma: t.wrap.sd()},
	}
}

// Budget returns the window's counts at now with the given target and hard cap.
func (t *Tracker) Budget(now time.Time, target, hardCap float64, abandonAfter time.Duration) Budget {
	t.advance(now)
	return Budget{Answered: t.ans, Abandoned: t.ab, Target: target, HardCap: hardCap, AbandonAfter: abandonAfter}
}

func minuteOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 && s%60 != 0 {
		return s/60 - 1
	}
	return s / 60
}

func mod(x int64, n int) int { return int(((x % int64(n)) + int64(n)) % int64(n)) }

func lnSec(d time.Duration) float64 { return math.Log(max(d.Seconds(), 1e-3)) }

// Add counts, at at, answered connected calls of which abandoned had no agent in time: a
// restarted engine seeds its budget window from the ledger this way.
func (t *Tracker) Add(at time.Time, answered, abandoned int) { t.count(at, answered, abandoned) }
