package ari_test

import (
	"context"
	"testing"
	"time"

	"github.com/callplane/callplane/ari"
	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/mediatest"
	"github.com/callplane/callplane/media/sim"
)

func TestConformance(t *testing.T) {
	mediatest.Run(t, func(t *testing.T, maxCalls int) *mediatest.Harness {
		checkNoLeaks(t)
		srv := startFake(t, aritest.Options{MaxCalls: maxCalls, Seed: 1})
		cfg := ari.Config{LostGrace: 5 * time.Second}
		d := startDriver(t, srv, cfg)
		return &mediatest.Harness{
			Driver:          d,
			Script:          srv.Script,
			PressDigits:     srv.PressDigits,
			DropConnections: srv.DropConnections,
			Originates:      func(n string) int { return srv.Stats().Originates[n] },
			Received:        srv.Requests,
			NewDriver:       func(t *testing.T) media.Driver { return startDriver(t, srv, cfg) },
			Foreign: func(t *testing.T) string {
				// Another application's call: no CALLPLANE_CALL_ID.
				srv.Script("5559999", sim.Plan{Result: sim.Answer, Ring: time.Millisecond, Talk: time.Minute})
				ch, err := d.Client().Originate(context.Background(), ari.OriginateParams{Endpoint: "PJSIP/5559999",
					App: "callplane", ChannelID: "foreign-" + t.Name()[len(t.Name())-4:]})
				if err != nil {
					t.Fatalf("foreign call: %v", err)
				}
				return ch.ID
			},
		}
	})
}
