package pacing

import "math"

// Predictive places calls ahead of free agents and spends an explicit abandon budget.
//
// For a candidate number n of new calls it computes, at horizons h over the time a new
// call takes to connect (quantiles of Stats.Ring, plus the screening time when answers are
// screened), the calls that will have connected by h and the agents that will be free by
// h + AbandonAfter:
//
//   - demand D(h) = Waiting + Σ_k Bernoulli(q_k(h)) + Σ_k Bernoulli(s_k(h)) + Binomial(n,
//     AnswerRate·F_ring(h − screen)), where q_k(h) is the chance that ringing call k,
//     unanswered after r_k, connects within h, and s_k(h) the chance that call k, being
//     screened by answer-machine detection, is handed over within h (ScreenPass, timed by
//     Stats.Screen);
//   - supply S(h) = Ready + Σ on-call Bernoulli(P(talk left + mean wrap ≤ h+w | talk so
//     far)) + Σ wrap-up Bernoulli(P(wrap left ≤ h+w | wrap so far)).
//
// D−S is approximated by a normal distribution with the exact mean and variance of those
// sums, and the expected abandons are E_ab(n) = max_h E[(D(h)−S(h))⁺]. The policy places
// the largest n (scanning up from 0, stopping at the first that fails) such that the n-th
// call's own expected abandons stay within the allowance,
//
//	E_ab(n) − E_ab(n−1) ≤ a · AnswerRate   and   Reserve · E_ab(n) ≤ Budget.Left() − 1
//
// so that the budget goes where a call is least likely to be abandoned (the last call's
// marginal cost, not the batch's average, is what the allowance prices). The allowance
// a = T·min(Boost, Gain·(1 − rate/T)), with T the target lowered to HardCap and then by
// Margin, shrinks as the abandon rate measured in the budget window (counting Reserve ·
// E_ab(0) for the calls in flight) nears T: a proportional controller that corrects the
// model's own bias against what was actually measured. The marginal allowance may exceed
// the hard cap (up to Boost × T); what T bounds is the measured rate. It never places fewer
// calls than Progressive would. It is Progressive when the team has fewer than MinAgents
// agents, when the estimates rest on fewer than MinDials dials, or when the budget is spent
// (fewer than one abandon left at the target rate over the window).
type Predictive struct {
	// MinAgents is the smallest team that is dialed predictively (default 8).
	MinAgents int
	// MinDials is the number of observed dials the estimates need (default 200).
	MinDials float64
	// Gain scales the allowance when the window's abandon rate is below the target
	// (default 4).
	Gain float64
	// Boost caps the marginal allowance at Boost × the target (default 2). The model's
	// expected abandons are a lower bound of what happens, so a marginal allowance of
	// the target alone would leave the budget unspent; what the target and the hard cap
	// bound is the rate measured over the window, which feeds back through Gain.
	Boost float64
	// Reserve multiplies the expected abandons of the calls in flight before they are
	// set aside from the budget left (default 2: in simulation the calls in flight at a
	// moment abandon about twice what the model expects of them alone, because calls
	// placed later take some of the agents they counted on).
	Reserve float64
	// RelErr is the relative error assumed in the answer-rate estimate (default 0.1): it
	// widens the demand's distribution in proportion to the calls in flight, which keeps
	// large bursts (a shift start, a team back from a break) from overshooting.
	RelErr float64
	// Margin keeps the controller's set point this share below the target (default 0.05:
	// aim at 2.85% for a 3% target), so that the swings of a small team at a low answer
	// rate stay under the cap in every 24 h window.
	Margin float64
}

func (Predictive) Name() string { return "predictive" }

// horizons are the quantiles of the connect time at which supply and demand are compared.
var horizons = [...]float64{0.2, 0.4, 0.6, 0.8, 0.95, 1}

// Dials implements Policy.
func (p Predictive) Dials(s Snapshot) int {
	prog := Progressive{}.Dials(s)
	agents := s.Agents()
	if agents == 0 {
		return 0
	}
	minAgents, minDials, gain := p.MinAgents, p.MinDials, p.Gain
	if minAgents <= 0 {
		minAgents = 8
	}
	if minDials <= 0 {
		minDials = 200
	}
	if gain <= 0 {
		gain = 4
	}
	relErr := p.RelErr
	if relErr <= 0 {
		relErr = 0.1
	}
	st, b := s.Stats, s.Budget
	left := b.Left()
	if agents < minAgents || st.Dials < minDials || st.AnswerRate <= 0 || left < 1 {
		return prog
	}
	m := newModel(s, relErr)
	// The calls in flight will abandon some more: keep them out of what is spent. The
	// model's expectation is a lower bound (calls placed later compete for the same
	// agents), hence Reserve.
	reserve := p.Reserve
	if reserve <= 0 {
		reserve = 2
	}
	inFlight := reserve * m.abandons(0)
	left -= inFlight + 1
	if left < 0 {
		return prog
	}
	margin := p.Margin
	if margin <= 0 {
		margin = 0.05
	}
	tgt := b.target() * (1 - min(margin, 0.5))
	rate := 0.0
	if b.Answered > 0 {
		rate = (float64(b.Abandoned) + inFlight) / float64(b.Answered)
	}
	boost := p.Boost
	if boost <= 0 {
		boost = 2
	}
	allow := tgt * min(boost, gain*(1-rate/tgt))
	if allow <= 0 {
		return prog
	}
	pa := st.AnswerRate
	// Enough calls to occupy every agent several times over bounds the scan.
	limit := int(math.Ceil(4*float64(agents+1)/pa)) + 1
	best := 0
	prev := inFlight / reserve
	for n := 1; n <= limit; n++ {
		ab := m.abandons(n)
		if ab-prev > allow*pa || reserve*ab > left+inFlight {
			break
		}
		best, prev = n, ab
	}
	return max(best, prog)
}

// model holds, per horizon, the mean of D−S and the covariances between horizons without
// new calls, and the share of a new call's chance to connect that falls within each.
type model struct {
	mu     [nh]float64
	cov    [nh][nh]float64
	ring   [nh]float64 // expected connects of the ringing and screened calls by each horizon
	c      [nh]float64
	relErr float64
}

const nh = len(horizons)

func newModel(s Snapshot, relErr float64) *model {
	st := s.Stats
	w := s.Budget.abandonAfter().Seconds()
	timeout := st.RingTimeout.Seconds()
	wrapMean := st.Wrap.meanSec()
	// A call connects when it is answered, or after answer-machine detection has screened
	// the answer.
	screen := 0.0
	if st.Screens > 0 {
		screen = st.Screen.meanSec()
	}
	pa := st.AnswerRate
	m := &model{relErr: relErr}
	var h [nh]float64 // answer times; a new call connects by h[j]+screen
	for j, q := range horizons {
		switch {
		case q < 1:
			h[j] = st.Ring.quantile(q)
			if timeout > 0 {
				h[j] = min(h[j], timeout)
			}
		case timeout > 0:
			h[j] = timeout
		default:
			h[j] = st.Ring.quantile(0.999)
		}
		m.mu[j] = float64(s.Waiting - s.Ready)
		m.c[j] = pa * st.Ring.cdf(h[j])
		h[j] += screen
	}
	// Each agent and each ringing or screened call is a Bernoulli trial per horizon, cumulative over
	// horizons: for j ≤ k, Cov(1{by h_j}, 1{by h_k}) = f_j(1−f_k).
	var f [nh]float64
	add := func(sign float64) {
		for j := range f {
			m.mu[j] += sign * f[j]
			for k := j; k < nh; k++ {
				m.cov[j][k] += f[j] * (1 - f[k])
			}
		}
	}
	for _, t := range s.OnCall {
		ts := t.Seconds()
		ft := st.Talk.cdf(ts)
		for j := range f {
			f[j] = st.Talk.doneAfter(ts, ft, h[j]+w-wrapMean)
		}
		add(-1)
	}
	for _, t := range s.InWrap {
		ts := t.Seconds()
		ft := st.Wrap.cdf(ts)
		for j := range f {
			f[j] = st.Wrap.doneAfter(ts, ft, h[j]+w)
		}
		add(-1)
	}
	for _, r := range s.Ringing {
		cw := newRinging(st, r.Seconds())
		for j := range f {
			f[j] = cw.within(h[j]-screen, timeout)
			m.ring[j] += f[j]
		}
		add(1)
	}
	for _, a := range s.Screening {
		as := a.Seconds()
		fa := st.Screen.cdf(as)
		for j := range f {
			f[j] = st.ScreenPass * st.Screen.doneAfter(as, fa, h[j])
			m.ring[j] += f[j]
		}
		add(1)
	}
	for j := range nh {
		for k := 0; k < j; k++ {
			m.cov[j][k] = m.cov[k][j]
		}
	}
	return m
}

// abandons is the expected number of abandons with n new calls: E[max(0, max_h D(h)−S(h))],
// the expected loss of a system where a call that finds no free agent is lost, with the
// maximum of the correlated normal variables taken by Clark's moment recursion.
func (m *model) abandons(n int) float64 {
	var mean [nh]float64
	var cov [nh][nh]float64
	nf := float64(n)
	for j := range nh {
		mean[j] = m.mu[j] + nf*m.c[j]
		ej := m.relErr * (m.ring[j] + nf*m.c[j])
		for k := j; k < nh; k++ {
			// The answer rate is an estimate and drifts: its error moves every call the
			// same way, so it adds a fully correlated term.
			ek := m.relErr * (m.ring[k] + nf*m.c[k])
			v := m.cov[j][k] + nf*m.c[j]*(1-m.c[k]) + ej*ek
			cov[j][k], cov[k][j] = v, v
		}
	}
	// Z = max(Y_0..Y_k), with Cov(Z, Y_l) for the later l.
	mz, vz := mean[0], cov[0][0]
	var cz [nh]float64
	copy(cz[:], cov[0][:])
	for k := 1; k < nh; k++ {
		mk, vk := mean[k], cov[k][k]
		a2 := vz + vk - 2*cz[k]
		if a2 < 1e-9 {
			if mk > mz {
				mz, vz = mk, vk
				copy(cz[:], cov[k][:])
			}
			continue
		}
		a := math.Sqrt(a2)
		al := (mz - mk) / a
		phi := math.Exp(-al*al/2) / math.Sqrt(2*math.Pi)
		cdf := 0.5 * math.Erfc(-al/math.Sqrt2)
		m1 := mz*cdf + mk*(1-cdf) + a*phi
		m2 := (mz*mz+vz)*cdf + (mk*mk+vk)*(1-cdf) + (mz+mk)*a*phi
		for l := k + 1; l < nh; l++ {
			cz[l] = cz[l]*cdf + cov[k][l]*(1-cdf)
		}
		mz, vz = m1, max(m2-m1*m1, 0)
	}
	return positivePart(mz, vz)
}

// ringing is a call still ringing, unanswered, after r seconds.
type ringing struct {
	ring             LogNormal
	r, fr, pa, alive float64 // fr = F_ring(r); alive = P(still ringing after r)
}

func newRinging(st Stats, r float64) ringing {
	pa, rho := st.AnswerRate, st.RingOutShare
	fr := st.Ring.cdf(r)
	return ringing{ring: st.Ring, r: r, fr: fr, pa: pa,
		alive: pa*(1-fr) + (1-pa)*(rho+(1-rho)*(1-st.Fail.cdf(r)))}
}

// within is the chance that the call is answered within a more seconds, before the ring
// timeout (and so connects within a plus the screening time).
func (c ringing) within(a, timeout float64) float64 {
	if timeout > 0 {
		if c.r >= timeout {
			return 0
		}
		a = min(a, timeout-c.r)
	}
	if a <= 0 || c.alive <= 0 {
		return 0
	}
	return min(1, c.pa*(c.ring.cdf(c.r+a)-c.fr)/c.alive)
}

// positivePart is E[X⁺] for X ~ N(mu, vr).
func positivePart(mu, vr float64) float64 {
	if vr < 1e-12 {
		return max(mu, 0)
	}
	sd := math.Sqrt(vr)
	z := mu / sd
	return mu*0.5*math.Erfc(-z/math.Sqrt2) + sd*math.Exp(-z*z/2)/math.Sqrt(2*math.Pi)
}
