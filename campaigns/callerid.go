package campaigns

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/callplane/callplane/crm"
)

// CallerIDPool is a set of numbers a campaign presents to callees, with the limits that
// keep carriers from flagging them (封号): per number hourly and daily caps, a cooldown
// between two calls, and retirement when a number's answer rate collapses (a sign that
// callees' phones label it as spam).
type CallerIDPool struct {
	ID   int64  `db:"id" json:"id"`
	Name string `db:"name" json:"name"`
	// HourlyCap and DailyCap bound each number's calls in the last hour and 24 hours
	// (0: no cap).
	HourlyCap int `db:"hourly_cap" json:"hourly_cap"`
	DailyCap  int `db:"daily_cap" json:"daily_cap"`
	// CooldownMs is the least time between two calls from one number.
	CooldownMs int `db:"cooldown_ms" json:"cooldown_ms"`
	// A number whose answer rate over its last MinCalls calls falls below MinAnswerRate
	// is retired (0: never).
	MinAnswerRate float64     `db:"min_answer_rate" json:"min_answer_rate"`
	MinCalls      int         `db:"min_calls" json:"min_calls"`
	CreatedAt     time.Time   `db:"created_at" json:"created_at"`
	Numbers       []CallerID  `db:"-" json:"numbers"`
	Rejected      []RowReject `db:"-" json:"rejected,omitempty"`
}

// CallerID is one number of a pool and its use.
type CallerID struct {
	ID            int64         `db:"id" json:"-"`
	PoolID        int64         `db:"pool_id" json:"-"`
	Number        string        `db:"number" json:"number"`
	Region        string        `db:"region" json:"region"`
	Area          string        `db:"area" json:"area"`
	RetiredAt     *time.Time    `db:"retired_at" json:"retired_at,omitempty"`
	RetiredReason string        `db:"retired_reason" json:"retired_reason,omitempty"`
	CreatedAt     time.Time     `db:"created_at" json:"-"`
	Usage         CallerIDUsage `db:"-" json:"usage"`
}

// CallerIDUsage is a number's recent use.
type CallerIDUsage struct {
	LastHour int `json:"last_hour"`
	Last24h  int `json:"last_24h"`
	// AnswerRate is over the last MinCalls ended calls (Calls of them).
	AnswerRate float64    `json:"answer_rate"`
	Calls      int        `json:"calls"`
	LastUsed   *time.Time `json:"last_used,omitempty"`
}

// RowReject is an input value refused, and why.
type RowReject struct {
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// Normalize validates a pool's limits.
func (p *CallerIDPool) Normalize() error {
	var probs []string
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		probs = append(probs, "name: required")
	}
	probs = append(probs, checkText("name", p.Name, MaxRefLen)...)
	if p.HourlyCap < 0 || p.DailyCap < 0 || p.CooldownMs < 0 {
		probs = append(probs, "hourly_cap, daily_cap, cooldown_ms: must not be negative")
	}
	if p.MinAnswerRate < 0 || p.MinAnswerRate > 1 {
		probs = append(probs, "min_answer_rate: must be within 0..1")
	}
	if p.MinCalls == 0 {
		p.MinCalls = 50
	}
	if p.MinCalls < 0 {
		probs = append(probs, "min_calls: must be > 0")
	}
	if len(probs) > 0 {
		return &ValidationError{Problems: probs}
	}
	return nil
}

// CreateCallerIDPool stores a pool and its numbers (normalized to E.164 with phones;
// numbers that do not parse are listed in Rejected).
func (s *Store) CreateCallerIDPool(ctx context.Context, p CallerIDPool, numbers []string, phones crm.PhoneNormalizer, now time.Time) (CallerIDPool, error) {
	if err := p.Normalize(); err != nil {
		return CallerIDPool{}, err
	}
	err := s.inTx(ctx, "create caller-id pool "+p.Name, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &p.ID, `INSERT INTO caller_id_pools (name, hourly_cap, daily_cap, cooldown_ms, min_answer_rate, min_calls, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, p.Name, p.HourlyCap, p.DailyCap, p.CooldownMs, p.MinAnswerRate, p.MinCalls, now)
		var pe *pq.Error
		if errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("caller-id pool %q already exists: %w", p.Name, ErrConflict)
		}
		if err != nil {
			return err
		}
		p.Rejected, err = addCallerIDs(ctx, tx, p.ID, numbers, phones, now)
		return err
	})
	if err != nil {
		return CallerIDPool{}, fmt.Errorf("create caller-id pool: %w", err)
	}
	p.CreatedAt = now
	return p, nil
}

// AddCallerIDs adds numbers to a pool; numbers already in it are left as they are.
func (s *Store) AddCallerIDs(ctx context.Context, pool string, numbers []string, phones crm.PhoneNormalizer, now time.Time) ([]RowReject, error) {
	var rejected []RowReject
	err := s.inTx(ctx, "add caller ids to pool "+pool, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, `SELECT id FROM caller_id_pools WHERE name = $1`, pool); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("caller-id pool %q: %w", pool, ErrNotFound)
		} else if err != nil {
			return err
		}
		var err error
		rejected, err = addCallerIDs(ctx, tx, id, numbers, phones, now)
		return err
	})
	return rejected, err
}

func addCallerIDs(ctx context.Context, tx *sqlx.Tx, poolID int64, numbers []string, phones crm.PhoneNormalizer, now time.Time) ([]RowReject, error) {
	rejected := []RowReject{}
	for _, raw := range numbers {
		e164, err := phones.Normalize(raw)
		if err != nil {
			rejected = append(rejected, RowReject{Value: raw, Reason: err.Error()})
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO caller_ids (pool_id, number, region, area, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (pool_id, number) DO NOTHING`, poolID, e164, crm.RegionOf(e164), crm.AreaOf(e164), now); err != nil {
			return nil, err
		}
	}
	return rejected, nil
}

// CallerIDPools lists the pools with their numbers (without usage).
func (s *Store) CallerIDPools(ctx context.Context) ([]CallerIDPool, error) {
	var ps []CallerIDPool
	if err := s.db.SelectContext(ctx, &ps, `SELECT `+columnsOf[CallerIDPool]()+` FROM caller_id_pools ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list caller-id pools: %w", err)
	}
	var nums []CallerID
	if err := s.db.SelectContext(ctx, &nums, `SELECT `+columnsOf[CallerID]()+` FROM caller_ids ORDER BY pool_id, id`); err != nil {
		return nil, fmt.Errorf("list caller ids: %w", err)
	}
	for i := range ps {
		ps[i].Numbers = []CallerID{}
		for _, n := range nums {
			if n.PoolID == ps[i].ID {
				ps[i].Numbers = append(ps[i].Numbers, n)
			}
		}
	}
	return ps, nil
}

// callerIDUses returns the attempts of the last 24 h placed with numbers, oldest first.
func (s *Store) callerIDUses(ctx context.Context, numbers []string, since time.Time) ([]callerIDUse, error) {
	var out []callerIDUse
	err := s.db.SelectContext(ctx, &out, `SELECT caller_id, started_at, coalesce(outcome, '') AS outcome, charged FROM attempts
		WHERE caller_id = ANY($1) AND started_at >= $2 ORDER BY started_at`, pq.Array(numbers), since)
	return out, err
}

type callerIDUse struct {
	Number  string    `db:"caller_id"`
	At      time.Time `db:"started_at"`
	Outcome string    `db:"outcome"`
	Charged bool      `db:"charged"`
}

func (s *Store) retireCallerID(ctx context.Context, id int64, reason string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE caller_ids SET retired_at = $2, retired_reason = $3 WHERE id = $1 AND retired_at IS NULL`, id, now, reason)
	return err
}

// CallerIDs chooses the caller id of each call from its campaign's pool and keeps each
// number's use in memory (seeded from the attempts of the last 24 h when a pool is first
// used). Safe for concurrent use. With several controllers each enforces the caps on the
// calls it places.
type CallerIDs struct {
	store *Store
	log   *slog.Logger

	mu     sync.Mutex
	pools  map[string]*cidPool
	byCall map[string]*cidNum
}

type cidPool struct {
	cfg    CallerIDPool
	nums   []*cidNum
	loaded time.Time
}

type cidNum struct {
	CallerID
	uses     []time.Time // the last 24 h, oldest first
	outcomes []bool      // answered, the last MinCalls ended calls, oldest first
}

// poolReload is how often a pool's configuration (numbers added, retired) is read again.
const poolReload = 5 * time.Second

// NewCallerIDs returns an empty registry.
func NewCallerIDs(store *Store, log *slog.Logger) *CallerIDs {
	return &CallerIDs{store: store, log: log, pools: map[string]*cidPool{}, byCall: map[string]*cidNum{}}
}

// pool returns the named pool, loading or refreshing it. c.mu held.
func (c *CallerIDs) pool(ctx context.Context, name string, now time.Time) (*cidPool, error) {
	p := c.pools[name]
	if p != nil && now.Sub(p.loaded) < poolReload {
		return p, nil
	}
	ps, err := c.store.CallerIDPools(ctx)
	if err != nil {
		if p != nil {
			return p, nil // keep going on what we know
		}
		return nil, err
	}
	i := slices.IndexFunc(ps, func(x CallerIDPool) bool { return x.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("caller-id pool %q: %w", name, ErrNotFound)
	}
	return c.load(ctx, ps[i], now)
}

// load installs a pool's configuration as read at now, keeping the use of the numbers it
// already tracks and seeding the others from the attempts of the last 24 h. c.mu held.
func (c *CallerIDs) load(ctx context.Context, cfg CallerIDPool, now time.Time) (*cidPool, error) {
	p := c.pools[cfg.Name]
	fresh := &cidPool{cfg: cfg, loaded: now}
	known := map[string]*cidNum{}
	if p != nil {
		for _, n := range p.nums {
			known[n.Number] = n
		}
	}
	var seed []string
	for _, n := range cfg.Numbers {
		if k := known[n.Number]; k != nil {
			k.CallerID = n
			fresh.nums = append(fresh.nums, k)
			continue
		}
		fresh.nums = append(fresh.nums, &cidNum{CallerID: n})
		seed = append(seed, n.Number)
	}
	if len(seed) > 0 {
		uses, err := c.store.callerIDUses(ctx, seed, now.Add(-24*time.Hour))
		if err != nil {
			return nil, err
		}
		for _, u := range uses {
			for _, n := range fresh.nums {
				if n.Number == u.Number {
					n.uses = append(n.uses, u.At)
					if u.Charged && u.Outcome != "" && u.Outcome != "node_lost" {
						n.outcome(u.Outcome == "answered", fresh.cfg.MinCalls)
					}
				}
			}
		}
	}
	c.pools[cfg.Name] = fresh
	return fresh, nil
}

func (n *cidNum) outcome(answered bool, keep int) {
	n.outcomes = append(n.outcomes, answered)
	if len(n.outcomes) > keep {
		n.outcomes = n.outcomes[len(n.outcomes)-keep:]
	}
}

// count returns the uses since t.
func (n *cidNum) count(t time.Time) int {
	i, _ := slices.BinarySearchFunc(n.uses, t, func(a, b time.Time) int { return a.Compare(b) })
	return len(n.uses) - i
}

// Pick chooses the number callID presents to callee at now: among the pool's numbers
// under their caps and past their cooldown, one in the callee's area first, then in
// their region (local presence), then the least used. ok is false when every number is
// capped, cooling down or retired.
func (c *CallerIDs) Pick(ctx context.Context, pool, callID, callee string, now time.Time) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := c.pool(ctx, pool, now)
	if err != nil {
		return "", false, err
	}
	region, area := crm.RegionOf(callee), crm.AreaOf(callee)
	var best *cidNum
	bestRank, bestHour := -1, 0
	for _, n := range p.nums {
		n.uses = n.uses[len(n.uses)-n.count(now.Add(-24*time.Hour)):]
		hour := n.count(now.Add(-time.Hour))
		switch {
		case n.RetiredAt != nil:
			continue
		case p.cfg.HourlyCap > 0 && hour >= p.cfg.HourlyCap:
			continue
		case p.cfg.DailyCap > 0 && len(n.uses) >= p.cfg.DailyCap:
			continue
		case p.cfg.CooldownMs > 0 && len(n.uses) > 0 && now.Sub(n.uses[len(n.uses)-1]) < time.Duration(p.cfg.CooldownMs)*time.Millisecond:
			continue
		}
		rank := 0
		if region != "" && n.Region == region {
			rank = 1
			if area != "" && n.Area == area {
				rank = 2
			}
		}
		if rank > bestRank || (rank == bestRank && hour < bestHour) {
			best, bestRank, bestHour = n, rank, hour
		}
	}
	if best == nil {
		return "", false, nil
	}
	best.uses = append(best.uses, now)
	c.byCall[callID] = best
	return best.Number, true, nil
}

// Unpick takes back a pick whose call was never sent.
func (c *CallerIDs) Unpick(callID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.byCall[callID]; n != nil && len(n.uses) > 0 {
		n.uses = n.uses[:len(n.uses)-1]
	}
	delete(c.byCall, callID)
}

// Done records how callID ended (counted is false for calls that say nothing of the
// number: trunk failures, lost nodes) and retires its number when its answer rate over
// the pool's MinCalls collapses below MinAnswerRate.
func (c *CallerIDs) Done(ctx context.Context, pool, callID string, counted, answered bool, now time.Time) {
	c.mu.Lock()
	n := c.byCall[callID]
	delete(c.byCall, callID)
	p := c.pools[pool]
	if n == nil || p == nil || !counted {
		c.mu.Unlock()
		return
	}
	n.outcome(answered, p.cfg.MinCalls)
	rate := answerRate(n.outcomes)
	retire := p.cfg.MinAnswerRate > 0 && n.RetiredAt == nil && len(n.outcomes) >= p.cfg.MinCalls && rate < p.cfg.MinAnswerRate
	var reason string
	if retire {
		reason = fmt.Sprintf("answer rate %.3f < %.3f over the last %d calls", rate, p.cfg.MinAnswerRate, len(n.outcomes))
		t := now
		n.RetiredAt, n.RetiredReason = &t, reason
	}
	id, number := n.ID, n.Number
	c.mu.Unlock()
	if retire {
		c.log.Warn("caller id retired", "pool", pool, "number", crm.MaskPhone(number), "reason", reason)
		if err := c.store.retireCallerID(ctx, id, reason, now); err != nil {
			c.log.Warn("record caller id retirement", "pool", pool, "err", err)
		}
	}
}

func answerRate(o []bool) float64 {
	if len(o) == 0 {
		return 0
	}
	n := 0
	for _, a := range o {
		if a {
			n++
		}
	}
	return float64(n) / float64(len(o))
}

// Pools lists the pools with each number's usage at now.
func (c *CallerIDs) Pools(ctx context.Context, now time.Time) ([]CallerIDPool, error) {
	ps, err := c.store.CallerIDPools(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range ps {
		p := c.pools[ps[i].Name]
		if p == nil || now.Sub(p.loaded) >= poolReload {
			if p, err = c.load(ctx, ps[i], now); err != nil {
				return nil, err
			}
		}
		for j := range ps[i].Numbers {
			num := &ps[i].Numbers[j]
			for _, n := range p.nums {
				if n.Number != num.Number {
					continue
				}
				u := CallerIDUsage{LastHour: n.count(now.Add(-time.Hour)), Last24h: n.count(now.Add(-24 * time.Hour)),
					AnswerRate: answerRate(n.outcomes), Calls: len(n.outcomes)}
				if len(n.uses) > 0 {
					t := n.uses[len(n.uses)-1]
					u.LastUsed = &t
				}
				num.Usage = u
			}
		}
	}
	return ps, nil
}
