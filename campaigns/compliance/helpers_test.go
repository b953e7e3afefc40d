package compliance

import (
	"testing"
	"time"
)

// at parses an RFC 3339 instant for a test table.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad test instant %q: %v", s, err)
	}
	return v
}

// zone loads an IANA zone for a test.
func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// zonesOf loads several zones.
func zonesOf(t testing.TB, names ...string) []*time.Location {
	t.Helper()
	var out []*time.Location
	for _, n := range names {
		out = append(out, zone(t, n))
	}
	return out
}

// pack returns a built-in pack.
func pack(t testing.TB, name string) Pack {
	t.Helper()
	p, ok := Packs()[name]
	if !ok {
		t.Fatalf("no built-in pack %q", name)
	}
	return p
}
