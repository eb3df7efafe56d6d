// Command localcluster builds and runs taskgate's local control plane
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, the
// Tekton controller and a real node) on 127.0.0.1.
//
//	localcluster build            build the pinned binaries into the cache
//	localcluster up   [-dir DIR] [-real-node=false]
//	                              start a cluster in the background
//	localcluster down [-dir DIR]  stop it
//	localcluster install-webhooks [-dir DIR] [-namespace NS]
//	                              register the chart's webhooks for a manager
//	                              run on 127.0.0.1; writes DIR/webhook.env
//	localcluster real-node-namespace [-dir DIR] NAME...
//	                              create or annotate namespaces so that
//	                              their pods run on the real node
//	localcluster exec [-dir DIR] -- CMD [ARG...]
//	                              run CMD inside the cluster's network
//	                              namespace, where pod and Service
//	                              addresses are reachable
//
// The cluster runs in a network namespace of its own, with no link to the
// outside. The kubeconfig works from the machine's own namespace too:
// `up` forwards the apiserver's port on 127.0.0.1 into it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/taskgate/taskgate/test/localcluster"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: localcluster build|up|down [-dir DIR] [-nodes N]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", ".cluster", "directory for the kubeconfig, logs and pid file")
	nodes := fs.Int("nodes", 1, "number of kwok fake nodes")
	realNode := fs.Bool("real-node", true, "add a real node (kubelet, containerd, runc; needs root) for namespaces annotated to use it")
	foreground := fs.Bool("foreground", false, "run the cluster in this process until SIGTERM")
	timeout := fs.Duration("timeout", 30*time.Minute, "how long up may take, including a cold build")
	namespace := fs.String("namespace", "taskgate-system", "namespace of the taskgate release whose webhooks install-webhooks registers")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	root, err := localcluster.RepoRoot()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("resolving -dir: %w", err)
	}
	logf := func(format string, a ...any) { fmt.Printf(format+"\n", a...) }
	switch args[0] {
	case "build":
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		b, err := localcluster.BuildBinaries(ctx, root, logf)
		if err != nil {
			return err
		}
		logf("binaries ready in %s and beside %s", b.Dir(), b.Tekton)
		return nil
	case "up":
		if *foreground {
			return serve(root, abs, *nodes, *realNode, *timeout, logf)
		}
		return detach(abs, args[1:], *timeout)
	case "down":
		return down(abs)
	case "install-webhooks":
		return installWebhooks(root, abs, *namespace)
	case "real-node-namespace":
		return realNodeNamespace(abs, fs.Args())
	case "exec":
		return execInside(abs, fs.Args())
	}
	return fmt.Errorf("unknown command %q: want build, up or down", args[0])
}

// serve runs the cluster until SIGTERM or SIGINT, marking readiness with
// a file beside the kubeconfig.
func serve(root, dir string, nodes int, realNode bool, timeout time.Duration, logf func(string, ...any)) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := localcluster.Start(startCtx, localcluster.Options{RepoRoot: root, Dir: dir, Nodes: nodes, RealNode: realNode, Logf: logf})
	if err != nil {
		if c != nil {
			_ = c.Stop()
		}
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(c.Kubeconfig+"\n"), 0o644); err != nil {
		_ = c.Stop()
		return fmt.Errorf("marking ready: %w", err)
	}
	<-ctx.Done()
	logf("stopping")
	_ = os.Remove(filepath.Join(dir, "ready"))
	return c.Stop()
}

// detach starts "up -foreground" in its own session and waits until it is
// ready or has failed.
func detach(dir string, args []string, timeout time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if pid, err := readPID(dir); err == nil && syscall.Kill(pid, 0) == nil {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			fmt.Printf("cluster already running (pid %d); logs in %s\nexport KUBECONFIG=%s\n", pid, dir, filepath.Join(dir, "kubeconfig"))
			return nil
		}
		return fmt.Errorf("a cluster is starting or broken in %s (pid %d); run 'make cluster-down' first", dir, pid)
	}
	_ = os.Remove(filepath.Join(dir, "ready"))
	logPath := filepath.Join(dir, "localcluster.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("creating %s: %w", logPath, err)
	}
	defer logFile.Close()
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding own executable: %w", err)
	}
	cmd := exec.Command(self, append([]string{"up", "-foreground"}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the cluster: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return fmt.Errorf("writing pid file: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(timeout)
	for {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("cluster exited (%v):\n%s", err, b)
		case <-deadline:
			return fmt.Errorf("cluster not ready after %s; see %s", timeout, logPath)
		case <-time.After(200 * time.Millisecond):
			if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
				fmt.Printf("cluster ready; logs in %s\n"+
					"It runs in a network namespace of its own; the kubeconfig reaches its apiserver through 127.0.0.1, and\n"+
					"  bin/localcluster exec -dir %s -- CMD\nruns CMD inside, where pod and Service addresses answer.\n"+
					"export KUBECONFIG=%s\n", dir, dir, filepath.Join(dir, "kubeconfig"))
				return nil
			}
		}
	}
}

// installWebhooks registers the chart's webhooks against the running
// cluster and writes where the manager must serve them as shell variables.
func installWebhooks(root, dir, namespace string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return fmt.Errorf("loading the cluster's kubeconfig (is it up?): %w", err)
	}
	certDir := filepath.Join(dir, "webhook-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", certDir, err)
	}
	hooks, err := localcluster.InstallWebhooks(cfg, root, namespace)
	if err != nil {
		return err
	}
	for _, f := range []string{"tls.crt", "tls.key"} {
		b, err := os.ReadFile(filepath.Join(hooks.LocalServingCertDir, f))
		if err != nil {
			return fmt.Errorf("reading the serving certificate: %w", err)
		}
		if err := os.WriteFile(filepath.Join(certDir, f), b, 0o600); err != nil {
			return fmt.Errorf("writing the serving certificate: %w", err)
		}
	}
	_ = os.RemoveAll(hooks.LocalServingCertDir)
	env := fmt.Sprintf("WEBHOOK_HOST=%s\nWEBHOOK_PORT=%d\nWEBHOOK_CERT_DIR=%s\n", hooks.LocalServingHost, hooks.LocalServingPort, certDir)
	return os.WriteFile(filepath.Join(dir, "webhook.env"), []byte(env), 0o644)
}

// realNodeNamespace creates each named namespace, or annotates it if it
// exists, so that its pods run on the real node.
func realNodeNamespace(dir string, names []string) error {
	if len(names) == 0 {
		return errors.New("usage: localcluster real-node-namespace [-dir DIR] NAME...")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return fmt.Errorf("loading the cluster's kubeconfig (is it up?): %w", err)
	}
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	ctx := context.Background()
	for _, name := range names {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := controllerutil.CreateOrPatch(ctx, cl, ns, func() error {
			ns.Annotations = labels.Merge(ns.Annotations, localcluster.RealNodeAnnotations())
			return nil
		}); err != nil {
			return fmt.Errorf("putting namespace %s on the real node: %w", name, err)
		}
		// The apiserver's ServiceAccount admission refuses pods, and Tekton
		// fails TaskRuns, until the controller-manager has made the
		// namespace's default ServiceAccount.
		key := client.ObjectKey{Namespace: name, Name: "default"}
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			return cl.Get(ctx, key, &corev1.ServiceAccount{}) == nil, nil
		}); err != nil {
			return fmt.Errorf("waiting for the default ServiceAccount of namespace %s: %w", name, err)
		}
	}
	return nil
}

// execInside replaces this process with the command, run inside the
// cluster's network namespace.
func execInside(dir string, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: localcluster exec [-dir DIR] -- CMD [ARG...]")
	}
	nsArgs, err := localcluster.NamespaceCommand(dir, args[0], args[1:]...)
	if err != nil {
		return err
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return fmt.Errorf("finding nsenter (Debian package util-linux): %w", err)
	}
	return syscall.Exec(nsenter, append([]string{"nsenter"}, nsArgs...), os.Environ())
}

func down(dir string) error {
	pid, err := readPID(dir)
	if err == nil && syscall.Kill(pid, syscall.SIGTERM) != nil {
		err = errors.New("not running")
	}
	if err != nil {
		_ = os.Remove(filepath.Join(dir, "pid"))
		killLeftovers(dir)
		fmt.Println("no cluster running from", dir)
		return nil
	}
	for i := 0; i < 300 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	killLeftovers(dir)
	_ = os.Remove(filepath.Join(dir, "pid"))
	fmt.Println("cluster stopped")
	return nil
}

// killLeftovers kills what a killed cluster left in its network namespace:
// envtest runs etcd and the apiserver in process groups of their own.
func killLeftovers(dir string) {
	if left, err := localcluster.KillLeftovers(dir); err == nil && len(left) > 0 {
		fmt.Printf("killed %d processes left in the cluster's network namespace: %v\n", len(left), left)
	}
}

func readPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return 0, fmt.Errorf("reading pid file: %w", err)
	}
	return strconv.Atoi(string(b))
}
