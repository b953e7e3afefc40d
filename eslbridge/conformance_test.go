package eslbridge

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/mediatest"
	"github.com/callplane/callplane/media/sim"
)

// factory is eslbridge + esltest for the conformance suite: a fake node in real time
// (the suite's plans are already short) and a driver that reconnects quickly.
func factory(t *testing.T, maxCalls int) *mediatest.Harness {
	srv := startNode(t, esltest.Options{MaxCalls: maxCalls, TimeScale: 1})
	cfg := Config{ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond, LostGrace: 5 * time.Second}
	d := startDriver(t, srv, cfg)
	return &mediatest.Harness{
		NewDriver: func(t *testing.T) media.Driver { return startDriver(t, srv, cfg) },
		Foreign: func(t *testing.T) string {
			// Another application's call: without callplane's variables.
			srv.Script("5559999", sim.Plan{Result: sim.Answer, Ring: time.Millisecond, Talk: time.Minute})
			id := uuid.NewString()
			if r := srv.API("originate {origination_uuid=" + id + "}sofia/gateway/other/5559999 &park()"); !strings.HasPrefix(r, "+OK") {
				t.Fatalf("foreign call: %s", r)
			}
			return id
		},
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
