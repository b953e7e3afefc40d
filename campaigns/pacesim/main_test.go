package pacesim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

const small = `
agents: 5
days: 1
seeds: 1
shift: {length: 1h}
calls: {answer_rate: 0.3}
policies: [progressive, predictive, ceiling]
`

func TestMainCommand(t *testing.T) {
	good := writeFile(t, "small.yaml", small)
	bad := writeFile(t, "bad.yaml", "agents: 5\ncalls:\n  answer_rate: 7\n")
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for none
	}{
		{"--scenario missing", nil, "--scenario is required"},
		{"bad scenario file", []string{"--scenario", bad}, bad + ":3: calls.answer_rate: "},
		{"a bad file fails before any work", []string{"--scenario", good, "--scenario", bad}, bad + ":3: "},
		{"missing file", []string{"--scenario", good + ".nope"}, good + ".nope"},
		{"unexpected argument", []string{"--scenario", good, "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"--scenarios", good}, "flag provided but not defined"},
		{"table", []string{"--scenario", good}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Main(tt.args, &stdout, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if stdout.Len() > 0 {
					t.Errorf("printed %q before failing", stdout.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out := stdout.String()
			for _, want := range []string{"scenario small: 5 agents", "progressive", "predictive", "ceiling", "abandon 30d"} {
				if !strings.Contains(out, want) {
					t.Errorf("table lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestMainJSON(t *testing.T) {
	a := writeFile(t, "a.yaml", small)
	b := writeFile(t, "b.yaml", strings.Replace(small, "agents: 5", "agents: 8", 1))
	var stdout, stderr bytes.Buffer
	if err := Main([]string{"--scenario", a, "--scenario", b, "--json", "--parallel", "2"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var reps []Report
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&reps); err != nil {
		t.Fatalf("output is not a JSON array of reports: %v\n%s", err, stdout.String())
	}
	if len(reps) != 2 || reps[0].Scenario != "a" || reps[1].Scenario != "b" || reps[1].Agents != 8 {
		t.Fatalf("reports %+v, want a's then b's", reps)
	}
	for _, rep := range reps {
		if len(rep.Rows) != 3 || rep.Rows[0].Policy != PolicyProgressive || rep.Rows[2].Policy != PolicyCeiling {
			t.Errorf("%s: rows %+v, want progressive, predictive, ceiling", rep.Scenario, rep.Rows)
		}
		if rep.SimulatedCalls == 0 || rep.Rows[0].Dials == 0 {
			t.Errorf("%s: no call simulated", rep.Scenario)
		}
	}
	// The same scenario run alone gives the same report.
	sc, err := LoadScenario(a)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(Run(sc))
	got, _ := json.Marshal(reps[0])
	if !bytes.Equal(got, want) {
		t.Errorf("report through Main:\n%s\nwant Run's:\n%s", got, want)
	}
}
