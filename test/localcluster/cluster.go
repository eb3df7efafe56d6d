package localcluster

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// Options configure a cluster.
type Options struct {
	// RepoRoot is the taskgate checkout; the pinned modules and CRDs are
	// read from it.
	RepoRoot string
	// Dir receives the kubeconfig and one log file per component.
	Dir string
	// Nodes is the number of kwok fake nodes; at least one.
	Nodes int
	// RealNode adds a real node beside kwok's: kubelet, containerd and
	// runc, for pods in namespaces with RealNodeAnnotations. It needs root.
	RealNode bool
	// WithoutTaskgateCRDs leaves taskgate's CRDs out, for the chart to
	// install: Helm refuses to adopt objects it did not create.
	WithoutTaskgateCRDs bool
	// Logf reports progress.
	Logf func(format string, args ...any)
}

// Cluster is a running local control plane.
type Cluster struct {
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// Kubeconfig is the path of the admin kubeconfig.
	Kubeconfig string
	// Binaries are the executables the cluster runs; Kubectl is handy in
	// tests.
	Binaries Binaries
	// Dir holds the kubeconfig and the components' logs.
	Dir string
	// RepoRoot is the taskgate checkout the cluster was built from.
	RepoRoot string

	env   *envtest.Environment
	procs []*Process
	// lock is held while the cluster runs: see lockMachine.
	lock *os.File
	// stopPodLogs stops the controller that serves annotated pods' logs.
	stopPodLogs context.CancelFunc
	// realNode is the running real node, if Options.RealNode.
	realNode *realNode
	// network is the namespace every component runs in; proxies forward
	// between it and the machine's.
	network *clusterNetwork
	proxies []*Proxy
	// registry serves images to the real node, if Options.RealNode.
	registry *Registry
}

// Start builds what is missing and starts a cluster. Stop it with Stop, even
// when Start fails.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Nodes < 1 {
		opts.Nodes = 1
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", opts.Dir, err)
	}
	bins, err := BuildBinaries(ctx, opts.RepoRoot, opts.Logf)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Binaries: bins, Dir: opts.Dir, RepoRoot: opts.RepoRoot}
	if c.lock, err = lockMachine(ctx, opts.Logf); err != nil {
		return c, err
	}
	begin := time.Now()
	if err := checkNetworkPrerequisites(); err != nil {
		return c, err
	}
	// A cluster killed before it stopped leaves etcd and the apiserver
	// running in its namespace; the machine's lock is held, so they are
	// stale.
	_, _ = KillLeftovers(c.Dir)
	if c.network, err = startClusterNetwork(c.Dir); err != nil {
		return c, fmt.Errorf("starting the cluster's network namespace: %w", err)
	}
	type step struct {
		name string
		run  func(context.Context, Options) error
	}
	steps := []step{
		{"kube-apiserver", c.startAPIServer},
		{"kube-controller-manager", c.startControllerManager},
		{"kube-scheduler", c.startScheduler},
		{"kwok", c.startKwok},
		{"tekton", c.startTekton},
	}
	if opts.RealNode {
		steps = append(steps, step{"the registry", c.startRegistry}, step{"the real node", c.startRealNode})
	}
	steps = append(steps, step{"kube-proxy and CoreDNS", c.startServices})
	for _, s := range steps {
		t := time.Now()
		if err := s.run(ctx, opts); err != nil {
			return c, fmt.Errorf("starting %s: %w", s.name, err)
		}
		opts.Logf("%s ready in %s", s.name, time.Since(t).Round(10*time.Millisecond))
	}
	opts.Logf("cluster ready in %s; KUBECONFIG=%s", time.Since(begin).Round(10*time.Millisecond), c.Kubeconfig)
	return c, nil
}

// Stop stops every component, newest first.
func (c *Cluster) Stop() error {
	// The real node needs the apiserver to delete its pods and Node.
	nodeErr := c.stopRealNode()
	if c.stopPodLogs != nil {
		c.stopPodLogs()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].Stop(5 * time.Second)
	}
	var envErr error
	if c.env != nil {
		envErr = c.env.Stop()
	}
	for _, p := range c.proxies {
		_ = p.Close()
	}
	c.registry.stop()
	// Whatever is left in the namespace (etcd or the apiserver if envtest
	// failed to stop them, a demo's manager) is the cluster's.
	if c.network != nil {
		c.network.stop()
	}
	if c.lock != nil {
		_ = c.lock.Close()
	}
	if envErr != nil {
		return fmt.Errorf("stopping the apiserver and etcd: %w", envErr)
	}
	if nodeErr != nil {
		return fmt.Errorf("stopping the real node: %w", nodeErr)
	}
	return nil
}

// RestartAPIServer stops kube-apiserver, waits down, and starts it again on
// the same port with the same certificates and etcd, so every client and
// component reconnects as it would after a control-plane restart.
func (c *Cluster) RestartAPIServer(ctx context.Context, down time.Duration) error {
	api := c.env.ControlPlane.APIServer
	if err := api.Stop(); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	if err := c.network.do(api.Start); err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	return nil
}

// Client returns an admin client for the cluster's built-in types.
func (c *Cluster) Client() (client.Client, error) {
	return client.New(c.Config, client.Options{})
}

// procByName returns the pid of the component started as name, or 0.
func (c *Cluster) procByName(name string) int {
	for _, p := range c.procs {
		if p.name == name {
			return p.cmd.Process.Pid
		}
	}
	return 0
}

// StartProcess runs bin as StartProcess does, inside the cluster's
// namespaces. The caller stops it; the cluster's stop kills it if not.
func (c *Cluster) StartProcess(dir, name, bin string, args, env []string) (*Process, error) {
	return StartProcess(dir, name, "nsenter", c.network.nsenterArgs(bin, args...), env)
}

// start runs a component inside the cluster's namespaces.
func (c *Cluster) start(name, bin string, args, env []string) (*Process, error) {
	p, err := StartProcess(c.Dir, name, "nsenter", c.network.nsenterArgs(bin, args...), env)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

func (c *Cluster) startAPIServer(ctx context.Context, opts Options) error {
	tekton, err := tektonCRDs(opts.RepoRoot)
	if err != nil {
		return err
	}
	kwokLogs, err := kwokLogsCRD(opts.RepoRoot)
	if err != nil {
		return err
	}
	logs, err := os.Create(filepath.Join(c.Dir, "kube-apiserver.log"))
	if err != nil {
		return fmt.Errorf("creating apiserver log: %w", err)
	}
	var crdDirs []string
	if !opts.WithoutTaskgateCRDs {
		crdDirs = []string{filepath.Join(opts.RepoRoot, "charts", "taskgate", "files", "crds")}
	}
	c.env = &envtest.Environment{
		BinaryAssetsDirectory: c.Binaries.Dir(),
		CRDDirectoryPaths:     crdDirs,
		CRDs:                  append(tekton, kwokLogs),
		ErrorIfCRDPathMissing: true,
		// A graceful stop with clients connected can outlast envtest's
		// 20 s, after which it kills the process but still counts it as
		// running, and RestartAPIServer could not start it again.
		ControlPlaneStopTimeout: 2 * time.Minute,
	}
	// The machine's namespace reaches etcd and the apiserver through
	// forwarders on the same ports, so envtest's health checks, its
	// kubeconfig and every client outside work unchanged. The ports are
	// free outside; inside, nothing else listens yet.
	etcdPort, err := freePortNumber()
	if err != nil {
		return err
	}
	apiPort, err := freePortNumber()
	if err != nil {
		return err
	}
	for _, port := range []int{etcdPort, apiPort} {
		p, err := c.Forward(port)
		if err != nil {
			return err
		}
		c.proxies = append(c.proxies, p)
	}
	c.env.ControlPlane.Etcd = &envtest.Etcd{Out: logs, Err: logs, URL: &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(etcdPort))}}
	// A directory of our own (not a temporary one envtest removes on stop)
	// keeps the serving and client CAs across RestartAPIServer.
	certDir := filepath.Join(c.Dir, "apiserver")
	if err := os.RemoveAll(certDir); err != nil {
		return fmt.Errorf("clearing %s: %w", certDir, err)
	}
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", certDir, err)
	}
	ca, err := writeAPIServerPKI(certDir)
	if err != nil {
		return err
	}
	api := &envtest.APIServer{Out: logs, Err: logs, CertDir: certDir}
	api.Address, api.Port, api.CA = "127.0.0.1", strconv.Itoa(apiPort), ca
	// Pods reach the apiserver as the Service "kubernetes", whose
	// endpoint is the advertised node address; a namespace without a
	// default route leaves the apiserver no address to pick itself.
	api.Configure().Set("bind-address", "0.0.0.0")
	api.Configure().Set("advertise-address", NodeIP)
	api.Configure().Set("service-cluster-ip-range", ServiceCIDR)
	// kwok serves container logs as its nodes' kubelet, on 127.0.0.1 (see
	// startKwok); the real node's kubelet serves on NodeIP. Nodes also
	// report their name as a Hostname address, which does not resolve.
	// The apiserver skips verifying the kubelet's certificate when it has
	// no --kubelet-certificate-authority, which suits both self-signed
	// ones.
	api.Configure().Set("kubelet-preferred-address-types", "InternalIP")
	// A namespace's annotations can then put its pods on the real node
	// (RealNodeAnnotations). envtest disables the ServiceAccount plugin,
	// as it runs no controller to create ServiceAccounts; this cluster
	// does, and a pod that runs as a cluster's pods do, such as the
	// chart's manager, needs the plugin to mount its token.
	api.Configure().Set("enable-admission-plugins", "PodNodeSelector,PodTolerationRestriction,ServiceAccount")
	api.Configure().Set("disable-admission-plugins", "")
	c.env.ControlPlane.APIServer = api
	// etcd and the apiserver start from a thread inside the namespace:
	// envtest runs them itself, so they cannot be started through nsenter.
	if err := c.network.do(func() error {
		_, err := c.env.Start()
		return err
	}); err != nil {
		return fmt.Errorf("starting etcd and kube-apiserver: %w", err)
	}
	admin, err := c.env.AddUser(envtest.User{Name: "taskgate-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding the admin user: %w", err)
	}
	c.Config = admin.Config()
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("rendering the admin kubeconfig: %w", err)
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	// A kubectl beside the kubeconfig saves users hunting for the cache.
	link := filepath.Join(c.Dir, "kubectl")
	_ = os.Remove(link)
	if err := os.Symlink(c.Binaries.Kubectl, link); err != nil {
		return fmt.Errorf("linking kubectl: %w", err)
	}
	return os.WriteFile(filepath.Join(c.Dir, "ca.crt"), c.Config.CAData, 0o644)
}

func (c *Cluster) startControllerManager(ctx context.Context, _ Options) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	if _, err := c.start("kube-controller-manager", c.Binaries.ControllerManager, []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=" + port,
		"--leader-elect=false", "--controllers=*",
		// Each controller must act as its own ServiceAccount; otherwise
		// the Job controller is forbidden to create pods.
		"--use-service-account-credentials=true",
		"--root-ca-file=" + filepath.Join(c.Dir, "ca.crt"),
		"--allocate-node-cidrs=false", "--profiling=false",
	}, nil); err != nil {
		return err
	}
	cl, err := c.Client()
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	// The ServiceAccount controller creating "default" shows the
	// controllers are running.
	return poll(ctx, func() (bool, error) {
		if err := c.procs[len(c.procs)-1].exited(); err != nil {
			return false, err
		}
		err := cl.Get(ctx, types.NamespacedName{Namespace: "default", Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, nil
	})
}

func (c *Cluster) startScheduler(ctx context.Context, _ Options) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	p, err := c.start("kube-scheduler", c.Binaries.Scheduler, []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=" + port,
		"--leader-elect=false", "--profiling=false",
	}, nil)
	if err != nil {
		return err
	}
	return p.waitForLog(ctx, "Serving securely")
}

func (c *Cluster) startKwok(ctx context.Context, opts Options) error {
	modDir, err := moduleDir(opts.RepoRoot, "kwok", "sigs.k8s.io/kwok")
	if err != nil {
		return err
	}
	stages := filepath.Join(c.Dir, "kwok-stages.yaml")
	if err := writeStages(modDir, stages); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	// Settings go on the command line: a settings object in the config
	// file is not defaulted. kwok also plays every node's kubelet server,
	// for `kubectl logs`: nodes get 127.0.0.1 and its port as their
	// address and kubelet endpoint, and it serves the logs its Logs
	// objects name (see runPodLogs).
	if _, err := c.start("kwok", c.Binaries.Kwok, []string{
		"--kubeconfig=" + c.Kubeconfig, "--config=" + stages,
		// Only kwok's own nodes: with --manage-all-nodes kwok took over
		// pods of the live real node now and then and wrote their status
		// (../shared/research/real_node.md, trap 6).
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", "--node-lease-duration-seconds=40",
		"--cidr=" + kwokPodCIDR, "--node-ip=127.0.0.1",
		"--node-port=" + port, "--server-address=127.0.0.1:" + port,
		"--enable-crds=Logs",
	}, nil); err != nil {
		return err
	}
	podLogsCtx, stopPodLogs := context.WithCancel(context.Background())
	c.stopPodLogs = stopPodLogs
	if err := c.runPodLogs(podLogsCtx, opts.Logf); err != nil {
		return err
	}
	cl, err := c.Client()
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	for i := range opts.Nodes {
		if err := applyManifest(ctx, cl, nodeManifest(fmt.Sprintf("kwok-node-%d", i))); err != nil {
			return err
		}
	}
	return poll(ctx, func() (bool, error) {
		var nodes corev1.NodeList
		if err := cl.List(ctx, &nodes); err != nil {
			return false, nil
		}
		ready := 0
		for _, n := range nodes.Items {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == opts.Nodes, nil
	})
}

// moduleDir returns where the module cache holds a pinned module.
func moduleDir(repoRoot, clusterbin, module string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = filepath.Join(repoRoot, "test", "clusterbin", clusterbin)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating module %s: %w", module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// applyManifest server-side applies every object in a YAML stream.
func applyManifest(ctx context.Context, cl client.Client, manifest string) error {
	for _, doc := range strings.Split(manifest, "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			return fmt.Errorf("decoding manifest: %w", err)
		}
		if len(u.Object) == 0 {
			continue
		}
		status, hasStatus := u.Object["status"]
		if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("localcluster"), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		// Nodes report capacity through status, which apply to the main
		// resource ignores.
		if hasStatus {
			u.Object["status"] = status
			u.SetManagedFields(nil)
			u.SetResourceVersion("")
			if err := cl.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("localcluster"), client.ForceOwnership); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("applying status of %s %s: %w", u.GetKind(), u.GetName(), err)
			}
		}
	}
	return nil
}
