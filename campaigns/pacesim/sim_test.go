package pacesim

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

func mustParse(t testing.TB, yaml string) Scenario {
	t.Helper()
	sc, err := ParseScenario([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// tiny is a small campaign, quick to simulate: a two-hour shift with a break.
const tiny = `
name: tiny
agents: 10
days: 1
seeds: 2
shift: {start: 9h, length: 2h}
breaks:
  - {at: 1h, length: 10m, jitter: 10m}
calls:
  answer_rate: 0.3
  busy_share: 0.15
  fail_share: 0.05
  machine_share: 0.2
amd: {enabled: true, sensitivity: 0.9, false_positive_rate: 0.01}
pacing: {min_dials: 50}
`

func TestRunIsDeterministic(t *testing.T) {
	sc := mustParse(t, tiny)
	first := RunWith(sc, Options{Parallel: 1})
	if len(first.Rows) != len(Policies) {
		t.Fatalf("%d rows, want one per policy (%d)", len(first.Rows), len(Policies))
	}
	if again := RunWith(sc, Options{Parallel: 1}); !reflect.DeepEqual(first, again) {
		t.Errorf("same scenario, another report:\n%+v\n%+v", first, again)
	}
	if par := RunWith(sc, Options{Parallel: 2}); !reflect.DeepEqual(first, par) {
		t.Errorf("Parallel 2 changed the report:\n%+v\n%+v", first, par)
	}
	// Not equal by accident: another seed gives another report.
	sc.Seed = 7
	if other := RunWith(sc, Options{Parallel: 2}); reflect.DeepEqual(first.Rows, other.Rows) {
		t.Errorf("seeds 7, 8 gave the report of seeds 1, 2")
	}
}

func TestRunSanity(t *testing.T) {
	sc, err := LoadScenario("../../configs/scenarios/n20-p30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc.Days, sc.Seeds = 2, 1
	sc.Policies = Policies
	rep := Run(sc)

	rows := map[string]Row{}
	var dials int64
	for i, r := range rep.Rows {
		if r.Policy != sc.Policies[i] {
			t.Errorf("row %d is %s, want %s: rows follow the scenario's policies", i, r.Policy, sc.Policies[i])
		}
		rows[r.Policy] = r
		dials += r.Dials
		if r.Occupancy <= 0 || r.Occupancy >= 1 {
			t.Errorf("%s: occupancy %v, want within (0, 1)", r.Policy, r.Occupancy)
		}
		if r.Analytic != (r.Policy == PolicyCeiling) {
			t.Errorf("%s: Analytic = %v", r.Policy, r.Analytic)
		}
		if r.Analytic {
			continue
		}
		if r.Dials == 0 || r.CallsPerHour <= 0 || r.ContactsPerHour <= 0 || r.ContactsPerHour >= r.CallsPerHour {
			t.Errorf("%s: %d dials, %v calls and %v contacts per agent-hour", r.Policy, r.Dials, r.CallsPerHour, r.ContactsPerHour)
		}
		if want := sc.Seeds * (sc.Days*24 - 23); r.Windows != want {
			t.Errorf("%s: %d windows, want %d", r.Policy, r.Windows, want)
		}
		if r.WaitMean < 0 || r.WaitP95 < r.WaitMean {
			t.Errorf("%s: wait mean %v, p95 %v", r.Policy, r.WaitMean, r.WaitP95)
		}
		if r.Abandon30d > r.Abandon30dMax || r.Abandon30dMax > r.Worst24h+1e-12 {
			t.Errorf("%s: abandon 30d %v, worst seed %v, worst 24h %v: want them in that order", r.Policy, r.Abandon30d, r.Abandon30dMax, r.Worst24h)
		}
	}
	if rep.SimulatedCalls != dials {
		t.Errorf("SimulatedCalls = %d, want the rows' %d dials", rep.SimulatedCalls, dials)
	}

	prog, pred, ceil := rows[PolicyProgressive], rows[PolicyPredictive], rows[PolicyCeiling]
	if prog.Abandon30dMax != 0 || prog.Worst24h != 0 || prog.WindowsOver != 0 {
		t.Errorf("progressive abandoned: 30d %v, worst 24h %v, %d windows over", prog.Abandon30dMax, prog.Worst24h, prog.WindowsOver)
	}
	for _, r := range rep.Rows {
		if !r.Analytic && r.Occupancy >= ceil.Occupancy {
			t.Errorf("%s: occupancy %v, not below the ceiling's %v", r.Policy, r.Occupancy, ceil.Occupancy)
		}
	}
	if pred.Occupancy <= prog.Occupancy {
		t.Errorf("predictive occupancy %v, not above progressive's %v", pred.Occupancy, prog.Occupancy)
	}
	if pred.Abandon30dMax > 0.03 {
		t.Errorf("predictive abandoned %v over the run, above 3%%", pred.Abandon30dMax)
	}
}

// TestRunInvariants steps through a day of every policy and checks the simulator's
// bookkeeping after every event.
func TestRunInvariants(t *testing.T) {
	sc := mustParse(t, tiny)
	sc.VICIdial.MaxLevel = 2.5
	for _, policy := range []string{PolicyProgressive, PolicyPredictive, PolicyVICIdialTapered, PolicyVICIdialHard} {
		t.Run(policy, func(t *testing.T) {
			r := newRun(&sc, policy, 3)
			r.schedule()
			events, maxLevel, screened := 0, 0.0, 0
			for r.step() {
				events++
				if err := checkRun(r); err != nil {
					t.Fatalf("after event %d at %v: %v", events, time.Duration(r.now), err)
				}
				snap := r.snapshot()
				if len(snap.Ringing)+len(snap.Screening) != len(r.ringing) {
					t.Fatalf("after event %d: snapshot has %d ringing and %d screening, the run %d calls not connected",
						events, len(snap.Ringing), len(snap.Screening), len(r.ringing))
				}
				screened = max(screened, len(snap.Screening))
				if r.vd != nil {
					maxLevel = max(maxLevel, r.vd.level)
				}
			}
			if r.st.dials == 0 || r.st.ended != r.st.dials {
				t.Errorf("%d dials, %d ended: want every call placed to end", r.st.dials, r.st.ended)
			}
			for i, a := range r.agents {
				if a.state != agOff {
					t.Errorf("agent %d still logged in (state %d) after the last event", i, a.state)
				}
			}
			if occ := float64(r.st.talk+r.st.wrap) / float64(r.st.loggedIn); occ <= 0 || occ > 1 {
				t.Errorf("talk and wrap-up take %v of the logged-in time", occ)
			}
			if screened == 0 {
				t.Errorf("no snapshot ever showed a call being screened by AMD")
			}
			if r.vd != nil && maxLevel <= 1 {
				t.Errorf("the dial level never rose above 1: the level bound is not exercised")
			}
		})
	}
}

func checkRun(r *run) error {
	var ready, talk int
	for i := range r.agents {
		switch r.agents[i].state {
		case agReady:
			ready++
		case agTalk:
			talk++
		}
	}
	if ready != r.nReady || talk != r.nTalk {
		return fmt.Errorf("%d agents ready and %d talking, counted %d and %d", ready, talk, r.nReady, r.nTalk)
	}
	var waiting, ringing int
	for _, k := range r.calls {
		switch k.state {
		case callWaiting:
			waiting++
		case callRinging:
			ringing++
		}
	}
	if waiting != r.nWait || ringing != len(r.ringing) {
		return fmt.Errorf("%d calls waiting and %d ringing, counted %d and %d", waiting, ringing, r.nWait, len(r.ringing))
	}
	if waiting > 0 && ready > 0 {
		return fmt.Errorf("%d calls wait while %d agents are ready", waiting, ready)
	}
	for i, id := range r.ringing {
		if k := r.calls[id]; k.state != callRinging || int(k.ringPos) != i {
			return fmt.Errorf("ringing[%d] = call %d in state %d at position %d", i, id, k.state, k.ringPos)
		}
	}
	if v := r.vd; v != nil && (v.level < 1 || v.level > v.cfg.MaxLevel) {
		return fmt.Errorf("dial level %v outside 1..%v", v.level, v.cfg.MaxLevel)
	}
	return nil
}

// A break that runs past the end of the shift was counted twice, making the logged-in
// time negative and the occupancy absurd.
func TestBreakPastShiftEnd(t *testing.T) {
	sc := mustParse(t, `
agents: 10
days: 1
seeds: 1
shift: {length: 1h}
breaks:
  - {at: 59m, length: 2h}
calls: {answer_rate: 0.3}
policies: [progressive, predictive, ceiling]
`)
	rep := Run(sc)
	ceil := rep.Rows[len(rep.Rows)-1].Occupancy
	for _, r := range rep.Rows[:len(rep.Rows)-1] {
		if r.Occupancy <= 0 || r.Occupancy >= ceil {
			t.Errorf("%s: occupancy %v, want within (0, ceiling %v)", r.Policy, r.Occupancy, ceil)
		}
		// 10 agents for about an hour each.
		if hours := float64(r.Dials) / r.CallsPerHour; hours < 9 || hours > 11 {
			t.Errorf("%s: %v agent-hours logged in, want about 10", r.Policy, hours)
		}
	}
}

// Call slots are reused: a queue entry or an abandon event left by a slot's previous call
// must not act on the next one.
func TestCallSlotReuse(t *testing.T) {
	sc := mustParse(t, "agents: 1\ncalls: {answer_rate: 0.3}\n")
	newBusyRun := func() *run {
		r := newRun(&sc, PolicyProgressive, 1)
		r.now = int64(10 * time.Hour)
		r.agents[0] = agent{state: agTalk, since: r.now, login: r.now}
		r.nTalk = 1
		return r
	}
	dial := func(r *run) int32 { // a live person, ringing from now
		id := r.newCall(call{dialAt: r.now, outcome: outHuman, talk: int64(time.Minute)})
		r.calls[id].ringPos = int32(len(r.ringing))
		r.ringing = append(r.ringing, id)
		return id
	}
	after := func(r *run, d time.Duration) { r.now += int64(d) }

	t.Run("queue entry of an abandoned call", func(t *testing.T) {
		r := newBusyRun()
		x, z := dial(r), dial(r)
		r.callEnd(x) // x waits, no agent is free
		after(r, 2*time.Second)
		r.abandon(x, r.calls[x].gen)
		y := dial(r)
		if y != x {
			t.Fatalf("slot %d not reused (got %d): the case needs it", x, y)
		}
		after(r, time.Second)
		r.callEnd(z) // z waits first,
		after(r, time.Second)
		r.callEnd(y) // then y
		if got, ok := r.popWaiting(); !ok || got != z {
			t.Errorf("first call served: %d (%v), want %d, which waited longest", got, ok, z)
		}
		if got, ok := r.popWaiting(); !ok || got != y {
			t.Errorf("second call served: %d (%v), want %d", got, ok, y)
		}
		if _, ok := r.popWaiting(); ok || r.nWait != 0 {
			t.Errorf("a third call served, or %d counted waiting", r.nWait)
		}
	})
	t.Run("abandon event of a call an agent took", func(t *testing.T) {
		r := newBusyRun()
		x := dial(r)
		r.callEnd(x)
		gen := r.calls[x].gen
		r.popWaiting() // an agent takes x...
		r.endCall(x)   // ... and it ends before its abandon time
		y := dial(r)
		if y != x {
			t.Fatalf("slot %d not reused (got %d): the case needs it", x, y)
		}
		r.callEnd(y)
		after(r, 2*time.Second)
		r.abandon(x, gen) // x's abandon event
		if r.calls[y].state != callWaiting || r.nWait != 1 {
			t.Errorf("x's abandon event abandoned y")
		}
	})
}

func TestVICIdialLevel(t *testing.T) {
	cfg := mustParse(t, tiny).VICIdial
	at := func(hhmm int) *run {
		return &run{now: int64(hhmm/100)*hour + int64(hhmm%100)*int64(time.Minute)}
	}
	t.Run("rises to the maximum level and no further", func(t *testing.T) {
		v := newVICIdial(cfg, false)
		for range 50 {
			v.calculateDialLevel(at(1000), 5, 10) // half the agents idle
			if v.level > cfg.MaxLevel {
				t.Fatalf("level %v above max_level %v", v.level, cfg.MaxLevel)
			}
		}
		if v.level != cfg.MaxLevel {
			t.Errorf("level %v, want max_level %v", v.level, cfg.MaxLevel)
		}
		for range 50 {
			v.calculateDialLevel(at(1000), -5, 10) // calls waiting for agents
		}
		if v.level != 1 {
			t.Errorf("level %v, want the floor of 1", v.level)
		}
	})
	overLimit := func(hard bool) *vicidial {
		v := newVICIdial(cfg, hard)
		v.level = 2.5
		v.statCallsToday, v.dropsAnswersTodayPct = 100, 5 // above 3%
		return v
	}
	tests := []struct {
		name string
		hard bool
		hhmm int
		want float64
	}{
		{"hard limit: back to 1", true, 1000, 1},
		{"tapered, more than 10 h to the latest server time: the level stands", false, 1000, 2.5},
		{"tapered, 5 h left: half", false, 1600, 1.25},
		{"tapered, 1 h left: at least 1", false, 2000, 1},
		{"tapered, past the latest server time: 1", false, 2130, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := overLimit(tt.hard)
			v.calculateDialLevel(at(tt.hhmm), 0, 10)
			if v.level != tt.want {
				t.Errorf("level %v, want %v", v.level, tt.want)
			}
		})
	}
	t.Run("half the last minute's calls dropped: level halved", func(t *testing.T) {
		v := newVICIdial(cfg, false)
		v.level = 3
		v.callsOne, v.dropsOne = 30, 16
		v.calculateDialLevel(at(1000), 0, 10)
		if v.level != 1.5 {
			t.Errorf("level %v, want 1.5", v.level)
		}
	})
}

func BenchmarkSimulateDay(b *testing.B) {
	sc := mustParse(b, `
agents: 20
days: 1
seeds: 1
breaks:
  - {at: 2h, length: 15m, jitter: 20m}
  - {at: 4h, length: 30m, jitter: 30m}
calls:
  answer_rate: 0.3
  busy_share: 0.15
  fail_share: 0.05
  machine_share: 0.2
amd: {enabled: true, sensitivity: 0.9}
policies: [predictive]
`)
	var calls int64
	seed := uint64(0)
	for b.Loop() {
		seed++
		r := newRun(&sc, PolicyPredictive, seed)
		r.simulate()
		calls += r.st.dials
	}
	b.ReportMetric(float64(calls)/b.Elapsed().Seconds(), "calls/s")
}
