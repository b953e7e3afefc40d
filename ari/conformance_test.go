package ari_test

import (
	"testing"
	"time"

	"github.com/callplane/callplane/ari"
	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/media/mediatest"
)

func TestConformance(t *testing.T) {
	mediatest.Run(t, func(t *testing.T, maxCalls int) *mediatest.Harness {
		checkNoLeaks(t)
		srv := startFake(t, aritest.Options{MaxCalls: maxCalls, Seed: 1})
		d := startDriver(t, srv, ari.Config{LostGrace: 5 * time.Second})
		return &mediatest.Harness{
			Driver:          d,
			Script:          srv.Script,
			PressDigits:     srv.PressDigits,
			DropConnections: srv.DropConnections,
			Originates:      func(n string) int { return srv.Stats().Originates[n] },
			Received:        srv.Requests,
		}
	})
}
