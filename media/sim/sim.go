// Package sim is the call-outcome model shared by the fake media servers (esltest,
// aritest) and the pacing simulator: given a destination number, it decides whether the
// callee answers, is busy, declines, cannot be reached or does not pick up, how long the
// phone rings and how long an answered callee stays on the line.
//
// It imports the standard library only and does no I/O. A Model is immutable once built;
// randomness comes from the *rand.Rand the caller passes, so runs are reproducible by seed.
package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Result is what the simulated far end does.
type Result string

const (
	Answer      Result = "answer"      // picks up, talks, hangs up (NORMAL_CLEARING)
	Busy        Result = "busy"        // 486 USER_BUSY
	NoAnswer    Result = "no_answer"   // rings until the ring timeout (NO_ANSWER)
	Reject      Result = "reject"      // 603 CALL_REJECTED after some ringing
	Unavailable Result = "unavailable" // 480 NO_USER_RESPONSE without ringing
	Invalid     Result = "invalid"     // 404 UNALLOCATED_NUMBER
	Fail        Result = "fail"        // 503 / unreachable: NORMAL_TEMPORARY_FAILURE
)

// Results lists every Result, for validation and docs.
var Results = []Result{Answer, Busy, NoAnswer, Reject, Unavailable, Invalid, Fail}

// Plan is the scripted life of one call.
type Plan struct {
	Result Result
	// EarlyMedia: the far end sends 183 with media before answering or failing.
	EarlyMedia bool
	// Ring is the time from originate to the answer or the failure.
	Ring time.Duration
	// Talk is how long an answered callee stays before hanging up.
	Talk time.Duration
}

// Model is the outcome mix and the timing distributions.
type Model struct {
	// AnswerRate is the probability that a call is answered, 0..1.
	AnswerRate float64
	// BusyShare, RejectShare, UnavailableShare and FailShare split the unanswered calls;
	// the rest ring out (no answer). Their sum must not exceed 1.
	BusyShare, RejectShare, UnavailableShare, FailShare float64
	// EarlyMediaShare is the probability that the far end sends early media (183).
	EarlyMediaShare float64
	// RingMedian and RingSigma parameterize the lognormal time to answer or fail.
	RingMedian time.Duration
	RingSigma  float64
	// TalkMedian and TalkSigma parameterize the lognormal talk time.
	TalkMedian time.Duration
	TalkSigma  float64
	// Overrides forces the result for a destination (digits without '+'): scripted callees
	// for tests.
	Overrides map[string]Result
}

// Default is a plausible outbound mix: 30% answer, talk median 40 s.
func Default() Model {
	return Model{
		AnswerRate:       0.30,
		BusyShare:        0.15,
		RejectShare:      0.05,
		UnavailableShare: 0.10,
		FailShare:        0.05,
		EarlyMediaShare:  0.20,
		RingMedian:       8 * time.Second,
		RingSigma:        0.5,
		TalkMedian:       40 * time.Second,
		TalkSigma:        0.8,
	}
}

// Validate reports a model that cannot be sampled.
func (m Model) Validate() error {
	if m.AnswerRate < 0 || m.AnswerRate > 1 {
		return fmt.Errorf("answer rate %v: must be within 0..1", m.AnswerRate)
	}
	for name, v := range map[string]float64{"busy": m.BusyShare, "reject": m.RejectShare,
		"unavailable": m.UnavailableShare, "fail": m.FailShare, "early media": m.EarlyMediaShare} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s share %v: must be within 0..1", name, v)
		}
	}
	if s := m.BusyShare + m.RejectShare + m.UnavailableShare + m.FailShare; s > 1+1e-9 {
		return fmt.Errorf("busy+reject+unavailable+fail shares sum to %v: must not exceed 1", s)
	}
	if m.RingMedian < 0 || m.TalkMedian < 0 || m.RingSigma < 0 || m.TalkSigma < 0 {
		return fmt.Errorf("ring and talk distributions must not be negative")
	}
	for n, r := range m.Overrides {
		if !valid(r) {
			return fmt.Errorf("override for %s: unknown result %q", n, r)
		}
	}
	return nil
}

func valid(r Result) bool {
	for _, x := range Results {
		if x == r {
			return true
		}
	}
	return false
}

// Plan samples the life of a call to number (E.164 with or without '+'). ringTimeout
// bounds ringing: a callee who would answer later than that rings out instead.
func (m Model) Plan(r *rand.Rand, number string, ringTimeout time.Duration) Plan {
	p := Plan{
		Ring:       lognormal(r, m.RingMedian, m.RingSigma),
		Talk:       lognormal(r, m.TalkMedian, m.TalkSigma),
		EarlyMedia: r.Float64() < m.EarlyMediaShare,
	}
	if res, ok := m.Overrides[strings.TrimPrefix(number, "+")]; ok {
		p.Result = res
	} else if r.Float64() < m.AnswerRate {
		p.Result = Answer
	} else {
		u := r.Float64()
		switch {
		case u < m.BusyShare:
			p.Result = Busy
		case u < m.BusyShare+m.RejectShare:
			p.Result = Reject
		case u < m.BusyShare+m.RejectShare+m.UnavailableShare:
			p.Result = Unavailable
		case u < m.BusyShare+m.RejectShare+m.UnavailableShare+m.FailShare:
			p.Result = Fail
		default:
			p.Result = NoAnswer
		}
	}
	switch p.Result {
	case Busy, Unavailable, Invalid, Fail:
		// These fail within a second or two, without ringing long.
		p.Ring = p.Ring / 8
	case NoAnswer:
		p.Ring = ringTimeout
	}
	if ringTimeout > 0 && p.Ring > ringTimeout {
		p.Ring = ringTimeout
		if p.Result == Answer || p.Result == Reject {
			p.Result = NoAnswer
		}
	}
	if p.Result != Answer {
		p.Talk = 0
	}
	return p
}

// lognormal samples a lognormal duration with the given median (e^mu) and sigma.
func lognormal(r *rand.Rand, median time.Duration, sigma float64) time.Duration {
	if median <= 0 {
		return 0
	}
	return time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
}

// Gateway returns the carrier gateway a dial string goes through: FreeSWITCH
// "sofia/gateway/<gw>/<number>" or Asterisk "PJSIP/<number>@<gw>"; "" when none.
func Gateway(dial string) string {
	if rest, ok := strings.CutPrefix(dial, "sofia/gateway/"); ok {
		gw, _, _ := strings.Cut(rest, "/")
		return gw
	}
	if i := strings.LastIndexByte(dial, '@'); i >= 0 {
		return dial[i+1:]
	}
	return ""
}

// GatewayDown is the plan of a call through a gateway that is down: it fails at once
// (503, NORMAL_TEMPORARY_FAILURE) without ringing.
var GatewayDown = Plan{Result: Fail, Ring: 20 * time.Millisecond}
