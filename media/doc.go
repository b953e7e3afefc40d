// Package media is the neutral contract between callplane's control plane and the media
// servers (FreeSWITCH over ESL, Asterisk over ARI) that carry the audio.
//
// It owns: the Driver interface every media-server driver implements; the call id, which
// callplane chooses before a call exists so every event and row joins on one key; the
// normalized call events; hangup causes (Q.850) and their classification into outcomes
// (Classify, one table); and the node Pool (health, weighted least-loaded selection,
// per-node call caps and calls-per-second limits).
//
// Imports: the standard library only. Drivers import media; media imports no driver.
//
// Concurrency: a Driver delivers the events of one call in order on its Events channel and
// never drops a terminal (EventHangup) event. The Pool is safe for concurrent use; its
// merged Events channel preserves each node's order.
package media
