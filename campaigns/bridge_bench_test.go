package campaigns

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/callplane/callplane/campaigns/pacing"
	"github.com/callplane/callplane/media"
)

// bridgeTimer is a media.Driver that only notes when Bridge is called: the benchmark
// measures callplane's decision, not a network.
type bridgeTimer struct {
	bridged chan time.Time
	events  chan media.Event
}

func (d *bridgeTimer) Originate(context.Context, media.OriginateRequest) error { return nil }
func (d *bridgeTimer) Hangup(context.Context, string, string) error            { return nil }
func (d *bridgeTimer) Play(context.Context, string, string) error              { return nil }
func (d *bridgeTimer) Record(context.Context, string, string) error            { return nil }
func (d *bridgeTimer) StopRecord(context.Context, string, string) error        { return nil }
func (d *bridgeTimer) LiveCalls(context.Context) ([]string, error)             { return nil, nil }
func (d *bridgeTimer) Events() <-chan media.Event                              { return d.events }
func (d *bridgeTimer) Up() bool                                                { return true }
func (d *bridgeTimer) Close() error                                            { close(d.events); return nil }
func (d *bridgeTimer) Bridge(context.Context, string, string) error {
	d.bridged <- time.Now()
	return nil
}

// BenchmarkAnswerToBridge measures, in process, the time from a human-answer event
// reaching a predictive campaign's engine to the bridge command reaching the driver, with
// 100 agents of whom one is ready. It reports p50 and p99.
func BenchmarkAnswerToBridge(b *testing.B) {
	drv := &bridgeTimer{bridged: make(chan time.Time, 1), events: make(chan media.Event)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := media.NewPool(media.SystemClock{}, log)
	pool.Add(media.NodeConfig{Name: "n1", Kind: media.KindFreeSWITCH, Pools: []string{"default"}}, drv)
	defer pool.Close()
	d := NewDialer(Config{}, nil, pool, media.SystemClock{}, log, nil, nil)
	const agents = 100
	for i := range agents {
		s := &seat{a: Agent{ID: int64(i + 1), State: AgentOnCall, LegNode: "n1", MaxWrapMs: 1000,
			Campaigns: []AgentCampaign{{CampaignID: 1, Priority: 1}}}, leg: fmt.Sprintf("leg-%d", i), legUp: true}
		d.desk.seats[s.a.ID] = s
	}
	d.desk.SetActive(1, true)
	free := d.desk.seats[1]
	e := newEngine(d, Campaign{ID: 1, DialMode: ModePredictive, AbandonAfterMs: 2000, MediaPool: "default"})
	e.pace = &pacer{tracker: pacing.NewTracker(24*time.Hour, priorStats), policy: pacing.Predictive{}}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		free.a.State, free.call, free.a.CallID = AgentReady, "", ""
		id := fmt.Sprintf("call-%d", i)
		e.calls[id] = &liveCall{node: "n1", started: time.Now(), verified: true}
		b.StartTimer()
		t0 := time.Now()
		e.handle(ctx, media.Event{Kind: media.EventAnswered, CallID: id, Node: "n1", At: t0})
		t1 := <-drv.bridged
		b.StopTimer()
		lat = append(lat, t1.Sub(t0))
		delete(e.calls, id)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
}
