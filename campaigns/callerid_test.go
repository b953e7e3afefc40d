package campaigns

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/callplane/callplane/crm"
)

func TestCallerIDSelection(t *testing.T) {
	ctx := context.Background()
	s := NewStore(db.DB)
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	phones := crm.PhoneNormalizer{DefaultRegion: "CN"}
	p, err := s.CreateCallerIDPool(ctx, CallerIDPool{Name: "local", HourlyCap: 2, CooldownMs: 1000},
		[]string{"010-6234 5678", "+86 21 5000 1234", "+1 212-555-1234", "12345"}, phones, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rejected) != 1 || p.Rejected[0].Value != "12345" {
		t.Fatalf("rejected: %+v", p.Rejected)
	}
	c := NewCallerIDs(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	beijingCallee := "+861088880000"
	at := t0
	pick := func() string {
		t.Helper()
		at = at.Add(2 * time.Second) // past the cooldown
		n, ok, err := c.Pick(ctx, "local", fmt.Sprint(at.UnixNano()), beijingCallee, at)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return ""
		}
		return n
	}
	// Local presence: the Beijing number while under its cap, then the same country,
	// then anything; then nothing.
	for i, want := range []string{"+861062345678", "+861062345678", "+862150001234", "+862150001234", "+12125551234", "+12125551234", ""} {
		if got := pick(); got != want {
			t.Fatalf("pick %d: %q, want %q", i, got, want)
		}
	}
	// The cooldown: right after a call the number rests.
	at = t0.Add(time.Hour + 3*time.Second)
	if n, ok, _ := c.Pick(ctx, "local", "cool-1", beijingCallee, at); !ok || n != "+861062345678" {
		t.Fatalf("an hour later: %q %v", n, ok)
	}
	if n, _, _ := c.Pick(ctx, "local", "cool-2", beijingCallee, at.Add(500*time.Millisecond)); n == "+861062345678" {
		t.Fatal("picked a number inside its cooldown")
	}
	c.Unpick("cool-2")
	ps, err := c.Pools(ctx, at.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ps[0].Numbers {
		if n.Usage.LastHour > 2 || n.Usage.Last24h > 3 {
			t.Errorf("%s over its caps: %+v", n.Number, n.Usage)
		}
		if n.Number == "+861062345678" && (n.Area != "Beijing" || n.Region != "CN" || n.Usage.Last24h != 3) {
			t.Errorf("Beijing number: %+v", n)
		}
	}
}

func TestCallerIDRetirement(t *testing.T) {
	ctx := context.Background()
	s := NewStore(db.DB)
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	if _, err := s.CreateCallerIDPool(ctx, CallerIDPool{Name: "flagged", MinAnswerRate: 0.3, MinCalls: 5},
		[]string{"+8613800000001", "+8613800000002"}, crm.PhoneNormalizer{DefaultRegion: "CN"}, t0); err != nil {
		t.Fatal(err)
	}
	c := NewCallerIDs(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	used := map[string]int{}
	for i := range 20 {
		id := fmt.Sprint("r", i)
		n, ok, err := c.Pick(ctx, "flagged", id, "+8613900000000", t0.Add(time.Duration(i)*time.Second))
		if err != nil || !ok {
			t.Fatalf("pick %d: %v %v", i, ok, err)
		}
		used[n]++
		// ...0001 is never answered; ...0002 always.
		c.Done(ctx, "flagged", id, true, n == "+8613800000002", t0)
	}
	if used["+8613800000001"] != 5 {
		t.Errorf("the unanswered number made %d calls, want 5 before retirement", used["+8613800000001"])
	}
	ps, _ := s.CallerIDPools(ctx)
	for _, p := range ps {
		for _, n := range p.Numbers {
			if p.Name == "flagged" && (n.RetiredAt != nil) != (n.Number == "+8613800000001") {
				t.Errorf("%s retired=%v (%s)", n.Number, n.RetiredAt != nil, n.RetiredReason)
			}
		}
	}
}
