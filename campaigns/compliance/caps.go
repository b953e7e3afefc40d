package compliance

import "time"

// Caps limits the attempts made to one number; a zero field means no cap.
type Caps struct {
	// PerDay caps attempts per calendar day, local to the callee.
	PerDay int `yaml:"per_day" json:"per_day"`
	// Total caps attempts ever.
	Total int `yaml:"total" json:"total"`
	// Per30Days caps attempts within any 30 days (720 hours).
	Per30Days int `yaml:"per_30_days" json:"per_30_days"`
}

// Stricter returns, field by field, the tighter of c and o (a zero field is no cap), for
// combining a campaign's caps with its rule pack's.
func (c Caps) Stricter(o Caps) Caps {
	return Caps{PerDay: tighter(c.PerDay, o.PerDay), Total: tighter(c.Total, o.Total), Per30Days: tighter(c.Per30Days, o.Per30Days)}
}

func tighter(a, b int) int {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// CheckCaps reports whether one more attempt at now stays within c, given the number's
// earlier attempts (across campaigns; any order; attempts after now are ignored). A day
// is the local calendar day in loc (UTC when nil); 30 days are the 720 hours before now.
// Reasons, most lasting first: "cap:total", "cap:30d", "cap:daily"; "" when ok.
func CheckCaps(c Caps, attempts []time.Time, now time.Time, loc *time.Location) (ok bool, reason string) {
	local := now.In(orUTC(loc))
	y, m, d := local.Date()
	monthAgo := now.Add(-30 * 24 * time.Hour)
	var total, month, day int
	for _, a := range attempts {
		if a.After(now) {
			continue
		}
		total++
		if a.After(monthAgo) {
			month++
		}
		if ay, am, ad := a.In(local.Location()).Date(); ay == y && am == m && ad == d {
			day++
		}
	}
	switch {
	case c.Total > 0 && total >= c.Total:
		return false, "cap:total"
	case c.Per30Days > 0 && month >= c.Per30Days:
		return false, "cap:30d"
	case c.PerDay > 0 && day >= c.PerDay:
		return false, "cap:daily"
	}
	return true, ""
}
