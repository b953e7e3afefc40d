package mediatest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

// wait is the generous deadline for anything the suite waits on; nothing asserts on
// elapsed time.
const wait = 15 * time.Second

// Run runs the conformance cases; each subtest gets a fresh harness from factory.
func Run(t *testing.T, factory Factory) {
	cases := []struct {
		name string
		max  int
		run  func(t *testing.T, h *Harness, rec *recorder)
	}{
		{"AnswerThenRemoteHangup", 0, testAnswered},
		{"Busy", 0, testBusy},
		{"NoAnswer", 0, testNoAnswer},
		{"UnallocatedNumber", 0, testInvalid},
		{"CancelWhileRinging", 0, testCanceled},
		{"Recording", 0, testRecording},
		{"DTMFInOrder", 0, testDTMF},
		{"Bridge", 0, testBridge},
		{"RefusedAtCapacity", 1, testCapacity},
		{"ConnectionDropped", 0, testDrop},
		{"PerCallOrder", 0, testOrder},
		{"HostileInput", 0, testHostile},
		{"Play", 0, testPlay},
		{"LiveCallsAreCallplanes", 0, testLiveCalls},
		{"TakeoverAfterRestart", 0, testTakeover},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := factory(t, c.max)
			if h == nil && c.max > 0 {
				t.Skip("the node's call cap cannot be set by the test")
			}
			if h == nil || h.Driver == nil {
				t.Fatal("factory returned no driver")
			}
			if !h.Driver.Up() {
				t.Fatal("driver not Up when the factory returned")
			}
			rec := newRecorder(h.Driver)
			c.run(t, h, rec)
			rec.checkWellFormed(t)
		})
	}
}

// ---- helpers ----

func newCallID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var numberSeq struct {
	sync.Mutex
	n int
}

// newNumber returns a fresh E.164 number and its digits, so each case scripts its own callee.
func newNumber() (e164, digits string) {
	numberSeq.Lock()
	numberSeq.n++
	n := numberSeq.n
	numberSeq.Unlock()
	digits = fmt.Sprintf("86138%08d", n)
	return "+" + digits, digits
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// place scripts a fresh callee with plan and originates a call to it.
func place(t *testing.T, h *Harness, plan sim.Plan, ring time.Duration) (callID, digits string) {
	t.Helper()
	req, digits := destination(t, h, plan)
	callID = newCallID()
	req.CallID, req.CallerIDNumber, req.CallerIDName = callID, "5551000", "callplane"
	req.RingTimeout, req.Vars = ring, map[string]string{"campaign_id": "c1"}
	if err := h.Driver.Originate(ctxT(t), req); err != nil {
		t.Fatalf("originate %s: %v", callID, err)
	}
	return callID, digits
}

// destination is where a call that follows plan goes: a fresh number scripted on a fake,
// or the real callee's number for plan.Result (the case is skipped when it has none).
func destination(t *testing.T, h *Harness, plan sim.Plan) (req media.OriginateRequest, digits string) {
	t.Helper()
	if h.Dial != nil {
		req, ok := h.Dial(plan)
		if !ok {
			t.Skipf("the real callee cannot end a call as %s", plan.Result)
		}
		return req, strings.TrimPrefix(req.Number, "+")
	}
	e164, digits := newNumber()
	h.Script(digits, plan)
	return media.OriginateRequest{Number: e164}, digits
}

// originates is h.Originates, or -1 when the node does not count them.
func originates(h *Harness, digits string) int {
	if h.Originates == nil {
		return -1
	}
	return h.Originates(digits)
}

// recorder collects the driver's events by call.
type recorder struct {
	mu     sync.Mutex
	byCall map[string][]media.Event
	order  []string // call ids in first-seen order
	closed bool
	notify chan struct{} // closed and replaced on every event
}

func newRecorder(d media.Driver) *recorder {
	r := &recorder{byCall: map[string][]media.Event{}, notify: make(chan struct{})}
	go func() {
		for ev := range d.Events() {
			r.mu.Lock()
			if _, ok := r.byCall[ev.CallID]; !ok {
				r.order = append(r.order, ev.CallID)
			}
			r.byCall[ev.CallID] = append(r.byCall[ev.CallID], ev)
			close(r.notify)
			r.notify = make(chan struct{})
			r.mu.Unlock()
		}
		r.mu.Lock()
		r.closed = true
		close(r.notify)
		r.notify = make(chan struct{})
		r.mu.Unlock()
	}()
	return r
}

// events returns a copy of a call's events so far.
func (r *recorder) events(callID string) []media.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]media.Event(nil), r.byCall[callID]...)
}

// await waits for the first event of callID that matches pred.
func (r *recorder) await(t *testing.T, callID string, what string, pred func(media.Event) bool) media.Event {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for _, ev := range r.byCall[callID] {
			if pred(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		ch, closed := r.notify, r.closed
		got := kinds(r.byCall[callID])
		r.mu.Unlock()
		if closed {
			t.Fatalf("call %s: events closed before %s; got %v", callID, what, got)
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("call %s: no %s within %v; got %v", callID, what, wait, got)
		}
	}
}

func (r *recorder) awaitKind(t *testing.T, callID string, k media.EventKind) media.Event {
	t.Helper()
	return r.await(t, callID, string(k), func(ev media.Event) bool { return ev.Kind == k })
}

// hangup waits for the call's hangup event.
func (r *recorder) hangup(t *testing.T, callID string) *media.Hangup {
	t.Helper()
	ev := r.awaitKind(t, callID, media.EventHangup)
	if ev.Hangup == nil {
		t.Fatalf("call %s: hangup event without Hangup", callID)
	}
	return ev.Hangup
}

func kinds(evs []media.Event) []media.EventKind {
	out := make([]media.EventKind, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}

// rank orders the phases of a call: events never go back to an earlier phase.
func rank(k media.EventKind) int {
	switch k {
	case media.EventRinging, media.EventEarlyMedia:
		return 1
	case media.EventAnswered:
		return 2
	case media.EventHangup:
		return 4
	}
	return 3 // in-call events: DTMF, playback, recording, bridged
}

// checkWellFormed: per call, at most one hang-up, nothing after it, phases monotone,
// in-call events only after answer, and every event names the call and the node.
func (r *recorder) checkWellFormed(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range r.order {
		evs := r.byCall[id]
		if id == "" {
			t.Errorf("events without a call id: %v", kinds(evs))
			continue
		}
		last, answered := 0, false
		for i, ev := range evs {
			k := rank(ev.Kind)
			switch {
			case last == 4:
				t.Errorf("call %s: %s after hangup: %v", id, ev.Kind, kinds(evs))
			case k < last:
				t.Errorf("call %s: %s out of order at %d: %v", id, ev.Kind, i, kinds(evs))
			case k == 3 && !answered:
				t.Errorf("call %s: %s before answer: %v", id, ev.Kind, kinds(evs))
			}
			if ev.Kind == media.EventAnswered {
				if answered {
					t.Errorf("call %s: answered twice: %v", id, kinds(evs))
				}
				answered = true
			}
			if ev.Kind == media.EventHangup && ev.Hangup == nil {
				t.Errorf("call %s: hangup without Hangup", id)
			}
			if ev.Node == "" {
				t.Errorf("call %s: %s without node name", id, ev.Kind)
			}
			last = max(last, k)
		}
	}
}

func wantOutcome(t *testing.T, callID string, h *media.Hangup, want media.Outcome) {
	t.Helper()
	if got := h.Outcome(); got != want {
		t.Errorf("call %s: outcome %s, want %s (hangup %+v)", callID, got, want, *h)
	}
}

func hangupQuietly(t *testing.T, h *Harness, callID string) {
	t.Helper()
	if err := h.Driver.Hangup(ctxT(t), callID, ""); err != nil && !errors.Is(err, media.ErrUnknownCall) {
		t.Errorf("hangup %s: %v", callID, err)
	}
}

// waitUp polls Up until it equals want.
func waitUp(t *testing.T, d media.Driver, want bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for d.Up() != want {
		if time.Now().After(deadline) {
			t.Fatalf("Up() stayed %v for %v", !want, wait)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

const ms = time.Millisecond

// ---- cases ----

func testAnswered(t *testing.T, h *Harness, rec *recorder) {
	id, digits := place(t, h, sim.Plan{Result: sim.Answer, Ring: 20 * ms, Talk: 40 * ms}, 5*time.Second)
	rec.awaitKind(t, id, media.EventAnswered)
	hu := rec.hangup(t, id)
	wantOutcome(t, id, hu, media.OutcomeAnswered)
	if !hu.Answered || hu.NodeLost {
		t.Errorf("hangup %+v: want Answered and not NodeLost", *hu)
	}
	if hu.Cause.Code != media.CauseNormalClearing {
		t.Errorf("cause %v: want NORMAL_CLEARING for a far-end hang-up after answer", hu.Cause)
	}
	if hu.Talk <= 0 {
		t.Errorf("talk %v: want > 0", hu.Talk)
	}
	if n := originates(h, digits); n != 1 && n != -1 {
		t.Errorf("node received %d originates for %s, want 1", n, digits)
	}
}

func testBusy(t *testing.T, h *Harness, rec *recorder) {
	id, _ := place(t, h, sim.Plan{Result: sim.Busy, Ring: 20 * ms}, 5*time.Second)
	hu := rec.hangup(t, id)
	wantOutcome(t, id, hu, media.OutcomeBusy)
	if hu.Answered {
		t.Errorf("busy call answered: %+v", *hu)
	}
}

func testNoAnswer(t *testing.T, h *Harness, rec *recorder) {
	id, _ := place(t, h, sim.Plan{Result: sim.NoAnswer, Ring: 60 * ms}, 60*ms)
	rec.awaitKind(t, id, media.EventRinging)
	hu := rec.hangup(t, id)
	wantOutcome(t, id, hu, media.OutcomeNoAnswer)
	if !hu.Ringing {
		t.Errorf("rang out without Ringing: %+v", *hu)
	}
}

func testInvalid(t *testing.T, h *Harness, rec *recorder) {
	id, _ := place(t, h, sim.Plan{Result: sim.Invalid, Ring: 20 * ms}, 5*time.Second)
	hu := rec.hangup(t, id)
	wantOutcome(t, id, hu, media.OutcomeInvalidNumber)
}

func testCanceled(t *testing.T, h *Harness, rec *recorder) {
	id, _ := place(t, h, sim.Plan{Result: sim.NoAnswer, Ring: time.Minute}, time.Minute)
	rec.awaitKind(t, id, media.EventRinging)
	if err := h.Driver.Hangup(ctxT(t), id, "ORIGINATOR_CANCEL"); err != nil {
		t.Fatalf("hangup while ringing: %v", err)
	}
	hu := rec.hangup(t, id)
	wantOutcome(t, id, hu, media.OutcomeCanceled)
}

func testRecording(t *testing.T, h *Harness, rec *recorder) {
	id, _ := place(t, h, sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: time.Minute}, 5*time.Second)
	rec.awaitKind(t, id, media.EventAnswered)
	path := "callplane/" + id + ".wav"
	ctx := ctxT(t)
	if err := h.Driver.Record(ctx, id, path); err != nil {
		t.Fatalf("record: %v", err)
	}
	time.Sleep(30 * ms) // let some audio be recorded; nothing is asserted on time
	if err := h.Driver.StopRecord(ctx, id, path); err != nil {
		t.Fatalf("stop record: %v", err)
	}
	ev := rec.awaitKind(t, id, media.EventRecordingFinished)
	if ev.File != path {
		t.Errorf("recording finished with file %q, want %q", ev.File, path)
	}
	if ev.Duration <= 0 {
		t.Errorf("recording duration %v, want > 0", ev.Duration)
	}
	hangupQuietly(t, h, id)
	rec.hangup(t, id)
}

func testDTMF(t *testing.T, h *Harness, rec *recorder) {
	need(t, map[string]bool{"PressDigits": h.PressDigits != nil})
	id, _ := place(t, h, sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: time.Minute}, 5*time.Second)
	rec.awaitKind(t, id, media.EventAnswered)
	const digits = "1234567890*#"
	if err := h.PressDigits(id, digits); err != nil {
		t.Fatalf("press digits: %v", err)
	}
	rec.await(t, id, "all digits", func(media.Event) bool {
		n := 0
		for _, ev := range rec.eventsLocked(id) {
			if ev.Kind == media.EventDTMF {
				n++
			}
		}
		return n >= len(digits)
	})
	got := ""
	for _, ev := range rec.events(id) {
		if ev.Kind == media.EventDTMF {
			got += ev.Digit
		}
	}
	if got != digits {
		t.Errorf("digits %q, want %q", got, digits)
	}
	hangupQuietly(t, h, id)
	rec.hangup(t, id)
}

// eventsLocked is events for predicates that run under r.mu (inside await).
func (r *recorder) eventsLocked(callID string) []media.Event { return r.byCall[callID] }

func testBridge(t *testing.T, h *Harness, rec *recorder) {
	a, _ := place(t, h, sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: time.Minute}, 5*time.Second)
	b, _ := place(t, h, sim.Plan{Result: sim.Answer, Ring: 20 * ms, Talk: time.Minute}, 5*time.Second)
	rec.awaitKind(t, a, media.EventAnswered)
	rec.awaitKind(t, b, media.EventAnswered)
	if err := h.Driver.Bridge(ctxT(t), a, b); err != nil {
		t.Fatalf("bridge: %v", err)
	}
	rec.awaitKind(t, a, media.EventBridged)
	rec.awaitKind(t, b, media.EventBridged)
	hangupQuietly(t, h, a)
	hangupQuietly(t, h, b)
	wantOutcome(t, a, rec.hangup(t, a), media.OutcomeAnswered)
	wantOutcome(t, b, rec.hangup(t, b), media.OutcomeAnswered)
}

func testCapacity(t *testing.T, h *Harness, rec *recorder) {
	first, _ := place(t, h, sim.Plan{Result: sim.NoAnswer, Ring: time.Minute}, time.Minute)
	rec.awaitKind(t, first, media.EventRinging)

	req, digits := destination(t, h, sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: 10 * ms})
	second := newCallID()
	req.CallID, req.RingTimeout = second, 5*time.Second
	err := h.Driver.Originate(ctxT(t), req)
	if err == nil {
		// Refused as a call: it must end at once without being answered.
		hu := rec.hangup(t, second)
		if hu.Answered || hu.Outcome() == media.OutcomeAnswered {
			t.Errorf("call beyond capacity was answered: %+v", *hu)
		}
	} else {
		t.Logf("originate beyond capacity: %v", err)
		if evs := rec.events(second); len(evs) > 0 {
			t.Errorf("refused call %s has events %v", second, kinds(evs))
		}
	}
	if n := originates(h, digits); n > 1 {
		t.Errorf("node received %d originates for %s, want at most 1", n, digits)
	}
	// No harm to the call that was there first: it still rings and ends as we say.
	if evs := rec.events(first); len(evs) == 0 || evs[len(evs)-1].Kind == media.EventHangup {
		t.Fatalf("first call disturbed: %v", kinds(evs))
	}
	if err := h.Driver.Hangup(ctxT(t), first, "ORIGINATOR_CANCEL"); err != nil {
		t.Fatalf("hangup first call: %v", err)
	}
	wantOutcome(t, first, rec.hangup(t, first), media.OutcomeCanceled)
}

func testDrop(t *testing.T, h *Harness, rec *recorder) {
	need(t, map[string]bool{"DropConnections": h.DropConnections != nil})
	// lives on through the drop; we end it after the reconnect.
	long, _ := place(t, h, sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: time.Minute}, 5*time.Second)
	// ends about when the connection drops: while it is down or just after.
	short, _ := place(t, h, sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: 30 * ms}, 5*time.Second)
	rec.awaitKind(t, long, media.EventAnswered)
	rec.awaitKind(t, short, media.EventAnswered)

	h.DropConnections()
	waitUp(t, h.Driver, false)
	waitUp(t, h.Driver, true)

	hu := rec.hangup(t, short)
	if !hu.NodeLost {
		wantOutcome(t, short, hu, media.OutcomeAnswered)
	} else if !hu.Answered {
		t.Errorf("call answered before the drop ended NodeLost without Answered: %+v", *hu)
	}
	if evs := rec.events(long); evs[len(evs)-1].Kind == media.EventHangup {
		t.Fatalf("call still on the node ended: %+v", *evs[len(evs)-1].Hangup)
	}
	if err := h.Driver.Hangup(ctxT(t), long, ""); err != nil {
		t.Fatalf("hangup after reconnect: %v", err)
	}
	hl := rec.hangup(t, long)
	if hl.NodeLost {
		t.Errorf("call that lived on ended NodeLost: %+v", *hl)
	}
	wantOutcome(t, long, hl, media.OutcomeAnswered)
}

func testOrder(t *testing.T, h *Harness, rec *recorder) {
	const n = 60
	type placed struct {
		id   string
		want media.Outcome
	}
	plans := []struct {
		plan sim.Plan
		want media.Outcome
	}{
		{sim.Plan{Result: sim.Answer, Ring: 15 * ms, Talk: 25 * ms}, media.OutcomeAnswered},
		{sim.Plan{Result: sim.Answer, Ring: 5 * ms, Talk: 5 * ms, EarlyMedia: true}, media.OutcomeAnswered},
		{sim.Plan{Result: sim.Busy, Ring: 10 * ms}, media.OutcomeBusy},
		{sim.Plan{Result: sim.NoAnswer, Ring: 30 * ms}, media.OutcomeNoAnswer},
		{sim.Plan{Result: sim.Invalid, Ring: 5 * ms}, media.OutcomeInvalidNumber},
		{sim.Plan{Result: sim.Reject, Ring: 10 * ms}, media.OutcomeRejected},
	}
	calls := make([]placed, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		p := plans[i%len(plans)]
		if h.Dial != nil {
			if _, ok := h.Dial(p.plan); !ok {
				p = plans[0] // what the real callee cannot do is replaced by an answer
			}
		}
		req, _ := destination(t, h, p.plan)
		calls[i] = placed{id: newCallID(), want: p.want}
		req.CallID, req.RingTimeout = calls[i].id, 5*time.Second
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := h.Driver.Originate(ctx, req); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("originate: %v", err)
	}
	for _, c := range calls {
		hu := rec.hangup(t, c.id)
		wantOutcome(t, c.id, hu, c.want)
		evs := rec.events(c.id)
		if c.want == media.OutcomeAnswered {
			answeredAt := -1
			for i, ev := range evs {
				if ev.Kind == media.EventAnswered {
					answeredAt = i
				}
			}
			if answeredAt < 0 {
				t.Errorf("call %s answered without EventAnswered: %v", c.id, kinds(evs))
			}
		}
	}
}

// Prompt is a sound every node of the suite has (the fakes play anything; the rigs carry
// hello-world).
const Prompt = "hello-world.wav"

func testPlay(t *testing.T, h *Harness, rec *recorder) {
	id, _ := place(t, h, sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: time.Minute}, 5*time.Second)
	rec.awaitKind(t, id, media.EventAnswered)
	if err := h.Driver.Play(ctxT(t), id, Prompt); err != nil {
		t.Fatalf("play: %v", err)
	}
	started := rec.awaitKind(t, id, media.EventPlaybackStarted)
	finished := rec.awaitKind(t, id, media.EventPlaybackFinished)
	if started.File != Prompt || finished.File != Prompt {
		t.Errorf("playback events for %q and %q, want %q", started.File, finished.File, Prompt)
	}
	hangupQuietly(t, h, id)
	rec.hangup(t, id)
}

// testLiveCalls: LiveCalls lists callplane's calls on the node and no other channel.
func testLiveCalls(t *testing.T, h *Harness, rec *recorder) {
	id, _ := place(t, h, sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: time.Minute}, 5*time.Second)
	rec.awaitKind(t, id, media.EventAnswered)
	foreign := ""
	if h.Foreign != nil {
		foreign = h.Foreign(t)
	}
	ids, err := h.Driver.LiveCalls(ctxT(t))
	if err != nil {
		t.Fatalf("live calls: %v", err)
	}
	if !slices.Contains(ids, id) {
		t.Errorf("live calls %v lack the call %s", ids, id)
	}
	if foreign != "" && slices.Contains(ids, foreign) {
		t.Errorf("live calls %v list %s, a channel callplane did not originate", ids, foreign)
	}
	if evs := rec.events(foreign); foreign != "" && len(evs) > 0 {
		t.Errorf("events for a channel callplane did not originate: %v", kinds(evs))
	}
	hangupQuietly(t, h, id)
	rec.hangup(t, id)
}

// testTakeover: a call placed by one driver is followed to its end by a fresh driver to the
// same node, as after a controller restart: LiveCalls lists it, and its end arrives with
// its real outcome.
func testTakeover(t *testing.T, h *Harness, rec *recorder) {
	need(t, map[string]bool{"NewDriver": h.NewDriver != nil})
	id, _ := place(t, h, sim.Plan{Result: sim.Answer, Ring: 10 * ms, Talk: time.Minute}, 5*time.Second)
	rec.awaitKind(t, id, media.EventAnswered)
	if err := h.Driver.Close(); err != nil {
		t.Fatalf("close the first driver: %v", err)
	}
	d := h.NewDriver(t)
	after := newRecorder(d)
	ids, err := d.LiveCalls(ctxT(t))
	if err != nil {
		t.Fatalf("live calls after the restart: %v", err)
	}
	if !slices.Contains(ids, id) {
		t.Fatalf("live calls %v after the restart lack the call %s", ids, id)
	}
	if err := d.Hangup(ctxT(t), id, ""); err != nil {
		t.Fatalf("hangup after the restart: %v", err)
	}
	hu := after.hangup(t, id)
	if hu.NodeLost || !hu.Answered {
		t.Errorf("taken-over call ended %+v, want answered and not lost", *hu)
	}
	wantOutcome(t, id, hu, media.OutcomeAnswered)
	after.checkWellFormed(t)
}
