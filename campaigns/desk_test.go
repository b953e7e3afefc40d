package campaigns

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/callplane/callplane/media"
)

type manualClock struct{ t time.Time }

func (c *manualClock) Now() time.Time { return c.t }

// An agent's day on the desk, with an injected clock: reserved for a call on its node,
// on the call, wrap-up that ends at the disposition (its length goes to the campaign's
// pacing), a pause asked for during a call that starts when the call ends.
func TestDeskAgentStates(t *testing.T) {
	clock := &manualClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	k := NewDesk(nil, nil, clock, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	type wrap struct {
		campaign int64
		d        time.Duration
	}
	wraps := make(chan wrap, 4)
	k.wrapped = func(c int64, d time.Duration) { wraps <- wrap{c, d} }
	k.Add(Agent{ID: 1, MaxWrapMs: 15000, Campaigns: []AgentCampaign{{CampaignID: 7, Priority: 1}}})
	k.seats[1].leg, k.seats[1].legUp, k.seats[1].a.LegNode = "leg-1", true, "n1"
	k.legs["leg-1"] = 1
	k.set(k.seats[1], AgentReady, "")
	k.SetActive(7, true)

	if _, _, ok := k.Reserve(7, "n2", "c1"); ok {
		t.Fatal("reserved an agent on another node")
	}
	if _, _, ok := k.Reserve(8, "n1", "c1"); ok {
		t.Fatal("reserved an agent for a campaign it does not work")
	}
	if team := k.Team(7); team.ReadyTotal() != 1 || team.Ready["n1"] != 1 {
		t.Fatalf("team: %+v", team)
	}
	id, leg, ok := k.Reserve(7, "n1", "c1")
	if !ok || id != 1 || leg != "leg-1" || k.seats[1].a.State != AgentReserved {
		t.Fatalf("reserve: %d %s %v %s", id, leg, ok, k.seats[1].a.State)
	}
	k.Bridged(1, "c1")
	if _, err := k.Pause(1, "lunch"); err != nil { // during the call: after it
		t.Fatal(err)
	}
	if st := k.seats[1].a.State; st != AgentOnCall {
		t.Fatalf("paused in the middle of a call: %s", st)
	}
	clock.t = clock.t.Add(90 * time.Second)
	k.CallEnded(1, "c1")
	if st := k.seats[1].a.State; st != AgentWrapUp {
		t.Fatalf("after the call: %s", st)
	}
	clock.t = clock.t.Add(4 * time.Second)
	k.Disposed(1, "c1")
	if a := k.seats[1].a; a.State != AgentNotReady || a.PauseReason != "lunch" || a.CallID != "" {
		t.Fatalf("after the disposition: %s %q %q", a.State, a.PauseReason, a.CallID)
	}
	if w := <-wraps; w.campaign != 7 || w.d != 4*time.Second {
		t.Fatalf("wrap-up reported: %+v", w)
	}
	// Wrap-up ends by itself after MaxWrapMs.
	k.set(k.seats[1], AgentReady, "")
	k.Reserve(7, "n1", "c2")
	k.Bridged(1, "c2")
	k.CallEnded(1, "c2")
	clock.t = clock.t.Add(14 * time.Second)
	k.endWraps()
	if st := k.seats[1].a.State; st != AgentWrapUp {
		t.Fatalf("wrap-up ended early: %s", st)
	}
	clock.t = clock.t.Add(time.Second)
	k.endWraps()
	if st := k.seats[1].a.State; st != AgentReady {
		t.Fatalf("wrap-up did not end at max_wrap_ms: %s", st)
	}
	if w := <-wraps; w.d != 15*time.Second {
		t.Fatalf("auto wrap-up reported: %+v", w)
	}
	// The leg dies: logged out.
	k.LegEvent(mediaHangup("leg-1"))
	if st := k.seats[1].a.State; st != AgentLoggedOut {
		t.Fatalf("after the leg ended: %s", st)
	}
}

func mediaHangup(callID string) media.Event {
	return media.Event{Kind: media.EventHangup, CallID: callID, Hangup: &media.Hangup{}}
}
