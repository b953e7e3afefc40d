// Package esltest is a fake FreeSWITCH node speaking the inbound Event Socket (ESL) on a
// real TCP socket, for tests, the demo and `callplane simulate freeswitch`.
//
// It owns the wire format (auth/request, command/reply, api/response, text/event-plain
// frames, text/disconnect-notice), the commands a dialer uses (originate through api and
// bgapi, uuid_kill, hupall, uuid_exists, uuid_broadcast, uuid_record, uuid_bridge, show
// channels [as json]) and the life of each simulated call, whose outcome and timing come
// from a media/sim Model. Frames, header names, header order, event order and hangup
// causes follow the FreeSWITCH 1.10.12 captures in shared/protocols/freeswitch-esl; a few
// representative frames are copied into ../testdata for the tests.
//
// Calls live on the server, not on a connection, as on a real node: a client that
// disconnects loses its events but its calls go on; a client that connects later sees
// them in `show channels` and receives their later events.
//
// Test hooks: DropConnections, Hold, DropEvents, Script, PressDigits, Commands, Stats and
// StatsHandler. A zero Options works (password ClueCon, sim.Default, real time).
//
// Imports: the standard library, media (cause names and codes), media/sim and
// github.com/google/uuid only; never eslbridge or anything above media.
//
// Concurrency: every exported method is safe for concurrent use. Event-Sequence is
// assigned under one lock and frames are queued per connection in that order, so each
// connection receives events in strictly increasing Event-Sequence order, with command
// replies in the order of the commands. Close stops every goroutine the server started
// and returns after they have ended.
package esltest
