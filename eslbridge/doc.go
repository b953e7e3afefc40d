// Package eslbridge is the FreeSWITCH driver: it implements media.Driver over one
// inbound Event Socket (ESL) connection per node.
//
// It owns the connection (dial and auth under DialTimeout, every command under
// CommandTimeout, a `status` keepalive, reconnect with backoff until Close), the
// originate string (`bgapi originate {origination_uuid=<call id>,callplane_call_id=...,
// presence_data=callplane,originate_timeout=...}<dial string> &park()` with its own
// Job-UUID, values escaped for FreeSWITCH's three parsing passes), the event
// subscription and the normalization of FreeSWITCH events into media.Events, and the
// reconciliation of in-flight calls after a reconnect (`show channels as json`).
//
// It speaks ESL with a small client of its own (conn.go) rather than eslgo: eslgo v1.5.0
// has no dial timeout and can wait forever for auth/request, matches replies to
// commands by arrival (so one timed-out command shifts every later reply), calls each
// event listener in a new goroutine (reordering events), and its Close and
// ExitAndClose race with its own loops (unsynchronized map reads that -race reports on
// every Close, and a send on a closed channel that can panic). The client here has one
// reader goroutine per connection, matches replies in order, delivers events in the
// node's order and treats any command timeout as a dead connection.
//
// Imports: the standard library, media and github.com/google/uuid; tests also use
// esltest, media/sim and media/mediatest. Never campaigns, ivr, crm or controller.
//
// # Events and their order
//
//   - Per call, events reach Events() in the node's Event-Sequence order: Ringing or
//     EarlyMedia, Answered, in-call events (DTMF in the order pressed, playback,
//     recording, bridged), then exactly one Hangup, which is the last event of the call.
//     Nothing is delivered for a call after its Hangup.
//   - EarlyMedia (183) is not an answer, and neither is the originate's +OK (FreeSWITCH
//     sends it at the 183): only CHANNEL_ANSWER, or an answered time in a later event's
//     channel snapshot, makes a call Answered.
//   - Every channel event carries the channel's snapshot (progress, early media and
//     answered times); an event that shows a transition the call has not had yet
//     delivers it first, so a terminal event after a lost CHANNEL_ANSWER still reports
//     Answered before Hangup. A state event older (by Event-Sequence) than one already
//     applied is dropped; events that arrive after a call's end are dropped.
//   - The call ends with whichever comes first: CHANNEL_HANGUP_COMPLETE (cause,
//     sip_term_status, billmsec) or a BACKGROUND_JOB -ERR <CAUSE> (error/ endpoints and
//     refused originates only produce the latter).
//   - While the node is unreachable, in-flight calls are kept for LostGrace. After a
//     reconnect, tracked calls missing from `show channels` end with Hangup{NodeLost:
//     true, Answered: <whether the answer was seen>}; those still up go on and deliver
//     their own end. Past LostGrace without a connection, every tracked call ends
//     NodeLost.
//   - Calls the driver did not originate but that carry callplane_call_id (a controller
//     restart) are adopted from their events or from LiveCalls.
//   - Events is buffered (EventBuffer); delivery blocks while the consumer is behind and
//     never drops an event. After Close, undelivered events are discarded and Events
//     is closed once every goroutine has ended.
//
// # Concurrency
//
// Every method is safe for concurrent use. Commands may be issued concurrently; they
// are pipelined on the connection. One goroutine (the sequencer) owns all per-call
// state; Originate, LiveCalls and the reconnect logic hand it work and wait.
// Originate wraps media.ErrNotSent only when the command certainly did not reach the
// node; after writing, a missing reply is a plain error and the call stays tracked.
package eslbridge
