// Package pacesim compares pacing policies on simulated campaigns: `callplane simulate
// pacing --scenario FILE` (Main). A Scenario (YAML, see configs/scenarios/README.md) gives
// the team, its shifts and breaks, the call outcomes and timings, answer-machine detection
// and the abandon rules; Run simulates every policy for every seed and summarizes them in a
// Report.
//
// The simulation is discrete-event, in virtual time: agents log in at the shift start,
// take calls, wrap up and take their breaks; calls ring, connect or fail (media/sim's
// outcome model, plus machines and AMD), wait up to Abandon.After for an agent and abandon.
// The callplane policies (progressive, predictive) are campaigns/pacing's, asked with the
// same Snapshot and Tracker the engine uses, at every tick and whenever an agent becomes
// ready. With AMD on, an answered call is no longer ringing: the snapshot lists it as
// screening until AMD's verdict, as a dialer that sees the answer event would. The ceiling
// is not simulated: it is the occupancy of agents who never wait, talk time over talk and
// wrap-up time of the simulated runs.
//
// VICIdial's adaptive dialing (ADAPT_TAPERED, ADAPT_HARD_LIMIT) is re-implemented from
// AST_VDauto_dial.pl and AST_VDadapt.pl: every loop (2.5 s) it places the agents that are
// READY or INCALL times the dial level, rounded, less the calls in progress; every second it
// samples ready agents, waiting calls and logged-in agents (averaged over the last 15
// samples), refreshes the drop statistics every minute and recomputes the dial level every
// 15 s from the differential, the intensity, the maximum level, the last minute's drops
// (level halved above 50 %) and the drops as a share of answers since midnight (over
// dropped_percentage: 1 for the hard limit, tapered by the time left to
// latest_server_time otherwise). Departures: one campaign on one server, whose clock is the
// simulated time of day; available_only_ratio_tally is N and there are no tally
// thresholds; agents in wrap-up count as paused; no hopper, lead recycling or inbound.
//
// Abandon rates: the plain rate is abandoned live persons over connected live persons. The
// Ofcom rate adjusts for AMD: the drops (live or machine) less the share of machines among
// the calls agents took, plus the live persons AMD hung up on, over the live persons agents
// took plus that numerator.
//
// A run is a pure function of its scenario, policy and seed: events at the same virtual time
// are handled in the order they were scheduled, and call outcomes and agent behaviour come
// from two random streams of the seed, so that policies are compared on common random
// numbers (without drift, the n-th call placed has the same outcome under every policy).
// Run spreads the runs over goroutines (Options.Parallel) and
// combines them in a fixed order: the Report does not depend on it.
//
// Imports: the standard library, campaigns/pacing, media/sim and gopkg.in/yaml.v3.
package pacesim
