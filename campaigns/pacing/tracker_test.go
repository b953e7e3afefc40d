package pacing_test

import (
	"math"
	"testing"
	"time"

	"github.com/callplane/callplane/campaigns/pacing"
)

type counts struct{ answered, abandoned int }

func budgetAt(tr *pacing.Tracker, now time.Time) counts {
	b := tr.Budget(now, 0, 0, 0)
	return counts{b.Answered, b.Abandoned}
}

func TestTrackerWindowSlides(t *testing.T) {
	for _, tt := range []struct {
		name string
		t0   time.Time
	}{
		{"2026", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		{"before the Unix epoch", time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t0 := tt.t0
			tr := pacing.NewTracker(time.Hour, pacing.Stats{})
			for range 3 {
				tr.Answered(t0)
			}
			tr.Abandoned(t0.Add(10 * time.Minute))
			steps := []struct {
				at   time.Duration
				want counts
			}{
				{30 * time.Minute, counts{4, 1}},
				{59*time.Minute + 59*time.Second, counts{4, 1}},
				{60 * time.Minute, counts{1, 1}}, // t0's minute left the window
				{69 * time.Minute, counts{1, 1}},
				{70 * time.Minute, counts{0, 0}},
				{5 * 24 * time.Hour, counts{0, 0}},
			}
			for _, st := range steps {
				if got := budgetAt(tr, t0.Add(st.at)); got != st.want {
					t.Errorf("at t0+%v: %+v, want %+v", st.at, got, st.want)
				}
			}
		})
	}
}

func TestTrackerLateEvents(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tr := pacing.NewTracker(time.Hour, pacing.Stats{})
	tr.Answered(t0.Add(30 * time.Minute))
	tr.Answered(t0.Add(5 * time.Minute)) // late, within the window: counts
	if got, want := budgetAt(tr, t0.Add(30*time.Minute)), (counts{2, 0}); got != want {
		t.Errorf("late event within the window: %+v, want %+v", got, want)
	}
	tr.Abandoned(t0.Add(-31 * time.Minute)) // older than the window: ignored
	if got, want := budgetAt(tr, t0.Add(30*time.Minute)), (counts{2, 0}); got != want {
		t.Errorf("event older than the window: %+v, want %+v", got, want)
	}
	if got, want := budgetAt(tr, t0.Add(65*time.Minute)), (counts{1, 0}); got != want {
		t.Errorf("late event slides out with its minute: %+v, want %+v", got, want)
	}
}

func TestTrackerAddSeedsTheWindow(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tr := pacing.NewTracker(0, pacing.Stats{}) // default window: 24 h
	tr.Add(t0, 500, 10)
	tr.Add(t0.Add(6*time.Hour), 100, 5)
	tr.Abandoned(t0.Add(7 * time.Hour))
	steps := []struct {
		at   time.Duration
		want counts
	}{
		{7 * time.Hour, counts{601, 16}},
		{24*time.Hour - time.Second, counts{601, 16}},
		{24 * time.Hour, counts{101, 6}},
		{31 * time.Hour, counts{0, 0}},
	}
	for _, st := range steps {
		if got := budgetAt(tr, t0.Add(st.at)); got != st.want {
			t.Errorf("at t0+%v: %+v, want %+v", st.at, got, st.want)
		}
	}
}

func TestTrackerWindowRoundsUpToMinutes(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tr := pacing.NewTracker(90*time.Second, pacing.Stats{}) // two minutes
	tr.Add(t0, 7, 1)
	if got, want := budgetAt(tr, t0.Add(119*time.Second)), (counts{7, 1}); got != want {
		t.Errorf("at t0+119s: %+v, want %+v", got, want)
	}
	if got, want := budgetAt(tr, t0.Add(120*time.Second)), (counts{0, 0}); got != want {
		t.Errorf("at t0+120s: %+v, want %+v", got, want)
	}
}

func TestTrackerBudgetPassesRates(t *testing.T) {
	tr := pacing.NewTracker(time.Hour, pacing.Stats{})
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tr.Add(now, 1000, 5)
	b := tr.Budget(now, 0.02, 0.025, 3*time.Second)
	want := pacing.Budget{Answered: 1000, Abandoned: 5, Target: 0.02, HardCap: 0.025, AbandonAfter: 3 * time.Second}
	if b != want {
		t.Errorf("Budget = %+v, want %+v", b, want)
	}
	if got := b.Left(); math.Abs(got-15) > 1e-9 {
		t.Errorf("Left() = %v, want 15", got)
	}
}

func TestTrackerStatsFromPrior(t *testing.T) {
	prior := stats(0.4)
	prior.Dials = 50
	got := pacing.NewTracker(0, prior).Stats()
	const eps = 1e-12
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"Dials", got.Dials, prior.Dials},
		{"AnswerRate", got.AnswerRate, prior.AnswerRate},
		{"RingOutShare", got.RingOutShare, prior.RingOutShare},
		{"Ring.Mu", got.Ring.Mu, prior.Ring.Mu},
		{"Ring.Sigma", got.Ring.Sigma, prior.Ring.Sigma},
		{"Fail.Mu", got.Fail.Mu, prior.Fail.Mu},
		{"Fail.Sigma", got.Fail.Sigma, prior.Fail.Sigma},
		{"Talk.Mu", got.Talk.Mu, prior.Talk.Mu},
		{"Talk.Sigma", got.Talk.Sigma, prior.Talk.Sigma},
		{"Wrap.Mu", got.Wrap.Mu, prior.Wrap.Mu},
		{"Wrap.Sigma", got.Wrap.Sigma, prior.Wrap.Sigma},
	} {
		if math.Abs(c.got-c.want) > eps {
			t.Errorf("%s = %v, want the prior's %v", c.name, c.got, c.want)
		}
	}
	if got.RingTimeout != prior.RingTimeout {
		t.Errorf("RingTimeout = %v, want %v", got.RingTimeout, prior.RingTimeout)
	}

	none := pacing.NewTracker(0, pacing.Stats{}).Stats()
	if none.Dials != 0 || none.AnswerRate != 0 {
		t.Errorf("no prior: Dials %v, AnswerRate %v, want 0, 0", none.Dials, none.AnswerRate)
	}
	snap := busyTeam(50, 2, 0.15)
	snap.Stats = none
	if got, want := (pacing.Predictive{}).Dials(snap), (pacing.Progressive{}).Dials(snap); got != want {
		t.Errorf("Predictive on a tracker without prior or observations = %d, want Progressive's %d", got, want)
	}
}

func TestTrackerScreening(t *testing.T) {
	tr := pacing.NewTracker(0, stats(0.3))
	if st := tr.Stats(); st.Screens != 0 {
		t.Fatalf("no screening in the prior or observed: Screens = %v, want 0", st.Screens)
	}
	for i := range 400 {
		tr.Screened(time.Duration(2000+i%3*500)*time.Millisecond, i%4 != 0)
	}
	st := tr.Stats()
	if st.Screens < 100 {
		t.Errorf("Screens = %v after 400 screened answers", st.Screens)
	}
	if math.Abs(st.ScreenPass-0.75) > 0.03 {
		t.Errorf("ScreenPass = %v, want about 0.75", st.ScreenPass)
	}
	if med := st.Screen.Median(); med < 2300*time.Millisecond || med > 2700*time.Millisecond {
		t.Errorf("Screen median = %v, want about 2.5s", med)
	}

	prior := stats(0.3)
	prior.Dials, prior.Screens, prior.Screen, prior.ScreenPass = 50, 50, pacing.LogNormalMedian(3*time.Second, 0.2), 0.9
	st = pacing.NewTracker(0, prior).Stats()
	if st.Screens != 50 || math.Abs(st.ScreenPass-0.9) > 1e-12 || math.Abs(st.Screen.Mu-prior.Screen.Mu) > 1e-12 || math.Abs(st.Screen.Sigma-0.2) > 1e-12 {
		t.Errorf("screening from the prior: %v %v %+v, want 50 0.9 %+v", st.Screens, st.ScreenPass, st.Screen, prior.Screen)
	}
}

func TestTrackerEstimatesFollowObservations(t *testing.T) {
	prior := stats(0.4)
	prior.Dials = 20
	tr := pacing.NewTracker(0, prior)

	// The first connects pull the answer rate up from the prior, step by step.
	prev := tr.Stats().AnswerRate
	for i := range 10 {
		tr.Connected(6 * time.Second)
		got := tr.Stats().AnswerRate
		if got <= prev || got >= 1 {
			t.Fatalf("connect %d: AnswerRate %v, want within (%v, 1)", i+1, got, prev)
		}
		prev = got
	}

	// Then one dial in five connects, after 4 s or 9 s; of the others, half ring out and
	// half fail after a second. Agents talk 40 s or 90 s and wrap up in 10 s.
	for i := range 20000 {
		switch {
		case i%5 == 0:
			tr.Connected([]time.Duration{4 * time.Second, 9 * time.Second}[i/5%2])
			tr.Talked([]time.Duration{40 * time.Second, 90 * time.Second}[i/5%2])
			tr.Wrapped(10 * time.Second)
		case i%2 == 0:
			tr.NotConnected(30*time.Second, true)
		default:
			tr.NotConnected(time.Second, false)
		}
	}
	st := tr.Stats()
	checks := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"AnswerRate", st.AnswerRate, 0.2, 0.02},
		{"RingOutShare", st.RingOutShare, 0.5, 0.03},
		{"Ring median (s)", st.Ring.Median().Seconds(), 6, 0.1},
		{"Ring sigma", st.Ring.Sigma, math.Log(9.0/4) / 2, 0.02},
		{"Fail median (s)", st.Fail.Median().Seconds(), 1, 0.01},
		{"Talk median (s)", st.Talk.Median().Seconds(), 60, 1},
		{"Wrap median (s)", st.Wrap.Median().Seconds(), 10, 0.01},
		{"Wrap sigma", st.Wrap.Sigma, 0, 0.01},
		// Dials weighs the observations with a half-life of 1000: it settles at
		// 1/(1−2^(−1/1000)) ≈ 1443.2.
		{"Dials", st.Dials, 1 / (1 - math.Exp2(-1.0/1000)), 1},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %v, want %v ± %v", c.name, c.got, c.want, c.tol)
		}
	}
}

func TestTrackerHalfLife(t *testing.T) {
	tr := pacing.NewTracker(0, pacing.Stats{})
	tr.HalfLife = 100
	for range 5000 {
		tr.NotConnected(time.Second, false)
	}
	if got, want := tr.Stats().Dials, 1/(1-math.Exp2(-1.0/100)); math.Abs(got-want) > 0.5 {
		t.Errorf("Dials = %v, want %v", got, want)
	}
	// With a short memory, a change of answer rate shows within a few half-lives.
	for range 500 {
		tr.Connected(5 * time.Second)
	}
	if got := tr.Stats().AnswerRate; got < 0.95 {
		t.Errorf("AnswerRate after 5 half-lives of connects = %v, want > 0.95", got)
	}
}
