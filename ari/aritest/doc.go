// Package aritest is a fake Asterisk 22 speaking ARI on loopback: a real HTTP server
// (REST routes and the event WebSocket) whose calls follow media/sim, built to reproduce
// the captures in shared/protocols/asterisk-ari: JSON field names, event sequences,
// status codes and error bodies ({"message":...}, {"error":"Allocation failed"}).
//
// It owns: the fake node (New, Listen, URL, Close), its channels, bridges, playbacks and
// recordings, and the fault hooks tests need: DropConnections (server-side close of
// every WebSocket; calls go on, as on a real node), Hold (stop answering and sending),
// Script (a deterministic sim.Plan per number), PressDigits, HangupFar, and Stats /
// StatsHandler / Requests (what it received).
//
// Imports: media/sim, the standard library, coder/websocket and google/uuid; never
// package ari, so the driver and the fake are each checked against the captures rather
// than against each other.
//
// Concurrency: every method is safe for concurrent use. State changes and their events
// happen under one lock, so every client sees the node's events in one global order; each
// WebSocket client has its own unbounded queue and writer, so a slow client never stalls
// the node. Close ends every goroutine the server started.
package aritest
