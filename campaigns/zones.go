package campaigns

import (
	"slices"
	"strings"
	"time"

	"github.com/callplane/callplane/crm"
)

// zoneFields are the contact columns that may name the contact's own time zone.
var zoneFields = []string{"time_zone", "timezone", "tz", "时区"}

// ZoneKey is a lead's time zones as stored in leads.zone_key: the contact's own zone field
// when it names a valid IANA zone, else the zones of the number (several for some
// prefixes), sorted and joined with a space; "" when unknown.
func ZoneKey(r crm.ImportRow) string {
	for _, f := range zoneFields {
		if z := strings.TrimSpace(r.Fields[f]); z != "" {
			if _, err := time.LoadLocation(z); err == nil && z != "Local" {
				return z
			}
		}
	}
	zs := crm.TimeZonesOf(r.Phone)
	slices.Sort(zs)
	return strings.Join(slices.Compact(zs), " ")
}
