package schema_test

import (
	"context"
	"os"
	"testing"

	"github.com/callplane/callplane/schema"
	"github.com/callplane/callplane/schema/schematest"
)

var db schematest.DB

func TestMain(m *testing.M) { os.Exit(schematest.Main(m, &db)) }

func TestMigrateIsIdempotent(t *testing.T) {
	if err := schema.Migrate(context.Background(), db.DB.DB); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM information_schema.tables WHERE table_name IN ('contacts','campaigns','leads','attempts')`); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("found %d of 4 tables", n)
	}
}

func TestOneLiveCallPerNumber(t *testing.T) {
	schematest.Truncate(t, db.DB, "contacts", "campaigns")
	mustExec(t, `INSERT INTO contacts (phone, created_at) VALUES ('+8613800138000', now())`)
	for i := 0; i < 2; i++ {
		mustExec(t, `INSERT INTO campaigns (name, dial_mode, max_concurrent, calls_per_second, max_attempts, retry_after_seconds, created_at, updated_at)
			VALUES ('c', 'broadcast', 1, 1, 1, 0, now(), now())`)
		mustExec(t, `INSERT INTO leads (campaign_id, contact_id, phone, next_attempt_at, updated_at) VALUES ($1, 1, '+8613800138000', now(), now())`, i+1)
	}
	ins := `INSERT INTO attempts (call_id, campaign_id, lead_id, phone, attempt_no, controller, started_at)
		VALUES (gen_random_uuid(), $1, $1, '+8613800138000', 1, 'test', now())`
	mustExec(t, ins, 1)
	if _, err := db.Exec(ins, 2); err == nil {
		t.Fatal("a second live call to the same number, from another campaign, was accepted")
	}
	mustExec(t, `UPDATE attempts SET state = 'ended', outcome = 'busy'`)
	mustExec(t, ins, 2)
}

func mustExec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
