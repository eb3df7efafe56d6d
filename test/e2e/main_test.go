package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2/textlogger"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/test/localcluster"
)

// cluster is the one local cluster every test in the package shares.
var cluster *localcluster.Cluster

// scheme is localcluster.NewScheme.
var scheme *runtime.Scheme

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if scheme, err = localcluster.NewScheme(); err != nil {
		fmt.Fprintln(os.Stderr, "building scheme:", err)
		return 1
	}
	root, err := localcluster.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir := filepath.Join(root, ".cluster", "e2e")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// controller-runtime's logger is set before envtest first logs, in
	// the cluster's start.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logFile, err := os.Create(filepath.Join(dir, "manager.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating manager log:", err)
		return 1
	}
	defer logFile.Close()
	log := textlogger.NewLogger(textlogger.NewConfig(textlogger.Output(logFile), textlogger.Verbosity(2)))
	ctrl.SetLogger(log)
	cluster, err = localcluster.Start(ctx, localcluster.Options{
		RepoRoot: root, Dir: dir, RealNode: true,
		Logf: func(format string, args ...any) { fmt.Printf("localcluster: "+format+"\n", args...) },
	})
	if cluster != nil {
		defer func() {
			if err := cluster.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the local cluster:", err, "\nlogs in", dir)
		return 1
	}
	hooks, err := cluster.InstallWebhooks(managerNamespace)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := startManager(ctx, hooks, log); err != nil {
		fmt.Fprintln(os.Stderr, "starting the manager:", err)
		return 1
	}
	defer func() {
		if err := stopManager(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the manager:", err)
		}
	}()
	// Tests script kwok pods with Task annotations, which reach a pod only
	// when policy allows them.
	c, err := client.New(cluster.Config, client.Options{Scheme: scheme})
	if err == nil {
		err = applyBasePolicy(ctx, c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// freePort asks the kernel for an unused port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newClient returns an admin client that reads straight from the apiserver.
func newClient(t *testing.T) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	// Tests create Tasks by the hundred; client-go's 5 QPS would make
	// them wait on the client, not on taskgate.
	cfg.QPS, cfg.Burst = 200, 400
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("creating client: %v", err)
	}
	return c
}

// newNamespace creates a namespace for one test and deletes it afterwards.
func newNamespace(t *testing.T, c client.Client) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	// Pods run as the namespace's default ServiceAccount, which
	// kube-controller-manager creates moments later; a Task created first
	// fails in Tekton with serviceaccounts "default" not found.
	// After the apiserver restart test, the controller-manager's watches
	// come back on client-go's reflector backoff (30 s, jittered up to
	// 60 s), hence 90 s.
	eventually(t, 90*time.Second, "the default ServiceAccount of "+ns.Name, func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKey{Namespace: ns.Name, Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, err
	})
	return ns.Name
}

// newRealNodeNamespace creates a namespace whose pods run on the real node,
// for tests of what a process does, and deletes it afterwards.
func newRealNodeNamespace(t *testing.T, c client.Client) string {
	t.Helper()
	ns := newNamespace(t, c)
	patch := client.MergeFrom(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Annotations: localcluster.RealNodeAnnotations()}}
	if err := c.Patch(context.Background(), obj, patch); err != nil {
		t.Fatalf("putting namespace %s on the real node: %v", ns, err)
	}
	return ns
}

// eventually polls cond until it returns true, failing the test with cond's
// last error when timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
