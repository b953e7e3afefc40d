package compliance

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestResolveZones(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	tests := []struct {
		name, explicit, zoneKey string
		fallback                *time.Location
		want                    []string
		source                  string
		err                     string
	}{
		{"contact field wins", "Asia/Shanghai", "America/New_York", paris, []string{"Asia/Shanghai"}, SourceContact, ""},
		{"zone_key with commas", " ", "America/New_York,America/Chicago", paris, []string{"America/New_York", "America/Chicago"}, SourceNumber, ""},
		{"zone_key with spaces as stored today", "", "America/Chicago America/New_York", paris, []string{"America/Chicago", "America/New_York"}, SourceNumber, ""},
		{"zone_key duplicates dropped", "", "Asia/Shanghai, Asia/Shanghai", paris, []string{"Asia/Shanghai"}, SourceNumber, ""},
		{"campaign zone last", "", "", paris, []string{"Europe/Paris"}, SourceCampaign, ""},
		{"unknown contact zone", "Mars/Base", "Asia/Shanghai", paris, nil, "", `contact time zone: unknown time zone "Mars/Base"`},
		{"unknown zone_key names all named", "", "Mars/Base,Asia/Shanghai,Moon/Crater", paris, nil, "", `zone_key: unknown time zone "Mars/Base", "Moon/Crater"`},
		{"host zone refused", "Local", "", paris, nil, "", `unknown time zone "Local"`},
		{"nothing known", "", "", nil, nil, "", "no time zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			locs, source, err := ResolveZones(tt.explicit, tt.zoneKey, tt.fallback)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range locs {
				got = append(got, l.String())
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") || source != tt.source {
				t.Errorf("got %v from %s, want %v from %s", got, source, tt.want, tt.source)
			}
		})
	}
}

func TestResolveZonesWrapsErrUnknownZone(t *testing.T) {
	if _, _, err := ResolveZones("", "Nowhere/Town", nil); !errors.Is(err, ErrUnknownZone) {
		t.Errorf("err = %v, want ErrUnknownZone", err)
	}
}

func TestResolveZonesCachedAndConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	results := make([]*time.Location, 16)
	for i := range results {
		wg.Go(func() {
			locs, _, err := ResolveZones("", "Pacific/Chatham", nil)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = locs[0]
		})
	}
	wg.Wait()
	for _, l := range results {
		if l != results[0] {
			t.Fatal("concurrent loads returned different *time.Location values; want the cached one")
		}
	}
}
