package campaigns

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/callplane/callplane/crm"
	"github.com/callplane/callplane/media"
)

// Store is the campaigns package's SQL access.
type Store struct {
	db *sqlx.DB
}

// NewStore wraps a database handle.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

const notifyChannel = "callplane_campaigns"

// CreateCampaign validates and stores a new campaign in the draft state.
func (s *Store) CreateCampaign(ctx context.Context, c Campaign, now time.Time) (Campaign, error) {
	if err := c.Normalize(); err != nil {
		return Campaign{}, err
	}
	c.State, c.CreatedAt, c.UpdatedAt = StateDraft, now, now
	err := s.db.GetContext(ctx, &c.ID, `
		INSERT INTO campaigns (name, dial_mode, state, max_concurrent, calls_per_second, max_attempts,
			retry_after_seconds, ring_timeout_seconds, media_pool, prompt, caller_id, created_at, updated_at, retry_rules,
			rule_pack, time_zone, schedule, abandon_after_ms, abandon_target, abandon_hard_cap, abandon_prompt, caller_id_pool, flow)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) RETURNING id`,
		c.Name, c.DialMode, c.State, c.MaxConcurrent, c.CallsPerSecond, c.MaxAttempts,
		c.RetryAfterSeconds, c.RingTimeoutSeconds, c.MediaPool, c.Prompt, c.CallerID, now, c.RetryRules,
		c.RulePack, c.TimeZone, string(c.Schedule), c.AbandonAfterMs, c.AbandonTarget, c.AbandonHardCap, c.AbandonPrompt, c.CallerIDPool, c.Flow)
	if err != nil {
		return Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	return c, nil
}

// Campaign loads one campaign.
func (s *Store) Campaign(ctx context.Context, id int64) (Campaign, error) {
	var c Campaign
	err := s.db.GetContext(ctx, &c, `SELECT `+columnsOf[Campaign]()+` FROM campaigns WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("campaign %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("campaign %d: %w", id, err)
	}
	return c, nil
}

// RunningCampaigns lists the campaigns in the running state.
func (s *Store) RunningCampaigns(ctx context.Context) ([]Campaign, error) {
	var cs []Campaign
	if err := s.db.SelectContext(ctx, &cs, `SELECT `+columnsOf[Campaign]()+` FROM campaigns WHERE state = 'running' ORDER BY id`); err != nil {
		return nil, fmt.Errorf("running campaigns: %w", err)
	}
	return cs, nil
}

// Act applies start, pause or stop and wakes the dialers.
func (s *Store) Act(ctx context.Context, id int64, action string, now time.Time) (Campaign, error) {
	var out Campaign
	err := s.inTx(ctx, fmt.Sprintf("%s campaign %d", action, id), func(tx *sqlx.Tx) error {
		var c Campaign
		err := tx.GetContext(ctx, &c, `SELECT `+columnsOf[Campaign]()+` FROM campaigns WHERE id = $1 FOR UPDATE`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("campaign %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		to, err := transition(c.State, action)
		if err != nil {
			return err
		}
		if to != c.State {
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = $2, updated_at = $3 WHERE id = $1`, id, to, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, fmt.Sprint(id)); err != nil {
				return err
			}
			c.State, c.UpdatedAt = to, now
		}
		out = c
		return nil
	})
	return out, err
}

// ImportResult reports what an import stored and what it refused.
type ImportResult struct {
	Imported int            `json:"imported"`
	Rejected []crm.RowError `json:"rejected"`
}

// Import adds parsed rows to a campaign's list. Numbers already in the campaign are
// rejected with the row's line (or index); the others are stored in one transaction.
func (s *Store) Import(ctx context.Context, campaignID int64, parsed crm.ImportResult, now time.Time) (ImportResult, error) {
	res := ImportResult{Rejected: parsed.Rejected}
	err := s.inTx(ctx, fmt.Sprintf("import into campaign %d", campaignID), func(tx *sqlx.Tx) error {
		res.Imported = 0
		res.Rejected = parsed.Rejected
		var state string
		err := tx.GetContext(ctx, &state, `SELECT state FROM campaigns WHERE id = $1 FOR UPDATE`, campaignID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("campaign %d: %w", campaignID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if state == StateCompleted {
			// Adding leads reopens it: the engine picks them up once it is started again.
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = 'stopped', updated_at = $2 WHERE id = $1`, campaignID, now); err != nil {
				return err
			}
		}
		phones := make([]string, len(parsed.Rows))
		for i, r := range parsed.Rows {
			phones[i] = r.Phone
		}
		var existing []string
		if err := tx.SelectContext(ctx, &existing, `SELECT phone FROM leads WHERE campaign_id = $1 AND phone = ANY($2)`,
			campaignID, pq.Array(phones)); err != nil {
			return err
		}
		have := make(map[string]bool, len(existing))
		for _, p := range existing {
			have[p] = true
		}
		var fresh []crm.ImportRow
		for _, r := range parsed.Rows {
			if have[r.Phone] {
				res.Rejected = append(res.Rejected, r.Reject("duplicate: "+r.Phone+" is already in this campaign"))
				continue
			}
			fresh = append(fresh, r)
		}
		contacts := make([]crm.NewContact, len(fresh))
		for i, r := range fresh {
			contacts[i] = crm.NewContact{Phone: r.Phone, Name: r.Name, Fields: r.Fields}
		}
		ids, err := crm.InsertContacts(ctx, tx, contacts, now)
		if err != nil {
			return err
		}
		lines := make([]int64, len(fresh))
		zones := make([]string, len(fresh))
		for i, r := range fresh {
			lines[i] = int64(r.Line)
			zones[i] = ZoneKey(r)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO leads (campaign_id, contact_id, phone, import_line, zone_key, next_attempt_at, updated_at)
			SELECT $1, c, p, nullif(l, 0), z, $6, $6 FROM unnest($2::bigint[], $3::text[], $4::int[], $5::text[]) AS t(c, p, l, z)`,
			campaignID, pq.Array(ids), pq.Array(phonesOf(fresh)), pq.Array(lines), pq.Array(zones), now); err != nil {
			return fmt.Errorf("insert leads: %w", err)
		}
		res.Imported = len(fresh)
		return nil
	})
	return res, err
}

func phonesOf(rows []crm.ImportRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Phone
	}
	return out
}

// Stats summarizes a campaign. attempts = sum(outcomes) + in_progress.
type Stats struct {
	State             string         `json:"state"`
	Contacts          int            `json:"contacts"`
	Attempts          int            `json:"attempts"`
	InProgress        int            `json:"in_progress"`
	CompletedContacts int            `json:"completed_contacts"`
	Outcomes          map[string]int `json:"outcomes"`
}

// Stats counts a campaign's leads, attempts and outcomes.
func (s *Store) Stats(ctx context.Context, id int64) (Stats, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{State: c.State, Outcomes: map[string]int{}}
	for _, o := range []media.Outcome{media.OutcomeAnswered, media.OutcomeNoAnswer, media.OutcomeBusy, media.OutcomeFailed} {
		st.Outcomes[string(o)] = 0
	}
	err = s.db.QueryRowxContext(ctx, `
		SELECT count(*), count(*) FILTER (WHERE status NOT IN ('pending', 'dialing'))
		FROM leads WHERE campaign_id = $1`, id).Scan(&st.Contacts, &st.CompletedContacts)
	if err != nil {
		return st, fmt.Errorf("stats %d: %w", id, err)
	}
	rows, err := s.db.QueryxContext(ctx, `
		SELECT coalesce(outcome, ''), count(*) FROM attempts WHERE campaign_id = $1 GROUP BY 1`, id)
	if err != nil {
		return st, fmt.Errorf("stats %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var o string
		var n int
		if err := rows.Scan(&o, &n); err != nil {
			return st, fmt.Errorf("stats %d: %w", id, err)
		}
		st.Attempts += n
		if o == "" {
			st.InProgress = n
		} else {
			st.Outcomes[o] = n
		}
	}
	return st, rows.Err()
}

// LeadView is one lead as the API lists it.
type LeadView struct {
	ID          int64   `db:"id" json:"id"`
	ContactID   int64   `db:"contact_id" json:"contact_id"`
	Phone       string  `db:"phone" json:"phone"`
	Name        string  `db:"name" json:"name"`
	Status      string  `db:"status" json:"status"`
	Attempts    int     `db:"attempts" json:"attempts"`
	LastOutcome *string `db:"last_outcome" json:"last_outcome"`
}

// Leads pages through a campaign's leads in import order.
func (s *Store) Leads(ctx context.Context, id int64, limit, offset int) (int, []LeadView, error) {
	if _, err := s.Campaign(ctx, id); err != nil {
		return 0, nil, err
	}
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM leads WHERE campaign_id = $1`, id); err != nil {
		return 0, nil, err
	}
	out := []LeadView{}
	err := s.db.SelectContext(ctx, &out, `
		SELECT l.id, l.contact_id, l.phone, c.name, l.status, l.attempts, l.last_outcome
		FROM leads l JOIN contacts c ON c.id = l.contact_id
		WHERE l.campaign_id = $1 ORDER BY l.id LIMIT $2 OFFSET $3`, id, limit, offset)
	return total, out, err
}

// Lease is a lead taken for one attempt; its attempt row exists (state dialing).
type Lease struct {
	LeadID    int64  `db:"id"`
	ContactID int64  `db:"contact_id"`
	Phone     string `db:"phone"`
	AttemptNo int    `db:"attempts"`
	CallID    string `db:"-"`
}

// LeaseLeads takes up to n due leads of a campaign and writes an attempt row and a dial
// decision for each, in one transaction: after it commits, each lease may be dialed
// exactly once. Numbers on a live call in any campaign wait; numbers on a do-not-call
// list that applies become final (status dnc) with a skip decision.
func (s *Store) LeaseLeads(ctx context.Context, campaignID int64, n int, owner string, now time.Time) ([]Lease, error) {
	return s.leaseLeads(ctx, campaignID, n, owner, now, nil)
}

// leaseLeads is LeaseLeads skipping the leads of the zone keys closed now.
func (s *Store) leaseLeads(ctx context.Context, campaignID int64, n int, owner string, now time.Time, closed []string) ([]Lease, error) {
	if closed == nil {
		closed = []string{} // pq sends a nil slice as NULL, and "= ANY(NULL)" filters every lead out
	}
	var leases []Lease
	err := s.inTx(ctx, fmt.Sprintf("lease leads of campaign %d", campaignID), func(tx *sqlx.Tx) error {
		leases = leases[:0]
		err := tx.SelectContext(ctx, &leases, `
			WITH due AS (
				SELECT l.id, l.phone FROM leads l
				WHERE l.campaign_id = $1 AND l.status = 'pending' AND l.next_attempt_at <= $2
				  AND l.attempts < (SELECT max_attempts FROM campaigns WHERE id = $1)
				  -- An abandoned person is called again within 72 h only with an agent
				  -- reserved first: in preview mode.
				  AND (l.agent_only_until IS NULL OR l.agent_only_until <= $2
				       OR (SELECT dial_mode FROM campaigns WHERE id = $1) = 'preview')
				  -- A lead with a callback waits for it (LeaseCallbacks).
				  AND NOT EXISTS (SELECT 1 FROM callbacks cb WHERE cb.lead_id = l.id AND cb.state <> 'done')
				  AND NOT (l.zone_key = ANY($5))
				  AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.phone = l.phone AND a.state = 'dialing')
				ORDER BY l.next_attempt_at, l.id
				LIMIT $3
				FOR UPDATE OF l SKIP LOCKED),
			checked AS (
				SELECT due.id, `+fmt.Sprintf(dncReason, "due.phone", "$1", "$2")+` AS dnc FROM due),
			skipped AS (
				UPDATE leads l SET status = 'dnc', last_outcome = c.dnc, lease_owner = NULL, updated_at = $2
				FROM checked c WHERE l.id = c.id AND c.dnc IS NOT NULL
				RETURNING l.id, l.last_outcome),
			logged AS (
				INSERT INTO decisions (campaign_id, lead_id, at, action, reason)
				SELECT $1, id, $2, 'skip', last_outcome FROM skipped)
			UPDATE leads l SET status = 'dialing', attempts = l.attempts + 1, lease_owner = $4, updated_at = $2
			FROM checked c WHERE l.id = c.id AND c.dnc IS NULL
			RETURNING l.id, l.contact_id, l.phone, l.attempts`, campaignID, now, n, owner, pq.Array(closed))
		if err != nil {
			return err
		}
		for i := range leases {
			leases[i].CallID = uuid.NewString()
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO attempts (call_id, campaign_id, lead_id, phone, attempt_no, controller, started_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				leases[i].CallID, campaignID, leases[i].LeadID, leases[i].Phone, leases[i].AttemptNo, owner, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO decisions (campaign_id, lead_id, at, action, reason, call_id) VALUES ($1, $2, $3, 'dial', $4, $5)`,
				campaignID, leases[i].LeadID, now, fmt.Sprintf("dial attempt=%d", leases[i].AttemptNo), leases[i].CallID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lease leads of campaign %d: %w", campaignID, err)
	}
	return leases, nil
}

// Unlease undoes a lease whose call was certainly never sent to any node: the attempt row
// is removed and the lead is due again at once, its attempt count restored.
func (s *Store) Unlease(ctx context.Context, callID string, now time.Time) error {
	return s.DeferLeased(ctx, callID, now, "", now)
}

// DeferLeased undoes a lease like Unlease, but the lead is due only at until, and the skip
// is logged with reason when one is given (an agent skipped it in preview).
func (s *Store) DeferLeased(ctx context.Context, callID string, until time.Time, reason string, now time.Time) error {
	return s.inTx(ctx, "defer call "+callID, func(tx *sqlx.Tx) error {
		var a struct {
			LeadID     int64 `db:"lead_id"`
			CampaignID int64 `db:"campaign_id"`
		}
		err := tx.GetContext(ctx, &a, `DELETE FROM attempts WHERE call_id = $1 AND state = 'dialing' RETURNING lead_id, campaign_id`, callID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM decisions WHERE call_id = $1`, callID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE callbacks SET state = 'scheduled', call_id = NULL WHERE call_id = $1`, callID); err != nil {
			return err
		}
		if reason != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO decisions (campaign_id, lead_id, at, action, reason) VALUES ($1, $2, $3, 'skip', $4)`,
				a.CampaignID, a.LeadID, now, reason); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE leads SET status = 'pending', attempts = attempts - 1, lease_owner = NULL,
			next_attempt_at = greatest(next_attempt_at, $3), updated_at = $2
			WHERE id = $1 AND status = 'dialing'`, a.LeadID, now, until)
		return err
	})
}

// SetAttemptRoute records which node, trunk and caller id took the call.
func (s *Store) SetAttemptRoute(ctx context.Context, callID, node, trunk, callerID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE attempts SET node = $2, trunk = $3, caller_id = $4 WHERE call_id = $1`,
		callID, node, trunk, callerID)
	if err != nil {
		return fmt.Errorf("route of call %s: %w", callID, err)
	}
	return nil
}

// Result is how an attempt ended.
type Result struct {
	Outcome    media.Outcome
	Cause      string
	SIPCode    int
	AnsweredAt *time.Time
	Talk       time.Duration
	// AbandonedAt is set when the person who answered had no agent in time: the call goes
	// to the abandon ledger and the lead is due again, agent-only for 72 h.
	AbandonedAt *time.Time
	// TrunkFailed: the call failed on its trunk, not at the callee. The attempt is not
	// charged and the lead is due again at once (at most maxUncharged times).
	TrunkFailed bool
}

// maxUncharged bounds the trunk failures a lead is not charged for: a number whose own
// network answers like a failing gateway is charged from then on.
const maxUncharged = 3

// abandonQuarantine is how long an abandoned person is not called without an agent
// reserved first.
const abandonQuarantine = 72 * time.Hour

// EndAttempt closes an attempt and moves its lead on: answered and invalid numbers are
// final; max_attempts reached, or maxOutcome (when > 0) attempts ended with this outcome,
// is exhausted; anything else is due again after retryAfter. It is idempotent: an
// attempt already ended is left as it is.
func (s *Store) EndAttempt(ctx context.Context, callID string, r Result, retryAfter time.Duration, maxOutcome int, now time.Time) error {
	return s.inTx(ctx, "end attempt "+callID, func(tx *sqlx.Tx) error {
		var leadID int64
		err := tx.GetContext(ctx, &leadID, `
			UPDATE attempts SET state = 'ended', outcome = $2, cause = $3, sip_code = nullif($4, 0),
				answered_at = $5, ended_at = $6, talk_ms = $7, abandoned = $8
			WHERE call_id = $1 AND state = 'dialing' RETURNING lead_id`,
			callID, string(r.Outcome), r.Cause, r.SIPCode, r.AnsweredAt, now, r.Talk.Milliseconds(), r.AbandonedAt != nil)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE callbacks SET state = 'done' WHERE call_id = $1`, callID); err != nil {
			return err
		}
		if r.TrunkFailed {
			var uncharged bool
			err := tx.GetContext(ctx, &uncharged, `
				UPDATE attempts SET charged = false WHERE call_id = $1
				  AND (SELECT count(*) FROM attempts WHERE lead_id = $2 AND NOT charged) < $3
				RETURNING true`, callID, leadID, maxUncharged)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if uncharged {
				if _, err := tx.ExecContext(ctx, `
					INSERT INTO decisions (campaign_id, lead_id, at, action, reason, call_id)
					SELECT campaign_id, lead_id, $2, 'skip', 'trunk:' || trunk || ' failed cause=' || cause || ': placed again, not charged', call_id
					FROM attempts WHERE call_id = $1`, callID, now); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE callbacks SET state = 'scheduled', call_id = NULL WHERE call_id = $1`, callID); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `UPDATE leads SET status = 'pending', attempts = attempts - 1,
					next_attempt_at = $2, lease_owner = NULL, updated_at = $2 WHERE id = $1`, leadID, now)
				return err
			}
		}
		if a := r.AbandonedAt; a != nil {
			answered := *a
			if r.AnsweredAt != nil {
				answered = *r.AnsweredAt
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO abandons (campaign_id, lead_id, call_id, phone, answered_at, abandoned_at, node)
				SELECT campaign_id, lead_id, call_id, phone, $2, $3, coalesce(node, '') FROM attempts WHERE call_id = $1
				ON CONFLICT (call_id) DO NOTHING`, callID, answered, *a); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `
				UPDATE leads l SET
					status = CASE WHEN l.attempts >= c.max_attempts THEN 'exhausted' ELSE 'pending' END,
					last_outcome = 'abandoned', next_attempt_at = $2, agent_only_until = $3,
					lease_owner = NULL, updated_at = $4
				FROM campaigns c WHERE l.id = $1 AND c.id = l.campaign_id`,
				leadID, now.Add(retryAfter), a.Add(abandonQuarantine), now)
			return err
		}
		final := ""
		switch {
		case r.Outcome == media.OutcomeAnswered:
			final = LeadAnswered
		case r.Outcome == media.OutcomeInvalidNumber:
			final = LeadInvalid
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE leads l SET
				status = CASE WHEN $2 <> '' THEN $2
				              WHEN l.attempts >= c.max_attempts THEN 'exhausted'
				              WHEN $6 > 0 AND (SELECT count(*) FROM attempts a
				                               WHERE a.lead_id = l.id AND a.outcome = $3) >= $6 THEN 'exhausted'
				              ELSE 'pending' END,
				last_outcome = $3, next_attempt_at = $4, lease_owner = NULL, updated_at = $5
			FROM campaigns c WHERE l.id = $1 AND c.id = l.campaign_id`,
			leadID, final, string(r.Outcome), now.Add(retryAfter), now, maxOutcome)
		return err
	})
}

// OpenAttempt is an attempt still in the dialing state.
type OpenAttempt struct {
	CallID    string    `db:"call_id"`
	LeadID    int64     `db:"lead_id"`
	Node      *string   `db:"node"`
	StartedAt time.Time `db:"started_at"`
}

// OpenAttempts lists a campaign's attempts in the dialing state.
func (s *Store) OpenAttempts(ctx context.Context, campaignID int64) ([]OpenAttempt, error) {
	var out []OpenAttempt
	err := s.db.SelectContext(ctx, &out, `SELECT call_id, lead_id, node, started_at FROM attempts
		WHERE campaign_id = $1 AND state = 'dialing' ORDER BY id`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("open attempts of campaign %d: %w", campaignID, err)
	}
	return out, nil
}

// CompleteIfDone marks a running campaign completed when none of its leads is open.
func (s *Store) CompleteIfDone(ctx context.Context, id int64, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `
		UPDATE campaigns SET state = 'completed', updated_at = $2
		WHERE id = $1 AND state = 'running'
		  AND NOT EXISTS (SELECT 1 FROM leads WHERE campaign_id = $1 AND status IN ('pending', 'dialing'))
		  AND NOT EXISTS (SELECT 1 FROM callbacks WHERE campaign_id = $1 AND state <> 'done')`, id, now)
	if err != nil {
		return false, fmt.Errorf("complete campaign %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// inTx runs fn in a transaction; a run that PostgreSQL aborts for a serialization failure
// or a deadlock is run again (at most maxTxTries in all), so fn must be safe to repeat.
//
// what names the work for the error; the domain's own errors (validation, not found,
// conflict) are returned as they are, since they already say what is wrong.
func (s *Store) inTx(ctx context.Context, what string, fn func(*sqlx.Tx) error) error {
	for try := 1; ; try++ {
		err := s.tryTx(ctx, fn)
		switch {
		case err == nil:
			return nil
		case txConflict(err) && try < maxTxTries:
			continue
		case isDomainError(err):
			return err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
}

// isDomainError reports the errors the API answers with 4xx: they carry their own message.
func isDomainError(err error) bool {
	var ve *ValidationError
	var fe *FlowError
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.As(err, &ve) || errors.As(err, &fe)
}

// maxTxTries bounds the runs of a transaction that PostgreSQL aborted for a conflict.
const maxTxTries = 3

func (s *Store) tryTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// txConflict reports a serialization failure or a deadlock: PostgreSQL rolled the
// transaction back, and running it again may succeed.
func txConflict(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// CampaignByName finds a campaign by its exact name (the oldest when several share it).
func (s *Store) CampaignByName(ctx context.Context, name string) (Campaign, error) {
	var c Campaign
	err := s.db.GetContext(ctx, &c, `SELECT `+columnsOf[Campaign]()+` FROM campaigns WHERE name = $1 ORDER BY id LIMIT 1`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("campaign %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("campaign %q: %w", name, err)
	}
	return c, nil
}

// CampaignPatch is a change to a campaign's rules; nil fields stay as they are.
type CampaignPatch struct {
	MaxConcurrent  *int             `json:"max_concurrent"`
	CallsPerSecond *float64         `json:"calls_per_second"`
	RetryRules     *RetryRules      `json:"retry_rules"`
	RulePack       *string          `json:"rule_pack"`
	TimeZone       *string          `json:"time_zone"`
	Schedule       *json.RawMessage `json:"schedule"`
	Flow           *string          `json:"flow"`
	CallerIDPool   *string          `json:"caller_id_pool"`
	Prompt         *string          `json:"prompt"`
	AbandonPrompt  *string          `json:"abandon_prompt"`
}

// UpdateCampaign applies a patch, validated as a new campaign is (check adds the
// checks of the caller: rule packs, pools, flows); a running engine picks it up at its next
// recheck.
func (s *Store) UpdateCampaign(ctx context.Context, id int64, p CampaignPatch, check func(*Campaign) []string, now time.Time) (Campaign, error) {
	var c Campaign
	err := s.inTx(ctx, fmt.Sprintf("update campaign %d", id), func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &c, `SELECT `+columnsOf[Campaign]()+` FROM campaigns WHERE id = $1 FOR UPDATE`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("campaign %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if p.MaxConcurrent != nil {
			c.MaxConcurrent = *p.MaxConcurrent
		}
		if p.CallsPerSecond != nil {
			c.CallsPerSecond = *p.CallsPerSecond
		}
		if p.RetryRules != nil {
			c.RetryRules = *p.RetryRules
		}
		if p.RulePack != nil {
			c.RulePack = *p.RulePack
		}
		if p.TimeZone != nil {
			c.TimeZone = *p.TimeZone
		}
		if p.Schedule != nil {
			c.Schedule = *p.Schedule
		}
		if p.Flow != nil {
			c.Flow = *p.Flow
		}
		if p.CallerIDPool != nil {
			c.CallerIDPool = *p.CallerIDPool
		}
		if p.Prompt != nil {
			c.Prompt = *p.Prompt
		}
		if p.AbandonPrompt != nil {
			c.AbandonPrompt = *p.AbandonPrompt
		}
		if err := c.Normalize(); err != nil {
			return err
		}
		if probs := check(&c); len(probs) > 0 {
			return &ValidationError{Problems: probs}
		}
		c.UpdatedAt = now
		_, err = tx.ExecContext(ctx, `UPDATE campaigns SET max_concurrent = $2, calls_per_second = $3, retry_rules = $4,
			rule_pack = $5, time_zone = $6, schedule = $7, flow = $8, caller_id_pool = $9, prompt = $10, abandon_prompt = $11,
			updated_at = $12 WHERE id = $1`, id, c.MaxConcurrent, c.CallsPerSecond, c.RetryRules, c.RulePack, c.TimeZone,
			string(c.Schedule), c.Flow, c.CallerIDPool, c.Prompt, c.AbandonPrompt, now)
		return err
	})
	if err != nil {
		return Campaign{}, err
	}
	return c, nil
}

var columnLists sync.Map // reflect.Type -> string

// columnsOf lists the db columns of struct T, quoted, for a SELECT that names what it reads:
// a column added to the table later does not break the read (sqlx refuses columns that
// have no field), and a field without a column fails at once.
func columnsOf[T any]() string {
	t := reflect.TypeFor[T]()
	if s, ok := columnLists.Load(t); ok {
		return s.(string)
	}
	var cols []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("db"), ","); name != "" && name != "-" && f.IsExported() {
			cols = append(cols, `"`+name+`"`)
		}
	}
	s := strings.Join(cols, ", ")
	columnLists.Store(t, s)
	return s
}
