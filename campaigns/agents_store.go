package campaigns

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/callplane/callplane/media"
)

// Agent states.
const (
	AgentLoggedOut = "logged_out"
	AgentReady     = "ready"
	AgentReserved  = "reserved" // promised to a call being bridged
	AgentOnCall    = "on_call"
	AgentWrapUp    = "wrap_up"
	AgentNotReady  = "not_ready" // paused, with a reason; also while the phone is called at login
)

// Agent is a seat: who, how to reach their phone, which campaigns they serve, and (live)
// what they are doing.
type Agent struct {
	ID         int64  `db:"id" json:"id"`
	Name       string `db:"name" json:"name"`
	Team       string `db:"team" json:"team"`
	Department string `db:"department" json:"department"`
	// Endpoints maps a node kind to the dial string of the agent's phone.
	Endpoints Endpoints `db:"endpoints" json:"endpoints"`
	// Node is the media node the phone is registered on ("": any node with an endpoint
	// of its kind).
	Node string `db:"node" json:"node"`
	// MaxWrapMs ends wrap-up by itself after this long (default 15000).
	MaxWrapMs   int       `db:"max_wrap_ms" json:"max_wrap_ms"`
	State       string    `db:"state" json:"state"`
	Since       time.Time `db:"state_since" json:"since"`
	PauseReason string    `db:"pause_reason" json:"pause_reason,omitempty"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	// Campaigns the agent serves, by priority (1 first).
	Campaigns []AgentCampaign `db:"-" json:"campaigns"`
	// CallID is the customer call the agent is reserved for, on, or wrapping up.
	CallID string `db:"-" json:"call_id,omitempty"`
	// LegNode is where the agent's nailed-up leg is.
	LegNode string `db:"-" json:"leg_node,omitempty"`
	// Preview is the contact offered to the agent (preview mode) until they dial or skip.
	Preview *Offer `db:"-" json:"preview,omitempty"`
	// Today counts the agent's calls since midnight UTC.
	Today AgentDay `db:"-" json:"today"`
}

// AgentCampaign assigns an agent to a campaign.
type AgentCampaign struct {
	CampaignID int64 `db:"campaign_id" json:"campaign_id"`
	Priority   int   `db:"priority" json:"priority"`
}

// AgentDay is an agent's work since midnight.
type AgentDay struct {
	Calls       int     `db:"calls" json:"calls"`
	TalkSeconds float64 `db:"talk_seconds" json:"talk_seconds"`
}

// Endpoints maps node kinds to dial strings; stored as JSONB.
type Endpoints map[string]string

// Value stores the endpoints as JSON.
func (e Endpoints) Value() (driver.Value, error) {
	if e == nil {
		return "{}", nil
	}
	b, err := json.Marshal(e)
	return string(b), err
}

// Scan reads the endpoints from JSON.
func (e *Endpoints) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		return json.Unmarshal(v, e)
	case string:
		return json.Unmarshal([]byte(v), e)
	}
	return fmt.Errorf("endpoints: cannot scan %T", src)
}

// Normalize fills defaults and validates a new agent.
func (a *Agent) Normalize() error {
	var p []string
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		p = append(p, "name: required")
	}
	if len(a.Endpoints) == 0 {
		p = append(p, "endpoints: at least one of freeswitch, asterisk")
	}
	p = append(p, checkText("name", a.Name, MaxNameLen)...)
	p = append(p, checkText("team", a.Team, MaxRefLen)...)
	p = append(p, checkText("department", a.Department, MaxRefLen)...)
	p = append(p, checkText("node", a.Node, MaxRefLen)...)
	for k, v := range a.Endpoints {
		switch kind := media.Kind(k); kind {
		case media.KindFreeSWITCH, media.KindAsterisk:
			if err := media.CheckEndpoint(kind, v); err != nil {
				p = append(p, fmt.Sprintf("endpoints.%s: %v", k, err))
			}
		default:
			p = append(p, fmt.Sprintf("endpoints.%.40q: unknown node kind (freeswitch, asterisk)", k))
		}
	}
	if a.MaxWrapMs == 0 {
		a.MaxWrapMs = 15000
	}
	if a.MaxWrapMs < 0 || a.MaxWrapMs > 3600000 {
		p = append(p, "max_wrap_ms: must be within 1..3600000")
	}
	seen := map[int64]bool{}
	for i, c := range a.Campaigns {
		if c.Priority == 0 {
			a.Campaigns[i].Priority = 1
		}
		if c.CampaignID <= 0 || seen[c.CampaignID] {
			p = append(p, fmt.Sprintf("campaigns[%d]: campaign_id must be a campaign, once", i))
		}
		if c.Priority < 0 {
			p = append(p, fmt.Sprintf("campaigns[%d]: priority must be > 0", i))
		}
		seen[c.CampaignID] = true
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// CreateAgent stores a new agent and its campaign assignments.
func (s *Store) CreateAgent(ctx context.Context, a Agent, now time.Time) (Agent, error) {
	if err := a.Normalize(); err != nil {
		return Agent{}, err
	}
	a.State, a.Since, a.CreatedAt = AgentLoggedOut, now, now
	err := s.inTx(ctx, "create agent", func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &a.ID, `
			INSERT INTO agents (name, team, department, endpoints, node, max_wrap_ms, state, state_since, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
			a.Name, a.Team, a.Department, a.Endpoints, a.Node, a.MaxWrapMs, a.State, now)
		var pe *pq.Error
		if errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("agent %q already exists: %w", a.Name, ErrConflict)
		}
		if err != nil {
			return err
		}
		for _, c := range a.Campaigns {
			_, err := tx.ExecContext(ctx, `INSERT INTO agent_campaigns (agent_id, campaign_id, priority) VALUES ($1, $2, $3)`,
				a.ID, c.CampaignID, c.Priority)
			if errors.As(err, &pe) && pe.Code == "23503" {
				return &ValidationError{Problems: []string{fmt.Sprintf("campaigns: campaign %d does not exist", c.CampaignID)}}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Agent{}, fmt.Errorf("create agent: %w", err)
	}
	if a.Campaigns == nil {
		a.Campaigns = []AgentCampaign{}
	}
	return a, nil
}

// Agents lists every agent with its campaigns, by id.
func (s *Store) Agents(ctx context.Context) ([]Agent, error) {
	var as []Agent
	if err := s.db.SelectContext(ctx, &as, `SELECT `+columnsOf[Agent]()+` FROM agents ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	var links []struct {
		AgentID int64 `db:"agent_id"`
		AgentCampaign
	}
	if err := s.db.SelectContext(ctx, &links, `SELECT agent_id, campaign_id, priority FROM agent_campaigns ORDER BY agent_id, priority, campaign_id`); err != nil {
		return nil, fmt.Errorf("list agent campaigns: %w", err)
	}
	byID := map[int64]*Agent{}
	for i := range as {
		as[i].Campaigns = []AgentCampaign{}
		byID[as[i].ID] = &as[i]
	}
	for _, l := range links {
		if a := byID[l.AgentID]; a != nil {
			a.Campaigns = append(a.Campaigns, l.AgentCampaign)
		}
	}
	return as, nil
}

// SaveAgentState records an agent's live state (written after the fact: the desk in
// memory decides).
func (s *Store) SaveAgentState(ctx context.Context, id int64, state string, since time.Time, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE agents SET state = $2, state_since = $3, pause_reason = $4 WHERE id = $1`,
		id, state, since, reason)
	return err
}

// AgentsToday counts each agent's calls and talk time since since.
func (s *Store) AgentsToday(ctx context.Context, since time.Time) (map[int64]AgentDay, error) {
	var rows []struct {
		AgentID int64 `db:"agent_id"`
		AgentDay
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT agent_id, count(*) AS calls, coalesce(sum(talk_ms), 0) / 1000.0 AS talk_seconds
		FROM attempts WHERE agent_id IS NOT NULL AND started_at >= $1 GROUP BY agent_id`, since)
	if err != nil {
		return nil, fmt.Errorf("agents' day: %w", err)
	}
	out := map[int64]AgentDay{}
	for _, r := range rows {
		out[r.AgentID] = r.AgentDay
	}
	return out, nil
}

// SetAttemptAgent records which agent took a call and when it was bridged.
func (s *Store) SetAttemptAgent(ctx context.Context, callID string, agentID int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE attempts SET agent_id = $2, bridged_at = $3 WHERE call_id = $1`, callID, agentID, at)
	return err
}

// Disposition is what an agent records about a call, and the callback promised.
type Disposition struct {
	Disposition string `json:"disposition"`
	Notes       string `json:"notes"`
	// CallbackAt schedules a callback: RFC 3339, or a wall-clock time in the contact's
	// zone ("2026-11-25 10:00"). CallbackAnyone lets any agent of the campaign take it
	// (default: the agent who took this call).
	CallbackAt     string `json:"callback_at,omitempty"`
	CallbackAnyone bool   `json:"callback_anyone,omitempty"`
}

// SetDisposition stores an agent's disposition of a call (an attempt they took).
func (s *Store) SetDisposition(ctx context.Context, callID string, d Disposition) (int64, error) {
	d.Disposition = strings.TrimSpace(d.Disposition)
	if d.Disposition == "" || len(d.Disposition) > 64 {
		return 0, &ValidationError{Problems: []string{"disposition: required, at most 64 characters"}}
	}
	var agentID sql.NullInt64
	err := s.db.GetContext(ctx, &agentID, `UPDATE attempts SET disposition = $2, notes = $3 WHERE call_id = $1 RETURNING agent_id`,
		callID, d.Disposition, d.Notes)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("call %s: %w", callID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("disposition of %s: %w", callID, err)
	}
	if !agentID.Valid {
		return 0, fmt.Errorf("call %s was not taken by an agent: %w", callID, ErrConflict)
	}
	return agentID.Int64, nil
}

// contactName returns a contact's name.
func (s *Store) contactName(ctx context.Context, contactID int64) (string, error) {
	var name string
	err := s.db.GetContext(ctx, &name, `SELECT name FROM contacts WHERE id = $1`, contactID)
	return name, err
}
