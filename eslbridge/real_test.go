//go:build realservers

package eslbridge

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/mediatest"
)

// TestRealConformance runs the conformance suite against a real FreeSWITCH (make
// test-real): CALLPLANE_REAL_FS_ESL (host:port of the event socket), CALLPLANE_REAL_FS_PASSWORD
// and CALLPLANE_REAL_FS_DIAL (the dial template to a callee that decides by the number,
// see mediatest.RigCallee). The driver connects through a proxy, so the connection can
// be cut under it.
func TestRealConformance(t *testing.T) {
	addr, dial := os.Getenv("CALLPLANE_REAL_FS_ESL"), os.Getenv("CALLPLANE_REAL_FS_DIAL")
	if addr == "" || dial == "" {
		t.Skip("CALLPLANE_REAL_FS_ESL and CALLPLANE_REAL_FS_DIAL are not set: no real FreeSWITCH")
	}
	callee := mediatest.RigCallee(dial, "8613901")
	mediatest.Run(t, func(t *testing.T, maxCalls int) *mediatest.Harness {
		if maxCalls > 0 {
			return nil
		}
		proxy := mediatest.StartProxy(t, addr)
		connect := func(t *testing.T) media.Driver {
			d := New(Config{Name: "fs-real", Address: proxy.Addr(), Password: os.Getenv("CALLPLANE_REAL_FS_PASSWORD"),
				DialTemplate: dial, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
				LostGrace: 10 * time.Second}, media.SystemClock{}, nil)
			d.Start(context.Background())
			t.Cleanup(func() { d.Close() })
			waitUntil(t, "driver up", d.Up)
			return d
		}
		return &mediatest.Harness{Driver: connect(t), Dial: callee, DropConnections: proxy.DropConnections, NewDriver: connect}
	})
}
