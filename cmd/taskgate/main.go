package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
	// The manager's image has no tzdata; TaskSchedule's timeZone needs
	// the IANA zones, about 450 KB.
	_ "time/tzdata"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	// Registers --logging-format=json, as Kubernetes' own components have.
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/manager"
	"github.com/taskgate/taskgate/uninstall"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "taskgate:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 && os.Args[1] == "uninstall" {
		return runUninstall(os.Args[2:])
	}
	opts := manager.DefaultOptions()
	fs := flag.NewFlagSet("taskgate", flag.ContinueOnError)
	var qps float64
	kubeconfig := fs.String("kubeconfig", "", "path to a kubeconfig; in a pod the in-cluster configuration is used")
	fs.StringVar(&opts.Namespace, "namespace", envOr("POD_NAMESPACE", opts.Namespace), "namespace taskgate runs in; holds the policy ConfigMap and the leader Lease")
	fs.StringVar(&opts.PolicyConfigMap, "policy-configmap", opts.PolicyConfigMap, "name of the policy ConfigMap in --namespace")
	fs.StringVar(&opts.MetricsAddr, "metrics-bind-address", opts.MetricsAddr, "address of the Prometheus metrics endpoint; 0 disables it")
	fs.BoolVar(&opts.MetricsSecure, "metrics-secure", opts.MetricsSecure, "serve metrics over HTTPS, only to callers the apiserver authorizes for GET /metrics; false serves plain HTTP to anyone, for local runs")
	fs.StringVar(&opts.MetricsCertDir, "metrics-cert-dir", opts.MetricsCertDir, "directory with the metrics serving certificate (tls.crt, tls.key); empty uses a self-signed one")
	fs.Func("watch-namespaces", "comma-separated namespaces whose Tasks, Apps and Jobs taskgate manages; empty means all (the chart's watchNamespaces)", func(v string) error {
		opts.WatchNamespaces = nil
		for _, ns := range strings.Split(v, ",") {
			if ns = strings.TrimSpace(ns); ns != "" {
				opts.WatchNamespaces = append(opts.WatchNamespaces, ns)
			}
		}
		return nil
	})
	fs.StringVar(&opts.HealthAddr, "health-probe-bind-address", opts.HealthAddr, "address of the /healthz and /readyz endpoints")
	fs.StringVar(&opts.PprofAddr, "pprof-bind-address", opts.PprofAddr, "loopback address of net/http/pprof for profiling, such as 127.0.0.1:8082; empty disables it")
	fs.StringVar(&opts.WebhookHost, "webhook-host", opts.WebhookHost, "address the webhook server listens on; empty means all")
	fs.IntVar(&opts.WebhookPort, "webhook-port", opts.WebhookPort, "port the webhook server listens on")
	fs.StringVar(&opts.CertDir, "cert-dir", opts.CertDir, "directory with the webhook serving certificate (tls.crt, tls.key)")
	fs.BoolVar(&opts.LeaderElection, "leader-elect", opts.LeaderElection, "elect one replica to run the reconcilers")
	fs.StringVar(&opts.LeaderElectionID, "leader-election-id", opts.LeaderElectionID, "name of the leader-election Lease")
	fs.DurationVar(&opts.LeaseDuration, "lease-duration", opts.LeaseDuration, "how long a standby waits before taking an unrenewed Lease")
	fs.DurationVar(&opts.RenewDeadline, "renew-deadline", opts.RenewDeadline, "how long the leader keeps trying to renew before it steps down")
	fs.DurationVar(&opts.RetryPeriod, "retry-period", opts.RetryPeriod, "how often replicas try to acquire or renew the Lease")
	fs.Float64Var(&qps, "kube-api-qps", float64(opts.KubeAPIQPS), "requests per second the manager may make to the API server")
	fs.IntVar(&opts.KubeAPIBurst, "kube-api-burst", opts.KubeAPIBurst, "burst of requests the manager may make to the API server")
	fs.IntVar(&opts.TaskWorkers, "task-workers", opts.TaskWorkers, "how many Tasks are reconciled at once")
	fs.IntVar(&opts.JobWorkers, "job-workers", opts.JobWorkers, "how many finished Jobs get their completion TTL at once")
	fs.StringVar(&opts.JobAdmission, "job-admission", opts.JobAdmission, "who sets new Jobs' creation TTL: policy (kube-apiserver's admission policies, from the JobTTLParams the manager writes) or webhook (the Job webhook); the chart's jobAdmission")
	fs.DurationVar(&opts.AppResync, "app-resync", opts.AppResync, "how often each App's bound Secrets and VCAP_SERVICES Secret are read again (they are not watched)")
	fs.DurationVar(&opts.ShutdownDrain, "shutdown-drain", opts.ShutdownDrain, "how long to keep serving, unready, after SIGTERM")
	fs.DurationVar(&opts.GracefulShutdown, "graceful-shutdown-timeout", opts.GracefulShutdown, "how long runnables get to stop")
	applyLogging := addLoggingFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	opts.KubeAPIQPS = float32(qps)
	log, err := applyLogging()
	if err != nil {
		return err
	}
	defer logs.FlushLogs()
	ctrl.SetLogger(log)

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if *kubeconfig == "" {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	mgr, err := manager.New(cfg, opts, log)
	if err != nil {
		return err
	}
	log.Info("Starting taskgate", "namespace", opts.Namespace, "policyConfigMap", opts.PolicyConfigMap, "watchNamespaces", opts.WatchNamespaces)
	return mgr.Run(ctrl.SetupSignalHandler())
}

// runUninstall is `taskgate uninstall`, the chart's post-delete hook: it
// removes what the release leaves behind (package uninstall).
func runUninstall(args []string) error {
	var l uninstall.Leftovers
	fs := flag.NewFlagSet("taskgate uninstall", flag.ContinueOnError)
	fs.StringVar(&l.Namespace, "namespace", envOr("POD_NAMESPACE", ""), "the release namespace")
	list := func(dst *[]string) func(string) error {
		return func(v string) error { *dst = append(*dst, v); return nil }
	}
	fs.Func("lease", "a leader-election Lease to delete (repeatable)", list(&l.Leases))
	fs.Func("certificate", "a cert-manager Certificate whose Secret, the --secret at the same position, is deleted if cert-manager issued it (repeatable)", list(&l.Certificates))
	fs.Func("secret", "a Secret cert-manager issued for the --certificate at the same position (repeatable)", list(&l.Secrets))
	applyLogging := addLoggingFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := applyLogging()
	if err != nil {
		return err
	}
	defer logs.FlushLogs()
	if l.Namespace == "" {
		return errors.New("uninstall: --namespace (or POD_NAMESPACE) is required")
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctrl.SetupSignalHandler(), time.Minute)
	defer cancel()
	return uninstall.Remove(ctx, c, l, log)
}

// addLoggingFlags adds Kubernetes' own logging flags to fs: --logging-format
// (text or json), -v and --vmodule, so that log pipelines built for kube
// components parse taskgate's lines too. apply, after fs.Parse, puts them
// in force and returns the logger.
func addLoggingFlags(fs *flag.FlagSet) (apply func() (logr.Logger, error)) {
	logConfig := logsapi.NewLoggingConfiguration()
	logsapi.AddGoFlags(logConfig, fs)
	return func() (logr.Logger, error) {
		if err := logsapi.ValidateAndApply(logConfig, nil); err != nil {
			return logr.Logger{}, fmt.Errorf("configuring logging: %w", err)
		}
		return klog.Background(), nil
	}
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
