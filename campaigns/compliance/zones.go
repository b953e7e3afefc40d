package compliance

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Where a callee's zones came from, as ResolveZones reports it.
const (
	SourceContact  = "contact"  // the contact's own time-zone field
	SourceNumber   = "number"   // the lead's zone_key, derived from the phone number
	SourceCampaign = "campaign" // the campaign's zone, when nothing better is known
)

// ErrUnknownZone is wrapped by ResolveZones when a name is not an IANA time zone.
var ErrUnknownZone = errors.New("unknown time zone")

// ResolveZones returns the zones to judge a callee's local time by, and their source: the
// contact's explicit zone field (one IANA name) when set; else the lead's zone_key (IANA
// names from the number, separated by commas or spaces; all of them, since the callee
// may be in any); else the campaign's zone. A name that is not an IANA zone is an error
// naming it (wrapping ErrUnknownZone); "Local" is refused, as it depends on the host.
func ResolveZones(explicit string, zoneKey string, fallback *time.Location) ([]*time.Location, string, error) {
	if name := strings.TrimSpace(explicit); name != "" {
		loc, err := loadZone(name)
		if err != nil {
			return nil, "", fmt.Errorf("contact time zone: %w", err)
		}
		return []*time.Location{loc}, SourceContact, nil
	}
	if names := strings.FieldsFunc(zoneKey, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }); len(names) > 0 {
		var locs []*time.Location
		var bad []string
		seen := map[string]bool{}
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			loc, err := loadZone(name)
			if err != nil {
				bad = append(bad, fmt.Sprintf("%q", name))
				continue
			}
			locs = append(locs, loc)
		}
		if len(bad) > 0 {
			return nil, "", fmt.Errorf("zone_key: %w %s", ErrUnknownZone, strings.Join(bad, ", "))
		}
		return locs, SourceNumber, nil
	}
	if fallback == nil {
		return nil, "", errors.New("no time zone: contact, number and campaign zones are all unset")
	}
	return []*time.Location{fallback}, SourceCampaign, nil
}

// zones caches time.LoadLocation results by name (successes only, so junk names from
// contact data cannot grow it without bound).
var zones sync.Map // string -> *time.Location

// loadZone is time.LoadLocation, cached, refusing "Local".
func loadZone(name string) (*time.Location, error) {
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location), nil
	}
	if strings.EqualFold(name, "local") {
		return nil, fmt.Errorf("%w %q: the host's zone is not a callee's", ErrUnknownZone, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownZone, name)
	}
	v, _ := zones.LoadOrStore(name, loc)
	return v.(*time.Location), nil
}
