package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// heartbeat keeps idle streams (and the proxies in front of them) open.
const heartbeat = 15 * time.Second

// events streams live call and campaign state changes as Server-Sent Events:
// `event: call.answered` + `data: {json}`. A client that reads too slowly gets an
// `event: dropped` with the count of events it missed; the stream is for watching, the
// database holds the record.
func (h *handlers) events(c echo.Context) error {
	sub := h.d.Hub.Subscribe(1024)
	defer sub.Close()
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": callplane live events\n\n")
	w.Flush()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-c.Request().Context().Done():
			return nil
		case <-tick.C:
			fmt.Fprint(w, ": heartbeat\n\n")
		case ev, ok := <-sub.C:
			if !ok {
				return nil // server shutting down
			}
			if n := sub.Dropped(); n > 0 {
				fmt.Fprintf(w, "event: dropped\ndata: {\"count\":%d}\n\n", n)
			}
			b, _ := json.Marshal(ev)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b)
		}
		w.Flush()
	}
}
