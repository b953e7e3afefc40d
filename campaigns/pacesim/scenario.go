package pacesim

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario is one simulated campaign; its YAML form is documented in
// configs/scenarios/README.md. Durations are Go durations ("2.5s", "15m", "8h").
type Scenario struct {
	// Name labels the report (default: the file name).
	Name string `yaml:"name" json:"name"`
	// Agents is the team size (1..10000).
	Agents int `yaml:"agents" json:"agents"`
	// Days is the number of simulated days, one shift each (1..3660, default 30).
	Days int `yaml:"days" json:"days"`
	// Seeds is the number of runs per policy, seeded Seed, Seed+1, ... (default 10).
	Seeds int `yaml:"seeds" json:"seeds"`
	// Seed is the first seed (default 1).
	Seed uint64 `yaml:"seed" json:"seed"`
	// Shift is when the agents work each day.
	Shift Shift `yaml:"shift" json:"shift"`
	// Breaks are taken by every agent each shift, once free.
	Breaks []Break `yaml:"breaks" json:"breaks"`
	// Calls is the call-outcome model.
	Calls Calls `yaml:"calls" json:"calls"`
	// AMD is answer-machine detection.
	AMD AMD `yaml:"amd" json:"amd"`
	// Abandon defines an abandoned call and the threshold a window is judged against.
	Abandon Abandon `yaml:"abandon" json:"abandon"`
	// Pacing configures callplane's policies.
	Pacing Pacing `yaml:"pacing" json:"pacing"`
	// VICIdial configures the VICIdial re-implementation.
	VICIdial VICIdial `yaml:"vicidial" json:"vicidial"`
	// Policies are compared in this order (default: all of Policies).
	Policies []string `yaml:"policies" json:"policies"`
}

// Shift is the working day.
type Shift struct {
	// Start is the time of day the agents log in (default 9h, i.e. 09:00).
	Start time.Duration `yaml:"start" json:"start"`
	// Length is how long they work (default 8h); no call is placed after it.
	Length time.Duration `yaml:"length" json:"length"`
}

// Break is a pause every agent takes once per shift.
type Break struct {
	// At is the offset from the shift start when it is due.
	At time.Duration `yaml:"at" json:"at"`
	// Length is how long it lasts.
	Length time.Duration `yaml:"length" json:"length"`
	// Jitter spreads the agents uniformly over At±Jitter.
	Jitter time.Duration `yaml:"jitter" json:"jitter"`
}

// Calls is the outcome mix and the timings.
type Calls struct {
	// AnswerRate is the probability that a dial is answered (by a person or a machine)
	// at the start of the shift, before Drift.
	AnswerRate float64 `yaml:"answer_rate" json:"answer_rate"`
	// Drift multiplies AnswerRate over the shift: points (at, factor), linear between
	// them, flat outside. Empty: no drift.
	Drift []DriftPoint `yaml:"drift" json:"drift"`
	// BusyShare, RejectShare, UnavailableShare, FailShare split the unanswered dials; the
	// rest ring until RingTimeout (no answer).
	BusyShare        float64 `yaml:"busy_share" json:"busy_share"`
	RejectShare      float64 `yaml:"reject_share" json:"reject_share"`
	UnavailableShare float64 `yaml:"unavailable_share" json:"unavailable_share"`
	FailShare        float64 `yaml:"fail_share" json:"fail_share"`
	// MachineShare is the share of answers that are answering machines.
	MachineShare float64 `yaml:"machine_share" json:"machine_share"`
	// Ring is the time from dial to answer (lognormal by median and sigma).
	Ring Dist `yaml:"ring" json:"ring"`
	// RingTimeout ends unanswered calls (default 30s).
	RingTimeout time.Duration `yaml:"ring_timeout" json:"ring_timeout"`
	// Talk is a live person's talk time (lognormal; give mean or median).
	Talk Dist `yaml:"talk" json:"talk"`
	// MachineTalk is the time an agent spends on a machine that AMD let through.
	MachineTalk Dist `yaml:"machine_talk" json:"machine_talk"`
	// Wrap is the wrap-up time after every call an agent takes.
	Wrap Dist `yaml:"wrap" json:"wrap"`
}

// DriftPoint is one point of the answer-rate drift.
type DriftPoint struct {
	At     time.Duration `yaml:"at" json:"at"`
	Factor float64       `yaml:"factor" json:"factor"`
}

// Dist is a lognormal duration given by its mean or its median (one of them) and sigma.
type Dist struct {
	Mean   time.Duration `yaml:"mean" json:"mean,omitempty"`
	Median time.Duration `yaml:"median" json:"median,omitempty"`
	Sigma  float64       `yaml:"sigma" json:"sigma"`
}

// median returns the distribution's median.
func (d Dist) median() time.Duration {
	if d.Median > 0 {
		return d.Median
	}
	return time.Duration(float64(d.Mean) * math.Exp(-d.Sigma*d.Sigma/2))
}

// mean returns the distribution's mean.
func (d Dist) mean() time.Duration {
	if d.Mean > 0 {
		return d.Mean
	}
	return time.Duration(float64(d.Median) * math.Exp(d.Sigma*d.Sigma/2))
}

// AMD is answer-machine detection.
type AMD struct {
	// Enabled turns detection on; off, every machine reaches an agent.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Sensitivity is the share of machines detected (and hung up).
	Sensitivity float64 `yaml:"sensitivity" json:"sensitivity"`
	// FalsePositiveRate is the share of live persons classified as machines (and hung up).
	FalsePositiveRate float64 `yaml:"false_positive_rate" json:"false_positive_rate"`
	// Delay is how long the analysis listens after the answer (default 2.5s).
	Delay time.Duration `yaml:"delay" json:"delay"`
}

// Abandon defines abandonment.
type Abandon struct {
	// After is how long a connected call waits for an agent, counted from the moment it
	// is handed to the dialer as live (the answer, or the end of AMD) (default 2s).
	After time.Duration `yaml:"after" json:"after"`
	// Threshold is the rate above which a 24 h window counts as over (default 0.03).
	Threshold float64 `yaml:"threshold" json:"threshold"`
}

// Pacing configures callplane's policies.
type Pacing struct {
	// Tick is how often policies are asked, besides whenever an agent becomes ready
	// (default 1s).
	Tick time.Duration `yaml:"tick" json:"tick"`
	// Target and HardCap are the predictive budget's rates (default 0.03 each).
	Target  float64 `yaml:"target" json:"target"`
	HardCap float64 `yaml:"hard_cap" json:"hard_cap"`
	// BudgetWindow is the sliding window of the budget (default 24h).
	BudgetWindow time.Duration `yaml:"budget_window" json:"budget_window"`
	// MinAgents, MinDials, Gain, Reserve, Boost and RelErr tune Predictive (0: its defaults).
	MinAgents int     `yaml:"min_agents" json:"min_agents,omitempty"`
	MinDials  float64 `yaml:"min_dials" json:"min_dials,omitempty"`
	Gain      float64 `yaml:"gain" json:"gain,omitempty"`
	Reserve   float64 `yaml:"reserve" json:"reserve,omitempty"`
	Boost     float64 `yaml:"boost" json:"boost,omitempty"`
	RelErr    float64 `yaml:"rel_err" json:"rel_err,omitempty"`
}

// VICIdial configures the re-implementation of VICIdial's adaptive dialing
// (AST_VDadapt.pl and AST_VDauto_dial.pl); defaults are VICIdial's.
type VICIdial struct {
	// Loop is the auto-dial loop period (AST_VDauto_dial.pl: 2.5s).
	Loop time.Duration `yaml:"loop" json:"loop"`
	// Adapt is the dial-level recalculation period (15s); agents and calls are sampled
	// every second and averaged over the last 15 samples.
	Adapt time.Duration `yaml:"adapt" json:"adapt"`
	// Drops is the drop-statistics refresh period (60s).
	Drops time.Duration `yaml:"drops" json:"drops"`
	// MaxLevel is adaptive_maximum_level (3.0).
	MaxLevel float64 `yaml:"max_level" json:"max_level"`
	// DroppedPercentage is adaptive_dropped_percentage (3).
	DroppedPercentage float64 `yaml:"dropped_percentage" json:"dropped_percentage"`
	// Intensity is adaptive_intensity (0, -40..40).
	Intensity float64 `yaml:"intensity" json:"intensity"`
	// LatestServerTime is adaptive_latest_server_time as HHMM (2100).
	LatestServerTime int `yaml:"latest_server_time" json:"latest_server_time"`
	// DLDiffTarget is adaptive_dl_diff_target (0).
	DLDiffTarget int `yaml:"dl_diff_target" json:"dl_diff_target"`
	// StartLevel is auto_dial_level on the first day (1.0); it carries over between days.
	StartLevel float64 `yaml:"start_level" json:"start_level"`
}

// Policy names.
const (
	PolicyProgressive     = "progressive"
	PolicyVICIdialTapered = "vicidial_tapered"
	PolicyVICIdialHard    = "vicidial_hard_limit"
	PolicyPredictive      = "predictive"
	PolicyCeiling         = "ceiling"
)

// Policies lists the policies a scenario may compare, in the default order.
var Policies = []string{PolicyProgressive, PolicyVICIdialTapered, PolicyVICIdialHard, PolicyPredictive, PolicyCeiling}

// LoadScenario reads and validates a scenario file. Errors name the file and, where the
// YAML decoder or the validation knows it, the line: "file:line: field: problem".
func LoadScenario(path string) (Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("load scenario: %w", err)
	}
	sc, err := ParseScenario(data)
	if err != nil {
		return Scenario{}, prefixErr(path, err)
	}
	if sc.Name == "" {
		base := filepath.Base(path)
		sc.Name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	}
	return sc, nil
}

// ParseScenario decodes, defaults and validates a scenario. Errors name the line and the
// field where they can: "3: calls.answer_rate: 1.3 must be within (0, 1]".
func ParseScenario(data []byte) (Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Scenario{}, yamlErr(err, nil)
	}
	if len(root.Content) == 0 {
		return Scenario{}, errors.New("empty scenario")
	}
	var fields []fieldPos
	collectFields(root.Content[0], "", &fields)
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return Scenario{}, yamlErr(err, fields)
	}
	sc.defaults()
	if err := sc.validate(); err != nil {
		var fe *fieldErr
		if errors.As(err, &fe) {
			if l := lookupLine(fields, fe.field); l > 0 {
				return Scenario{}, fmt.Errorf("%d: %s: %s", l, fe.field, fe.msg)
			}
			return Scenario{}, fmt.Errorf("%s: %s", fe.field, fe.msg)
		}
		return Scenario{}, err
	}
	return sc, nil
}

func (sc *Scenario) defaults() {
	setD := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setF := func(f *float64, v float64) {
		if *f == 0 {
			*f = v
		}
	}
	if sc.Days == 0 {
		sc.Days = 30
	}
	if sc.Seeds == 0 {
		sc.Seeds = 10
	}
	if sc.Seed == 0 {
		sc.Seed = 1
	}
	setD(&sc.Shift.Start, 9*time.Hour)
	setD(&sc.Shift.Length, 8*time.Hour)
	setD(&sc.Calls.RingTimeout, 30*time.Second)
	if sc.Calls.Ring.Mean == 0 && sc.Calls.Ring.Median == 0 {
		sc.Calls.Ring.Median = 10 * time.Second
		setF(&sc.Calls.Ring.Sigma, 0.5)
	}
	if sc.Calls.Talk.Mean == 0 && sc.Calls.Talk.Median == 0 {
		sc.Calls.Talk.Mean = 150 * time.Second
		setF(&sc.Calls.Talk.Sigma, 0.8)
	}
	if sc.Calls.MachineTalk.Mean == 0 && sc.Calls.MachineTalk.Median == 0 {
		sc.Calls.MachineTalk.Median = 8 * time.Second
		setF(&sc.Calls.MachineTalk.Sigma, 0.4)
	}
	if sc.Calls.Wrap.Mean == 0 && sc.Calls.Wrap.Median == 0 {
		sc.Calls.Wrap.Mean = 15 * time.Second
		setF(&sc.Calls.Wrap.Sigma, 0.3)
	}
	setD(&sc.AMD.Delay, 2500*time.Millisecond)
	setD(&sc.Abandon.After, 2*time.Second)
	setF(&sc.Abandon.Threshold, 0.03)
	setD(&sc.Pacing.Tick, time.Second)
	setF(&sc.Pacing.Target, 0.03)
	setF(&sc.Pacing.HardCap, 0.03)
	setD(&sc.Pacing.BudgetWindow, 24*time.Hour)
	v := &sc.VICIdial
	setD(&v.Loop, 2500*time.Millisecond)
	setD(&v.Adapt, 15*time.Second)
	setD(&v.Drops, 60*time.Second)
	setF(&v.MaxLevel, 3.0)
	setF(&v.DroppedPercentage, 3)
	if v.LatestServerTime == 0 {
		v.LatestServerTime = 2100
	}
	setF(&v.StartLevel, 1.0)
	if len(sc.Policies) == 0 {
		sc.Policies = append([]string(nil), Policies...)
	}
}

type fieldErr struct{ field, msg string }

func (e *fieldErr) Error() string { return e.field + ": " + e.msg }

func bad(field, format string, a ...any) error {
	return &fieldErr{field: field, msg: fmt.Sprintf(format, a...)}
}

func (sc *Scenario) validate() error {
	unit := func(field string, v float64) error {
		if v < 0 || v > 1 || math.IsNaN(v) {
			return bad(field, "%v must be within 0..1", v)
		}
		return nil
	}
	dist := func(field string, d Dist, maxSigma float64) error {
		if d.Mean != 0 && d.Median != 0 {
			return bad(field, "give mean or median, not both")
		}
		if d.Mean < 0 || d.Median < 0 {
			return bad(field, "must be positive")
		}
		if d.Sigma < 0 || d.Sigma > maxSigma {
			return bad(field+".sigma", "%v must be within 0..%v", d.Sigma, maxSigma)
		}
		return nil
	}
	c := sc.Calls
	checks := []func() error{
		func() error {
			if sc.Agents < 1 || sc.Agents > 10000 {
				return bad("agents", "%d must be within 1..10000", sc.Agents)
			}
			return nil
		},
		func() error {
			if sc.Days < 1 || sc.Days > 3660 {
				return bad("days", "%d must be within 1..3660", sc.Days)
			}
			return nil
		},
		func() error {
			if sc.Seeds < 1 || sc.Seeds > 1000 {
				return bad("seeds", "%d must be within 1..1000", sc.Seeds)
			}
			return nil
		},
		func() error {
			if sc.Shift.Start < 0 || sc.Shift.Start >= 24*time.Hour {
				return bad("shift.start", "%v must be a time of day within 0..24h", sc.Shift.Start)
			}
			if sc.Shift.Length <= 0 || sc.Shift.Start+sc.Shift.Length > 24*time.Hour {
				return bad("shift.length", "%v must be positive and end the shift before midnight", sc.Shift.Length)
			}
			return nil
		},
		func() error {
			for i, b := range sc.Breaks {
				f := fmt.Sprintf("breaks[%d]", i)
				if b.Length <= 0 {
					return bad(f+".length", "%v must be positive", b.Length)
				}
				if b.At < 0 || b.Jitter < 0 || b.At-b.Jitter < 0 || b.At+b.Jitter > sc.Shift.Length {
					return bad(f+".at", "at %v ± jitter %v must fall within the shift", b.At, b.Jitter)
				}
			}
			return nil
		},
		func() error {
			if c.AnswerRate <= 0 || c.AnswerRate > 1 {
				return bad("calls.answer_rate", "%v must be within (0, 1]", c.AnswerRate)
			}
			return nil
		},
		func() error {
			for i, d := range c.Drift {
				f := fmt.Sprintf("calls.drift[%d]", i)
				if d.Factor <= 0 || d.Factor > 10 {
					return bad(f+".factor", "%v must be within (0, 10]", d.Factor)
				}
				if i > 0 && d.At <= c.Drift[i-1].At {
					return bad(f+".at", "%v must come after the previous point", d.At)
				}
			}
			return nil
		},
		func() error { return unit("calls.busy_share", c.BusyShare) },
		func() error { return unit("calls.reject_share", c.RejectShare) },
		func() error { return unit("calls.unavailable_share", c.UnavailableShare) },
		func() error { return unit("calls.fail_share", c.FailShare) },
		func() error {
			if s := c.BusyShare + c.RejectShare + c.UnavailableShare + c.FailShare; s > 1+1e-9 {
				return bad("calls.busy_share", "busy+reject+unavailable+fail shares sum to %v: must not exceed 1", s)
			}
			return nil
		},
		func() error { return unit("calls.machine_share", c.MachineShare) },
		func() error { return dist("calls.ring", c.Ring, 3) },
		func() error {
			if c.RingTimeout <= 0 || c.RingTimeout > 10*time.Minute {
				return bad("calls.ring_timeout", "%v must be within (0, 10m]", c.RingTimeout)
			}
			return nil
		},
		func() error { return dist("calls.talk", c.Talk, 3) },
		func() error { return dist("calls.machine_talk", c.MachineTalk, 3) },
		func() error { return dist("calls.wrap", c.Wrap, 3) },
		func() error { return unit("amd.sensitivity", sc.AMD.Sensitivity) },
		func() error { return unit("amd.false_positive_rate", sc.AMD.FalsePositiveRate) },
		func() error {
			if sc.AMD.Delay < 0 || sc.AMD.Delay > time.Minute {
				return bad("amd.delay", "%v must be within 0..1m", sc.AMD.Delay)
			}
			return nil
		},
		func() error {
			if sc.Abandon.After <= 0 || sc.Abandon.After > time.Minute {
				return bad("abandon.after", "%v must be within (0, 1m]", sc.Abandon.After)
			}
			return nil
		},
		func() error { return unit("abandon.threshold", sc.Abandon.Threshold) },
		func() error {
			if sc.Pacing.Tick < 10*time.Millisecond || sc.Pacing.Tick > time.Minute {
				return bad("pacing.tick", "%v must be within 10ms..1m", sc.Pacing.Tick)
			}
			return nil
		},
		func() error { return unit("pacing.target", sc.Pacing.Target) },
		func() error { return unit("pacing.hard_cap", sc.Pacing.HardCap) },
		func() error {
			if sc.Pacing.BudgetWindow < time.Minute {
				return bad("pacing.budget_window", "%v must be at least 1m", sc.Pacing.BudgetWindow)
			}
			return nil
		},
		func() error {
			p := sc.Pacing
			if p.MinAgents < 0 || p.MinDials < 0 || p.Gain < 0 || p.Reserve < 0 || p.RelErr < 0 || p.Boost < 0 {
				return bad("pacing", "min_agents, min_dials, gain, reserve, boost and rel_err must not be negative")
			}
			return nil
		},
		func() error {
			v := sc.VICIdial
			if v.Loop < 100*time.Millisecond || v.Adapt < time.Second || v.Drops < time.Second {
				return bad("vicidial", "loop must be at least 100ms, adapt and drops at least 1s")
			}
			if v.MaxLevel < 1 || v.MaxLevel > 100 {
				return bad("vicidial.max_level", "%v must be within 1..100", v.MaxLevel)
			}
			if v.StartLevel < 1 || v.StartLevel > v.MaxLevel {
				return bad("vicidial.start_level", "%v must be within 1..max_level", v.StartLevel)
			}
			if v.DroppedPercentage <= 0 || v.DroppedPercentage > 100 {
				return bad("vicidial.dropped_percentage", "%v must be within (0, 100]", v.DroppedPercentage)
			}
			if v.Intensity < -40 || v.Intensity > 40 {
				return bad("vicidial.intensity", "%v must be within -40..40", v.Intensity)
			}
			if v.LatestServerTime < 0 || v.LatestServerTime > 2400 || v.LatestServerTime%100 >= 60 {
				return bad("vicidial.latest_server_time", "%d must be a time of day as HHMM", v.LatestServerTime)
			}
			return nil
		},
		func() error {
			seen := map[string]bool{}
			for i, p := range sc.Policies {
				f := fmt.Sprintf("policies[%d]", i)
				known := false
				for _, q := range Policies {
					known = known || p == q
				}
				if !known {
					return bad(f, "unknown policy %q (known: %s)", p, strings.Join(Policies, ", "))
				}
				if seen[p] {
					return bad(f, "policy %q listed twice", p)
				}
				seen[p] = true
			}
			return nil
		},
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// fieldPos is where a field is given in the file.
type fieldPos struct {
	path string     // dotted path: "calls.ring.sigma", "breaks[1].at"
	key  string     // the key ("" for a list item)
	line int        // the key's line (the item's, for a list item)
	val  *yaml.Node // the value
}

// collectFields lists the fields given in the file, in document order.
func collectFields(n *yaml.Node, path string, out *[]fieldPos) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			*out = append(*out, fieldPos{path: p, key: k.Value, line: k.Line, val: v})
			collectFields(v, p, out)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			*out = append(*out, fieldPos{path: p, line: v.Line, val: v})
			collectFields(v, p, out)
		}
	}
}

// lookupLine finds the line of field or of its nearest ancestor given in the file.
func lookupLine(fields []fieldPos, field string) int {
	for f := field; f != ""; {
		for _, p := range fields {
			if p.path == f {
				return p.line
			}
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}

var (
	yamlLine     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknown  = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	yamlBadValue = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
)

// typeWords names the Go types of a Scenario in the schema's words.
var typeWords = map[string]string{
	"time.Duration": "a duration (like 2.5s or 8h)",
	"float64":       "a number",
	"int":           "an integer",
	"uint64":        "a non-negative integer",
	"bool":          "true or false",
	"string":        "a string",
}

func typeWord(t string) string {
	if w, ok := typeWords[t]; ok {
		return w
	}
	if strings.HasPrefix(t, "[]") {
		return "a list"
	}
	return "a mapping" // the schema's structs
}

// yamlErr turns yaml.v3's "yaml: line 3: ..." and "line 3: field x not found in type
// pacesim.Calls" into "3: ...", naming the field the line holds ("4: calls.bogus: unknown
// field") and the Go types in the schema's words.
func yamlErr(err error, fields []fieldPos) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for i, m := range msgs {
		m = strings.TrimSpace(m)
		sm := yamlLine.FindStringSubmatch(m)
		if sm == nil {
			msgs[i] = m
			continue
		}
		line, _ := strconv.Atoi(sm[1])
		m = sm[2]
		if u := yamlUnknown.FindStringSubmatch(m); u != nil {
			m = "unknown field"
			if f := fieldAt(fields, line, func(p fieldPos) bool { return p.key == u[1] }); f != "" {
				m = f + ": " + m
			} else {
				m += " " + u[1]
			}
		} else if b := yamlBadValue.FindStringSubmatch(m); b != nil {
			tag, val, typ := b[1], b[2], b[3]
			what := "`" + val + "`"
			switch tag {
			case "!!map":
				what = "a mapping"
			case "!!seq":
				what = "a list"
			}
			m = what + " is not " + typeWord(typ)
			match := func(p fieldPos) bool {
				if p.val.Line != line {
					return false
				}
				switch tag {
				case "!!map":
					return p.val.Kind == yaml.MappingNode
				case "!!seq":
					return p.val.Kind == yaml.SequenceNode
				}
				if p.val.Kind != yaml.ScalarNode {
					return false
				}
				if v, ok := strings.CutSuffix(val, "..."); ok {
					return strings.HasPrefix(p.val.Value, v) // yaml.v3 shortens long values
				}
				return p.val.Value == val
			}
			// Of the fields on the line, the one of the Go type named (a mapping on the
			// line of its parent's key, say).
			f := fieldAt(fields, -1, func(p fieldPos) bool { return match(p) && schemaType(p.path) == typ })
			if f == "" {
				f = fieldAt(fields, -1, match)
			}
			if f != "" {
				m = f + ": " + m
			}
		}
		msgs[i] = fmt.Sprintf("%d: %s", line, m)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// schemaType is the Go type of the Scenario field at path ("calls.ring.sigma",
// "breaks[1].at"), as yaml.v3 names it in errors; "" when the path is not in the schema.
func schemaType(path string) string {
	t := reflect.TypeFor[Scenario]()
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if t.Kind() != reflect.Struct {
			return ""
		}
		found := false
		for i := range t.NumField() {
			f := t.Field(i)
			if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == name {
				t, found = f.Type, true
				break
			}
		}
		if !found {
			return ""
		}
		for ; rest != ""; _, rest, _ = strings.Cut(rest, "[") {
			if t.Kind() != reflect.Slice {
				return ""
			}
			t = t.Elem()
		}
	}
	return t.String()
}

// fieldAt is the path of the first field on line (any line: -1) that match accepts, or "".
func fieldAt(fields []fieldPos, line int, match func(fieldPos) bool) string {
	for _, p := range fields {
		if (line < 0 || p.line == line) && match(p) {
			return p.path
		}
	}
	return ""
}

func prefixErr(path string, err error) error {
	msg := err.Error()
	// Line-numbered messages become file:line: ...
	if i := strings.Index(msg, ": "); i > 0 {
		if _, e := strconv.Atoi(msg[:i]); e == nil {
			return fmt.Errorf("%s:%s", path, msg)
		}
	}
	return fmt.Errorf("%s: %s", path, msg)
}
