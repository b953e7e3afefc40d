package eslbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/percipia/eslgo"

	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

var ctx = context.Background()

// node starts a fake node (10x faster than real time) and a driver, with its recorder.
// Each cleanup is registered so that the checker runs last, the node closes after the
// driver.
func node(t *testing.T, opts esltest.Options, cfg Config) (*esltest.Server, *Driver, *recorder) {
	t.Helper()
	checkGoroutines(t)
	if opts.TimeScale == 0 {
		opts.TimeScale = 10
	}
	srv := startNode(t, opts)
	d := startDriver(t, srv, cfg)
	return srv, d, record(d)
}

func originate(t *testing.T, d *Driver, number string, ring time.Duration) string {
	t.Helper()
	id := uuid.NewString()
	err := d.Originate(ctx, media.OriginateRequest{CallID: id, Number: number, CallerIDNumber: "15550001111",
		CallerIDName: "callplane", RingTimeout: ring, Vars: map[string]string{"campaign_id": "c1"}})
	if err != nil {
		t.Fatalf("originate %s: %v", number, err)
	}
	return id
}

func TestAnswerThenRemoteHangup(t *testing.T) {
	srv, d, r := node(t, esltest.Options{}, Config{})
	srv.Script("8613800138000", sim.Plan{Result: sim.Answer, Ring: time.Second, Talk: 3 * time.Second})
	id := originate(t, d, "+8613800138000", 0)
	h, evs := r.hangup(t, id)
	if want := []media.EventKind{media.EventRinging, media.EventAnswered, media.EventHangup}; !slices.Equal(kindList(evs), want) {
		t.Fatalf("events %s, want %v", kinds(evs), want)
	}
	if h.Cause.Name != "NORMAL_CLEARING" || h.SIPCode != 200 || !h.Answered || h.Outcome() != media.OutcomeAnswered {
		t.Fatalf("hangup %+v", h)
	}
	if h.Talk < 2*time.Second || h.Talk > 5*time.Second {
		t.Errorf("talk %v, want about 3s of simulated time", h.Talk)
	}
	if got := srv.Originates("8613800138000"); got != 1 {
		t.Errorf("node saw %d originates, want 1", got)
	}
}

func TestFailures(t *testing.T) {
	cases := []struct {
		name    string
		plan    sim.Plan
		cause   string
		sip     int
		outcome media.Outcome
	}{
		{"busy", sim.Plan{Result: sim.Busy, Ring: 200 * time.Millisecond}, "USER_BUSY", 486, media.OutcomeBusy},
		{"rejected", sim.Plan{Result: sim.Reject, Ring: time.Second}, "CALL_REJECTED", 603, media.OutcomeRejected},
		{"unavailable", sim.Plan{Result: sim.Unavailable, Ring: 200 * time.Millisecond}, "NO_USER_RESPONSE", 480, media.OutcomeUnavailable},
		{"invalid number", sim.Plan{Result: sim.Invalid, Ring: 100 * time.Millisecond}, "UNALLOCATED_NUMBER", 404, media.OutcomeInvalidNumber},
		{"trunk failure", sim.Plan{Result: sim.Fail, Ring: 100 * time.Millisecond}, "NORMAL_TEMPORARY_FAILURE", 503, media.OutcomeFailed},
		{"busy after early media", sim.Plan{Result: sim.Busy, EarlyMedia: true, Ring: time.Second}, "USER_BUSY", 486, media.OutcomeBusy},
	}
	srv, d, r := node(t, esltest.Options{}, Config{})
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			number := fmt.Sprintf("4930100%02d", i)
			srv.Script(number, tc.plan)
			id := originate(t, d, "+"+number, 0)
			h, evs := r.hangup(t, id)
			if h.Cause.Name != tc.cause || h.SIPCode != tc.sip || h.Answered || h.Outcome() != tc.outcome {
				t.Fatalf("hangup %+v (%s), want %s/%d %s", h, h.Outcome(), tc.cause, tc.sip, tc.outcome)
			}
			if slices.Contains(kindList(evs), media.EventAnswered) {
				t.Fatalf("events %s: a failed call was answered", kinds(evs))
			}
		})
	}
}

func TestNoAnswerAtRingTimeout(t *testing.T) {
	srv, d, r := node(t, esltest.Options{TimeScale: 20}, Config{})
	srv.Script("15550002222", sim.Plan{Result: sim.NoAnswer})
	id := originate(t, d, "+15550002222", 4*time.Second)
	h, evs := r.hangup(t, id)
	if h.Cause.Name != "NO_ANSWER" || !h.Ringing || h.Outcome() != media.OutcomeNoAnswer {
		t.Fatalf("hangup %+v, want NO_ANSWER after ringing", h)
	}
	if want := []media.EventKind{media.EventRinging, media.EventHangup}; !slices.Equal(kindList(evs), want) {
		t.Fatalf("events %s, want %v", kinds(evs), want)
	}
}

func TestEarlyMediaIsNotAnswered(t *testing.T) {
	srv, d, r := node(t, esltest.Options{TimeScale: 1}, Config{})
	// FreeSWITCH answers the originate with +OK at the 183, seconds before the answer.
	srv.Script("15550003333", sim.Plan{Result: sim.Answer, EarlyMedia: true, Ring: 600 * time.Millisecond, Talk: 100 * time.Millisecond})
	id := originate(t, d, "+15550003333", 0)
	evs := r.waitKind(t, id, media.EventEarlyMedia)
	if slices.Contains(kindList(evs), media.EventAnswered) {
		t.Fatalf("answered together with early media: %s", kinds(evs))
	}
	// The job's +OK arrives now; the call must still not be answered before CHANNEL_ANSWER.
	h, evs := r.hangup(t, id)
	if want := []media.EventKind{media.EventEarlyMedia, media.EventAnswered, media.EventHangup}; !slices.Equal(kindList(evs), want) {
		t.Fatalf("events %s, want %v", kinds(evs), want)
	}
	if !h.Answered || h.Outcome() != media.OutcomeAnswered {
		t.Fatalf("hangup %+v", h)
	}
}

func TestCancelWhileRinging(t *testing.T) {
	srv, d, r := node(t, esltest.Options{TimeScale: 1}, Config{})
	srv.Script("15550004444", sim.Plan{Result: sim.NoAnswer})
	id := originate(t, d, "+15550004444", 60*time.Second)
	r.waitKind(t, id, media.EventRinging)
	if err := d.Hangup(ctx, id, "ORIGINATOR_CANCEL"); err != nil {
		t.Fatal(err)
	}
	h, _ := r.hangup(t, id)
	if h.Cause.Name != "ORIGINATOR_CANCEL" || h.Outcome() != media.OutcomeCanceled {
		t.Fatalf("hangup %+v (%s), want canceled", h, h.Outcome())
	}
	if err := d.Hangup(ctx, id, ""); !errors.Is(err, media.ErrUnknownCall) {
		t.Fatalf("hangup of an ended call: %v, want ErrUnknownCall", err)
	}
}

// answered originates a call that answers at once and stays for a minute.
func answered(t *testing.T, srv *esltest.Server, d *Driver, r *recorder, number string) string {
	t.Helper()
	srv.Script(number, sim.Plan{Result: sim.Answer, Ring: 50 * time.Millisecond, Talk: time.Hour})
	id := originate(t, d, "+"+number, 0)
	r.waitKind(t, id, media.EventAnswered)
	return id
}

func TestDTMFInOrder(t *testing.T) {
	srv, d, r := node(t, esltest.Options{}, Config{})
	id := answered(t, srv, d, r, "15550005555")
	const digits = "1234567890*#"
	if err := srv.PressDigits(id, digits); err != nil {
		t.Fatal(err)
	}
	evs := r.wait(t, id, "12 digits", func(evs []media.Event) bool {
		n := 0
		for _, e := range evs {
			if e.Kind == media.EventDTMF {
				n++
			}
		}
		return n == len(digits)
	})
	var got strings.Builder
	for _, e := range evs {
		got.WriteString(e.Digit)
	}
	if got.String() != digits {
		t.Fatalf("digits %q, want %q", got.String(), digits)
	}
	if err := d.Hangup(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	if h, _ := r.hangup(t, id); h.Cause.Name != "NORMAL_CLEARING" || !h.Answered {
		t.Fatalf("hangup %+v", h)
	}
}

func TestPlaybackAndRecording(t *testing.T) {
	srv, d, r := node(t, esltest.Options{TimeScale: 20}, Config{})
	id := answered(t, srv, d, r, "15550006666")
	const prompt = "callplane/prompts/hello-world.wav"
	if err := d.Play(ctx, id, prompt); err != nil {
		t.Fatal(err)
	}
	evs := r.waitKind(t, id, media.EventPlaybackFinished)
	var files []string
	for _, e := range evs {
		if e.Kind == media.EventPlaybackStarted || e.Kind == media.EventPlaybackFinished {
			files = append(files, string(e.Kind)+" "+e.File)
		}
	}
	if want := []string{"playback_started " + prompt, "playback_finished " + prompt}; !slices.Equal(files, want) {
		t.Fatalf("playback %q, want %q", files, want)
	}
	// Speech fires no PLAYBACK_* events on FreeSWITCH: its speak application's execution
	// brackets it.
	tts := media.TTS("kal", "Hello 张三, press one.")
	if err := d.Play(ctx, id, tts); err != nil {
		t.Fatal(err)
	}
	files = nil
	spoken := r.wait(t, id, "speech finished", func(evs []media.Event) bool {
		return evs[len(evs)-1].Kind == media.EventPlaybackFinished && evs[len(evs)-1].File == tts
	})
	for _, e := range spoken[len(evs):] {
		if e.Kind == media.EventPlaybackStarted || e.Kind == media.EventPlaybackFinished {
			files = append(files, string(e.Kind)+" "+e.File)
		}
	}
	if want := []string{"playback_started " + tts, "playback_finished " + tts}; !slices.Equal(files, want) {
		t.Fatalf("speech %q, want %q", files, want)
	}
	path := "/var/spool/callplane/" + id + ".wav"
	if err := d.Record(ctx, id, path); err != nil {
		t.Fatal(err)
	}
	if err := d.StopRecord(ctx, id, path); err != nil {
		t.Fatal(err)
	}
	evs = r.waitKind(t, id, media.EventRecordingFinished)
	last := evs[len(evs)-1]
	if last.Kind != media.EventRecordingFinished || last.File != path || last.Duration < 0 {
		t.Fatalf("recording event %+v", last)
	}
	if err := d.Play(ctx, uuid.NewString(), prompt); !errors.Is(err, media.ErrUnknownCall) {
		t.Fatalf("play to an unknown call: %v", err)
	}
	if err := d.Record(ctx, uuid.NewString(), path); !errors.Is(err, media.ErrUnknownCall) {
		t.Fatalf("record an unknown call: %v", err)
	}
}

func TestBridge(t *testing.T) {
	srv, d, r := node(t, esltest.Options{}, Config{})
	a := answered(t, srv, d, r, "15550007771")
	b := answered(t, srv, d, r, "15550007772")
	if err := d.Bridge(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	r.waitKind(t, a, media.EventBridged)
	r.waitKind(t, b, media.EventBridged)
	// Hanging up one leg ends the other.
	if err := d.Hangup(ctx, a, ""); err != nil {
		t.Fatal(err)
	}
	r.hangup(t, a)
	r.hangup(t, b)
}

func TestNodeAtCapacity(t *testing.T) {
	srv, d, r := node(t, esltest.Options{MaxCalls: 1}, Config{})
	first := answered(t, srv, d, r, "15550008881")
	second := originate(t, d, "+15550008882", 0)
	h, evs := r.hangup(t, second)
	if h.Cause.Name != "DESTINATION_OUT_OF_ORDER" || h.Outcome() != media.OutcomeFailed || len(evs) != 1 {
		t.Fatalf("over capacity: %s %+v", kinds(evs), h)
	}
	if err := d.Hangup(ctx, first, ""); err != nil {
		t.Fatal(err)
	}
	r.hangup(t, first)
}

func TestOriginateNotConnected(t *testing.T) {
	checkGoroutines(t)
	d := New(Config{Address: "127.0.0.1:1"}, nil, nil)
	d.Start(ctx)
	defer d.Close()
	err := d.Originate(ctx, media.OriginateRequest{CallID: uuid.NewString(), Number: "+15550000000"})
	if !errors.Is(err, media.ErrNotSent) {
		t.Fatalf("originate while down: %v, want ErrNotSent", err)
	}
}

func TestEscapedVariablesReachTheChannel(t *testing.T) {
	srv, d, r := node(t, esltest.Options{}, Config{})
	srv.Script("15550009999", sim.Plan{Result: sim.Answer, Ring: 50 * time.Millisecond, Talk: time.Hour})
	id := uuid.NewString()
	name := `O'Brien, Jo & Co`
	err := d.Originate(ctx, media.OriginateRequest{CallID: id, Number: "+15550009999", CallerIDName: name,
		Vars: map[string]string{"note": `a,b c'd\e {x} "q"=1`, "Bad-Key": "dropped"}})
	if err != nil {
		t.Fatal(err)
	}
	r.waitKind(t, id, media.EventAnswered)
	for v, want := range map[string]string{"origination_caller_id_name": name,
		"note": `a,b c'd\e x "q"=1`, "callplane_call_id": id, "origination_uuid": id} {
		if got, _ := srv.ChannelVar(id, v); got != want {
			t.Errorf("%s = %q, want %q", v, got, want)
		}
	}
	if _, ok := srv.ChannelVar(id, "Bad-Key"); ok {
		t.Error("an invalid variable name reached the channel")
	}
	d.Hangup(ctx, id, "")
	r.hangup(t, id)
}

func TestDisconnectMidCall(t *testing.T) {
	srv, d, r := node(t, esltest.Options{}, Config{LostGrace: time.Minute})
	stays := answered(t, srv, d, r, "15550001001")
	ends := answered(t, srv, d, r, "15550001002")

	// The node's socket goes away and stays away while one call ends.
	if err := srv.Refuse(true); err != nil {
		t.Fatal(err)
	}
	srv.DropConnections()
	waitUntil(t, "driver down", func() bool { return !d.Up() })
	if err := d.Originate(ctx, media.OriginateRequest{CallID: uuid.NewString(), Number: "+15550001003"}); !errors.Is(err, media.ErrNotSent) {
		t.Fatalf("originate while down: %v, want ErrNotSent", err)
	}
	if !srv.Kill(ends, "NORMAL_CLEARING") {
		t.Fatal("kill failed")
	}
	waitUntil(t, "call gone on the node", func() bool { return srv.Stats().ActiveCalls == 1 })
	if err := srv.Refuse(false); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "driver up again", d.Up)

	h, _ := r.hangup(t, ends)
	if !h.NodeLost || !h.Answered || h.Outcome() != media.OutcomeAnswered {
		t.Fatalf("call ended while disconnected: %+v, want NodeLost and answered", h)
	}
	live, err := d.LiveCalls(ctx)
	if err != nil || !slices.Equal(live, []string{stays}) {
		t.Fatalf("live calls %v %v, want [%s]", live, err, stays)
	}
	// The call that survived delivers its own end.
	srv.Kill(stays, "NORMAL_CLEARING")
	h, _ = r.hangup(t, stays)
	if h.NodeLost || h.Cause.Name != "NORMAL_CLEARING" || !h.Answered {
		t.Fatalf("surviving call: %+v", h)
	}
}

func TestLostGraceExpires(t *testing.T) {
	srv, d, r := node(t, esltest.Options{}, Config{LostGrace: 200 * time.Millisecond})
	srv.Script("15550001101", sim.Plan{Result: sim.NoAnswer})
	ringing := originate(t, d, "+15550001101", time.Hour)
	r.waitKind(t, ringing, media.EventRinging)
	if err := srv.Refuse(true); err != nil {
		t.Fatal(err)
	}
	srv.DropConnections()
	h, _ := r.hangup(t, ringing)
	if !h.NodeLost || h.Answered || h.Outcome() != media.OutcomeNodeLost {
		t.Fatalf("hangup %+v, want node lost", h)
	}
}

func TestAdoptsCallsAfterControllerRestart(t *testing.T) {
	srv, d, r := node(t, esltest.Options{}, Config{})
	id := answered(t, srv, d, r, "15550001201")
	d.Close()

	// A new controller process: a fresh driver that never originated the call.
	d2 := startDriver(t, srv, Config{})
	r2 := record(d2)
	live, err := d2.LiveCalls(ctx)
	if err != nil || !slices.Equal(live, []string{id}) {
		t.Fatalf("live calls %v %v, want [%s]", live, err, id)
	}
	if err := srv.PressDigits(id, "5"); err != nil {
		t.Fatal(err)
	}
	r2.waitKind(t, id, media.EventDTMF)
	srv.Kill(id, "NORMAL_CLEARING")
	if h, _ := r2.hangup(t, id); h.Cause.Name != "NORMAL_CLEARING" {
		t.Fatalf("hangup %+v", h)
	}
}

func TestCloseUnderLoad(t *testing.T) {
	srv, d, r := node(t, esltest.Options{Model: sim.Model{AnswerRate: 0.5, BusyShare: 0.5, RingMedian: 100 * time.Millisecond, TalkMedian: time.Second}}, Config{})
	_ = srv
	_ = r
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				err := d.Originate(ctx, media.OriginateRequest{CallID: uuid.NewString(), Number: fmt.Sprintf("+1555%03d%04d", i, j)})
				if err != nil && !errors.Is(err, media.ErrNotSent) && !strings.Contains(err.Error(), "no reply") {
					t.Errorf("originate: %v", err)
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the load build; not an assertion
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	<-r.done // Events closed
}

func TestLostAnswerEventIsSynthesized(t *testing.T) {
	srv, d, r := node(t, esltest.Options{}, Config{})
	srv.DropEvents(func(name, _ string) bool { return name == "CHANNEL_ANSWER" })
	srv.Script("15550001301", sim.Plan{Result: sim.Answer, Ring: 100 * time.Millisecond, Talk: time.Second})
	id := originate(t, d, "+15550001301", 0)
	h, evs := r.hangup(t, id)
	if want := []media.EventKind{media.EventRinging, media.EventAnswered, media.EventHangup}; !slices.Equal(kindList(evs), want) {
		t.Fatalf("events %s, want %v", kinds(evs), want)
	}
	if !h.Answered {
		t.Fatalf("hangup %+v", h)
	}
}

func TestHungNodeIsDetected(t *testing.T) {
	srv, d, r := node(t, esltest.Options{}, Config{KeepAlive: 50 * time.Millisecond, CommandTimeout: 200 * time.Millisecond,
		DialTimeout: 200 * time.Millisecond})
	id := answered(t, srv, d, r, "15550001401")
	srv.Hold(true)
	waitUntil(t, "driver down", func() bool { return !d.Up() })
	srv.Hold(false)
	waitUntil(t, "driver up", d.Up)
	if err := d.Hangup(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	if h, _ := r.hangup(t, id); h.NodeLost || !h.Answered {
		t.Fatalf("hangup %+v", h)
	}
}

// A wrong event-socket password says so, in one line.
func TestWrongPasswordSaysSo(t *testing.T) {
	srv := startNode(t, esltest.Options{})
	_, err := dialESL(ctx, srv.Addr(), "wrong", time.Second, slog.New(slog.DiscardHandler), func(textproto.MIMEHeader, []byte) {})
	if !errors.Is(err, eslgo.ErrAuthRefused) || !strings.Contains(err.Error(), "refused the password: -ERR invalid") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("wrong password: %v", err)
	}
}
