// Package compliance owns when a number may be called: calling-hour rule packs (per-weekday
// local time ranges and attempt caps, built-in packs for us, uk, cn and fr, editable in
// config), the callee's time zones, campaign schedules (cron open/close specs), holiday
// calendars, attempt caps and retry timing by outcome.
//
// Everything here is a pure function of the instant it is given: nothing reads the wall
// clock, prints, logs or does I/O beyond loading time zones (time.LoadLocation, cached).
// Windows are read on the callee's local wall clock, so daylight-saving changes move the
// UTC instants at which they open and close; a boundary that falls in a spring-forward gap
// takes effect when the gap ends, and one in a fall-back hour is crossed each time the
// wall clock passes it.
//
// Decisions come with a reason for the decision log:
//
//	window:open, window:closed local=22:14 Asia/Shanghai
//	holiday:fr 2026-12-25
//	schedule:open, schedule:closed
//	cap:daily, cap:30d, cap:total
//	pack:invalid fr (a pack that failed validation fails closed)
//	zone:none (no zone to judge by fails closed)
//
// Imports: the standard library and github.com/robfig/cron/v3 only; configuration structs
// carry yaml and json tags but the package imports no YAML library, and it never imports
// campaigns, crm or any store or driver.
//
// Concurrency: Pack, Schedule, Calendar, Caps and RetryRule are plain values; *Holidays and
// *CompiledSchedule are immutable once built. All are safe for concurrent use as long as
// callers do not mutate the maps and slices inside a value they share.
package compliance
