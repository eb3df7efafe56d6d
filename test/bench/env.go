package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/taskgate/taskgate/manager"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/test/localcluster"
)

// managerNamespace is where the benchmarked manager keeps its policy, as a
// release of the chart would.
const managerNamespace = "taskgate-system"

// bulkLabel marks the namespaces whose Apps may keep thousands of Tasks, so
// the cap does not prune while throughput and memory are measured.
const bulkLabel = "bench.taskgate.dev/bulk"

// capNamespace is the namespace whose Apps keep capTasks Tasks.
const (
	capNamespace = "bench-cap"
	capTasks     = 5
)

// benchPolicy is a typical policy: Jobs and Tasks kept an hour after
// success and a week after failure, and the cap overrides the bench needs.
// Pending Tasks never expire: the memory figure stops Tekton, and its
// Tasks wait for the bench to run them, longer than the default 5 minutes.
var benchPolicy = fmt.Sprintf(`apiVersion: %s
kind: %s
ttl:
  rules:
  - {name: failed-week, kinds: [Job, Task], when: Failed, ttlSecondsAfterFinished: 604800}
  - {name: succeeded-hour, kinds: [Job, Task], when: Succeeded, ttlSecondsAfterFinished: 3600}
tasks:
  pendingDeadline: 0s
  # The kwok pods are scripted by Task annotations, which reach a pod only
  # when the policy allows them.
  podMetadata: {annotations: ["localcluster.taskgate.dev/*"]}
  cap:
    default: 500
    overrides:
    - {name: bench-cap, namespaces: [%s], maxTasks: %d}
    - {name: bench-bulk, namespaceSelector: {matchLabels: {%s: "true"}}, maxTasks: 100000}
`, policy.APIVersion, policy.DocumentKind, capNamespace, capTasks, bulkLabel)

// Env is the local cluster and the manager process a run measures.
type Env struct {
	Cluster *localcluster.Cluster
	// Client talks to the apiserver directly, without a cache or a client
	// rate limit, so the bench never waits on itself.
	Client   client.WithWatch
	RepoRoot string
	// Dir receives the manager binary, its logs and the cluster's.
	Dir  string
	Logf func(format string, args ...any)
	// APIServerProfile is how long kube-apiserver's CPU is profiled at
	// the start of each throughput phase; 0 does not profile it.
	APIServerProfile time.Duration
	// RealNodeStart is how long the cluster took to start its real node;
	// 0 when it has none.
	RealNodeStart time.Duration

	hooks   *envtest.WebhookInstallOptions
	manager *localcluster.ManagerProcess
	// managerArgs come before the args of each start.
	managerArgs []string
	// runtimeEnv is the chart's GOMEMLIMIT and GOGC: the manager runs with
	// them, as its pods do.
	runtimeEnv []string
}

// Setup starts a local cluster, with a real node if realNode, registers
// the chart's webhooks, builds the manager and writes the bench policy.
// Stop with Teardown, even on error.
func Setup(ctx context.Context, repoRoot, dir string, realNode bool, logf func(string, ...any), managerArgs ...string) (*Env, error) {
	e := &Env{RepoRoot: repoRoot, Dir: dir, Logf: logf, managerArgs: managerArgs}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return e, fmt.Errorf("creating %s: %w", dir, err)
	}
	var err error
	if e.runtimeEnv, err = localcluster.ChartRuntimeEnv(repoRoot); err != nil {
		return e, err
	}
	logf("building the manager")
	if err := localcluster.BuildManager(ctx, repoRoot, filepath.Join(dir, "taskgate")); err != nil {
		return e, err
	}
	// The cluster logs how long each part took to start; the real node's
	// start is a figure of the report.
	clusterLogf := func(format string, args ...any) {
		if d, ok := realNodeStartup(fmt.Sprintf(format, args...)); ok {
			e.RealNodeStart = d
		}
		logf(format, args...)
	}
	e.Cluster, err = localcluster.Start(ctx, localcluster.Options{RepoRoot: repoRoot, Dir: filepath.Join(dir, "cluster"), RealNode: realNode, Logf: clusterLogf})
	if err != nil {
		return e, fmt.Errorf("starting the local cluster: %w", err)
	}
	scheme, err := manager.Scheme()
	if err != nil {
		return e, err
	}
	cfg := rest.CopyConfig(e.Cluster.Config)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit
	if e.Client, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme}); err != nil {
		return e, fmt.Errorf("creating client: %w", err)
	}
	if err := e.createNamespace(ctx, managerNamespace, nil); err != nil {
		return e, err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: managerNamespace, Name: policy.ConfigMapName},
		Data:       map[string]string{policy.ConfigMapKey: benchPolicy},
	}
	if err := e.Client.Create(ctx, cm); err != nil {
		return e, fmt.Errorf("writing the bench policy: %w", err)
	}
	if e.hooks, err = localcluster.InstallWebhooks(e.Cluster.Config, repoRoot, managerNamespace); err != nil {
		return e, err
	}
	e.manager, err = e.StartManager(ctx)
	return e, err
}

// Teardown stops the manager and the cluster.
func (e *Env) Teardown() error {
	if e.manager != nil {
		e.manager.Stop()
	}
	if e.Cluster != nil {
		return e.Cluster.Stop()
	}
	return nil
}

// StartManager runs the manager binary with the chart's defaults plus args,
// serving the webhooks Setup registered, and waits until it is ready.
func (e *Env) StartManager(ctx context.Context, args ...string) (*localcluster.ManagerProcess, error) {
	return localcluster.StartManager(ctx, localcluster.ManagerOptions{
		Binary: filepath.Join(e.Dir, "taskgate"), Kubeconfig: e.Cluster.Kubeconfig, Namespace: managerNamespace,
		Webhooks: e.hooks, Log: filepath.Join(e.Dir, "manager.log"), Args: append(slices.Clone(e.managerArgs), args...),
		Env: e.runtimeEnv, Cluster: e.Cluster,
	})
}

// RestartManager replaces the running manager with a new process started
// with args.
func (e *Env) RestartManager(ctx context.Context, args ...string) error {
	e.manager.Stop()
	m, err := e.StartManager(ctx, args...)
	e.manager = m
	return err
}

// createNamespace creates a namespace with labels, or does nothing if it
// exists.
func (e *Env) createNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := client.IgnoreAlreadyExists(e.Client.Create(ctx, ns)); err != nil {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// deleteNamespace deletes a namespace and waits until it and everything in
// it is gone, so the next measurement starts on a quiet cluster.
func (e *Env) deleteNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := client.IgnoreNotFound(e.Client.Delete(ctx, ns)); err != nil {
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	return poll(ctx, 15*time.Minute, func() (bool, error) {
		err := e.Client.Get(ctx, client.ObjectKeyFromObject(ns), ns)
		return client.IgnoreNotFound(err) == nil && err != nil, client.IgnoreNotFound(err)
	})
}

// poll calls cond every 200 ms until it is true, fails, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
