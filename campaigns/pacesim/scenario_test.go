package pacesim

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseScenarioErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // the error's beginning
	}{
		{"unknown top-level field", "agents: 5\nagnets: 3\ncalls: {answer_rate: 0.3}\n",
			"2: agnets: unknown field"},
		{"unknown nested field", "agents: 5\ncalls:\n  answer_rate: 0.3\n  answer: 1\n",
			"4: calls.answer: unknown field"},
		{"unknown field in a flow mapping", "agents: 5\ncalls: {answer_rate: 0.3}\nbreaks:\n  - {at: 1h, length: 15m, jiter: 5m}\n",
			"4: breaks[0].jiter: unknown field"},
		{"word for a duration", "agents: 5\nshift:\n  start: nine\ncalls: {answer_rate: 0.3}\n",
			"3: shift.start: `nine` is not a duration"},
		{"number without unit for a duration", "agents: 5\nshift:\n  start: 9\ncalls: {answer_rate: 0.3}\n",
			"3: shift.start: `9` is not a duration"},
		{"long bad duration in a flow mapping", "agents: 5\ncalls: {answer_rate: 0.3}\nbreaks:\n  - {at: 1h, length: fifteen-minutes}\n",
			"4: breaks[0].length: `fifteen...` is not a duration"},
		{"word for a count", "agents: five\ncalls: {answer_rate: 0.3}\n",
			"1: agents: `five` is not an integer"},
		{"mapping for a number", "agents: 5\ncalls:\n  answer_rate: {x: 1}\n",
			"3: calls.answer_rate: a mapping is not a number"},
		{"negative seed", "agents: 5\nseed: -1\ncalls: {answer_rate: 0.3}\n",
			"2: seed: `-1` is not a non-negative integer"},
		{"agents missing", "calls: {answer_rate: 0.3}\n",
			"agents: 0 must be within 1..10000"},
		{"agents out of range", "agents: 20000\ncalls: {answer_rate: 0.3}\n",
			"1: agents: 20000 must be within 1..10000"},
		{"answer_rate above 1", "agents: 5\ncalls:\n  answer_rate: 1.3\n",
			"3: calls.answer_rate: 1.3 must be within (0, 1]"},
		{"answer_rate missing", "agents: 5\ncalls:\n  busy_share: 0.1\n",
			"2: calls.answer_rate: 0 must be within (0, 1]"},
		{"negative share", "agents: 5\ncalls:\n  answer_rate: 0.3\n  fail_share: -0.1\n",
			"4: calls.fail_share: -0.1 must be within 0..1"},
		{"shares summing above 1", "agents: 5\ncalls:\n  answer_rate: 0.3\n  busy_share: 0.6\n  fail_share: 0.6\n",
			"4: calls.busy_share: busy+reject+unavailable+fail shares sum to 1.2"},
		{"ring given by mean and median", "agents: 5\ncalls:\n  answer_rate: 0.3\n  ring: {mean: 12s, median: 10s}\n",
			"4: calls.ring: give mean or median, not both"},
		{"sigma out of range", "agents: 5\ncalls:\n  answer_rate: 0.3\n  talk: {mean: 2m, sigma: 4}\n",
			"4: calls.talk.sigma: 4 must be within 0..3"},
		{"break beyond the shift", "agents: 5\ncalls: {answer_rate: 0.3}\nshift: {length: 4h}\nbreaks:\n  - {at: 1h, length: 15m}\n  - {at: 5h, length: 15m}\n",
			"6: breaks[1].at: at 5h0m0s ± jitter 0s must fall within the shift"},
		{"shift past midnight", "agents: 5\ncalls: {answer_rate: 0.3}\nshift:\n  start: 20h\n  length: 8h\n",
			"5: shift.length: 8h0m0s must be positive and end the shift before midnight"},
		{"unknown policy", "agents: 5\ncalls: {answer_rate: 0.3}\npolicies: [progressive, nope]\n",
			`3: policies[1]: unknown policy "nope"`},
		{"duplicate policy", "agents: 5\ncalls: {answer_rate: 0.3}\npolicies:\n  - progressive\n  - predictive\n  - progressive\n",
			`6: policies[2]: policy "progressive" listed twice`},
		{"start level above max level", "agents: 5\ncalls: {answer_rate: 0.3}\nvicidial:\n  max_level: 2\n  start_level: 2.5\n",
			"5: vicidial.start_level: 2.5 must be within 1..max_level"},
		{"YAML syntax", "agents: 5\ncalls: [\n",
			"2: "},
		{"empty", "# nothing here\n", "empty scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want it to begin with %q", err, tt.want)
			}
		})
	}
}

func TestParseScenarioDefaults(t *testing.T) {
	sc, err := ParseScenario([]byte("agents: 5\ncalls:\n  answer_rate: 0.3\n  talk: {median: 2m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"days", sc.Days, 30},
		{"seeds", sc.Seeds, 10},
		{"seed", sc.Seed, uint64(1)},
		{"shift", sc.Shift, Shift{Start: 9 * time.Hour, Length: 8 * time.Hour}},
		{"ring timeout", sc.Calls.RingTimeout, 30 * time.Second},
		{"ring", sc.Calls.Ring, Dist{Median: 10 * time.Second, Sigma: 0.5}},
		{"talk given without sigma: kept, no spread", sc.Calls.Talk, Dist{Median: 2 * time.Minute}},
		{"machine talk", sc.Calls.MachineTalk, Dist{Median: 8 * time.Second, Sigma: 0.4}},
		{"wrap", sc.Calls.Wrap, Dist{Mean: 15 * time.Second, Sigma: 0.3}},
		{"amd delay", sc.AMD.Delay, 2500 * time.Millisecond},
		{"abandon", sc.Abandon, Abandon{After: 2 * time.Second, Threshold: 0.03}},
		{"pacing", sc.Pacing, Pacing{Tick: time.Second, Target: 0.03, HardCap: 0.03, BudgetWindow: 24 * time.Hour}},
		{"vicidial", sc.VICIdial, VICIdial{Loop: 2500 * time.Millisecond, Adapt: 15 * time.Second, Drops: time.Minute,
			MaxLevel: 3, DroppedPercentage: 3, LatestServerTime: 2100, StartLevel: 1}},
		{"policies", sc.Policies, Policies},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %+v, want %+v", c.name, c.got, c.want)
		}
	}
	// The default list is a copy: editing a scenario's leaves the package's alone.
	sc.Policies[0] = "x"
	if Policies[0] != PolicyProgressive {
		t.Errorf("Policies[0] = %q after editing a scenario's list", Policies[0])
	}
}

func TestDistMeanAndMedian(t *testing.T) {
	d := Dist{Mean: 150 * time.Second, Sigma: 0.8}
	if got, want := d.median(), 150*time.Second*100/138; got < want-time.Second || got > want+time.Second {
		t.Errorf("median() = %v, want about %v (mean·e^(−σ²/2))", got, want)
	}
	if got := d.mean(); got != 150*time.Second {
		t.Errorf("mean() = %v, want the given 2m30s", got)
	}
	m := Dist{Median: d.median(), Sigma: 0.8}
	if got := m.mean(); got < 150*time.Second-time.Millisecond || got > 150*time.Second+time.Millisecond {
		t.Errorf("mean() of the median form = %v, want 2m30s", got)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadScenario(t *testing.T) {
	t.Run("errors begin with the file name and line", func(t *testing.T) {
		path := writeFile(t, "bad.yaml", "# a comment\nname: bad\nagents: 0.5\ncalls: {answer_rate: 0.3}\n")
		_, err := LoadScenario(path)
		if want := path + ":3: agents: "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %v, want it to begin with %q", err, want)
		}
	})
	t.Run("validation errors too", func(t *testing.T) {
		path := writeFile(t, "bad.yaml", "agents: 5\ncalls:\n  answer_rate: 2\n")
		_, err := LoadScenario(path)
		if want := path + ":3: calls.answer_rate: 2 must be"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %v, want it to begin with %q", err, want)
		}
	})
	t.Run("errors without a line", func(t *testing.T) {
		path := writeFile(t, "bad.yaml", "calls: {answer_rate: 0.3}\n")
		_, err := LoadScenario(path)
		if want := path + ": agents: "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %v, want it to begin with %q", err, want)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.yaml")
		_, err := LoadScenario(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want it to name %s", err, path)
		}
	})
	t.Run("name defaults to the file name", func(t *testing.T) {
		sc, err := LoadScenario(writeFile(t, "small-team.yaml", "agents: 5\ncalls: {answer_rate: 0.3}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if sc.Name != "small-team" {
			t.Errorf("Name = %q, want small-team", sc.Name)
		}
	})
	t.Run("given name stands", func(t *testing.T) {
		sc, err := LoadScenario(writeFile(t, "x.yml", "name: mine\nagents: 5\ncalls: {answer_rate: 0.3}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if sc.Name != "mine" {
			t.Errorf("Name = %q, want mine", sc.Name)
		}
	})
}

func TestShippedScenariosLoad(t *testing.T) {
	files, err := filepath.Glob("../../configs/scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenario in ../../configs/scenarios")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := LoadScenario(f)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Name == "" || len(sc.Policies) == 0 {
				t.Errorf("name %q, policies %v: want both", sc.Name, sc.Policies)
			}
		})
	}
}

func TestSchemaType(t *testing.T) {
	for path, want := range map[string]string{
		"agents":           "int",
		"calls.ring.sigma": "float64",
		"breaks[1].at":     "time.Duration",
		"policies[0]":      "string",
		"policies":         "[]string",
		"calls":            "pacesim.Calls",
		"calls.nope":       "",
		"agents.x":         "",
		"agents[0]":        "",
	} {
		if got := schemaType(path); got != want {
			t.Errorf("schemaType(%q) = %q, want %q", path, got, want)
		}
	}
}
