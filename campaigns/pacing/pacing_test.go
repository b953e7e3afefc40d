package pacing_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/callplane/callplane/campaigns/pacing"
)

const s = time.Second

// stats are the estimates of a campaign with answerRate, as a Tracker would give them after
// a thousand dials.
func stats(answerRate float64) pacing.Stats {
	return pacing.Stats{
		Dials:        1000,
		AnswerRate:   answerRate,
		RingOutShare: 0.5,
		Ring:         pacing.LogNormalMedian(10*s, 0.5),
		Fail:         pacing.LogNormalMedian(2500*time.Millisecond, 1),
		RingTimeout:  30 * s,
		Talk:         pacing.LogNormalMean(150*s, 0.8),
		Wrap:         pacing.LogNormalMean(15*s, 0.3),
	}
}

// busyTeam is a team of agents of whom ready wait, a tenth are in wrap-up and the others
// talk, at times so far spread over a call's usual length; the budget window has 2000
// answered calls and 10 abandons (0.5%, well within 3%).
func busyTeam(agents, ready int, answerRate float64) pacing.Snapshot {
	snap := pacing.Snapshot{
		Now:    time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC),
		Ready:  ready,
		Stats:  stats(answerRate),
		Budget: pacing.Budget{Answered: 2000, Abandoned: 10},
	}
	wrap := (agents - ready) / 10
	for i := range agents - ready - wrap {
		snap.OnCall = append(snap.OnCall, time.Duration(i*37%240)*s)
	}
	for i := range wrap {
		snap.InWrap = append(snap.InWrap, time.Duration(i*3%15)*s)
	}
	return snap
}

func TestProgressive(t *testing.T) {
	ring := func(n int) []time.Duration { return make([]time.Duration, n) }
	tests := []struct {
		name string
		snap pacing.Snapshot
		want int
	}{
		{"no agent", pacing.Snapshot{}, 0},
		{"idle team: one call per ready agent", pacing.Snapshot{Ready: 5}, 5},
		{"ringing calls count against the ready agents", pacing.Snapshot{Ready: 5, Ringing: ring(3)}, 2},
		{"waiting calls too", pacing.Snapshot{Ready: 5, Ringing: ring(3), Waiting: 1}, 1},
		{"and calls being screened by AMD", pacing.Snapshot{Ready: 5, Ringing: ring(1), Screening: ring(2)}, 2},
		{"busy agents are not counted", pacing.Snapshot{Ready: 1, OnCall: ring(20), InWrap: ring(3)}, 1},
		{"more calls in flight than ready agents: never negative", pacing.Snapshot{Ready: 1, Ringing: ring(4), Waiting: 2}, 0},
		{"calls waiting and no agent ready", pacing.Snapshot{Waiting: 3, OnCall: ring(5)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (pacing.Progressive{}).Dials(tt.snap); got != tt.want {
				t.Errorf("Dials = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestBroadcast(t *testing.T) {
	ring := func(n int) []time.Duration { return make([]time.Duration, n) }
	tests := []struct {
		name  string
		lines int
		snap  pacing.Snapshot
		want  int
	}{
		{"fills idle lines without agents", 10, pacing.Snapshot{}, 10},
		{"ringing and waiting calls hold lines", 10, pacing.Snapshot{Ringing: ring(3), Waiting: 2}, 5},
		{"screened calls too", 10, pacing.Snapshot{Ringing: ring(3), Screening: ring(4)}, 3},
		{"ready agents change nothing", 4, pacing.Snapshot{Ready: 50}, 4},
		{"lines all busy", 3, pacing.Snapshot{Ringing: ring(3)}, 0},
		{"more in flight than lines: never negative", 2, pacing.Snapshot{Ringing: ring(5)}, 0},
		{"no lines", 0, pacing.Snapshot{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (pacing.Broadcast{Lines: tt.lines}).Dials(tt.snap); got != tt.want {
				t.Errorf("Dials = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPreviewNeverDials(t *testing.T) {
	for _, snap := range []pacing.Snapshot{{}, {Ready: 10}, busyTeam(50, 10, 0.2)} {
		if got := (pacing.Preview{}).Dials(snap); got != 0 {
			t.Errorf("Dials(%d ready) = %d, want 0", snap.Ready, got)
		}
	}
}

func TestPolicyNames(t *testing.T) {
	for _, tt := range []struct {
		p    pacing.Policy
		want string
	}{
		{pacing.Preview{}, "preview"},
		{pacing.Progressive{}, "progressive"},
		{pacing.Broadcast{Lines: 3}, "broadcast"},
		{pacing.Predictive{}, "predictive"},
	} {
		if got := tt.p.Name(); got != tt.want {
			t.Errorf("Name() = %q, want %q", got, tt.want)
		}
	}
}

// The fallbacks are checked against a snapshot on which Predictive does dial ahead, so
// that each case shows the condition, not the snapshot, is what holds it back.
func TestPredictiveFallsBackToProgressive(t *testing.T) {
	const agents = 50
	base := busyTeam(agents, 2, 0.15)
	prog := pacing.Progressive{}.Dials(base)
	if got := (pacing.Predictive{}).Dials(base); got <= prog {
		t.Fatalf("healthy snapshot: Predictive = %d, want more than Progressive's %d", got, prog)
	}
	tests := []struct {
		name string
		p    pacing.Predictive
		edit func(*pacing.Snapshot)
	}{
		{"team below MinAgents", pacing.Predictive{MinAgents: agents + 1}, func(*pacing.Snapshot) {}},
		{"fewer dials observed than MinDials", pacing.Predictive{MinDials: 1001}, func(*pacing.Snapshot) {}},
		{"fewer dials observed than the default 200", pacing.Predictive{}, func(s *pacing.Snapshot) { s.Stats.Dials = 199 }},
		{"no estimate of the answer rate", pacing.Predictive{}, func(s *pacing.Snapshot) { s.Stats.AnswerRate = 0 }},
		{"budget spent: no abandon left", pacing.Predictive{}, func(s *pacing.Snapshot) {
			s.Budget = pacing.Budget{Answered: 2000, Abandoned: 60}
		}},
		{"budget spent: less than one abandon left", pacing.Predictive{}, func(s *pacing.Snapshot) {
			s.Budget = pacing.Budget{Answered: 2000, Abandoned: 60, Target: 0.0304, HardCap: 0.0304}
		}},
		{"budget overspent", pacing.Predictive{}, func(s *pacing.Snapshot) {
			s.Budget = pacing.Budget{Answered: 2000, Abandoned: 90}
		}},
		{"empty window", pacing.Predictive{}, func(s *pacing.Snapshot) { s.Budget = pacing.Budget{} }},
		{"hard cap spent though the target is not", pacing.Predictive{}, func(s *pacing.Snapshot) {
			s.Budget = pacing.Budget{Answered: 2000, Abandoned: 20, Target: 0.05, HardCap: 0.01}
		}},
	}
	for _, tt := range tests[4:] {
		snap := busyTeam(agents, 2, 0.15)
		tt.edit(&snap)
		if left := snap.Budget.Left(); left >= 1 {
			t.Fatalf("%s: Budget.Left() = %v: the case leaves the budget unspent", tt.name, left)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := busyTeam(agents, 2, 0.15)
			tt.edit(&snap)
			if got, want := tt.p.Dials(snap), (pacing.Progressive{}).Dials(snap); got != want {
				t.Errorf("Predictive = %d, want Progressive's %d", got, want)
			}
		})
	}
}

func TestPredictiveDefaultMinAgents(t *testing.T) {
	// Seven agents about to end their wrap-up: below the default of 8, Predictive waits
	// for them like Progressive; with MinAgents 1 it dials for them.
	snap := pacing.Snapshot{
		InWrap: []time.Duration{14 * s, 14 * s, 14 * s, 14 * s, 14 * s, 14 * s, 14 * s},
		Stats:  stats(0.3),
		Budget: pacing.Budget{Answered: 2000, Abandoned: 10},
	}
	if got := (pacing.Predictive{MinAgents: 1}).Dials(snap); got == 0 {
		t.Fatalf("MinAgents 1: Predictive = 0, want calls for the agents about to be free")
	}
	if got := (pacing.Predictive{}).Dials(snap); got != 0 {
		t.Errorf("default MinAgents: Predictive = %d, want Progressive's 0", got)
	}
}

func TestPredictiveDialsAheadForBusyTeam(t *testing.T) {
	// 100 agents, 2 ready, the others on calls: with one dial in ten connecting,
	// Progressive places 2 calls and leaves the team to wait for them to ring; Predictive
	// places calls for the agents about to finish.
	snap := busyTeam(100, 2, 0.10)
	prog := pacing.Progressive{}.Dials(snap)
	got := pacing.Predictive{}.Dials(snap)
	if got < prog+10 {
		t.Errorf("Predictive = %d, want at least Progressive's %d + 10", got, prog)
	}
}

func TestPredictiveNeverBelowProgressive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	durations := func(n int, max time.Duration) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = time.Duration(rng.Int64N(int64(max)))
		}
		return d
	}
	for i := range 2000 {
		snap := pacing.Snapshot{
			Ready:   rng.IntN(30),
			OnCall:  durations(rng.IntN(80), 600*s),
			InWrap:  durations(rng.IntN(10), 30*s),
			Ringing: durations(rng.IntN(40), 40*s),
			Waiting: rng.IntN(4),
			Stats:   stats(0.02 + 0.9*rng.Float64()),
			Budget:  pacing.Budget{Answered: rng.IntN(3000), Abandoned: rng.IntN(100)},
		}
		snap.Stats.Dials = float64(rng.IntN(2000))
		p := pacing.Predictive{MinAgents: 1 + rng.IntN(10)}
		got, prog := p.Dials(snap), (pacing.Progressive{}).Dials(snap)
		if got < prog {
			t.Fatalf("snapshot %d (%d ready, %d on call, %d ringing, %d waiting): Predictive = %d < Progressive = %d",
				i, snap.Ready, len(snap.OnCall), len(snap.Ringing), snap.Waiting, got, prog)
		}
	}
}

// screened is stats(answerRate) for a campaign whose answers AMD screens for 2.5 s, handing
// over pass of them.
func screened(answerRate, pass float64) pacing.Stats {
	st := stats(answerRate)
	st.Screens, st.Screen, st.ScreenPass = 500, pacing.LogNormalMedian(2500*time.Millisecond, 0.1), pass
	return st
}

func TestPredictiveCountsScreenedCalls(t *testing.T) {
	// Answers AMD is screening are demand: the more of them (and the more it passes),
	// the fewer new calls; none passed, and they take no agent.
	base := busyTeam(100, 4, 0.2)
	base.Stats = screened(0.2, 0.8)
	with := func(n int, pass float64) int {
		snap := base
		snap.Stats.ScreenPass = pass
		snap.Screening = nil
		for i := range n {
			snap.Screening = append(snap.Screening, time.Duration(i%25)*100*time.Millisecond)
		}
		return pacing.Predictive{}.Dials(snap)
	}
	none := with(0, 0.8)
	if none <= (pacing.Progressive{}).Dials(base) {
		t.Fatalf("no screened call: %d calls, not ahead of Progressive: the case checks nothing", none)
	}
	prev := none
	for _, n := range []int{2, 5, 10} {
		got := with(n, 0.8)
		if got >= prev {
			t.Errorf("%d screened calls: %d new calls, want fewer than %d with fewer screened", n, got, prev)
		}
		prev = got
	}
	if got := with(10, 0); got != none {
		t.Errorf("10 screened calls AMD will all hang up: %d new calls, want %d as with none", got, none)
	}
}

func TestPredictiveRingingCallsWaitForScreening(t *testing.T) {
	// With a screening time, a call still ringing cannot connect sooner than it: the same
	// ringing calls promise agents less in the near term, so more new calls fit.
	snap := busyTeam(100, 4, 0.3)
	for i := range 30 {
		snap.Ringing = append(snap.Ringing, time.Duration(5+i%20)*s)
	}
	plain := pacing.Predictive{}.Dials(snap)
	snap.Stats = screened(0.3, 0.8)
	if got := (pacing.Predictive{}).Dials(snap); got <= plain {
		t.Errorf("screened answers: %d new calls, want more than the %d without screening", got, plain)
	}
}

func TestPredictiveFewerCallsAsAnswerRateRises(t *testing.T) {
	rates := []float64{0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.8, 1}
	teams := []struct {
		name          string
		agents, ready int
		ringing       int
	}{
		{"20 agents, 2 ready", 20, 2, 0},
		{"100 agents, none ready", 100, 0, 0},
		{"50 agents, 5 ready", 50, 5, 0},
		{"50 agents, 5 ready, 10 ringing", 50, 5, 10},
		{"100 agents, 2 ready, 30 ringing", 100, 2, 30},
	}
	for _, tm := range teams {
		t.Run(tm.name, func(t *testing.T) {
			prev, ahead := math.MaxInt, false
			for _, pa := range rates {
				snap := busyTeam(tm.agents, tm.ready, pa)
				for i := range tm.ringing {
					snap.Ringing = append(snap.Ringing, time.Duration(i%25)*s)
				}
				got := pacing.Predictive{}.Dials(snap)
				if got > prev {
					t.Errorf("answer rate %v: %d calls, more than %d at the lower rate before", pa, got, prev)
				}
				ahead = ahead || got > pacing.Progressive{}.Dials(snap)
				prev = got
			}
			if !ahead {
				t.Errorf("never dialed ahead of Progressive: the case checks nothing")
			}
		})
	}
}

func TestBudget(t *testing.T) {
	tests := []struct {
		name string
		b    pacing.Budget
		left float64
	}{
		{"defaults: target 3%", pacing.Budget{Answered: 1000}, 30},
		{"abandons spend it", pacing.Budget{Answered: 1000, Abandoned: 12}, 18},
		{"overspent: negative", pacing.Budget{Answered: 1000, Abandoned: 40}, -10},
		{"lower target", pacing.Budget{Answered: 1000, Target: 0.01}, 10},
		{"target above the default hard cap is lowered to it", pacing.Budget{Answered: 1000, Target: 0.05}, 30},
		{"target lowered to the hard cap", pacing.Budget{Answered: 1000, Target: 0.05, HardCap: 0.02}, 20},
		{"default target lowered to a lower hard cap", pacing.Budget{Answered: 1000, HardCap: 0.01}, 10},
		{"target below the hard cap stands", pacing.Budget{Answered: 1000, Target: 0.02, HardCap: 0.05}, 20},
		{"higher target and hard cap", pacing.Budget{Answered: 1000, Target: 0.05, HardCap: 0.05}, 50},
		{"negative rates take the defaults", pacing.Budget{Answered: 1000, Target: -1, HardCap: -1}, 30},
		{"empty window", pacing.Budget{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Left(); math.Abs(got-tt.left) > 1e-9 {
				t.Errorf("Left() = %v, want %v", got, tt.left)
			}
		})
	}
}

func TestSnapshotAgents(t *testing.T) {
	snap := pacing.Snapshot{Ready: 2, Reserved: 1, OnCall: make([]time.Duration, 5),
		InWrap: make([]time.Duration, 3), Ringing: make([]time.Duration, 7), Waiting: 4}
	if got := snap.Agents(); got != 11 {
		t.Errorf("Agents() = %d, want 11 (ready, reserved, on call, in wrap-up)", got)
	}
}

func near(a, b time.Duration, rel float64) bool {
	return math.Abs(float64(a-b)) <= rel*math.Abs(float64(b))+float64(time.Microsecond)
}

func TestLogNormal(t *testing.T) {
	tests := []struct {
		name         string
		d            pacing.LogNormal
		median, mean time.Duration
	}{
		{"ring by median", pacing.LogNormalMedian(10*s, 0.5), 10 * s, time.Duration(10e9 * math.Exp(0.125))},
		{"talk by mean", pacing.LogNormalMean(150*s, 0.8), time.Duration(150e9 * math.Exp(-0.32)), 150 * s},
		{"wrap by mean", pacing.LogNormalMean(15*s, 0.3), time.Duration(15e9 * math.Exp(-0.045)), 15 * s},
		{"no spread", pacing.LogNormalMedian(3*s, 0), 3 * s, 3 * s},
		{"sub-second", pacing.LogNormalMedian(200*time.Millisecond, 1), 200 * time.Millisecond, time.Duration(200e6 * math.Exp(0.5))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			if got := d.Median(); !near(got, tt.median, 1e-9) {
				t.Errorf("Median() = %v, want %v", got, tt.median)
			}
			if got := d.Mean(); !near(got, tt.mean, 1e-9) {
				t.Errorf("Mean() = %v, want %v", got, tt.mean)
			}
			if got := d.CDF(d.Median()); d.Sigma > 0 && math.Abs(got-0.5) > 1e-6 {
				t.Errorf("CDF(median) = %v, want 0.5", got)
			}
			if got := d.CDF(0); got != 0 {
				t.Errorf("CDF(0) = %v, want 0", got)
			}
			if got := d.CDF(-s); got != 0 {
				t.Errorf("CDF(-1s) = %v, want 0", got)
			}
			if d.Sigma == 0 {
				if d.CDF(d.Median()/2) != 0 || d.CDF(d.Median()*2) != 1 {
					t.Errorf("no spread: CDF is not a step at the median")
				}
				return
			}
			if got := d.Quantile(0.5); !near(got, d.Median(), 1e-9) {
				t.Errorf("Quantile(0.5) = %v, want the median %v", got, d.Median())
			}
			prev := 0.0
			for _, z := range []float64{-3, -2, -1, -0.5, 0.5, 1, 2, 3} {
				x := time.Duration(float64(d.Median()) * math.Exp(z*d.Sigma))
				c := d.CDF(x)
				if c <= prev || c >= 1 {
					t.Errorf("CDF(%v) = %v: not increasing within (0, 1)", x, c)
				}
				prev = c
				if got := d.Quantile(c); !near(got, x, 1e-6) {
					t.Errorf("Quantile(CDF(%v)) = %v", x, got)
				}
			}
			for _, q := range []float64{0.001, 0.1, 0.25, 0.75, 0.9, 0.999} {
				if got := d.CDF(d.Quantile(q)); math.Abs(got-q) > 1e-6 {
					t.Errorf("CDF(Quantile(%v)) = %v", q, got)
				}
			}
			if got := d.Quantile(0); got != 0 {
				t.Errorf("Quantile(0) = %v, want 0", got)
			}
			if got := d.Quantile(1); got != time.Duration(math.MaxInt64) {
				t.Errorf("Quantile(1) = %v, want the longest duration", got)
			}
		})
	}
}

func BenchmarkPredictiveDials(b *testing.B) {
	snap := busyTeam(100, 3, 0.2)
	for i := range 25 {
		snap.Ringing = append(snap.Ringing, time.Duration(i)*s)
	}
	var p pacing.Predictive
	n := 0
	for b.Loop() {
		n = p.Dials(snap)
	}
	b.ReportMetric(float64(n), "dials")
}
