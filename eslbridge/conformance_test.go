package eslbridge

import (
	"testing"
	"time"

	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media/mediatest"
)

// factory is eslbridge + esltest for the conformance suite: a fake node in real time
// (the suite's plans are already short) and a driver that reconnects quickly.
func factory(t *testing.T, maxCalls int) *mediatest.Harness {
	srv := startNode(t, esltest.Options{MaxCalls: maxCalls, TimeScale: 1})
	d := startDriver(t, srv, Config{ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond, LostGrace: 5 * time.Second})
	return &mediatest.Harness{
		Driver:          d,
		Script:          srv.Script,
		PressDigits:     srv.PressDigits,
		DropConnections: srv.DropConnections,
		Originates:      srv.Originates,
		Received:        srv.Commands,
	}
}

func TestConformance(t *testing.T) {
	mediatest.Run(t, factory)
}
