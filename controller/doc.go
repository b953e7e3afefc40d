// Command callplane is the control plane daemon and its tools:
//
//	callplane serve --config FILE [--demo]   run the daemon (REST API, dialer, media drivers)
//	callplane migrate --config FILE          apply database migrations and exit
//	callplane simulate freeswitch ...        run a simulated FreeSWITCH node (esltest)
//
// It owns configuration, wiring, lifecycle and graceful shutdown; controller/api is the
// REST API. Only this package knows every other package. The App type is the daemon as a
// library (New, Start, Addr, Stop) so end-to-end tests run it in-process on port 0.
package main
