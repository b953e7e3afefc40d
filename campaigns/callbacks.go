package campaigns

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Callback is a call an agent promised a contact, at a time in the contact's zone.
type Callback struct {
	ID         int64     `db:"id" json:"id"`
	CampaignID int64     `db:"campaign_id" json:"campaign_id"`
	LeadID     int64     `db:"lead_id" json:"lead_id"`
	AgentID    *int64    `db:"agent_id" json:"agent_id"` // nil: any agent of the campaign
	DueAt      time.Time `db:"due_at" json:"due_at"`
	Zone       string    `db:"zone" json:"zone"`
	State      string    `db:"state" json:"state"`
	FromCall   *string   `db:"from_call" json:"from_call,omitempty"`
	CallID     *string   `db:"call_id" json:"call_id,omitempty"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
}

// localLayouts are the ways a callback time may be written in the contact's zone.
var localLayouts = []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// ParseCallbackTime reads an RFC 3339 instant, or a wall-clock time in loc ("2026-11-25
// 10:00" is 10:00 where the contact lives). A wall-clock time that does not exist there (a
// DST gap) is refused.
func ParseCallbackTime(v string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, l := range localLayouts {
		t, err := time.ParseInLocation(l, v, loc)
		if err != nil {
			continue
		}
		if t.Format(l) != v {
			return time.Time{}, fmt.Errorf("callback_at %q does not exist in %s (a daylight-saving gap)", v, loc)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("callback_at %q: want RFC 3339 or a local time like 2026-11-25 10:00", v)
}

// ScheduleCallback schedules a callback for the lead of callID (a call agentID took) at
// the time v, written in the contact's zone; owned by the agent unless anyone is true.
func (s *Store) ScheduleCallback(ctx context.Context, callID string, agentID int64, v string, anyone bool, now time.Time) (Callback, error) {
	var a struct {
		CampaignID int64  `db:"campaign_id"`
		LeadID     int64  `db:"lead_id"`
		ZoneKey    string `db:"zone_key"`
		CampTZ     string `db:"time_zone"`
	}
	err := s.db.GetContext(ctx, &a, `SELECT a.campaign_id, a.lead_id, l.zone_key, c.time_zone FROM attempts a
		JOIN leads l ON l.id = a.lead_id JOIN campaigns c ON c.id = a.campaign_id WHERE a.call_id = $1`, callID)
	if errors.Is(err, sql.ErrNoRows) {
		return Callback{}, fmt.Errorf("call %s: %w", callID, ErrNotFound)
	}
	if err != nil {
		return Callback{}, err
	}
	zone := a.CampTZ
	if z := strings.Fields(strings.ReplaceAll(a.ZoneKey, ",", " ")); len(z) > 0 {
		zone = z[0]
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc, zone = time.UTC, "UTC"
	}
	due, err := ParseCallbackTime(v, loc)
	if err != nil {
		return Callback{}, &ValidationError{Problems: []string{err.Error()}}
	}
	if due.Before(now) {
		return Callback{}, &ValidationError{Problems: []string{fmt.Sprintf("callback_at %s is in the past", due.In(loc).Format(time.RFC3339))}}
	}
	cb := Callback{CampaignID: a.CampaignID, LeadID: a.LeadID, DueAt: due, Zone: zone, State: "scheduled", FromCall: &callID, CreatedAt: now}
	if !anyone {
		cb.AgentID = &agentID
	}
	err = s.inTx(ctx, "schedule callback of call "+callID, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &cb.ID, `INSERT INTO callbacks (campaign_id, lead_id, agent_id, due_at, zone, from_call, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, cb.CampaignID, cb.LeadID, cb.AgentID, due, zone, callID, now)
		var pe *pq.Error
		if errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("the contact already has a callback scheduled: %w", ErrConflict)
		}
		return err
	})
	if err != nil {
		return Callback{}, err
	}
	return cb, nil
}

// CallbackLease is a due callback leased for an agent.
type CallbackLease struct {
	Lease
	Callback int64
	AgentID  int64
}

// LeaseCallbacks leases, for each ready agent (in order), the earliest due callback of the
// campaign it owns or that anyone may take: the lead is dialing, an attempt row and a dial
// decision are written, as LeaseLeads does, past max_attempts if need be.
func (s *Store) LeaseCallbacks(ctx context.Context, campaignID int64, agents []int64, owner string, now time.Time) ([]CallbackLease, error) {
	return s.leaseCallbacks(ctx, campaignID, agents, owner, now, nil)
}

// leaseCallbacks is LeaseCallbacks skipping the contacts in zones closed now: a callback
// due outside the contact's calling hours waits for them.
func (s *Store) leaseCallbacks(ctx context.Context, campaignID int64, agents []int64, owner string, now time.Time, closed []string) ([]CallbackLease, error) {
	if closed == nil {
		closed = []string{}
	}
	var out []CallbackLease
	err := s.inTx(ctx, fmt.Sprintf("lease callbacks of campaign %d", campaignID), func(tx *sqlx.Tx) error {
		out = out[:0]
		for _, agent := range agents {
			var cl CallbackLease
			err := tx.GetContext(ctx, &cl, `
				WITH cb AS (
					SELECT c.id, c.lead_id FROM callbacks c JOIN leads l ON l.id = c.lead_id
					WHERE c.campaign_id = $1 AND c.state = 'scheduled' AND c.due_at <= $2
					  AND (c.agent_id IS NULL OR c.agent_id = $3) AND l.status <> 'dialing' AND l.status <> 'dnc'
					  AND NOT (l.zone_key = ANY($5))
					  AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.phone = l.phone AND a.state = 'dialing')
					ORDER BY c.agent_id IS NULL, c.due_at LIMIT 1 FOR UPDATE OF c, l SKIP LOCKED)
				UPDATE leads l SET status = 'dialing', attempts = l.attempts + 1, lease_owner = $4, updated_at = $2
				FROM cb WHERE l.id = cb.lead_id
				RETURNING cb.id AS callback, l.id, l.contact_id, l.phone, l.attempts`, campaignID, now, agent, owner, pq.Array(closed))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			cl.AgentID, cl.CallID = agent, uuid.NewString()
			if _, err := tx.ExecContext(ctx, `INSERT INTO attempts (call_id, campaign_id, lead_id, phone, attempt_no, controller, started_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, cl.CallID, campaignID, cl.LeadID, cl.Phone, cl.AttemptNo, owner, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO decisions (campaign_id, lead_id, at, action, reason, call_id)
				VALUES ($1, $2, $3, 'dial', $4, $5)`, campaignID, cl.LeadID, now,
				fmt.Sprintf("callback id=%d agent=%d attempt=%d", cl.Callback, agent, cl.AttemptNo), cl.CallID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE callbacks SET state = 'dialing', call_id = $2 WHERE id = $1`, cl.Callback, cl.CallID); err != nil {
				return err
			}
			out = append(out, cl)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lease callbacks of campaign %d: %w", campaignID, err)
	}
	return out, nil
}

// Callbacks lists a campaign's callbacks, the due first.
func (s *Store) Callbacks(ctx context.Context, campaignID int64) ([]Callback, error) {
	out := []Callback{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+columnsOf[Callback]()+` FROM callbacks WHERE campaign_id = $1 ORDER BY state <> 'scheduled', due_at, id`, campaignID)
	return out, err
}
