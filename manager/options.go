package manager

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/taskgate/taskgate/policy"
)

// Options configure the manager. cmd/taskgate fills them from flags.
type Options struct {
	// Namespace is the manager's own namespace: it holds the policy
	// ConfigMap and the leader-election Lease, and policy never touches it.
	Namespace string
	// PolicyConfigMap names the policy ConfigMap in Namespace.
	PolicyConfigMap string

	// WatchNamespaces, when set, are the only namespaces whose Tasks,
	// Apps, Jobs and runs the manager caches and reconciles: the chart's
	// namespaced mode, where its RBAC grants those resources only there.
	// Empty means the whole cluster.
	WatchNamespaces []string

	// MetricsAddr and HealthAddr are the listen addresses of the metrics
	// and health-probe servers; "0" disables one.
	MetricsAddr, HealthAddr string
	// MetricsSecure serves metrics over HTTPS and lets through only
	// requests whose bearer token the apiserver authenticates (a
	// TokenReview) and authorizes for GET on the non-resource URL /metrics
	// (a SubjectAccessReview). Off, metrics are plain HTTP to anyone who
	// reaches the port: for local runs and tests only.
	MetricsSecure bool
	// MetricsCertDir holds the metrics serving certificate, tls.crt and
	// tls.key; empty means a self-signed one generated at start.
	MetricsCertDir string
	// PprofAddr, when set, serves net/http/pprof there, for profiling a
	// live manager. Off by default, and only on a loopback address:
	// profiles expose internals and pprof has no authentication.
	PprofAddr string

	// WebhookHost and WebhookPort are where the webhook server listens.
	WebhookHost string
	WebhookPort int
	// CertDir holds the webhook serving certificate, tls.crt and tls.key.
	CertDir string

	// LeaderElection turns on leader election for the reconcilers.
	LeaderElection bool
	// LeaderElectionID names the Lease.
	LeaderElectionID string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration

	// KubeAPIQPS and KubeAPIBurst bound the manager's requests to the API
	// server; API Priority and Fairness protects the server itself. A Task
	// costs about eleven requests (nine on this budget; Events have their
	// own), so at 50 QPS a thousand Tasks waited on the budget, not on
	// Tekton: the manager sent 41 requests a second until the last
	// finished, at 2.0× the floor (docs/performance.md, run 4).
	KubeAPIQPS   float32
	KubeAPIBurst int

	// TaskWorkers is how many Tasks the reconciler works on at once. A
	// Task's first reconcile waited on four writes in a row (its ID, its
	// ID label, its PipelineRun, its status), so with 4 workers and the
	// client budget half used a thousand Tasks took 75 s to get their
	// PipelineRuns (docs/performance.md, run 5).
	TaskWorkers int
	// JobWorkers is how many finished Jobs get their completion TTL at
	// once, each with one patch. When Jobs finish faster than those
	// patches go out, they queue, and the queue's maps keep the size of
	// the deepest backlog: 10 000 Jobs finishing in 3 to 4 minutes queued
	// 9 331 deep with 1 worker, 3 877 with 4, 1 868 with 16
	// (docs/performance.md, fixes after run 11).
	JobWorkers int
	// AppResync is how often each App's bound Secrets and VCAP_SERVICES
	// Secret are read again. They are not watched (the manager may not
	// list or watch Secrets), so a changed credential, or a hand edit of
	// the VCAP_SERVICES Secret, is taken up within it; each pass costs one
	// GET per binding and one for the VCAP_SERVICES Secret.
	AppResync time.Duration

	// ShutdownDrain is how long the manager keeps serving, unready, after
	// a termination signal, so endpoints stop sending it requests first.
	ShutdownDrain time.Duration
	// GracefulShutdown bounds how long runnables get to stop.
	GracefulShutdown time.Duration

	// RegistryTransport makes the requests that read an image's labels
	// from its registry, where policy tasks.launcherDetection allows;
	// nil is go-containerregistry's default transport. Tests replace it
	// to reach a registry in another network namespace.
	RegistryTransport http.RoundTripper

	// JobAdmission is who sets new Jobs' creation TTL: JobAdmissionPolicy,
	// kube-apiserver's admission policies, from the JobTTLParams the
	// manager writes; or JobAdmissionWebhook, the Job webhook. The chart
	// registers the matching one (its jobAdmission value).
	JobAdmission string

	// SkipNameValidation lets a second manager start in the same process,
	// as tests that restart the manager do.
	SkipNameValidation bool
}

// DefaultOptions are the options a flag left unset gets.
func DefaultOptions() Options {
	return Options{
		Namespace:        "taskgate-system",
		PolicyConfigMap:  policy.ConfigMapName,
		MetricsAddr:      ":8443",
		MetricsSecure:    true,
		HealthAddr:       ":8081",
		WebhookPort:      9443,
		CertDir:          "/tmp/k8s-webhook-server/serving-certs",
		LeaderElection:   true,
		LeaderElectionID: "taskgate-manager",
		LeaseDuration:    15 * time.Second,
		RenewDeadline:    10 * time.Second,
		RetryPeriod:      2 * time.Second,
		KubeAPIQPS:       100,
		TaskWorkers:      16,
		JobWorkers:       16,
		AppResync:        time.Minute,
		KubeAPIBurst:     200,
		ShutdownDrain:    5 * time.Second,
		GracefulShutdown: 30 * time.Second,
		JobAdmission:     JobAdmissionWebhook,
	}
}

// Who sets new Jobs' creation TTL (Options.JobAdmission).
const (
	JobAdmissionPolicy  = "policy"
	JobAdmissionWebhook = "webhook"
)

// Validate reports options that cannot work.
func (o Options) Validate() error {
	switch {
	case o.Namespace == "":
		return fmt.Errorf("--namespace is required: the namespace taskgate runs in")
	case o.PolicyConfigMap == "":
		return fmt.Errorf("--policy-configmap must name a ConfigMap")
	case o.WebhookPort <= 0 || o.WebhookPort > 65535:
		return fmt.Errorf("--webhook-port %d is not a port", o.WebhookPort)
	case o.JobAdmission != JobAdmissionPolicy && o.JobAdmission != JobAdmissionWebhook:
		return fmt.Errorf("--job-admission %q must be %s or %s", o.JobAdmission, JobAdmissionPolicy, JobAdmissionWebhook)
	case o.AppResync <= 0:
		return fmt.Errorf("--app-resync %s must be positive", o.AppResync)
	case o.LeaderElection && !(o.LeaseDuration > o.RenewDeadline && o.RenewDeadline > o.RetryPeriod):
		return fmt.Errorf("leader election needs --lease-duration > --renew-deadline > --retry-period")
	}
	if o.PprofAddr != "" {
		if err := loopbackOnly(o.PprofAddr); err != nil {
			return fmt.Errorf("--pprof-bind-address %q: %w", o.PprofAddr, err)
		}
	}
	seen := map[string]bool{}
	for _, ns := range o.WatchNamespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fmt.Errorf("--watch-namespaces: %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		if seen[ns] {
			return fmt.Errorf("--watch-namespaces lists %q twice", ns)
		}
		seen[ns] = true
	}
	return nil
}

// loopbackOnly refuses a listen address reachable from other hosts.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not host:port: %w", err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("pprof has no authentication; bind it to a loopback address such as 127.0.0.1:8082 and reach it with kubectl port-forward")
	}
	return nil
}

// cacheNamespaces are the namespaces the caches default to: nil for the
// whole cluster, or WatchNamespaces. Objects whose cache names its own
// namespaces, such as the policy ConfigMap in Namespace, and cluster-scoped
// ones, such as Namespaces, are not narrowed by it.
func (o Options) cacheNamespaces() map[string]cache.Config {
	if len(o.WatchNamespaces) == 0 {
		return nil
	}
	m := make(map[string]cache.Config, len(o.WatchNamespaces))
	for _, ns := range o.WatchNamespaces {
		m[ns] = cache.Config{}
	}
	return m
}
