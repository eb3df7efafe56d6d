// Command bench runs taskgate's benchmark suite on a fresh local cluster and
// prints a markdown table of results beside their baselines; `make bench`
// runs it from test/, the module it belongs to. It writes results.md and
// the latency plot to -dir (.cluster/bench by default).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2/textlogger"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/taskgate/taskgate/test/bench"
	"github.com/taskgate/taskgate/test/localcluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := localcluster.RepoRoot()
	if err != nil {
		return err
	}
	var cfg bench.Config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&cfg.Dir, "dir", filepath.Join(root, ".cluster", "bench"), "directory for the cluster, the manager's log and the results")
	fs.IntVar(&cfg.AdmissionRounds, "admission-rounds", 3, "rounds of the admission figure, each setup once per round")
	fs.IntVar(&cfg.AdmissionJobs, "admission-jobs", 2000, "Jobs created per setup and round")
	fs.IntVar(&cfg.HandlerCount, "handler-count", 5, "times each handler benchmark runs")
	fs.IntVar(&cfg.ThroughputRounds, "throughput-rounds", 2, "rounds of the throughput figure")
	fs.IntVar(&cfg.ThroughputTasks, "throughput-tasks", 1000, "Tasks (and direct PipelineRuns) per throughput round")
	fs.IntVar(&cfg.CapSamples, "cap-samples", 40, "cap convergence samples")
	fs.IntVar(&cfg.RealNodeRounds, "realnode-rounds", 10, "rounds of the realnode figure, each a Task and a bare PipelineRun on the real node")
	fs.IntVar(&cfg.MemoryJobs, "memory-jobs", 50000, "finished Jobs in the cluster for the memory figure")
	fs.IntVar(&cfg.MemoryTasks, "memory-tasks", 10000, "finished Tasks in the cluster for the memory figure")
	fs.IntVar(&cfg.ManagerVerbosity, "manager-v", 0, "the manager's log verbosity (its --v); 1 logs each Task status write")
	fs.DurationVar(&cfg.APIServerProfile, "apiserver-profile", time.Minute, "how long kube-apiserver's CPU is profiled from the start of each throughput phase, into apiserver-cpu-{floor,tasks}-<round>.pprof; 0 turns it off")
	fixedPatch := fs.String(bench.FixedPatchWebhookFlag, "", "serve the admission figure's fixed-patch webhook on this address, with the certificate in -dir, instead of running the bench; the bench starts it so")
	only := fs.String("only", "", "comma-separated figures to run: admission,handlers,throughput,cap,realnode,memory (default all; realnode starts a real node, which needs root)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *fixedPatch != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return bench.ServeFixedPatchWebhook(ctx, *fixedPatch, cfg.Dir)
	}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	cfg.RepoRoot = root
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(cfg.Dir, "bench.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	// envtest and controller-runtime log through this; keep it off the
	// terminal, which shows the report.
	ctrl.SetLogger(textlogger.NewLogger(textlogger.NewConfig(textlogger.Output(logFile))))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := bench.Run(ctx, cfg, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	})
	if report != nil {
		if werr := report.WriteMarkdown(os.Stdout); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}
