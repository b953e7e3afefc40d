package campaigns

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/callplane/callplane/ivr"
)

// FlowVersion is one published version of a flow.
type FlowVersion struct {
	ID        string    `db:"id" json:"id"`
	Version   int       `db:"version" json:"version"`
	Source    string    `db:"source" json:"source"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// FlowError is a flow refused by the validator: every problem with its file:line:col.
type FlowError struct {
	Problems []ivr.Problem
}

func (e *FlowError) Error() string {
	return fmt.Sprintf("flow has %d problems; first: %s", len(e.Problems), e.Problems[0])
}

// PublishFlow validates source and stores it as version f.Version of flow id (the flow's
// own id must match the URL's). The rule, one users can predict:
//
//   - the version written in the file is the version stored;
//   - the same version with the same source publishes nothing and returns it;
//   - a version older than the latest, or the latest's number with other content, is
//     refused with ErrConflict (raise the version to publish a change).
func (s *Store) PublishFlow(ctx context.Context, id string, source []byte, now time.Time) (FlowVersion, []ivr.Problem, error) {
	f, problems := ivr.Parse(id+".yaml", source)
	if ivr.HasErrors(problems) {
		return FlowVersion{}, problems, &FlowError{Problems: problems}
	}
	if f.ID != id {
		return FlowVersion{}, problems, &ValidationError{Problems: []string{fmt.Sprintf("id: the flow says %q, the URL %q", f.ID, id)}}
	}
	var v FlowVersion
	err := s.inTx(ctx, "publish flow "+id, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('flow:' || $1))`, id); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &v, `SELECT `+columnsOf[FlowVersion]()+` FROM flows WHERE id = $1 ORDER BY version DESC LIMIT 1`, id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case v.Version == f.Version && v.Source == string(source):
			return nil
		case v.Version == f.Version:
			return fmt.Errorf("flow %s: version %d is published with other content; raise the version to publish a change: %w", id, f.Version, ErrConflict)
		case v.Version > f.Version:
			return fmt.Errorf("flow %s: version %d is older than the published version %d: %w", id, f.Version, v.Version, ErrConflict)
		}
		v = FlowVersion{ID: id, Version: f.Version, Source: string(source), CreatedAt: now}
		_, err = tx.ExecContext(ctx, `INSERT INTO flows (id, version, source, created_at) VALUES ($1, $2, $3, $4)`,
			v.ID, v.Version, v.Source, now)
		return err
	})
	if err != nil {
		return FlowVersion{}, problems, err
	}
	return v, problems, nil
}

// Flow returns the latest version of a flow.
func (s *Store) Flow(ctx context.Context, id string) (FlowVersion, error) {
	var v FlowVersion
	err := s.db.GetContext(ctx, &v, `SELECT `+columnsOf[FlowVersion]()+` FROM flows WHERE id = $1 ORDER BY version DESC LIMIT 1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("flow %s: %w", id, ErrNotFound)
	}
	return v, err
}

// Flows lists the latest version of every flow.
func (s *Store) Flows(ctx context.Context) ([]FlowVersion, error) {
	out := []FlowVersion{}
	err := s.db.SelectContext(ctx, &out, `SELECT DISTINCT ON (id) `+columnsOf[FlowVersion]()+` FROM flows ORDER BY id, version DESC`)
	return out, err
}

// flowCache keeps parsed flow versions; the latest version of each id is looked up again
// after flowRecheck.
type flowCache struct {
	store  *Store
	mu     sync.Mutex
	byVer  map[string]*ivr.Flow // "id@version"
	latest map[string]cachedLatest
}

type cachedLatest struct {
	version int
	at      time.Time
}

const flowRecheck = time.Second

func newFlowCache(s *Store) *flowCache {
	return &flowCache{store: s, byVer: map[string]*ivr.Flow{}, latest: map[string]cachedLatest{}}
}

// current returns the flow a new call of id runs now, and its version.
func (c *flowCache) current(ctx context.Context, id string, now time.Time) (*ivr.Flow, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.latest[id]; ok && now.Sub(l.at) < flowRecheck {
		return c.byVer[fmt.Sprintf("%s@%d", id, l.version)], l.version, nil
	}
	v, err := c.store.Flow(ctx, id)
	if err != nil {
		if l, ok := c.latest[id]; ok {
			return c.byVer[fmt.Sprintf("%s@%d", id, l.version)], l.version, nil
		}
		return nil, 0, err
	}
	key := fmt.Sprintf("%s@%d", id, v.Version)
	if c.byVer[key] == nil {
		f, problems := ivr.Parse(id+".yaml", []byte(v.Source))
		if ivr.HasErrors(problems) {
			return nil, 0, &FlowError{Problems: problems}
		}
		c.byVer[key] = f
	}
	c.latest[id] = cachedLatest{version: v.Version, at: now}
	return c.byVer[key], v.Version, nil
}

// SaveFlowPath records a call's flow version, its path and its recording.
func (s *Store) SaveFlowPath(ctx context.Context, callID, flow string, version int, path []ivr.Transition, recording string, recLen time.Duration) error {
	b, err := json.Marshal(path)
	if err != nil {
		return err
	}
	var ms *int64
	if recording != "" {
		v := recLen.Milliseconds()
		ms = &v
	}
	_, err = s.db.ExecContext(ctx, `UPDATE attempts SET flow = $2, flow_version = $3, ivr_path = $4, recording = $5, recording_ms = $6
		WHERE call_id = $1`, callID, flow, version, string(b), recording, ms)
	return err
}

// FlowResults sums up what callees did in a campaign's flow.
type FlowResults struct {
	// Calls counts the calls that ran a flow.
	Calls int `json:"calls"`
	// Nodes counts, per node, each result (a menu's result is "choice:<digit>").
	Nodes map[string]map[string]int `json:"nodes"`
	// Recordings lists the recordings callees left, newest first.
	Recordings []FlowRecording `json:"recordings"`
}

// FlowRecording is one recording left in a flow.
type FlowRecording struct {
	CallID  string    `db:"call_id" json:"call_id"`
	Phone   string    `db:"phone" json:"phone"`
	Path    string    `db:"recording" json:"path"`
	Ms      int64     `db:"recording_ms" json:"duration_ms"`
	Started time.Time `db:"started_at" json:"started_at"`
	Node    string    `db:"node" json:"node"`
}

// FlowResults reads a campaign's flow results.
func (s *Store) FlowResults(ctx context.Context, campaignID int64) (FlowResults, error) {
	res := FlowResults{Nodes: map[string]map[string]int{}, Recordings: []FlowRecording{}}
	var rows []struct {
		Node   string `db:"node"`
		Result string `db:"result"`
		N      int    `db:"n"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT t->>'node' AS node,
		       CASE WHEN t->>'kind' = 'menu' AND t->>'result' = 'choice' THEN 'choice:' || coalesce(t->>'digits', '')
		            WHEN t->>'kind' = 'collect' AND t->>'result' = 'collected' THEN 'collected:' || coalesce(t->>'digits', '')
		            ELSE t->>'result' END AS result,
		       count(*) AS n
		FROM attempts a, jsonb_array_elements(a.ivr_path) t
		WHERE a.campaign_id = $1 AND a.ivr_path IS NOT NULL GROUP BY 1, 2`, campaignID)
	if err != nil {
		return res, fmt.Errorf("flow results of campaign %d: %w", campaignID, err)
	}
	for _, r := range rows {
		if res.Nodes[r.Node] == nil {
			res.Nodes[r.Node] = map[string]int{}
		}
		res.Nodes[r.Node][r.Result] = r.N
	}
	if err := s.db.GetContext(ctx, &res.Calls, `SELECT count(*) FROM attempts WHERE campaign_id = $1 AND ivr_path IS NOT NULL`, campaignID); err != nil {
		return res, err
	}
	err = s.db.SelectContext(ctx, &res.Recordings, `SELECT call_id, phone, recording, coalesce(recording_ms, 0) AS recording_ms,
		started_at, coalesce(node, '') AS node FROM attempts WHERE campaign_id = $1 AND recording <> '' ORDER BY started_at DESC LIMIT 500`, campaignID)
	return res, err
}

// flowContact returns who a call is to, for the flow's templates.
func (s *Store) flowContact(ctx context.Context, callID string) (ivr.Contact, error) {
	var row struct {
		Name   string `db:"name"`
		Phone  string `db:"phone"`
		Fields []byte `db:"fields"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT c.name, a.phone, c.fields FROM attempts a JOIN leads l ON l.id = a.lead_id
		JOIN contacts c ON c.id = l.contact_id WHERE a.call_id = $1`, callID)
	if err != nil {
		return ivr.Contact{}, err
	}
	ct := ivr.Contact{Name: row.Name, Number: row.Phone, Fields: map[string]string{}}
	var fields map[string]any
	if json.Unmarshal(row.Fields, &fields) == nil {
		for k, v := range fields {
			ct.Fields[k] = fmt.Sprint(v)
		}
	}
	return ct, nil
}
