package eslbridge

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media"
)

// waitFor is the generous bound of every wait in these tests; waits end as soon as the
// condition holds, so it never paces a passing test.
const waitFor = 10 * time.Second

// startNode starts a fake node on loopback; it is closed after the test's drivers.
func startNode(t testing.TB, opts esltest.Options) *esltest.Server {
	t.Helper()
	srv := esltest.New(opts)
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// startDriver connects a driver to srv and waits until it is up.
func startDriver(t testing.TB, srv *esltest.Server, cfg Config) *Driver {
	t.Helper()
	cfg.Address = srv.Addr()
	if cfg.Name == "" {
		cfg.Name = "fs1"
	}
	if cfg.DialTemplate == "" {
		cfg.DialTemplate = "sofia/gateway/carrier-a/{number}"
	}
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin = 20 * time.Millisecond
	}
	if cfg.ReconnectMax == 0 {
		cfg.ReconnectMax = 100 * time.Millisecond
	}
	var log *slog.Logger
	if os.Getenv("ESLBRIDGE_DEBUG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d := New(cfg, media.SystemClock{}, log)
	d.Start(context.Background())
	t.Cleanup(func() { d.Close() })
	waitUntil(t, "driver up", d.Up)
	return d
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recorder collects a driver's events per call.
type recorder struct {
	mu     sync.Mutex
	byCall map[string][]media.Event
	notify chan struct{}
	closed bool
	done   chan struct{}
}

func record(d *Driver) *recorder {
	r := &recorder{byCall: make(map[string][]media.Event), notify: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for e := range d.Events() {
			r.mu.Lock()
			r.byCall[e.CallID] = append(r.byCall[e.CallID], e)
			close(r.notify)
			r.notify = make(chan struct{})
			r.mu.Unlock()
		}
		r.mu.Lock()
		r.closed = true
		close(r.notify)
		r.mu.Unlock()
	}()
	return r
}

func (r *recorder) events(id string) []media.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]media.Event(nil), r.byCall[id]...)
}

// wait returns the call's events once cond holds for them.
func (r *recorder) wait(t testing.TB, id, what string, cond func([]media.Event) bool) []media.Event {
	t.Helper()
	timeout := time.NewTimer(waitFor)
	defer timeout.Stop()
	for {
		r.mu.Lock()
		evs := append([]media.Event(nil), r.byCall[id]...)
		ch, closed := r.notify, r.closed
		r.mu.Unlock()
		if cond(evs) {
			return evs
		}
		if closed {
			t.Fatalf("call %s: events closed before %s; got %s", id, what, kinds(evs))
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("call %s: timed out waiting for %s; got %s", id, what, kinds(evs))
		}
	}
}

func (r *recorder) waitKind(t testing.TB, id string, kind media.EventKind) []media.Event {
	t.Helper()
	return r.wait(t, id, string(kind), func(evs []media.Event) bool {
		for _, e := range evs {
			if e.Kind == kind {
				return true
			}
		}
		return false
	})
}

// hangup waits for the call's terminal event and checks it is the last and only one.
func (r *recorder) hangup(t testing.TB, id string) (media.Hangup, []media.Event) {
	t.Helper()
	evs := r.waitKind(t, id, media.EventHangup)
	n := 0
	for _, e := range evs {
		if e.Kind == media.EventHangup {
			n++
		}
	}
	if n != 1 || evs[len(evs)-1].Kind != media.EventHangup {
		t.Fatalf("call %s: want exactly one hangup, last; got %s", id, kinds(evs))
	}
	return *evs[len(evs)-1].Hangup, evs
}

func kinds(evs []media.Event) string {
	var b []string
	for _, e := range evs {
		s := string(e.Kind)
		if e.Digit != "" {
			s += ":" + e.Digit
		}
		if e.Hangup != nil {
			s += fmt.Sprintf("(%s lost=%v ans=%v)", e.Hangup.Cause, e.Hangup.NodeLost, e.Hangup.Answered)
		}
		b = append(b, s)
	}
	return "[" + strings.Join(b, " ") + "]"
}

func kindList(evs []media.Event) []media.EventKind {
	var out []media.EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

// checkGoroutines fails the test when goroutines started during it are still running
// after its cleanups.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(waitFor)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("goroutines leaked: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
