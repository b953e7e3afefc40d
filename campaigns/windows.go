package campaigns

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/callplane/callplane/campaigns/compliance"
)

// Rules are the calling rules the dialer applies: the rule packs (built-in ones merged
// with the configured) and the holiday calendars.
type Rules struct {
	Packs    map[string]compliance.Pack
	Holidays *compliance.Holidays
}

// DefaultRules are the built-in packs and calendars.
func DefaultRules() Rules {
	return Rules{Packs: compliance.Packs(), Holidays: compliance.BuiltinHolidays()}
}

// Check validates a campaign's rule pack and schedule against the rules.
func (r Rules) Check(c *Campaign) []string {
	var p []string
	if c.RulePack != "" {
		if _, ok := r.Packs[c.RulePack]; !ok {
			names := make([]string, 0, len(r.Packs))
			for n := range r.Packs {
				names = append(names, n)
			}
			slices.Sort(names)
			p = append(p, fmt.Sprintf("rule_pack: %q is not a rule pack (%s)", c.RulePack, strings.Join(names, ", ")))
		}
	}
	if _, err := r.schedule(c); err != nil {
		p = append(p, "schedule: "+err.Error())
	}
	return p
}

// schedule compiles a campaign's schedule (nil: always open).
func (r Rules) schedule(c *Campaign) (*compliance.CompiledSchedule, error) {
	var s compliance.Schedule
	if len(c.Schedule) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(c.Schedule)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, err
		}
	}
	if s.TimeZone == "" {
		s.TimeZone = c.TimeZone
	}
	hol := r.Holidays
	if hol == nil {
		hol = compliance.BuiltinHolidays()
	}
	return s.Compile(hol)
}

// windows is an engine's view of its calling windows, refreshed every Recheck.
type windows struct {
	raw       string // the schedule it was compiled from
	sched     *compliance.CompiledSchedule
	open      bool
	reason    string
	closedKey []string // zone keys whose calling hours are closed now
}

// checkWindows refreshes the campaign's schedule state and, with a rule pack, moves the
// due leads of every closed zone to the moment it opens, each with a skip decision that
// says why (window:closed local=22:14 Asia/Shanghai, holiday:fr 2026-12-25...).
func (e *engine) checkWindows(ctx context.Context, now time.Time) {
	w := &e.win
	rules := e.d.cfg.Rules
	if w.sched == nil || w.raw != string(e.c.Schedule)+"|"+e.c.TimeZone {
		s, err := rules.schedule(&e.c)
		if err != nil {
			e.log.Warn("campaign schedule does not compile: holding calls", "err", err)
			w.open, w.reason = false, "schedule:invalid"
			return
		}
		w.sched, w.raw = s, string(e.c.Schedule)+"|"+e.c.TimeZone
	}
	open, reason := w.sched.IsOpen(now)
	if open != w.open {
		state := "open"
		if !open {
			state = "closed"
		}
		e.log.Info("campaign window "+state, "reason", reason)
		e.d.hub.Publish(LiveEvent{Type: "campaign.window", At: now, CampaignID: e.id, State: state, Reason: reason})
	}
	w.open, w.reason = open, reason
	w.closedKey = w.closedKey[:0]
	pack, ok := rules.Packs[e.c.RulePack]
	if e.c.RulePack == "" || !ok {
		return
	}
	loc, err := time.LoadLocation(e.c.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	keys, err := e.d.store.dueZoneKeys(ctx, e.id, now)
	if err != nil {
		e.log.Warn("zones of due leads", "err", err)
		return
	}
	for _, key := range keys {
		zones, _, err := compliance.ResolveZones("", key, loc)
		if err != nil || len(zones) == 0 {
			zones = []*time.Location{loc}
		}
		if open, reason := pack.Open(now, zones, rules.Holidays); !open {
			w.closedKey = append(w.closedKey, key)
			next := pack.NextOpen(now, zones, rules.Holidays)
			if next.IsZero() {
				next = now.Add(24 * time.Hour)
			}
			if _, err := e.d.store.deferZone(ctx, e.id, key, next, reason, now); err != nil {
				e.log.Warn("hold leads outside their calling hours", "zone_key", key, "err", err)
			}
		}
	}
}

// dueZoneKeys lists the zone keys of a campaign's due leads and callbacks.
func (s *Store) dueZoneKeys(ctx context.Context, campaignID int64, now time.Time) ([]string, error) {
	var keys []string
	err := s.db.SelectContext(ctx, &keys, `SELECT zone_key FROM leads
		WHERE campaign_id = $1 AND status = 'pending' AND next_attempt_at <= $2
		UNION SELECT l.zone_key FROM callbacks c JOIN leads l ON l.id = c.lead_id
		WHERE c.campaign_id = $1 AND c.state = 'scheduled' AND c.due_at <= $2`, campaignID, now)
	return keys, err
}

// deferZone moves the due leads of one zone key to until and logs a skip decision for each.
func (s *Store) deferZone(ctx context.Context, campaignID int64, key string, until time.Time, reason string, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `
		WITH moved AS (
			UPDATE leads SET next_attempt_at = $4, updated_at = $5
			WHERE campaign_id = $1 AND status = 'pending' AND next_attempt_at <= $5 AND zone_key = $2
			RETURNING id)
		INSERT INTO decisions (campaign_id, lead_id, at, action, reason)
		SELECT $1, id, $5, 'skip', $3 || ' (held until ' || to_char($4 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"') || ')' FROM moved`,
		campaignID, key, reason, until, now)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// attemptTimes returns the charged attempts to phones since since, across campaigns,
// except the calls listed.
func (s *Store) attemptTimes(ctx context.Context, phones []string, exclude []string, since time.Time) (map[string][]time.Time, error) {
	var rows []struct {
		Phone string    `db:"phone"`
		At    time.Time `db:"started_at"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT phone, started_at FROM attempts
		WHERE phone = ANY($1) AND charged AND started_at >= $2 AND NOT (call_id::text = ANY($3))`,
		pq.Array(phones), since, pq.Array(exclude))
	if err != nil {
		return nil, err
	}
	out := map[string][]time.Time{}
	for _, r := range rows {
		out[r.Phone] = append(out[r.Phone], r.At)
	}
	return out, nil
}

// withinCaps returns the leases that stay within the rule pack's attempt caps; the others
// are returned to the hopper for a day with a decision (cap:daily, cap:30d).
func (e *engine) withinCaps(ctx context.Context, leases []Lease, now time.Time) []Lease {
	pack, ok := e.d.cfg.Rules.Packs[e.c.RulePack]
	if e.c.RulePack == "" || !ok || len(leases) == 0 {
		return leases
	}
	caps := pack.Caps()
	if caps == (compliance.Caps{}) {
		return leases
	}
	phones, ids := make([]string, len(leases)), make([]string, len(leases))
	for i, l := range leases {
		phones[i], ids[i] = l.Phone, l.CallID
	}
	since := now.Add(-31 * 24 * time.Hour)
	if caps.Total > 0 {
		since = time.Time{}
	}
	times, err := e.d.store.attemptTimes(ctx, phones, ids, since)
	if err != nil {
		e.log.Warn("attempt caps: not dialing", "err", err)
		for _, l := range leases {
			e.d.store.Unlease(ctx, l.CallID, now)
		}
		return nil
	}
	loc, err := time.LoadLocation(e.c.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	kept := leases[:0]
	for _, l := range leases {
		if ok, reason := compliance.CheckCaps(caps, times[l.Phone], now, loc); !ok {
			if err := e.d.store.DeferLeased(ctx, l.CallID, now.Add(24*time.Hour), reason, now); err != nil {
				e.log.Warn("return a lead over its attempt cap", "call_id", l.CallID, "err", err)
			}
			continue
		}
		kept = append(kept, l)
	}
	return kept
}
