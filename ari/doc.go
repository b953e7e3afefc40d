// Package ari is callplane's driver for Asterisk over ARI (the Asterisk REST Interface):
// a focused REST + WebSocket client (Client, EventStream, ParseEvent and the typed
// events) and Driver, which implements media.Driver for one Asterisk node running
// callplane's Stasis application. ari/aritest is a fake Asterisk for tests.
//
// Protocol facts it relies on (checked against Asterisk 22.10.1 captures in
// shared/protocols/asterisk-ari, replayed by the tests from testdata/):
//   - Originate is POST /ari/channels with channelId = callplane's call id, so every event
//     joins on the call id; Dial events (peer) and ChannelStateChange precede StasisStart,
//     which arrives only on answer. A failed call never enters Stasis: its outcome is in
//     ChannelDestroyed (cause, cause_txt, tech_cause = SIP status).
//   - Cause 0 after answer is a normal far-end hang-up (reported as NORMAL_CLEARING);
//     a call we hang up before answer is reported as ORIGINATOR_CANCEL (outcome canceled).
//   - An unknown endpoint or technology, or a node that cannot allocate a channel, answers
//     500 {"error":"Allocation failed"}; such refusals return ErrRefused and no events.
//   - Timestamps use TimeLayout (no colon in the zone offset).
//
// Imports: media, the standard library, github.com/coder/websocket, github.com/google/uuid.
// Never campaigns, ivr or controller.
//
// Concurrency: Client and Driver are safe for concurrent use. One goroutine per Driver
// owns the event WebSocket: it reads, normalizes and sends every media.Event, so the events
// of a call keep the node's order; sends block while the consumer is behind and are never
// dropped (only Close abandons them). Exactly one EventHangup ends each tracked call, from
// ChannelDestroyed, from reconciliation after a reconnect (Hangup.NodeLost when the node no
// longer has it), or when no reconnect happens within Config.LostGrace. Up is false while
// the WebSocket is down. Close stops every goroutine the driver started and closes Events.
package ari
