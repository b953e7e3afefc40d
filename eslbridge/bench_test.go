package eslbridge

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

// benchOriginates places b.N calls from 64 goroutines and waits for every outcome:
// originate -> BACKGROUND_JOB / channel events -> Hangup delivered.
func benchOriginates(b *testing.B, model sim.Model) {
	srv := startNode(b, esltest.Options{Model: model, TimeScale: 1000, Seed: 1})
	d := startDriver(b, srv, Config{EventBuffer: 1 << 16})
	var hangups atomic.Int64
	all := make(chan struct{})
	target := int64(b.N)
	go func() {
		for e := range d.Events() {
			if e.Kind == media.EventHangup && hangups.Add(1) == target {
				close(all)
			}
		}
	}()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= target; i = next.Add(1) {
				req := media.OriginateRequest{CallID: uuid.NewString(), Number: fmt.Sprintf("+1555%02d%06d", w, i)}
				if err := d.Originate(ctx, req); err != nil {
					b.Errorf("originate: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d calls ended", hangups.Load(), target)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "originates/s")
}

func BenchmarkOriginateFastFail(b *testing.B) {
	benchOriginates(b, sim.Model{FailShare: 1, RingMedian: 8 * time.Millisecond})
}

func BenchmarkOriginateAnswered(b *testing.B) {
	benchOriginates(b, sim.Model{AnswerRate: 1, RingMedian: 10 * time.Millisecond, TalkMedian: 10 * time.Millisecond})
}

// BenchmarkEvents measures events delivered through esltest and eslbridge on loopback:
// b.N DTMF events on one answered call.
func BenchmarkEvents(b *testing.B) {
	srv := startNode(b, esltest.Options{})
	d := startDriver(b, srv, Config{EventBuffer: 1 << 16})
	srv.Script("15550000001", sim.Plan{Result: sim.Answer, Ring: time.Millisecond, Talk: time.Hour})
	id := uuid.NewString()
	answered := make(chan struct{})
	done := make(chan struct{})
	go func() {
		n := 0
		for e := range d.Events() {
			switch e.Kind {
			case media.EventAnswered:
				close(answered)
			case media.EventDTMF:
				if n++; n == b.N {
					close(done)
				}
			}
		}
	}()
	if err := d.Originate(ctx, media.OriginateRequest{CallID: id, Number: "+15550000001"}); err != nil {
		b.Fatal(err)
	}
	<-answered
	b.ResetTimer()
	start := time.Now()
	for left := b.N; left > 0; left -= 1000 {
		if err := srv.PressDigits(id, strings.Repeat("1", min(left, 1000))); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatal("events did not arrive")
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
