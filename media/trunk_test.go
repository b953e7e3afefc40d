package media

import (
	"testing"
	"time"
)

func TestTrunkFailure(t *testing.T) {
	for _, c := range []struct {
		name string
		h    Hangup
		want bool
	}{
		{"fs gateway down", Hangup{Cause: CauseFromName("GATEWAY_DOWN")}, true},
		{"temporary failure", Hangup{Cause: CauseFromCode(CauseNormalTemporaryFailure)}, true},
		{"congestion", Hangup{Cause: CauseFromCode(CauseSwitchCongestion)}, true},
		{"sip 503 with another cause", Hangup{Cause: CauseFromCode(CauseNormalUnspecified), SIPCode: 503}, true},
		{"failure after ringing is the callee's network", Hangup{Cause: CauseFromCode(CauseNormalTemporaryFailure), Ringing: true}, false},
		{"busy", Hangup{Cause: CauseFromCode(CauseUserBusy), SIPCode: 486}, false},
		{"unallocated number", Hangup{Cause: CauseFromCode(CauseUnallocatedNumber), SIPCode: 404}, false},
		{"answered", Hangup{Cause: CauseFromCode(CauseNormalTemporaryFailure), Answered: true}, false},
		{"node lost", Hangup{NodeLost: true}, false},
	} {
		if got := TrunkFailure(c.h); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestTrunkBreaker(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	tr, err := NewTrunks([]TrunkConfig{
		{Name: "backup", Priority: 2, Templates: map[Kind]string{KindFreeSWITCH: "sofia/gateway/b/{number}"}},
		{Name: "main", Priority: 1, Templates: map[Kind]string{KindFreeSWITCH: "sofia/gateway/a/{number}"}, OpenAfter: 3, OpenFor: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	use := func(id string, at time.Time, failed bool) (string, bool) {
		name, _, _ := tr.Acquire(id, at)
		return name, tr.Release(id, failed, at)
	}
	// A success resets the count: two failures, a success, two failures stay closed.
	for i, f := range []bool{true, true, false, true, true} {
		if name, opened := use(string(rune('a'+i)), t0, f); name != "main" || opened {
			t.Fatalf("call %d: %s opened=%v", i, name, opened)
		}
	}
	if name, opened := use("f", t0, true); name != "main" || !opened {
		t.Fatalf("third failure in a row: %s opened=%v", name, opened)
	}
	if name, _ := use("g", t0.Add(59*time.Second), false); name != "backup" {
		t.Fatalf("while open: %s", name)
	}
	if st := tr.Status(t0.Add(time.Minute)); st[0].State != BreakerHalfOpen || st[0].Failed != 5 {
		t.Fatalf("status: %+v", st[0])
	}
	// Half-open: one probe; while it is out the next call takes the backup.
	if name, _, _ := tr.Acquire("probe", t0.Add(time.Minute)); name != "main" {
		t.Fatalf("probe on %s", name)
	}
	if name, _, _ := tr.Acquire("during", t0.Add(time.Minute)); name != "backup" {
		t.Fatalf("during the probe: %s", name)
	}
	if !tr.Release("probe", true, t0.Add(time.Minute)) {
		t.Fatal("a failed probe reopens the trunk")
	}
	tr.Release("during", false, t0.Add(time.Minute))
	if name, _, _ := tr.Acquire("probe2", t0.Add(2*time.Minute)); name != "main" {
		t.Fatalf("second probe on %s", name)
	}
	tr.Release("probe2", false, t0.Add(2*time.Minute))
	if st := tr.Status(t0.Add(2 * time.Minute)); st[0].State != BreakerClosed || st[0].Failures != 0 {
		t.Fatalf("after a good probe: %+v", st[0])
	}
}

func TestTrunkCaps(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	tr, _ := NewTrunks([]TrunkConfig{{Name: "a", MaxCalls: 2, CallsPerSecond: 100, Templates: map[Kind]string{KindAsterisk: "PJSIP/{number}@a"}}})
	for i := range 2 {
		if _, _, ok := tr.Acquire(string(rune('a'+i)), t0); !ok {
			t.Fatal("under the cap")
		}
	}
	if _, _, ok := tr.Acquire("c", t0); ok {
		t.Fatal("over max_calls")
	}
	tr.Release("a", false, t0)
	if _, _, ok := tr.Acquire("c", t0); !ok {
		t.Fatal("a slot came free")
	}
	if _, err := NewTrunks([]TrunkConfig{{Name: "x"}}); err == nil {
		t.Error("a trunk without templates is refused")
	}
}

// A half-open trunk that has no token when its probe time comes stays half-open: the next
// call it can take is the probe. (It used to be marked probing before its rate check, and
// then refused every call for good.)
func TestTrunkProbeWaitsForAToken(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	tr, _ := NewTrunks([]TrunkConfig{{Name: "slow", CallsPerSecond: 0.01, OpenAfter: 1, OpenFor: time.Second,
		Templates: map[Kind]string{KindFreeSWITCH: "sofia/gateway/s/{number}"}}})
	tr.Acquire("x", t0)
	if !tr.Release("x", true, t0) {
		t.Fatal("one failure opens the breaker")
	}
	if _, _, ok := tr.Acquire("y", t0.Add(2*time.Second)); ok {
		t.Fatal("no token yet: no probe")
	}
	if _, _, ok := tr.Acquire("z", t0.Add(10*time.Hour)); !ok {
		t.Fatal("ten hours later the trunk has a token and must probe")
	}
	if tr.Release("z", false, t0.Add(10*time.Hour)); tr.Status(t0.Add(10 * time.Hour))[0].State != BreakerClosed {
		t.Fatal("a good probe closes the breaker")
	}
}
