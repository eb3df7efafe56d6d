package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The cluster's addresses. They exist only inside the cluster's network
// namespace, which has no link to the outside, so none of them is ever a
// machine's or the internet's.
const (
	// NodeIP is the real node's InternalIP, on the namespace's loopback
	// interface: the apiserver advertises it and kubelet serves on it.
	NodeIP = "10.250.0.1"
	// PodCIDR is the real node's pod range, on the bridge cni0.
	PodCIDR    = "10.244.0.0/24"
	podGateway = "10.244.0.1"
	// ServiceCIDR is the cluster's Service range.
	ServiceCIDR = "10.96.0.0/16"
	// KubernetesServiceIP is the apiserver's own Service, "kubernetes".
	KubernetesServiceIP = "10.96.0.1"
	// DNSServiceIP is kube-dns, served by CoreDNS on the real node.
	DNSServiceIP = "10.96.0.10"
	// kwokPodCIDR is where kwok's simulated pods take addresses: apart
	// from the real ones, so no Service ever mixes them up.
	kwokPodCIDR = "10.0.0.0/16"
	// bridgeName is the real node's pod bridge; CNI's bridge plugin adopts
	// it with its gateway address already in place.
	bridgeName = "cni0"
)

// clusterNetwork is the network namespace the whole cluster runs in, with
// the private mount namespace of the real node: a process holds both, and
// every component enters them. It has lo, the pod bridge and the pods'
// veths, and no route out, so the cluster's traffic cannot leave the
// machine by construction. The machine's own namespace reaches the
// cluster through forwarders on 127.0.0.1 (see Forward).
type clusterNetwork struct {
	holder *Process
	// netns is the namespace's file, held open so threads can join it.
	netns *os.File
}

// startClusterNetwork creates the namespaces and sets up their network:
// the node's address, the pod bridge, a route for the Service range (so
// the namespace's own processes, the apiserver calling a webhook's
// ClusterIP among them, reach kube-proxy's rules) and IP forwarding for
// pod to Service to pod traffic.
func startClusterNetwork(dir string) (*clusterNetwork, error) {
	// unshare execs sleep in the new namespaces, so the process is the
	// holder; the namespaces live as long as a process is in them.
	holder, err := StartProcess(dir, "netns-holder", "unshare", []string{"--net", "--mount", "--propagation", "private", "sleep", "infinity"}, nil)
	if err != nil {
		return nil, err
	}
	n := &clusterNetwork{holder: holder}
	if err := poll(context.Background(), func() (bool, error) {
		if err := holder.exited(); err != nil {
			return false, err
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", holder.cmd.Process.Pid))
		return filepath.Base(exe) == "sleep", nil
	}); err != nil {
		holder.Stop(time.Second)
		return nil, fmt.Errorf("waiting for the cluster's network namespace: %w", err)
	}
	if n.netns, err = os.Open(fmt.Sprintf("/proc/%d/ns/net", n.PID())); err != nil {
		holder.Stop(time.Second)
		return nil, fmt.Errorf("opening the cluster's network namespace: %w", err)
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", NodeIP + "/32", "dev", "lo"},
		{"link", "add", bridgeName, "type", "bridge"},
		{"addr", "add", podGateway + "/24", "dev", bridgeName},
		{"link", "set", bridgeName, "up"},
		{"route", "add", ServiceCIDR, "dev", "lo", "src", NodeIP},
	} {
		if out, err := n.command("ip", args...).CombinedOutput(); err != nil {
			n.stop()
			return nil, fmt.Errorf("ip %s in the cluster's namespace: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	if err := n.do(func() error { return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644) }); err != nil {
		n.stop()
		return nil, fmt.Errorf("turning on IP forwarding in the cluster's namespace: %w", err)
	}
	// The namespace's identity outlives its holder: KillLeftovers finds
	// what a killed cluster left in it.
	link, err := os.Readlink(n.netns.Name())
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, netnsFile), []byte(link+"\n"), 0o644)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, holderPIDFile), []byte(strconv.Itoa(n.PID())+"\n"), 0o644)
	}
	if err != nil {
		n.stop()
		return nil, fmt.Errorf("recording the cluster's network namespace: %w", err)
	}
	return n, nil
}

// Files in the cluster's directory: the namespace (as /proc/PID/ns/net
// reads) and the pid of its holder, which `localcluster exec` enters.
const (
	netnsFile     = "netns"
	holderPIDFile = "netns.pid"
)

// KillLeftovers kills every process still in the network namespace of the
// cluster that ran from dir and returns their pids: after a cluster whose
// own process was killed, envtest's etcd and apiserver run on in their own
// process groups.
func KillLeftovers(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, netnsFile))
	if err != nil {
		return nil, fmt.Errorf("reading the cluster's namespace: %w", err)
	}
	var killed []int
	for _, pid := range processesIn("net", strings.TrimSpace(string(b))) {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed = append(killed, pid)
		}
	}
	return killed, nil
}

// NamespaceCommand returns the nsenter arguments that run name inside the
// network namespace of the cluster running from dir.
func NamespaceCommand(dir, name string, args ...string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, holderPIDFile))
	if err != nil {
		return nil, fmt.Errorf("reading the namespace holder's pid (is the cluster up?): %w", err)
	}
	pid := strings.TrimSpace(string(b))
	if err := exec.Command("nsenter", "--target", pid, "--net", "true").Run(); err != nil {
		return nil, fmt.Errorf("entering the cluster's namespace (holder pid %s; is the cluster up?): %w", pid, err)
	}
	return append([]string{"--target", pid, "--net", "--", name}, args...), nil
}

// PID is the namespace holder's: nsenter --target PID --net runs a command
// inside.
func (n *clusterNetwork) PID() int { return n.holder.cmd.Process.Pid }

// command returns cmd run inside the cluster's network and mount
// namespaces; nsenter execs it, so the process is the command itself.
func (n *clusterNetwork) command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", n.nsenterArgs(name, args...)...)
}

func (n *clusterNetwork) nsenterArgs(name string, args ...string) []string {
	// Entering a mount namespace moves nsenter to its root unless told
	// otherwise; a command that finds its files from its working
	// directory (the bench re-run as a webhook) keeps this one's.
	wd, _ := os.Getwd()
	return append([]string{"--target", strconv.Itoa(n.PID()), "--net", "--mount", "--wd=" + wd, "--", name}, args...)
}

// hostNetns is the machine's network namespace, opened before any thread
// can have left it, so do can bring its threads back.
var hostNetns, hostNetnsErr = os.Open("/proc/thread-self/ns/net")

// do runs fn on an OS thread inside the cluster's network namespace, then
// brings the thread back. Sockets fn creates belong to the namespace for
// good, and processes it starts begin there. The thread must not die:
// the kernel sends a child's parent-death signal (StartProcess sets
// SIGKILL) when the thread that forked it exits, and Go ends a thread
// whose goroutine exits locked. Only if it cannot return does it stay
// locked and die, rather than run other goroutines inside.
func (n *clusterNetwork) do(fn func() error) error {
	if hostNetnsErr != nil {
		return fmt.Errorf("opening the machine's network namespace: %w", hostNetnsErr)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(n.netns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering the cluster's network namespace: %w", err)
			return
		}
		err := fn()
		if unix.Setns(int(hostNetns.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// DialContext connects to addr from inside the cluster's namespace.
func (n *clusterNetwork) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := n.do(func() error {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return conn, err
}

// listen listens on addr inside the cluster's namespace.
func (n *clusterNetwork) listen(addr string) (net.Listener, error) {
	var l net.Listener
	err := n.do(func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// stop kills every process left in the namespace, the holder last.
func (n *clusterNetwork) stop() {
	if n.netns != nil {
		killNetworkNamespace(n.PID())
		_ = n.netns.Close()
	}
	n.holder.Stop(time.Second)
}

// killNetworkNamespace kills every process but pid whose network namespace
// is pid's. All of them belong to the cluster: envtest starts etcd and the
// apiserver in process groups of their own, and containerd's shims outlive
// containerd by design, so this is the net under every other stop.
func killNetworkNamespace(pid int) {
	for _, other := range namespaceMembers(pid, "net") {
		_ = syscall.Kill(other, syscall.SIGKILL)
	}
}

// namespaceMembers returns the processes other than pid and this one that
// share pid's namespace of the given kind ("net", "mnt").
func namespaceMembers(pid int, kind string) []int {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(processesIn(kind, ns), func(p int) bool { return p == pid })
}

// processesIn lists the processes, other than this one, whose namespace of
// kind (net, mnt) is ns, as /proc/PID/ns/KIND names it.
func processesIn(kind, ns string) []int {
	var pids []int
	links, _ := filepath.Glob("/proc/[0-9]*/ns/" + kind)
	for _, p := range links {
		pid, err := strconv.Atoi(strings.Split(p, "/")[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if l, err := os.Readlink(p); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Forward listens on 127.0.0.1:port in the machine's namespace and
// forwards each connection to the same address inside the cluster's, so a
// kubeconfig or URL naming 127.0.0.1:port works from both. Close it when
// done.
func (c *Cluster) Forward(port int) (*Proxy, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return serveProxy(l, c.network.DialContext, addr), nil
}

// ForwardIn listens on 127.0.0.1:port inside the cluster's namespace and
// forwards each connection to the same address in the machine's, where
// this process serves: the apiserver calls a webhook at 127.0.0.1 that a
// test serves in its own process. The cluster's stop closes it.
func (c *Cluster) ForwardIn(port int) (*Proxy, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := c.network.listen(addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s in the cluster's namespace: %w", addr, err)
	}
	p := serveProxy(l, (&net.Dialer{}).DialContext, addr)
	c.proxies = append(c.proxies, p)
	return p, nil
}

// DialContext connects to addr from inside the cluster's network
// namespace: to a pod's or a Service's address, as a process on the node
// would.
func (c *Cluster) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.network == nil {
		return nil, errors.New("the cluster has no network namespace")
	}
	return c.network.DialContext(ctx, network, addr)
}

// NetworkNamespacePID is the process that holds the cluster's namespaces:
// `nsenter --target PID --net CMD` runs CMD inside.
func (c *Cluster) NetworkNamespacePID() int { return c.network.PID() }
