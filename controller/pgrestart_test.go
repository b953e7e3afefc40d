package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/schema/localpg"
)

// TestPostgresRestartMidCampaign stops PostgreSQL (a cluster of this test's own) while a
// campaign is dialing and starts it again: the dialer rides it out, no outcome is lost,
// no number is dialed more often than its attempts record, and the campaign completes.
func TestPostgresRestartMidCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster of its own")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg")
	cluster, err := localpg.Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last in, first out: the daemon stops before its database and node.
	t.Cleanup(func() { cluster.Stop(context.Background()) })

	fs := startFS(t, esltest.Options{Model: fastModel(0.4), Seed: 9})
	c := startAppOn(t, cluster.URL("postgres"), NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(),
		Password: "ClueCon", DialTemplate: "sofia/gateway/x/{number}", MaxCalls: 10, Pools: []string{"default"}, Weight: 1})

	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "pg restart", "max_concurrent": 10,
		"calls_per_second": 30, "max_attempts": 3, "retry_after_seconds": 0, "ring_timeout_seconds": 1}, &camp)
	body, _ := csvWithBadRows(200)
	c.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), "text/csv", body, nil)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)
	deadline := time.Now().Add(time.Minute)
	for fs.Stats().TotalOriginates < 40 {
		if time.Now().After(deadline) {
			t.Fatal("the campaign never got going")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Calls in flight end while the database is down; their outcomes must wait, not vanish.
	stoppedAt := fs.Stats().TotalOriginates
	for fs.Stats().ActiveCalls > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := localpg.Start(ctx, dir); err != nil {
		t.Fatal(err)
	}
	st := c.waitCompleted(camp.ID)
	sum := 0
	for _, n := range st.Outcomes {
		sum += n
	}
	if sum != st.Attempts || st.InProgress != 0 || st.CompletedContacts != 200 {
		t.Fatalf("stats after the restart: %+v", st)
	}
	var list contactsResp
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/contacts?limit=1000", camp.ID), nil, &list)
	orig := fs.Stats().Originates
	for _, ct := range list.Contacts {
		if n := orig[strings.TrimPrefix(ct.Phone, "+")]; n != ct.Attempts || n > 3 {
			t.Errorf("%s: %d originates, %d attempts recorded", ct.Phone, n, ct.Attempts)
		}
	}
	t.Logf("database stopped after %d originates; final %+v", stoppedAt, st)
}
