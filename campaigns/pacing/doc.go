// Package pacing decides how many calls a campaign places now.
//
// A Policy is a pure function of a Snapshot: the agents (ready, reserved, on a call with
// the talk time so far, in wrap-up with the wrap time so far), the calls ringing with their
// ring time so far, the connected calls waiting for an agent, recent statistics (the
// probability that a dial needs an agent, the ring, talk and wrap-up time distributions) and
// the abandon budget (answered and abandoned calls in the budget window, the target and the
// hard cap). The live engine and the pacing simulator (campaigns/pacesim) build the same
// Snapshot and call the same policies; the Tracker turns observed call events into the
// Stats and the Budget of a Snapshot, so both callers also estimate the same way.
//
// Policies: Preview (the agent dials: 0), Progressive (one outstanding call per idle
// agent), Broadcast (no agent: keep a number of lines busy) and Predictive. Predictive
// models, at several horizons over the time a new call takes to connect, the agents that
// will be free (each agent's remaining talk and wrap-up time from the lognormal estimates,
// conditioned on the time already spent) against the calls that will connect (ringing
// calls, conditioned on their ring time so far, plus the new ones), both as sums of
// independent Bernoulli trials approximated by normal distributions, and places the largest
// number of calls whose expected abandons stay within the allowance and within the budget
// left. It falls back to progressive for a small team, without enough observations, or when
// the budget is spent; the allowance shrinks as the abandon rate measured over the budget
// window nears the target (lowered to the hard cap), so that what the target bounds is the
// measured rate. See Predictive.
//
// The package does no I/O, starts no goroutine and never reads the wall clock: time comes in
// the Snapshot (Now) and in the arguments of the Tracker's methods. Policies are values that
// are safe for concurrent use; a Tracker is owned by one goroutine (the campaign's engine
// loop or one simulation).
//
// Imports: the standard library only.
package pacing
