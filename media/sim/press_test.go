package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestPressValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*PressModel)
		ok   bool
	}{
		{"default", func(*PressModel) {}, true},
		{"zero value", func(m *PressModel) { *m = PressModel{} }, true},
		{"several keys", func(m *PressModel) { m.Digits = map[string]float64{"1234#": 0.5, "*": 0.5} }, true},
		{"probability above 1", func(m *PressModel) { m.Digits["1"] = 1.2 }, false},
		{"negative probability", func(m *PressModel) { m.Digits["1"] = -0.1 }, false},
		{"sum above 1", func(m *PressModel) { m.Digits = map[string]float64{"1": 0.6, "2": 0.5} }, false},
		{"letter key", func(m *PressModel) { m.Digits["a"] = 0.1 }, false},
		{"empty key", func(m *PressModel) { m.Digits[""] = 0.1 }, false},
		{"negative delay", func(m *PressModel) { m.DelayMedian = -time.Second }, false},
		{"negative sigma", func(m *PressModel) { m.DelaySigma = -1 }, false},
		{"script presses nothing", func(m *PressModel) { m.Script = map[string]string{"1": ""} }, true},
		{"bad script", func(m *PressModel) { m.Script = map[string]string{"1": "1x"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := DefaultPress()
			tt.edit(&m)
			if err := m.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestPressMixFollowsModel(t *testing.T) {
	m := PressModel{Digits: map[string]float64{"1": 0.3, "9": 0.1, "42#": 0.05}, DelayMedian: 2 * time.Second, DelaySigma: 0.5}
	r := rand.New(rand.NewPCG(7, 8))
	const n = 20000
	counts := map[string]int{}
	var delays []time.Duration
	for i := 0; i < n; i++ {
		d, after, ok := m.Press(r, "+8613800138000")
		if !ok {
			if d != "" || after != 0 {
				t.Fatalf("no press returned %q after %v", d, after)
			}
			d = "none"
		} else {
			if after <= 0 {
				t.Fatalf("press %q after %v", d, after)
			}
			delays = append(delays, after)
		}
		counts[d]++
	}
	for d, want := range map[string]float64{"1": 0.3, "9": 0.1, "42#": 0.05, "none": 0.55} {
		got := float64(counts[d]) / n
		if sd := math.Sqrt(want * (1 - want) / n); math.Abs(got-want) > 4*sd {
			t.Errorf("share of %q = %.4f, want %.2f", d, got, want)
		}
	}
	if len(counts) != 4 {
		t.Errorf("presses %v: want only the model's keys and none", counts)
	}
	slices.Sort(delays)
	if med := delays[len(delays)/2]; med < 1800*time.Millisecond || med > 2200*time.Millisecond {
		t.Errorf("median delay %v, want about 2s", med)
	}
}

func TestPressScript(t *testing.T) {
	m := PressModel{
		Digits:      map[string]float64{"1": 1},
		DelayMedian: time.Second,
		Script:      map[string]string{"8613800000009": "9", "8613800000000": ""},
	}
	tests := []struct {
		name   string
		number string
		digits string
		after  time.Duration
		ok     bool
	}{
		{"scripted with +", "+8613800000009", "9", time.Second, true},
		{"scripted without +", "8613800000009", "9", time.Second, true},
		{"scripted silence times out", "+8613800000000", "", 0, false},
		{"unscripted follows the mix", "+8613800000001", "1", time.Second, true},
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, after, ok := m.Press(r, tt.number)
			if d != tt.digits || after != tt.after || ok != tt.ok {
				t.Errorf("Press(%s) = %q, %v, %v; want %q, %v, %v", tt.number, d, after, ok, tt.digits, tt.after, tt.ok)
			}
		})
	}
}

func TestPressReproducibleBySeed(t *testing.T) {
	m := DefaultPress()
	m.Digits = map[string]float64{"1": 0.2, "2": 0.2, "3": 0.2, "4": 0.2}
	run := func() []string {
		r := rand.New(rand.NewPCG(42, 43))
		var out []string
		for i := 0; i < 200; i++ {
			d, after, _ := m.Press(r, "1")
			out = append(out, d+"@"+after.String())
		}
		return out
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Fatal("the same seed gave different presses")
	}
}
