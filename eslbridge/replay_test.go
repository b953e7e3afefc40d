package eslbridge

import (
	"bufio"
	"container/heap"
	"errors"
	"io"
	"math/rand/v2"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/callplane/callplane/media"
)

// loadCapture reads a captured plain.raw (frames exactly as FreeSWITCH 1.10.12 sent
// them) and returns its events, the call's uuid and its Job-UUID.
func loadCapture(t testing.TB, name string) (evs []*rawEvent, callID string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".plain.raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	tp := textproto.NewReader(br)
	for {
		fr, err := readFrame(tp, br)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		h, body, err := parseEvent(fr.body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e := decode(h, body, time.Time{})
		if e.name == "BACKGROUND_JOB" {
			callID = e.job
		}
		evs = append(evs, e)
	}
	if callID == "" {
		t.Fatalf("%s: no originate job in the capture", name)
	}
	return evs, callID
}

var replayCases = []struct {
	capture string
	kinds   []media.EventKind
	cause   string
	sip     int
	outcome media.Outcome
}{
	{"sip_answer_callee_bye", []media.EventKind{"ringing", "answered", "hangup"}, "NORMAL_CLEARING", 200, media.OutcomeAnswered},
	{"sip_busy_486", []media.EventKind{"hangup"}, "USER_BUSY", 486, media.OutcomeBusy},
	{"sip_decline_603", []media.EventKind{"hangup"}, "CALL_REJECTED", 603, media.OutcomeRejected},
	{"sip_unavailable_480", []media.EventKind{"hangup"}, "NO_USER_RESPONSE", 480, media.OutcomeUnavailable},
	// The job's -ERR NO_ANSWER comes before CHANNEL_HANGUP_COMPLETE and decides.
	{"sip_noanswer_timeout", []media.EventKind{"ringing", "hangup"}, "NO_ANSWER", 0, media.OutcomeNoAnswer},
	// +OK arrives at the 183, answered only at CHANNEL_ANSWER.
	{"sip_early_media_183", []media.EventKind{"early_media", "answered", "hangup"}, "NORMAL_CLEARING", 200, media.OutcomeAnswered},
	{"sip_dtmf_2833_and_info", []media.EventKind{"ringing", "answered", "dtmf", "dtmf", "hangup"}, "NORMAL_CLEARING", 200, media.OutcomeAnswered},
	{"sip_hold_record_hangup_by_esl", []media.EventKind{"ringing", "answered", "playback_started", "recording_finished", "playback_finished", "hangup"}, "NORMAL_CLEARING", 0, media.OutcomeAnswered},
	{"sip_cancel_while_ringing_uuid_kill", []media.EventKind{"ringing", "hangup"}, "ORIGINATOR_CANCEL", 0, media.OutcomeCanceled},
	{"sip_unreachable_port", []media.EventKind{"hangup"}, "NORMAL_TEMPORARY_FAILURE", 503, media.OutcomeFailed},
	// error/ endpoints produce only the job result.
	{"error_endpoint_user_busy", []media.EventKind{"hangup"}, "USER_BUSY", 0, media.OutcomeBusy},
}

// TestReplayCapturesShuffled feeds each capture's frames in shuffled order (as eslgo's
// goroutine per event delivers them) through the sequencer's ordering and the
// normalizer, and checks the normalized sequence and outcome.
func TestReplayCapturesShuffled(t *testing.T) {
	for _, tc := range replayCases {
		t.Run(tc.capture, func(t *testing.T) {
			evs, callID := loadCapture(t, tc.capture)
			for seed := range uint64(20) {
				shuffled := slices.Clone(evs)
				rand.New(rand.NewPCG(seed, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				var out []media.Event
				n := newNormalizer("fs1", time.Now, func(e media.Event) { out = append(out, e) })
				n.track(callID)
				var h eventHeap
				for _, e := range shuffled {
					heap.Push(&h, e)
				}
				for h.Len() > 0 {
					n.handle(heap.Pop(&h).(*rawEvent))
				}
				if got := kindList(out); !slices.Equal(got, tc.kinds) {
					t.Fatalf("seed %d: events %s, want %v", seed, kinds(out), tc.kinds)
				}
				hu := out[len(out)-1].Hangup
				if hu.Cause.Name != tc.cause || hu.SIPCode != tc.sip || hu.Outcome() != tc.outcome {
					t.Fatalf("seed %d: hangup %+v (%s), want %s/%d %s", seed, hu, hu.Outcome(), tc.cause, tc.sip, tc.outcome)
				}
				if tc.capture == "sip_dtmf_2833_and_info" && (out[2].Digit != "1" || out[3].Digit != "5") {
					t.Fatalf("digits %q %q, want 1 5", out[2].Digit, out[3].Digit)
				}
				if tc.capture == "sip_hold_record_hangup_by_esl" && out[3].File == "" {
					t.Fatal("recording without a path")
				}
			}
		})
	}
}

// TestReplayUnorderedInvariants feeds the frames with no ordering at all: whatever
// the order, a call ends exactly once, nothing follows its end, and it is answered
// exactly when the capture's call was.
func TestReplayUnorderedInvariants(t *testing.T) {
	for _, tc := range replayCases {
		t.Run(tc.capture, func(t *testing.T) {
			evs, callID := loadCapture(t, tc.capture)
			for seed := range uint64(50) {
				shuffled := slices.Clone(evs)
				rand.New(rand.NewPCG(seed, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				var out []media.Event
				n := newNormalizer("fs1", time.Now, func(e media.Event) { out = append(out, e) })
				n.track(callID)
				for _, e := range shuffled {
					n.handle(e)
				}
				hangups := 0
				for _, e := range out {
					if e.Kind == media.EventHangup {
						hangups++
					}
				}
				if hangups != 1 || out[len(out)-1].Kind != media.EventHangup {
					t.Fatalf("seed %d: %s: want one hangup, last", seed, kinds(out))
				}
				wantAnswered := tc.outcome == media.OutcomeAnswered
				if got := slices.Contains(kindList(out), media.EventAnswered); got != out[len(out)-1].Hangup.Answered {
					t.Fatalf("seed %d: %s: Answered event and Hangup.Answered disagree", seed, kinds(out))
				} else if got != wantAnswered {
					t.Fatalf("seed %d: %s: answered, want %s", seed, kinds(out), tc.outcome)
				}
			}
		})
	}
}
