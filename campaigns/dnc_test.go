package campaigns

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestDoNotCallNumbersAreSkippedWithAReason(t *testing.T) {
	s := NewStore(db.DB)
	ctx := context.Background()
	node := newScriptNode()
	nums := phones("1397", 5)
	c := newCampaign(t, s, Campaign{MaxConcurrent: 5, CallsPerSecond: 100, MaxAttempts: 1}, nums...)
	other := newCampaign(t, s, Campaign{Name: "other", MaxConcurrent: 1, CallsPerSecond: 1, MaxAttempts: 1})
	past := time.Now().Add(-time.Hour)
	if _, err := s.AddDNC(ctx, []DNCEntry{
		{Phone: nums[0], Source: "complaint"},                  // global
		{Phone: nums[1], CampaignID: &c.ID, Source: "ivr"},     // this campaign
		{Phone: nums[2], CampaignID: &other.ID, Source: "api"}, // another campaign: no effect here
		{Phone: nums[3], ExpiresAt: &past, Source: "expired"},  // expired: no effect
	}, time.Now()); err != nil {
		t.Fatal(err)
	}
	startController(t, "ctl-a", node, Config{})
	s.Act(ctx, c.ID, "start", time.Now())
	st := waitState(t, s, c.ID, StateCompleted)
	if st.Attempts != 3 || st.CompletedContacts != 5 {
		t.Fatalf("stats %+v: want 3 dialed, 2 skipped, all final", st)
	}
	for i, want := range []string{"dnc:global", "dnc:campaign", "", "", ""} {
		if n := node.originates(nums[i]); (n == 0) != (want != "") {
			t.Errorf("%s: originated %d times (dnc reason %q)", nums[i], n, want)
		}
		_, leads, _ := s.Leads(ctx, c.ID, 10, i)
		ds, err := s.Decisions(ctx, leads[0].ID)
		if err != nil || len(ds) != 1 {
			t.Fatalf("%s: decisions %+v %v", nums[i], ds, err)
		}
		if want != "" && (ds[0].Action != "skip" || ds[0].Reason != want || leads[0].Status != LeadDNC) {
			t.Errorf("%s: decision %+v, lead %+v; want skip %s", nums[i], ds[0], leads[0], want)
		}
		if want == "" && (ds[0].Action != "dial" || ds[0].CallID == nil) {
			t.Errorf("%s: decision %+v, want a dial with its call id", nums[i], ds[0])
		}
	}
}

func TestDoNotCallCheckedAgainBeforeOriginate(t *testing.T) {
	s := NewStore(db.DB)
	ctx := context.Background()
	nums := phones("1398", 1)
	c := newCampaign(t, s, Campaign{MaxConcurrent: 1, CallsPerSecond: 1, MaxAttempts: 2}, nums...)
	leases, err := s.LeaseLeads(ctx, c.ID, 1, "probe", time.Now())
	if err != nil || len(leases) != 1 {
		t.Fatalf("lease: %v %v", leases, err)
	}
	if r, _ := s.CheckDNC(ctx, c.ID, nums[0], time.Now()); r != "" {
		t.Fatalf("not on a list yet, reason %q", r)
	}
	// The number is put on the list between the lease and the originate.
	if _, err := s.AddDNC(ctx, []DNCEntry{{Phone: nums[0], Source: "agent"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	r, err := s.CheckDNC(ctx, c.ID, nums[0], time.Now())
	if err != nil || r != "dnc:global" {
		t.Fatalf("CheckDNC = %q, %v", r, err)
	}
	if err := s.SkipLeased(ctx, leases[0].CallID, r, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, leads, _ := s.Leads(ctx, c.ID, 1, 0)
	ds, _ := s.Decisions(ctx, leads[0].ID)
	if leads[0].Status != LeadDNC || leads[0].Attempts != 0 || len(ds) != 1 || ds[0].Action != "skip" ||
		!strings.HasPrefix(ds[0].Reason, "dnc:global") {
		t.Fatalf("lead %+v decisions %+v", leads[0], ds)
	}
	st, _ := s.Stats(ctx, c.ID)
	if st.Attempts != 0 {
		t.Fatalf("a skipped lease left an attempt: %+v", st)
	}
}
