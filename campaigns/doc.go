// Package campaigns owns campaigns and their lists (leads), the dialing engine and, as they
// arrive, pacing, scheduling, compliance and agents.
//
// The Dialer runs one engine goroutine per running campaign held by this controller (a
// PostgreSQL advisory lock per campaign, so several controllers can share the work). An
// engine is the single owner of its campaign's in-flight calls: it leases due leads from
// PostgreSQL (FOR UPDATE SKIP LOCKED), writes each attempt row before sending the
// originate, handles the calls' events in order, and writes each outcome. After a crash the
// next holder of the lock reconciles the attempts left in the dialing state against the
// nodes' channel lists: a lead is never dialed twice at once and never beyond max_attempts.
//
// Imports: media, crm (and later ivr); never a driver.
package campaigns
