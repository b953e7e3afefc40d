package pacesim

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a scenario: one row per policy, over every seed.
type Report struct {
	Scenario   string  `json:"scenario"`
	Agents     int     `json:"agents"`
	AnswerRate float64 `json:"answer_rate"`
	Days       int     `json:"days"`
	Seeds      int     `json:"seeds"`
	// Threshold is the abandon rate a 24 h window is judged against.
	Threshold float64 `json:"threshold"`
	Rows      []Row   `json:"rows"`
	// SimulatedCalls is the number of dials simulated for the report (all policies, seeds).
	SimulatedCalls int64 `json:"simulated_calls"`
}

// Row is one policy's figures. Means are over seeds; abandon figures are the worst seed's
// (30 days) or the worst window of any seed.
type Row struct {
	Policy string `json:"policy"`
	// Occupancy is talk time / logged-in time (breaks excluded), mean over seeds, and the
	// lowest seed's.
	Occupancy    float64 `json:"occupancy"`
	OccupancyMin float64 `json:"occupancy_min"`
	// WaitMean and WaitP95 are an agent's wait between calls, seconds (all seeds pooled).
	WaitMean float64 `json:"wait_mean_s"`
	WaitP95  float64 `json:"wait_p95_s"`
	// CallsPerHour and ContactsPerHour are dials and live persons reaching an agent per
	// logged-in agent-hour.
	CallsPerHour    float64 `json:"calls_per_agent_hour"`
	ContactsPerHour float64 `json:"contacts_per_agent_hour"`
	// Abandon30d is abandoned live persons / answered live persons over the whole run,
	// mean over seeds, and Abandon30dMax the worst seed's.
	Abandon30d    float64 `json:"abandon_30d"`
	Abandon30dMax float64 `json:"abandon_30d_max"`
	// Worst24h is the worst sliding 24 h window (hour steps) of any seed, WorstDay the
	// worst calendar day, WindowsOver the number of 24 h windows above Threshold (all
	// seeds) out of Windows.
	Worst24h    float64 `json:"worst_24h"`
	WorstDay    float64 `json:"worst_day"`
	WindowsOver int     `json:"windows_over"`
	Windows     int     `json:"windows"`
	// Ofcom30d and OfcomWorst24h use Ofcom's AMD-adjusted formula (see the package doc).
	Ofcom30d      float64 `json:"ofcom_30d"`
	OfcomWorst24h float64 `json:"ofcom_worst_24h"`
	// Dials is the number of calls placed (all seeds).
	Dials int64 `json:"dials"`
	// Analytic marks a row that is computed, not simulated (the ceiling).
	Analytic bool `json:"analytic,omitempty"`
}

// Options tune how Run executes; they never change its result.
type Options struct {
	// Parallel is the number of simulations run at once (default GOMAXPROCS). Each
	// simulation is single-threaded and deterministic; results are combined in a fixed
	// order.
	Parallel int
}

// Run simulates every policy of the scenario for every seed.
func Run(sc Scenario) Report { return RunWith(sc, Options{}) }

// RunWith is Run with options.
func RunWith(sc Scenario, o Options) Report {
	type job struct {
		policy string
		seed   uint64
		out    *runStats
	}
	var jobs []*job
	for _, p := range sc.Policies {
		if p == PolicyCeiling {
			continue
		}
		for s := 0; s < sc.Seeds; s++ {
			jobs = append(jobs, &job{policy: p, seed: sc.Seed + uint64(s)})
		}
	}
	par := o.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	ch := make(chan *job)
	var wg sync.WaitGroup
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				r := newRun(&sc, j.policy, j.seed)
				r.simulate()
				j.out = &r.st
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()

	rep := Report{Scenario: sc.Name, Agents: sc.Agents, AnswerRate: sc.Calls.AnswerRate,
		Days: sc.Days, Seeds: sc.Seeds, Threshold: sc.Abandon.Threshold}
	var talk, wrap int64
	for _, p := range sc.Policies {
		if p == PolicyCeiling {
			continue
		}
		var runs []*runStats
		for _, j := range jobs {
			if j.policy == p {
				runs = append(runs, j.out)
				talk += j.out.talk
				wrap += j.out.wrap
				rep.SimulatedCalls += j.out.dials
			}
		}
		rep.Rows = append(rep.Rows, summarize(p, runs, sc.Abandon.Threshold))
	}
	for i, p := range sc.Policies {
		if p != PolicyCeiling {
			continue
		}
		// The ceiling: agents that never wait, with the talk and wrap-up times the runs
		// actually had.
		row := Row{Policy: p, Analytic: true}
		if talk+wrap > 0 {
			row.Occupancy = float64(talk) / float64(talk+wrap)
			row.OccupancyMin = row.Occupancy
		}
		rows := append([]Row(nil), rep.Rows[:min(i, len(rep.Rows))]...)
		rows = append(rows, row)
		rep.Rows = append(rows, rep.Rows[min(i, len(rep.Rows)):]...)
	}
	return rep
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// ofcom is the AMD-adjusted abandon rate: drops (every connected call that had no agent,
// live or machine) less the share of machines among the calls agents took, plus the live
// persons AMD hung up on, over the live persons agents took plus that numerator.
func ofcom(drops, agentLive, agentMachine, falsePos float64) float64 {
	adj := drops
	if agentMachine > 0 {
		adj = drops * (1 - agentMachine/(agentLive+agentMachine))
	}
	num := adj + falsePos
	return ratio(num, agentLive+num)
}

func summarize(policy string, runs []*runStats, threshold float64) Row {
	row := Row{Policy: policy, OccupancyMin: math.Inf(1)}
	hist := make([]int64, waitBins+1)
	var waitSum, waits, dials, contacts, logged int64
	for _, st := range runs {
		occ := ratio(float64(st.talk), float64(st.loggedIn))
		row.Occupancy += occ / float64(len(runs))
		row.OccupancyMin = min(row.OccupancyMin, occ)
		waitSum += st.waitSum
		waits += st.waits
		for i, n := range st.waitHist {
			hist[i] += n
		}
		dials += st.dials
		contacts += st.contacts
		logged += st.loggedIn
		var la, lb, dr, al, am, fp float64
		for h := range st.liveAns {
			la += float64(st.liveAns[h])
			lb += float64(st.liveAb[h])
			dr += float64(st.drops[h])
			al += float64(st.agentLive[h])
			am += float64(st.agentMachine[h])
			fp += float64(st.falsePos[h])
		}
		a30 := ratio(lb, la)
		row.Abandon30d += a30 / float64(len(runs))
		row.Abandon30dMax = max(row.Abandon30dMax, a30)
		row.Ofcom30d = max(row.Ofcom30d, ofcom(dr, al, am, fp))
		// Sliding 24 h windows in hour steps; calendar days.
		n := len(st.liveAns)
		var wa, wb, wd, wl, wm, wf float64
		for h := 0; h < n; h++ {
			wa += float64(st.liveAns[h])
			wb += float64(st.liveAb[h])
			wd += float64(st.drops[h])
			wl += float64(st.agentLive[h])
			wm += float64(st.agentMachine[h])
			wf += float64(st.falsePos[h])
			if h >= 24 {
				o := h - 24
				wa -= float64(st.liveAns[o])
				wb -= float64(st.liveAb[o])
				wd -= float64(st.drops[o])
				wl -= float64(st.agentLive[o])
				wm -= float64(st.agentMachine[o])
				wf -= float64(st.falsePos[o])
			}
			if h < 23 {
				continue
			}
			rate := ratio(wb, wa)
			row.Windows++
			if rate > threshold {
				row.WindowsOver++
			}
			row.Worst24h = max(row.Worst24h, rate)
			row.OfcomWorst24h = max(row.OfcomWorst24h, ofcom(wd, wl, wm, wf))
			if (h+1)%24 == 0 {
				row.WorstDay = max(row.WorstDay, rate)
			}
		}
	}
	row.Dials = dials
	hours := float64(logged) / float64(time.Hour)
	row.CallsPerHour = ratio(float64(dials), hours)
	row.ContactsPerHour = ratio(float64(contacts), hours)
	row.WaitMean = ratio(float64(waitSum), float64(waits)) / 1e9
	row.WaitP95 = quantile(hist, waits, 0.95)
	if math.IsInf(row.OccupancyMin, 1) {
		row.OccupancyMin = 0
	}
	return row
}

// quantile reads the q-quantile, in seconds, from the 100 ms wait histogram.
func quantile(hist []int64, n int64, q float64) float64 {
	if n == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(n)))
	var acc int64
	for i, c := range hist {
		acc += c
		if acc >= want {
			return float64(int64(i+1)*waitBin) / 1e9
		}
	}
	return float64(int64(len(hist))*waitBin) / 1e9
}

// WriteTable prints the report as an aligned table.
func (rep Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "scenario %s: %d agents, answer rate %.2f, %d days x %d seeds, %d calls simulated\n",
		rep.Scenario, rep.Agents, rep.AnswerRate, rep.Days, rep.Seeds, rep.SimulatedCalls)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\toccupancy\tocc min\twait mean s\twait p95 s\tcalls/agent-h\tcontacts/agent-h\tabandon 30d\t30d worst seed\tworst 24h\tworst day\t24h windows > "+pct(rep.Threshold)+"\tofcom 30d\tofcom worst 24h\t")
	for _, r := range rep.Rows {
		if r.Analytic {
			fmt.Fprintf(tw, "%s\t%.3f\t%s\n", r.Policy, r.Occupancy, strings.Repeat("-\t", 12))
			continue
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t\n",
			r.Policy, r.Occupancy, r.OccupancyMin, r.WaitMean, r.WaitP95, r.CallsPerHour, r.ContactsPerHour,
			pct(r.Abandon30d), pct(r.Abandon30dMax), pct(r.Worst24h), pct(r.WorstDay), r.WindowsOver, r.Windows,
			pct(r.Ofcom30d), pct(r.OfcomWorst24h))
	}
	return tw.Flush()
}

func pct(x float64) string { return fmt.Sprintf("%.2f%%", 100*x) }
