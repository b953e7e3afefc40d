package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// heartbeat keeps idle streams (and the proxies in front of them) open.
const heartbeat = 15 * time.Second

// streamWriteTimeout bounds each write to an event stream: a client that takes nothing
// for this long (two heartbeats) is cut off, so a stream never blocks forever on a peer
// that stopped reading.
const streamWriteTimeout = 2 * heartbeat

// events streams live call and campaign state changes as Server-Sent Events:
// `event: call.answered` + `data: {json}`. A client that reads too slowly gets an
// `event: dropped` with the count of events it missed; the stream is for watching, the
// database holds the record.
//
// A stream lives as long as its client wants, so the server's write timeout does not
// apply to it: each write has its own deadline (streamWriteTimeout). At most
// Limits.EventStreams streams are open at once; one more is answered 503.
func (h *handlers) events(c echo.Context) error {
	if n := h.streams.Add(1); n > int64(h.d.Limits.EventStreams) {
		h.streams.Add(-1)
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(heartbeat.Seconds())))
		return echo.NewHTTPError(http.StatusServiceUnavailable,
			fmt.Sprintf("%d event streams are open, the most this server keeps; try again later", h.d.Limits.EventStreams))
	}
	defer h.streams.Add(-1)
	// The net/http writer itself: echo's Response.Flush drops the error that tells the
	// client is gone. (No read deadline to lift: net/http reads a body-less request's
	// connection in the background without one, to see the client leave.)
	rc := http.NewResponseController(c.Response().Writer)
	sub := h.d.Hub.Subscribe(1024)
	defer sub.Close()
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	// Every write gets streamWriteTimeout; an error means the client is gone or stuck,
	// and nothing more can be said to it.
	_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": callplane live events\n\n")
	if rc.Flush() != nil {
		return nil
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		var msg string
		select {
		case <-c.Request().Context().Done():
			return nil
		case <-tick.C:
			msg = ": heartbeat\n\n"
		case ev, ok := <-sub.C:
			if !ok {
				return nil // server shutting down
			}
			if n := sub.Dropped(); n > 0 {
				msg = fmt.Sprintf("event: dropped\ndata: {\"count\":%d}\n\n", n)
			}
			b, _ := json.Marshal(ev)
			msg += fmt.Sprintf("event: %s\ndata: %s\n\n", ev.Type, b)
		}
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := fmt.Fprint(w, msg); err != nil || rc.Flush() != nil {
			return nil
		}
	}
}
