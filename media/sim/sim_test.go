package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestPlanMixFollowsModel(t *testing.T) {
	m := Default()
	r := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	counts := map[Result]int{}
	for i := 0; i < n; i++ {
		p := m.Plan(r, "+8613800138000", time.Minute)
		counts[p.Result]++
		if p.Result != Answer && p.Talk != 0 {
			t.Fatalf("unanswered plan has talk time: %+v", p)
		}
		if p.Ring > time.Minute {
			t.Fatalf("ring %v exceeds the ring timeout", p.Ring)
		}
	}
	// Ring times of a minute almost never exceed the timeout, so the answer share is
	// the model's within sampling error (4 sigma).
	got := float64(counts[Answer]) / n
	if sd := math.Sqrt(m.AnswerRate * (1 - m.AnswerRate) / n); math.Abs(got-m.AnswerRate) > 4*sd {
		t.Errorf("answer share %.4f, want %.2f", got, m.AnswerRate)
	}
	wantBusy := (1 - m.AnswerRate) * m.BusyShare
	if got := float64(counts[Busy]) / n; math.Abs(got-wantBusy) > 0.01 {
		t.Errorf("busy share %.4f, want %.4f", got, wantBusy)
	}
}

func TestPlanShortRingTimeoutTurnsAnswersIntoNoAnswer(t *testing.T) {
	m := Default()
	m.AnswerRate = 1
	m.RingSigma = 0
	r := rand.New(rand.NewPCG(3, 4))
	p := m.Plan(r, "1", m.RingMedian/2)
	if p.Result != NoAnswer || p.Ring != m.RingMedian/2 {
		t.Fatalf("plan = %+v, want no_answer after the ring timeout", p)
	}
}

func TestOverrides(t *testing.T) {
	m := Default()
	m.Overrides = map[string]Result{"8613800000404": Invalid}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 100; i++ {
		if p := m.Plan(r, "+8613800000404", time.Minute); p.Result != Invalid {
			t.Fatalf("override ignored: %+v", p)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Model)
		ok   bool
	}{
		{"default", func(*Model) {}, true},
		{"answer rate above 1", func(m *Model) { m.AnswerRate = 1.5 }, false},
		{"shares over 1", func(m *Model) { m.BusyShare, m.FailShare = 0.7, 0.5 }, false},
		{"negative talk", func(m *Model) { m.TalkMedian = -time.Second }, false},
		{"bad override", func(m *Model) { m.Overrides = map[string]Result{"1": "maybe"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Default()
			tt.edit(&m)
			if err := m.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
