package campaigns

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/media"
)

// An abandoned person is written to the ledger, stays out of progressive and predictive
// hoppers for 72 h, is reachable by preview (an agent reserved first) at once, and the
// ledger refuses to be rewritten.
func TestAbandonLedgerAndQuarantine(t *testing.T) {
	ctx := context.Background()
	s := NewStore(db.DB)
	for i, mode := range []string{ModePredictive, ModeProgressive, ModePreview} {
		t.Run(mode, func(t *testing.T) {
			c := newCampaign(t, s, Campaign{Name: t.Name(), DialMode: mode, MaxConcurrent: 5, CallsPerSecond: 10,
				MaxAttempts: 5, RetryAfterSeconds: 60}, phones(fmt.Sprintf("13912%d", i), 2)...)
			t0 := time.Now().Add(time.Minute)
			ls, err := s.LeaseLeads(ctx, c.ID, 2, "t", t0)
			if err != nil || len(ls) != 2 {
				t.Fatalf("lease: %d %v", len(ls), err)
			}
			answered, abandoned := t0.Add(10*time.Second), t0.Add(12*time.Second)
			if err := s.EndAttempt(ctx, ls[0].CallID, Result{Outcome: media.OutcomeAnswered, AnsweredAt: &answered,
				AbandonedAt: &abandoned}, time.Minute, 0, abandoned.Add(5*time.Second)); err != nil {
				t.Fatal(err)
			}
			if err := s.EndAttempt(ctx, ls[1].CallID, Result{Outcome: media.OutcomeNoAnswer}, time.Minute, 0, abandoned); err != nil {
				t.Fatal(err)
			}
			rep, err := s.Abandons(ctx, c.ID, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Last24h.Answered != 1 || rep.Last24h.Abandoned != 1 || rep.Last24h.Rate != 1 ||
				len(rep.Recent) != 1 || rep.Recent[0].CallID != ls[0].CallID || !rep.Recent[0].AbandonedAt.Equal(abandoned.Round(time.Microsecond)) {
				t.Fatalf("ledger: %+v", rep)
			}
			if rep.Worst24h.Abandoned != 1 || rep.WindowsOver == 0 {
				t.Errorf("worst 24 h window: %+v over %d of %d", rep.Worst24h, rep.WindowsOver, rep.Windows)
			}
			// An hour later both leads are due; the abandoned one only in preview.
			later := t0.Add(time.Hour)
			got, err := s.LeaseLeads(ctx, c.ID, 2, "t", later)
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if mode == ModePreview {
				want = 2
			}
			if len(got) != want {
				t.Fatalf("%s leased %d leads an hour after the abandon, want %d", mode, len(got), want)
			}
			for _, l := range got {
				s.Unlease(ctx, l.CallID, later)
			}
			if mode != ModePreview {
				got, err := s.LeaseLeads(ctx, c.ID, 2, "t", abandoned.Add(72*time.Hour+time.Second))
				if err != nil || len(got) != 2 {
					t.Fatalf("after 72 h: leased %d (err %v), want 2", len(got), err)
				}
			}
			_, err = db.ExecContext(ctx, `UPDATE abandons SET abandoned_at = now() WHERE campaign_id = $1`, c.ID)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("rewriting the ledger: %v", err)
			}
			_, err = db.ExecContext(ctx, `DELETE FROM abandons WHERE campaign_id = $1`, c.ID)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("deleting from the ledger: %v", err)
			}
		})
	}
}
