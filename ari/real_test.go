//go:build realservers

package ari_test

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/callplane/callplane/ari"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/mediatest"
)

// TestRealConformance runs the conformance suite against a real Asterisk (make
// test-real): CALLPLANE_REAL_ARI_URL (the ARI base, http://host:8088), CALLPLANE_REAL_ARI_USER,
// CALLPLANE_REAL_ARI_PASSWORD and CALLPLANE_REAL_ARI_DIAL (the dial template to a callee
// that decides by the number, see mediatest.RigCallee). The driver connects through a
// proxy, so the connection can be cut under it.
func TestRealConformance(t *testing.T) {
	base, dial := os.Getenv("CALLPLANE_REAL_ARI_URL"), os.Getenv("CALLPLANE_REAL_ARI_DIAL")
	if base == "" || dial == "" {
		t.Skip("CALLPLANE_REAL_ARI_URL and CALLPLANE_REAL_ARI_DIAL are not set: no real Asterisk")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	callee := mediatest.RigCallee(dial, "8613902")
	mediatest.Run(t, func(t *testing.T, maxCalls int) *mediatest.Harness {
		if maxCalls > 0 {
			return nil
		}
		proxy := mediatest.StartProxy(t, u.Host)
		via := *u
		via.Host = proxy.Addr()
		connect := func(t *testing.T) media.Driver {
			d := ari.New(ari.Config{Name: "ast-real", URL: via.String(), Username: os.Getenv("CALLPLANE_REAL_ARI_USER"),
				Password: os.Getenv("CALLPLANE_REAL_ARI_PASSWORD"), App: "callplane-conformance", DialTemplate: dial,
				ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond, LostGrace: 10 * time.Second}, nil, testLogger())
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.Start(ctx); err != nil {
				d.Close()
				t.Fatalf("start driver: %v", err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		}
		return &mediatest.Harness{Driver: connect(t), Dial: callee, DropConnections: proxy.DropConnections, NewDriver: connect}
	})
}
