package campaigns

import (
	"context"
	"fmt"
	"time"
)

// AbandonRate is a campaign's abandonment over one window.
type AbandonRate struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Answered counts the calls a person (or an undetected machine) answered; Abandoned
	// those of them that had no agent in time.
	Answered  int `json:"answered"`
	Abandoned int `json:"abandoned"`
	// Rate is Abandoned / Answered.
	Rate float64 `json:"rate"`
	// Ofcom is the AMD-adjusted rate of Ofcom's persistent-misuse policy: abandoned calls
	// less the share that were likely machines (the share of machine dispositions among the
	// calls agents took), plus live persons hung up on by answer-machine detection, over
	// live calls agents took plus that numerator. callplane runs no AMD yet, so the false
	// positive term is 0.
	Ofcom float64 `json:"ofcom"`
}

// AbandonReport is what the abandon ledger says of a campaign at one moment.
type AbandonReport struct {
	CampaignID int64 `json:"campaign_id"`
	// Last30Days is the rolling 30 days (the US TCPA period), Last24h the rolling 24 hours
	// (Ofcom), Today the calendar day in the campaign's time zone.
	Last30Days AbandonRate `json:"last_30_days"`
	Last24h    AbandonRate `json:"last_24h"`
	Today      AbandonRate `json:"today"`
	// Worst24h is the worst 24 h window of the last 30 days, in hour steps; WindowsOver
	// counts the windows above HardCap among Windows.
	Worst24h    AbandonRate `json:"worst_24h"`
	WindowsOver int         `json:"windows_over"`
	Windows     int         `json:"windows"`
	HardCap     float64     `json:"hard_cap"`
	// Recent lists the last abandoned calls, newest first.
	Recent []Abandon `json:"recent"`
}

// Abandon is one row of the ledger.
type Abandon struct {
	CallID      string    `db:"call_id" json:"call_id"`
	LeadID      int64     `db:"lead_id" json:"lead_id"`
	Phone       string    `db:"phone" json:"phone"`
	Node        string    `db:"node" json:"node"`
	AnsweredAt  time.Time `db:"answered_at" json:"answered_at"`
	AbandonedAt time.Time `db:"abandoned_at" json:"abandoned_at"`
}

type hourCounts struct {
	ans, ab, agentLive, agentMachine int
}

// Abandons reads the ledger and the answered calls of a campaign's last 30 days.
func (s *Store) Abandons(ctx context.Context, campaignID int64, now time.Time) (AbandonReport, error) {
	c, err := s.Campaign(ctx, campaignID)
	if err != nil {
		return AbandonReport{}, err
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	from := now.Add(-30 * 24 * time.Hour).Truncate(time.Hour)
	var rows []struct {
		Hour         time.Time `db:"h"`
		Ans          int       `db:"ans"`
		Ab           int       `db:"ab"`
		AgentLive    int       `db:"agent_live"`
		AgentMachine int       `db:"agent_machine"`
	}
	err = s.db.SelectContext(ctx, &rows, `
		SELECT h, sum(ans)::int AS ans, sum(ab)::int AS ab, sum(agent_live)::int AS agent_live,
		       sum(agent_machine)::int AS agent_machine FROM (
			SELECT date_trunc('hour', answered_at) AS h, 1 AS ans, 0 AS ab,
			       (agent_id IS NOT NULL AND disposition NOT IN ('machine', 'answering_machine'))::int AS agent_live,
			       (agent_id IS NOT NULL AND disposition IN ('machine', 'answering_machine'))::int AS agent_machine
			FROM attempts WHERE campaign_id = $1 AND answered_at >= $2 AND answered_at <= $3
			UNION ALL
			SELECT date_trunc('hour', abandoned_at), 0, 1, 0, 0
			FROM abandons WHERE campaign_id = $1 AND abandoned_at >= $2 AND abandoned_at <= $3) x
		GROUP BY h ORDER BY h`, campaignID, from, now)
	if err != nil {
		return AbandonReport{}, fmt.Errorf("abandon rates of campaign %d: %w", campaignID, err)
	}
	hours := map[time.Time]hourCounts{}
	for _, r := range rows {
		hours[r.Hour.UTC()] = hourCounts{r.Ans, r.Ab, r.AgentLive, r.AgentMachine}
	}
	sum := func(from, to time.Time) AbandonRate {
		var t hourCounts
		for h := from.UTC().Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
			x := hours[h]
			t.ans += x.ans
			t.ab += x.ab
			t.agentLive += x.agentLive
			t.agentMachine += x.agentMachine
		}
		return rate(from, to, t)
	}
	rep := AbandonReport{CampaignID: campaignID, HardCap: c.AbandonHardCap}
	rep.Last30Days = sum(from, now)
	rep.Last24h = sum(now.Add(-24*time.Hour), now)
	y, m, d := now.In(loc).Date()
	rep.Today = sum(time.Date(y, m, d, 0, 0, 0, 0, loc), now)
	for end := from.Add(24 * time.Hour); !end.After(now.Add(time.Hour)); end = end.Add(time.Hour) {
		w := sum(end.Add(-24*time.Hour), end)
		if w.Answered == 0 {
			continue
		}
		rep.Windows++
		if w.Rate > c.AbandonHardCap {
			rep.WindowsOver++
		}
		if w.Rate > rep.Worst24h.Rate || rep.Worst24h.To.IsZero() {
			rep.Worst24h = w
		}
	}
	rep.Recent = []Abandon{}
	if err := s.db.SelectContext(ctx, &rep.Recent, `SELECT call_id, lead_id, phone, node, answered_at, abandoned_at
		FROM abandons WHERE campaign_id = $1 ORDER BY abandoned_at DESC, id DESC LIMIT 100`, campaignID); err != nil {
		return AbandonReport{}, fmt.Errorf("abandon ledger of campaign %d: %w", campaignID, err)
	}
	return rep, nil
}

func rate(from, to time.Time, t hourCounts) AbandonRate {
	r := AbandonRate{From: from, To: to, Answered: t.ans, Abandoned: t.ab}
	if t.ans > 0 {
		r.Rate = float64(t.ab) / float64(t.ans)
	}
	adj := float64(t.ab)
	if agent := t.agentLive + t.agentMachine; agent > 0 {
		adj *= 1 - float64(t.agentMachine)/float64(agent)
	}
	if d := float64(t.agentLive) + adj; d > 0 {
		r.Ofcom = adj / d
	}
	return r
}

// abandonCounts returns the answered and abandoned calls of a campaign per minute since
// from, to seed the pacing tracker's budget window after a restart.
func (s *Store) abandonCounts(ctx context.Context, campaignID int64, from time.Time) ([]minuteCount, error) {
	var out []minuteCount
	err := s.db.SelectContext(ctx, &out, `
		SELECT m, sum(ans)::int AS ans, sum(ab)::int AS ab FROM (
			SELECT date_trunc('minute', answered_at) AS m, 1 AS ans, 0 AS ab FROM attempts
			WHERE campaign_id = $1 AND answered_at >= $2 AND state = 'ended'
			UNION ALL
			SELECT date_trunc('minute', abandoned_at), 0, 1 FROM abandons WHERE campaign_id = $1 AND abandoned_at >= $2) x
		GROUP BY m ORDER BY m`, campaignID, from)
	return out, err
}

type minuteCount struct {
	Minute time.Time `db:"m"`
	Ans    int       `db:"ans"`
	Ab     int       `db:"ab"`
}

// ComplianceReport summarizes why a campaign's calls were placed and others were not.
type ComplianceReport struct {
	CampaignID int64 `json:"campaign_id"`
	// Dials counts the attempts charged to contacts; Uncharged those placed again after
	// a trunk failure.
	Dials     int `json:"dials"`
	Uncharged int `json:"uncharged"`
	// Skips counts skip decisions by reason (its first word: dnc:global, window:closed,
	// cap:daily, preview:skipped, trunk:NAME...).
	Skips    map[string]int `json:"skips"`
	Abandons AbandonReport  `json:"abandons"`
	// Breaches are what should never happen, counted from the records: 24 h windows over
	// the abandon hard cap, and calls placed to a number that was on a do-not-call list at
	// that moment.
	Breaches []Breach `json:"breaches"`
}

// Breach is one kind of compliance breach and how often it happened.
type Breach struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// Compliance builds a campaign's compliance report at now.
func (s *Store) Compliance(ctx context.Context, campaignID int64, now time.Time) (ComplianceReport, error) {
	ab, err := s.Abandons(ctx, campaignID, now)
	if err != nil {
		return ComplianceReport{}, err
	}
	rep := ComplianceReport{CampaignID: campaignID, Abandons: ab, Skips: map[string]int{}}
	if err := s.db.GetContext(ctx, &rep, `SELECT count(*) FILTER (WHERE charged) AS dials,
		count(*) FILTER (WHERE NOT charged) AS uncharged FROM attempts WHERE campaign_id = $1`, campaignID); err != nil {
		return ComplianceReport{}, fmt.Errorf("compliance of campaign %d: %w", campaignID, err)
	}
	var skips []struct {
		Reason string `db:"reason"`
		N      int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &skips, `SELECT split_part(reason, ' ', 1) AS reason, count(*) AS n FROM decisions
		WHERE campaign_id = $1 AND action = 'skip' GROUP BY 1 ORDER BY 1`, campaignID); err != nil {
		return ComplianceReport{}, fmt.Errorf("compliance of campaign %d: %w", campaignID, err)
	}
	for _, sk := range skips {
		rep.Skips[sk.Reason] = sk.N
	}
	var dncDials int
	if err := s.db.GetContext(ctx, &dncDials, `SELECT count(*) FROM attempts a WHERE a.campaign_id = $1 AND a.charged
		AND EXISTS (SELECT 1 FROM dnc_entries d WHERE d.phone = a.phone AND (d.campaign_id IS NULL OR d.campaign_id = a.campaign_id)
		            AND d.created_at <= a.started_at AND (d.expires_at IS NULL OR d.expires_at > a.started_at))`, campaignID); err != nil {
		return ComplianceReport{}, fmt.Errorf("compliance of campaign %d: %w", campaignID, err)
	}
	rep.Breaches = []Breach{{Kind: "abandon_rate_24h_over_hard_cap", Count: ab.WindowsOver}, {Kind: "dialed_on_dnc", Count: dncDials}}
	return rep, nil
}
