package campaigns

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the dialer's Prometheus series.
type Metrics struct {
	Originates *prometheus.CounterVec // by node
	Outcomes   *prometheus.CounterVec // by outcome
	Unleased   prometheus.Counter
	Abandons   prometheus.Counter
}

// NewMetrics registers the dialer's series with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Originates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callplane_originates_total", Help: "Calls sent to media nodes, by node.",
		}, []string{"node"}),
		Outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callplane_attempt_outcomes_total", Help: "Ended attempts, by outcome.",
		}, []string{"outcome"}),
		Unleased: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "callplane_leases_returned_total", Help: "Leases returned because no node could take the call.",
		}),
		Abandons: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "callplane_abandoned_calls_total", Help: "Answered calls that had no agent in time.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Originates, m.Outcomes, m.Unleased, m.Abandons)
	}
	return m
}
