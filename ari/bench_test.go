package ari_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callplane/callplane/ari"
	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

// BenchmarkOriginate places calls through ari + aritest on loopback; each callee is busy at
// once, so a call is originate, ringing and hangup. Reports originates/s and driver
// events/s.
func BenchmarkOriginate(b *testing.B) {
	srv := startFake(b, aritest.Options{})
	srv.Script("8613800000000", sim.Plan{Result: sim.Busy})
	d := startDriver(b, srv, ari.Config{})
	var events, hangups atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range d.Events() {
			events.Add(1)
			if ev.Kind == media.EventHangup {
				hangups.Add(1)
			}
		}
	}()
	var seq atomic.Int64
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("bench-%d", seq.Add(1))
			if err := d.Originate(ctx, media.OriginateRequest{CallID: id, Number: "+8613800000000"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for hangups.Load() < int64(b.N) { // a few calls may still be ending
		time.Sleep(100 * time.Microsecond)
	}
	el := time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el, "originates/s")
	b.ReportMetric(float64(events.Load())/el, "events/s")
	d.Close()
	<-done
}

// BenchmarkEvents measures the event path alone: one answered call receives DTMF bursts
// from the fake; reports delivered events/s.
func BenchmarkEvents(b *testing.B) {
	srv := startFake(b, aritest.Options{})
	srv.Script("1", sim.Plan{Result: sim.Answer, Talk: time.Hour})
	d := startDriver(b, srv, ari.Config{})
	const burst = 100
	var dtmf atomic.Int64
	bursts := make(chan struct{}, 1)
	answered := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range d.Events() {
			switch ev.Kind {
			case media.EventAnswered:
				close(answered)
			case media.EventDTMF:
				if dtmf.Add(1)%burst == 0 {
					bursts <- struct{}{}
				}
			}
		}
	}()
	if err := d.Originate(context.Background(), media.OriginateRequest{CallID: "ev", Number: "+1"}); err != nil {
		b.Fatal(err)
	}
	<-answered
	digits := strings.Repeat("1", burst)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := srv.PressDigits("ev", digits); err != nil {
			b.Fatal(err)
		}
		<-bursts
	}
	el := time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(float64(b.N*burst)/el, "events/s")
	d.Close()
	<-done
}
