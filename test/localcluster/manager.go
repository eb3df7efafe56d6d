package localcluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/taskgate/taskgate/release"
)

// BuildManager builds taskgate's manager binary, cmd/taskgate, to out, as
// the release builds the image's (release.GoBuild): static, without cgo,
// symbols or DWARF, so the pages of the binary a measured manager touches
// are those of the binary that ships, and the build cache serves both.
func BuildManager(ctx context.Context, repoRoot, out string) error {
	host := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if err := release.GoBuild(ctx, "", repoRoot, host, "./cmd/taskgate", out); err != nil {
		return fmt.Errorf("building the manager: %w", err)
	}
	return nil
}

// ChartRuntimeEnv reads, from the chart's values, the Go runtime settings
// the manager's pods run with: GOMEMLIMIT, the container's memory limit,
// and GOGC, manager.gcPercent.
func ChartRuntimeEnv(repoRoot string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "charts", "taskgate", "values.yaml"))
	if err != nil {
		return nil, fmt.Errorf("reading the chart's values: %w", err)
	}
	var values struct {
		Manager struct {
			GCPercent *int `json:"gcPercent"`
		} `json:"manager"`
		Resources corev1.ResourceRequirements `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &values); err != nil {
		return nil, fmt.Errorf("decoding the chart's values: %w", err)
	}
	limit, ok := values.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		return nil, fmt.Errorf("the chart's values set no resources.limits.memory")
	}
	if values.Manager.GCPercent == nil {
		return nil, fmt.Errorf("the chart's values set no manager.gcPercent")
	}
	return []string{
		fmt.Sprintf("GOMEMLIMIT=%d", limit.Value()),
		fmt.Sprintf("GOGC=%d", *values.Manager.GCPercent),
	}, nil
}

// ManagerOptions say how to run the manager binary against a cluster.
type ManagerOptions struct {
	// Binary is the manager, from BuildManager.
	Binary     string
	Kubeconfig string
	// Namespace holds the policy ConfigMap and the leader Lease.
	Namespace string
	// Webhooks is where the API server calls the webhooks
	// (InstallWebhooks); the process serves them with its certificate.
	Webhooks *envtest.WebhookInstallOptions
	// WebhookPort, when set, serves the webhooks on another port than the
	// API server calls: a standby replica's.
	WebhookPort int
	// Log is the file the process's output is appended to.
	Log string
	// Args come after the defaults, so they override them.
	Args []string
	// Env is added to the process's environment, as a pod spec's env is.
	Env []string
	// Cluster, when set, runs the manager inside the cluster's network
	// namespace, as a pod would be: the apiserver calls its webhooks with
	// no forwarder between, and its HTTP endpoints are reached from there.
	// Without it the manager runs in the machine's namespace, and the
	// webhooks need Cluster.InstallWebhooks' forwarder.
	Cluster *Cluster
}

// ManagerProcess is the manager running as its own process, as in a pod,
// so its memory is its own and it can be killed.
type ManagerProcess struct {
	cmd        *exec.Cmd
	done       chan struct{}
	http       *http.Client
	MetricsURL string
	// PprofURL serves net/http/pprof.
	PprofURL string
}

// StartManager runs the manager binary with the chart's defaults (leader
// election off) plus opts.Args, and waits until it is ready.
func StartManager(ctx context.Context, opts ManagerOptions) (*ManagerProcess, error) {
	ports := make([]string, 3)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	webhookPort := opts.WebhookPort
	if webhookPort == 0 {
		webhookPort = opts.Webhooks.LocalServingPort
	}
	log, err := os.OpenFile(opts.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the manager log: %w", err)
	}
	args := append([]string{
		"--kubeconfig=" + opts.Kubeconfig, "--namespace=" + opts.Namespace, "--leader-elect=false",
		"--webhook-host=" + opts.Webhooks.LocalServingHost, "--webhook-port=" + strconv.Itoa(webhookPort),
		"--cert-dir=" + opts.Webhooks.LocalServingCertDir,
		"--metrics-bind-address=127.0.0.1:" + ports[0], "--health-probe-bind-address=127.0.0.1:" + ports[1],
		"--pprof-bind-address=127.0.0.1:" + ports[2], "--shutdown-drain=0s",
		// Plain HTTP: the tests and the bench scrape it without a token.
		"--metrics-secure=false",
	}, opts.Args...)
	cmd, httpClient := exec.Command(opts.Binary, args...), http.DefaultClient
	if opts.Cluster != nil {
		cmd, httpClient = exec.Command("nsenter", opts.Cluster.network.nsenterArgs(opts.Binary, args...)...), opts.Cluster.HTTPClient()
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	m := &ManagerProcess{
		cmd: cmd, done: make(chan struct{}), http: httpClient,
		MetricsURL: "http://127.0.0.1:" + ports[0] + "/metrics", PprofURL: "http://127.0.0.1:" + ports[2] + "/debug/pprof",
	}
	go func() { _ = cmd.Wait(); _ = log.Close(); close(m.done) }()
	readyz := "http://127.0.0.1:" + ports[1] + "/readyz"
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err = poll(ctx, func() (bool, error) {
		select {
		case <-m.done:
			return false, fmt.Errorf("the manager exited; see %s", opts.Log)
		default:
		}
		resp, err := m.Get(readyz)
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

// Get fetches one of the manager's HTTP endpoints (MetricsURL, PprofURL)
// from the network namespace the manager runs in.
func (m *ManagerProcess) Get(url string) (*http.Response, error) {
	return m.http.Get(url)
}

// Stop ends the process: SIGTERM, then SIGKILL after 10 s.
func (m *ManagerProcess) Stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.Kill()
	}
}

// Kill ends the process with SIGKILL, as the kernel's OOM killer or a
// lost node would: no cleanup, no Lease released.
func (m *ManagerProcess) Kill() {
	_ = m.cmd.Process.Kill()
	<-m.done
}

// ProcessMemory is a process's resident memory, in bytes, from
// /proc/<pid>/status.
type ProcessMemory struct {
	// RSS is resident now (VmRSS), Peak at its highest (VmHWM).
	RSS, Peak int64
	// Anon is the resident anonymous memory (RssAnon): the Go heap,
	// stacks and runtime. File is the resident pages of mapped files
	// (RssFile): the binary's code and data the process has touched.
	Anon, File int64
}

// Memory reads the process's resident memory now.
func (m *ManagerProcess) Memory() (ProcessMemory, error) {
	var mem ProcessMemory
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return mem, fmt.Errorf("reading the manager's status: %w", err)
	}
	defer f.Close()
	fields := map[string]*int64{"VmRSS:": &mem.RSS, "VmHWM:": &mem.Peak, "RssAnon:": &mem.Anon, "RssFile:": &mem.File}
	s := bufio.NewScanner(f)
	for s.Scan() {
		for prefix, to := range fields {
			if rest, ok := strings.CutPrefix(s.Text(), prefix); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err != nil {
					return mem, fmt.Errorf("parsing %s %q: %w", prefix, rest, err)
				}
				*to = kb * 1024
			}
		}
	}
	if mem.RSS == 0 || mem.Peak == 0 || mem.Anon == 0 {
		return mem, fmt.Errorf("no VmRSS, VmHWM or RssAnon in /proc/%d/status", m.cmd.Process.Pid)
	}
	return mem, s.Err()
}

// Metrics scrapes the manager's Prometheus endpoint and returns each
// unlabelled gauge or counter, and the sum over labels of labelled ones;
// for those with a method label, also each method's part (ByMethod).
func (m *ManagerProcess) Metrics() (map[string]float64, error) {
	resp, err := m.Get(m.MetricsURL)
	if err != nil {
		return nil, fmt.Errorf("scraping the manager: %w", err)
	}
	defer resp.Body.Close()
	families, err := ParseMetrics(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("the manager's metrics: %w", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, mt := range f.GetMetric() {
			var v float64
			switch {
			case mt.GetGauge() != nil:
				v = mt.GetGauge().GetValue()
			case mt.GetCounter() != nil:
				v = mt.GetCounter().GetValue()
			}
			out[name] += v
			for _, l := range mt.GetLabel() {
				if l.GetName() == "method" {
					out[ByMethod(name, l.GetValue())] += v
				}
			}
		}
	}
	return out, nil
}

// ByMethod names, in Metrics' result, the part of metric whose method
// label is method: rest_client_requests_total{method="GET"}.
func ByMethod(metric, method string) string {
	return fmt.Sprintf("%s{method=%q}", metric, method)
}

// ParseMetrics reads the Prometheus text format.
func ParseMetrics(r io.Reader) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	return families, nil
}
