package pacesim

import "math"

// vicidial re-implements VICIdial's adaptive predictive dialing (dial methods
// ADAPT_TAPERED and ADAPT_HARD_LIMIT) as AST_VDadapt.pl and AST_VDauto_dial.pl do it; see
// the package documentation for what was kept and where it departs.
type vicidial struct {
	cfg   VICIdial
	hard  bool
	level float64 // auto_dial_level

	// count_agents_lines: one sample per adapt-loop second, averaged over the last 15.
	ready, waiting, total [15]float64
	statCount             int
	diffCounter           int64 // seconds since the dial level was last computed
	dropCounter           int64 // seconds since the drop stats were last computed

	// Raw counts since midnight, as vicidial_log would hold them.
	callsToday, dropsToday, humansToday int64
	secCalls, secDrops                  [60]int32
	secStamp                            [60]int64

	// calculate_drops results, refreshed every cfg.Drops.
	statCallsToday       int64
	dropsAnswersTodayPct float64
	callsOne, dropsOne   int64
}

func newVICIdial(cfg VICIdial, hard bool) *vicidial {
	return &vicidial{cfg: cfg, hard: hard, level: cfg.StartLevel}
}

func (v *vicidial) dials(*run) int { return 0 } // paces on its own loop

// shiftStart: the adapt script restarts each day (timeclock end of day), clearing its
// samples; the first loop computes the drop stats at once.
func (v *vicidial) shiftStart() {
	v.statCount = 0
	v.diffCounter = 0
	v.dropCounter = int64(v.cfg.Drops/1e9) + 1
}

func (v *vicidial) midnight() {
	v.callsToday, v.dropsToday, v.humansToday = 0, 0, 0
}

func (v *vicidial) bucket(now int64) int {
	s := now / sec
	i := int(s % 60)
	if v.secStamp[i] != s {
		v.secStamp[i], v.secCalls[i], v.secDrops[i] = s, 0, 0
	}
	return i
}

func (v *vicidial) dialed(now int64) {
	v.callsToday++
	v.secCalls[v.bucket(now)]++
}

func (v *vicidial) dropped(now int64) {
	v.dropsToday++
	v.secDrops[v.bucket(now)]++
}

// handled: an agent took a connected call; live persons count as human-answered,
// machines the agent dispositions as such do not.
func (v *vicidial) handled(human bool) {
	if human {
		v.humansToday++
	}
}

// loop is one pass of AST_VDauto_dial.pl for the campaign: agents that are READY or
// INCALL (paused agents, which include those in wrap-up, do not count) times the dial
// level, rounded, minus the calls in progress (ringing, waiting in queue, with an agent).
func (v *vicidial) loop(r *run) int {
	count := max(0, r.nReady+r.nTalk+v.cfg.DLDiffTarget)
	goal := int(math.RoundToEven(v.level * float64(count)))
	existing := len(r.ringing) + r.nWait + r.nTalk
	return goal - existing
}

// second is one pass of AST_VDadapt.pl's loop for the campaign.
func (v *vicidial) second(r *run) {
	i := v.statCount % 15
	v.ready[i] = float64(r.nReady)
	v.waiting[i] = float64(r.nWait)
	v.total[i] = float64(r.loggedIn())
	v.statCount++
	n := min(v.statCount, 15)
	var readyAvg, waitAvg, totalAvg float64
	for j := 0; j < n; j++ {
		readyAvg += v.ready[j]
		waitAvg += v.waiting[j]
		totalAvg += v.total[j]
	}
	readyAvg /= float64(n)
	waitAvg /= float64(n)
	totalAvg /= float64(n)
	if totalAvg > 0 {
		if v.dropCounter >= int64(v.cfg.Drops/1e9) {
			v.calculateDrops(r.now)
			v.dropCounter = 0
		}
		if v.diffCounter >= int64(v.cfg.Adapt/1e9) {
			v.calculateDialLevel(r, readyAvg-waitAvg, totalAvg)
			v.diffCounter = 0
		}
	}
	v.dropCounter++
	v.diffCounter++
}

// calculateDrops: drops as a percentage of human-answered calls since midnight (DROP is a
// human-answered status), and the last minute's drops as a percentage of its calls.
func (v *vicidial) calculateDrops(now int64) {
	v.statCallsToday = v.callsToday
	v.dropsAnswersTodayPct = 0
	if v.dropsToday > 0 {
		answers := max(v.humansToday+v.dropsToday, 1)
		v.dropsAnswersTodayPct = round(float64(v.dropsToday)/float64(answers)*100, 2)
	}
	v.callsOne, v.dropsOne = 0, 0
	s := now / sec
	for i := range v.secStamp {
		if v.secStamp[i] > s-60 && v.secStamp[i] <= s {
			v.callsOne += int64(v.secCalls[i])
			v.dropsOne += int64(v.secDrops[i])
		}
	}
}

// calculateDialLevel is calculate_dial_level for ADAPT_TAPERED and ADAPT_HARD_LIMIT.
func (v *vicidial) calculateDialLevel(r *run, differential, agentsAvg float64) {
	target := differential + float64(v.cfg.DLDiffTarget)
	var mul float64
	if target != 0 && agentsAvg != 0 {
		mul = target / agentsAvg
	}
	pct := mul * 100
	im := v.cfg.Intensity / 100
	var idiff float64
	if pct < 0 {
		idiff = pct * math.Abs(im-1)
	} else {
		idiff = pct * (im + 1)
	}
	lvl := round(v.level*(idiff/100+1), 3)
	if lvl > v.cfg.MaxLevel {
		lvl = v.cfg.MaxLevel
	}
	if lvl < 1 {
		lvl = 1
	}
	if v.callsOne > 20 && float64(v.dropsOne)/float64(v.callsOne)*100 > 50 {
		lvl /= 2
	}
	if v.statCallsToday > 50 && v.dropsAnswersTodayPct > v.cfg.DroppedPercentage {
		if v.hard {
			lvl = 1
		} else {
			// Server time as HHMM, and VICIdial's arithmetic on it.
			tod := (r.now % day) / sec
			hhmm := int(tod/3600)*100 + int(tod%3600/60)
			left := v.cfg.LatestServerTime - hhmm
			switch {
			case left < 0:
				lvl = 1
			case left > 1000:
				// tapered rate 1: over the limit early in the day, the level stands
			default:
				lvl *= float64(left) / 1000
			}
		}
	}
	if lvl < 1 {
		lvl = 1
	}
	v.level = lvl
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}
