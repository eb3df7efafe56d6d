package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
var benchPolicy = fmt.Sprintf(`apiVersion: %s
kind: %s
ttl:
  rules:
  - {name: failed-week, kinds: [Job, Task], when: Failed, ttlSecondsAfterFinished: 604800}
  - {name: succeeded-hour, kinds: [Job, Task], when: Succeeded, ttlSecondsAfterFinished: 3600}
tasks:
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

	hooks   *envtest.WebhookInstallOptions
	manager *ManagerProcess
}

// Setup starts a local cluster, registers the chart's webhooks, builds the
// manager and writes the bench policy. Stop with Teardown, even on error.
func Setup(ctx context.Context, repoRoot, dir string, logf func(string, ...any)) (*Env, error) {
	e := &Env{RepoRoot: repoRoot, Dir: dir, Logf: logf}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return e, fmt.Errorf("creating %s: %w", dir, err)
	}
	logf("building the manager")
	bin := filepath.Join(dir, "taskgate")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/taskgate")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return e, fmt.Errorf("building the manager: %w: %s", err, out)
	}
	var err error
	e.Cluster, err = localcluster.Start(ctx, localcluster.Options{RepoRoot: repoRoot, Dir: filepath.Join(dir, "cluster"), Logf: logf})
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

// ManagerProcess is the taskgate manager running as its own process, as in
// a pod, so its memory is its own.
type ManagerProcess struct {
	cmd        *exec.Cmd
	done       chan struct{}
	MetricsURL string
	// PprofURL serves net/http/pprof.
	PprofURL string
}

// StartManager runs the manager binary with the chart's defaults plus args,
// serving the webhooks Setup registered, and waits until it is ready.
func (e *Env) StartManager(ctx context.Context, args ...string) (*ManagerProcess, error) {
	ports := make([]string, 3)
	for i := range ports {
		p, err := localcluster.FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	log, err := os.OpenFile(filepath.Join(e.Dir, "manager.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the manager log: %w", err)
	}
	cmd := exec.Command(filepath.Join(e.Dir, "taskgate"), append([]string{
		"--kubeconfig=" + e.Cluster.Kubeconfig, "--namespace=" + managerNamespace, "--leader-elect=false",
		"--webhook-host=" + e.hooks.LocalServingHost, "--webhook-port=" + strconv.Itoa(e.hooks.LocalServingPort),
		"--cert-dir=" + e.hooks.LocalServingCertDir,
		"--metrics-bind-address=127.0.0.1:" + ports[0], "--health-probe-bind-address=127.0.0.1:" + ports[1],
		"--pprof-bind-address=127.0.0.1:" + ports[2], "--shutdown-drain=0s",
	}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	m := &ManagerProcess{
		cmd: cmd, done: make(chan struct{}),
		MetricsURL: "http://127.0.0.1:" + ports[0] + "/metrics", PprofURL: "http://127.0.0.1:" + ports[2] + "/debug/pprof",
	}
	go func() { _ = cmd.Wait(); _ = log.Close(); close(m.done) }()
	readyz := "http://127.0.0.1:" + ports[1] + "/readyz"
	err = poll(ctx, 2*time.Minute, func() (bool, error) {
		select {
		case <-m.done:
			return false, fmt.Errorf("the manager exited; see %s", filepath.Join(e.Dir, "manager.log"))
		default:
		}
		resp, err := http.Get(readyz)
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		m.Stop()
		return nil, fmt.Errorf("waiting for the manager to be ready: %w", err)
	}
	return m, nil
}

// RestartManager replaces the running manager with a new process started
// with args.
func (e *Env) RestartManager(ctx context.Context, args ...string) error {
	e.manager.Stop()
	m, err := e.StartManager(ctx, args...)
	e.manager = m
	return err
}

// Stop ends the process: SIGTERM, then SIGKILL after 10 s.
func (m *ManagerProcess) Stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

// RSS is the process's resident set size, from /proc.
func (m *ManagerProcess) RSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("reading the manager's status: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing VmRSS %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", m.cmd.Process.Pid)
}

// Metrics scrapes the manager's Prometheus endpoint and returns each
// unlabelled gauge or counter, and the sum over labels of labelled ones.
func (m *ManagerProcess) Metrics() (map[string]float64, error) {
	resp, err := http.Get(m.MetricsURL)
	if err != nil {
		return nil, fmt.Errorf("scraping the manager: %w", err)
	}
	defer resp.Body.Close()
	families, err := parseMetrics(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("the manager's metrics: %w", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, mt := range f.GetMetric() {
			switch {
			case mt.GetGauge() != nil:
				out[name] += mt.GetGauge().GetValue()
			case mt.GetCounter() != nil:
				out[name] += mt.GetCounter().GetValue()
			}
		}
	}
	return out, nil
}

// parseMetrics reads the Prometheus text format.
func parseMetrics(r io.Reader) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	return families, nil
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

// profileManager takes a CPU profile of the manager for d, or a heap
// profile when d is 0, and writes it to <name>.pprof in the run's
// directory, with `go tool pprof -top` beside it in <name>.txt.
func (e *Env) profileManager(ctx context.Context, d time.Duration, name string) error {
	url := fmt.Sprintf("%s/profile?seconds=%d", e.manager.PprofURL, int(d.Seconds()))
	if d == 0 {
		url = e.manager.PprofURL + "/heap"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profiling the manager: %w", err)
	}
	defer resp.Body.Close()
	path := filepath.Join(e.Dir, name+".pprof")
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing the profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the profile: %w", err)
	}
	top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", filepath.Join(e.Dir, "taskgate"), path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("summarising the profile: %w: %s", err, top)
	}
	return os.WriteFile(filepath.Join(e.Dir, name+".txt"), top, 0o644)
}
