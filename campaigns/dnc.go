package campaigns

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// DNCEntry is one do-not-call number: on the global list (CampaignID nil) or on one
// campaign's list.
type DNCEntry struct {
	ID         int64      `db:"id" json:"id"`
	CampaignID *int64     `db:"campaign_id" json:"campaign_id"`
	Phone      string     `db:"phone" json:"phone"`
	Source     string     `db:"source" json:"source"`
	Note       string     `db:"note" json:"note"`
	ExpiresAt  *time.Time `db:"expires_at" json:"expires_at"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
}

// Decision is why a lead was dialed or skipped.
type Decision struct {
	ID     int64     `db:"id" json:"id"`
	At     time.Time `db:"at" json:"at"`
	Action string    `db:"action" json:"action"`
	Reason string    `db:"reason" json:"reason"`
	CallID *string   `db:"call_id" json:"call_id,omitempty"`
}

// dncReason is, in SQL, the decision reason when phone (%s) is on a list that applies to
// campaign (%s) at now (%s): dnc:global wins over dnc:campaign; NULL when it is on none.
const dncReason = `(SELECT CASE WHEN count(*) = 0 THEN NULL WHEN bool_or(d.campaign_id IS NULL) THEN 'dnc:global' ELSE 'dnc:campaign' END
	FROM dnc_entries d WHERE d.phone = %s AND (d.campaign_id IS NULL OR d.campaign_id = %s)
	AND (d.expires_at IS NULL OR d.expires_at > %s))`

// AddDNC adds entries (numbers in E.164), replacing the source, note and expiry of an
// entry already on the same list. It returns how many entries were new.
func (s *Store) AddDNC(ctx context.Context, entries []DNCEntry, now time.Time) (int, error) {
	added := 0
	err := s.inTx(ctx, "add do-not-call entries", func(tx *sqlx.Tx) error {
		added = 0
		for _, e := range entries {
			var inserted bool
			err := tx.GetContext(ctx, &inserted, `
				INSERT INTO dnc_entries (campaign_id, phone, source, note, expires_at, created_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (coalesce(campaign_id, 0), phone) DO UPDATE
				SET source = EXCLUDED.source, note = EXCLUDED.note, expires_at = EXCLUDED.expires_at
				RETURNING xmax = 0`, e.CampaignID, e.Phone, e.Source, e.Note, e.ExpiresAt, now)
			if err != nil {
				return fmt.Errorf("add %s to the do-not-call list: %w", e.Phone, err)
			}
			if inserted {
				added++
			}
		}
		return nil
	})
	return added, err
}

// DNC lists entries of the global list (campaignID nil) or of one campaign, optionally
// only those for phone.
func (s *Store) DNC(ctx context.Context, campaignID *int64, phone string, limit, offset int) ([]DNCEntry, error) {
	out := []DNCEntry{}
	err := s.db.SelectContext(ctx, &out, `
		SELECT `+columnsOf[DNCEntry]()+` FROM dnc_entries
		WHERE campaign_id IS NOT DISTINCT FROM $1 AND ($2 = '' OR phone = $2)
		ORDER BY id LIMIT $3 OFFSET $4`, campaignID, phone, limit, offset)
	return out, err
}

// RemoveDNC deletes one entry.
func (s *Store) RemoveDNC(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM dnc_entries WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("do-not-call entry %d: %w", id, ErrNotFound)
	}
	return nil
}

// CheckDNC is the last check before an originate: the reason (dnc:global, dnc:campaign)
// when the number may not be called now, else "".
func (s *Store) CheckDNC(ctx context.Context, campaignID int64, phone string, now time.Time) (string, error) {
	var reason sql.NullString
	err := s.db.GetContext(ctx, &reason, `SELECT `+fmt.Sprintf(dncReason, "$1", "$2", "$3"), phone, campaignID, now)
	if err != nil {
		return "", fmt.Errorf("check do-not-call for %s: %w", phone, err)
	}
	return reason.String, nil
}

// SkipLeased gives a leased lead up without dialing it: its attempt row is removed, the
// lead becomes final with reason as its last outcome, and the decision is logged.
func (s *Store) SkipLeased(ctx context.Context, callID, reason string, now time.Time) error {
	return s.inTx(ctx, "skip call "+callID, func(tx *sqlx.Tx) error {
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
		if _, err := tx.ExecContext(ctx, `UPDATE leads SET status = 'dnc', attempts = attempts - 1, last_outcome = $2,
			lease_owner = NULL, updated_at = $3 WHERE id = $1`, a.LeadID, reason, now); err != nil {
			return err
		}
		// The lease logged a dial decision; it did not happen.
		if _, err := tx.ExecContext(ctx, `DELETE FROM decisions WHERE call_id = $1`, callID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO decisions (campaign_id, lead_id, at, action, reason) VALUES ($1, $2, $3, 'skip', $4)`,
			a.CampaignID, a.LeadID, now, reason+" (checked before originate)")
		return err
	})
}

// Decisions lists a lead's decisions, oldest first.
func (s *Store) Decisions(ctx context.Context, leadID int64) ([]Decision, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM leads WHERE id = $1`, leadID); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("contact %d: %w", leadID, ErrNotFound)
	}
	out := []Decision{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, at, action, reason, call_id FROM decisions WHERE lead_id = $1 ORDER BY id`, leadID)
	return out, err
}
