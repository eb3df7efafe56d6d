package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/taskgate/taskgate/manager"
	"github.com/taskgate/taskgate/test/localcluster"
)

// managerNamespace is where the test manager runs, as a release of the
// chart would.
const managerNamespace = "taskgate-system"

// running is the manager every test talks to, with where it serves and
// how it was started, so a test can stop and restart it.
var running struct {
	*manager.Manager
	metricsURL string
	stop       context.CancelFunc
	done       chan error
	hooks      *envtest.WebhookInstallOptions
	log        logr.Logger
}

// startManager runs taskgate's manager in this process, serving the
// webhooks installHooks registered, and waits until it is ready.
func startManager(ctx context.Context, hooks *envtest.WebhookInstallOptions, log logr.Logger) error {
	running.hooks, running.log = hooks, log
	c, err := client.New(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: managerNamespace}}
	if err := client.IgnoreAlreadyExists(c.Create(ctx, ns)); err != nil {
		return fmt.Errorf("creating %s: %w", managerNamespace, err)
	}
	ports := make([]int, 2)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return err
		}
	}
	opts := manager.DefaultOptions()
	opts.Namespace = managerNamespace
	opts.WebhookHost, opts.WebhookPort, opts.CertDir = hooks.LocalServingHost, hooks.LocalServingPort, hooks.LocalServingCertDir
	opts.MetricsAddr = "127.0.0.1:" + strconv.Itoa(ports[0])
	opts.MetricsSecure = false // tests scrape it without a token
	opts.HealthAddr = "127.0.0.1:" + strconv.Itoa(ports[1])
	opts.LeaderElection = false
	opts.ShutdownDrain = 0
	opts.SkipNameValidation = true
	// A hand edit of a VCAP_SERVICES Secret is put back at the App's
	// resync; TestVCAPServicesSecretFollowsBindings waits for one.
	opts.AppResync = 5 * time.Second
	// The manager runs outside the cluster's network namespace; it reads
	// image labels from the cluster's registry inside it, and nowhere else.
	opts.RegistryTransport = registryRequests.transport()
	mgr, err := manager.New(cluster.Config, opts, log)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(context.Background())
	running.Manager, running.stop, running.done = mgr, stop, make(chan error, 1)
	running.metricsURL = "http://" + opts.MetricsAddr + "/metrics"
	go func() { running.done <- mgr.Run(runCtx) }()

	readyz := "http://" + opts.HealthAddr + "/readyz"
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-running.done:
			return fmt.Errorf("manager exited: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := http.Get(readyz); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	why := "no answer"
	if resp, err := http.Get(readyz + "?verbose"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		why = string(b)
	}
	return fmt.Errorf("manager not ready after a minute (%s); see manager.log", why)
}

func stopManager() error {
	if running.stop == nil {
		return nil
	}
	running.stop()
	running.stop = nil
	return <-running.done
}

// restartManager starts a new manager as the first was started, as a pod
// restart would.
func restartManager() error {
	return startManager(context.Background(), running.hooks, running.log)
}

// managerBinaryInstead builds the manager's binary, for a test that runs
// replicas of it as processes, and stops the suite's in-process manager
// until the test ends, so that only the test's replicas act.
func managerBinaryInstead(ctx context.Context, t *testing.T) string {
	t.Helper()
	bin := filepath.Join(cluster.Dir, "taskgate")
	if err := localcluster.BuildManager(ctx, cluster.RepoRoot, bin); err != nil {
		t.Fatal(err)
	}
	if err := stopManager(); err != nil {
		t.Fatalf("stopping the test's manager: %v", err)
	}
	t.Cleanup(func() {
		if err := restartManager(); err != nil {
			t.Errorf("restarting the test's manager: %v", err)
		}
	})
	return bin
}

// webhookServiceOfTwo returns the webhook ports of two replicas, which
// serve the webhooks behind the suite's one address, as behind the chart's
// Service.
func webhookServiceOfTwo(t *testing.T) []int {
	t.Helper()
	ports := make([]int, 2)
	for i := range ports {
		var err error
		if ports[i], err = freePort(); err != nil {
			t.Fatal(err)
		}
	}
	service, err := localcluster.StartProxy(fmt.Sprintf("%s:%d", running.hooks.LocalServingHost, running.hooks.LocalServingPort),
		fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = service.Close() })
	return ports
}
