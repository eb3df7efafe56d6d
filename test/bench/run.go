package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Config says which figures to measure, and how much.
type Config struct {
	RepoRoot string
	Dir      string
	// Only lists the figures to run: admission, handlers, throughput, cap,
	// realnode, memory. Empty means all.
	Only []string

	AdmissionRounds, AdmissionJobs int
	HandlerCount                   int
	ThroughputRounds               int
	ThroughputTasks                int
	CapSamples                     int
	RealNodeRounds                 int
	MemoryJobs, MemoryTasks        int
	// ManagerVerbosity is the manager's --v, for reading what it did.
	ManagerVerbosity int
	// APIServerProfile is how long kube-apiserver's CPU is profiled at
	// the start of each throughput phase; 0 does not profile it.
	APIServerProfile time.Duration
}

func (c Config) runs(figure string) bool { return len(c.Only) == 0 || slices.Contains(c.Only, figure) }

// Targets, from the benchmark issue.
const (
	targetAddedP50   = 1.5 // ms taskgate may add at p50
	targetAddedRatio = 1.5 // × what the MutatingAdmissionPolicy adds
	// taskgate's generated admission policies, from issue 28.
	targetPolicyAddedP50   = 0.5 // ms they may add at p50
	targetPolicyAddedRatio = 1.1 // × what the hand-written policy adds
	targetHandler          = 100 // µs per AdmissionReview
	targetThroughput       = 1.2 // × the direct-PipelineRun floor
	targetCapP99           = 2.0 // s
	targetMemoryBytes      = 150 << 20
	targetRealNodeRatio    = 1.1 // × a bare PipelineRun's time on the real node
)

// Run measures the figures cfg asks for on one fresh local cluster, in the
// order admission, handlers, cap, throughput, realnode, memory (memory
// last: it stops Tekton), and returns the report so far even when a figure
// fails. It writes results.md and, with the admission figure, a latency
// plot into cfg.Dir.
func Run(ctx context.Context, cfg Config, logf func(string, ...any)) (*Report, error) {
	begin := time.Now()
	report := &Report{}
	report.Note("Machine: %s/%s, %d CPUs (%s); each figure's spread is min–max over its rounds.", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	if cfg.runs("handlers") {
		// No cluster yet: the handlers get the machine to themselves.
		logf("handlers: go test -bench ./webhook, %d runs each", cfg.HandlerCount)
		env := &Env{RepoRoot: cfg.RepoRoot}
		results, err := env.Handlers(ctx, cfg.HandlerCount)
		if err != nil {
			return report, err
		}
		addHandlerRows(report, results)
	}
	if slices.Equal(cfg.Only, []string{"handlers"}) {
		return report, writeResults(cfg.Dir, report)
	}
	// Only the realnode figure needs the real node, which needs root.
	env, err := Setup(ctx, cfg.RepoRoot, cfg.Dir, cfg.runs("realnode"), logf, fmt.Sprintf("--v=%d", cfg.ManagerVerbosity))
	defer func() {
		if err := env.Teardown(); err != nil {
			logf("stopping the cluster: %v", err)
		}
	}()
	if err != nil {
		return report, err
	}
	env.APIServerProfile = cfg.APIServerProfile
	var admission []AdmissionResult
	var capResult *CapResult
	figures := []struct {
		name string
		run  func() error
	}{
		{"admission", func() error {
			var stopped *ManagerStoppedResult
			admission, stopped, err = env.Admission(ctx, cfg.AdmissionRounds, cfg.AdmissionJobs)
			if err == nil {
				addAdmissionRows(report, admission, cfg.AdmissionJobs)
				addManagerStoppedRows(report, stopped)
			}
			return err
		}},
		{"cap", func() error {
			capResult, err = env.CapConvergence(ctx, cfg.CapSamples)
			if err == nil {
				addCapRows(report, capResult)
			}
			return err
		}},
		{"throughput", func() error {
			results, err := env.Throughput(ctx, cfg.ThroughputRounds, cfg.ThroughputTasks)
			if err == nil {
				addThroughputRows(report, results, cfg.ThroughputTasks)
			}
			return err
		}},
		{"realnode", func() error {
			result, err := env.RealNode(ctx, cfg.RealNodeRounds)
			if err == nil {
				addRealNodeRows(report, result)
			}
			return err
		}},
		{"memory", func() error {
			result, err := env.Memory(ctx, cfg.MemoryJobs, cfg.MemoryTasks)
			if err == nil {
				addMemoryRows(report, result)
			}
			return err
		}},
	}
	for _, f := range figures {
		if !cfg.runs(f.name) {
			continue
		}
		t := time.Now()
		logf("%s: starting", f.name)
		if err := f.run(); err != nil {
			_ = writeResults(cfg.Dir, report)
			return report, fmt.Errorf("%s: %w", f.name, err)
		}
		logf("%s: done in %s", f.name, time.Since(t).Round(time.Second))
	}
	if len(admission) > 0 || capResult != nil {
		path := filepath.Join(cfg.Dir, "latency.png")
		if err := WritePlot(path, admission, capResult); err != nil {
			return report, err
		}
		report.Note("Latency distributions: %s", path)
	}
	report.Note("Whole run: %s.", time.Since(begin).Round(time.Second))
	return report, writeResults(cfg.Dir, report)
}

func writeResults(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.Create(filepath.Join(dir, "results.md"))
	if err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	defer f.Close()
	return r.WriteMarkdown(f)
}

// cpuModel reads the CPU's name for the report.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(b)) {
		if key, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}
