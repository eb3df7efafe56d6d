package manager

import (
	"crypto/tls"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/taskgate/taskgate/policy"
)

// Metrics are taskgate's Prometheus collectors.
type Metrics struct {
	// PolicyReloadErrors counts policy documents that failed to load
	// and left the last good policy in force.
	PolicyReloadErrors prometheus.Counter
	// PolicyDecisions counts policy decisions by rule and outcome.
	PolicyDecisions *prometheus.CounterVec
	// TasksDeleted counts Tasks taskgate deleted, by reason: ttl or cap.
	TasksDeleted *prometheus.CounterVec
	// PolicyInfo is 1 for the policy this replica enforces, in the
	// Prometheus info pattern: its source (configmap or defaults) and the
	// ConfigMap's resourceVersion, so replicas that disagree show.
	PolicyInfo *prometheus.GaugeVec
}

// Values of PolicyInfo's source label.
const (
	policySourceConfigMap = "configmap"
	policySourceDefaults  = "defaults"
)

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
		TasksDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taskgate_tasks_deleted_total",
			Help: "Tasks taskgate deleted, with their PipelineRuns, pods and logs, by reason (ttl, cap).",
		}, []string{"reason"}),
		PolicyInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "taskgate_policy_info",
			Help: "1 for the policy this replica enforces: its source (configmap, or defaults when there is no ConfigMap) and the ConfigMap's resourceVersion.",
		}, []string{"source", "resource_version"}),
	}
	var err error
	m.PolicyReloadErrors, err = register(reg, m.PolicyReloadErrors)
	if err != nil {
		return nil, err
	}
	if m.PolicyDecisions, err = register(reg, m.PolicyDecisions); err != nil {
		return nil, err
	}
	if m.TasksDeleted, err = register(reg, m.TasksDeleted); err != nil {
		return nil, err
	}
	m.PolicyInfo, err = register(reg, m.PolicyInfo)
	return m, err
}

// setPolicyInfo makes the policy in force the only series of PolicyInfo.
func (m *Metrics) setPolicyInfo(source, resourceVersion string) {
	m.PolicyInfo.Reset()
	m.PolicyInfo.WithLabelValues(source, resourceVersion).Set(1)
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

func (m *Metrics) deleted(reason string) {
	m.TasksDeleted.WithLabelValues(reason).Inc()
}

// metricsServerOptions serve metrics as Options say: over HTTPS, to callers
// the apiserver authenticates and authorizes for GET /metrics, or, for local
// runs and tests, over plain HTTP.
func metricsServerOptions(o Options) metricsserver.Options {
	so := metricsserver.Options{BindAddress: o.MetricsAddr}
	if !o.MetricsSecure {
		return so
	}
	so.SecureServing = true
	so.CertDir = o.MetricsCertDir
	so.FilterProvider = filters.WithAuthenticationAndAuthorization
	so.TLSOpts = []func(*tls.Config){func(c *tls.Config) {
		c.MinVersion = tls.VersionTLS12
		// As on the webhook server: HTTP/2's rapid-reset and
		// stream-exhaustion attacks buy a scrape endpoint nothing.
		c.NextProtos = []string{"http/1.1"}
	}}
	return so
}
