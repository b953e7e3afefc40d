//go:build realservers

package eslbridge

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/mediatest"
	"github.com/callplane/callplane/media/sim"
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

// BenchmarkRealOriginate measures the originates per second one driver places on a real
// FreeSWITCH (make test-real's servers; run with -bench RealOriginate -tags realservers):
// calls to busy numbers, each followed to its hang-up. calls/s counts those the node did
// not refuse for its sessions-per-second limit (200 on the rig's FreeSWITCH).
func BenchmarkRealOriginate(b *testing.B) {
	addr, dial := os.Getenv("CALLPLANE_REAL_FS_ESL"), os.Getenv("CALLPLANE_REAL_FS_DIAL")
	if addr == "" || dial == "" {
		b.Skip("no real FreeSWITCH")
	}
	d := New(Config{Name: "fs-real", Address: addr, Password: os.Getenv("CALLPLANE_REAL_FS_PASSWORD"), DialTemplate: dial},
		media.SystemClock{}, nil)
	d.Start(context.Background())
	defer d.Close()
	waitUntil(b, "driver up", d.Up)
	done := make(chan struct{}, 1024)
	var throttled atomic.Int64 // refused by the node's sessions-per-second limit
	go func() {
		for ev := range d.Events() {
			if ev.Kind == media.EventHangup {
				if ev.Hangup.Cause.Name == "DESTINATION_OUT_OF_ORDER" {
					throttled.Add(1)
				}
				done <- struct{}{}
			}
		}
	}()
	callee := mediatest.RigCallee(dial, "8613909")
	b.ResetTimer()
	sem := make(chan struct{}, 100) // calls in flight
	for range b.N {
		sem <- struct{}{}
		req, _ := callee(sim.Plan{Result: sim.Busy})
		req.CallID = uuid.NewString()
		if err := d.Originate(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		go func() { <-done; <-sem }()
	}
	for range cap(sem) {
		sem <- struct{}{}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "originates/s")
	b.ReportMetric(float64(int64(b.N)-throttled.Load())/b.Elapsed().Seconds(), "calls/s")
}
