package manager

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskgate/taskgate/policy"
)

// Metrics are taskgate's Prometheus collectors.
type Metrics struct {
	// PolicyReloadErrors counts policy documents that failed to load
	// and left the last good policy in force.
	PolicyReloadErrors prometheus.Counter
	// PolicyDecisions counts policy decisions by rule and outcome.
	PolicyDecisions *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them, reusing any that an
// earlier manager in the same process registered.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		PolicyReloadErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taskgate_policy_reload_errors_total",
			Help: "Policy ConfigMap updates that failed to load; the last good policy stayed in force.",
		}),
		PolicyDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taskgate_policy_decisions_total",
			Help: "Policy decisions, by the rule that decided and their outcome.",
		}, []string{"kind", "rule", "outcome"}),
	}
	var err error
	m.PolicyReloadErrors, err = register(reg, m.PolicyReloadErrors)
	if err != nil {
		return nil, err
	}
	m.PolicyDecisions, err = register(reg, m.PolicyDecisions)
	return m, err
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *Metrics) decided(kind policy.ObjectKind, rule string, outcome policy.Outcome) {
	m.PolicyDecisions.WithLabelValues(string(kind), rule, string(outcome)).Inc()
}
