package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RealNodeName is the node that kubelet registers. Its pods run for real,
// in containerd and runc, beside kwok's simulated nodes.
const RealNodeName = "realnode-0"

// RealNodeTaint keeps pods off the real node unless they tolerate it, so
// the scale and fault tests stay on kwok. RealNodeAnnotations tolerate it.
const RealNodeTaint = "localcluster.taskgate.dev/real-node"

// RealNodeAnnotations put every pod of a namespace on the real node: the
// apiserver's PodNodeSelector and PodTolerationRestriction admission
// plugins add the node selector and the toleration to each pod as it is
// created. So Tasks, Jobs and bare pods reach the real node unchanged,
// with nothing in taskgate that knows about the harness.
func RealNodeAnnotations() map[string]string {
	return map[string]string{
		"scheduler.alpha.kubernetes.io/node-selector":      corev1.LabelHostname + "=" + RealNodeName,
		"scheduler.alpha.kubernetes.io/defaultTolerations": `[{"key":"` + RealNodeTaint + `","operator":"Exists","effect":"NoSchedule"}]`,
	}
}

// nodePackages are what the real node runs that Go does not build: the
// Debian packages hack/install-node-packages.sh installs, and util-linux.
var nodePackages = map[string]string{
	"containerd": "containerd", "ctr": "containerd", "runc": "runc", "busybox": "busybox-static",
	"/usr/lib/cni/bridge": "containernetworking-plugins", "/usr/lib/cni/host-local": "containernetworking-plugins",
	"mount": "mount",
}

// hostSysctls are the kernel settings kubelet writes at start (or, with
// protectKernelDefaults, refuses to start without). Files bound over them
// in the node's mount namespace take the writes, so the machine's own
// settings never change.
var hostSysctls = map[string]string{
	"/proc/sys/vm/overcommit_memory":      "1",
	"/proc/sys/vm/panic_on_oom":           "0",
	"/proc/sys/kernel/panic":              "10",
	"/proc/sys/kernel/panic_on_oops":      "1",
	"/proc/sys/kernel/keys/root_maxkeys":  "1000000",
	"/proc/sys/kernel/keys/root_maxbytes": "25000000",
}

// hostStatePaths are directories kubelet, containerd and CNI hard-code
// whatever their configuration says. Each gets a tmpfs in the node's mount
// namespace, so nothing they write there reaches the machine.
var hostStatePaths = []string{
	"/var/lib/kubelet", "/var/log/containers", "/var/log/pods",
	"/run/containerd", "/var/lib/cni", "/run/netns",
}

// realNode is the running kubelet and containerd, and what tear-down
// must undo.
type realNode struct {
	dir        string // scratch: configs, containerd's root and sockets
	containerd *Process
	kubelet    *Process
	// createdDirs are the empty mount points this node created on the
	// machine; tear-down removes them again.
	createdDirs []string
	socket      string
}

// startRealNode starts containerd and kubelet in one private mount
// namespace and waits until the node is Ready. See
// ../shared/research/real_node.md for why each setting is needed.
func (c *Cluster) startRealNode(ctx context.Context, opts Options) error {
	if err := checkNodePrerequisites(); err != nil {
		return err
	}
	if err := removeStaleNodes(); err != nil {
		return err
	}
	// Sockets live under /tmp: a unix socket path has at most 107 bytes,
	// which a deep checkout's cluster directory can exceed.
	dir, err := os.MkdirTemp("", "taskgate-realnode-")
	if err != nil {
		return fmt.Errorf("creating the real node's directory: %w", err)
	}
	n := &realNode{dir: dir, socket: filepath.Join(dir, "containerd.sock")}
	c.realNode = n
	if err := n.writeFiles(c); err != nil {
		return err
	}
	if err := n.mountStatePaths(c); err != nil {
		return err
	}
	if n.containerd, err = c.start("containerd", "containerd", []string{"--config", filepath.Join(dir, "containerd.toml")}, nil); err != nil {
		return err
	}
	if err := poll(ctx, func() (bool, error) {
		if err := n.containerd.exited(); err != nil {
			return false, err
		}
		_, err := os.Stat(n.socket)
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("waiting for containerd: %w", err)
	}
	imported := time.Now()
	if err := n.importImages(ctx, c, opts.RepoRoot); err != nil {
		return err
	}
	opts.Logf("the real node's images built and imported in %s", time.Since(imported).Round(10*time.Millisecond))
	cl, err := c.Client()
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	if err := holdNodeLease(ctx, cl); err != nil {
		return err
	}
	// kubelet registers NodeIP as the node's InternalIP itself; the
	// apiserver reaches it there for logs, exec and port-forward.
	if n.kubelet, err = c.start("kubelet", c.Binaries.Kubelet, []string{
		"--config=" + filepath.Join(dir, "kubelet.yaml"), "--kubeconfig=" + c.Kubeconfig,
		"--root-dir=" + filepath.Join(dir, "kubelet"), "--cert-dir=" + filepath.Join(dir, "kubelet", "pki"),
		"--hostname-override=" + RealNodeName, "--node-ip=" + NodeIP,
		"--node-labels=localcluster.taskgate.dev/real-node=true", "--v=2"}, nil); err != nil {
		return err
	}
	go c.deleteNodeWhenKubeletExits(n.kubelet)
	return waitForRealNode(ctx, cl, n.kubelet)
}

func checkNodePrerequisites() error {
	if os.Geteuid() != 0 {
		return errors.New("the real node needs root (mount namespaces, cgroups, runc); run as root or start the cluster without it")
	}
	return checkPackages("the real node", nodePackages)
}

// checkPackages says which of the commands a part of the cluster runs are
// missing, and the Debian packages that have them.
func checkPackages(part string, commands map[string]string) error {
	var missing []string
	for bin, pkg := range commands {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin+" (Debian package "+pkg+")")
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%s needs %s: run hack/install-node-packages.sh as root", part, strings.Join(missing, ", "))
	}
	return nil
}

// mountStatePaths makes the node's mounts in the cluster's private mount
// namespace, where kubelet and containerd run: they must share one, since
// runc mounts what kubelet prepares (Secrets, tokens) into containers.
func (n *realNode) mountStatePaths(c *Cluster) error {
	for _, p := range hostStatePaths {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("creating mount point %s: %w", p, err)
			}
			n.createdDirs = append(n.createdDirs, p)
		}
	}
	var mounts [][]string
	for _, p := range hostStatePaths {
		mounts = append(mounts, []string{"-t", "tmpfs", "tmpfs", p})
	}
	for path := range hostSysctls {
		mounts = append(mounts, []string{"--bind", filepath.Join(n.dir, "sysctl", sysctlFile(path)), path})
	}
	mounts = append(mounts, []string{"--bind", filepath.Join(n.dir, "resolv.conf"), "/etc/resolv.conf"})
	for _, m := range mounts {
		if out, err := c.network.command("mount", m...).CombinedOutput(); err != nil {
			return fmt.Errorf("mounting %s in the cluster's mount namespace: %w: %s", m[len(m)-1], err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

func sysctlFile(path string) string {
	return strings.ReplaceAll(strings.TrimPrefix(path, "/proc/sys/"), "/", ".")
}

// holdNodeLease creates the node's Lease before kubelet starts, held by the
// node, so nothing that manages nodes by Lease takes this one over.
func holdNodeLease(ctx context.Context, cl client.Client) error {
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: corev1.NamespaceNodeLease, Name: RealNodeName},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       new(RealNodeName),
			LeaseDurationSeconds: new(int32(40)),
			RenewTime:            &metav1.MicroTime{Time: time.Now()},
		},
	}
	if err := cl.Create(ctx, lease); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the real node's lease: %w", err)
	}
	return nil
}

// waitForRealNode waits until kubelet has registered the node and it is
// Ready.
func waitForRealNode(ctx context.Context, cl client.Client, kubelet *Process) error {
	var node corev1.Node
	return poll(ctx, func() (bool, error) {
		if err := kubelet.exited(); err != nil {
			return false, err
		}
		if err := cl.Get(ctx, types.NamespacedName{Name: RealNodeName}, &node); err != nil {
			return false, nil
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// deleteNodeWhenKubeletExits deletes the Node as soon as kubelet is gone,
// however it ends, so no controller keeps a dead node's pods going.
func (c *Cluster) deleteNodeWhenKubeletExits(kubelet *Process) {
	<-kubelet.done
	cl, err := c.Client()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = cl.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: RealNodeName}})
}

// stopRealNode tears the node down and leaves the machine as it was: the
// node's pods are deleted while kubelet still runs (so it stops their
// containers), then kubelet and containerd stop, every process left in the
// node's mount namespace or its cgroups is killed, and the Node, its Lease,
// the cgroups, the mount points and the scratch directory are removed.
func (c *Cluster) stopRealNode() error {
	n := c.realNode
	if n == nil {
		return nil
	}
	var errs []error
	cl, err := c.Client()
	if err == nil && n.kubelet != nil && n.kubelet.exited() == nil {
		errs = append(errs, deleteNodePods(cl))
	}
	for _, p := range []*Process{n.kubelet, n.containerd} {
		if p != nil {
			p.Stop(10 * time.Second)
		}
	}
	n.killShims(c)
	errs = append(errs, removeKubepodsCgroups())
	if cl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, obj := range []client.Object{
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: RealNodeName}},
			&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: corev1.NamespaceNodeLease, Name: RealNodeName}},
		} {
			if err := cl.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting %s: %w", obj.GetName(), err))
			}
		}
	}
	for _, d := range n.createdDirs {
		_ = os.Remove(d)
	}
	if err := os.RemoveAll(n.dir); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", n.dir, err))
	}
	c.realNode = nil
	return errors.Join(errs...)
}

// deleteNodePods cordons the real node, deletes every pod bound to it and
// waits until kubelet has stopped them all, for at most 30 seconds.
// Cordoned, the node takes no replacement from a Deployment or Job that
// would otherwise recreate its pods as fast as they go.
func deleteNodePods(cl client.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: RealNodeName}}
	if err := cl.Patch(ctx, node, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"unschedulable":true}}`))); err != nil {
		return fmt.Errorf("cordoning %s: %w", RealNodeName, err)
	}
	err := poll(ctx, func() (bool, error) {
		var pods corev1.PodList
		if err := cl.List(ctx, &pods, client.MatchingFields{"spec.nodeName": RealNodeName}); err != nil {
			return false, nil
		}
		for i := range pods.Items {
			_ = cl.Delete(ctx, &pods.Items[i], client.GracePeriodSeconds(1))
		}
		return len(pods.Items) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("deleting the real node's pods: %w", err)
	}
	return nil
}

// removeStaleNodes removes what a real node of an earlier cluster left when
// its process was killed before tear-down: kubelet and containerd die with
// it, but containerd's shims, the containers and their cgroups outlive it.
// The machine's lock is held, so no other cluster's node is running and
// all of it is stale.
func removeStaleNodes() error {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "taskgate-realnode-*"))
	for _, dir := range dirs {
		// Shims name their containerd's socket, in the node's directory.
		for _, pid := range Processes(func(args []string) bool { return strings.Contains(strings.Join(args, " "), dir+"/") }) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if err := removeKubepodsCgroups(); err != nil {
		return fmt.Errorf("removing an earlier real node's cgroups: %w", err)
	}
	for _, dir := range dirs {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing an earlier real node's directory: %w", err)
		}
	}
	return nil
}

// Processes returns the machine's processes, other than this one, whose
// arguments match: tests use it to see that a real node's process has
// stopped, which the API cannot show once the pod is gone.
func Processes(match func(args []string) bool) []int {
	var pids []int
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		pid, err := strconv.Atoi(strings.Split(p, "/")[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		if match(strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killShims kills the runc shims containerd left, which outlive it by
// design: every process in the cluster's mount namespace that is not one
// of the cluster's components.
func (n *realNode) killShims(c *Cluster) {
	components := map[int]bool{}
	for _, p := range c.procs {
		components[p.cmd.Process.Pid] = true
	}
	for _, pid := range namespaceMembers(c.network.PID(), "mnt") {
		if !components[pid] {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// removeKubepodsCgroups kills any container process kubelet's cgroups
// still hold and removes the cgroups, deepest first, in every hierarchy
// (cgroup v1 mounts one per controller; v2 has one).
func removeKubepodsCgroups() error {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if _, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil {
		roots = append(roots, "/sys/fs/cgroup/kubepods")
	}
	var dirs []string
	for _, root := range roots {
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
	}
	for _, d := range dirs {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	var errs []error
	for i := len(dirs) - 1; i >= 0; i-- {
		// A killed process leaves its cgroup a moment later.
		var err error
		for range 50 {
			if err = os.Remove(dirs[i]); err == nil || errors.Is(err, os.ErrNotExist) {
				err = nil
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", dirs[i], err))
		}
	}
	return errors.Join(errs...)
}
