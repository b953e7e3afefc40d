package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// stubDriver records originates; its calls end when the test says so.
type stubDriver struct {
	mu        sync.Mutex
	up        bool
	notSent   bool
	fail      bool
	originate []string
	events    chan Event
}

func newStub() *stubDriver { return &stubDriver{up: true, events: make(chan Event, 64)} }

func (d *stubDriver) Originate(_ context.Context, req OriginateRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.notSent:
		return fmt.Errorf("not connected: %w", ErrNotSent)
	case d.fail:
		return errors.New("timeout after write")
	}
	d.originate = append(d.originate, req.CallID)
	return nil
}
func (d *stubDriver) hangup(id string) {
	d.events <- Event{Kind: EventHangup, CallID: id, Hangup: &Hangup{Cause: CauseFromCode(16)}}
}
func (d *stubDriver) count() int                                       { d.mu.Lock(); defer d.mu.Unlock(); return len(d.originate) }
func (d *stubDriver) Hangup(context.Context, string, string) error     { return nil }
func (d *stubDriver) Play(context.Context, string, string) error       { return nil }
func (d *stubDriver) Record(context.Context, string, string) error     { return nil }
func (d *stubDriver) StopRecord(context.Context, string, string) error { return nil }
func (d *stubDriver) Bridge(context.Context, string, string) error     { return nil }
func (d *stubDriver) LiveCalls(context.Context) ([]string, error)      { return nil, nil }
func (d *stubDriver) Events() <-chan Event                             { return d.events }
func (d *stubDriver) Up() bool                                         { d.mu.Lock(); defer d.mu.Unlock(); return d.up }
func (d *stubDriver) Close() error                                     { close(d.events); return nil }

var _ Driver = (*stubDriver)(nil)

func newTestPool(t *testing.T) (*Pool, *fakeClock) {
	clk := &fakeClock{now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	p := NewPool(clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() {
		go func() {
			for range p.Events() {
			}
		}()
		p.Close()
	})
	return p, clk
}

func call(i int) OriginateRequest {
	return OriginateRequest{CallID: fmt.Sprintf("c%d", i), Number: "+8613800138000"}
}

func TestPoolRespectsMaxCallsAndReleasesOnHangup(t *testing.T) {
	p, _ := newTestPool(t)
	a := newStub()
	p.Add(NodeConfig{Name: "a", Pools: []string{"default"}, MaxCalls: 2}, a)
	for i := 0; i < 2; i++ {
		if _, err := p.Originate(context.Background(), "default", call(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Originate(context.Background(), "default", call(2)); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("third call: err = %v, want ErrNoCapacity", err)
	}
	a.hangup("c0")
	if ev := <-p.Events(); ev.Kind != EventHangup || ev.Node != "a" {
		t.Fatalf("event = %+v", ev)
	}
	if _, err := p.Originate(context.Background(), "default", call(3)); err != nil {
		t.Fatalf("after a hangup the slot is free again: %v", err)
	}
}

func TestPoolCallsPerSecond(t *testing.T) {
	p, clk := newTestPool(t)
	a := newStub()
	p.Add(NodeConfig{Name: "a", Pools: []string{"default"}, CallsPerSecond: 3}, a)
	placed := 0
	for i := 0; i < 10; i++ {
		if _, err := p.Originate(context.Background(), "default", call(i)); err == nil {
			placed++
		}
	}
	if placed != 3 {
		t.Fatalf("placed %d calls in the first instant, want the burst of 3", placed)
	}
	clk.Advance(340 * time.Millisecond)
	if _, err := p.Originate(context.Background(), "default", call(20)); err != nil {
		t.Fatalf("340 ms later one token is back: %v", err)
	}
	if _, err := p.Originate(context.Background(), "default", call(21)); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("but only one: %v", err)
	}
}

func TestPoolWeightedLeastLoadedSkipsDownAndOtherPools(t *testing.T) {
	p, _ := newTestPool(t)
	a, b, c, down := newStub(), newStub(), newStub(), newStub()
	down.up = false
	p.Add(NodeConfig{Name: "a", Pools: []string{"default"}, Weight: 1}, a)
	p.Add(NodeConfig{Name: "b", Pools: []string{"default"}, Weight: 3}, b)
	p.Add(NodeConfig{Name: "c", Pools: []string{"other"}}, c)
	p.Add(NodeConfig{Name: "down", Pools: []string{"default"}, Weight: 100}, down)
	for i := 0; i < 40; i++ {
		if _, err := p.Originate(context.Background(), "default", call(i)); err != nil {
			t.Fatal(err)
		}
	}
	if a.count() != 10 || b.count() != 30 || c.count() != 0 || down.count() != 0 {
		t.Fatalf("spread a=%d b=%d c=%d down=%d, want 10/30/0/0", a.count(), b.count(), c.count(), down.count())
	}
}

func TestPoolFailsOverWhenNotSentButNeverRetriesAmbiguous(t *testing.T) {
	p, _ := newTestPool(t)
	a, b := newStub(), newStub()
	a.notSent = true
	p.Add(NodeConfig{Name: "a", Pools: []string{"default"}, Weight: 10}, a)
	p.Add(NodeConfig{Name: "b", Pools: []string{"default"}}, b)
	node, err := p.Originate(context.Background(), "default", call(1))
	if err != nil || node != "b" {
		t.Fatalf("node=%q err=%v, want b", node, err)
	}
	a.notSent, a.fail = false, true
	b.mu.Lock()
	b.up = false
	b.mu.Unlock()
	node, err = p.Originate(context.Background(), "default", call(2))
	if err == nil || errors.Is(err, ErrNoCapacity) || node != "a" {
		t.Fatalf("ambiguous failure: node=%q err=%v, want the error from a", node, err)
	}
	for _, st := range p.Status() {
		if st.Name == "a" && st.ActiveCalls != 0 {
			t.Fatalf("failed originate still holds a slot: %+v", st)
		}
	}
}

func TestPoolAdopt(t *testing.T) {
	p, _ := newTestPool(t)
	a := newStub()
	p.Add(NodeConfig{Name: "a", Pools: []string{"default"}, MaxCalls: 1}, a)
	if err := p.Adopt("old", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Originate(context.Background(), "default", call(1)); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("adopted call must count against the cap: %v", err)
	}
	if err := p.Adopt("x", "nope"); err == nil {
		t.Fatal("adopting onto an unknown node must fail")
	}
}
