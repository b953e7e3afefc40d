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
// It speaks ESL through eslgo (github.com/percipia/eslgo v1.5.0, carried with a small
// patch in third_party/eslgo: a dial and auth/request timeout, and its close path made
// race-free). eslgo hands a reply to whichever command waits first, so commands go one
// at a time per connection and a timed-out command drops the connection; it runs each
// event listener in its own goroutine, so the driver restores each call's order by
// Event-Sequence (ReorderWindow) before normalizing.
//
// Imports: the standard library, media, eslgo and github.com/google/uuid; tests also use
// esltest, media/sim and media/mediatest. Never campaigns, ivr, crm or controller.
//
// # Events and their order
//
//   - Per call, events reach Events() in the node's Event-Sequence order: Ringing or
//     EarlyMedia, Answered, in-call events (DTMF in the order pressed, playback,
//     recording, bridged), then exactly one Hangup, which is the last event of the call.
//     Nothing is delivered for a call after its Hangup. (An in-call event delayed by
//     more than ReorderWindow behind a newer one of its call cannot be put back; the
//     call's states stay consistent regardless, as below.)
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
// are serialized on the connection. One goroutine (the sequencer) owns all per-call
// state; Originate, LiveCalls and the reconnect logic hand it work and wait.
// Originate wraps media.ErrNotSent only when the command certainly did not reach the
// node; after writing, a missing reply is a plain error and the call stays tracked.
package eslbridge
