package pacing

import (
	"math"
	"time"
)

// Snapshot is what a policy sees at one moment. The slices are borrowed: a policy reads
// them during Dials and keeps no reference.
type Snapshot struct {
	// Now is the moment of the decision (the engine's clock, or virtual time).
	Now time.Time
	// Ready counts the agents waiting for a call.
	Ready int
	// Reserved counts the agents already promised to a connected call being bridged.
	Reserved int
	// OnCall holds, per agent on a call, the talk time so far.
	OnCall []time.Duration
	// InWrap holds, per agent in wrap-up, the wrap-up time so far.
	InWrap []time.Duration
	// Ringing holds, per call placed and not yet answered or ended, the time since it was
	// placed.
	Ringing []time.Duration
	// Screening holds, per call answered and still being screened by answer-machine
	// detection, the time since the answer. Empty where no detection runs.
	Screening []time.Duration
	// Waiting counts the connected calls waiting for an agent (each abandons when
	// Budget.AbandonAfter passes without one).
	Waiting int
	// Stats are the recent observations (see Tracker).
	Stats Stats
	// Budget is the abandon budget.
	Budget Budget
}

// Agents is the number of agents working the campaign now (not on a break, logged in).
func (s Snapshot) Agents() int { return s.Ready + s.Reserved + len(s.OnCall) + len(s.InWrap) }

// unmatched counts the calls placed that have no agent yet.
func (s Snapshot) unmatched() int { return len(s.Ringing) + len(s.Screening) + s.Waiting }

// Stats are estimates from recent calls.
type Stats struct {
	// Dials is the number of dials behind the estimates (decayed; see Tracker.HalfLife).
	Dials float64
	// AnswerRate is the probability that a dial connects to someone who needs an agent: a
	// live person, or a machine that answer-machine detection let through. 0..1.
	AnswerRate float64
	// RingOutShare is the share of the dials that do not connect which ring until the ring
	// timeout; the others (busy, rejected, failed, hung up by answer-machine detection)
	// end after a time distributed as Fail. 0..1.
	RingOutShare float64
	// Ring is the distribution of the time from dial to answer, for connected calls (the
	// connect follows the answer, after Screen when answers are screened).
	Ring LogNormal
	// Fail is the distribution of the time to the end of dials that neither connect nor
	// ring out.
	Fail LogNormal
	// RingTimeout is when an unanswered call gives up (0: none).
	RingTimeout time.Duration
	// Screens is the number of screened answers behind Screen and ScreenPass (decayed;
	// 0 where no answer-machine detection runs).
	Screens float64
	// Screen is the distribution of the time answer-machine detection takes, from the
	// answer to its verdict (Ring ends at the answer, before it).
	Screen LogNormal
	// ScreenPass is the share of screened answers handed to the dialer (persons, and
	// machines detection missed). 0..1.
	ScreenPass float64
	// Talk and Wrap are the distributions of talk and wrap-up times.
	Talk, Wrap LogNormal
}

// Budget is the abandon budget: the answered and abandoned calls in the budget window (the
// caller's choice, usually the last 24 h) and the rates to keep to.
type Budget struct {
	// Answered counts the connected calls in the window (reached an agent or abandoned).
	Answered int
	// Abandoned counts the connected calls in the window that had no agent in time.
	Abandoned int
	// Target is the abandon rate to spend up to (default 0.03).
	Target float64
	// HardCap is the rate never to exceed (default 0.03); Target is lowered to it.
	HardCap float64
	// AbandonAfter is how long a connected call waits for an agent (default 2 s).
	AbandonAfter time.Duration
}

func (b Budget) target() float64 {
	t, c := b.Target, b.HardCap
	if t <= 0 {
		t = 0.03
	}
	if c <= 0 {
		c = 0.03
	}
	return min(t, c)
}

func (b Budget) abandonAfter() time.Duration {
	if b.AbandonAfter <= 0 {
		return 2 * time.Second
	}
	return b.AbandonAfter
}

// Left is the number of abandons the window can still take at the target rate.
func (b Budget) Left() float64 { return b.target()*float64(b.Answered) - float64(b.Abandoned) }

// Policy decides how many new calls to place now.
type Policy interface {
	Name() string
	Dials(s Snapshot) int
}

var (
	_ Policy = Preview{}
	_ Policy = Progressive{}
	_ Policy = Broadcast{}
	_ Policy = Predictive{}
)

// Preview places no call by itself: the agent reviews the contact and dials.
type Preview struct{}

func (Preview) Name() string       { return "preview" }
func (Preview) Dials(Snapshot) int { return 0 }

// Progressive keeps one outstanding call per idle agent, so every call that connects has an
// agent: it never abandons, and agents wait for the whole ring time of every call.
type Progressive struct{}

func (Progressive) Name() string { return "progressive" }

func (Progressive) Dials(s Snapshot) int { return max(0, s.Ready-s.unmatched()) }

// Broadcast plays a message without agents: it keeps Lines calls in progress.
type Broadcast struct{ Lines int }

func (Broadcast) Name() string { return "broadcast" }

func (b Broadcast) Dials(s Snapshot) int { return max(0, b.Lines-s.unmatched()) }

// LogNormal is a lognormal distribution of durations: ln(seconds) ~ N(Mu, Sigma²).
type LogNormal struct{ Mu, Sigma float64 }

// LogNormalMedian is the lognormal with the given median and sigma.
func LogNormalMedian(median time.Duration, sigma float64) LogNormal {
	return LogNormal{Mu: math.Log(max(median.Seconds(), 1e-3)), Sigma: sigma}
}

// LogNormalMean is the lognormal with the given mean and sigma.
func LogNormalMean(mean time.Duration, sigma float64) LogNormal {
	return LogNormal{Mu: math.Log(max(mean.Seconds(), 1e-3)) - sigma*sigma/2, Sigma: sigma}
}

// Median is e^Mu.
func (d LogNormal) Median() time.Duration { return seconds(math.Exp(d.Mu)) }

// Mean is e^(Mu+Sigma²/2).
func (d LogNormal) Mean() time.Duration { return seconds(d.meanSec()) }

func (d LogNormal) meanSec() float64 { return math.Exp(d.Mu + d.Sigma*d.Sigma/2) }

// CDF is P(X <= x).
func (d LogNormal) CDF(x time.Duration) float64 { return d.cdf(x.Seconds()) }

func (d LogNormal) cdf(x float64) float64 {
	if x <= 0 {
		return 0
	}
	if d.Sigma <= 0 {
		if math.Log(x) >= d.Mu {
			return 1
		}
		return 0
	}
	return 0.5 * math.Erfc(-(math.Log(x)-d.Mu)/(d.Sigma*math.Sqrt2))
}

// Quantile is the x with CDF(x) = q, 0 < q < 1 (0 at q = 0, the longest Duration at q = 1).
func (d LogNormal) Quantile(q float64) time.Duration { return seconds(d.quantile(q)) }

func (d LogNormal) quantile(q float64) float64 {
	return math.Exp(d.Mu + d.Sigma*math.Sqrt2*math.Erfinv(2*q-1))
}

// doneAfter is P(X <= t+x | X > t), with ft = CDF(t): the chance that something that has
// lasted t ends within x more.
func (d LogNormal) doneAfter(t, ft, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if ft >= 1 {
		return 1
	}
	return (d.cdf(t+x) - ft) / (1 - ft)
}

// seconds converts to a Duration, saturating: a quantile near 1 or the mean of a wide
// distribution can exceed what a Duration holds, and converting an out-of-range float to
// an integer is implementation-defined in Go (on amd64, +Inf becomes the most negative
// Duration).
func seconds(s float64) time.Duration {
	ns := s * float64(time.Second)
	switch {
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns <= math.MinInt64:
		return math.MinInt64
	case math.IsNaN(ns):
		return 0
	}
	return time.Duration(ns)
}
