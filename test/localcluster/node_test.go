package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// machineView is what any real node could change on the machine as seen
// from the machine's own mount namespace. Other clusters' nodes (other
// test packages run beside this one) change none of it either.
type machineView struct {
	sysctls    map[string]string
	resolvConf string
	mounts     []string // mount points on the paths a node covers
	// The machine's network: the cluster's lives in a namespace of its own.
	links, routes, ipForward, nftRules string
}

func viewMachine(t *testing.T) machineView {
	t.Helper()
	v := machineView{sysctls: map[string]string{}}
	for path := range hostSysctls {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		v.sysctls[path] = string(b)
	}
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	v.resolvConf = string(b)
	links, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		v.links += l.Name() + " "
	}
	for path, field := range map[string]*string{"/proc/net/route": &v.routes, "/proc/sys/net/ipv4/ip_forward": &v.ipForward} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		*field = string(b)
	}
	// Stateless: the machine's own traffic moves its rules' counters.
	out, err := exec.Command("nft", "--stateless", "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("nft --stateless list ruleset: %v: %s", err, out)
	}
	v.nftRules = string(out)
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(mountinfo)) {
		if f := strings.Fields(line); len(f) > 4 && (slices.Contains(hostStatePaths, f[4]) || f[4] == "/etc/resolv.conf" || hostSysctls[f[4]] != "") {
			v.mounts = append(v.mounts, f[4])
		}
	}
	return v
}

// TestRealNodeLeavesTheMachineAsFound starts a cluster with the real node,
// leaves a pod running on it, stops the cluster, and checks that nothing
// of the node remains: its processes, its pod's cgroups and processes, its
// scratch directory, its mounts; and that kubelet's writes to sysctls and
// the resolver never reached the machine.
func TestRealNodeLeavesTheMachineAsFound(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster; make test-e2e runs it")
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	before := viewMachine(t)
	existed := map[string]bool{}
	for _, p := range hostStatePaths {
		_, err := os.Stat(p)
		existed[p] = err == nil
	}
	// Start waits for the machine's lock while the e2e package's cluster
	// runs (about 15 minutes), then takes under a minute.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{RepoRoot: root, Dir: t.TempDir(), RealNode: true, Logf: t.Logf})
	if err != nil {
		if c != nil {
			_ = c.Stop()
		}
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop()
		}
	}()
	if during := viewMachine(t); !reflect.DeepEqual(during, before) {
		t.Errorf("with the real node running, the machine changed:\n%+v\nbefore:\n%+v", during, before)
	}

	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "leftovers", Annotations: RealNodeAnnotations()}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "leftovers", Name: "sleeper"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "main", Image: ImageShellUID, Command: []string{"sleep", "3003"},
		}}},
	}
	for _, obj := range []client.Object{ns, pod} {
		if err := cl.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	if err := poll(ctx, func() (bool, error) {
		err := cl.Get(ctx, client.ObjectKeyFromObject(pod), pod)
		return err == nil && pod.Status.Phase == corev1.PodRunning, nil
	}); err != nil {
		t.Fatalf("waiting for a pod to run on the real node: %v", err)
	}
	if err := CheckRealPod(pod); err != nil {
		t.Fatal(err)
	}
	n := c.realNode
	pids := map[string]int{
		"kubelet": n.kubelet.cmd.Process.Pid, "containerd": n.containerd.cmd.Process.Pid,
		"the namespaces' holder": c.network.PID(), "kube-proxy": c.procByName("kube-proxy"), "coredns": c.procByName("coredns"),
	}
	netns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", c.network.PID()))
	if err != nil {
		t.Fatal(err)
	}
	podCgroups := func() []string {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods/*/pod" + string(pod.UID))
		guaranteed, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods/pod" + string(pod.UID))
		return append(dirs, guaranteed...)
	}
	if len(podCgroups()) == 0 {
		t.Fatalf("found no cgroup of pod %s: the check below would prove nothing", pod.UID)
	}

	stopped = true
	if err := c.Stop(); err != nil {
		t.Fatalf("stopping the cluster: %v", err)
	}
	if after := viewMachine(t); !reflect.DeepEqual(after, before) {
		t.Errorf("after the cluster stopped, the machine changed:\n%+v\nbefore:\n%+v", after, before)
	}
	for name, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("%s (pid %d) still runs", name, pid)
		}
	}
	if left := Processes(func(args []string) bool { return strings.Contains(strings.Join(args, " "), n.dir) }); len(left) > 0 {
		t.Errorf("processes of the node still run: %v", left)
	}
	if left := Processes(func(args []string) bool { return slices.Equal(args, []string{"sleep", "3003"}) }); len(left) > 0 {
		t.Errorf("the pod's process still runs: %v", left)
	}
	for _, link := range mustGlob(t, "/proc/[0-9]*/ns/net") {
		if l, _ := os.Readlink(link); l == netns {
			t.Errorf("%s is still in the cluster's network namespace", link)
		}
	}
	if left := podCgroups(); len(left) > 0 {
		t.Errorf("the pod's cgroups remain: %v", left)
	}
	if _, err := os.Stat(n.dir); err == nil {
		t.Errorf("the node's scratch directory %s remains", n.dir)
	}
	// With the machine's lock held, no other cluster's node can be
	// running, so kubelet's cgroups and mount points must all be gone.
	lock, free, err := tryLockMachine()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if !free {
		t.Logf("another local cluster runs: kubelet's cgroups and mount points are its to remove")
		return
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods"); len(left) > 0 {
		t.Errorf("kubelet's cgroups remain: %v", left)
	}
	for _, p := range hostStatePaths {
		if _, err := os.Stat(p); err == nil && !existed[p] {
			t.Errorf("mount point %s was created and left", p)
		}
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
