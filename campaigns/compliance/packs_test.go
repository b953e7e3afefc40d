package compliance

import (
	"strings"
	"testing"
)

func TestBuiltinPacksValidate(t *testing.T) {
	for name, p := range Packs() {
		if err := p.Validate(); err != nil {
			t.Errorf("built-in pack %s: %v", name, err)
		}
		if p.Name != name {
			t.Errorf("built-in pack %s has Name %q", name, p.Name)
		}
		if _, err := BuiltinHolidays().Select(p.Holidays...); err != nil {
			t.Errorf("built-in pack %s: %v", name, err)
		}
	}
}

func TestPacksReturnsFreshCopies(t *testing.T) {
	p := Packs()
	p["fr"].Hours["sat"] = []string{"00:00-24:00"}
	p["us"].Hours["mon"][0] = "00:00-24:00"
	if got := Packs(); got["fr"].Hours["sat"] != nil || got["us"].Hours["mon"][0] != "08:00-21:00" {
		t.Fatalf("editing one Packs() result changed the next: %v %v", got["fr"].Hours, got["us"].Hours)
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]Pack
		errs      []string // substrings the error must hold; none means success
		check     func(t *testing.T, packs map[string]Pack)
	}{
		{
			name:      "adds a pack and names it by key",
			overrides: map[string]Pack{"de": {Hours: Week{"Mon": {"08:00-20:00"}}, MaxAttemptsDay: 2}},
			check: func(t *testing.T, packs map[string]Pack) {
				if packs["de"].Name != "de" || packs["de"].MaxAttemptsDay != 2 || len(packs) != 5 {
					t.Errorf("de = %+v, %d packs", packs["de"], len(packs))
				}
			},
		},
		{
			name:      "replaces a built-in pack whole",
			overrides: map[string]Pack{"fr": {Hours: Week{"mon": {"10:00-13:00"}}}},
			check: func(t *testing.T, packs map[string]Pack) {
				if fr := packs["fr"]; fr.MaxAttempts30d != 0 || len(fr.Hours) != 1 || fr.Holidays != nil {
					t.Errorf("fr = %+v", fr)
				}
				if packs["us"].Hours["sun"][0] != "08:00-21:00" {
					t.Errorf("us changed: %+v", packs["us"])
				}
			},
		},
		{
			name:      "overlapping ranges",
			overrides: map[string]Pack{"x": {Hours: Week{"mon": {"10:00-13:00", "12:00-14:00"}}}},
			errs:      []string{"pack x: hours.mon: ranges 10:00-13:00 and 12:00-14:00 overlap"},
		},
		{
			name:      "end not after start",
			overrides: map[string]Pack{"x": {Hours: Week{"tue": {"08:00-21:00", "22:00-21:30"}}}},
			errs:      []string{`pack x: hours.tue[1]: range "22:00-21:30": end 21:30 is not after start 22:00`},
		},
		{
			name:      "bad time",
			overrides: map[string]Pack{"x": {Hours: Week{"wed": {"8am-9pm"}}}},
			errs:      []string{`pack x: hours.wed[0]: range "8am-9pm": bad time "8am"`},
		},
		{
			name:      "unknown weekday",
			overrides: map[string]Pack{"x": {Hours: Week{"funday": {"08:00-09:00"}}}},
			errs:      []string{"pack x: hours.funday: unknown weekday"},
		},
		{
			name:      "weekday given twice",
			overrides: map[string]Pack{"x": {Hours: Week{"mon": {"08:00-09:00"}, "MON": {"10:00-11:00"}}}},
			errs:      []string{"pack x: hours.mon: weekday already given as hours.MON"},
		},
		{
			name:      "negative caps",
			overrides: map[string]Pack{"x": {MaxAttempts30d: -1, MaxAttemptsDay: -2}},
			errs:      []string{"pack x: max_attempts_30d: -1 is negative", "max_attempts_day: -2 is negative"},
		},
		{
			name: "problems in several packs are all reported",
			overrides: map[string]Pack{
				"a": {Hours: Week{"sun": {"x"}}},
				"b": {Holidays: []string{""}},
			},
			errs: []string{"pack a: hours.sun[0]", "pack b: holidays[0]: empty calendar name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			packs, err := Merge(tt.overrides)
			if len(tt.errs) > 0 {
				if err == nil {
					t.Fatalf("Merge succeeded, want errors %q", tt.errs)
				}
				for _, e := range tt.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("error %q does not contain %q", err, e)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			tt.check(t, packs)
		})
	}
}

func TestPackCaps(t *testing.T) {
	if got := pack(t, "fr").Caps(); got != (Caps{Per30Days: 4}) {
		t.Errorf("fr caps = %+v", got)
	}
}
