package campaigns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/callplane/callplane/crm"
)

func TestImportKeepsFieldsAndRejectsNumbersAlreadyInTheCampaign(t *testing.T) {
	s := NewStore(db.DB)
	ctx := context.Background()
	c, err := s.CreateCampaign(ctx, Campaign{Name: "import", MaxConcurrent: 1, CallsPerSecond: 1, MaxAttempts: 1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	phones := crm.PhoneNormalizer{}
	csv, err := crm.ParseCSV(strings.NewReader("手机号,姓名,备注\n138 0013 8000,张三,下午再打\n13900139000,李四,\n"), phones)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Import(ctx, c.ID, csv, time.Now())
	if err != nil || res.Imported != 2 || len(res.Rejected) != 0 {
		t.Fatalf("first import: %+v %v", res, err)
	}
	js, err := crm.ParseJSON(strings.NewReader(`[{"phone":"13700137000"},{"phone":"+86 139 0013 9000"}]`), phones)
	if err != nil {
		t.Fatal(err)
	}
	res, err = s.Import(ctx, c.ID, js, time.Now())
	if err != nil || res.Imported != 1 || len(res.Rejected) != 1 {
		t.Fatalf("second import: %+v %v", res, err)
	}
	if r := res.Rejected[0]; r.Index == nil || *r.Index != 1 || r.Line != 0 || !strings.Contains(r.Error, "already in this campaign") {
		t.Fatalf("a JSON row is rejected by its index: %+v", r)
	}

	var fields string
	if err := db.Get(&fields, `SELECT c.fields::text FROM contacts c JOIN leads l ON l.contact_id = c.id
		WHERE l.campaign_id = $1 AND l.phone = '+8613800138000'`, c.ID); err != nil {
		t.Fatal(err)
	}
	if fields != `{"备注": "下午再打"}` {
		t.Fatalf("custom fields = %s", fields)
	}
	total, leads, err := s.Leads(ctx, c.ID, 10, 0)
	if err != nil || total != 3 || leads[0].Name != "张三" || leads[0].Status != LeadPending {
		t.Fatalf("leads: %d %+v %v", total, leads, err)
	}
	if _, err := s.Import(ctx, 999999, csv, time.Now()); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("import into a missing campaign: %v", err)
	}
}

func TestCreateCampaignValidates(t *testing.T) {
	s := NewStore(db.DB)
	_, err := s.CreateCampaign(context.Background(), Campaign{DialMode: "predictive", MaxConcurrent: 0, CallsPerSecond: -1}, time.Now())
	ve, ok := err.(*ValidationError)
	if !ok || len(ve.Problems) < 4 {
		t.Fatalf("err = %v, want every problem listed", err)
	}
}

// A column added to a table by a later migration does not break reads of the rows: every
// SELECT names the columns its struct has.
func TestReadsSurviveANewColumn(t *testing.T) {
	s := NewStore(db.DB)
	ctx := context.Background()
	c, err := s.CreateCampaign(ctx, Campaign{Name: "new-column", MaxConcurrent: 1, CallsPerSecond: 1, MaxAttempts: 1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tables := []string{"campaigns", "callbacks", "caller_id_pools", "caller_ids", "agents", "flows", "dnc_entries"}
	for _, tbl := range tables {
		db.MustExec(`ALTER TABLE ` + tbl + ` ADD COLUMN added_later_for_test int`)
	}
	t.Cleanup(func() {
		for _, tbl := range tables {
			db.MustExec(`ALTER TABLE ` + tbl + ` DROP COLUMN added_later_for_test`)
		}
	})
	if _, err := s.Campaign(ctx, c.ID); err != nil {
		t.Errorf("campaign: %v", err)
	}
	if _, err := s.CampaignByName(ctx, c.Name); err != nil {
		t.Errorf("campaign by name: %v", err)
	}
	if _, err := s.Callbacks(ctx, c.ID); err != nil {
		t.Errorf("callbacks: %v", err)
	}
	if _, err := s.CallerIDPools(ctx); err != nil {
		t.Errorf("caller-id pools: %v", err)
	}
	if _, err := s.Agents(ctx); err != nil {
		t.Errorf("agents: %v", err)
	}
	if _, err := s.DNC(ctx, nil, "", 10, 0); err != nil {
		t.Errorf("dnc: %v", err)
	}
	if _, err := s.Flow(ctx, "none"); err != nil && !errors.Is(err, ErrNotFound) {
		t.Errorf("flow: %v", err)
	}
}

// A transaction PostgreSQL aborts for a conflict is run again; other errors are not.
func TestInTxRetriesConflicts(t *testing.T) {
	s := NewStore(db.DB)
	for _, tc := range []struct {
		err       error
		wantRuns  int
		wantError bool
	}{
		{&pq.Error{Code: "40001"}, 3, true}, // always conflicting: bounded
		{&pq.Error{Code: "40P01"}, 3, true},
		{&pq.Error{Code: "23505"}, 1, true}, // a unique violation is an answer, not a conflict
		{errors.New("boom"), 1, true},
	} {
		runs := 0
		err := s.inTx(context.Background(), "test", func(tx *sqlx.Tx) error {
			runs++
			return tc.err
		})
		if runs != tc.wantRuns || (err != nil) != tc.wantError {
			t.Errorf("%v: %d runs, err %v; want %d runs", tc.err, runs, err, tc.wantRuns)
		}
	}
	runs := 0
	err := s.inTx(context.Background(), "test", func(tx *sqlx.Tx) error {
		if runs++; runs < 3 {
			return fmt.Errorf("insert: %w", &pq.Error{Code: "40001"})
		}
		return nil
	})
	if err != nil || runs != 3 {
		t.Errorf("a conflict that clears: %d runs, %v", runs, err)
	}
}

// A flow's version is the one its file says: the same content again is a no-op, other
// content under a published number or an older number is a conflict.
func TestFlowVersionRule(t *testing.T) {
	s := NewStore(db.DB)
	ctx := context.Background()
	flow := func(version int, greeting string) []byte {
		return []byte(fmt.Sprintf("id: versioned\nversion: %d\nstart: a\nnodes:\n  a:\n    kind: play\n    prompt:\n      file: %s\n    next: b\n  b:\n    kind: hangup\n", version, greeting))
	}
	for _, step := range []struct {
		version  int
		greeting string
		want     int // the version returned; 0: a conflict
	}{
		{2, "hello.wav", 2},     // the file's version, not 1
		{2, "hello.wav", 2},     // the same again: nothing new
		{2, "other.wav", 0},     // other content under a published number
		{1, "hello.wav", 0},     // older than the latest
		{5, "other.wav", 5},     // newer: published
		{3, "something.wav", 0}, // a gap below the latest is still older
	} {
		v, _, err := s.PublishFlow(ctx, "versioned", flow(step.version, step.greeting), time.Now())
		switch {
		case step.want == 0 && !errors.Is(err, ErrConflict):
			t.Errorf("version %d %s: %v, want a conflict", step.version, step.greeting, err)
		case step.want != 0 && (err != nil || v.Version != step.want):
			t.Errorf("version %d %s: %v %v, want version %d", step.version, step.greeting, v.Version, err, step.want)
		}
	}
	if latest, _ := s.Flow(ctx, "versioned"); latest.Version != 5 {
		t.Errorf("latest %d, want 5", latest.Version)
	}
}

// A database error out of a transaction says what was being done; the domain's own errors
// come out as they are.
func TestInTxWrapsDatabaseErrors(t *testing.T) {
	s := NewStore(db.DB)
	err := s.inTx(context.Background(), "end attempt x", func(tx *sqlx.Tx) error {
		_, err := tx.Exec(`SELECT * FROM no_such_table`)
		return err
	})
	var pe *pq.Error
	if err == nil || !strings.HasPrefix(err.Error(), "end attempt x: ") || !errors.As(err, &pe) {
		t.Errorf("database error: %v", err)
	}
	domain := fmt.Errorf("campaign 3: %w", ErrNotFound)
	if err := s.inTx(context.Background(), "x", func(*sqlx.Tx) error { return domain }); err != domain {
		t.Errorf("domain error: %v", err)
	}
}
